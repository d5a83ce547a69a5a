# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Multi-index hashing kernels (Norouzi, Punjani, Fleet, CVPR 2012).

Each code is cut into m disjoint substrings (bit ranges); table t maps the
value of substring t to the ids of the codes holding it, as CSR-style bucket
offsets + ids (a direct-address offset array, or sorted distinct keys with a
binary search when the substring is too long to address directly).

Search visits stages (s, t) in the order s = 0, 1, ... then t = 0 .. m-1,
probing in table t every key at Hamming distance exactly s from the query's
substring. After stage (s, t) every code within distance m * s + t of the
query has been seen: an unseen code differs by more than s bits in tables
0..t and by more than s - 1 bits in the others, so by at least m * s + t + 1
in total (pigeonhole). k-NN stops as soon as its k-th (distance, index) is
within that certified radius; radius search stops once it covers the radius.
Results are exact, ordered by (distance, index).

Candidates are verified with a hardware popcount (``_mih.h``); only those
that pass the distance bound are deduplicated, with a per-thread bitmap
cleared from a log of the ids marked. Each query may carry a work budget
(an estimate in scan-equivalent cost units): a query whose next stage would
exceed it stops and is reported as failed, for the caller to scan instead.
No estimator logic; GIL released, queries spread over OpenMP threads.
"""

import numpy as np

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memset

from ._heap cimport heap_greater, heap_init, heap_replace_top, heap_sort

cdef extern from "_mih.h" nogil:
    int64_t sh_mih_verify(const uint8_t *q, const uint8_t *codes, int64_t nb,
                          const uint32_t *ids, int64_t n, int32_t bound,
                          int32_t *out_d, uint32_t *out_id)
    const char *sh_mih_init(int use_fast)
    void sh_mih_prefetch(const void *p)
    int sh_mih_popcount32(uint32_t x)

cdef enum:
    VERIFY_BLOCK = 1024  # candidates gathered (codes prefetched), then verified
    MARK_LOG = 4096     # marked ids remembered for clearing; beyond, memset
    PROBE_BATCH = 16    # buckets looked up before their ids are gathered
    MAX_SUBSTRING = 32

# meta columns of a table
cdef enum:
    M_START = 0
    M_LENGTH = 1
    M_OFFSETS = 2
    M_KEYS = 3
    M_NKEYS = 4

cdef double BINOM[MAX_SUBSTRING + 1][MAX_SUBSTRING + 1]


cdef void _fill_binomials() noexcept:
    """Pascal's triangle: BINOM[a][b] keys at distance b in an a-bit substring."""
    cdef int a, b
    for b in range(MAX_SUBSTRING + 1):
        BINOM[0][b] = 0.0
    BINOM[0][0] = 1.0
    for a in range(1, MAX_SUBSTRING + 1):
        BINOM[a][0] = 1.0
        for b in range(1, MAX_SUBSTRING + 1):
            BINOM[a][b] = BINOM[a - 1][b - 1] + BINOM[a - 1][b]


_fill_binomials()


def set_verify_path(bint fast):
    """Use the hardware popcount (``True``) or the portable SWAR loop; returns
    the name of the path now in use."""
    return sh_mih_init(fast).decode()


VERIFY_PATH = set_verify_path(True)


cdef struct Tables:
    const uint8_t *codes
    int64_t n
    int64_t nb
    const uint32_t *ids      # (m, n): table t's ids at ids + t * n
    const uint32_t *offsets
    const uint32_t *keys
    const int64_t *meta      # (m, 5)
    int64_t m
    int64_t max_length
    double probe_cost
    double cand_cost


cdef struct Query:
    const uint8_t *q
    uint32_t *qkeys          # the query's substring in each table
    int64_t self_index
    uint8_t *marks           # bitmap of ids taken (cleared after the query)
    uint32_t *log
    int64_t n_log
    uint32_t *gather         # candidate ids gathered from buckets
    int64_t n_gather
    int32_t *vd              # verification results
    uint32_t *vid
    double work
    double budget
    # k-NN heap (kept in the output row) or radius result buffer
    int32_t *hd
    int64_t *hi
    int64_t k
    int32_t radius
    uint64_t *found
    int64_t n_found
    int64_t cap_found
    bint failed


cdef inline uint32_t _substring(const uint8_t *code, int64_t start,
                                int64_t length) noexcept nogil:
    """Bits [start, start + length) of a code (bit i in byte i // 8, position i % 8)."""
    cdef int64_t first = start >> 3, t
    cdef int64_t shift = start & 7
    cdef int64_t n_bytes = (shift + length + 7) >> 3
    cdef uint64_t v = 0
    for t in range(n_bytes):
        v = v | ((<uint64_t>code[first + t]) << (8 * t))
    return <uint32_t>((v >> shift) & ((<uint64_t>1 << length) - 1))


