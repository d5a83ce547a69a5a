"""HammingPrecisionRecallDisplay: precision-recall of ranking by Hamming distance."""

import numpy as np

from ..metrics import hamming_mean_average_precision, hamming_precision_recall_curve
from ..metrics._base import _codes_and_index, _hamming_distances, _relevance
from ._base import _as_list, _CurveDisplayMixin, _default_name


class HammingPrecisionRecallDisplay(_CurveDisplayMixin):
    """Precision-recall curve of Hamming ranking, one point per distance level.

    The protocol of the Spectral Hashing, ITQ and asymmetric-hashing papers:
    the database is ranked by Hamming distance to each query and cut at
    every distance level (all tied items together), see
    :func:`~sklearn_hash.metrics.hamming_precision_recall_curve`. Each level
    is a marker; lines join successive levels.

    Use :meth:`from_estimator` or :meth:`from_predictions` to build one; all
    parameters are stored as attributes.

    Parameters
    ----------
    precision : ndarray or list of ndarrays
        Precision at each distance level, per curve.
    recall : ndarray or list of ndarrays
        Recall at each distance level, per curve.
    average_precision : float or list of floats, default=None
        Mean average precision shown in the legend (``None``: not shown).
    name : str or list of str, default=None
        Legend label of each curve.

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
    sklearn_hash.metrics.hamming_precision_recall_curve : The values plotted.
    sklearn_hash.metrics.hamming_mean_average_precision : The legend's mAP.

    References
    ----------
    .. [1] Y. Weiss, A. Torralba, R. Fergus, "Spectral hashing", NIPS 2008.
    .. [2] Y. Gong, S. Lazebnik, A. Gordo, F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013.
    .. [3] B. Neyshabur, N. Srebro, R. Salakhutdinov, Y. Makarychev,
       P. Yadollahpour, "The power of asymmetry in binary hashing", NIPS 2013.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_hash.plot import HammingPrecisionRecallDisplay
    >>> relevant = [[True, False, True, False], [False, True, False, False]]
    >>> distances = [[0, 1, 1, 3], [2, 0, 1, 2]]
    >>> display = HammingPrecisionRecallDisplay.from_predictions(relevant, distances,
    ...                                                          name="toy")
    >>> display.recall.round(3).tolist()
    [0.667, 1.0, 1.0, 1.0]
    >>> round(display.average_precision, 3)
    0.958
    """

    def __init__(self, precision, recall, *, average_precision=None, name=None):
        self.precision = precision
        self.recall = recall
        self.average_precision = average_precision
        self.name = name

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
        display : HammingPrecisionRecallDisplay
            Object that stores computed values.
        """
        name = self._validate_plot_params(ax=ax, name=name)
        precision, recall = _as_list(self.precision), _as_list(self.recall)
        average_precision = (
            None
            if self.average_precision is None
            else list(np.ravel(self.average_precision))
        )
        if average_precision is not None and len(average_precision) != len(precision):
            raise ValueError(
                f"average_precision must have one value per curve ({len(precision)}), "
                f"got {len(average_precision)}"
            )
        self._draw_curves(
            recall,
            precision,
            name,
            curve_kwargs,
            {"marker": ".", "markersize": 4},
            legend_values=average_precision,
            legend_metric="mAP",
        )
        self.ax_.set(
            xlabel="Recall", ylabel="Precision", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01)
        )
        self.ax_.grid(True, alpha=0.3)
        return self

    @classmethod
    def from_predictions(
        cls,
        relevant,
        distances,
        *,
        average="pooled",
        compute_average_precision=True,
        name=None,
        ax=None,
        curve_kwargs=None,
    ):
        """Plot the precision-recall curve of a ranking given as distances.

        Parameters
        ----------
        relevant : {array-like, sparse matrix} of shape (n_queries, n_database)
            True where a database item is a true neighbour of the query.
        distances : array-like of shape (n_queries, n_database)
            Hamming distance of each database item to each query.
        average : {"pooled", "queries"}, default="pooled"
            Averaging of the curve (see
            :func:`~sklearn_hash.metrics.hamming_precision_recall_curve`).
        compute_average_precision : bool, default=True
            Also compute the mean average precision (expected under random
            order within ties) for the legend; it sorts every row, so it is
            the slow part on large sets.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot``.

        Returns
        -------
        display : HammingPrecisionRecallDisplay
        """
        precision, recall, _ = hamming_precision_recall_curve(
            relevant, distances, average=average
        )
        average_precision = (
            hamming_mean_average_precision(relevant, distances)
            if compute_average_precision
            else None
        )
        display = cls(precision, recall, average_precision=average_precision, name=name)
        return display.plot(ax=ax, curve_kwargs=curve_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_relevant=None,
        average="pooled",
        compute_average_precision=True,
        name=None,
        ax=None,
        curve_kwargs=None,
    ):
        """Plot the precision-recall curve of a fitted search estimator on queries.

        The whole indexed database is ranked for every query (a dense
        ``(n_queries, n_database)`` distance matrix is formed).

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_hash.HammingNeighbors` (``X`` = query
            codes) or a fitted Pipeline ending in one (``X`` = query vectors).
        X : array-like of shape (n_queries, n_features)
            Queries.
        y : array-like of shape (n_queries, n_true)
            Ground-truth neighbour indices into the database; they are the
            relevant items.
        n_relevant : int, default=None
            Use only the first ``n_relevant`` columns of ``y`` as relevant
            (``None``: all).
        average : {"pooled", "queries"}, default="pooled"
            Averaging of the curve.
        compute_average_precision : bool, default=True
            Also compute the mean average precision for the legend.
        name : str, default=None
            Legend label; ``None`` uses the class name of the estimator (of
            its first step for a Pipeline).
        ax : matplotlib Axes, default=None
            Axes to plot on.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot``.

        Returns
        -------
        display : HammingPrecisionRecallDisplay
        """
        codes, index = _codes_and_index(estimator, X)
        distances = _hamming_distances(codes, index.codes_)
        relevant = _relevance(y, distances.shape[1], n_relevant)
        return cls.from_predictions(
            relevant,
            distances,
            average=average,
            compute_average_precision=compute_average_precision,
            name=name if name is not None else _default_name(estimator),
            ax=ax,
            curve_kwargs=curve_kwargs,
        )
