"""Exact Hamming k-NN over packed binary codes."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kernels


def check_codes(estimator, X, *, reset, name="X"):
    """Validate packed codes: uint8, 2-D, C-contiguous, at least one row.

    HammingNeighbors is strict, as faiss's binary indexes are: anything but
    uint8 (floats, ints, bools, sparse) is a TypeError naming the parameter.
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{name} must be a dense uint8 array of packed codes, got a sparse matrix"
        )
    X = validate_data(estimator, X, reset=reset, dtype=None, order="C", ensure_all_finite=False)
    if X.dtype != np.uint8:
        raise TypeError(
            f"{name} must be packed binary codes of dtype uint8 with shape "
            f"(n_samples, ceil(nbits / 8)), got dtype {X.dtype}. Encode float vectors "
            "with a hasher (e.g. sklearn_hash.LSH) or pack bits with sklearn_hash.pack_bits."
        )
    return X


# queries per block: each block streams the database through cache once
_QUERY_BLOCK = 32
# radius results are assembled per block of queries to bound the histograms
_RADIUS_QUERY_BLOCK = 1024
# below this many queries per thread, threads split the database instead,
# if it is large enough (bytes) for the split to pay for starting threads
_SPLIT_DATABASE_BELOW = 4
_SPLIT_MIN_BYTES = 4 << 20


