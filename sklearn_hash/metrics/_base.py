"""What every evaluation needs from a search: query codes, distances, relevance.

The displays of :mod:`sklearn_hash.plot`, the scorers, the command line and the
benchmarks compute their inputs here and nowhere else (as scikit-learn's
``metrics/_plot`` displays call ``metrics/_ranking.py``).
"""

import numpy as np
from sklearn.utils import gen_batches

from .._compat import get_chunk_n_rows


def _codes_and_index(estimator, X):
    """(query codes, fitted index) of a fitted index or a Pipeline ending in one.

    A Pipeline's transformer steps encode ``X``; a bare index takes ``X`` as
    codes. The index is any estimator with ``kneighbors`` (HammingNeighbors).
    """
    steps = getattr(estimator, "steps", None)
    if steps is None:
        index, codes = estimator, X
    else:
        index, codes = steps[-1][1], estimator[:-1].transform(X)
    if not hasattr(index, "kneighbors"):
        raise TypeError(
            "estimator must be a HammingNeighbors (an estimator with kneighbors) or "
            f"a Pipeline ending in one, got {type(index).__name__}"
        )
    return codes, index


def _hamming_distances(query_codes, database_codes):
    """Dense (n_queries, n_database) int32 Hamming distances of packed codes.

    Bits are unpacked to float32 and ``|q| + |x| - 2 q.x`` is one matrix
    product per block of queries (exact: the values are integers far below
    2**24). Blocks are sized from scikit-learn's ``working_memory``; the
    result itself is dense, so use it where the whole ranking is needed
    (mAP, precision-recall curves), not for k-NN search.
    """
    query_codes = np.asarray(query_codes, dtype=np.uint8)
    database_codes = np.asarray(database_codes, dtype=np.uint8)
    db_bits = np.unpackbits(database_codes, axis=1, bitorder="little").astype(
        np.float32
    )
    db_ones = db_bits.sum(axis=1)
    n_queries, n_database = len(query_codes), len(database_codes)
    out = np.empty((n_queries, n_database), dtype=np.int32)
    if n_queries == 0:  # gen_batches needs at least one row
        return out
    # per query row: the float32 product and distance rows
    block_rows = get_chunk_n_rows(
        row_bytes=8 * max(n_database, 1), max_n_rows=n_queries
    )
    for block in gen_batches(n_queries, block_rows):
        q_bits = np.unpackbits(query_codes[block], axis=1, bitorder="little")
        q_bits = q_bits.astype(np.float32)
        dist = q_bits.sum(axis=1)[:, None] + db_ones[None, :] - 2 * (q_bits @ db_bits.T)
        out[block] = np.rint(dist).astype(np.int32)
    return out


def _relevance(ground_truth, n_database, n_relevant=None):
    """Boolean (n_queries, n_database): the first ``n_relevant`` true neighbours."""
    ground_truth = np.asarray(ground_truth)
    if ground_truth.ndim == 1:
        ground_truth = ground_truth[:, None]
    if n_relevant is not None:
        if n_relevant > ground_truth.shape[1]:
            raise ValueError(
                f"n_relevant={n_relevant} exceeds the {ground_truth.shape[1]} true "
                "neighbours in y"
            )
        ground_truth = ground_truth[:, :n_relevant]
    relevant = np.zeros((len(ground_truth), n_database), dtype=bool)
    relevant[np.arange(len(ground_truth))[:, None], ground_truth] = True
    return relevant
