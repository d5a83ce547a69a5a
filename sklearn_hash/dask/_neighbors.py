"""Sharded exact Hamming k-NN and radius search on a dask.distributed cluster."""

import glob
from numbers import Integral, Real

import dask.array as da
import numpy as np
from dask import delayed
from distributed import default_client, wait
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._base import N_JOBS_CONSTRAINT
from .._compat import Interval, _fit_context
from ..neighbors import HammingNeighbors
from ..neighbors._graph import check_graph_mode, kneighbors_graph, neighbors_graph

# partial results merged per task of the reduction tree (as dask's split_every)
_MERGE_FAN_IN = 8
# NumPy queries are searched in blocks of this many rows: bounds the memory of
# each search and merge task (a shard's answer for a block is rows x k pairs)
_QUERY_BLOCK_ROWS = 16384


class _Shard:
    """A fitted HammingNeighbors over database rows [offset, offset + n_rows),
    and those codes (the same array: queries of ``X=None`` searches).

    ``__sizeof__`` counts the codes: dask measures results with ``sizeof``, and
    without it the scheduler would see a few bytes and could move a shard to
    its queries instead of running the query task where the shard lives.
    """

    def __init__(self, index, codes, offset, n_rows, nbytes):
        self.index = index
        self.codes = codes
        self.offset = offset
        self.n_rows = n_rows
        self.nbytes = nbytes

    def __sizeof__(self):
        return object.__sizeof__(self) + self.nbytes


def _build_shard(codes, offset, n_jobs):
    codes = np.ascontiguousarray(codes)
    index = HammingNeighbors(n_jobs=n_jobs).fit(codes)
    return _Shard(index, codes, offset, codes.shape[0], codes.nbytes)


def _shard_codes(shard):
    return shard.codes


def _load_npy(path):
    return np.load(path)


# -- per-shard searches and their merges (run on the workers) -------------------
def _shard_kneighbors(shard, queries, k, own=False):
    """Top-min(k, shard size) of one shard, with global database indices.

    ``own``: the queries are the shard's own codes, each excluded from its
    own result (HammingNeighbors' ``X=None`` rule).
    """
    k = min(k, shard.n_rows - own)
    if queries.shape[0] == 0 or k == 0:
        n_queries = queries.shape[0]
        return np.empty((n_queries, k), np.int32), np.empty((n_queries, k), np.int64)
    distances, indices = shard.index.kneighbors(None if own else queries, k)
    return distances, indices + shard.offset


def _merge_kneighbors(k, *parts):
    """Global top-k of per-shard top-k lists, ordered by (distance, index)."""
    distances = np.concatenate([p[0] for p in parts], axis=1)
    indices = np.concatenate([p[1] for p in parts], axis=1)
    order = np.lexsort((indices, distances), axis=-1)[:, :k]
    return (
        np.take_along_axis(distances, order, axis=1),
        np.take_along_axis(indices, order, axis=1),
    )


def _shard_radius(shard, queries, radius, own=False):
    """Neighbours of one shard within radius as flat (query, distance, index)."""
    if queries.shape[0] == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.astype(np.int32), empty
    # the CSR graph keeps explicit zeros and the (distance, index) order per row
    graph = shard.index.radius_neighbors_graph(
        None if own else queries, radius, mode="distance"
    )
    query = np.repeat(np.arange(queries.shape[0]), np.diff(graph.indptr))
    return (
        query,
        graph.data.astype(np.int32),
        graph.indices.astype(np.int64) + shard.offset,
    )


def _merge_radius(*parts):
    """Concatenate flat radius results, sorted by (query, distance, index)."""
    query, distances, indices = (np.concatenate(p) for p in zip(*parts))
    order = np.lexsort((indices, distances, query))
    return query[order], distances[order], indices[order]


def _tree_reduce(parts, merge):
    """Merge partial results _MERGE_FAN_IN at a time until one is left."""
    while len(parts) > 1:
        parts = [
            merge(*parts[i : i + _MERGE_FAN_IN])
            for i in range(0, len(parts), _MERGE_FAN_IN)
        ]
    return parts[0]