def _merge_sorted_parts(part_dist, part_ind, k):
    """Merge per-thread top-k lists (n_threads, n_q, k) into the global top-k."""
    dist = np.concatenate(part_dist, axis=1)
    ind = np.concatenate(part_ind, axis=1)
    order = np.lexsort((ind, dist), axis=-1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(ind, order, axis=1)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_radius(value):
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ValueError(f"radius must be a non-negative number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"radius must be finite, got {value!r}")
    # distances are integers: d <= r  <=>  d <= floor(r)
    return int(np.floor(value))


class HammingNeighbors(TransformerMixin, BaseEstimator):
    """Exact k-nearest-neighbour search in Hamming space over packed codes.

    Brute force with Cython popcount kernels: every query is compared with
    every database code (no approximation), the GIL is released and queries
    are spread over OpenMP threads. Results are ordered by Hamming distance,
    ties broken by the smaller database index, so they are identical to a
    brute-force reference and deterministic whatever the thread count.

    The interface is that of :class:`sklearn.neighbors.NearestNeighbors`;
    ``predict`` returns neighbour indices and ``score`` their recall, so a
    :class:`~sklearn.pipeline.Pipeline` of a hasher and this estimator can be
    scored and tuned by :class:`~sklearn.model_selection.GridSearchCV`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by ``kneighbors``, ``predict`` and
        ``kneighbors_graph`` unless given in the call.
    radius : float, default=None
        Default Hamming radius (inclusive) of ``radius_neighbors``.
    n_jobs : int, default=None
        Number of OpenMP threads, with the semantics of scikit-learn's
        OpenMP-based estimators: ``None`` uses every available core, as
        limited by ``OMP_NUM_THREADS`` or :mod:`threadpoolctl`; negative
        values count back from the number of cores (``-1`` all, ``-2`` all
        but one).

    Attributes
    ----------
    codes_ : ndarray of shape (n_samples_fit, n_bytes), dtype uint8
        The database codes, C-contiguous.
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Code width in bytes.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The float-space interface copied here.
    LSH : A hasher producing codes for this index.

    Notes
    -----
    Codes follow the package's layout: bit ``i`` in byte ``i // 8`` at
    position ``i % 8`` (faiss's binary layout); the distance is the popcount
    of the XOR of two codes, padding bits being zero. Memory beyond the
    outputs is one distance row per thread, ``4 * n_samples_fit`` bytes;
    no ``(n_queries, n_samples_fit)`` matrix is ever formed.

    Top-k selection is a counting sort over the integer distances: one
    histogram gives the k-th smallest distance, one ordered scan places the
    winners, so the cost per query is linear in ``n_samples_fit``.

    References
    ----------
    .. [1] M. Norouzi, A. Punjani, D. J. Fleet, "Fast search in Hamming
       space with multi-index hashing", CVPR 2012 (exact Hamming k-NN).
    .. [2] J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search
       with GPUs", IEEE Trans. Big Data 2019 (``faiss.IndexBinaryFlat``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import HammingNeighbors, pack_bits
    >>> codes = pack_bits([[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    >>> nn = HammingNeighbors(n_neighbors=2).fit(codes)
    >>> distances, indices = nn.kneighbors(pack_bits([[1, 1, 0, 0]]))
    >>> distances
    array([[1, 2]], dtype=int32)
    >>> indices
    array([[1, 0]])
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
    }

    def __init__(self, n_neighbors=5, *, radius=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Index the database codes.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_bytes), dtype uint8
            Packed database codes.
        y : None
            Ignored (accepted so a Pipeline can pass its ``y``).

        Returns
        -------
        self : HammingNeighbors
            The fitted index.
        """
        self.codes_ = check_codes(self, X, reset=True)
        self.n_samples_fit_ = self.codes_.shape[0]
        return self

    # -- helpers ---------------------------------------------------------------
    def _queries(self, X):
        """Query codes and the offset of the self-exclusion rule (X=None)."""
        if not hasattr(self, "codes_"):  # cheaper than check_is_fitted per call
            check_is_fitted(self)
        if X is None:
            return self.codes_, 0
        if self._is_ready_codes(X):
            return X, -1
        return check_codes(self, X, reset=False), -1

    def _is_ready_codes(self, X):
        """Fast path for the common call: a C-contiguous uint8 ndarray of the
        fitted width (what validate_data would return unchanged). It keeps the
        per-call overhead small for one-query-per-call use."""
        return (
            type(X) is np.ndarray
            and X.dtype == np.uint8
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        )

    def _n_threads(self, n_queries):
        return max(1, min(_openmp_effective_n_threads(self.n_jobs), n_queries))

    def _scratch(self, queries, n_threads=None):
        """One chunk of distances per thread (the kernels' only working memory)."""
        n_threads = n_threads or self._n_threads(queries.shape[0])
        chunk = _kernels.chunk_rows(queries.shape[1])
        return np.empty((n_threads, 2 * chunk), dtype=np.int32)

    def _kneighbors_codes(self, queries, k, self_offset):
        """Run the k-NN kernel on validated codes; returns (distances, indices)."""
        n_q, n_threads = queries.shape[0], self._n_threads_for_db()
        split = (n_threads > 1 and n_q < _SPLIT_DATABASE_BELOW * n_threads
                 and self.codes_.nbytes >= _SPLIT_MIN_BYTES)
        if split:
            # too few queries to keep every thread busy: split the database instead
            part_dist = np.empty((n_threads, n_q, k), dtype=np.int32)
            part_ind = np.empty((n_threads, n_q, k), dtype=np.int64)
            _kernels.hamming_kneighbors_split(
                queries, self.codes_, part_dist, part_ind, self_offset,
                self._scratch(queries, n_threads),
            )
            return _merge_sorted_parts(part_dist, part_ind, k)
        distances = np.empty((n_q, k), dtype=np.int32)
        indices = np.empty((n_q, k), dtype=np.int64)
        query_block = max(1, min(_QUERY_BLOCK, -(-n_q // n_threads)))
        # never start more threads than there are blocks: an idle thread
        # still has to join, which costs milliseconds on a busy machine
        n_threads = min(n_threads, -(-n_q // query_block))
        _kernels.hamming_kneighbors(
            queries, self.codes_, distances, indices, self_offset, query_block,
            self._scratch(queries, n_threads),
        )
        return distances, indices

    def _n_threads_for_db(self):
        """Threads worth starting: no more than there are database rows."""
        return max(1, min(_openmp_effective_n_threads(self.n_jobs), self.n_samples_fit_))

    # -- k-NN ----------------------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest database codes of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes. ``None`` queries the database codes themselves, each
            one excluded from its own result (scikit-learn's rule).
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype int32
            Hamming distances, ascending. Only if ``return_distance``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database indices, ordered by (distance, index).
        """
        queries, self_offset = self._queries(X)
        k = _check_positive_int(
            self.n_neighbors if n_neighbors is None else n_neighbors, "n_neighbors"
        )
        available = self.n_samples_fit_ - (self_offset >= 0)
        if k > available:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit{' - 1 (X=None excludes each point)' if X is None else ''}, "
                f"but n_neighbors = {k}, n_samples_fit = {self.n_samples_fit_}"
            )
        distances, indices = self._kneighbors_codes(queries, k, self_offset)
        return (distances, indices) if return_distance else indices

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Sparse graph of the k nearest neighbours of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes; ``None`` means the database, without self-loops.
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's value.
        mode : {'connectivity', 'distance'}, default='connectivity'
            Edge values: ones, or Hamming distances (explicit zeros kept).

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Row ``i`` holds the neighbours of query ``i`` in (distance, index)
            order, as float64.
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(f"mode must be 'connectivity' or 'distance', got {mode!r}")
        distances, indices = self.kneighbors(X, n_neighbors)
        n_q, k = indices.shape
        data = np.ones(n_q * k) if mode == "connectivity" else distances.ravel().astype(np.float64)
        return sparse.csr_matrix(
            (data, indices.ravel(), np.arange(0, n_q * k + 1, k)),
            shape=(n_q, self.n_samples_fit_),
        )

    # -- radius ----------------------------------------------------------------------
    def _radius_search(self, X, radius):
        queries, self_offset = self._queries(X)
        r = _check_radius(self.radius if radius is None else radius) if (
            radius is not None or self.radius is not None
        ) else None
        if r is None:
            raise ValueError("radius must be given, in the call or in the constructor")
        r = min(r, 8 * queries.shape[1])
        blocks = [self._radius_block(queries[start:start + _RADIUS_QUERY_BLOCK], r,
                                     self_offset + start if self_offset >= 0 else -1)
                  for start in range(0, queries.shape[0], _RADIUS_QUERY_BLOCK)]
        counts = np.concatenate([np.diff(b[2]) for b in blocks])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        distances = np.concatenate([b[0] for b in blocks])
        indices = np.concatenate([b[1] for b in blocks])
        return distances, indices, offsets

    def _radius_block(self, queries, r, self_offset):
        """Radius search of one block of queries: (distances, indices, offsets)."""
        scratch = self._scratch(queries)
        hist = np.zeros((queries.shape[0], r + 1), dtype=np.int64)
        _kernels.hamming_radius_histogram(queries, self.codes_, self_offset, hist, scratch)
        # positions[i, d]: first output slot of query i's codes at distance d
        positions = np.zeros(hist.size + 1, dtype=np.int64)
        np.cumsum(hist.ravel(), out=positions[1:])
        offsets = positions[:: r + 1].copy()
        positions = positions[:-1].reshape(hist.shape).copy()
        distances = np.empty(offsets[-1], dtype=np.int32)
        indices = np.empty(offsets[-1], dtype=np.int64)
        _kernels.hamming_radius_fill(
            queries, self.codes_, self_offset, positions, distances, indices, scratch
        )
        return distances, indices, offsets

    def radius_neighbors(self, X=None, radius=None, return_distance=True):
        """Find every database code within a Hamming radius of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes; ``None`` means the database, each point excluded.
        radius : float, default=None
            Inclusive radius (``distance <= radius``); defaults to the
            constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            One int32 array per query. Only if ``return_distance``.
        indices : ndarray of shape (n_queries,), dtype object
            One int64 array per query, ordered by (distance, index).
        """
        distances, indices, offsets = self._radius_search(X, radius)
        ind = np.empty(len(offsets) - 1, dtype=object)
        ind[:] = np.split(indices, offsets[1:-1])
        if not return_distance:
            return ind
        dist = np.empty(len(offsets) - 1, dtype=object)
        dist[:] = np.split(distances, offsets[1:-1])
        return dist, ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity"):
        """Sparse graph of the neighbours within a Hamming radius.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes; ``None`` means the database, without self-loops.
        radius : float, default=None
            Inclusive radius; defaults to the constructor's value.
        mode : {'connectivity', 'distance'}, default='connectivity'
            Edge values: ones, or Hamming distances (explicit zeros kept).

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Edges as float64, each row in (distance, index) order.
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(f"mode must be 'connectivity' or 'distance', got {mode!r}")
        distances, indices, offsets = self._radius_search(X, radius)
        data = np.ones(len(indices)) if mode == "connectivity" else distances.astype(np.float64)
        return sparse.csr_matrix(
            (data, indices, offsets), shape=(len(offsets) - 1, self.n_samples_fit_)
        )

    # -- transformer / predictor / scorer -------------------------------------------
    def transform(self, X):
        """Sparse k-NN distance graph, as :class:`~sklearn.neighbors.KNeighborsTransformer`.

        As there, one extra neighbour is computed (``n_neighbors + 1``) since
        a query that is also in the database is its own nearest neighbour,
        so the graph can feed estimators with ``metric="precomputed"``.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8
            Query codes.

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Hamming distances as float64, explicit zeros kept.
        """
        check_is_fitted(self)
        return self.kneighbors_graph(X, mode="distance", n_neighbors=self.n_neighbors + 1)

    def fit_transform(self, X, y=None):
        """Index X and return its k-NN distance graph (see ``transform``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_bytes), dtype uint8
            Packed database codes.
        y : None
            Ignored.

        Returns
        -------
        graph : sparse matrix of shape (n_samples, n_samples), CSR
            Hamming distances as float64, self-loops included with distance 0.
        """
        return self.fit(X).transform(X)

    def predict(self, X):
        """Return indices of the ``n_neighbors`` nearest database codes per query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8
            Query codes.

        Returns
        -------
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Ordered by (distance, index).
        """
        return self.kneighbors(X, return_distance=False)

    def score(self, X, y, sample_weight=None):
        """Recall of the retrieved neighbours against ground-truth indices.

        With ``k = n_neighbors`` and ``y`` holding true neighbour indices in
        the database (nearest first): if ``y`` has at least k columns, the
        k-recall@k (:func:`~sklearn_hash.metrics.recall_at_k`); if it has one
        column (or is 1-D), the 1-recall@k
        (:func:`~sklearn_hash.metrics.one_recall_at_r` with R = k).

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8
            Query codes.
        y : array-like of shape (n_queries,) or (n_queries, n_true)
            Ground-truth neighbour indices.
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
            Recall in [0, 1].
        """
        from ..metrics import one_recall_at_r, recall_at_k

        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by HammingNeighbors.score")
        retrieved = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 1 or y.shape[1] == 1:
            return one_recall_at_r(y, retrieved, r=retrieved.shape[1])
        if y.shape[1] < retrieved.shape[1]:
            raise ValueError(
                f"y must have 1 column (1-recall@k) or at least n_neighbors={retrieved.shape[1]} "
                f"columns (recall@k), got {y.shape[1]}"
            )
        return recall_at_k(y, retrieved, k=retrieved.shape[1])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = []
        return tags
