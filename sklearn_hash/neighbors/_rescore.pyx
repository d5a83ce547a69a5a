# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Exact re-scoring of Hamming candidates with the stored vectors.

No estimator logic: typed memoryviews in, preallocated outputs filled, GIL
released, queries split across OpenMP threads. Each query computes the
metric distance to each of its candidates straight from the candidate's
stored row (no gathered copy) and keeps the k smallest (distance, index)
pairs in a bounded max-heap that lives in its output row.

Distances are float32, one candidate at a time (``_rescore.h``): equal
stored vectors give equal distances, whatever their position. Storage is
float32, or int8 with one float32 scale per feature; the stored vector is
``x * scale``. For int8 inner products the query is multiplied by the scale
once per query; Euclidean distances dequantize each feature as
``x * scale - q``.

While one candidate is scored, the rows about ``PREFETCH_BYTES`` further on
in the candidate list are requested from memory: candidates are random rows,
so each would otherwise wait for its own cache misses (prefetching saves
about a fifth of the time on MiniLM vectors, 47 MB in float32).
"""

from cython.parallel cimport prange, threadid
from libc.math cimport sqrtf
from libc.stdint cimport int8_t, int64_t

from ._heap cimport heap_greater, heap_init, heap_replace_top, heap_sort

cdef extern from "_rescore.h" nogil:
    float sr_dot_f32(const float *x, const float *q, int64_t d)
    float sr_dot_i8(const int8_t *x, const float *q, int64_t d)
    float sr_sqdist_f32(const float *x, const float *q, int64_t d)
    float sr_sqdist_i8(const int8_t *x, const float *s, const float *q, int64_t d)
    void sr_prefetch(const void *p, int64_t n_bytes)
    int sr_set_path(const char *name)
    int sr_path_available(const char *name)
    int sr_avx2

ctypedef fused vector_t:
    float
    int8_t

cdef enum:
    COSINE = 0
    DOT = 1
    EUCLIDEAN = 2
    # how far ahead rows are requested: one float32 MiniLM row (1.5 KB),
    # five int8 rows (farther gained nothing when measured)
    PREFETCH_BYTES = 2048

METRICS = {"cosine": COSINE, "dot": DOT, "euclidean": EUCLIDEAN}

sr_set_path(b"auto")


def set_simd_path(str name):
    """Use the dot-product path ``"base"``, ``"avx2"`` or ``"auto"`` (the
    fastest the CPU has); returns whether it is available. For tests: every
    path gives the same results."""
    return bool(sr_set_path(name.encode()))


def simd_path():
    """Name of the dot-product path in use."""
    return "avx2" if sr_avx2 else "base"


cdef inline float _distance(const vector_t *x, const float *q, const float *scale,
                            int64_t d, int metric) noexcept nogil:
    """Distance of stored row x to query q (for int8 inner products, q is
    already multiplied by the scale)."""
    cdef float dot
    if metric == EUCLIDEAN:
        if vector_t is float:
            return sqrtf(sr_sqdist_f32(x, q, d))
        else:
            return sqrtf(sr_sqdist_i8(x, scale, q, d))
    if vector_t is float:
        dot = sr_dot_f32(x, q, d)
    else:
        dot = sr_dot_i8(x, q, d)
    return 1 - dot if metric == COSINE else -dot


cdef void _query_topk(const vector_t *vectors, int64_t d, const float *scale,
                      const float *query, const int64_t *candidates, int64_t n_c,
                      int metric, float *scaled, float *hd, int64_t *hi,
                      int64_t k) noexcept nogil:
    """Sorted top-k (distance, index) of one query among its candidates."""
    cdef int64_t c, f, j
    cdef int64_t row_bytes = d * sizeof(vector_t)
    cdef const float *q = query
    cdef float dist
    cdef int64_t ahead = max(1, PREFETCH_BYTES // row_bytes)
    if vector_t is int8_t:
        if metric != EUCLIDEAN:
            for f in range(d):
                scaled[f] = query[f] * scale[f]
            q = scaled
    heap_init(hd, hi, k)
    for c in range(min(ahead, n_c)):
        sr_prefetch(vectors + candidates[c] * d, row_bytes)
    for c in range(n_c):
        if c + ahead < n_c:
            sr_prefetch(vectors + candidates[c + ahead] * d, row_bytes)
        j = candidates[c]
        dist = _distance(vectors + j * d, q, scale, d, metric)
        if heap_greater(hd[0], hi[0], dist, j):
            heap_replace_top(hd, hi, k, dist, j)
    heap_sort(hd, hi, k)


def rescore_kneighbors(const vector_t[:, ::1] vectors,
                       const float[::1] scale,
                       const float[:, ::1] queries,
                       const int64_t[:, ::1] candidates,
                       str metric,
                       float[:, ::1] out_dist,
                       int64_t[:, ::1] out_ind,
                       float[:, ::1] scratch):
    """k smallest (distance, index) of every query among its candidates.

    ``k`` is ``out_dist.shape[1]``, at most ``candidates.shape[1]``; row
    ``i`` of ``candidates`` holds distinct database indices for query ``i``.
    ``metric`` is ``"cosine"`` (``1 - q.x``, unit vectors), ``"dot"``
    (``-q.x``) or ``"euclidean"``; the stored vector is ``vectors[j] *
    scale`` (``scale`` is ignored for float32). ``scratch`` is (n_threads,
    n_features): per thread, the query times the scale for int8 storage,
    allocated by the caller; its first dimension sets the number of threads.
    """
    cdef int64_t n_q = candidates.shape[0], n_c = candidates.shape[1]
    cdef int64_t d = vectors.shape[1], k = out_dist.shape[1]
    cdef int code = METRICS[metric]
    cdef int n_threads = scratch.shape[0]
    cdef int64_t i
    if n_q == 0:
        return
    for i in prange(n_q, nogil=True, schedule="static", num_threads=n_threads):
        _query_topk(&vectors[0, 0], d, &scale[0], &queries[i, 0], &candidates[i, 0],
                    n_c, code, &scratch[threadid(), 0], &out_dist[i, 0],
                    &out_ind[i, 0], k)
