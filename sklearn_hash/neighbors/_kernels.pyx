# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Exact Hamming k-NN and radius kernels over packed uint8 codes.

No estimator logic: typed memoryviews in, preallocated outputs filled, GIL
released, queries split across OpenMP threads. Results are ordered by
(distance, database index), ties by the smaller index.

The database is read in cache-sized chunks; a block of queries reuses each
chunk while it is in cache. For k-NN each query keeps its best k (distance,
index) pairs on one stack per distance (a bounded max-heap for k above
STACKS_MAX_K); since the scan visits indices in increasing order, a
candidate enters only if its distance is strictly below the k-th best's,
which keeps the (distance, index) order exact with ties. That test is fused
into the distance loop (``sh_row_below``): only codes below the bound are
written out, so rejected codes cost nothing beyond their popcount. Radius
search counts codes per distance level, then places each at its final
(distance, index) position (a counting sort). Memory per thread is one chunk
of distances, one of candidate offsets and one of codes (a blocked layout).

The popcount path (``_popcount.h``) is chosen per code width and mode: the
first search of a width in a mode times every path that the CPU has and that
passed the self-test, and keeps the fastest (before the threads start). In
the "batch" mode (a block of BATCH_QUERIES queries or more per database
chunk) a path may rearrange each chunk once into a blocked layout that its
queries scan faster ("avx512 blocked"); the "single" mode (fewer queries,
and radius search) reads the chunks as stored. Forcing one path
(``set_popcount_path`` or ``SKLEARN_HASH_POPCOUNT_PATH``) applies it to
every width and mode.
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport INT32_MAX, INT64_MAX, int32_t, int64_t, uint8_t, uint64_t, uintptr_t
from libc.string cimport memset

from ._heap cimport heap_init, heap_replace_top, heap_sort

cdef extern from "_popcount.h" nogil:
    void sh_hamming_row(const uint8_t *q, const uint8_t *db, int64_t n,
                        int64_t nb, int32_t *out)
    int64_t sh_next_below(const int32_t *d, int64_t n, int32_t bound, int64_t start)
    int64_t sh_row_below(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                         int32_t bound, int32_t *dist, int32_t *cand)
    int sh_set_popcount_path(const char *name)
    int sh_path_available(const char *name)
    const char *sh_popcount_path()
    const char *sh_width_path(int64_t nb, int mode)
    const char *sh_width_how(int64_t nb, int mode)
    double sh_width_ns(int64_t nb, int mode, const char *name)
    int sh_path_passes_self_test(const char *name)
    void sh_enable_slow_path(int on)
    void sh_reset_choices()
    int sh_find_path(const char *name)
    int sh_path_blocks(int p, int64_t nb)
    int sh_scan_variant(int64_t nb, int64_t n_queries)
    int sh_scan_blocks(int v)
    void sh_scan_block(int v, const uint8_t *db, int64_t n, int64_t nb, uint64_t *out)
    int64_t sh_scan_below(int v, const uint8_t *q, const uint64_t *blocks, const uint8_t *db,
                          int64_t n, int64_t nb, int32_t bound, int32_t *dist, int32_t *cand)
    int SH_SLOT_MAX
    int SH_BATCH_MIN
    int SH_MODE_BATCH
    int SH_MODE_SINGLE

# "builtin" exists on aarch64, the x86 paths on x86-64 ("slow" is a test hook)
PATHS = ("avx512", "avx2", "popcnt", "builtin", "generic")
# "batch": a k-NN block of BATCH_QUERIES or more queries shares each database
# chunk; "single": fewer queries, and radius search
MODES = ("batch", "single")
BATCH_QUERIES = SH_BATCH_MIN


cdef int _mode(str mode) except -1:
    if mode == "batch":
        return SH_MODE_BATCH
    if mode == "single":
        return SH_MODE_SINGLE
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def _self_test(str name):
    """Whether path ``name`` agrees with the portable SWAR loop, plain, fused
    k-NN and blocked k-NN rows, on every width class it specialises (guards against a
    miscompiled or untested variant; a path that fails is never chosen)."""
    return bool(sh_path_passes_self_test(name.encode()))