def _radius_to_csr(flat, n_queries):
    """(query, distance, index) sorted by query -> (distances, indices, indptr)."""
    query, distances, indices = flat
    indptr = np.zeros(n_queries + 1, dtype=np.int64)
    np.cumsum(np.bincount(query, minlength=n_queries), out=indptr[1:])
    return distances, indices, indptr


def _split_ragged(values, indptr):
    out = np.empty(len(indptr) - 1, dtype=object)
    out[:] = np.split(values, indptr[1:-1])
    return out


def _concatenate_objects(arrays):
    """Concatenate 1-D object arrays of arrays (np.concatenate may stack them)."""
    out = np.empty(sum(len(a) for a in arrays), dtype=object)
    out[:] = [item for a in arrays for item in a]
    return out


def _radius_block_arrays(flat, n_queries):
    """One query block's result as (distances, indices) object arrays."""
    distances, indices, indptr = _radius_to_csr(flat, n_queries)
    return _split_ragged(distances, indptr), _split_ragged(indices, indptr)


# -- client-side input handling ---------------------------------------------------
def _client():
    try:
        return default_client()
    except ValueError:
        raise ValueError(
            "DaskHammingNeighbors needs a dask.distributed Client: start one "
            "before calling fit, e.g. `Client(LocalCluster())` or "
            "`Client('scheduler-address:8786')`"
        ) from None


def _check_code_dtype(dtype, name):
    if dtype != np.uint8:
        raise TypeError(
            f"{name} must be packed binary codes of dtype uint8 with shape "
            f"(n_samples, ceil(nbits / 8)), got dtype {dtype}. Encode float "
            "vectors with a hasher (sklearn_hash.dask.transform does it blockwise)."
        )


def _npy_shards(pattern):
    """A dask array with one row chunk per .npy file matching the pattern."""
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise ValueError(f"X: no file matches the pattern {pattern!r}")
    chunks = []
    for path in paths:
        header = np.load(path, mmap_mode="r")  # reads the header only
        _check_code_dtype(header.dtype, f"X (file {path})")
        chunks.append(
            da.from_delayed(
                delayed(_load_npy, pure=True)(path),
                shape=header.shape,
                dtype=header.dtype,
            )
        )
    return _concatenate_rows(chunks)


def _concatenate_rows(arrays):
    widths = {a.shape[1:] for a in arrays}
    if any(a.ndim != 2 for a in arrays) or len(widths) != 1:
        raise ValueError(
            "X: every shard must be 2-D with the same number of bytes per code, "
            f"got shapes {[a.shape for a in arrays]}"
        )
    return da.concatenate(arrays, axis=0)