cdef inline void _bucket(const Tables *T, int64_t t, uint32_t key,
                         int64_t *lo, int64_t *hi) noexcept nogil:
    cdef const int64_t *meta = T.meta + 5 * t
    cdef int64_t base = meta[M_OFFSETS], n_keys = meta[M_NKEYS]
    cdef const uint32_t *keys
    cdef int64_t a, b, mid
    if n_keys < 0:  # direct address
        lo[0] = T.offsets[base + key]
        hi[0] = T.offsets[base + key + 1]
        return
    keys = T.keys + meta[M_KEYS]
    a = 0
    b = n_keys
    while a < b:
        mid = (a + b) >> 1
        if keys[mid] < key:
            a = mid + 1
        else:
            b = mid
    if a < n_keys and keys[a] == key:
        lo[0] = T.offsets[base + a]
        hi[0] = T.offsets[base + a + 1]
    else:
        lo[0] = 0
        hi[0] = 0


cdef inline bint _mark(Query *Q, uint32_t j) noexcept nogil:
    """Mark id j taken; False if it already was."""
    cdef uint8_t bit = <uint8_t>(1 << (j & 7))
    if Q.marks[j >> 3] & bit:
        return False
    Q.marks[j >> 3] |= bit
    if Q.n_log < MARK_LOG:
        Q.log[Q.n_log] = j
    Q.n_log += 1
    return True


cdef inline void _clear_marks(Query *Q, int64_t n) noexcept nogil:
    cdef int64_t m
    if Q.n_log > MARK_LOG:
        memset(Q.marks, 0, (n + 7) >> 3)
    else:
        for m in range(Q.n_log):
            Q.marks[Q.log[m] >> 3] = 0
    Q.n_log = 0


cdef inline bint _append(Query *Q, int32_t d, uint32_t j) noexcept nogil:
    """Append a radius result as a (distance, index) sort key; False if out of memory."""
    cdef uint64_t *grown
    if Q.n_found == Q.cap_found:
        grown = <uint64_t *>realloc(Q.found, 2 * Q.cap_found * sizeof(uint64_t))
        if grown == NULL:
            return False
        Q.found = grown
        Q.cap_found = 2 * Q.cap_found
    Q.found[Q.n_found] = ((<uint64_t>d) << 32) | j
    Q.n_found += 1
    return True


cdef void _flush(const Tables *T, Query *Q) noexcept nogil:
    """Verify the gathered candidates; offer the survivors to the heap / result list."""
    cdef int64_t n_pass, m
    cdef int32_t d
    cdef int32_t bound = Q.hd[0] if Q.k > 0 else Q.radius
    cdef uint32_t j
    n_pass = sh_mih_verify(Q.q, T.codes, T.nb, Q.gather, Q.n_gather, bound, Q.vd, Q.vid)
    Q.n_gather = 0
    for m in range(n_pass):
        d = Q.vd[m]
        j = Q.vid[m]
        if j == Q.self_index:
            continue
        if Q.k > 0:
            # an id evicted from the heap can never pass this test again
            # (the top only decreases), so a marked id here is in the heap
            if heap_greater(Q.hd[0], Q.hi[0], d, j) and _mark(Q, j):
                heap_replace_top(Q.hd, Q.hi, Q.k, d, j)
        elif _mark(Q, j) and not _append(Q, d, j):
            Q.failed = True
            return


cdef inline int64_t _n_entries(const Tables *T, int64_t t) noexcept nogil:
    """Keys a table can hold: 2**length (direct address) or its distinct keys."""
    cdef int64_t n_keys = T.meta[5 * t + M_NKEYS]
    return (<int64_t>1) << T.meta[5 * t + M_LENGTH] if n_keys < 0 else n_keys


cdef inline double _stage_cost(const Tables *T, int64_t t, int64_t s) noexcept nogil:
    """Expected work of stage (s, t): its probes and their average bucket."""
    cdef int64_t length = T.meta[5 * t + M_LENGTH]
    cdef double n_probes = min(BINOM[length][s], <double>_n_entries(T, t))
    return n_probes * (T.probe_cost + T.cand_cost * T.n / <double>((<uint64_t>1) << length))


