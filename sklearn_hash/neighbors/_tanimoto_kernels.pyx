# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Tanimoto (Jaccard) kernels over packed fingerprints.

No estimator logic: typed memoryviews in, outputs filled, GIL released,
query blocks split across OpenMP threads. The scans, the exact rational
ordering and the BitBound walk are in ``_tanimoto.h``; this module prepares
per-thread scratch and gathers the results.

A query block (up to 32 queries, ordered by popcount by the caller so that
their popcount windows overlap) reads each database chunk once while it is
in cache. ``codes`` are the database codes in scan order (for BitBound a
copy ordered by popcount) and ``order`` maps scan positions to database
indices (None: the same).
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport free

import numpy as np

cdef extern from "_tanimoto.h" nogil:
    ctypedef struct st_db_t:
        const uint8_t *codes
        const int64_t *order
        const int32_t *pop
        int64_t n
        int64_t nb
        const uint16_t *pos
        const int64_t *start
    ctypedef struct st_item_t:
        int32_t c
        int32_t u
        int64_t idx
    ctypedef struct st_hit_t:
        double d
        int64_t idx
    int ST_QUERY_BLOCK
    int st_path_index(int64_t nb)
    const char *st_path_name(int p)
    int st_find_path(const char *name)
    int st_path_available(const char *name)
    int st_set_path(const char *name)
    const char *st_forced_path()
    double st_width_ns(int64_t nb, const char *name)
    void st_reset_choices()
    int st_self_test_path(int p)
    int st_cpu_has(int p)
    void st_init_usable()
    void st_row(int p, const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                int32_t *out)
    int st_sparse_index()
    const char *st_sparse_name(int q)
    int64_t ST_SPARSE_SCRATCH(int64_t nb, int64_t chunk)
    void st_knn_block(int p, int sp, int sparse_min, const st_db_t *db,
                      const uint8_t *const *queries,
                      const int32_t *qpop, const int64_t *qself, int nq, int64_t k,
                      st_item_t *heaps, int use_bounds, int64_t chunk, int32_t *counts,
                      uint8_t *scratch)
    int st_radius_block(int p, int sp, int sparse_min, const st_db_t *db,
                        const uint8_t *const *queries,
                        const int32_t *qpop, const int64_t *qself, const int64_t *lo,
                        const int64_t *hi, int nq, double radius, st_hit_t **hits,
                        int64_t *len, int64_t *cap, int64_t chunk, int32_t *counts,
                        uint8_t *scratch)

PATHS = ("avx512", "avx2", "popcnt", "builtin", "generic")

cdef enum:
    CHUNK_BYTES = 131072
    HEAP_ITEMS = 262144  # heap items a block may hold: fewer queries per block at large k


