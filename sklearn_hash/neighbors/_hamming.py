"""Exact Hamming and Tanimoto (Jaccard) k-NN over packed binary codes."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import N_JOBS_CONSTRAINT
from .._compat import Interval, StrOptions, _fit_context
from ._dispatcher import HammingSearch, build_tables
from ._graph import check_graph_mode, kneighbors_graph, neighbors_graph
from ._tanimoto import TanimotoIndex, TanimotoSearch, _layout_request


def check_codes(estimator, X, *, reset, name="X"):
    """Validate packed codes: uint8, 2-D, C-contiguous, at least one row.

    HammingNeighbors is strict, as faiss's binary indexes are: anything but
    uint8 (floats, ints, bools, sparse) is a TypeError naming the parameter.
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{name} must be a dense uint8 array of packed codes, got a sparse matrix"
        )
    X = validate_data(
        estimator, X, reset=reset, dtype=None, order="C", ensure_all_finite=False
    )
    if X.dtype != np.uint8:
        raise TypeError(
            f"{name} must be packed binary codes of dtype uint8 with shape "
            f"(n_samples, ceil(nbits / 8)), got dtype {X.dtype}. Encode float vectors "
            "with a hasher (e.g. sklearn_hash.LSH) or pack bits with "
            "sklearn_hash.pack_bits."
        )
    return X


def _split_rows(values, offsets):
    """One array (a view) per query, as an object array; slicing is several
    times faster than np.split, which dominated fast radius searches."""
    bounds = offsets.tolist()
    rows = np.empty(len(bounds) - 1, dtype=object)
    rows[:] = [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return rows


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_n_neighbors(n_neighbors, default, n_samples_fit, exclude_self):
    """``n_neighbors`` (``default`` when None) as a positive int no larger than
    the database, less one when each query excludes itself (X=None)."""
    k = _check_positive_int(
        default if n_neighbors is None else n_neighbors, "n_neighbors"
    )
    if k > n_samples_fit - exclude_self:
        excluded = " - 1 (X=None excludes each point)" if exclude_self else ""
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit{excluded}, "
            f"but n_neighbors = {k}, n_samples_fit = {n_samples_fit}"
        )
    return k