cdef inline bint _visit(const Tables *T, Query *Q, int64_t t, int64_t lo,
                        int64_t hi) noexcept nogil:
    """Gather bucket [lo, hi) of table t, prefetching its codes; verify when
    the buffer is full. False when the query must stop."""
    cdef const uint32_t *ids = T.ids + t * T.n
    cdef int64_t j
    Q.work += T.probe_cost + T.cand_cost * (hi - lo)
    if Q.work > Q.budget:
        Q.failed = True
        return False
    for j in range(lo, hi):
        if Q.n_gather == VERIFY_BLOCK:
            _flush(T, Q)
            if Q.failed:
                return False
        sh_mih_prefetch(T.codes + <int64_t>ids[j] * T.nb)
        Q.gather[Q.n_gather] = ids[j]
        Q.n_gather += 1
    return True


cdef inline bint _visit_batch(const Tables *T, Query *Q, int64_t t, const int64_t *los,
                             const int64_t *his, int64_t n_batch) noexcept nogil:
    cdef int64_t b
    for b in range(n_batch):
        if not _visit(T, Q, t, los[b], his[b]):
            return False
    return True


cdef void _probe_stage(const Tables *T, Query *Q, int64_t t, int64_t s,
                       uint32_t qkey) noexcept nogil:
    """Visit in table t every bucket whose key is at distance exactly s from qkey.

    Keys are enumerated by flipping s bits (Gosper's hack gives the masks in
    increasing order), or, when there are more such keys than the table
    holds, by walking the table's keys.
    """
    cdef int64_t length = T.meta[5 * t + M_LENGTH], base = T.meta[5 * t + M_OFFSETS]
    cdef int64_t n_keys = T.meta[5 * t + M_NKEYS], n_entries = _n_entries(T, t), e
    cdef uint64_t mask, low, r, end = (<uint64_t>1) << length
    cdef int64_t los[PROBE_BATCH]
    cdef int64_t his[PROBE_BATCH]
    cdef int64_t n_batch = 0
    cdef uint32_t key
    if BINOM[length][s] > n_entries:
        for e in range(n_entries):
            key = <uint32_t>e if n_keys < 0 else T.keys[T.meta[5 * t + M_KEYS] + e]
            if sh_mih_popcount32(key ^ qkey) == s:
                if not _visit(T, Q, t, T.offsets[base + e], T.offsets[base + e + 1]):
                    return
    else:
        # look buckets up a batch at a time, prefetching their ids, so that
        # the random accesses of a batch overlap
        mask = ((<uint64_t>1) << s) - 1
        while mask < end:
            _bucket(T, t, qkey ^ <uint32_t>mask, &los[n_batch], &his[n_batch])
            sh_mih_prefetch(T.ids + t * T.n + los[n_batch])
            n_batch += 1
            if n_batch == PROBE_BATCH or s == 0:
                if not _visit_batch(T, Q, t, los, his, n_batch):
                    return
                n_batch = 0
            if s == 0:
                break
            low = mask & (~mask + 1)
            r = mask + low
            mask = (((r ^ mask) >> 2) // low) | r
        if not _visit_batch(T, Q, t, los, his, n_batch):
            return
    if Q.n_gather:
        _flush(T, Q)


cdef void _search(const Tables *T, Query *Q) noexcept nogil:
    """Run stages until the k-NN is certified / the radius is covered."""
    cdef int64_t s, t, length
    cdef int64_t m = T.m, nbits = 8 * T.nb
    cdef int64_t n_available = T.n - (Q.self_index >= 0)
    cdef uint32_t *qkeys = Q.qkeys
    for t in range(m):
        qkeys[t] = _substring(Q.q, T.meta[5 * t + M_START], T.meta[5 * t + M_LENGTH])
    for s in range(T.max_length + 1):
        for t in range(m):
            if Q.k == 0 and m * s + t > Q.radius:
                return
            length = T.meta[5 * t + M_LENGTH]
            if s <= length:
                if Q.work + _stage_cost(T, t, s) > Q.budget:
                    Q.failed = True
                    return
                _probe_stage(T, Q, t, s, qkeys[t])
                if Q.failed:
                    return
            # every code within m * s + t is now seen
            if m * s + t >= nbits:
                return
            if Q.k > 0 and (Q.n_log == n_available
                            or (Q.hi[0] != INT64_MAX and Q.hd[0] <= m * s + t)):
                return


cdef Tables _tables(const uint8_t[:, ::1] codes, const uint32_t[:, ::1] ids,
                    const uint32_t[::1] offsets, const uint32_t[::1] keys,
                    const int64_t[:, ::1] meta, double probe_cost, double cand_cost):
    cdef Tables T
    cdef int64_t t
    T.codes = &codes[0, 0]
    T.n = codes.shape[0]
    T.nb = codes.shape[1]
    T.ids = &ids[0, 0]
    T.offsets = &offsets[0]
    T.keys = &keys[0]
    T.meta = &meta[0, 0]
    T.m = meta.shape[0]
    T.max_length = 0
    for t in range(T.m):
        T.max_length = max(T.max_length, meta[t, M_LENGTH])
    T.probe_cost = probe_cost
    T.cand_cost = cand_cost
    return T


cdef Query *_query_new(const Tables *T, int64_t k, int32_t radius) noexcept nogil:
    """Per-thread state: bitmap, mark log, verification buffers; NULL if out of memory."""
    cdef Query *Q = <Query *>calloc(1, sizeof(Query))
    if Q == NULL:
        return NULL
    Q.marks = <uint8_t *>calloc((T.n + 7) >> 3, 1)
    Q.log = <uint32_t *>malloc(MARK_LOG * sizeof(uint32_t))
    Q.gather = <uint32_t *>malloc(VERIFY_BLOCK * sizeof(uint32_t))
    Q.vd = <int32_t *>malloc(VERIFY_BLOCK * sizeof(int32_t))
    Q.vid = <uint32_t *>malloc(VERIFY_BLOCK * sizeof(uint32_t))
    Q.qkeys = <uint32_t *>malloc(T.m * sizeof(uint32_t))
    Q.k = k
    Q.radius = radius
    if (Q.marks == NULL or Q.log == NULL or Q.gather == NULL or Q.vd == NULL
            or Q.vid == NULL or Q.qkeys == NULL):
        _query_free(Q)
        return NULL
    return Q


cdef void _query_free(Query *Q) noexcept nogil:
    if Q != NULL:
        free(Q.marks)
        free(Q.log)
        free(Q.gather)
        free(Q.vd)
        free(Q.vid)
        free(Q.qkeys)
        free(Q)


cdef inline void _query_start(Query *Q, const uint8_t *q, int64_t self_index,
                              double budget) noexcept nogil:
    Q.q = q
    Q.self_index = self_index
    Q.work = 0.0
    Q.n_gather = 0
    Q.budget = budget if budget > 0 else INFINITY
    Q.failed = False


def mih_kneighbors(const uint8_t[:, ::1] queries,
                   const uint8_t[:, ::1] codes,
                   const uint32_t[:, ::1] ids,
                   const uint32_t[::1] offsets,
                   const uint32_t[::1] keys,
                   const int64_t[:, ::1] meta,
                   int32_t[:, ::1] out_dist,
                   int64_t[:, ::1] out_ind,
                   double[::1] out_work,
                   uint8_t[::1] out_failed,
                   int64_t self_offset,
                   double budget,
                   double probe_cost,
                   double cand_cost,
                   int n_threads):
    """k nearest codes of every query by multi-index hashing.

    ``k`` is ``out_dist.shape[1]``; rows are sorted by (distance, index).
    When ``self_offset >= 0`` query ``i`` is database row ``self_offset + i``
    and is excluded. A query whose estimated work would exceed ``budget``
    (``<= 0``: no limit) stops: ``out_failed[i] = 1`` and its row is
    undefined. ``out_work[i]`` is the work spent, in the units of
    ``probe_cost`` (per bucket probed) and ``cand_cost`` (per candidate).
    """
    cdef Tables T = _tables(codes, ids, offsets, keys, meta, probe_cost, cand_cost)
    cdef int64_t n_q = queries.shape[0], k = out_dist.shape[1], i
    cdef Query *Q = NULL
    with nogil, parallel(num_threads=n_threads):
        Q = _query_new(&T, k, 0)
        for i in prange(n_q, schedule="dynamic"):
            if Q == NULL:
                out_failed[i] = True
                out_work[i] = 0.0
                continue
            _query_start(Q, &queries[i, 0],
                         self_offset + i if self_offset >= 0 else -1, budget)
            Q.hd = &out_dist[i, 0]
            Q.hi = &out_ind[i, 0]
            heap_init(Q.hd, Q.hi, k)
            _search(&T, Q)
            _clear_marks(Q, T.n)
            if not Q.failed:
                heap_sort(Q.hd, Q.hi, k)
            out_work[i] = Q.work
            out_failed[i] = Q.failed
        _query_free(Q)


cdef int _compare_u64(const void *a, const void *b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t *>a)[0], y = (<const uint64_t *>b)[0]
    return (x > y) - (x < y)


cdef void _radius_query(const Tables *T, Query *Q) noexcept nogil:
    """Collect the query's results into Q.found, sorted; none if it fails."""
    Q.cap_found = 64
    Q.n_found = 0
    Q.found = <uint64_t *>malloc(Q.cap_found * sizeof(uint64_t))
    if Q.found == NULL:
        Q.failed = True
        return
    _search(T, Q)
    _clear_marks(Q, T.n)
    if Q.failed:
        Q.n_found = 0
    else:
        qsort(Q.found, Q.n_found, sizeof(uint64_t), _compare_u64)


def mih_radius(const uint8_t[:, ::1] queries,
               const uint8_t[:, ::1] codes,
               const uint32_t[:, ::1] ids,
               const uint32_t[::1] offsets,
               const uint32_t[::1] keys,
               const int64_t[:, ::1] meta,
               int32_t radius,
               double[::1] out_work,
               uint8_t[::1] out_failed,
               int64_t self_offset,
               double budget,
               double probe_cost,
               double cand_cost,
               int n_threads):
    """Every code within ``radius`` of each query, by multi-index hashing.

    Returns ``(distances, indices, offsets)``: the results of query ``i`` are
    ``[offsets[i], offsets[i + 1])``, sorted by (distance, index). The output
    size is known only after the search, so this kernel allocates it: each
    query collects its results in its own buffer, then they are copied out.
    Failed queries (see ``mih_kneighbors``) have no results.
    """
    cdef Tables T = _tables(codes, ids, offsets, keys, meta, probe_cost, cand_cost)
    cdef int64_t n_q = queries.shape[0], i, total = 0, m
    cdef Query *Q = NULL
    cdef uint64_t **found = <uint64_t **>calloc(max(n_q, 1), sizeof(uint64_t *))
    cdef int64_t[::1] out_offsets = np.zeros(n_q + 1, dtype=np.int64)
    cdef int32_t[::1] out_dist
    cdef int64_t[::1] out_ind
    cdef uint64_t *f
    if found == NULL:
        raise MemoryError()
    with nogil, parallel(num_threads=n_threads):
        Q = _query_new(&T, 0, radius)
        for i in prange(n_q, schedule="dynamic"):
            if Q == NULL:
                out_failed[i] = True
                out_work[i] = 0.0
                continue
            _query_start(Q, &queries[i, 0],
                         self_offset + i if self_offset >= 0 else -1, budget)
            _radius_query(&T, Q)
            found[i] = Q.found
            out_offsets[i + 1] = Q.n_found
            out_work[i] = Q.work
            out_failed[i] = Q.failed
        _query_free(Q)
    for i in range(n_q):
        total += out_offsets[i + 1]
        out_offsets[i + 1] = total
    dist_array = np.empty(total, dtype=np.int32)
    ind_array = np.empty(total, dtype=np.int64)
    out_dist = dist_array
    out_ind = ind_array
    with nogil:
        for i in prange(n_q, num_threads=n_threads, schedule="static"):
            f = found[i]
            for m in range(out_offsets[i + 1] - out_offsets[i]):
                out_dist[out_offsets[i] + m] = <int32_t>(f[m] >> 32)
                out_ind[out_offsets[i] + m] = <int64_t>(f[m] & 0xFFFFFFFFu)
            free(f)
    free(found)
    return dist_array, ind_array, np.asarray(out_offsets)


def substring_keys(const uint8_t[:, ::1] codes, int64_t start, int64_t length,
                   uint32_t[::1] out):
    """Value of bits ``[start, start + length)`` of every code (``length <= 32``)."""
    cdef int64_t i
    with nogil:
        for i in range(codes.shape[0]):
            out[i] = _substring(&codes[i, 0], start, length)


def build_direct_table(const uint32_t[::1] keys, uint32_t[::1] offsets, uint32_t[::1] ids):
    """Counting sort of ids by key: ``offsets`` (zeroed, ``2**length + 1``)
    receives bucket bounds, ``ids`` the code ids bucket after bucket, in
    increasing order within a bucket. Two passes over the keys."""
    cdef int64_t i, n = keys.shape[0], n_buckets = offsets.shape[0] - 1
    with nogil:
        for i in range(n):
            offsets[keys[i] + 1] += 1
        for i in range(n_buckets):
            offsets[i + 1] += offsets[i]
        # offsets[key] is the write cursor; it ends at the next bucket's start
        for i in range(n):
            ids[offsets[keys[i]]] = <uint32_t>i
            offsets[keys[i]] += 1
        for i in range(n_buckets, 0, -1):
            offsets[i] = offsets[i - 1]
        offsets[0] = 0