cdef inline int64_t _chunk_codes(int64_t nb) noexcept nogil:
    """Database codes per chunk: about 128 KB (L2-resident), at least 16."""
    return max(16, CHUNK_BYTES // max(nb, 1))


def query_block(int64_t k):
    """Queries per block for k neighbours (fewer when the heaps would be large)."""
    return int(max(1, min(ST_QUERY_BLOCK, HEAP_ITEMS // max(k, 1))))


def tanimoto_path(int64_t n_bytes):
    """Path used for ``n_bytes`` codes (measured now at the width's first use)."""
    if n_bytes < 1:
        raise ValueError(f"n_bytes must be a positive int, got {n_bytes!r}")
    return st_path_name(st_path_index(n_bytes)).decode()


def tanimoto_path_timings(int64_t n_bytes):
    """ns per code of each usable path as measured for ``n_bytes`` codes."""
    out = {}
    for name in PATHS:
        ns = st_width_ns(n_bytes, name.encode())
        if ns > 0:
            out[name] = ns
    return out


def tanimoto_path_available(str name):
    """Whether path ``name`` exists in this build, on this CPU, and passed
    the self-test."""
    return bool(st_path_available(name.encode()))


def set_tanimoto_path(str name):
    """Force a path for every width (``"auto"``: measured per width)."""
    if not st_set_path(name.encode()):
        raise ValueError(f"Tanimoto path {name!r} is not available on this build/CPU")
    return st_forced_path().decode()


def forced_tanimoto_path():
    """The forced path, or ``"auto"``."""
    return st_forced_path().decode()


def _self_test(str name):
    """Whether path ``name`` agrees with the SWAR loop (False where it is not
    in this build or not on this CPU)."""
    cdef int p = st_find_path(name.encode())
    return p >= 0 and bool(st_cpu_has(p)) and bool(st_self_test_path(p))


def _reset_choices():
    """Forget the per-width choices (measured again on next use)."""
    st_reset_choices()


def _path_counts(str name, const uint8_t[:, ::1] queries, const uint8_t[:, ::1] database):
    """Test helper: ``|q & b|`` for every pair with path ``name``."""
    cdef int64_t i, n_db = database.shape[0], nb = database.shape[1]
    cdef int p = st_find_path(name.encode())
    if p < 0 or not st_path_available(name.encode()):
        raise ValueError(f"Tanimoto path {name!r} is not available on this build/CPU")
    if queries.shape[1] != nb:
        raise ValueError("queries and database differ in width")
    cdef int32_t[:, ::1] out = np.zeros((queries.shape[0], n_db), dtype=np.int32)
    if n_db:
        for i in range(queries.shape[0]):
            st_row(p, &queries[i, 0], &database[0, 0], n_db, nb, &out[i, 0])
    return np.asarray(out)


def popcounts(const uint8_t[:, ::1] codes):
    """Popcount of each code, int32 (``|b & all-ones|`` on the measured path)."""
    cdef int64_t n = codes.shape[0], nb = codes.shape[1]
    cdef int32_t[::1] out = np.zeros(n, dtype=np.int32)
    cdef const uint8_t[::1] ones = np.full(max(nb, 1), 0xFF, dtype=np.uint8)
    cdef int p
    if n and nb:
        p = st_path_index(nb)
        with nogil:
            st_row(p, &ones[0], &codes[0, 0], n, nb, &out[0])
    return np.asarray(out)


def sparse_variant():
    """The sparse scan variant this CPU runs (``""`` if none passed its
    self-test)."""
    return st_sparse_name(st_sparse_index()).decode()


MAX_SPARSE_BITS = 65536  # bit positions are stored as uint16


def sparse_layout(const uint8_t[:, ::1] codes, const int32_t[::1] pop):
    """The set bits of each code, as CSR: positions (uint16) of code j in
    ``pos[start[j]:start[j + 1]]``, in increasing order."""
    cdef int64_t n = codes.shape[0], nb = codes.shape[1], j, b, m = 0
    cdef unsigned v
    if 8 * nb > MAX_SPARSE_BITS:
        raise ValueError(f"the sparse layout holds at most {MAX_SPARSE_BITS} bits")
    start_arr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(pop, out=start_arr[1:])
    pos_arr = np.empty(start_arr[n], dtype=np.uint16)
    cdef uint16_t[::1] pos = pos_arr
    with nogil:
        for j in range(n):
            for b in range(nb):
                v = codes[j, b]
                while v:
                    pos[m] = <uint16_t>(8 * b + _ctz(v))
                    m += 1
                    v &= v - 1
    return pos_arr, start_arr


cdef inline int _ctz(unsigned v) noexcept nogil:
    cdef int n = 0
    while not (v & 1u):
        v >>= 1
        n += 1
    return n


cdef st_db_t _database(const uint8_t[:, ::1] codes, const int64_t[::1] order,
                       const int32_t[::1] pop, const uint16_t[::1] pos,
                       const int64_t[::1] start):
    cdef st_db_t db
    db.codes = &codes[0, 0]
    db.order = NULL if order is None else &order[0]
    db.pop = &pop[0]
    db.n = codes.shape[0]
    db.nb = codes.shape[1]
    db.pos = NULL
    db.start = NULL
    if start is not None:
        db.start = &start[0]
        db.pos = &pos[0] if pos.shape[0] else <const uint16_t *>db.start
    return db


def kneighbors(const uint8_t[:, ::1] codes, const int64_t[::1] order, const int32_t[::1] pop,
               const uint16_t[::1] pos, const int64_t[::1] start,
               const uint8_t[:, ::1] queries, const int32_t[::1] qpop,
               const int64_t[::1] qself, const int64_t[::1] qorder, int64_t k,
               bint use_bounds, int n_threads, int sparse_min_queries=1):
    """Best k codes of each query by Tanimoto similarity.

    ``codes`` are in scan order, ``order`` maps scan positions to database
    indices (None: the same) and ``pop`` holds the popcount at each scan
    position (ascending if ``use_bounds``); ``pos`` / ``start`` the sparse
    layout (None: dense scans only; blocks of fewer than
    ``sparse_min_queries`` queries run dense); ``qself`` is each query's own
    database index or -1;
    queries are processed in blocks in the order ``qorder``. Returns int32
    arrays ``(c, u)`` (``u = 0`` never: 0 / 0 comes back as 1 / 1) and the
    int64 indices, each (n_queries, k), rows best first, ties by index.
    """
    cdef int64_t n_q = queries.shape[0], nb = codes.shape[1], n_db = codes.shape[0]
    cdef int64_t block = query_block(k), rows = _chunk_codes(nb)
    cdef int64_t n_blocks = (n_q + block - 1) // block
    cdef int64_t b, i, j, q, t
    cdef int nq, p
    if queries.shape[1] != nb or pop.shape[0] != n_db or qpop.shape[0] != n_q:
        raise ValueError("inconsistent shapes")
    if not 1 <= k <= n_db:
        raise ValueError(f"k={k} must be in [1, {n_db}]")
    c_out = np.empty((n_q, k), dtype=np.int32)
    u_out = np.empty((n_q, k), dtype=np.int32)
    i_out = np.empty((n_q, k), dtype=np.int64)
    if n_q == 0:
        return c_out, u_out, i_out
    cdef int32_t[:, ::1] cv = c_out, uv = u_out
    cdef int64_t[:, ::1] iv = i_out
    cdef int32_t[:, ::1] counts = np.empty((n_threads, rows), dtype=np.int32)
    # heap items of one block, as raw bytes (16 bytes an item)
    cdef uint8_t[:, ::1] heaps = np.empty((n_threads, block * k * sizeof(st_item_t)),
                                          dtype=np.uint8)
    cdef int64_t[:, ::1] qptr = np.empty((n_threads, 3 * block), dtype=np.int64)
    cdef int32_t[:, ::1] qpops = np.empty((n_threads, block), dtype=np.int32)
    cdef st_db_t db = _database(codes, order, pop, pos, start)
    cdef int sp = -1 if start is None else st_sparse_index()
    cdef uint8_t[:, ::1] scratch = np.empty(
        (n_threads, ST_SPARSE_SCRATCH(nb, rows) if sp >= 0 else 1), dtype=np.uint8)
    cdef st_item_t *h
    cdef const uint8_t **qrows
    p = st_path_index(nb)  # measured here, before the threads start
    with nogil:
        for b in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
            t = threadid()
            nq = <int>min(block, n_q - b * block)
            qrows = <const uint8_t **>&qptr[t, 0]
            for i in range(nq):
                q = qorder[b * block + i]
                qrows[i] = &queries[q, 0]
                qptr[t, block + i] = qself[q]
                qpops[t, i] = qpop[q]
            h = <st_item_t *>&heaps[t, 0]
            st_knn_block(p, sp, sparse_min_queries, &db, qrows, &qpops[t, 0], &qptr[t, block], nq, k, h,
                         use_bounds, rows, &counts[t, 0], &scratch[t, 0])
            for i in range(nq):
                q = qorder[b * block + i]
                for j in range(k):
                    cv[q, j] = h[i * k + j].c
                    uv[q, j] = h[i * k + j].u
                    iv[q, j] = h[i * k + j].idx
    return c_out, u_out, i_out


def radius_neighbors(const uint8_t[:, ::1] codes, const int64_t[::1] order,
                     const int32_t[::1] pop, const uint16_t[::1] pos,
                     const int64_t[::1] start, const uint8_t[:, ::1] queries,
                     const int32_t[::1] qpop, const int64_t[::1] qself,
                     const int64_t[::1] qorder, const int64_t[::1] lo, const int64_t[::1] hi,
                     double radius, int n_threads, int sparse_min_queries=1):
    """Codes at Tanimoto distance <= radius of each query, within the scan
    positions ``[lo[q], hi[q])``. Returns float64 distances, int64 indices
    (each query's run sorted by (distance, index)) and int64 offsets."""
    cdef int64_t n_q = queries.shape[0], nb = codes.shape[1], n_db = codes.shape[0]
    cdef int64_t block = ST_QUERY_BLOCK, rows = _chunk_codes(nb)
    cdef int64_t n_blocks = (n_q + block - 1) // block
    cdef int64_t b, i, q, t, m, at
    cdef int nq, p, failed = 0
    if queries.shape[1] != nb or pop.shape[0] != n_db or qpop.shape[0] != n_q:
        raise ValueError("inconsistent shapes")
    offsets = np.zeros(n_q + 1, dtype=np.int64)
    if n_q == 0 or n_db == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), offsets
    # per query: its hits (a malloc'd array, freed below) and their number
    cdef int64_t[::1] hit_ptr = np.zeros(n_q, dtype=np.int64)
    cdef int64_t[::1] hit_len = np.zeros(n_q, dtype=np.int64)
    cdef int32_t[:, ::1] counts = np.empty((n_threads, rows), dtype=np.int32)
    # per thread and block query: row pointer, hits pointer, own index, lo, hi,
    # number of hits, capacity
    cdef int64_t[:, ::1] info = np.empty((n_threads, 7 * block), dtype=np.int64)
    cdef int32_t[:, ::1] qpops = np.empty((n_threads, block), dtype=np.int32)
    cdef st_db_t db = _database(codes, order, pop, pos, start)
    cdef int sp = -1 if start is None else st_sparse_index()
    cdef uint8_t[:, ::1] scratch = np.empty(
        (n_threads, ST_SPARSE_SCRATCH(nb, rows) if sp >= 0 else 1), dtype=np.uint8)
    cdef const uint8_t **qrows
    cdef st_hit_t **hits
    cdef st_hit_t *run
    cdef double[::1] dv
    cdef int64_t[::1] iv
    p = st_path_index(nb)
    try:
        with nogil:
            for b in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
                t = threadid()
                nq = <int>min(block, n_q - b * block)
                qrows = <const uint8_t **>&info[t, 0]
                hits = <st_hit_t **>&info[t, block]
                for i in range(nq):
                    q = qorder[b * block + i]
                    qrows[i] = &queries[q, 0]
                    hits[i] = NULL
                    info[t, 2 * block + i] = qself[q]
                    info[t, 3 * block + i] = lo[q]
                    info[t, 4 * block + i] = hi[q]
                    info[t, 5 * block + i] = 0
                    info[t, 6 * block + i] = 0
                    qpops[t, i] = qpop[q]
                if not st_radius_block(p, sp, sparse_min_queries, &db, qrows, &qpops[t, 0],
                                       &info[t, 2 * block], &info[t, 3 * block],
                                       &info[t, 4 * block], nq, radius, hits,
                                       &info[t, 5 * block], &info[t, 6 * block],
                                       rows, &counts[t, 0], &scratch[t, 0]):
                    failed = 1
                for i in range(nq):
                    q = qorder[b * block + i]
                    hit_ptr[q] = <int64_t>hits[i]
                    hit_len[q] = info[t, 5 * block + i]
        if failed:
            raise MemoryError("out of memory in a Tanimoto radius search")
        offsets[1:] = np.cumsum(hit_len)
        distances = np.empty(offsets[n_q], dtype=np.float64)
        indices = np.empty(offsets[n_q], dtype=np.int64)
        dv = distances
        iv = indices
        at = 0
        for q in range(n_q):
            run = <st_hit_t *>hit_ptr[q]
            for m in range(hit_len[q]):
                dv[at] = run[m].d
                iv[at] = run[m].idx
                at += 1
        return distances, indices, offsets
    finally:
        for q in range(n_q):
            free(<void *>hit_ptr[q])
