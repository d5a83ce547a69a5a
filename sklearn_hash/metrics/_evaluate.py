"""One measured run of a hasher: fit, encode, search, recall and timings.

What ``python -m sklearn_hash`` prints a row of. Recall comes from the
functions of :mod:`._recall`, the Hamming ranking's mAP and precision-recall
curve from :mod:`._ranking` and :mod:`._curves` on the inputs of
:mod:`._base`.
"""

import time

import numpy as np
from sklearn.frozen import FrozenEstimator

from ..neighbors import AsymmetricNeighbors, HammingNeighbors, RerankNeighbors
from ._base import _hamming_distances, _relevance
from ._curves import hamming_precision_recall_curve
from ._ranking import hamming_mean_average_precision
from ._recall import one_recall_at_r, recall_at_k

# neighbours retrieved for the recall@R curves of a figure
MAX_R = 1000
# the search speed is the best of this many runs (short runs are noisy)
SEARCH_REPEATS = 3


def _fit_and_encode(hasher, data):
    """(base codes, query codes, fit seconds, encode seconds)."""
    t0 = time.perf_counter()
    if hasattr(hasher, "encode_database") and data.train is data.base:
        # asymmetric, fitted on the database: fit_transform returns its database codes
        base_codes = hasher.fit_transform(data.base)
        t1 = time.perf_counter()
    else:
        hasher.fit(data.train)
        t1 = time.perf_counter()
        # asymmetric hashers encode database items differently from queries
        encode_base = getattr(hasher, "encode_database", hasher.transform)
        base_codes = encode_base(data.base)
    query_codes = hasher.transform(data.query)
    return base_codes, query_codes, t1 - t0, time.perf_counter() - t1


def _timed_search(search, queries):
    """(retrieved indices, queries per second of the best of SEARCH_REPEATS runs)."""
    best = np.inf
    for _ in range(SEARCH_REPEATS):
        start = time.perf_counter()
        retrieved = search(queries)
        best = min(best, time.perf_counter() - start)
    return retrieved, len(queries) / max(best, 1e-9)


def _recall_row(truth, retrieved, k, fit_time, encode_time, queries_per_second):
    return {
        "1-R@k": one_recall_at_r(truth, retrieved, r=k),
        "k-R@k": recall_at_k(truth[:, :k], retrieved, k=k),
        "fit s": fit_time,
        "encode s": encode_time,
        "search q/s": queries_per_second,
    }


def evaluate_hasher(hasher, data, k, n_jobs=None, with_map=False, keep_for_plot=False):
    """Fit, encode and search once; return a dict of recall and timings.

    ``data`` has ``train``, ``base``, ``query`` and ``ground_truth`` (as
    :func:`~sklearn_hash.datasets._evaluation_set.load_evaluation_set`
    returns). An asymmetric hasher (one with ``encode_database``) encodes the
    base with it, or with ``fit_transform`` when fitted on the base (then
    counted as fit time). With ``keep_for_plot``, also the top ``MAX_R``
    neighbours and the precision-recall curve of the Hamming ranking (keys
    ``retrieved``, ``precision``, ``recall``).
    """
    base_codes, query_codes, fit_time, encode_time = _fit_and_encode(hasher, data)
    index = HammingNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(base_codes)
    retrieved, speed = _timed_search(
        lambda q: index.kneighbors(q, return_distance=False), query_codes
    )
    truth = data.ground_truth
    row = _recall_row(truth, retrieved, k, fit_time, encode_time, speed)
    if with_map or keep_for_plot:
        distances = _hamming_distances(query_codes, base_codes)
        relevant = _relevance(truth, len(base_codes))
        if with_map:
            row["mAP"] = hamming_mean_average_precision(relevant, distances)
        if keep_for_plot:
            row["precision"], row["recall"], _ = hamming_precision_recall_curve(
                relevant, distances
            )
            row["retrieved"] = index.kneighbors(
                query_codes,
                n_neighbors=min(MAX_R, len(base_codes)),
                return_distance=False,
            )
    return row


def evaluate_rerank(hasher, data, k, n_candidates, n_jobs=None):
    """Re-rank the fitted hasher's Hamming candidates; a row like evaluate_hasher's.

    The hasher is used as fitted (frozen): the base is encoded with its
    ``encode_database`` if it has one, else ``transform``, and candidates are
    re-scored exactly in ``data.metric``. ``fit s`` is the time to build the
    index (encode the base, store the vectors); ``search q/s`` includes
    encoding the queries; ``encode s`` is None.
    """
    search = RerankNeighbors(
        FrozenEstimator(hasher),
        n_neighbors=k,
        n_candidates=n_candidates,
        metric=data.metric,
        n_jobs=n_jobs,
    )
    return _evaluate_search(search, data, k)


def evaluate_asymmetric(hasher, data, k, query_bits, n_jobs=None):
    """Search the fitted hasher's codes with unbinarized queries
    (:class:`AsymmetricNeighbors`); a row like evaluate_rerank's (``fit s``:
    encoding the base; ``search q/s`` includes the queries' decision values)."""
    search = AsymmetricNeighbors(
        FrozenEstimator(hasher), n_neighbors=k, query_bits=query_bits, n_jobs=n_jobs
    )
    return _evaluate_search(search, data, k)


def _evaluate_search(search, data, k):
    """Fit a search holding a frozen hasher on the base, time its predict."""
    start = time.perf_counter()
    search.fit(data.base)
    fit_time = time.perf_counter() - start
    retrieved, speed = _timed_search(search.predict, data.query)
    return _recall_row(data.ground_truth, retrieved, k, fit_time, None, speed)
