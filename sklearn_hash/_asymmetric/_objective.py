"""Objective and gain algebra of the asymmetric hashers (Neyshabur et al., 2013).

The pair loss, the gain of flipping one bit (the reference's ``M``, kept as a
table over distinct codes plus a sparse correction, never dense), the
closed-form database bit, the sampled loss that picks the threshold, and the
coordinate-wise encoding of new database items.
"""

import numpy as np
from scipy import sparse
from sklearn.utils import gen_batches

from .._compat import get_chunk_n_rows

# Sweeps of the coordinate-wise out-of-sample rule of encode_database.
_ENCODE_MAX_SWEEPS = 10


def _sign(values):
    """+1 where values > 0, else -1, as float32 (bit 1 <=> +1, as transform)."""
    return np.where(values > 0, np.float32(1), np.float32(-1))


def _pair_loss(s, score, theta, beta, exponent):
    """Loss of one pair: w(s) * log(1 + exp(-s (score - theta))) ** exponent.

    ``w(+1) = beta``, ``w(-1) = 1 - beta``.
    """
    weight = np.where(s > 0, beta, 1.0 - beta)
    return weight * np.logaddexp(0.0, -s * (score - theta)) ** exponent


def _flip_gain_table(n_other_bits, theta, beta, exponent):
    """Gain of product +1 over -1 for the remaining bit, per (label, score level).

    Returns ``(gain_neg, gain_pos)``, each of length ``n_other_bits + 1``,
    entry ``m`` for the score ``2m - n_other_bits`` of the other bits:
    ``loss(s, score - 1) - loss(s, score + 1)`` (reference: ``M``).
    """
    scores = np.arange(-n_other_bits, n_other_bits + 1, 2, dtype=np.float64)
    tables = [
        _pair_loss(s, scores - 1, theta, beta, exponent)
        - _pair_loss(s, scores + 1, theta, beta, exponent)
        for s in (-1.0, 1.0)
    ]
    return tables[0].astype(np.float32), tables[1].astype(np.float32)


def _database_bit_update(gain, query_bits):
    """Closed-form database bit given the query bits: v = sign(M^T l).

    Maximises ``sum_ij gain_ij l_i v_j`` over ``v`` in {-1, +1}^n, which is
    separable in ``v_j``; equivalently it minimises the block loss of this bit
    given the other bits. Returns ``(v, objective)``.
    """
    column_gain = query_bits @ gain
    v = _sign(column_gain)
    return v, float(np.abs(column_gain).sum())


class _Objective:
    """Sampled loss over a fixed set of (query, database) training pairs.

    Holds the pairs' labels and current scores ``u_i . v_j``; a bit update
    changes the scores in O(n_pairs). The threshold is chosen on the grid
    ``{-K-1, -K+1, ..., K+1}`` as the minimiser of the sampled loss.
    """

    def __init__(self, rows, cols, labels, U, V, beta, exponent):
        self.rows, self.cols, self.labels = rows, cols, labels
        self.nbits = U.shape[1]
        self.beta, self.exponent = beta, exponent
        self.scores = np.zeros(len(rows), dtype=np.int32)
        # per pair: the two gathered float32 code rows
        chunk = get_chunk_n_rows(row_bytes=8 * self.nbits, max_n_rows=len(rows))
        for part in gen_batches(len(rows), chunk):
            self.scores[part] = np.einsum(
                "ij,ij->i", U[rows[part]], V[cols[part]], dtype=np.float32
            ).astype(np.int32)

    def rescored(self, k, U, V, new_u, new_v):
        """Scores after replacing bit k of the query and database codes."""
        return (
            self.scores
            - (U[self.rows, k] * V[self.cols, k]).astype(np.int32)
            + (new_u[self.rows] * new_v[self.cols]).astype(np.int32)
        )

    def best_threshold(self, scores):
        """(theta, mean loss) minimising the sampled loss; smallest theta on ties."""
        K = self.nbits
        levels = (scores + K) // 2
        counts = [
            np.bincount(levels[self.labels == s], minlength=K + 1) for s in (-1, 1)
        ]
        level_scores = np.arange(-K, K + 1, 2, dtype=np.float64)
        thetas = np.arange(-K - 1, K + 2, 2)
        losses = [
            sum(
                counts[c] @ _pair_loss(s, level_scores, theta, self.beta, self.exponent)
                for c, s in ((0, -1.0), (1, 1.0))
            )
            / len(scores)
            for theta in thetas
        ]
        best = int(np.argmin(losses))
        return int(thetas[best]), float(losses[best])


def _unique_codes(codes):
    """Distinct rows of a +-1 code matrix and the row -> distinct-row index."""
    n_samples, n_bits = codes.shape
    if n_bits == 0:
        return codes[:1], np.zeros(n_samples, dtype=np.intp)
    if n_bits <= 62:
        keys = (codes > 0).astype(np.int64) @ (
            np.int64(1) << np.arange(n_bits, dtype=np.int64)
        )
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return codes[first], inverse
    unique, inverse = np.unique(codes, axis=0, return_inverse=True)
    return unique, inverse.ravel()