def _select_best_path():
    """Return to the automatic choice: per code width, the fastest path."""
    sh_set_popcount_path(b"auto")
    return "auto"


def popcount_path(n_bytes=None, str mode="batch"):
    """Name of the popcount path in use.

    Without ``n_bytes``: the path forced for every width, or ``"auto"`` when
    each width uses the path measured fastest for it. With ``n_bytes``: the
    path that codes of that many bytes use in ``mode`` (measured now if that
    width has not been searched in that mode yet), with ``" blocked"`` when a
    batch rearranges each chunk for its queries (e.g. ``"avx512 blocked"``).
    """
    if n_bytes is None:
        return sh_popcount_path().decode()
    return sh_width_path(_check_width(n_bytes), _mode(mode)).decode()


def _check_width(n_bytes):
    if int(n_bytes) < 1:
        raise ValueError(f"n_bytes must be a positive int, got {n_bytes!r}")
    return int(n_bytes)


def popcount_path_available(str name):
    """Whether the popcount path ``name`` exists in this build on this CPU."""
    return bool(sh_path_available(name.encode()))


def set_popcount_path(str name):
    """Force a popcount path for every width ("best" or "auto": measured per width).

    The environment variable ``SKLEARN_HASH_POPCOUNT_PATH`` does the same at
    import time (e.g. ``generic`` to rule out a SIMD problem).

    Returns the path now in use; raises ValueError for an unavailable path.
    """
    if name in ("best", "auto"):
        return _select_best_path()
    if not sh_set_popcount_path(name.encode()):
        raise ValueError(f"popcount path {name!r} is not available on this build/CPU")
    return popcount_path()


def width_paths():
    """Path per code width and mode chosen so far, as
    ``{n_bytes: {mode: (path, how)}}``.

    ``how`` is ``"measured"`` (the fastest of the usable paths on a synthetic
    block), ``"only path"`` (nothing else passed the self-test) or
    ``"forced"``. Widths above 128 bytes share one choice, keyed ``">128"``,
    or ``">128 odd"`` for those that are not a multiple of 8 bytes.
    """
    out = {}
    wide = {SH_SLOT_MAX + 8: f">{SH_SLOT_MAX}", SH_SLOT_MAX + 1: f">{SH_SLOT_MAX} odd"}
    for nb in list(range(1, SH_SLOT_MAX + 1)) + list(wide):
        key = wide.get(nb, nb)
        for mode in MODES:
            how = sh_width_how(nb, _mode(mode)).decode()
            if how:
                out.setdefault(key, {})[mode] = (popcount_path(nb, mode), how)
    return out


def path_timings(n_bytes, str mode="batch"):
    """ns per distance of each usable path (and blocked variant) when
    ``n_bytes`` codes were measured in ``mode``.

    Empty until that width has been measured (or while a path is forced).
    """
    nb = _check_width(n_bytes)
    cdef int m = _mode(mode)
    out = {}
    for name in ("slow",) + PATHS:
        for variant in (name, name + " blocked"):
            ns = sh_width_ns(nb, m, variant.encode())
            if ns > 0:
                out[variant] = ns
    return out


def _enable_slow_path(bint on):
    """Test hook: add (or remove) a correct but deliberately slow path that
    comes first in the path table; every per-width choice is measured again."""
    sh_enable_slow_path(on)


def _reset_choices():
    """Forget the per-width choices: they are measured again on next use."""
    sh_reset_choices()


def path_blocks(str name, int64_t n_bytes):
    """Whether path ``name`` has a blocked layout for ``n_bytes`` codes."""
    cdef int p = sh_find_path(name.encode())
    return p >= 0 and bool(sh_path_blocks(p, n_bytes))


