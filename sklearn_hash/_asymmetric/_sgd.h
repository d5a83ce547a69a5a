/* Inner product and scaled addition of float32 rows for the hinge SGD of
 * _sgd.pyx. Two paths in one build: portable loops, and on x86-64 the same
 * written with AVX2 and FMA intrinsics (target attributes), chosen once at
 * import where the CPU has both. FMA rounds differently from a multiply and
 * an add, so the two paths give hyperplanes that differ by float32 round-off
 * (as BLAS builds do); on one CPU the result is always the same.
 */
#ifndef SKLEARN_HASH_SGD_H
#define SKLEARN_HASH_SGD_H

#include <stdint.h>

#define SGD_LANES 8

static float sgd_dot_base(const float *x, const float *c, int64_t d) {
    float acc[SGD_LANES] = {0};
    int64_t i = 0, l;
    for (; i + SGD_LANES <= d; i += SGD_LANES)
        for (l = 0; l < SGD_LANES; l++) acc[l] += x[i + l] * c[i + l];
    for (l = 0; i + l < d; l++) acc[l] += x[i + l] * c[i + l];
    for (l = 1; l < SGD_LANES; l++) acc[0] += acc[l];
    return acc[0];
}

static void sgd_axpy_base(float a, const float *x, float *c, int64_t d) {
    int64_t i;
    for (i = 0; i < d; i++) c[i] += a * x[i];
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SGD_X86 1
#define SGD_AVX2 __attribute__((target("avx2,fma")))

/* Four independent accumulators hide the FMA latency. */
SGD_AVX2 static float sgd_dot_avx2(const float *x, const float *c, int64_t d) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= d; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(c + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(c + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(c + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(c + i + 24), a3);
    }
    for (; i + 8 <= d; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(c + i), a0);
    a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float total = _mm_cvtss_f32(s);
    for (; i < d; i++) total += x[i] * c[i];
    return total;
}

SGD_AVX2 static void sgd_axpy_avx2(float a, const float *x, float *c, int64_t d) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= d; i += 8)
        _mm256_storeu_ps(c + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i),
                                                _mm256_loadu_ps(c + i)));
    for (; i < d; i++) c[i] += a * x[i];
}
#endif

/* 1 while the AVX2 + FMA path is in use (sgd_set_path). */
static int sgd_avx2 = 0;

/* "auto": AVX2 + FMA where the CPU has both; "base": the portable loops.
 * Returns the path in use, "avx2" or "base". */
static const char *sgd_set_path(const char *name) {
    sgd_avx2 = 0;
#if defined(SGD_X86)
    if (name[0] == 'a' && name[1] == 'u') {
        __builtin_cpu_init();
        sgd_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
#endif
    return sgd_avx2 ? "avx2" : "base";
}

static inline float sgd_dot(const float *x, const float *c, int64_t d) {
#if defined(SGD_X86)
    if (sgd_avx2) return sgd_dot_avx2(x, c, d);
#endif
    return sgd_dot_base(x, c, d);
}

static inline void sgd_axpy(float a, const float *x, float *c, int64_t d) {
#if defined(SGD_X86)
    if (sgd_avx2) {
        sgd_axpy_avx2(a, x, c, d);
        return;
    }
#endif
    sgd_axpy_base(a, x, c, d);
}

#endif