class _GainMatrix:
    """The gain matrix M of a (queries x database) block, never materialised.

    ``M_ij = gain[s_ij][level_ij]``, ``level_ij = (u_i . v_j + n_other) / 2``
    from the other bits' codes (reference: ``M = loss(S, Y - 1) - loss(S, Y +
    1)``). As M depends on the codes only through their distinct values, it
    is stored as a table over (distinct query code, distinct database code)
    for non-neighbours plus a sparse correction on the neighbour pairs;
    products with M cost O(n_rows + n_cols + n_distinct_pairs + nnz), at most
    that of the dense block. ``ndarray @ M`` and ``M @ ndarray`` work.
    """

    __array_ufunc__ = None  # make ``ndarray @ _GainMatrix`` call __rmatmul__

    def __init__(self, u_codes, u_inverse, v_codes, v_inverse, positives, gain_tables):
        gain_neg, gain_pos = gain_tables
        n_other = u_codes.shape[1]
        self.u_inverse, self.v_inverse = u_inverse, v_inverse
        levels = ((u_codes @ v_codes.T + n_other) * 0.5).astype(np.intp)
        self.table = gain_neg[levels]
        pos = positives.tocoo()
        delta = (gain_pos - gain_neg)[levels[u_inverse[pos.row], v_inverse[pos.col]]]
        self.correction = sparse.csr_matrix(
            (delta.astype(np.float32), (pos.row, pos.col)), shape=positives.shape
        )
        self.shape = positives.shape

    def __matmul__(self, v):
        summed = np.bincount(self.v_inverse, weights=v, minlength=self.table.shape[1])
        by_row = (self.table @ summed)[self.u_inverse].astype(np.float32)
        return by_row + self.correction @ v

    def __rmatmul__(self, u):
        summed = np.bincount(self.u_inverse, weights=u, minlength=self.table.shape[0])
        by_col = (summed @ self.table)[self.v_inverse].astype(np.float32)
        return by_col + self.correction.T @ u

    def toarray(self):
        return self.table[self.u_inverse][:, self.v_inverse] + self.correction.toarray()


def _block_gain(u_codebook, rows, v_codebook, cols, positives_block, gain_tables):
    """Gain matrix of the block (rows x cols) from precomputed distinct codes.

    ``u_codebook = (distinct codes, inverse)`` of all query rows, likewise
    ``v_codebook``; ``cols=None`` means all database columns.
    """
    u_codes, u_inverse = u_codebook
    v_codes, v_inverse = v_codebook
    used_u, u_block = np.unique(u_inverse[rows], return_inverse=True)
    if cols is None:
        v_used, v_block = v_codes, v_inverse
    else:
        used_v, v_block = np.unique(v_inverse[cols], return_inverse=True)
        v_used = v_codes[used_v]
    return _GainMatrix(
        u_codes[used_u], u_block, v_used, v_block, positives_block, gain_tables
    )


def _pair_labels(positives, rows, cols):
    """+1 where (rows[t], cols[t]) is a pair of the sparse relation, else -1."""
    pos = positives.tocoo()
    n = positives.shape[1]
    keys = np.sort(pos.row.astype(np.int64) * n + pos.col)
    query = rows.astype(np.int64) * n + cols
    at = np.searchsorted(keys, query)
    hit = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == query)
    return np.where(hit, 1, -1).astype(np.int8)


def _loss_pairs(n_samples, n_loss_pairs, rng):
    """All pairs if there are at most n_loss_pairs, else a sample with replacement."""
    if n_samples * n_samples <= n_loss_pairs:
        rows, cols = np.divmod(np.arange(n_samples * n_samples), n_samples)
        return rows, cols
    return (
        rng.randint(n_samples, size=n_loss_pairs),
        rng.randint(n_samples, size=n_loss_pairs),
    )


def _encode_free(V, positives_by_query, U, gain_tables):
    """Coordinate descent on the database codes V of new items, bits cyclically.

    ``V`` (n_items, nbits) holds the starting codes (the items' query codes)
    and is updated in place; ``U`` holds the training query codes and
    ``positives_by_query`` the sparse (n_train, n_items) neighbour relation.
    Returns the boolean codes.
    """
    K = U.shape[1]
    u_book = [_unique_codes(U[:, np.arange(K) != k]) for k in range(K)]
    for _ in range(_ENCODE_MAX_SWEEPS):
        changed = False
        for k in range(K):
            others = np.arange(K) != k
            gain = _block_gain(
                u_book[k],
                slice(None),
                _unique_codes(V[:, others]),
                None,
                positives_by_query,
                gain_tables,
            )
            new = _sign(U[:, k] @ gain)
            changed |= bool(np.any(new != V[:, k]))
            V[:, k] = new
        if not changed:
            break
    return V > 0
