"""Exact Euclidean (and cosine) neighbours in float space, in memory-bounded blocks.

The one brute-force float search of the package: the ground truth of
:mod:`sklearn_hash.model_selection`, the training neighbour graphs of the
asymmetric hashers and any validation set a hasher builds use it. Blocks of
query rows are sized, as in scikit-learn, from ``working_memory``
(:func:`sklearn.get_config`) with scikit-learn's ``get_chunk_n_rows`` and
walked with :func:`~sklearn.utils.gen_batches`.
"""

import sys
import time

import numpy as np
from sklearn.utils import gen_batches

from ._compat import get_chunk_n_rows

# bytes per query row and database column of the k-NN search: the float64
# distances, their partitioned copy and the boolean candidate mask
_KNN_BYTES_PER_PAIR = 17


def l2_normalize_rows(X):
    """Rows of X scaled to unit Euclidean norm, in X's dtype; zero rows stay zero.

    Rows whose squared norm overflows or underflows X's dtype are divided by
    their largest magnitude first.
    """
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))[:, None]
    out = np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
    odd = ~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0)
    if odd.any():
        rows = X[odd]
        top = np.abs(rows).max(axis=1, keepdims=True)
        rows = np.divide(rows, top, out=np.zeros_like(rows), where=top > 0)
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))[:, None]
        out[odd] = np.divide(rows, norms, out=rows, where=norms > 0)
    return out


def squared_distances(A, B):
    """Squared Euclidean distances ``|a|^2 - 2 a.b + |b|^2``, clipped at 0, dense.

    In the dtype of the inputs; the caller bounds the size of ``A``. Computed
    in place: one ``len(A) x len(B)`` array, no temporaries of that size.
    """
    sq = A @ B.T
    sq *= -2
    sq += (A * A).sum(axis=1)[:, None]
    sq += (B * B).sum(axis=1)[None, :]
    np.maximum(sq, 0, out=sq)
    return sq


def exact_kneighbors(
    queries,
    database,
    n_neighbors,
    *,
    self_query=False,
    metric="euclidean",
    working_memory=None,
    verbose=0,
):
    """Exact k nearest neighbours, in float64, ties to the smaller index.

    Candidates come from the fast expansion of the squared distance; their
    distances are then recomputed directly, so rounding in the expansion
    cannot change the result. With ``self_query=True``, ``queries`` must be
    ``database`` and each point is left out of its own neighbours.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), dtype float64
    indices : ndarray of shape (n_queries, n_neighbors), dtype int64
    """
    database = np.asarray(database, dtype=np.float64)
    queries = database if self_query else np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        database = l2_normalize_rows(database)
        queries = database if self_query else l2_normalize_rows(queries)
    n_db, n_q = database.shape[0], queries.shape[0]
    db_sq = np.einsum("ij,ij->i", database, database)
    q_sq = np.einsum("ij,ij->i", queries, queries)
    # an error bound of the expansion, generous: rounding of sums of n_features terms
    slack = 1e-9 * (q_sq.max(initial=0) + db_sq.max(initial=0) + 1.0)
    indices = np.empty((n_q, n_neighbors), dtype=np.int64)
    distances = np.empty((n_q, n_neighbors), dtype=np.float64)
    block_rows = get_chunk_n_rows(
        row_bytes=_KNN_BYTES_PER_PAIR * max(n_db, 1),
        max_n_rows=max(n_q, 1),
        working_memory=working_memory,
    )
    start_time = last_report = time.perf_counter()
    for block in gen_batches(n_q, block_rows):
        start, stop = block.start, block.stop
        rows = np.arange(stop - start)
        sq = q_sq[block, None] - 2 * queries[block] @ database.T + db_sq[None, :]
        if self_query:
            sq[rows, start + rows] = np.inf
        kth = np.partition(sq, n_neighbors - 1, axis=1)[:, n_neighbors - 1]
        candidates = sq <= kth[:, None] + slack
        del sq
        for i in rows:
            cand = np.flatnonzero(candidates[i])
            exact = _candidate_distances(queries[start + i], database[cand], metric)
            best = np.lexsort((cand, exact))[:n_neighbors]
            indices[start + i] = cand[best]
            distances[start + i] = exact[best]
        now = time.perf_counter()
        if verbose and (now - last_report >= 1.0 or stop == n_q):
            last_report = now
            print(
                f"exact neighbours: {stop}/{n_q} queries ({100 * stop / n_q:.0f}%), "
                f"{now - start_time:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return distances, indices


def _candidate_distances(query, candidates, metric):
    if metric == "cosine":
        return 1.0 - candidates @ query
    return np.sqrt(((candidates - query) ** 2).sum(axis=1))
