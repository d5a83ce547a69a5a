"""Precision and recall of a ranking by Hamming distance, one point per distance level.

A Hamming ranking has few distinct distances (``nbits + 1`` at most), so many
database items tie. Every measure here thresholds the distance: "retrieve
everything within distance ``t``". Tied items are then retrieved together, no
order within a tie is invented, and the curves are exact whatever the ties.
For average precision over the ranking, whose value does depend on an order
within ties, see :func:`~sklearn_hash.metrics.hamming_mean_average_precision`.
"""

from numbers import Real

import numpy as np

from .._compat import Interval, StrOptions, validate_params
from ._ranking import _RELEVANCE_CONSTRAINTS, _check_relevance_and_distances


def _level_counts(relevant, distances):
    """Items and relevant items within each distance level, per query.

    Returns ``(levels, n_within, n_relevant_within)``: the distinct distances
    of all queries, ascending (L,), and two (n_queries, L) int64 arrays
    counting, for each query, the items (and the relevant items) at distance
    ``<= levels[l]``.
    """
    n_queries, n_database = distances.shape
    low, high = distances.min(), distances.max()
    if np.issubdtype(distances.dtype, np.integer) and int(high) - int(low) < max(
        n_database, 1024
    ):
        # Hamming distances: few integer values, count without sorting
        levels = np.arange(int(low), int(high) + 1, dtype=distances.dtype)
        inverse = distances - low
    else:
        levels, inverse = np.unique(distances, return_inverse=True)
    n_levels = len(levels)
    flat = (
        np.arange(n_queries)[:, None] * n_levels + inverse.reshape(distances.shape)
    ).ravel()
    size = n_queries * n_levels
    n_items = np.bincount(flat, minlength=size).reshape(n_queries, n_levels)
    n_rel = np.bincount(flat[relevant.ravel()], minlength=size).reshape(
        n_queries, n_levels
    )
    used = n_items.any(axis=0)
    return (
        levels[used],
        np.cumsum(n_items, axis=1)[:, used],
        np.cumsum(n_rel, axis=1)[:, used],
    )


def _precision_recall(n_within, n_rel_within, n_relevant, average, zero_division):
    """Precision and recall of the counts of ``_level_counts`` at each level."""
    if average == "pooled":
        retrieved = n_within.sum(axis=0)
        hits = n_rel_within.sum(axis=0).astype(np.float64)
        total = n_relevant.sum()
        precision = np.divide(
            hits,
            retrieved,
            out=np.full(hits.shape, zero_division, dtype=np.float64),
            where=retrieved > 0,
        )
        return precision, hits / total
    keep = n_relevant > 0
    n_within, n_rel_within = n_within[keep], n_rel_within[keep].astype(np.float64)
    precision = np.divide(
        n_rel_within,
        n_within,
        out=np.full(n_rel_within.shape, zero_division, dtype=np.float64),
        where=n_within > 0,
    )
    recall = n_rel_within / n_relevant[keep][:, None]
    if np.isnan(zero_division):
        counted = (~np.isnan(precision)).sum(axis=0)
        mean_precision = np.divide(
            np.nansum(precision, axis=0),
            counted,
            out=np.full(counted.shape, np.nan),
            where=counted > 0,
        )
        return mean_precision, recall.mean(axis=0)
    return precision.mean(axis=0), recall.mean(axis=0)


_CURVE_CONSTRAINTS = {
    **_RELEVANCE_CONSTRAINTS,
    "average": [StrOptions({"pooled", "queries"})],
    "zero_division": [Interval(Real, 0, 1, closed="both"), StrOptions({"nan"})],
}


def _zero_division_value(zero_division):
    return np.nan if zero_division == "nan" else float(zero_division)


def _checked_counts(relevant, distances):
    relevant, distances = _check_relevance_and_distances(relevant, distances)
    n_relevant = relevant.sum(axis=1)
    if not n_relevant.any():
        raise ValueError(
            "relevant holds no relevant item: precision and recall are undefined"
        )
    return relevant, distances, n_relevant