def _path_distances(str name, const uint8_t[:, ::1] queries, const uint8_t[:, ::1] database,
                    int32_t bound=-1, bint blocked=False):
    """Test helper: distances of every query to every database code with path
    ``name``. With ``bound >= 0`` the fused k-NN row is used and codes at
    ``bound`` or more come back as -1; ``blocked`` runs it on the path's
    blocked layout of the database. Small inputs only."""
    import numpy as np

    cdef int64_t n_q = queries.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int32_t[:, ::1] out = np.full((n_q, n_db), -1, dtype=np.int32)
    cdef int32_t[::1] dist = np.empty(max(n_db, 1), dtype=np.int32)
    cdef int32_t[::1] cand = np.empty(max(n_db, 1), dtype=np.int32)
    cdef uint64_t[::1] blocks = np.zeros(max(n_db * nb // 8, 1), dtype=np.uint64)
    cdef int64_t i, m, n_cand
    cdef int variant
    if blocked and not (bound >= 0 and path_blocks(name, nb) and popcount_path_available(name)):
        raise ValueError(f"path {name!r} has no blocked k-NN row for {nb}-byte codes")
    previous = popcount_path()
    set_popcount_path(name)
    try:
        # the forced path, blocked as a batch's scan would run it
        variant = sh_scan_variant(nb, SH_BATCH_MIN)
        if blocked:
            sh_scan_block(variant, &database[0, 0], n_db, nb, &blocks[0])
        for i in range(n_q):
            if bound < 0:
                sh_hamming_row(&queries[i, 0], &database[0, 0], n_db, nb, &out[i, 0])
                continue
            if blocked:
                n_cand = sh_scan_below(variant, &queries[i, 0], &blocks[0], &database[0, 0],
                                       n_db, nb, bound, &dist[0], &cand[0])
            else:
                n_cand = sh_row_below(&queries[i, 0], &database[0, 0], n_db, nb, bound,
                                      &dist[0], &cand[0])
            for m in range(n_cand):
                if m > 0 and cand[m] <= cand[m - 1]:
                    raise AssertionError("candidates out of order")
                out[i, cand[m]] = dist[cand[m]]
    finally:
        set_popcount_path(previous)
    return np.asarray(out)


cdef enum:
    CHUNK_BYTES = 16384
    # Up to this k, each query keeps its best k in one stack per distance
    # (distances are small integers): a candidate is pushed on its distance's
    # stack and the worst, the top of the highest stack, popped, in O(1)
    # where a heap sifts (O(log k), about k ln(n / k) times per scan: a third
    # of the scan's time at k = 100 on 384-bit codes). Larger k use the heap,
    # whose memory does not grow with the code width.
    STACKS_MAX_K = 4096


cdef inline void _push_candidates(const int32_t *dist, const int32_t *cand, int64_t n_cand,
                                  int64_t first, int64_t self_index, int32_t *hd,
                                  int64_t *hi, int64_t k) noexcept nogil:
    """Offer the chunk's candidates (offsets in increasing index order).

    Indices increase along the scan, so a tie with the heap's max is never
    better than it: ``d < max`` is the exact (distance, index) test. The
    candidates were filtered against the max at the chunk's start, and the
    max only decreases, so the test is repeated here.
    """
    cdef int64_t m, jj
    for m in range(n_cand):
        jj = cand[m]
        if dist[jj] < hd[0] and first + jj != self_index:
            heap_replace_top(hd, hi, k, dist[jj], first + jj)


# State of a query's distance stacks: slots 0..k hold (index, next slot);
# tops[d] is the slot on top of distance d's stack (-1: empty).
cdef enum:
    ST_USED = 0    # slots handed out so far (at most k + 1)
    ST_FREE = 1    # the slot freed by the last pop
    ST_TOTAL = 2   # entries on the stacks
    ST_MAXD = 3    # highest non-empty distance
    ST_SIZE = 4


cdef inline void _stacks_init(int32_t *tops, int64_t n_tops,
                              int64_t *state) noexcept nogil:
    memset(tops, 0xff, n_tops * sizeof(int32_t))
    state[ST_USED] = 0
    state[ST_FREE] = -1
    state[ST_TOTAL] = 0
    state[ST_MAXD] = -1


cdef inline int32_t _stacks_bound(const int64_t *state, int64_t k) noexcept nogil:
    """Codes at this distance or more cannot enter: the k-th best's distance
    once k are kept (a tie comes later in index order, so it is worse)."""
    return <int32_t>state[ST_MAXD] if state[ST_TOTAL] == k else INT32_MAX


cdef inline void _stack_candidates(const int32_t *dist, const int32_t *cand,
                                   int64_t n_cand, int64_t first, int64_t self_index,
                                   int32_t *tops, int32_t *nxt, int64_t *idx,
                                   int64_t *state, int64_t k) noexcept nogil:
    """Offer the chunk's candidates (offsets in increasing index order)."""
    cdef int64_t m, jj, slot, maxd = state[ST_MAXD], total = state[ST_TOTAL]
    cdef int32_t d, bound = _stacks_bound(state, k)
    for m in range(n_cand):
        jj = cand[m]
        d = dist[jj]
        if d >= bound or first + jj == self_index:
            continue
        if state[ST_USED] <= k:
            slot = state[ST_USED]
            state[ST_USED] += 1
        else:
            slot = state[ST_FREE]
        idx[slot] = first + jj
        nxt[slot] = tops[d]
        tops[d] = <int32_t>slot
        total = total + 1
        if d > maxd:
            maxd = d
        if total > k:
            # the worst: the newest entry (largest index) of the highest stack
            slot = tops[maxd]
            tops[maxd] = nxt[slot]
            state[ST_FREE] = slot
            total = total - 1
            while tops[maxd] < 0:
                maxd = maxd - 1
        if total == k:
            bound = <int32_t>maxd
    state[ST_MAXD] = maxd
    state[ST_TOTAL] = total


cdef void _stacks_output(const int32_t *tops, const int32_t *nxt, const int64_t *idx,
                         const int64_t *state, int64_t k, int32_t *out_d,
                         int64_t *out_i) noexcept nogil:
    """Write the kept entries in (distance, index) order, then sentinels."""
    cdef int64_t pos = 0, start, a, b, t
    cdef int32_t d, slot
    for d in range(state[ST_MAXD] + 1):
        start = pos
        slot = tops[d]
        while slot >= 0:
            out_d[pos] = d
            out_i[pos] = idx[slot]
            pos = pos + 1
            slot = nxt[slot]
        # a stack holds its newest entry first: reverse to increasing index
        a = start
        b = pos - 1
        while a < b:
            t = out_i[a]
            out_i[a] = out_i[b]
            out_i[b] = t
            a = a + 1
            b = b - 1
    while pos < k:
        out_d[pos] = INT32_MAX
        out_i[pos] = INT64_MAX
        pos = pos + 1


cdef void _knn_block(const uint8_t[:, ::1] queries, const uint8_t[:, ::1] database,
                     int64_t q_start, int64_t q_stop, int64_t db_start, int64_t db_stop,
                     int64_t self_offset, int32_t *buf, int64_t chunk, uint64_t *blocks,
                     int32_t[:, ::1] out_dist, int64_t[:, ::1] out_ind,
                     int32_t[:, ::1] tops, int32_t[:, ::1] nxt, int64_t[:, ::1] idx,
                     int64_t[:, ::1] state) noexcept nogil:
    """Sorted top-k of queries [q_start, q_stop) over database rows
    [db_start, db_stop), into the output rows.

    With stacks (``idx`` of k + 1 columns; row ``i - q_start`` of ``tops``,
    ``nxt``, ``idx``, ``state`` for query ``i``) the best k are kept per
    distance; otherwise in a heap in the output row. ``blocks`` (chunk * nb
    bytes) holds a chunk's blocked layout when the scan's variant uses one.
    """
    cdef int64_t nb = database.shape[1], k = out_dist.shape[1]
    cdef int64_t c, n, i, r, self_index, n_cand
    cdef bint stacks = idx.shape[1] == k + 1
    cdef int32_t bound
    cdef int variant = sh_scan_variant(nb, q_stop - q_start)
    cdef uint64_t *layout = blocks if sh_scan_blocks(variant) else NULL
    for i in range(q_start, q_stop):
        if stacks:
            _stacks_init(&tops[i - q_start, 0], tops.shape[1], &state[i - q_start, 0])
        else:
            heap_init(&out_dist[i, 0], &out_ind[i, 0], k)
    c = db_start
    while c < db_stop:
        # a chunk's candidates are the codes below the bound at its start:
        # chunks that double from 2k + 64 codes up to the cache size let the
        # bound close before whole chunks go through it open (about k
        # candidates per chunk instead of a chunk's worth at first)
        n = min(chunk, max(2 * k + 64, c - db_start), db_stop - c)
        if layout != NULL:
            sh_scan_block(variant, &database[c, 0], n, nb, layout)
        for i in range(q_start, q_stop):
            r = i - q_start
            bound = _stacks_bound(&state[r, 0], k) if stacks else out_dist[i, 0]
            n_cand = sh_scan_below(variant, &queries[i, 0], layout, &database[c, 0], n, nb,
                                   bound, buf, <int32_t *>buf + chunk)
            self_index = self_offset + i if self_offset >= 0 else -1
            if stacks:
                _stack_candidates(buf, buf + chunk, n_cand, c, self_index,
                                  &tops[r, 0], &nxt[r, 0], &idx[r, 0], &state[r, 0], k)
            else:
                _push_candidates(buf, buf + chunk, n_cand, c, self_index,
                                 &out_dist[i, 0], &out_ind[i, 0], k)
        c = c + n
    for i in range(q_start, q_stop):
        r = i - q_start
        if stacks:
            _stacks_output(&tops[r, 0], &nxt[r, 0], &idx[r, 0], &state[r, 0], k,
                           &out_dist[i, 0], &out_ind[i, 0])
        else:
            heap_sort(&out_dist[i, 0], &out_ind[i, 0], k)


def selection_shapes(int64_t k, int64_t n_bytes):
    """Row widths (tops, slots, state) of the per-query selection state for
    k-NN of ``n_bytes`` codes: distance stacks up to STACKS_MAX_K, else
    (1, 1, ...) and the heap. Each thread needs ``tops`` and ``nxt`` (int32)
    and ``idx`` (int64) of the first two widths, ``state`` (int64) of the
    third, one row per query."""
    if k <= STACKS_MAX_K:
        return 8 * n_bytes + 2, k + 1, ST_SIZE
    return 1, 1, ST_SIZE


cdef inline int64_t _chunk_rows(int64_t n_bytes) noexcept nogil:
    return max(64, CHUNK_BYTES // max(n_bytes, 1))


cdef inline int64_t _scratch_columns(int64_t n_bytes) noexcept nogil:
    # two chunks of int32, then a chunk of codes (blocked layout) and the
    # slack to align it to 64 bytes
    return 2 * _chunk_rows(n_bytes) + (_chunk_rows(n_bytes) * n_bytes + 64 + 3) // 4


cdef inline uint64_t *_blocks(int32_t *row, int64_t n_bytes) noexcept nogil:
    cdef uintptr_t at = <uintptr_t>(row + 2 * _chunk_rows(n_bytes))
    return <uint64_t *>((at + 63) & ~(<uintptr_t>63))


def chunk_rows(int64_t n_bytes):
    """Database rows per cache chunk for codes of ``n_bytes`` bytes."""
    return _chunk_rows(n_bytes)


def scratch_columns(int64_t n_bytes):
    """int32 columns per thread of the kernels' scratch for ``n_bytes`` codes:
    a chunk of distances, a chunk of candidate offsets, and a chunk of codes
    in a blocked layout (64-byte aligned)."""
    return _scratch_columns(n_bytes)


cdef int _check_scratch(int32_t[:, ::1] scratch, int64_t n_bytes) except -1:
    if scratch.shape[1] < _scratch_columns(n_bytes):
        raise ValueError(
            f"scratch needs {_scratch_columns(n_bytes)} columns, got {scratch.shape[1]}"
        )
    return 0


def hamming_kneighbors(const uint8_t[:, ::1] queries,
                       const uint8_t[:, ::1] database,
                       int32_t[:, ::1] out_dist,
                       int64_t[:, ::1] out_ind,
                       int64_t self_offset,
                       int64_t query_block,
                       int32_t[:, ::1] scratch,
                       int32_t[:, :, ::1] tops,
                       int32_t[:, :, ::1] nxt,
                       int64_t[:, :, ::1] idx,
                       int64_t[:, :, ::1] state):
    """k nearest database codes of every query, by (distance, index).

    ``k`` is ``out_dist.shape[1]``. When ``self_offset >= 0``, query ``i`` is
    database row ``self_offset + i`` and is excluded from its own result.
    Threads share out blocks of ``query_block`` queries; each block reads the
    database once, chunk by chunk. ``scratch`` is (n_threads,
    scratch_columns(n_bytes)), allocated by the caller; its first dimension
    sets the number of threads. ``tops``, ``nxt``, ``idx``, ``state`` hold each
    thread's selection state, ``query_block`` rows of the widths given by
    ``selection_shapes``.
    """
    cdef int64_t n_q = queries.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int64_t chunk = _chunk_rows(nb)
    cdef int64_t n_blocks = (n_q + query_block - 1) // query_block
    cdef int64_t blk, q_start, q_stop
    cdef int tid, n_threads = scratch.shape[0]
    _check_scratch(scratch, nb)
    # choose this width's variants before the threads start
    sh_scan_variant(nb, min(query_block, n_q))
    if n_q % query_block:
        sh_scan_variant(nb, n_q % query_block)
    for blk in prange(n_blocks, nogil=True, schedule="dynamic", num_threads=n_threads):
        tid = threadid()
        q_start = blk * query_block
        q_stop = min(q_start + query_block, n_q)
        _knn_block(queries, database, q_start, q_stop, 0, n_db, self_offset,
                   &scratch[tid, 0], chunk, _blocks(&scratch[tid, 0], nb), out_dist, out_ind,
                   tops[tid], nxt[tid], idx[tid], state[tid])


def hamming_kneighbors_split(const uint8_t[:, ::1] queries,
                             const uint8_t[:, ::1] database,
                             int32_t[:, :, ::1] part_dist,
                             int64_t[:, :, ::1] part_ind,
                             int64_t self_offset,
                             int32_t[:, ::1] scratch,
                             int32_t[:, :, ::1] tops,
                             int32_t[:, :, ::1] nxt,
                             int64_t[:, :, ::1] idx,
                             int64_t[:, :, ::1] state):
    """Few queries, many threads: each thread scans one slice of the database.

    ``part_dist``/``part_ind`` are (n_threads, n_queries, k): thread ``t``
    writes the sorted top-k of its slice; the caller merges the slices.
    A slice may hold fewer than k rows: missing entries stay sentinels
    (distance INT32_MAX, index INT64_MAX), which sort last. The selection
    state is that of ``hamming_kneighbors``, one row per query.
    """
    cdef int64_t n_q = queries.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int64_t chunk = _chunk_rows(nb)
    cdef int64_t t, lo, hi
    cdef int n_threads = scratch.shape[0]
    _check_scratch(scratch, nb)
    sh_scan_variant(nb, n_q)
    for t in prange(n_threads, nogil=True, schedule="static", num_threads=n_threads):
        lo = n_db * t // n_threads
        hi = n_db * (t + 1) // n_threads
        _knn_block(queries, database, 0, n_q, lo, hi, self_offset,
                   &scratch[t, 0], chunk, _blocks(&scratch[t, 0], nb), part_dist[t], part_ind[t],
                   tops[t], nxt[t], idx[t], state[t])


def hamming_radius_histogram(const uint8_t[:, ::1] queries,
                             const uint8_t[:, ::1] database,
                             int64_t self_offset,
                             int64_t[:, ::1] out_hist,
                             int32_t[:, ::1] scratch):
    """Count, per query, the database codes at each distance 0 .. radius.

    ``radius`` is ``out_hist.shape[1] - 1``; ``out_hist`` must be zeroed.
    Threads take one query each; the database is read chunk by chunk.
    """
    cdef int64_t n_q = queries.shape[0], n_db = database.shape[0]
    cdef int64_t nb = database.shape[1], chunk = _chunk_rows(nb)
    cdef int64_t radius = out_hist.shape[1] - 1
    cdef int64_t i, jj, c, n, n_cand, self_index
    cdef int32_t *buf
    cdef int32_t *cand
    cdef int tid, n_threads = scratch.shape[0]
    _check_scratch(scratch, nb)
    sh_width_path(nb, SH_MODE_SINGLE)
    for i in prange(n_q, nogil=True, schedule="dynamic", num_threads=n_threads):
        tid = threadid()
        buf = &scratch[tid, 0]
        cand = buf + chunk
        self_index = self_offset + i if self_offset >= 0 else -1
        c = 0
        while c < n_db:
            n = min(chunk, n_db - c)
            # the fused test emits only the codes within the radius
            n_cand = sh_row_below(&queries[i, 0], &database[c, 0], n, nb,
                                  radius + 1, buf, cand)
            for jj in range(n_cand):
                if c + cand[jj] != self_index:
                    out_hist[i, buf[cand[jj]]] += 1
            c = c + n


def hamming_radius_fill(const uint8_t[:, ::1] queries,
                        const uint8_t[:, ::1] database,
                        int64_t self_offset,
                        int64_t[:, ::1] positions,
                        int32_t[::1] out_dist,
                        int64_t[::1] out_ind,
                        int32_t[:, ::1] scratch):
    """Write every code within the radius at its (distance, index) position.

    ``positions[i, d]`` is where the first code at distance ``d`` of query
    ``i`` goes (offsets from the histogram pass); it is advanced in place.
    Scanning in index order keeps each distance level sorted by index.
    """
    cdef int64_t n_q = queries.shape[0], n_db = database.shape[0]
    cdef int64_t nb = database.shape[1], chunk = _chunk_rows(nb)
    cdef int64_t radius = positions.shape[1] - 1
    cdef int64_t i, jj, c, n, n_cand, d, j, self_index
    cdef int32_t *buf
    cdef int32_t *cand
    cdef int tid, n_threads = scratch.shape[0]
    _check_scratch(scratch, nb)
    sh_width_path(nb, SH_MODE_SINGLE)
    for i in prange(n_q, nogil=True, schedule="dynamic", num_threads=n_threads):
        tid = threadid()
        buf = &scratch[tid, 0]
        cand = buf + chunk
        self_index = self_offset + i if self_offset >= 0 else -1
        c = 0
        while c < n_db:
            n = min(chunk, n_db - c)
            n_cand = sh_row_below(&queries[i, 0], &database[c, 0], n, nb,
                                  radius + 1, buf, cand)
            for jj in range(n_cand):
                j = c + cand[jj]
                d = buf[cand[jj]]
                if j != self_index:
                    out_dist[positions[i, d]] = <int32_t>d
                    out_ind[positions[i, d]] = j
                    positions[i, d] += 1
            c = c + n


def _import_self_test():
    """Self-test every path the CPU has (once per process, at import)."""
    for name in PATHS:
        if popcount_path_available(name):
            _self_test(name)


_import_self_test()