def _as_dask_codes(X):
    """Database codes as a dask array whose row chunks are the shards."""
    if isinstance(X, str):
        X = _npy_shards(X)
    elif isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("X: the list of shards is empty")
        X = _concatenate_rows(
            [
                a if isinstance(a, da.Array) else da.from_array(np.asarray(a), -1)
                for a in X
            ]
        )
    elif not isinstance(X, da.Array):
        raise TypeError(
            "X must be a dask array of packed codes, a list of arrays (one per "
            "shard) or a glob pattern of .npy files, got "
            f"{type(X).__name__}; use HammingNeighbors for an in-memory array"
        )
    _check_code_dtype(X.dtype, "X")
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"X must be 2-D with at least one byte per code: {X.shape}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X has chunks of unknown size; call X.compute_chunk_sizes() first"
        )
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one code, got 0 rows")
    return X.rechunk({1: -1})


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class DaskHammingNeighbors(BaseEstimator):
    """Exact Hamming k-NN over codes sharded across a dask.distributed cluster.

    ``fit`` builds one :class:`~sklearn_hash.HammingNeighbors` per row chunk
    of the database on the workers and keeps them there (as futures; the
    codes are never gathered to the client). ``kneighbors`` sends the queries
    to every shard, each returns its own top-k with global database indices,
    and the partial lists are merged by (distance, index) in a tree
    reduction. The result is exactly what one ``HammingNeighbors`` over the
    concatenated codes returns, ties included.

    A :class:`distributed.Client` must be active (the default client) when
    ``fit`` is called; the queries run on the client the shards were built
    with.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by ``kneighbors`` and
        ``kneighbors_graph`` unless given in the call.
    radius : float, default=None
        Default Hamming radius (inclusive) of ``radius_neighbors``.
    n_jobs : int, default=None
        OpenMP threads of each shard's search, on its worker (the ``n_jobs``
        of :class:`~sklearn_hash.HammingNeighbors`). ``None`` follows the
        worker's ``OMP_NUM_THREADS``, which dask's nanny sets to 1 by default
        (config ``distributed.nanny.pre-spawn-environ``), so a worker with
        several threads runs several shard tasks at once instead.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Bytes per code.
    shards_ : list of distributed.Future
        One fitted shard per non-empty row chunk, in database order, held in
        worker memory.
    shard_offsets_ : ndarray of shape (n_shards + 1,), dtype int64
        Shard ``s`` holds database rows ``shard_offsets_[s]`` to
        ``shard_offsets_[s + 1] - 1``.

    See Also
    --------
    sklearn_hash.HammingNeighbors : The same search in one process.
    transform : Encode a dask array of vectors blockwise.

    Notes
    -----
    **Merge.** Each shard returns its ``min(k, shard size)`` best codes sorted
    by (distance, index), its local indices shifted by the shard's offset, so
    the global top-k is contained in the union of the partial lists; a merge
    task sorts the union of up to 8 lists by (distance, index) and keeps k.
    The tie rule of :class:`~sklearn_hash.HammingNeighbors` (smaller database
    index first) therefore holds across shard boundaries. The merge costs
    O(k x n_shards) per query, against O(n_samples_fit) for the search.

    **Faults.** A shard is a task result, so dask keeps its lineage: if a
    worker dies, the scheduler rebuilds the shards it held from their source
    (it re-reads the chunk, i.e. re-runs the dask array's graph, re-loads the
    ``.npy`` file, or takes the in-memory array again from the task graph,
    which the scheduler keeps) and re-fits them, and a query waits for them.
    A query never merges fewer shards than were fitted: a shard that cannot be
    rebuilt makes the call raise. Codes passed as NumPy arrays (a list, or
    the queries) are held in the task graph, i.e. in the scheduler's memory;
    for large data pass dask arrays read from storage or ``.npy`` files.

    ``X=None`` searches the database for itself, each code excluded from its
    own result (scikit-learn's rule), as lazy dask arrays chunked by shard:
    every shard's codes are sent to every other shard (n_shards squared
    tasks, plus the merges). A fitted estimator holds futures of its client
    and cannot be pickled usefully; an unfitted one clones and pickles as
    usual.

    References
    ----------
    .. [1] M. Rocklin, "Dask: Parallel Computation with Blocked algorithms and
       Task Scheduling", Proceedings of the 14th Python in Science
       Conference, 2015.
    .. [2] J. Dean and S. Ghemawat, "MapReduce: Simplified Data Processing on
       Large Clusters", OSDI 2004 (the per-shard top-k with a merge is the
       combiner pattern described there).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from sklearn_hash import HammingNeighbors
    >>> from sklearn_hash.dask import DaskHammingNeighbors
    >>> rng = np.random.default_rng(0)
    >>> codes = rng.integers(0, 256, size=(1000, 8), dtype=np.uint8)
    >>> queries = codes[:5]
    >>> with LocalCluster(n_workers=1, processes=False,
    ...                   dashboard_address=":0") as cluster, Client(cluster):
    ...     nn = DaskHammingNeighbors(n_neighbors=3)
    ...     dist, ind = nn.fit(da.from_array(codes, chunks=300)).kneighbors(queries)
    >>> ref = HammingNeighbors(n_neighbors=3).fit(codes).kneighbors(queries)
    >>> bool((ind == ref[1]).all() and (dist == ref[0]).all())
    True
    >>> ind[:, 0]
    array([0, 1, 2, 3, 4])
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left"), None],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(self, n_neighbors=5, *, radius=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build one HammingNeighbors per row chunk of X on the workers.

        Parameters
        ----------
        X : dask array, list of arrays, or str
            Packed uint8 database codes of shape (n_samples, n_bytes): a dask
            array (each row chunk becomes a shard), a list of NumPy or dask
            arrays (concatenated in order, each chunk a shard), or a glob
            pattern of ``.npy`` files (sorted by name, one shard per file,
            read by the workers, so the path must be visible to them).
        y : None
            Ignored.

        Returns
        -------
        self : DaskHammingNeighbors
            The fitted index; blocks until every shard is built.
        """
        client = _client()
        X = _as_dask_codes(X)
        sizes = np.asarray(X.chunks[0], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        shards = [
            delayed(_build_shard, pure=True)(block, int(start), self.n_jobs)
            for block, start, size in zip(X.to_delayed()[:, 0], starts, sizes)
            if size > 0
        ]
        self.shards_ = client.compute(shards)
        wait(self.shards_)
        for future in self.shards_:
            if future.status == "error":
                future.result()  # raises the worker's exception here
        self.shard_offsets_ = np.append(starts[:-1][sizes > 0], starts[-1])
        self.n_samples_fit_ = int(starts[-1])
        self.n_features_in_ = int(X.shape[1])
        return self

    # -- queries -----------------------------------------------------------------
    def _query_blocks(self, X):
        """Validated queries as (delayed blocks, block sizes, is_dask, self_search).

        ``X=None`` (``self_search``): block ``b`` is the codes of shard ``b``,
        and the result is lazy, as for a dask array of queries.
        """
        check_is_fitted(self)
        if X is None:
            blocks = [delayed(_shard_codes)(shard) for shard in self.shards_]
            return blocks, np.diff(self.shard_offsets_).tolist(), True, True
        is_dask = isinstance(X, da.Array)
        if not is_dask:
            X = np.asarray(X)
        _check_code_dtype(X.dtype, "X")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X must have shape (n_queries, {self.n_features_in_}) to match "
                f"the fitted codes, got {X.shape}"
            )
        if not is_dask:
            if X.shape[0] == 0:
                raise ValueError("X must hold at least one query, got 0 rows")
            starts = range(0, X.shape[0], _QUERY_BLOCK_ROWS)
            blocks = [X[start : start + _QUERY_BLOCK_ROWS] for start in starts]
            return (
                [delayed(np.ascontiguousarray(b), pure=True) for b in blocks],
                [b.shape[0] for b in blocks],
                False,
                False,
            )
        X = X.rechunk({1: -1})
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                "X has chunks of unknown size; call X.compute_chunk_sizes() first"
            )
        return list(X.to_delayed()[:, 0]), list(X.chunks[0]), True, False

    def _compute(self, results):
        """Compute delayed results on the shards' client, gathering only them."""
        return self.shards_[0].client.compute(results, sync=True)

    def _searches(self, X, search, *args):
        """Per query block, the delayed searches of every shard."""
        blocks, sizes, is_dask, self_search = self._query_blocks(X)
        search = delayed(search)
        parts = [
            [
                search(shard, block, *args, self_search and b == s)
                for s, shard in enumerate(self.shards_)
            ]
            for b, block in enumerate(blocks)
        ]
        return parts, sizes, is_dask

    def _kneighbors_delayed(self, X, k):
        parts, sizes, is_dask = self._searches(X, _shard_kneighbors, k)
        merge = delayed(_merge_kneighbors)
        merged = [_tree_reduce(p, lambda *parts: merge(k, *parts)) for p in parts]
        return merged, sizes, is_dask

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest database codes of each query, across all shards.

        Parameters
        ----------
        X : ndarray or dask array of shape (n_queries, n_bytes), dtype uint8, \
                default=None
            Query codes. A NumPy array is searched now; a dask array gives
            lazy dask arrays chunked by its row chunks. ``None`` queries the
            database codes themselves, each excluded from its own result
            (lazy, chunked by shard).
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray or dask array of shape (n_queries, n_neighbors)
            Hamming distances (int32), ascending. Only if ``return_distance``.
        indices : ndarray or dask array of shape (n_queries, n_neighbors)
            Global database indices (int64), ordered by (distance, index).
        """
        k = _check_positive_int(
            self.n_neighbors if n_neighbors is None else n_neighbors, "n_neighbors"
        )
        check_is_fitted(self)
        if k > self.n_samples_fit_ - (X is None):
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit"
                f"{' - 1 (X=None excludes each point)' if X is None else ''}, "
                f"but n_neighbors = {k}, n_samples_fit = {self.n_samples_fit_}"
            )
        merged, sizes, is_dask = self._kneighbors_delayed(X, k)
        if is_dask:
            distances, indices = (
                da.concatenate(
                    [
                        da.from_delayed(m[part], shape=(n, k), dtype=dtype)
                        for m, n in zip(merged, sizes)
                    ]
                )
                for part, dtype in ((0, np.int32), (1, np.int64))
            )
        else:
            distances, indices = map(np.concatenate, zip(*self._compute(merged)))
        return (distances, indices) if return_distance else indices

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Sparse graph of the k nearest neighbours of each query.

        Parameters
        ----------
        X : ndarray or dask array of shape (n_queries, n_bytes), dtype uint8, \
                default=None
            Query codes; a dask array is computed (the graph is in memory).
            ``None`` means the database, without self-loops.
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
        check_graph_mode(mode)
        distances, indices = self.kneighbors(X, n_neighbors)
        if isinstance(indices, da.Array):
            distances, indices = self._compute([distances, indices])
        return kneighbors_graph(distances, indices, self.n_samples_fit_, mode)

    def _radius_delayed(self, X, radius):
        radius = self.radius if radius is None else radius
        if radius is None:
            raise ValueError("radius must be given, in the call or in the constructor")
        if isinstance(radius, bool) or not isinstance(radius, Real) or radius < 0:
            raise ValueError(f"radius must be a non-negative number, got {radius!r}")
        parts, sizes, is_dask = self._searches(X, _shard_radius, radius)
        merge = delayed(_merge_radius)
        return [_tree_reduce(p, merge) for p in parts], sizes, is_dask

    def radius_neighbors(self, X=None, radius=None, return_distance=True):
        """Find every database code within a Hamming radius, across all shards.

        Parameters
        ----------
        X : ndarray or dask array of shape (n_queries, n_bytes), dtype uint8, \
                default=None
            Query codes. A dask array gives lazy object-dtype dask arrays
            chunked by its row chunks. ``None`` queries the database codes
            themselves, each excluded (lazy, chunked by shard).
        radius : float, default=None
            Inclusive radius (``distance <= radius``); defaults to the
            constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray or dask array of shape (n_queries,), dtype object
            One int32 array per query. Only if ``return_distance``.
        indices : ndarray or dask array of shape (n_queries,), dtype object
            One int64 array per query of global database indices, ordered by
            (distance, index).
        """
        merged, sizes, is_dask = self._radius_delayed(X, radius)
        to_arrays = delayed(_radius_block_arrays)
        if is_dask:
            blocks = [to_arrays(m, n) for m, n in zip(merged, sizes)]
            distances, indices = (
                da.concatenate(
                    [
                        da.from_delayed(b[part], shape=(n,), dtype=object)
                        for b, n in zip(blocks, sizes)
                    ]
                )
                for part in (0, 1)
            )
        else:
            blocks = self._compute([to_arrays(m, n) for m, n in zip(merged, sizes)])
            distances, indices = map(_concatenate_objects, zip(*blocks))
        return (distances, indices) if return_distance else indices

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity"):
        """Sparse graph of the neighbours within a Hamming radius.

        Parameters
        ----------
        X : ndarray or dask array of shape (n_queries, n_bytes), dtype uint8, \
                default=None
            Query codes; a dask array is computed (the graph is in memory).
            ``None`` means the database, without self-loops.
        radius : float, default=None
            Inclusive radius; defaults to the constructor's value.
        mode : {'connectivity', 'distance'}, default='connectivity'
            Edge values: ones, or Hamming distances (explicit zeros kept).

        Returns
        -------
        graph : sparse matrix of shape (n_queries, n_samples_fit), CSR
            Edges as float64, each row in (distance, index) order.
        """
        check_graph_mode(mode)
        merged, sizes, _ = self._radius_delayed(X, radius)
        flat = self._compute(merged)
        distances, indices, indptr = _radius_to_csr(
            tuple(np.concatenate(p) for p in zip(*_shift_queries(flat, sizes))),
            sum(sizes),
        )
        return neighbors_graph(distances, indices, indptr, self.n_samples_fit_, mode)


def _shift_queries(flat_blocks, sizes):
    """Per-block (query, distance, index) with query ids made global."""
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return [(q + start, d, i) for (q, d, i), start in zip(flat_blocks, starts)]
