# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Asymmetric k-NN kernels: real-valued queries scored against packed codes.

No estimator logic: typed memoryviews in, preallocated outputs filled, GIL
released, query blocks split across OpenMP threads. Results are ordered by
(score, database index), ties by the smaller index.

Two scorings (the estimator prepares the query side):

- bit planes (``planes_kneighbors``): a query quantized to P bit planes (its
  signs, then the bits of its integer magnitudes), the integer score of a
  code ``sum_i (2 m_i + 1) [b_i != s_i]`` computed by ``_asym.h`` on the
  variant measured fastest for the width: a row path (one XOR and P
  popcounts per word, codes as stored) or a lookup-table variant (per query
  16-entry tables of the code's nibbles; each chunk rearranged once for the
  block of queries into blocks of 64 codes, byte-position-major, scored by
  byte shuffles and filtered against each query's bound in the kernel);
- byte lookup tables (``lut_kneighbors``): one float32 table of 256 entries
  per code byte, the score of a code the sum of its bytes' entries, added in
  byte order (the float reference of ``query_bits=None``).

Each thread takes blocks of queries; a block reuses each database chunk
while it is in cache. Each query keeps its best k in a bounded (score, index)
max-heap in its output row; indices increase along the scan, so a code enters
only if its score is strictly below the heap's top, which keeps the order
exact with ties. Every variant computes the same integer scores, so the
results do not depend on the variant.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport exp
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libc.stdlib cimport free, malloc

from ._heap cimport heap_init, heap_replace_top, heap_sort

cdef extern from "_asym.h" nogil:
    int sa_path_index(int64_t nb)
    int sa_row_index(int v, int64_t nb)
    int sa_uses_lut(int v, int n_planes, int64_t nb, int64_t n_queries)
    int sa_is_lut(int v)
    int sa_lut_ok(int n_planes, int64_t nb)
    void sa_lut_tables(const uint8_t *planes, int n_planes, int64_t nb, uint8_t *tables)
    void sa_layout(int v, const uint8_t *db, int64_t n, int64_t nb, uint8_t *blocks)
    void sa_scan(int v, const uint8_t *tables, int n_queries, int n_planes,
                 const uint8_t *blocks, int64_t n, int64_t nb, const int32_t *bounds,
                 int64_t cap, int32_t *counts, int32_t *found)
    void sa_row(int p, const uint8_t *planes, int n_planes, const uint8_t *db, int64_t n,
                int64_t nb, int32_t *out)
    int sa_path_scores(int p, const uint8_t *planes, int n_planes, const uint8_t *db,
                       int64_t n, int64_t nb, int32_t *out)
    int64_t SA_TABLE_BYTES(int64_t nb)
    int64_t SA_BLOCKED_BYTES(int64_t n, int64_t nb)
    int SA_QUERY_BLOCK
    const char *sa_path_name(int p)
    int sa_path_available(const char *name)
    int sa_set_path(const char *name)
    const char *sa_forced_path()
    const char *sa_width_how(int64_t nb)
    double sa_width_ns(int64_t nb, const char *name)
    int sa_passes_self_test(const char *name)
    void sa_reset_choices()
    int sa_find_path(const char *name)
    int SA_MAX_PLANES
    int SA_LUT_MAX_PLANES
    int64_t SA_PLANE_STRIDE(int64_t nb)

# "builtin" exists on aarch64, the x86 paths on x86-64; the " lut" variants
# scan blocked chunks with lookup tables (queries of up to 6 planes whose
# scores fit 16 bits, in blocks of 4 or more), else a row path stands in
PATHS = ("avx512", "avx512bw lut", "avx2 lut", "avx2", "popcnt", "builtin",
         "generic lut", "generic")
MAX_PLANES = SA_MAX_PLANES
LUT_MAX_PLANES = SA_LUT_MAX_PLANES

cdef enum:
    CHUNK_BYTES = 65536
    CHUNK_CODES_MAX = 1024


cdef inline int64_t _chunk_codes(int64_t n_bytes) noexcept nogil:
    """Database codes per chunk: about 64 KB, a multiple of the 64-code
    blocks of the lookup-table layout, at most CHUNK_CODES_MAX."""
    return min(CHUNK_CODES_MAX, max(64, CHUNK_BYTES // max(n_bytes, 1) // 64 * 64))


cdef inline int64_t _scratch_columns(int64_t n_bytes) noexcept nogil:
    # int32 columns: a query block's tables, the blocked chunk (and the slack
    # to align it to 64 bytes), then bounds and counts, and per query the
    # (offset, score) pairs of a chunk (the first chunk's also row scores)
    cdef int64_t rows = _chunk_codes(n_bytes)
    cdef int64_t table_bytes = SA_QUERY_BLOCK * SA_TABLE_BYTES(n_bytes)
    return ((table_bytes + SA_BLOCKED_BYTES(rows, n_bytes) + 64 + 3) // 4
            + 2 * SA_QUERY_BLOCK + 2 * SA_QUERY_BLOCK * rows)


def plane_stride(int64_t n_bytes):
    """Bytes of one query plane for ``n_bytes`` codes (zero-padded)."""
    return SA_PLANE_STRIDE(n_bytes)


def chunk_rows(int64_t n_bytes):
    """Length of the int32 scratch row each thread needs for ``n_bytes``
    codes (``scratch`` of ``planes_kneighbors`` is (n_threads, this))."""
    return _scratch_columns(n_bytes)


def lut_fits(int n_planes, int64_t n_bytes):
    """Whether the lookup-table variants can score queries of ``n_planes``
    planes on ``n_bytes`` codes (else their row path does)."""
    return bool(sa_lut_ok(n_planes, n_bytes))


def asym_path(int64_t n_bytes):
    """Path the bit-plane kernels use for ``n_bytes`` codes (measured now if
    that width has not been searched yet)."""
    if n_bytes < 1:
        raise ValueError(f"n_bytes must be a positive int, got {n_bytes!r}")
    return sa_path_name(sa_path_index(n_bytes)).decode()


def asym_path_how(int64_t n_bytes):
    """``"measured"``, ``"only path"``, ``"forced"``, or ``""`` before use."""
    return sa_width_how(n_bytes).decode()


def asym_path_timings(int64_t n_bytes):
    """ns per code of each usable path when ``n_bytes`` codes were measured
    (4 planes); empty before, or while a path is forced."""
    out = {}
    for name in PATHS:
        ns = sa_width_ns(n_bytes, name.encode())
        if ns > 0:
            out[name] = ns
    return out


def asym_path_available(str name):
    """Whether path ``name`` exists in this build and on this CPU."""
    return bool(sa_path_available(name.encode()))


def set_asym_path(str name):
    """Force a path for every width (``"auto"``: measured per width)."""
    if not sa_set_path(name.encode()):
        raise ValueError(f"asymmetric path {name!r} is not available on this build/CPU")
    return sa_forced_path().decode()


def forced_asym_path():
    """The forced path, or ``"auto"``."""
    return sa_forced_path().decode()


def _self_test(str name):
    """Whether path ``name`` agrees with the SWAR loop for every plane count."""
    return bool(sa_passes_self_test(name.encode()))


def _reset_choices():
    """Forget the per-width choices (measured again on next use)."""
    sa_reset_choices()


def _path_scores(str name, const uint8_t[:, :, ::1] planes,
                 const uint8_t[:, ::1] database):
    """Test helper: the score of every code for every query with path
    ``name`` (a lookup-table variant through its layout and fused scan).
    Small inputs only."""
    import numpy as np

    cdef int64_t n_q = planes.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int32_t[:, ::1] out = np.zeros((n_q, n_db), dtype=np.int32)
    cdef int64_t i
    cdef int p = sa_find_path(name.encode())
    if p < 0 or not sa_path_available(name.encode()):
        raise ValueError(f"asymmetric path {name!r} is not available on this build/CPU")
    _check_planes(planes, nb)
    if sa_is_lut(p) and not sa_lut_ok(<int>planes.shape[1], nb):
        raise ValueError(f"{name!r} cannot score {planes.shape[1]} planes of {nb} bytes")
    if n_db:
        for i in range(n_q):
            if not sa_path_scores(p, &planes[i, 0, 0], <int>planes.shape[1], &database[0, 0],
                                  n_db, nb, &out[i, 0]):
                raise MemoryError
    return np.asarray(out)


cdef int _check_planes(const uint8_t[:, :, ::1] planes, int64_t nb) except -1:
    if not 1 <= planes.shape[1] <= SA_MAX_PLANES:
        raise ValueError(f"between 1 and {SA_MAX_PLANES} planes, got {planes.shape[1]}")
    if planes.shape[2] != SA_PLANE_STRIDE(nb):
        raise ValueError(
            f"planes of {nb}-byte codes hold {SA_PLANE_STRIDE(nb)} bytes, got "
            f"{planes.shape[2]}"
        )
    return 0


def planes_kneighbors(const uint8_t[:, :, ::1] planes, const uint8_t[:, ::1] database,
                      int32_t[:, ::1] scores, int64_t[:, ::1] indices,
                      int32_t[:, ::1] scratch, int n_threads):
    """Best k codes of each query by bit-plane score (k = scores.shape[1]).

    ``planes``: (n_queries, P, plane_stride(n_bytes)) uint8; ``scratch``:
    (n_threads, chunk_rows(n_bytes)) int32. Rows of ``scores`` / ``indices``
    come back sorted by (score, index).
    """
    cdef int64_t n_q = planes.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int64_t k = scores.shape[1], rows = _chunk_codes(nb)
    cdef int n_planes = <int>planes.shape[1]
    cdef int64_t n_blocks = (n_q + SA_QUERY_BLOCK - 1) // SA_QUERY_BLOCK
    cdef int64_t n_chunks = (n_db + rows - 1) // rows
    cdef int64_t b, c, q, q0, q_end, start, n, m, jj
    cdef int32_t *bounds
    cdef int32_t *counts
    cdef int32_t *found
    cdef int32_t *pairs
    cdef uint8_t *tables
    cdef uint8_t *blocked
    cdef int32_t *hd
    cdef int64_t *hi
    cdef int v, row_path, lut
    _check_planes(planes, nb)
    if scratch.shape[0] < n_threads or scratch.shape[1] < _scratch_columns(nb):
        raise ValueError("scratch is too small")
    if n_q == 0 or k == 0:
        return
    if k > n_db:
        raise ValueError(f"k={k} exceeds the {n_db} database codes")
    v = sa_path_index(nb)  # measured here, before the threads start
    row_path = sa_row_index(v, nb)
    with nogil:
        for b in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
            tables = <uint8_t *>&scratch[threadid(), 0]
            blocked = <uint8_t *>((<uintptr_t>(tables + SA_QUERY_BLOCK * SA_TABLE_BYTES(nb))
                                   + 63) & ~(<uintptr_t>63))
            bounds = <int32_t *>(blocked + SA_BLOCKED_BYTES(rows, nb))
            counts = bounds + SA_QUERY_BLOCK
            found = counts + SA_QUERY_BLOCK
            q0 = b * SA_QUERY_BLOCK
            q_end = min(n_q, q0 + SA_QUERY_BLOCK)
            lut = sa_uses_lut(v, n_planes, nb, q_end - q0)
            for q in range(q0, q_end):
                heap_init(&scores[q, 0], &indices[q, 0], k)
                if lut:
                    sa_lut_tables(&planes[q, 0, 0], n_planes, nb,
                                  tables + (q - q0) * SA_TABLE_BYTES(nb))
            for c in range(n_chunks):
                start = c * rows
                n = min(rows, n_db - start)
                if lut:
                    sa_layout(v, &database[start, 0], n, nb, blocked)
                    for q in range(q0, q_end):
                        bounds[q - q0] = scores[q, 0]
                    sa_scan(v, tables, <int>(q_end - q0), n_planes, blocked, n, nb, bounds,
                            rows, counts, found)
                    for q in range(q0, q_end):
                        hd = &scores[q, 0]
                        hi = &indices[q, 0]
                        pairs = found + 2 * rows * (q - q0)
                        for m in range(counts[q - q0]):
                            jj = pairs[2 * m]
                            if pairs[2 * m + 1] < hd[0]:
                                heap_replace_top(hd, hi, k, pairs[2 * m + 1], start + jj)
                else:
                    for q in range(q0, q_end):
                        sa_row(row_path, &planes[q, 0, 0], n_planes, &database[start, 0], n,
                               nb, found)
                        hd = &scores[q, 0]
                        hi = &indices[q, 0]
                        for m in range(n):
                            if found[m] < hd[0]:
                                heap_replace_top(hd, hi, k, found[m], start + m)
            for q in range(q0, q_end):
                heap_sort(&scores[q, 0], &indices[q, 0], k)


def lut_kneighbors(const float[:, :, ::1] luts, const uint8_t[:, ::1] database,
                   float[:, ::1] scores, int64_t[:, ::1] indices, int n_threads):
    """Best k codes of each query by byte-table score (k = scores.shape[1]).

    ``luts``: (n_queries, n_bytes, 256) float32; the score of a code is
    ``luts[q, 0, c_0] + luts[q, 1, c_1] + ...``, added in that order in
    float32. Rows come back sorted by (score, index).
    """
    cdef int64_t n_q = luts.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int64_t k = scores.shape[1], q, j, t
    cdef float acc
    cdef const float *lut
    cdef const uint8_t *code
    if luts.shape[1] != nb or luts.shape[2] != 256:
        raise ValueError(f"tables of {nb}-byte codes are ({nb}, 256), got "
                         f"({luts.shape[1]}, {luts.shape[2]})")
    if n_q == 0 or k == 0:
        return
    if k > n_db:
        raise ValueError(f"k={k} exceeds the {n_db} database codes")
    with nogil:
        for q in prange(n_q, num_threads=n_threads, schedule="dynamic"):
            lut = &luts[q, 0, 0]
            heap_init(&scores[q, 0], &indices[q, 0], k)
            for j in range(n_db):
                code = &database[j, 0]
                acc = 0
                for t in range(nb):
                    acc = acc + lut[t * 256 + code[t]]
                if acc < scores[q, 0]:
                    heap_replace_top(&scores[q, 0], &indices[q, 0], k, acc, j)
            heap_sort(&scores[q, 0], &indices[q, 0], k)




def lloyd_levels(const double[:, ::1] values, const double[:, ::1] sorted_values,
                 int n_levels, int n_iter, double[:, ::1] out):
    """Each row's values replaced by their level of a weighted 1-D Lloyd-Max.

    ``sorted_values`` holds each row of ``values`` sorted. Per row of K
    values: levels start at the values of ranks ``floor((l + 1/2) K / L)``;
    each of ``n_iter`` iterations sends each value to its nearest level (the
    number of midpoints of consecutive levels strictly below it) and each
    level to the mean of its values weighted by ``exp(-value / scale)``
    (summed in sorted order; unchanged if it has none), ``scale`` the row's
    median, else its mean, else 1. ``out`` gets each value's final level.
    """
    cdef int64_t n = values.shape[0], K = values.shape[1], L = n_levels
    cdef int64_t r, j, l, it, c
    cdef double a, scale, total
    cdef double *weight
    cdef double *levels
    cdef double *mid
    cdef double *mass
    cdef double *moment
    cdef const double *row
    if (out.shape[0] != n or out.shape[1] != K or sorted_values.shape[0] != n
            or sorted_values.shape[1] != K):
        raise ValueError("values, sorted_values and out must have the same shape")
    if L < 1 or K < 1:
        raise ValueError("n_levels and the number of values must be positive")
    with nogil:
        weight = <double *>malloc(K * sizeof(double))
        levels = <double *>malloc(4 * L * sizeof(double))
        mid, mass, moment = levels + L, levels + 2 * L, levels + 3 * L
        for r in range(n):
            row = &sorted_values[r, 0]
            total = 0
            for j in range(K):
                total = total + values[r, j]
            if K % 2:
                scale = row[K // 2]
            else:
                scale = (row[K // 2 - 1] + row[K // 2]) / 2
            if not scale > 0:
                scale = total / K if total > 0 else 1.0
            for j in range(K):
                weight[j] = exp(-row[j] / scale)
            for l in range(L):
                levels[l] = row[min(<int64_t>((l + 0.5) * K / L), K - 1)]
            for it in range(n_iter):
                for l in range(L - 1):
                    mid[l] = (levels[l] + levels[l + 1]) / 2
                for l in range(L):
                    mass[l] = 0
                    moment[l] = 0
                c = 0  # sorted values: the nearest level only moves up
                for j in range(K):
                    a = row[j]
                    while c < L - 1 and a > mid[c]:
                        c = c + 1
                    mass[c] += weight[j]
                    moment[c] += weight[j] * a
                for l in range(L):
                    if mass[l] > 0:
                        levels[l] = moment[l] / mass[l]
            for l in range(L - 1):
                mid[l] = (levels[l] + levels[l + 1]) / 2
            for j in range(K):
                a = values[r, j]
                c = 0
                for l in range(L - 1):
                    c = c + (a > mid[l])
                out[r, j] = levels[c]
        free(weight)
        free(levels)