def _check_radius(value, metric="hamming"):
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ValueError(f"radius must be a non-negative number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"radius must be finite, got {value!r}")
    if metric == "jaccard":
        return float(value)
    # distances are integers: d <= r  <=>  d <= floor(r)
    return int(np.floor(value))


# the engines each metric can use ("auto" chooses among them)
_ALGORITHMS = {
    "hamming": ("auto", "brute", "mih"),
    "jaccard": ("auto", "brute", "bitbound"),
}


class HammingNeighbors(TransformerMixin, BaseEstimator):
    r"""Exact k-nearest-neighbour search over packed codes: Hamming or Tanimoto.

    Two exact engines: a brute-force scan with Cython popcount kernels, and
    multi-index hashing [1]_, which probes hash tables of code substrings and
    verifies only the codes it finds. Whatever the engine, results are
    ordered by Hamming distance, ties broken by the smaller database index,
    so they are identical to a brute-force reference and deterministic
    whatever the thread count. The GIL is released and queries are spread
    over OpenMP threads.

    With ``metric="jaccard"`` the codes are fingerprints (sets of bits) and
    the distance is the Jaccard distance ``1 - |a & b| / |a | b|``, one
    minus the Tanimoto similarity used to search chemical fingerprints; the
    engines are then a scan and BitBound [3]_ (see Notes).

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
        Default radius (inclusive) of ``radius_neighbors``: a number of bits
        for ``"hamming"``, a Jaccard distance for ``"jaccard"`` (``0.3`` keeps
        Tanimoto similarities of at least 0.7).
    metric : {'hamming', 'jaccard'}, default='hamming'
        ``"hamming"``: the number of differing bits (int32 distances).
        ``"jaccard"``: ``1 - c / u`` with ``c = |a & b|`` and ``u = |a | b|``
        (float64 distances, computed as ``(u - c) / u`` as scikit-learn's
        ``"jaccard"`` metric on the bits); two fingerprints with no bit set are
        at distance 0, as there.
    algorithm : {'auto', 'brute', 'mih', 'bitbound'}, default='auto'
        Search engine. ``'brute'`` scans every code. ``'bitbound'``
        (``"jaccard"`` only) orders the database by popcount at fit and reads
        only the popcounts that can reach the radius or the k-th best;
        ``"auto"`` takes it for ``"jaccard"``, as it never reads more codes
        than the scan. ``'mih'`` (``"hamming"`` only) probes the
        multi-index hash tables built by ``fit`` for every query. ``'auto'``
        builds the tables when the database has at least 16,384 codes,
        times a scan at fit, and decides per call by measuring: it times the
        probing of a sample of the queries (one in 32) and hashes the batch
        only if that took clearly less time than a scan, any query that
        would cost more than two scans being scanned instead; batches of
        fewer than 32 queries take the engine chosen at fit for the default
        ``n_neighbors`` and ``radius``. Results are identical with every
        choice.
    n_tables : int, default=None
        Number of hash tables (substrings) m for ``'mih'`` and ``'auto'``
        (``"hamming"`` only; ignored for ``"jaccard"``).
        ``None`` takes ``ceil(b / log2(n_samples))`` for ``b`` bits, as [1]_
        recommends ``b / log2(n)``, within ``[ceil(b / 32), b]`` (substrings
        of at most 32 bits).
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
    n_tables_ : int
        Number of hash tables built; 0 when none were (``'brute'``, or
        ``'auto'`` on a small database).
    index_nbytes_ : int
        Memory of the index beside the codes, in bytes: the hash tables
        (``"hamming"``; 0 when none were built), or the int32 popcounts and,
        for BitBound, the int64 popcount order and the popcount-ordered copy
        of the codes (``"jaccard"``).

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The float-space interface copied here.
    LSH : A hasher producing codes for this index.

    Notes
    -----
    Codes follow the package's layout: bit ``i`` in byte ``i // 8`` at
    position ``i % 8`` (faiss's binary layout); the distance is the popcount
    of the XOR of two codes, padding bits being zero. No
    ``(n_queries, n_samples_fit)`` matrix is ever formed.

    **Scan.** Queries are taken in blocks of 32 that read the database
    once, chunk by cache-sized chunk. Each query keeps its best k (distance,
    index) pairs on one stack per distance (a bounded max-heap when k >
    4096); as the scan visits indices in increasing order, a code enters
    only if its distance is strictly below the k-th best's, a test
    vectorised over the chunk so that rejected codes cost almost nothing,
    and the worst pair, the top of the highest stack, leaves in O(1).
    Where the CPU's fastest kernel for the code width gains from it (AVX-512,
    for multiples of 64 bits from 128, as measured at the first search), a full block
    first rearranges each chunk into blocks of eight codes, word-major, so
    that eight distances accumulate in one register without a per-code sum.
    With fewer than four queries per thread, the threads split the database
    instead and their lists are merged. Radius search counts the codes at
    each distance, then writes each one at its final (distance, index)
    position (a counting sort).

    **Multi-index hashing** [1]_. The :math:`b` bits are cut into :math:`m`
    disjoint substrings of :math:`\lfloor b/m \rfloor` or
    :math:`\lceil b/m \rceil` bits; table :math:`t` lists the codes of each
    value of substring :math:`t` (bucket offsets addressed directly by the
    value, or by binary search in the sorted distinct values for long
    substrings, plus the code ids: about :math:`4 m n` bytes). The search
    probes, at :math:`s = 0, 1, \dots` and for each table :math:`t` in turn,
    the buckets of every value at distance exactly :math:`s` from the
    query's substring. By the pigeonhole principle, a code not yet found
    differs from the query by more than :math:`s` bits in tables
    :math:`0..t` and by at least :math:`s` in the others, so after step
    :math:`(s, t)` every code within :math:`d^* = m s + t` has been seen.
    Each candidate's full distance is computed (hardware popcount);
    k-NN stops once its k-th neighbour is within :math:`d^*`, radius search
    once :math:`d^*` reaches the radius. Candidates that pass the distance
    test are deduplicated with a bitmap. The method pays off when the
    neighbours are close: at small k or radius on codes of real data; on
    codes spread uniformly no table helps and ``'auto'`` scans. Measured
    timings are in the user guide and ``benchmarks/RESULTS.md``.

    **Tanimoto (Jaccard)**, ``metric="jaccard"``. With ``c = |q & b|``
    counted by one AND-popcount per word and the popcounts stored at fit,
    ``u = |q| + |b| - c``; the distance is ``1 - c / u`` (0 when ``u = 0``,
    scikit-learn's convention for two empty fingerprints). Rankings compare
    the exact rationals (``c1 u2`` against ``c2 u1`` in integers), ties by
    the smaller index; the distances returned are ``(u - c) / u`` in float64
    (scikit-learn's formula: ``1 - c / u`` would give 0.30000000000000004
    for 7/10, outside ``radius=0.3``), which keeps that order (distinct
    fractions of denominators up to :math:`2^{20}` differ by far more than a
    float64 rounding), and ``radius_neighbors`` keeps exactly the codes whose
    float64 distance is ``<= radius``. BitBound [3]_:
    ``c / u <= min(|q|, |b|) / max(|q|, |b|)``,
    so with the database ordered by popcount a radius search reads only the
    popcounts ``[t |q|, |q| / t]`` for ``t = 1 - radius``, and a k-NN search
    visits the database chunks outward from ``|q|``, skipping any whose bound
    is below the current k-th best (a chunk whose bound equals it is read:
    a code of equal similarity and smaller index would still enter). Queries
    go in blocks of up to 32 of similar popcount, each chunk read once per
    block. BitBound keeps a copy of the codes in popcount order (counted in
    ``index_nbytes_``), so that each popcount window is one contiguous run.
    The AND-popcount runs on the fastest of the CPU's paths (AVX-512
    VPOPCNTDQ, AVX2, POPCNT, portable), measured per code width at its first
    search; ``SKLEARN_HASH_TANIMOTO_PATH`` forces one. For sparse fingerprints
    (chemical ones set a few per cent of their bits) ``fit`` may also store
    each code's set bits (2 bytes a bit, in ``index_nbytes_``): a block of
    queries is then scored per code from them, 32 queries for the price of
    one, when timing both layouts on a sample of the database at ``fit`` says
    it is faster (and from how many queries a block; one query per call may
    stay on the dense kernel). The user guide gives the details and figures.

    References
    ----------
    .. [1] M. Norouzi, A. Punjani, D. J. Fleet, "Fast search in Hamming
       space with multi-index hashing", CVPR 2012; "Fast exact search in
       Hamming space with multi-index hashing", IEEE TPAMI 36(6), 2014.
    .. [2] J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search
       with GPUs", IEEE Trans. Big Data 2019 (``faiss.IndexBinaryFlat``).
    .. [3] S. J. Swamidass, P. Baldi, "Bounds and algorithms for fast exact
       searches of chemical fingerprints in linear and sublinear time",
       J. Chem. Inf. Model. 47(2), 2007.

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
    >>> mih = HammingNeighbors(n_neighbors=2, algorithm="mih").fit(codes)
    >>> mih.kneighbors(pack_bits([[1, 1, 0, 0]]), return_distance=False)
    array([[1, 0]])
    >>> tanimoto = HammingNeighbors(n_neighbors=2, metric="jaccard").fit(codes)
    >>> tanimoto.kneighbors(pack_bits([[1, 1, 0, 0]]))
    (array([[0.5, 0.5]]), array([[1, 2]]))
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left"), None],
        "metric": [StrOptions({"hamming", "jaccard"})],
        "algorithm": [StrOptions({"auto", "brute", "mih", "bitbound"})],
        "n_tables": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(
        self,
        n_neighbors=5,
        *,
        radius=None,
        metric="hamming",
        algorithm="auto",
        n_tables=None,
        n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.metric = metric
        self.algorithm = algorithm
        self.n_tables = n_tables
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Index the database codes (and build the hash tables if needed).

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
        if self.algorithm not in _ALGORITHMS[self.metric]:
            raise ValueError(
                f"algorithm={self.algorithm!r} does not apply to metric="
                f"{self.metric!r}; use one of {_ALGORITHMS[self.metric]}"
            )
        self.codes_ = check_codes(self, X, reset=True)
        self.n_samples_fit_ = self.codes_.shape[0]
        if self.metric == "jaccard":
            return self._fit_jaccard()
        self._tables = build_tables(self.codes_, self.algorithm, self.n_tables)
        self._fit_method = self.algorithm
        self.n_tables_ = 0 if self._tables is None else self._tables.n_tables
        self.index_nbytes_ = 0 if self._tables is None else self._tables.nbytes
        self._auto = self._calibrate_auto()
        return self

    def _fit_jaccard(self):
        self._tables = self._auto = None
        self._fit_method = "brute" if self.algorithm == "brute" else "bitbound"
        self._tanimoto = TanimotoIndex(
            self.codes_, self._fit_method == "bitbound", _layout_request()
        )
        self.n_tables_ = 0
        self.index_nbytes_ = self._tanimoto.nbytes
        return self

    def _calibrate_auto(self):
        """What "auto" measures once at fit: the scan's time per query, and
        the engine for small batches at the default k and radius."""
        if self._fit_method != "auto" or self._tables is None:
            return None
        k = self.n_neighbors if self.n_neighbors < self.n_samples_fit_ else None
        radius = None
        if self.radius is not None:
            radius = min(_check_radius(self.radius), 8 * self.codes_.shape[1])
        search = HammingSearch(self.codes_, self._tables, "auto", self.n_jobs)
        return search.calibrate(k, radius)

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

    def _search(self):
        """The engine dispatcher for one call (cheap: no copies)."""
        if self.metric == "jaccard":
            return TanimotoSearch(self._tanimoto, self.n_jobs)
        return HammingSearch(
            self.codes_,
            self._tables,
            self._fit_method,
            self.n_jobs,
            getattr(self, "_auto", None),
        )

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
        distances : ndarray of shape (n_queries, n_neighbors)
            Distances, ascending: int32 Hamming distances, or float64 Jaccard
            distances. Only if ``return_distance``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database indices, ordered by (distance, index).
        """
        queries, self_offset = self._queries(X)
        k = check_n_neighbors(
            n_neighbors, self.n_neighbors, self.n_samples_fit_, self_offset >= 0
        )
        distances, indices = self._search().kneighbors(queries, k, self_offset)
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
            Edge values: ones, or distances (explicit zeros kept).

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Row ``i`` holds the neighbours of query ``i`` in (distance, index)
            order, as float64.
        """
        check_graph_mode(mode)
        distances, indices = self.kneighbors(X, n_neighbors)
        return kneighbors_graph(distances, indices, self.n_samples_fit_, mode)

    # -- radius ----------------------------------------------------------------------
    def _radius_search(self, X, radius):
        queries, self_offset = self._queries(X)
        r = (
            _check_radius(self.radius if radius is None else radius, self.metric)
            if (radius is not None or self.radius is not None)
            else None
        )
        if r is None:
            raise ValueError("radius must be given, in the call or in the constructor")
        if self.metric == "hamming":
            r = min(r, 8 * queries.shape[1])
        return self._search().radius_neighbors(queries, r, self_offset)

    def radius_neighbors(
        self, X=None, radius=None, return_distance=True, sort_results=False
    ):
        """Find every database code within a radius of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes; ``None`` means the database, each point excluded.
        radius : float, default=None
            Inclusive radius (``distance <= radius``); defaults to the
            constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            Accepted for parity with
            :meth:`sklearn.neighbors.NearestNeighbors.radius_neighbors`:
            results are always sorted by (distance, index) here. As there,
            ``True`` requires ``return_distance=True``.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            One array per query (int32 Hamming or float64 Jaccard distances).
            Only if ``return_distance``.
        indices : ndarray of shape (n_queries,), dtype object
            One int64 array per query, ordered by (distance, index).
        """
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        distances, indices, offsets = self._radius_search(X, radius)
        ind = _split_rows(indices, offsets)
        if not return_distance:
            return ind
        return _split_rows(distances, offsets), ind

    def radius_neighbors_graph(
        self, X=None, radius=None, mode="connectivity", sort_results=False
    ):
        """Sparse graph of the neighbours within a radius.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_bytes), dtype uint8, default=None
            Query codes; ``None`` means the database, without self-loops.
        radius : float, default=None
            Inclusive radius; defaults to the constructor's value.
        mode : {'connectivity', 'distance'}, default='connectivity'
            Edge values: ones, or distances (explicit zeros kept).
        sort_results : bool, default=False
            Accepted for parity with scikit-learn; rows are always in
            (distance, index) order.

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Edges as float64, each row in (distance, index) order.
        """
        check_graph_mode(mode)
        distances, indices, offsets = self._radius_search(X, radius)
        return neighbors_graph(distances, indices, offsets, self.n_samples_fit_, mode)

    # -- transformer / predictor / scorer -------------------------------------------
    def transform(self, X):
        """Sparse k-NN distance graph, as scikit-learn's ``KNeighborsTransformer``.

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
            Distances as float64, explicit zeros kept.
        """
        check_is_fitted(self)
        return self.kneighbors_graph(
            X, mode="distance", n_neighbors=self.n_neighbors + 1
        )

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
            Distances as float64, self-loops included with distance 0.
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
        from ..metrics._recall import neighbor_recall

        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by HammingNeighbors.score")
        return neighbor_recall(y, self.predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = []
        return tags
