"""Shared parts of the Display classes: matplotlib setup and curve drawing.

Displays only draw: what they plot is computed by :mod:`sklearn_hash.metrics`.
"""

import numpy as np

from .._compat import _validate_style_kwargs, check_matplotlib_support


def _as_list(value):
    """One curve's value -> [value]; a list (or tuple) of curves unchanged."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and (
        len(value) == 0 or np.ndim(value[0]) > 0 or isinstance(value[0], str)
    ):
        return list(value)
    return [value]


class _CurveDisplayMixin:
    """Axes creation and multi-curve drawing for the displays of this package."""

    def _validate_plot_params(self, *, ax, name):
        check_matplotlib_support(f"{self.__class__.__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.ax_, self.figure_ = ax, ax.figure
        return name if name is not None else self.name

    def _draw_curves(
        self,
        xs,
        ys,
        names,
        curve_kwargs,
        default_kwargs,
        legend_values=None,
        legend_metric=None,
    ):
        """Plot one line per (x, y), stored in ``line_``; a legend if labelled."""
        n_curves = len(xs)
        if len(ys) != n_curves:
            raise ValueError(
                f"{self.__class__.__name__}: got {n_curves} x arrays and "
                f"{len(ys)} y arrays"
            )
        names = _as_list(names) or [None] * n_curves
        if len(names) == 1 and n_curves > 1:
            names = names * n_curves
        if len(names) != n_curves:
            raise ValueError(
                f"name must have one entry per curve ({n_curves}), got {len(names)}"
            )
        if curve_kwargs is None or isinstance(curve_kwargs, dict):
            curve_kwargs = [curve_kwargs or {}] * n_curves
        if len(curve_kwargs) != n_curves:
            raise ValueError(
                f"curve_kwargs must be a dict or one dict per curve ({n_curves}), "
                f"got {len(curve_kwargs)}"
            )
        self.line_ = []
        labelled = False
        for i, (x, y, name, kwargs) in enumerate(zip(xs, ys, names, curve_kwargs)):
            style = _validate_style_kwargs(default_kwargs, kwargs)
            if "label" not in style:
                parts = [name] if name is not None else []
                if legend_values is not None and legend_values[i] is not None:
                    parts.append(f"{legend_metric} = {legend_values[i]:0.3f}")
                if parts:
                    style["label"] = " (".join(parts) + (")" if len(parts) == 2 else "")
            labelled |= "label" in style
            self.line_.extend(self.ax_.plot(x, y, **style))
        if labelled:
            self.ax_.legend(fontsize="small")
        if len(self.line_) == 1:
            self.line_ = self.line_[0]


def _default_name(estimator):
    """Legend label of an estimator: its hasher's class name for a Pipeline."""
    steps = getattr(estimator, "steps", None)
    return type(steps[0][1] if steps else estimator).__name__
