"""RecallAtRDisplay: recall of the true neighbours among the top R, against R."""

from ..metrics import recall_at_r_curve
from ..metrics._base import _codes_and_index
from ._base import _as_list, _CurveDisplayMixin, _default_name


class RecallAtRDisplay(_CurveDisplayMixin):
    """Recall@R curve visualization: recall of the true neighbours in the top R.

    Use :meth:`from_estimator` or :meth:`from_predictions` to build one; all
    parameters are stored as attributes. Several curves (one per hasher or
    per code length) go in one display as lists, or on one ``ax`` by
    successive calls.

    Parameters
    ----------
    r_values : ndarray or list of ndarrays
        Numbers of retrieved neighbours R of each curve.
    recall : ndarray or list of ndarrays
        Recall at each R (see :func:`~sklearn_hash.metrics.recall_at_r_curve`).
    n_true : int, default=1
        Number of true neighbours the recall counts (1: 1-recall@R).
    name : str or list of str, default=None
        Legend label of each curve; ``None`` shows no legend.

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
    sklearn_hash.metrics.recall_at_r_curve : The values plotted.
    HammingPrecisionRecallDisplay : Precision-recall of Hamming ranking.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (1-recall@R).
    .. [2] Y. Gong, S. Lazebnik, A. Gordo, F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013 (recall@R).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hash import LSH, HammingNeighbors
    >>> from sklearn_hash.datasets import load_sift_skimage
    >>> from sklearn_hash.plot import RecallAtRDisplay
    >>> data = load_sift_skimage()
    >>> pipe = make_pipeline(LSH(nbits=64, random_state=0), HammingNeighbors())
    >>> pipe = pipe.fit(data.base)
    >>> display = RecallAtRDisplay.from_estimator(pipe, data.query, data.ground_truth,
    ...                                           max_r=100, name="LSH 64 bits")
    >>> display.r_values[-1], bool(display.recall[-1] > display.recall[0])
    (np.int64(100), True)
    """

    def __init__(self, r_values, recall, *, n_true=1, name=None):
        self.r_values = r_values
        self.recall = recall
        self.n_true = n_true
        self.name = name

    def plot(self, ax=None, *, name=None, curve_kwargs=None, log_scale=True):
        """Plot the curve(s).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; ``None`` creates a figure and axes.
        name : str or list of str, default=None
            Legend labels; ``None`` uses the ``name`` of the display.
        curve_kwargs : dict or list of dict, default=None
            Keyword arguments of matplotlib's ``plot``, for all curves (a dict)
            or for each one (a list).
        log_scale : bool, default=True
            Logarithmic R axis (the usual view: R from 1 to hundreds).

        Returns
        -------
        display : RecallAtRDisplay
            Object that stores computed values.
        """
        name = self._validate_plot_params(ax=ax, name=name)
        self._draw_curves(
            _as_list(self.r_values),
            _as_list(self.recall),
            name,
            curve_kwargs,
            {"drawstyle": "steps-post"},
        )
        if log_scale:
            self.ax_.set_xscale("log")
        self.ax_.set(
            xlabel="R (neighbours retrieved)",
            ylabel=f"{self.n_true}-recall@R",
            ylim=(-0.01, 1.01),
        )
        self.ax_.grid(True, alpha=0.3)
        return self

    @classmethod
    def from_predictions(
        cls,
        true_neighbors,
        retrieved_neighbors,
        *,
        n_true=1,
        name=None,
        ax=None,
        curve_kwargs=None,
        log_scale=True,
    ):
        """Plot the recall@R curve of retrieved neighbour lists.

        Parameters
        ----------
        true_neighbors : array-like of shape (n_queries, n_true_given)
            Exact neighbour indices, nearest first.
        retrieved_neighbors : array-like of shape (n_queries, max_r)
            Retrieved indices, best first; R runs from 1 to ``max_r``.
        n_true : int, default=1
            Number of true neighbours the recall counts.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot``.
        log_scale : bool, default=True
            Logarithmic R axis.

        Returns
        -------
        display : RecallAtRDisplay
        """
        r_values, recall = recall_at_r_curve(
            true_neighbors, retrieved_neighbors, n_true=n_true
        )
        display = cls(r_values, recall, n_true=n_true, name=name)
        return display.plot(ax=ax, curve_kwargs=curve_kwargs, log_scale=log_scale)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        max_r=100,
        n_true=1,
        name=None,
        ax=None,
        curve_kwargs=None,
        log_scale=True,
    ):
        """Plot the recall@R curve of a fitted search estimator on queries.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_hash.HammingNeighbors` (then ``X`` holds
            query codes) or a fitted Pipeline ending in one (then ``X`` holds
            query vectors).
        X : array-like of shape (n_queries, n_features)
            Queries.
        y : array-like of shape (n_queries, n_true_given)
            Ground-truth neighbour indices into the indexed database.
        max_r : int, default=100
            Largest R: neighbours retrieved per query.
        n_true : int, default=1
            Number of true neighbours the recall counts.
        name : str, default=None
            Legend label; ``None`` uses the class name of the estimator (of its
            first step for a Pipeline).
        ax : matplotlib Axes, default=None
            Axes to plot on.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot``.
        log_scale : bool, default=True
            Logarithmic R axis.

        Returns
        -------
        display : RecallAtRDisplay
        """
        codes, index = _codes_and_index(estimator, X)
        retrieved = index.kneighbors(codes, n_neighbors=max_r, return_distance=False)
        return cls.from_predictions(
            y,
            retrieved,
            n_true=n_true,
            name=name if name is not None else _default_name(estimator),
            ax=ax,
            curve_kwargs=curve_kwargs,
            log_scale=log_scale,
        )