@validate_params(
    {
        **_CURVE_CONSTRAINTS,
        "radius": ["array-like", Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def precision_recall_at_radius(
    relevant, distances, radius, *, average="queries", zero_division=0.0
):
    """Precision and recall of retrieving every item within a Hamming radius.

    For each query, the retrieved set is every database item at distance
    ``<= radius`` (inclusive), tied items all together. This is "hash lookup"
    evaluation, e.g. the precision within Hamming radius 2 reported by the
    Spectral Hashing and ITQ papers.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_queries, n_database)
        True (or 1) where a database item is a true neighbour of the query.
    distances : array-like of shape (n_queries, n_database)
        Distance of each database item to each query (Hamming distances
        between codes, typically).
    radius : float or array-like of shape (n_radii,)
        Inclusive radius or radii, non-negative.
    average : {"queries", "pooled"}, default="queries"
        ``"queries"``: precision and recall of each query, then their mean
        over the queries that have at least one relevant item. ``"pooled"``:
        all (query, item) pairs counted together, as in the evaluation code
        of the Spectral Hashing and ITQ papers (queries with many neighbours
        weigh more).
    zero_division : float in [0, 1] or "nan", default=0.0
        Precision when nothing is retrieved. ``0.0`` is the ITQ paper's
        convention (a failed lookup counts as precision 0); ``"nan"`` leaves
        such queries out of the precision mean (pooled: a ``nan`` point).

    Returns
    -------
    precision : float or ndarray of shape (n_radii,)
        Precision at each radius (a float for a scalar ``radius``).
    recall : float or ndarray of shape (n_radii,)
        Recall at each radius: fraction of the relevant items retrieved.

    See Also
    --------
    hamming_precision_recall_curve : The same at every distance level.

    Notes
    -----
    With :math:`N_q(r)` the items of query :math:`q` within radius
    :math:`r`, :math:`T_q` its relevant items and :math:`Q^+` the queries
    with :math:`T_q \\neq \\emptyset`, ``average="queries"`` gives

    .. math::
        P(r) = \\frac{1}{|Q^+|} \\sum_{q \\in Q^+}
               \\frac{|N_q(r) \\cap T_q|}{|N_q(r)|}, \\qquad
        R(r) = \\frac{1}{|Q^+|} \\sum_{q \\in Q^+}
               \\frac{|N_q(r) \\cap T_q|}{|T_q|},

    and ``average="pooled"`` the ratios of the sums over all queries.

    References
    ----------
    .. [1] Y. Weiss, A. Torralba, R. Fergus, "Spectral hashing", NIPS 2008.
    .. [2] Y. Gong, S. Lazebnik, "Iterative quantization: a Procrustean
       approach to learning binary codes", CVPR 2011.

    Examples
    --------
    >>> from sklearn_hash.metrics import precision_recall_at_radius
    >>> relevant = [[True, False, True, False]]
    >>> distances = [[0, 1, 1, 3]]
    >>> precision_recall_at_radius(relevant, distances, radius=1)
    (0.6666666666666666, 1.0)
    >>> precision, recall = precision_recall_at_radius(relevant, distances, [0, 2, 3])
    >>> precision.tolist(), recall.tolist()
    ([1.0, 0.6666666666666666, 0.5], [0.5, 1.0, 1.0])
    """
    relevant, distances, n_relevant = _checked_counts(relevant, distances)
    radii = np.asarray(radius, dtype=np.float64)
    if radii.ndim > 1 or np.any(radii < 0) or not np.all(np.isfinite(radii)):
        raise ValueError(
            f"radius must be a non-negative number or 1-D array of them, got {radius!r}"
        )
    levels, n_within, n_rel_within = _level_counts(relevant, distances)
    # column 0 of the padded counts is "nothing retrieved" (radius below every distance)
    pad = np.zeros((n_within.shape[0], 1), dtype=np.int64)
    pos = np.searchsorted(levels, np.atleast_1d(radii), side="right")
    precision, recall = _precision_recall(
        np.hstack([pad, n_within])[:, pos],
        np.hstack([pad, n_rel_within])[:, pos],
        n_relevant,
        average,
        _zero_division_value(zero_division),
    )
    if radii.ndim == 0:
        return float(precision[0]), float(recall[0])
    return precision, recall


@validate_params(_CURVE_CONSTRAINTS, prefer_skip_nested_validation=True)
def hamming_precision_recall_curve(
    relevant, distances, *, average="pooled", zero_division=0.0
):
    """Precision-recall curve of ranking by distance, one point per distance level.

    Each query ranks the database by increasing distance. Instead of cutting
    the ranking after every item, which would need an order within ties, the
    curve cuts it after every *distance level*: point ``l`` retrieves, for
    every query, all items at distance ``<= thresholds[l]``. Short codes put
    many items at each distance, and this way the curve does not depend on
    how ties would be ordered; it is the protocol of the Spectral Hashing,
    ITQ and asymmetric-hashing papers.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_queries, n_database)
        True (or 1) where a database item is a true neighbour of the query.
    distances : array-like of shape (n_queries, n_database)
        Distance of each database item to each query; smaller ranks first.
        Equal values tie.
    average : {"pooled", "queries"}, default="pooled"
        ``"pooled"``: counts of all (query, item) pairs together, as the
        papers' evaluation code does. ``"queries"``: mean over the queries
        with at least one relevant item of each query's precision and recall.
    zero_division : float in [0, 1] or "nan", default=0.0
        Precision of a query (``"queries"``) or of a level (``"pooled"``)
        that retrieves nothing.

    Returns
    -------
    precision : ndarray of shape (n_levels,)
        Precision at each level.
    recall : ndarray of shape (n_levels,)
        Recall at each level, non-decreasing, 1 at the last level.
    thresholds : ndarray of shape (n_levels,)
        The distinct distances of all queries, ascending.

    See Also
    --------
    precision_recall_at_radius : The same at chosen radii.
    hamming_mean_average_precision : Per-query AP with an exact tie rule.

    Notes
    -----
    Unlike :func:`sklearn.metrics.precision_recall_curve`, thresholds are
    ascending (a distance, not a score) and no artificial point at recall 0
    is added. The area under this curve is not the average precision of the
    ranking: within a level it interpolates linearly, which is the expected
    precision under a random order within the tie only when pooled over a
    single query.

    References
    ----------
    .. [1] Y. Weiss, A. Torralba, R. Fergus, "Spectral hashing", NIPS 2008.
    .. [2] Y. Gong, S. Lazebnik, A. Gordo, F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013.

    Examples
    --------
    >>> from sklearn_hash.metrics import hamming_precision_recall_curve
    >>> relevant = [[True, False, True, False], [False, True, False, False]]
    >>> distances = [[0, 1, 1, 3], [2, 0, 1, 2]]
    >>> precision, recall, thresholds = hamming_precision_recall_curve(
    ...     relevant, distances
    ... )
    >>> thresholds
    array([0, 1, 2, 3])
    >>> precision.round(3).tolist(), recall.round(3).tolist()
    ([1.0, 0.6, 0.429, 0.375], [0.667, 1.0, 1.0, 1.0])
    """
    relevant, distances, n_relevant = _checked_counts(relevant, distances)
    levels, n_within, n_rel_within = _level_counts(relevant, distances)
    precision, recall = _precision_recall(
        n_within, n_rel_within, n_relevant, average, _zero_division_value(zero_division)
    )
    return precision, recall, levels
