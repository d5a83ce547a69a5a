"""RecallSpeedDisplay: the recall / queries-per-second trade-off."""

import time

import numpy as np

from ._base import _as_list, _CurveDisplayMixin, _default_name


class RecallSpeedDisplay(_CurveDisplayMixin):
    """Recall against search speed, one curve per method through its settings.

    The ann-benchmarks view of a search method: recall on the x axis,
    queries per second on a logarithmic y axis, up and to the right is
    better. A curve joins the points of one method (e.g. its code lengths),
    each point optionally labelled (``point_labels``, e.g. ``"64"`` bits).

    Build one from measured values, or with :meth:`from_estimator`, which
    times the search of fitted estimators.

    Parameters
    ----------
    recall : array-like or list of array-likes
        Recall of each point, per curve.
    queries_per_second : array-like or list of array-likes
        Search speed of each point, per curve.
    name : str or list of str, default=None
        Legend label of each curve.
    point_labels : list of str or list of lists of str, default=None
        Text written beside each point, per curve.
    recall_name : str, default="recall"
        Label of the x axis, e.g. ``"1-recall@10"``.

    Attributes
    ----------
    line_ : matplotlib Artist or list of Artists
        The curve(s).
    ax_ : matplotlib Axes
        Axes with the curve(s).
    figure_ : matplotlib Figure
        Figure containing the curve(s).

    See Also
    --------
    RecallAtRDisplay : Recall against the number of neighbours retrieved.

    References
    ----------
    .. [1] M. Aumüller, E. Bernhardsson, A. Faithfull, "ANN-Benchmarks: a
       benchmarking tool for approximate nearest neighbor algorithms",
       Information Systems 87, 2020.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_hash.plot import RecallSpeedDisplay
    >>> display = RecallSpeedDisplay(
    ...     [[0.2, 0.4, 0.6], [0.3, 0.5, 0.7]], [[9e4, 6e4, 3e4], [8e4, 5e4, 2e4]],
    ...     name=["LSH", "ITQ"], point_labels=["32", "64", "128"],
    ...     recall_name="1-recall@10").plot()
    >>> len(display.line_)
    2
    """

    def __init__(
        self,
        recall,
        queries_per_second,
        *,
        name=None,
        point_labels=None,
        recall_name="recall",
    ):
        self.recall = recall
        self.queries_per_second = queries_per_second
        self.name = name
        self.point_labels = point_labels
        self.recall_name = recall_name

    def plot(self, ax=None, *, name=None, curve_kwargs=None):
        """Plot the curve(s).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; ``None`` creates a figure and axes.
        name : str or list of str, default=None
            Legend labels; ``None`` uses the ``name`` of the display.
        curve_kwargs : dict or list of dict, default=None
            Keyword arguments of matplotlib's ``plot``, for all curves or
            for each one.

        Returns
        -------
        display : RecallSpeedDisplay
            Object that stores computed values.
        """
        name = self._validate_plot_params(ax=ax, name=name)
        recall, qps = _as_list(self.recall), _as_list(self.queries_per_second)
        self._draw_curves(recall, qps, name, curve_kwargs, {"marker": "o"})
        labels = self.point_labels
        if labels is not None:
            if len(labels) and isinstance(labels[0], str):
                labels = [labels] * len(recall)
            for x, y, texts in zip(recall, qps, labels):
                for xi, yi, text in zip(np.ravel(x), np.ravel(y), texts):
                    self.ax_.annotate(
                        str(text),
                        (xi, yi),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize="x-small",
                    )
        from matplotlib.ticker import StrMethodFormatter

        self.ax_.set_yscale("log")
        # plain numbers ("5,000"), not powers of ten: the axis may span < 1 decade
        self.ax_.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        self.ax_.yaxis.set_minor_formatter(StrMethodFormatter("{x:,.0f}"))
        self.ax_.margins(y=0.1)
        self.ax_.set(
            xlabel=self.recall_name,
            ylabel="queries per second (log)",
            xlim=(-0.01, 1.01),
        )
        self.ax_.grid(True, which="both", alpha=0.3)
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        scoring=None,
        n_repeats=3,
        name=None,
        point_labels=None,
        recall_name="recall",
        ax=None,
        curve_kwargs=None,
    ):
        """Time and score fitted search estimators; plot them as one curve.

        Parameters
        ----------
        estimator : estimator instance or list of estimator instances
            Fitted search estimators (e.g. pipelines of a hasher and
            :class:`~sklearn_hash.HammingNeighbors`), one point each, joined
            in the given order.
        X : array-like of shape (n_queries, n_features)
            Queries.
        y : array-like of shape (n_queries, n_true)
            Ground-truth neighbour indices.
        scoring : callable, default=None
            ``scoring(estimator, X, y)`` giving the recall, e.g.
            :func:`~sklearn_hash.metrics.make_recall_scorer`; ``None`` uses
            ``estimator.score``.
        n_repeats : int, default=3
            The speed is ``n_queries`` over the best of this many timings of
            ``estimator.predict(X)`` (hashing the queries included).
        name : str, default=None
            Legend label; ``None`` uses the class name of the first estimator
            (of its first step for a Pipeline).
        point_labels : list of str, default=None
            Text beside each point.
        recall_name : str, default="recall"
            Label of the x axis.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot``.

        Returns
        -------
        display : RecallSpeedDisplay
        """
        estimators = estimator if isinstance(estimator, (list, tuple)) else [estimator]
        if n_repeats < 1:
            raise ValueError(f"n_repeats must be a positive int, got {n_repeats!r}")
        recall, qps = [], []
        for est in estimators:
            best = np.inf
            for _ in range(n_repeats):
                start = time.perf_counter()
                est.predict(X)
                best = min(best, time.perf_counter() - start)
            qps.append(len(X) / max(best, 1e-9))
            recall.append(
                scoring(est, X, y) if scoring is not None else est.score(X, y)
            )
        display = cls(
            np.array(recall),
            np.array(qps),
            name=name if name is not None else _default_name(estimators[0]),
            point_labels=point_labels,
            recall_name=recall_name,
        )
        return display.plot(ax=ax, curve_kwargs=curve_kwargs)
