"""Average precision of a ranking by Hamming distance, with ties handled exactly."""

import numpy as np
from scipy import sparse

from .._compat import StrOptions, validate_params

_RELEVANCE_CONSTRAINTS = {
    "relevant": ["array-like", "sparse matrix"],
    "distances": ["array-like"],
}


def _check_relevance_and_distances(relevant, distances):
    if sparse.issparse(relevant):
        relevant = relevant.toarray()
    relevant = np.asarray(relevant)
    distances = np.asarray(distances)
    for name, arr in (("relevant", relevant), ("distances", distances)):
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (n_queries, n_database), got shape {arr.shape}"
            )
    if relevant.shape != distances.shape:
        raise ValueError(
            f"relevant and distances must have the same shape, got {relevant.shape} "
            f"and {distances.shape}"
        )
    if relevant.size == 0:
        raise ValueError(
            f"need at least one query and one database item, got {relevant.shape}"
        )
    if not (
        np.issubdtype(distances.dtype, np.integer)
        or np.issubdtype(distances.dtype, np.floating)
    ):
        raise TypeError(f"distances must be numeric, got dtype {distances.dtype}")
    if np.issubdtype(distances.dtype, np.floating) and not np.all(
        np.isfinite(distances)
    ):
        raise ValueError("distances must be finite")
    if relevant.dtype != bool:
        if not np.all((relevant == 0) | (relevant == 1)):
            raise ValueError("relevant must be boolean or hold only 0 and 1")
        relevant = relevant.astype(bool)
    return relevant, distances


def _tie_groups(relevant, distances):
    """Per-query counts of items and of relevant items per distance level.

    Returns ``(n_items, n_relevant)``, both (n_queries, n_levels) int64, where
    level ``g`` of a query is its ``g``-th smallest distinct distance (levels a
    query does not use are empty and sit at the end).
    """
    n_queries, n_database = distances.shape
    order = np.argsort(distances, axis=1, kind="stable")
    sorted_dist = np.take_along_axis(distances, order, axis=1)
    sorted_rel = np.take_along_axis(relevant, order, axis=1)
    new_level = np.ones_like(sorted_dist, dtype=bool)
    new_level[:, 1:] = sorted_dist[:, 1:] != sorted_dist[:, :-1]
    level = np.cumsum(new_level, axis=1) - 1
    flat = (np.arange(n_queries)[:, None] * n_database + level).ravel()
    size = n_queries * n_database
    n_items = np.bincount(flat, minlength=size).reshape(n_queries, n_database)
    n_relevant = np.bincount(flat, weights=sorted_rel.ravel(), minlength=size)
    return n_items, n_relevant.reshape(n_queries, n_database).astype(np.int64)


@validate_params(
    {
        **_RELEVANCE_CONSTRAINTS,
        "ties": [StrOptions({"expected", "pessimistic", "optimistic"})],
    },
    prefer_skip_nested_validation=True,
)
def hamming_mean_average_precision(relevant, distances, *, ties="expected"):
    """Mean over queries of the average precision of ranking by distance.

    Each query ranks the database by increasing ``distances``; its average
    precision (AP, non-interpolated) is the mean, over its relevant items, of
    the precision at the rank of that item. Hamming distances take few values
    (``nbits + 1``), so many items tie and the AP depends on how ties are
    ordered; ``ties`` says which order is scored. The result is the mean of the
    per-query AP over the queries that have at least one relevant item
    (queries without any are left out, as their AP is undefined).

    This is the package's ranking measure; it treats every query alike. For
    the pooled measure of Neyshabur et al. (2013), used only to reproduce
    their figures, see :func:`pooled_average_precision`.

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_queries, n_database)
        True (or 1) where a database item is a true neighbour of the query.
    distances : array-like of shape (n_queries, n_database)
        Distance of each database item to each query (e.g. Hamming distances
        between codes); smaller ranks first. Any numeric values; equal values
        tie.
    ties : {"expected", "pessimistic", "optimistic"}, default="expected"
        ``"expected"``: the expected AP when the items of each tie group are
        put in uniformly random order (computed exactly, in closed form, not
        by sampling). ``"pessimistic"``: relevant items last within each tie
        group (a lower bound). ``"optimistic"``: relevant items first (an
        upper bound).

    Returns
    -------
    mean_ap : float
        Value in [0, 1]; ``nan`` if no query has a relevant item.

    See Also
    --------
    pooled_average_precision : The pooled, interpolated AP of the paper.

    Notes
    -----
    For one query, let a tie group hold :math:`n` items, :math:`r` of them
    relevant, preceded by :math:`A` items of which :math:`R_a` are relevant,
    and let :math:`R` be the query's number of relevant items. Under a random
    order within the group, position :math:`A + p` holds a relevant item with
    probability :math:`r / n`, and then the expected number of relevant items
    before it within the group is :math:`(p - 1)(r - 1) / (n - 1)`. Linearity
    of expectation gives the group's expected contribution to
    :math:`R \\cdot \\mathrm{AP}`:

    .. math::
        \\sum_{p=1}^{n} \\frac{r}{n}\\,
        \\frac{R_a + 1 + (p - 1)\\frac{r - 1}{n - 1}}{A + p}
        = \\frac{r}{n}\\Big[\\big(R_a + 1 - c\\,(A + 1)\\big)(H_{A+n} - H_A)
        + c\\,n\\Big],
        \\quad c = \\frac{r - 1}{n - 1},

    with :math:`H_m` the m-th harmonic number (and :math:`c = 0` when
    :math:`n = 1`). Relevant items last (first) give
    :math:`\\sum_{t=1}^{r} (R_a + t) / (B + t)` with :math:`B = A + n - r`
    (:math:`B = A`), that is :math:`r + (R_a - B)(H_{B+r} - H_B)`.

    References
    ----------
    .. [1] C. D. Manning, P. Raghavan, H. Schütze, "Introduction to
       Information Retrieval", Cambridge University Press 2008, section 8.4
       (average precision).
    .. [2] F. McSherry, M. Najork, "Computing information retrieval
       performance measures efficiently in the presence of tied scores",
       ECIR 2008.

    Examples
    --------
    >>> from sklearn_hash.metrics import hamming_mean_average_precision
    >>> relevant = [[True, False, True]]
    >>> distances = [[0, 1, 1]]
    >>> hamming_mean_average_precision(relevant, distances, ties="optimistic")
    1.0
    >>> pessimistic = hamming_mean_average_precision(
    ...     relevant, distances, ties="pessimistic"
    ... )
    >>> round(pessimistic, 4)
    0.8333
    >>> round(hamming_mean_average_precision(relevant, distances), 4)
    0.9167
    """
    relevant, distances = _check_relevance_and_distances(relevant, distances)
    n_items, n_rel = _tie_groups(relevant, distances)
    total_rel = n_rel.sum(axis=1)
    has_rel = total_rel > 0
    if not has_rel.any():
        return float("nan")
    n_items, n_rel, total_rel = n_items[has_rel], n_rel[has_rel], total_rel[has_rel]
    n = n_items.astype(np.float64)
    r = n_rel.astype(np.float64)
    before = np.cumsum(n_items, axis=1) - n_items
    rel_before = (np.cumsum(n_rel, axis=1) - n_rel).astype(np.float64)
    # harmonic[m] = H_m, the m-th harmonic number, H_0 = 0
    n_database = distances.shape[1]
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n_database + 1))])
    if ties == "expected":
        c = np.divide(r - 1, n - 1, out=np.zeros_like(r), where=n > 1)
        span = harmonic[before + n_items] - harmonic[before]
        contrib = np.divide(r, n, out=np.zeros_like(r), where=n > 0) * (
            (rel_before + 1 - c * (before + 1)) * span + c * n
        )
    else:
        start = before + n_items - n_rel if ties == "pessimistic" else before
        span = harmonic[start + n_rel] - harmonic[start]
        contrib = r + (rel_before - start) * span
    contrib = np.where(n_rel > 0, contrib, 0.0)
    ap = contrib.sum(axis=1) / total_rel
    return float(np.mean(ap))


