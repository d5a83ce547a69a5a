"""Recall of approximate neighbour lists against exact ground truth."""

from numbers import Integral

import numpy as np

from .._compat import Interval, validate_params


def _check_neighbor_arrays(true_neighbors, retrieved_neighbors):
    true_neighbors = np.asarray(true_neighbors)
    retrieved_neighbors = np.asarray(retrieved_neighbors)
    for name, arr in (
        ("true_neighbors", true_neighbors),
        ("retrieved_neighbors", retrieved_neighbors),
    ):
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (n_queries, n_neighbors), got shape {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    if true_neighbors.shape[0] != retrieved_neighbors.shape[0]:
        raise ValueError(
            "true_neighbors and retrieved_neighbors must have the same number of "
            "queries, "
            f"got {true_neighbors.shape[0]} and {retrieved_neighbors.shape[0]}"
        )
    if true_neighbors.shape[0] == 0:
        raise ValueError("recall needs at least one query, got 0")
    return true_neighbors, retrieved_neighbors


def _check_cutoff(value, name, available, what):
    """The cut-off (positive, by ``validate_params``), at most ``available``."""
    if value is None:
        return available
    if value > available:
        raise ValueError(f"{name}={value} exceeds the {available} {what} given")
    return int(value)


@validate_params(
    {
        "true_neighbors": ["array-like"],
        "retrieved_neighbors": ["array-like"],
        "k": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def recall_at_k(true_neighbors, retrieved_neighbors, k=None):
    """Recall@k: mean fraction of the true k nearest neighbours retrieved in the top k.

    For each query :math:`q`, with :math:`T_k(q)` the indices of its true k
    nearest neighbours and :math:`A_k(q)` the first k retrieved indices,

    .. math:: \\text{recall@k} = \\frac{1}{n_q} \\sum_q
              \\frac{|A_k(q) \\cap T_k(q)|}{k}.

    Ties in the true (float) distances are not resolved: the ground truth's
    order is taken as given. Duplicate retrieved indices count once.

    Parameters
    ----------
    true_neighbors : array-like of shape (n_queries, n_true)
        Exact neighbour indices, nearest first (e.g. ``gt_l2_100.npy``).
    retrieved_neighbors : array-like of shape (n_queries, n_retrieved)
        Retrieved indices, best first (e.g. ``HammingNeighbors.predict``).
    k : int, default=None
        Cut-off; ``None`` means ``n_retrieved``. Must not exceed ``n_true``
        nor ``n_retrieved``.

    Returns
    -------
    recall : float
        Value in [0, 1].

    See Also
    --------
    one_recall_at_r : Fraction of queries whose nearest neighbour is in the top R.
    recall_at_r_curve : Recall for every cut-off R.
    make_recall_scorer : This measure as a scorer for model selection.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 2011 (the recall measures of ANN evaluation).

    Examples
    --------
    >>> from sklearn_hash.metrics import recall_at_k
    >>> recall_at_k([[0, 1], [2, 3]], [[1, 5], [2, 3]])
    0.75
    """
    true_neighbors, retrieved_neighbors = _check_neighbor_arrays(
        true_neighbors, retrieved_neighbors
    )
    k = _check_cutoff(k, "k", retrieved_neighbors.shape[1], "retrieved neighbours")
    k = _check_cutoff(k, "k", true_neighbors.shape[1], "true neighbours")
    hits = [
        len(np.intersect1d(t[:k], r[:k]))
        for t, r in zip(true_neighbors, retrieved_neighbors)
    ]
    return float(np.mean(hits) / k)


@validate_params(
    {
        "true_neighbors": ["array-like"],
        "retrieved_neighbors": ["array-like"],
        "r": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def one_recall_at_r(true_neighbors, retrieved_neighbors, r=None):
    """1-recall@R: fraction of queries whose true nearest neighbour is in the top R.

    .. math:: \\text{1-recall@R} = \\frac{1}{n_q} \\sum_q
              \\mathbb{1}[\\,t_1(q) \\in A_R(q)\\,]

    with :math:`t_1(q)` the first column of ``true_neighbors`` and
    :math:`A_R(q)` the first R retrieved indices. This is the "R@R" measure
    of faiss and of the product-quantization literature.

    Parameters
    ----------
    true_neighbors : array-like of shape (n_queries, n_true)
        Exact neighbour indices, nearest first; only column 0 is used (a 1-D
        array of nearest-neighbour indices is accepted too).
    retrieved_neighbors : array-like of shape (n_queries, n_retrieved)
        Retrieved indices, best first.
    r : int, default=None
        Cut-off; ``None`` means ``n_retrieved``.

    Returns
    -------
    recall : float
        Value in [0, 1].

    See Also
    --------
    recall_at_k : Fraction of the true k nearest neighbours in the top k.
    recall_at_r_curve : This measure for every cut-off R.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 2011.

    Examples
    --------
    >>> from sklearn_hash.metrics import one_recall_at_r
    >>> one_recall_at_r([[0, 1], [2, 3]], [[1, 0], [3, 4]], r=2)
    0.5
    """
    true_neighbors = np.asarray(true_neighbors)
    if true_neighbors.ndim == 1:
        true_neighbors = true_neighbors[:, None]
    true_neighbors, retrieved_neighbors = _check_neighbor_arrays(
        true_neighbors, retrieved_neighbors
    )
    r = _check_cutoff(r, "r", retrieved_neighbors.shape[1], "retrieved neighbours")
    found = (retrieved_neighbors[:, :r] == true_neighbors[:, :1]).any(axis=1)
    return float(found.mean())


@validate_params(
    {
        "true_neighbors": ["array-like"],
        "retrieved_neighbors": ["array-like"],
        "n_true": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def recall_at_r_curve(true_neighbors, retrieved_neighbors, *, n_true=1):
    """Recall of the true ``n_true`` nearest neighbours among the top R, for every R.

    ``recall[R - 1]`` is the mean over queries of
    :math:`|T_{n}(q) \\cap A_R(q)| / n` with :math:`T_n(q)` the first
    ``n_true`` true neighbours and :math:`A_R(q)` the first R retrieved
    indices. With ``n_true=1`` it is the 1-recall@R curve of the
    product-quantization literature (faiss's "R@R"); the ITQ paper's
    "recall@R" plots use the true 50 neighbours (``n_true=50``).

    The retrieved lists are taken as ranked: for Hamming rankings
    :class:`~sklearn_hash.HammingNeighbors` orders ties by database index.

    Parameters
    ----------
    true_neighbors : array-like of shape (n_queries, n_true_given)
        Exact neighbour indices, nearest first (a 1-D array of nearest
        neighbours is accepted when ``n_true=1``).
    retrieved_neighbors : array-like of shape (n_queries, n_retrieved)
        Retrieved indices, best first; duplicates count once.
    n_true : int, default=1
        Number of true neighbours to find; at most ``n_true_given``.

    Returns
    -------
    r_values : ndarray of shape (n_retrieved,)
        ``1, 2, ..., n_retrieved``.
    recall : ndarray of shape (n_retrieved,)
        Non-decreasing values in [0, 1].

    See Also
    --------
    one_recall_at_r : One point of this curve with ``n_true=1``.
    recall_at_k : The point ``R = n_true = k``.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (1-recall@R).
    .. [2] Y. Gong, S. Lazebnik, A. Gordo, F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013 (recall@R).

    Examples
    --------
    >>> from sklearn_hash.metrics import recall_at_r_curve
    >>> r_values, recall = recall_at_r_curve([[0], [5]], [[3, 0, 1], [5, 2, 4]])
    >>> r_values.tolist(), recall.tolist()
    ([1, 2, 3], [0.5, 1.0, 1.0])
    """
    true_neighbors = np.asarray(true_neighbors)
    if true_neighbors.ndim == 1:
        true_neighbors = true_neighbors[:, None]
    true_neighbors, retrieved = _check_neighbor_arrays(
        true_neighbors, retrieved_neighbors
    )
    if n_true > true_neighbors.shape[1]:
        raise ValueError(
            f"n_true={n_true} exceeds the {true_neighbors.shape[1]} true "
            "neighbours given"
        )
    truth = true_neighbors[:, :n_true]
    # hit[q, j]: retrieved[q, j] is a true neighbour not already retrieved earlier
    is_true = (retrieved[:, :, None] == truth[:, None, :]).any(axis=2)
    first = np.ones_like(is_true)
    order = np.argsort(retrieved, axis=1, kind="stable")
    sorted_ret = np.take_along_axis(retrieved, order, axis=1)
    repeat = np.zeros_like(is_true)
    repeat[:, 1:] = sorted_ret[:, 1:] == sorted_ret[:, :-1]
    np.put_along_axis(first, order, ~repeat, axis=1)
    hits = np.cumsum(is_true & first, axis=1)
    recall = hits.mean(axis=0) / n_true
    return np.arange(1, retrieved.shape[1] + 1), recall


def neighbor_recall(y_true, retrieved):
    """Recall of retrieved neighbour indices, the rule of ``HammingNeighbors.score``.

    With ``k = retrieved.shape[1]``: k-recall@k if ``y_true`` has at least k
    columns, 1-recall@k if it has one column or is 1-D.
    """
    y_true = np.asarray(y_true)
    k = retrieved.shape[1]
    if y_true.ndim == 1 or y_true.shape[1] == 1:
        return one_recall_at_r(y_true, retrieved, r=k)
    if y_true.shape[1] < k:
        raise ValueError(
            f"y must have 1 column (1-recall@k) or at least n_neighbors={k} "
            f"columns (recall@k), got {y_true.shape[1]}"
        )
    return recall_at_k(y_true, retrieved, k=k)
