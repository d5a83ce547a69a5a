# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Asymmetric k-NN kernels: real-valued queries scored against packed codes.

No estimator logic: typed memoryviews in, preallocated outputs filled, GIL
released, query blocks split across OpenMP threads. Results are ordered by
(score, database index), ties by the smaller index.

Two scorings (the estimator prepares the query side):

- bit planes (``planes_kneighbors``): a query quantized to P bit planes (its
  signs, then the bits of its integer magnitudes), the integer score of a
  code ``sum_i (2 m_i + 1) [b_i != s_i]`` computed by ``_asym.h`` with one
  XOR and P popcounts per word, on the path measured fastest for the width;
- byte lookup tables (``lut_kneighbors``): one float32 table of 256 entries
  per code byte, the score of a code the sum of its bytes' entries, added in
  byte order (the float reference of ``query_bits=None``).

Each thread takes blocks of queries; a block reuses each database chunk
(about 64 KB) while it is in cache. Each query keeps its best k in a bounded
(score, index) max-heap in its output row; indices increase along the scan,
so a code enters only if its score is strictly below the heap's top, which
keeps the order exact with ties.
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t, uint8_t

from ._heap cimport heap_init, heap_replace_top, heap_sort

cdef extern from "_asym.h" nogil:
    int sa_path_index(int64_t nb)
    void sa_row(int p, const uint8_t *planes, int n_planes, const uint8_t *db, int64_t n,
                int64_t nb, int32_t *out)
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
    int64_t SA_PLANE_STRIDE(int64_t nb)

# "builtin" exists on aarch64, the x86 paths on x86-64
PATHS = ("avx512", "avx2", "popcnt", "builtin", "generic")
MAX_PLANES = SA_MAX_PLANES

cdef enum:
    CHUNK_BYTES = 65536
    QUERY_BLOCK = 16


def plane_stride(int64_t n_bytes):
    """Bytes of one query plane for ``n_bytes`` codes (zero-padded)."""
    return SA_PLANE_STRIDE(n_bytes)


def chunk_rows(int64_t n_bytes):
    """Database codes per chunk (the scratch row each thread needs)."""
    return max(64, CHUNK_BYTES // n_bytes)


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
    ``name`` (forced meanwhile). Small inputs only."""
    import numpy as np

    cdef int64_t n_q = planes.shape[0], n_db = database.shape[0], nb = database.shape[1]
    cdef int32_t[:, ::1] out = np.zeros((n_q, n_db), dtype=np.int32)
    cdef int64_t i
    cdef int p = sa_find_path(name.encode())
    if p < 0 or not sa_path_available(name.encode()):
        raise ValueError(f"asymmetric path {name!r} is not available on this build/CPU")
    _check_planes(planes, nb)
    if n_db:
        for i in range(n_q):
            sa_row(p, &planes[i, 0, 0], <int>planes.shape[1], &database[0, 0], n_db, nb,
                   &out[i, 0])
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
    cdef int64_t k = scores.shape[1], rows = chunk_rows(nb)
    cdef int n_planes = <int>planes.shape[1]
    cdef int64_t n_blocks = (n_q + QUERY_BLOCK - 1) // QUERY_BLOCK
    cdef int64_t n_chunks = (n_db + rows - 1) // rows
    cdef int64_t b, c, q, q_end, start, n, m
    cdef int32_t *buf
    cdef int32_t *hd
    cdef int64_t *hi
    cdef int p
    _check_planes(planes, nb)
    if scratch.shape[0] < n_threads or scratch.shape[1] < rows:
        raise ValueError("scratch is too small")
    if n_q == 0 or k == 0:
        return
    if k > n_db:
        raise ValueError(f"k={k} exceeds the {n_db} database codes")
    p = sa_path_index(nb)  # measured here, before the threads start
    with nogil:
        for b in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
            buf = &scratch[threadid(), 0]
            q_end = min(n_q, (b + 1) * QUERY_BLOCK)
            for q in range(b * QUERY_BLOCK, q_end):
                heap_init(&scores[q, 0], &indices[q, 0], k)
            for c in range(n_chunks):
                start = c * rows
                n = min(rows, n_db - start)
                for q in range(b * QUERY_BLOCK, q_end):
                    sa_row(p, &planes[q, 0, 0], n_planes, &database[start, 0], n, nb, buf)
                    hd = &scores[q, 0]
                    hi = &indices[q, 0]
                    for m in range(n):
                        if buf[m] < hd[0]:
                            heap_replace_top(hd, hi, k, buf[m], start + m)
            for q in range(b * QUERY_BLOCK, q_end):
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
