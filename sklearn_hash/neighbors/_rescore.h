/* Inner products and squared distances of one stored vector with one query,
 * for the exact re-scoring of Hamming candidates (_rescore.pyx).
 *
 * Each function keeps SR_LANES independent float32 partial sums: feature i
 * goes to lane i % SR_LANES, and the lanes are combined pairwise in a fixed
 * order. The compiler vectorizes the lanes without -ffast-math (no
 * reassociation is needed), and the result depends only on the two vectors,
 * never on the thread, the block or the candidate's position.
 *
 * One portable build carries two paths: the baseline loops (vectorized by
 * the compiler for SSE2 on x86-64) and, on x86-64, the same arithmetic
 * written with AVX2 intrinsics (target attribute, chosen at run time where
 * the CPU has AVX2). Both make the same roundings in the same order, so they
 * give identical results (tests/test_rerank.py checks it); FMA, which rounds
 * a*b+c once, is not enabled.
 */
#ifndef SKLEARN_HASH_RESCORE_H
#define SKLEARN_HASH_RESCORE_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SR_X86_DISPATCH 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SR_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define SR_PREFETCH(p) ((void)(p))
#endif

#define SR_LANES 16

/* Lanes combined pairwise: 8 + 8, 4 + 4, 2 + 2, 1 + 1. */
#define SR_REDUCE(acc)                                              \
    do {                                                            \
        int w_, l_;                                                 \
        for (w_ = SR_LANES / 2; w_ > 0; w_ /= 2)                    \
            for (l_ = 0; l_ < w_; l_++) acc[l_] += acc[l_ + w_];    \
    } while (0)

/* One baseline kernel: TERM(i) is feature i's float32 contribution. The tail
 * (the last d % SR_LANES features) goes to the first lanes, in order. */
#define SR_DEFINE_KERNEL(NAME, ARGS, TERM)                          \
    static float NAME ARGS {                                        \
        float acc[SR_LANES] = {0};                                  \
        int64_t i = 0, l;                                           \
        for (; i + SR_LANES <= d; i += SR_LANES)                    \
            for (l = 0; l < SR_LANES; l++) acc[l] += TERM(i + l);   \
        for (l = 0; i + l < d; l++) acc[l] += TERM(i + l);          \
        SR_REDUCE(acc);                                             \
        return acc[0];                                              \
    }

#define SR_DOT_F32(i) (x[i] * q[i])
#define SR_DOT_I8(i) ((float)x[i] * q[i])
#define SR_SQ(t) ((t) * (t))
#define SR_SQDIST_F32(i) SR_SQ(x[i] - q[i])
#define SR_SQDIST_I8(i) SR_SQ((float)x[i] * s[i] - q[i])

SR_DEFINE_KERNEL(sr_dot_f32_base, (const float *x, const float *q, int64_t d), SR_DOT_F32)
SR_DEFINE_KERNEL(sr_dot_i8_base, (const int8_t *x, const float *q, int64_t d), SR_DOT_I8)
SR_DEFINE_KERNEL(sr_sqdist_f32_base, (const float *x, const float *q, int64_t d),
                 SR_SQDIST_F32)
SR_DEFINE_KERNEL(sr_sqdist_i8_base,
                 (const int8_t *x, const float *s, const float *q, int64_t d), SR_SQDIST_I8)

#if defined(SR_X86_DISPATCH)
#include <immintrin.h>
#define SR_AVX2 __attribute__((target("avx2")))

/* The AVX2 path: lanes 0-7 in one register, 8-15 in another, then the tail
 * and the reduction as in the baseline path (written with intrinsics because
 * GCC widens int8 to float32 through 128-bit shuffles, twice the work). */
#define SR_DEFINE_AVX2(NAME, ARGS, LOAD_TERM, TERM)                                   \
    SR_AVX2 static float NAME ARGS {                                                  \
        float acc[SR_LANES];                                                          \
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();                    \
        int64_t i = 0, l;                                                             \
        for (; i + SR_LANES <= d; i += SR_LANES) {                                    \
            lo = _mm256_add_ps(lo, LOAD_TERM(i));                                     \
            hi = _mm256_add_ps(hi, LOAD_TERM(i + 8));                                 \
        }                                                                             \
        _mm256_storeu_ps(acc, lo);                                                    \
        _mm256_storeu_ps(acc + 8, hi);                                                \
        for (l = 0; i + l < d; l++) acc[l] += TERM(i + l);                            \
        SR_REDUCE(acc);                                                               \
        return acc[0];                                                                \
    }

