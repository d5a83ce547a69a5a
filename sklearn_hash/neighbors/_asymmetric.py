"""Asymmetric search: real-valued queries scored against binary database codes."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import N_JOBS_CONSTRAINT
from .._bits import n_bytes, pack_bits
from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _openmp_effective_n_threads,
)
from ._asym_kernels import (
    LUT_MAX_PLANES,
    MAX_PLANES,
    chunk_rows,
    lut_kneighbors,
    plane_stride,
    planes_kneighbors,
)
from ._asym_kernels import lloyd_levels as _lloyd_levels
from ._hamming import check_n_neighbors
from ._stages import (
    NeighborsPredictScoreMixin,
    check_search_params,
    checked_values,
    decision_width,
    fit_hasher,
    without_self,
)

# Queries per call of the bit-plane kernel (their float64 values and planes:
# about 8.5 bytes a bit each, 4,096 queries of 1,024 bits hold 36 MB) and of
# the float kernel (about 4 KB of tables and temporaries per code byte each:
# 64 queries of 768-bit codes hold 24 MB); fewer for wider codes, so that a
# block stays within about the same memory.
_PLANE_BLOCK = 4096
_TABLE_BLOCK = 64
_PLANE_BLOCK_BITS = 4096 * 1024
_TABLE_BLOCK_BYTES = 64 * 96
# int32 scores: at most nbits * (2**MAX_PLANES - 1) must fit
_MAX_BITS = (2**31 - 1) // (2**MAX_PLANES - 1)
# bit i of byte value v, for the float tables
_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(bool)


# The "lloyd" query quantizer: Lloyd-Max iterations per query, and the bit
# planes its levels are kept to: two more than the uniform quantizer's (level
# values on a grid 4x finer than the uniform bins), but not past the
# lookup-table kernels' LUT_MAX_PLANES for query_bits up to that (7 or 8
# planes fall to the row kernels, 10-20x slower; measured, the capped grid
# keeps the recall).
_LLOYD_ITER = 10
_LLOYD_EXTRA_PLANES = 2


def lloyd_planes(query_bits):
    """Bit planes of a ``query_bits`` query with Lloyd-Max levels."""
    return max(query_bits, min(query_bits + _LLOYD_EXTRA_PLANES, LUT_MAX_PLANES))


def lloyd_levels(magnitude, n_levels, n_iter=_LLOYD_ITER):
    """Each row's values replaced by their level of a weighted 1-D Lloyd-Max.

    ``n_levels`` levels per row, started at the values of ranks
    ``floor((l + 1/2) K / n_levels)`` of the sorted row (K values), then
    ``n_iter`` iterations: each value to its nearest level (by the midpoints
    of consecutive levels, the lower one on a midpoint), each level to the
    weighted mean of its values (unchanged if it has none), value ``a``
    weighing ``exp(-a / median)`` (the row's median, else its mean, else 1).
    Deterministic; compiled (``_asym_kernels.lloyd_levels``).
    """
    magnitude = np.ascontiguousarray(magnitude, dtype=np.float64)
    out = np.empty_like(magnitude)
    _lloyd_levels(magnitude, np.sort(magnitude, axis=1), n_levels, n_iter, out)
    return out


def quantize_queries(values, query_bits, quantizer="uniform"):
    """Bit planes and quantization step of real-valued queries.

    Returns ``planes`` (n, n_planes, plane_stride) uint8, zero-padded: plane
    0 the packed signs ``values > 0``, plane p >= 1 bit p - 1 of the integer
    magnitudes ``m = min(floor(a / step), 2**(n_planes - 1) - 1)``; and
    ``step`` (n,) float64, ``max a / 2**(n_planes - 1)`` per query (0 for
    an all-zero query, whose magnitudes are then all 0). ``"uniform"``:
    ``a = |v|`` and ``n_planes = query_bits``. ``"lloyd"`` (query_bits >= 2):
    ``a`` is ``|v|`` replaced by its level among ``2**(query_bits - 1)``
    Lloyd-Max levels of the query (:func:`lloyd_levels` of ``|v| / max |v|``,
    times ``max |v|``), and ``n_planes = max(query_bits, min(query_bits + 2,
    6))`` (:func:`lloyd_planes`).
    """
    n, nbits = values.shape
    nb = n_bytes(nbits)
    magnitude = np.abs(values, dtype=np.float64)
    n_planes = query_bits
    if quantizer == "lloyd" and query_bits > 1:
        # on the magnitudes over their maximum, so that no scale underflows
        top = magnitude.max(axis=1, keepdims=True, initial=0.0)
        unit = np.where(top > 0, top, 1.0)
        magnitude = lloyd_levels(magnitude / unit, 1 << (query_bits - 1)) * unit
        n_planes = lloyd_planes(query_bits)
    levels = 1 << (n_planes - 1)
    step = magnitude.max(axis=1, initial=0.0) / levels
    scaled = np.divide(
        magnitude, step[:, None], out=np.zeros_like(magnitude), where=step[:, None] > 0
    )
    m = np.minimum(np.floor(scaled), levels - 1).astype(np.uint8)
    planes = np.zeros((n, n_planes, plane_stride(nb)), dtype=np.uint8)
    planes[:, 0, :nb] = pack_bits(values > 0)
    for p in range(1, n_planes):
        planes[:, p, :nb] = pack_bits((m >> (p - 1)) & 1)
    return planes, step


def byte_tables(values):
    """Float32 weighted-disagreement tables, one per code byte, of each query.

    Entry ``[q, t, v]`` of the (n, n_bytes, 256) result is
    ``sum_i |w_i| [bit_i(v) != (w_i > 0)]`` over the bits ``8 t .. 8 t + 7``
    of byte value ``v`` (padding bits weigh 0).
    """
    n, nbits = values.shape
    nb = n_bytes(nbits)
    weights = np.zeros((n, 8 * nb))
    weights[:, :nbits] = np.abs(values, dtype=np.float64)
    signs = np.zeros((n, 8 * nb), dtype=bool)
    signs[:, :nbits] = values > 0
    # a sum of the disagreeing bits' weights only: an agreeing byte is exactly 0
    disagree = _BYTE_BITS[None, None] != signs.reshape(n, nb, 1, 8)
    tables = np.einsum("qtvi,qti->qtv", disagree, weights.reshape(n, nb, 8))
    return tables.astype(np.float32)


class AsymmetricNeighbors(NeighborsPredictScoreMixin, BaseEstimator):
    """Nearest neighbours by the unbinarized query against binary database codes.

    The database is stored as packed codes, exactly as for
    :class:`HammingNeighbors`, but the query is not binarized: its real
    values (the hasher's ``decision_function``, whose signs are the bits)
    are scored against each code, so a bit on which the query is far from
    its threshold weighs more than one it barely crossed. Same codes, same
    memory as Hamming search, better neighbours; only the query side costs
    more: ``query_bits`` popcounts per 64 bits of code instead of one. This
    is the asymmetric distance of Dong, Charikar & Li (2008) and Gordo,
    Perronnin, Gong & Lazebnik (2014); faiss's RaBitQ scores queries against
    database bits the same way.

    ``predict`` returns neighbour indices and ``score`` their recall, as
    :class:`HammingNeighbors`, so ``GridSearchCV`` on a
    :func:`~sklearn_hash.model_selection.query_database_split` tunes
    ``query_bits`` and the hasher's parameters (``hasher__nbits``, ...).

    Parameters
    ----------
    hasher : estimator with ``fit``, ``transform`` and ``decision_function``
        Any hasher of this package (or a :class:`~sklearn.pipeline.Pipeline`
        ending in one). It is cloned and fitted on the database by ``fit``,
        whose database codes come from its ``fit_transform`` (for
        :class:`AsymmetricLinV`, its learned database codes). To use an
        already fitted hasher, wrap it in
        :class:`sklearn.frozen.FrozenEstimator`: it is then used as is, and
        the database is encoded by its ``encode_database`` method where it
        has one, else by ``transform``. Queries are always scored through
        ``decision_function``.
    n_neighbors : int, default=10
        Number of neighbours returned by ``kneighbors`` and ``predict``
        unless given in the call.
    query_bits : int in [1, 8] or None, default=4
        Bits per query value: the sign and ``query_bits - 1`` bits of
        magnitude (see Notes), scored by a compiled bit-plane kernel.
        ``None`` scores the float values (byte lookup tables; the reference,
        several times slower). ``query_bits=1`` ranks by Hamming distance.
    query_quantizer : {"lloyd", "uniform"}, default="lloyd"
        Where the ``2**(query_bits - 1)`` magnitude levels of each query lie.
        ``"uniform"``: evenly spaced from 0 to the query's largest magnitude.
        ``"lloyd"``: placed by a few Lloyd-Max iterations on the query's own
        magnitudes (denser where they are), their values kept to two more
        bits, so the kernels score ``query_bits + 2`` bit planes (at most 6
        unless ``query_bits`` is 7 or 8).
        See Notes; ignored when ``query_bits`` is 1 or None.
    n_jobs : int, default=None
        Threads over queries, with the semantics of scikit-learn's
        OpenMP-based estimators: ``None`` uses every available core, as
        limited by ``OMP_NUM_THREADS`` or :mod:`threadpoolctl`; negative
        values count back from the number of cores.

    Attributes
    ----------
    hasher_ : estimator
        The fitted hasher (a clone of ``hasher``, or ``hasher`` itself when it
        is a :class:`~sklearn.frozen.FrozenEstimator`).
    codes_ : ndarray of shape (n_samples_fit, ceil(n_bits / 8)), dtype uint8
        Packed database codes.
    n_bits_ : int
        Code length in bits (columns of the hasher's ``decision_function``).
    index_nbytes_ : int
        Every byte the index stores: the codes, ``n_samples_fit_ *
        ceil(n_bits_ / 8)``; nothing else is kept per code. (For
        :class:`HammingNeighbors`, whose codes are its input, the attribute
        counts only what it builds beside them.)
    n_samples_fit_ : int
        Number of database vectors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    HammingNeighbors : The same codes with binarized queries.
    RerankNeighbors : Candidates (Hamming or asymmetric) re-scored with the
        original vectors.

    Notes
    -----
    Let :math:`w \\in \\mathbb{R}^K` be the query's decision values and
    :math:`b \\in \\{0, 1\\}^K` a database code. The distance is the
    weighted Hamming distance

    .. math:: d(w, b) = \\sum_{i=1}^{K} |w_i| \\, [b_i \\ne [w_i > 0]]
              = \\tfrac12 \\Big( \\|w\\|_1 - w^\\top (2 b - 1) \\Big),

    so ranking by it is ranking by the asymmetric inner product
    :math:`w^\\top (2 b - 1)`, highest first; a query with all
    :math:`|w_i|` equal gets the Hamming ranking.

    With ``query_bits = B``, each query's magnitudes are quantized
    uniformly: :math:`\\Delta = \\max_i |w_i| / 2^{B-1}`,
    :math:`m_i = \\min(\\lfloor |w_i| / \\Delta \\rfloor, 2^{B-1} - 1)`,
    each :math:`|w_i|` taken as its bin's midpoint
    :math:`(m_i + \\tfrac12) \\Delta` (rounding down then adding half a
    step; a sign is never lost to rounding). The integer score

    .. math:: s(b) = \\sum_i (2 m_i + 1) [b_i \\ne s_i]
              = \\operatorname{popcount}(x) + \\sum_{p \\ge 1} 2^p
                \\operatorname{popcount}(x \\wedge M_p),
              \\quad x = b \\oplus s,

    with :math:`M_p` the bit planes of :math:`m`, is computed with one XOR
    and B popcounts per 64 bits; the returned distance is
    :math:`s(b) \\Delta / 2`, the weighted Hamming distance of the
    quantized query. Neighbours are ordered by (integer score, index), so
    ties are exact and broken by the smaller index. An all-zero query has
    :math:`\\Delta = 0`: every distance is 0 and the order is the Hamming
    order to the all-zero sign code (with ``query_bits=None``, every code
    ties and the order is the index order). The 2^B levels are those of a
    B-bit uniform quantizer symmetric about zero (RaBitQ's query uses 2^B
    levels over [min, max], with randomized rounding).

    ``query_quantizer="lloyd"`` (the default) keeps B bits of information
    per value, the sign and one of :math:`L = 2^{B-1}` magnitude levels,
    but places the levels where the query's magnitudes are: started at the
    magnitudes of ranks :math:`\\lfloor (l + \\tfrac12) K / L \\rfloor`, ten
    weighted Lloyd-Max iterations (each magnitude to its nearest level, each
    level to the mean of its magnitudes weighted by
    :math:`e^{-|w_i| / \\mathrm{median}_j |w_j|}`) give each :math:`|w_i|` a
    level :math:`c_i`. The weights are our choice: a level's error moves the
    distance of a code only where the code disagrees with the query, which
    near codes do most often on the bits of small :math:`|w_i|`; they
    measured better than plain Lloyd-Max (user guide). The levels' values
    are then quantized as above on a finer grid of :math:`2^{P-1}` bins,
    :math:`\\Delta' = \\max_i c_i / 2^{P-1}` (the top level, not the largest
    magnitude) and
    :math:`m_i = \\min(\\lfloor c_i / \\Delta' \\rfloor, 2^{P-1} - 1)`, and
    scored as P bit planes: :math:`P = B + 2` (four times finer than the
    uniform bins) up to the 6 planes of the fast lookup-table kernels, so
    :math:`P = 4, 5, 6, 6, 6, 7, 8` for :math:`B = 2, \\ldots, 8` (7 or 8
    planes go to the row kernels, 10 to 20 times slower; for B = 5 and 6 the
    capped grid measured as the uncapped one, user guide). Uniform levels
    waste most of their range on the few largest magnitudes of a
    heavy-tailed query; measured on sift-images
    with LSH codes, 4-bit uniform queries lost about 0.02 1-recall@10
    against the float query, these levels less than 0.01 (user guide). The cost is
    the iterations per query (compiled, :math:`O(10 K L)`) and the extra
    planes.

    ``query_bits=None`` computes :math:`d(w, b)` in float32 through one
    256-entry table per code byte (the sum of a byte's weighted
    disagreements), added in byte order, on the query's values divided by
    their largest magnitude (so that no scale overflows or underflows
    float32); the distances are scaled back in float64.

    ``kneighbors(X=None)`` searches the database against itself, each point
    excluded from its own result (scikit-learn's rule). Only codes are
    stored, so those queries are the database codes with every
    :math:`|w_i| = 1`: the distances are Hamming distances.

    Memory: the codes; queries are scored in blocks (at most about 40 MB of
    values and planes or tables, fewer queries a block for wider codes), each
    query keeping its best ``n_neighbors`` in a bounded heap, so no (queries
    x database) matrix is formed. Codes may have up to 8,421,504 bits (the
    integer scores are int32).

    References
    ----------
    .. [1] W. Dong, M. Charikar, K. Li, "Asymmetric distance estimation with
       sketches for similarity search in high-dimensional spaces", SIGIR 2008.
    .. [2] A. Gordo, F. Perronnin, Y. Gong, S. Lazebnik, "Asymmetric distances
       for binary embeddings", IEEE TPAMI 36(1), 2014.
    .. [3] J. Gao, C. Long, "RaBitQ: Quantizing high-dimensional vectors with a
       theoretical error bound for approximate nearest neighbor search",
       SIGMOD 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import ITQ, AsymmetricNeighbors
    >>> rng = np.random.RandomState(0)
    >>> database = rng.standard_normal((1000, 32))
    >>> queries = database[:3] + 0.01 * rng.standard_normal((3, 32))
    >>> search = AsymmetricNeighbors(ITQ(nbits=16, random_state=0), n_neighbors=2)
    >>> search.fit(database).predict(queries)[:, 0]
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "hasher": [HasMethods(["fit", "transform", "decision_function"])],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "query_bits": [Interval(Integral, 1, MAX_PLANES, closed="both"), None],
        "query_quantizer": [StrOptions({"uniform", "lloyd"})],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(
        self,
        hasher,
        *,
        n_neighbors=10,
        query_bits=4,
        query_quantizer="lloyd",
        n_jobs=None,
    ):
        self.hasher = hasher
        self.n_neighbors = n_neighbors
        self.query_bits = query_bits
        self.query_quantizer = query_quantizer
        self.n_jobs = n_jobs

    # the hasher's own parameters are validated by its fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the hasher and store the database codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database vectors.
        y : None
            Ignored (accepted so that ``GridSearchCV`` can pass its ``y``).

        Returns
        -------
        self : AsymmetricNeighbors
            The fitted search.
        """
        self._reject_bool_query_bits()  # the rest was validated by _fit_context
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        hasher, codes = fit_hasher(self.hasher, X)
        self._set_index(hasher, codes, decision_width(hasher, X))
        return self

    def _check_search_params(self):
        """The parameters a search reads, checked (again after fit: set_params
        may have changed them)."""
        check_search_params(self, ("query_bits", "query_quantizer", "n_jobs"))
        self._reject_bool_query_bits()

    def _reject_bool_query_bits(self):
        """scikit-learn's Interval(Integral) takes True for 1."""
        if isinstance(self.query_bits, bool):
            raise ValueError(
                f"query_bits must be an int in [1, {MAX_PLANES}] or None, got "
                f"{self.query_bits!r}"
            )

    def _set_index(self, hasher, codes, n_bits):
        """The fitted state, from a fitted hasher and its database codes."""
        if codes.shape[1] != n_bytes(n_bits):
            raise ValueError(
                f"the hasher's decision_function has {n_bits} columns but its codes "
                f"have {codes.shape[1]} bytes; expected {n_bytes(n_bits)}"
            )
        if n_bits > _MAX_BITS:
            raise ValueError(
                f"codes of {n_bits} bits are too wide: the integer scores hold at "
                f"most {_MAX_BITS} bits"
            )
        if n_bits % 8 and len(codes) and (codes[:, -1] >> (n_bits % 8)).any():
            raise ValueError(
                f"the hasher's codes have padding bits set past bit {n_bits}; "
                "codes must be packed as sklearn_hash.pack_bits packs them"
            )
        self.hasher_ = hasher
        self.codes_ = np.ascontiguousarray(codes)
        self.n_bits_ = n_bits
        self.n_samples_fit_ = len(codes)
        self.index_nbytes_ = self.codes_.nbytes
        return self

    @classmethod
    def _from_fitted(cls, hasher, codes, n_bits, **params):
        """A fitted search over given codes (RerankNeighbors' first stage)."""
        search = cls(hasher, **params)
        return search._set_index(hasher, codes, n_bits)

    # -- search ------------------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest database codes of each query by asymmetric distance.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query vectors. ``None`` queries the database codes themselves
            (Hamming distances, see Notes), each one excluded from its own
            result (scikit-learn's rule).
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype float64
            Weighted Hamming distances of the (quantized) queries, ascending.
            Only if ``return_distance``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database indices, ordered by (distance, index).
        """
        check_is_fitted(self)
        self._check_search_params()
        k = check_n_neighbors(
            n_neighbors, self.n_neighbors, self.n_samples_fit_, X is None
        )
        if X is None:
            own = np.arange(self.n_samples_fit_)
            distances, indices = self._code_kneighbors(self.codes_, k + 1)
            indices, distances = without_self(own, indices, distances)
        else:
            X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
            distances, indices = self._value_kneighbors(X, k)
        return (distances, indices) if return_distance else indices

    def _n_threads(self, n_queries):
        return max(1, min(_openmp_effective_n_threads(self.n_jobs), n_queries))

    def _query_values(self, X):
        """The hasher's decision values of X, checked."""
        values = checked_values(self.hasher_.decision_function(X), len(X), self.n_bits_)
        # the distances sum the magnitudes: they must stay finite too
        with np.errstate(over="ignore"):
            total = np.abs(values, dtype=np.float64).sum(axis=1)
        if not np.isfinite(total).all():
            raise ValueError(
                "the hasher's decision_function returned values whose sum "
                "overflows float64 for some queries; check the query vectors' scale"
            )
        return values

    def _query_block(self):
        """Queries per block, fewer for wide codes (see _PLANE_BLOCK)."""
        if self.query_bits is None:
            per_query = self.codes_.shape[1]
            return max(1, min(_TABLE_BLOCK, _TABLE_BLOCK_BYTES // per_query))
        return max(1, min(_PLANE_BLOCK, _PLANE_BLOCK_BITS // self.n_bits_))

    def _value_kneighbors(self, X, k):
        """(distances, indices) of the queries X, in blocks."""
        distances = np.empty((len(X), k), dtype=np.float64)
        indices = np.empty((len(X), k), dtype=np.int64)
        block = self._query_block()
        for start in range(0, len(X), block):
            rows = slice(start, start + block)
            values = self._query_values(X[rows])
            if self.query_bits is None:
                self._table_search(values, distances[rows], indices[rows])
            else:
                planes, step = quantize_queries(
                    values, self.query_bits, self.query_quantizer
                )
                scores = self._plane_search(planes, indices[rows])
                distances[rows] = scores * (step[:, None] / 2)
        return distances, indices

    def _plane_search(self, planes, indices):
        """Integer scores of the best codes of each query's planes; their
        indices written to ``indices``."""
        n_q, k = indices.shape
        scores = np.empty((n_q, k), dtype=np.int32)
        n_threads = self._n_threads(n_q)
        scratch = np.empty((n_threads, chunk_rows(self.codes_.shape[1])), np.int32)
        planes_kneighbors(planes, self.codes_, scores, indices, scratch, n_threads)
        return scores

    def _table_search(self, values, distances, indices):
        """Float distances of the best codes, in units of ``values``: the
        tables are built on each query's values divided by their largest
        magnitude (1 for an all-zero query)."""
        scale = np.abs(values, dtype=np.float64).max(axis=1, initial=0.0)
        scale[scale == 0] = 1.0
        scores = np.empty(distances.shape, dtype=np.float32)
        lut_kneighbors(
            byte_tables(values / scale[:, None]),
            self.codes_,
            scores,
            indices,
            self._n_threads(len(values)),
        )
        distances[:] = scores * scale[:, None]

    def _code_kneighbors(self, codes, k):
        """(Hamming distances as float64, indices) of codes taken as queries
        with unit weights, in blocks."""
        distances = np.empty((len(codes), k), dtype=np.float64)
        indices = np.empty((len(codes), k), dtype=np.int64)
        stride = plane_stride(codes.shape[1])
        for start in range(0, len(codes), _PLANE_BLOCK):
            rows = slice(start, start + _PLANE_BLOCK)
            planes = np.zeros((len(codes[rows]), 1, stride), dtype=np.uint8)
            planes[:, 0, : codes.shape[1]] = codes[rows]
            distances[rows] = self._plane_search(planes, indices[rows])
        return distances, indices

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