@validate_params(_RELEVANCE_CONSTRAINTS, prefer_skip_nested_validation=True)
def pooled_average_precision(relevant, distances):
    """Pooled, interpolated average precision of Neyshabur et al. (2013).

    For reproducing the paper's figures only. All (query, item) pairs are
    pooled into one ranking; each distinct distance is a threshold and gives
    one (recall, precision) point over the pooled pairs within that distance;
    the point (recall 0, precision 1) is added, and the area under the
    piecewise-linear curve through these points (trapezoid rule) is returned.
    This is ``utils/aveprecision.m`` of the authors' code, evaluated here on
    the given pairs rather than on sampled training pairs.

    Prefer :func:`hamming_mean_average_precision`: pooling lets a few queries
    with many neighbours dominate, and the trapezoid anchored at (0, 1)
    rewards coarse codes that put dense clusters into one bucket (random
    8-bit codes score far higher here than per query).

    Parameters
    ----------
    relevant : {array-like, sparse matrix} of shape (n_queries, n_database)
        True (or 1) where a database item is a true neighbour of the query.
    distances : array-like of shape (n_queries, n_database)
        Distance of each database item to each query; smaller ranks first.

    Returns
    -------
    pooled_ap : float
        Value in [0, 1]; ``nan`` if no pair is relevant.

    See Also
    --------
    hamming_mean_average_precision : Per-query AP with an exact tie rule.

    Notes
    -----
    With thresholds :math:`t_1 < \\dots < t_L` (the distinct distances),
    :math:`P_l` and :math:`R_l` the precision and recall of the pairs with
    distance :math:`\\le t_l`, and :math:`(R_0, P_0) = (0, 1)`,

    .. math:: \\mathrm{AP}_{\\text{pooled}} = \\sum_{l=1}^{L}
              (R_l - R_{l-1}) \\frac{P_l + P_{l-1}}{2}.

    References
    ----------
    .. [1] B. Neyshabur, N. Srebro, R. Salakhutdinov, Y. Makarychev,
       P. Yadollahpour, "The Power of Asymmetry in Binary Hashing",
       NIPS 2013; code: github.com/bneyshabur/asymcode,
       ``utils/aveprecision.m``.

    Examples
    --------
    >>> from sklearn_hash.metrics import pooled_average_precision
    >>> relevant = [[True, False, True], [False, True, False]]
    >>> distances = [[0, 1, 1], [2, 0, 1]]
    >>> round(pooled_average_precision(relevant, distances), 4)
    0.9333
    """
    relevant, distances = _check_relevance_and_distances(relevant, distances)
    n_positive = int(relevant.sum())
    if n_positive == 0:
        return float("nan")
    levels, inverse = np.unique(distances.ravel(), return_inverse=True)
    n_pairs = np.bincount(inverse, minlength=len(levels))
    n_true = np.bincount(inverse, weights=relevant.ravel(), minlength=len(levels))
    retrieved = np.cumsum(n_pairs)
    true_pos = np.cumsum(n_true)
    precision = np.concatenate([[1.0], true_pos / retrieved])
    recall = np.concatenate([[0.0], true_pos / n_positive])
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))
