"""Objective and gain algebra of the asymmetric hashers (Neyshabur et al., 2013).

The pair loss, the gain of flipping one bit (the reference's ``M``, kept as a
table over distinct codes plus a sparse correction, never dense), the
closed-form database bit, the sampled loss that picks the threshold, and the
coordinate-wise encoding of new database items.
"""

import functools
from concurrent.futures import ThreadPoolExecutor

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


# Distinct query codes per chunk of the gain table, so that the temporaries
# stay in cache; each thread takes every n_threads-th chunk. Smaller tables
# than _MIN_THREADED_TABLE entries are filled on one thread (a task costs more).
_MIN_THREADED_TABLE = 1 << 16
_TABLE_CHUNK_ROWS = 16

if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
    _popcount = np.bitwise_count
else:  # pragma: no cover - NumPy 1.x
    _POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def _popcount(words):
        as_bytes = words.view(np.uint8).reshape(words.shape + (8,))
        return _POPCOUNT8[as_bytes].sum(axis=-1, dtype=np.uint8)


def _packed_words(codes):
    """Rows of a +-1 code matrix as little-endian uint64 words (bit i = code i > 0)."""
    n_samples, n_bits = codes.shape
    n_words = max(1, -(-n_bits // 64))
    packed = np.zeros((n_samples, 8 * n_words), dtype=np.uint8)
    packed[:, : -(-n_bits // 8)] = np.packbits(codes > 0, axis=1, bitorder="little")
    return packed.view("<u8")


def _hamming_words(a, b):
    """Hamming distances (len(a), len(b)) between rows of packed uint64 words."""
    distances = _popcount(a[:, None, 0] ^ b[None, :, 0])
    if a.shape[1] > 3:  # more than 255 bits: past uint8
        distances = distances.astype(np.uint16)
    for word in range(1, a.shape[1]):
        distances += _popcount(a[:, None, word] ^ b[None, :, word])
    return distances


@functools.lru_cache(maxsize=None)
def _thread_pool(n_threads):
    """One pool per thread count for the life of the process: a fit makes
    thousands of small tables, and starting threads for each costs more than
    the small ones."""
    return ThreadPoolExecutor(max_workers=n_threads)


def _map_threads(func, parts, n_threads):
    """``[func(part) for part in parts]``, on ``n_threads`` threads.

    For NumPy work that releases the GIL; each part writes its own output.
    """
    if n_threads <= 1 or len(parts) <= 1:
        return [func(part) for part in parts]
    return list(_thread_pool(n_threads).map(func, parts))


def _unique_codes(codes, classes=None):
    """Distinct rows of a +-1 code matrix as packed words, and row -> distinct row.

    Returns ``(keys, inverse)``: ``keys`` of shape (n_distinct, n_words),
    dtype uint64 (:func:`_packed_words`), sorted. With ``classes`` (integer
    class of each row), rows of different classes are distinct keys and each
    key ends with one more word, its class.
    """
    keys = _packed_words(codes)
    if classes is not None:
        keys = np.hstack([keys, classes.astype(np.uint64)[:, None]])
    if keys.shape[1] == 1:
        unique, inverse = np.unique(keys[:, 0], return_inverse=True)
        return unique[:, None], inverse.ravel()
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    return unique, inverse.ravel()


class _GainMatrix:
    """The gain matrix M of a (queries x database) block, a table over distinct codes.

    ``M_ij = gain[s_ij][level_ij]``, ``level_ij = (u_i . v_j + n_other) / 2``
    from the other bits' codes (reference: ``M = loss(S, Y - 1) - loss(S, Y +
    1)``). As M depends on the codes only through their distinct values, it
    is stored as a float32 table over (distinct query code, distinct database
    code) for non-neighbours plus a sparse correction on the neighbour pairs;
    products with M cost O(n_rows + n_cols + n_distinct_pairs + nnz), at most
    that of the dense block. The score of two codes is ``n_other - 2 d`` with
    ``d`` their Hamming distance, counted by popcounts on packed words; the
    table is filled in chunks of distinct query codes on ``n_threads``
    threads (exact integer work, so the result does not depend on the
    threads). ``ndarray @ M`` and ``M @ ndarray`` work; their vectors must
    hold +-1 (their sums per distinct code are then exact in float32).

    ``positives=None`` means a relation by class: the keys end with the class
    word of :func:`_unique_codes`, same class = neighbour, and the table over
    distinct (code, class) keys is all of M (no correction, whatever the
    number of neighbour pairs).
    """

    __array_ufunc__ = None  # make ``ndarray @ _GainMatrix`` call __rmatmul__

    def __init__(
        self, u_keys, u_inverse, v_keys, v_inverse, positives, gain_tables, n_threads=1
    ):
        gain_neg, gain_pos = gain_tables
        # gains of a pair at Hamming distance d of the other bits
        neg_by_distance = np.ascontiguousarray(gain_neg[::-1])
        pos_by_distance = np.ascontiguousarray(gain_pos[::-1])
        self.u_inverse, self.v_inverse = u_inverse, v_inverse
        by_class = positives is None
        words = slice(None, -1) if by_class else slice(None)
        wide = u_keys[:, words].shape[1] > 3
        # Hamming distances of the distinct codes, then the gains they index;
        # the neighbour pairs of a sparse relation read theirs from this table
        distances = np.empty(
            (len(u_keys), len(v_keys)), dtype=np.uint16 if wide else np.uint8
        )
        self.table = np.empty((len(u_keys), len(v_keys)), dtype=np.float32)

        def fill(chunks):
            for part in chunks:
                distances[part] = _hamming_words(u_keys[part, words], v_keys[:, words])
                if by_class:
                    same = u_keys[part, -1:] == v_keys[None, :, -1]
                    self.table[part] = np.where(
                        same,
                        pos_by_distance[distances[part]],
                        neg_by_distance[distances[part]],
                    )
                else:
                    np.take(neg_by_distance, distances[part], out=self.table[part])

        chunks = list(gen_batches(len(u_keys), _TABLE_CHUNK_ROWS))
        if self.table.size < _MIN_THREADED_TABLE:
            n_threads = 1
        _map_threads(fill, [chunks[t::n_threads] for t in range(n_threads)], n_threads)
        self.shape = (len(u_inverse), len(v_inverse))
        if by_class:
            self.correction = None
            return
        # the correction shares the CSR structure of the neighbour relation
        positives = positives.tocsr()
        rows = np.repeat(np.arange(positives.shape[0]), np.diff(positives.indptr))
        pair_distances = distances[u_inverse[rows], v_inverse[positives.indices]]
        delta = (pos_by_distance - neg_by_distance)[pair_distances]
        self.correction = sparse.csr_matrix(
            (delta, positives.indices, positives.indptr), shape=positives.shape
        )

    def __matmul__(self, v):
        summed = np.bincount(self.v_inverse, weights=v, minlength=self.table.shape[1])
        by_row = (self.table @ summed.astype(np.float32))[self.u_inverse]
        return by_row if self.correction is None else by_row + self.correction @ v

    def __rmatmul__(self, u):
        summed = np.bincount(self.u_inverse, weights=u, minlength=self.table.shape[0])
        by_col = (summed.astype(np.float32) @ self.table)[self.v_inverse]
        return by_col if self.correction is None else by_col + self.correction.T @ u

    def toarray(self):
        dense = self.table[self.u_inverse][:, self.v_inverse]
        return dense if self.correction is None else dense + self.correction.toarray()


def _block_gain(
    u_codebook, rows, v_codebook, cols, positives_block, gain_tables, n_threads=1
):
    """Gain matrix of the block (rows x cols) from precomputed distinct codes.

    ``u_codebook = (distinct codes, inverse)`` of all query rows, likewise
    ``v_codebook`` (:func:`_unique_codes`); ``cols=None`` means all database
    columns.
    """
    u_keys, u_inverse = u_codebook
    v_keys, v_inverse = v_codebook
    used_u, u_block = np.unique(u_inverse[rows], return_inverse=True)
    if cols is None:
        v_used, v_block = v_keys, v_inverse
    else:
        used_v, v_block = np.unique(v_inverse[cols], return_inverse=True)
        v_used = v_keys[used_v]
    return _GainMatrix(
        u_keys[used_u],
        u_block.ravel(),
        v_used,
        v_block.ravel(),
        positives_block,
        gain_tables,
        n_threads,
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


class _Relation:
    """The neighbour relation of the training points, as the alternation reads it.

    Either a sparse (n, n) matrix (``graph``) or integer ``classes`` (same
    class = neighbour), which are never expanded into their ``sum_c n_c ** 2``
    pairs: blocks and codebooks carry the classes instead.
    """

    def __init__(self, graph=None, classes=None):
        self.graph, self.classes = graph, classes

    def pair_labels(self, rows, cols):
        """+1 where (rows[t], cols[t]) are neighbours, else -1 (int8)."""
        if self.classes is None:
            return _pair_labels(self.graph, rows, cols)
        same = self.classes[rows] == self.classes[cols]
        return np.where(same, 1, -1).astype(np.int8)

    def block(self, rows, cols=None):
        """The sparse block (rows x cols, all columns if None); None by class."""
        if self.classes is not None:
            return None
        block = self.graph[rows]
        return block if cols is None else block[:, cols]

    def codebook(self, codes):
        """:func:`_unique_codes` of the training points' codes (keys with classes)."""
        return _unique_codes(codes, self.classes)


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