#define SR_LOAD_F32(p, i) _mm256_loadu_ps((p) + (i))
#define SR_LOAD_I8(p, i) \
    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((p) + (i)))))
#define SR_SQ8(t) _mm256_mul_ps((t), (t))
#define SR_DOT_F32_8(i) _mm256_mul_ps(SR_LOAD_F32(x, i), SR_LOAD_F32(q, i))
#define SR_DOT_I8_8(i) _mm256_mul_ps(SR_LOAD_I8(x, i), SR_LOAD_F32(q, i))
#define SR_SQDIST_F32_8(i) SR_SQ8(_mm256_sub_ps(SR_LOAD_F32(x, i), SR_LOAD_F32(q, i)))
#define SR_SQDIST_I8_8(i) \
    SR_SQ8(_mm256_sub_ps(_mm256_mul_ps(SR_LOAD_I8(x, i), SR_LOAD_F32(s, i)), SR_LOAD_F32(q, i)))

SR_DEFINE_AVX2(sr_dot_f32_avx2, (const float *x, const float *q, int64_t d),
               SR_DOT_F32_8, SR_DOT_F32)
SR_DEFINE_AVX2(sr_dot_i8_avx2, (const int8_t *x, const float *q, int64_t d),
               SR_DOT_I8_8, SR_DOT_I8)
SR_DEFINE_AVX2(sr_sqdist_f32_avx2, (const float *x, const float *q, int64_t d),
               SR_SQDIST_F32_8, SR_SQDIST_F32)
SR_DEFINE_AVX2(sr_sqdist_i8_avx2,
               (const int8_t *x, const float *s, const float *q, int64_t d),
               SR_SQDIST_I8_8, SR_SQDIST_I8)
#endif

/* 1 while the AVX2 path is in use; set by sr_set_path before any search. */
static int sr_avx2 = 0;

/* Whether path "base" or "avx2" exists on this build and CPU. */
static int sr_path_available(const char *name) {
    if (strcmp(name, "base") == 0) return 1;
#if defined(SR_X86_DISPATCH)
    if (strcmp(name, "avx2") == 0) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }
#endif
    return 0;
}

/* Use path "base" or "avx2"; "auto" takes AVX2 where the CPU has it.
 * Returns 0 when the path is not available (nothing changes). */
static int sr_set_path(const char *name) {
    if (strcmp(name, "auto") == 0) {
        sr_avx2 = sr_path_available("avx2");
        return 1;
    }
    if (!sr_path_available(name)) return 0;
    sr_avx2 = strcmp(name, "avx2") == 0;
    return 1;
}

static inline float sr_dot_f32(const float *x, const float *q, int64_t d) {
#if defined(SR_X86_DISPATCH)
    if (sr_avx2) return sr_dot_f32_avx2(x, q, d);
#endif
    return sr_dot_f32_base(x, q, d);
}

static inline float sr_dot_i8(const int8_t *x, const float *q, int64_t d) {
#if defined(SR_X86_DISPATCH)
    if (sr_avx2) return sr_dot_i8_avx2(x, q, d);
#endif
    return sr_dot_i8_base(x, q, d);
}

static inline float sr_sqdist_f32(const float *x, const float *q, int64_t d) {
#if defined(SR_X86_DISPATCH)
    if (sr_avx2) return sr_sqdist_f32_avx2(x, q, d);
#endif
    return sr_sqdist_f32_base(x, q, d);
}

static inline float sr_sqdist_i8(const int8_t *x, const float *s, const float *q,
                                 int64_t d) {
#if defined(SR_X86_DISPATCH)
    if (sr_avx2) return sr_sqdist_i8_avx2(x, s, q, d);
#endif
    return sr_sqdist_i8_base(x, s, q, d);
}

/* Ask for the n_bytes at p (one stored vector) ahead of their use. */
static inline void sr_prefetch(const void *p, int64_t n_bytes) {
    const char *c = (const char *)p;
    int64_t b;
    for (b = 0; b < n_bytes; b += 64) SR_PREFETCH(c + b);
    if (n_bytes > 0) SR_PREFETCH(c + n_bytes - 1); /* rows need not start on a line */
}

#endif
