/* Hamming distances of one query against a run of database codes.
 *
 * One portable build carries several popcount paths, each compiled with a
 * target attribute (no -m flag needed):
 *   "avx512"  : x86-64 AVX-512 VPOPCNTDQ (Ice Lake, Zen 4 and later)
 *   "avx2"    : x86-64 AVX2 nibble-lookup popcount, mixed with scalar POPCNT
 *   "popcnt"  : x86-64 hardware POPCNT
 *   "builtin" : __builtin_popcountll on targets where it is a native instruction
 *               (aarch64 NEON cnt), never libgcc's software __popcountdi2
 *   "generic" : portable SWAR bit counting, the fallback everywhere
 * Every path has two kernels: the distance row (radius search) and the row
 * fused with the k-NN rejection test (only codes closer than a bound are
 * emitted). A path may also scan blocked chunks (sh_block_fn): a k-NN batch
 * rearranges each database chunk once for all its queries.
 *
 * Dispatch is per code width and per mode, and measured: the first time a
 * width is searched in a mode, every path that the CPU has and that passed
 * the self-test (the portable SWAR loop as reference) is timed on a small
 * synthetic block in that mode's access pattern, and the fastest is cached.
 * The modes: "batch" (SH_BATCH_MIN or more queries share each database chunk;
 * blocked chunks where the path has them) and "single" (fewer queries, and
 * radius search). Widths up to SH_SLOT_MAX bytes have a slot each; wider
 * codes share one. sh_set_popcount_path() forces one path for every width
 * and mode instead.
 *
 * SH_EMULATE_AVX512 (test harness only) compiles every path, AVX-512
 * included, against SIMDe's portable intrinsics, so the AVX-512 kernels run
 * and are checked on any CPU (tests/test_kernels.py).
 */
#ifndef SKLEARN_HASH_POPCOUNT_H
#define SKLEARN_HASH_POPCOUNT_H

#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#if defined(SH_EMULATE_AVX512)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define SH_X86_DISPATCH 1
#define SH_HAVE_AVX512 1
#define SH_TARGET(t)
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SH_X86_DISPATCH 1
#define SH_TARGET(t) __attribute__((target(t)))
#if (defined(__clang__) && __clang_major__ >= 6) || \
    (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 8)
#define SH_HAVE_AVX512 1
#endif
#else
#define SH_TARGET(t)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SH_INLINE static inline __attribute__((always_inline))
#define SH_MAYBE_UNUSED __attribute__((unused))
#define SH_CTZ(x) __builtin_ctz(x)
#else
#define SH_INLINE static inline
#define SH_MAYBE_UNUSED
SH_INLINE int SH_CTZ(unsigned x) { int n = 0; while (!(x & 1u)) { x >>= 1; n++; } return n; }
#endif

typedef void (*sh_hamming_row_fn)(const uint8_t *, const uint8_t *, int64_t, int64_t,
                                  int32_t *);
/* distances below bound only: offset j into cand (increasing), distance into
 * dist[j]; returns how many. dist[j] of other codes may be overwritten. */
typedef int64_t (*sh_row_below_fn)(const uint8_t *, const uint8_t *, int64_t, int64_t,
                                   int32_t, int32_t *, int32_t *);
/* a chunk's first n - n % 8 codes rearranged for a batch of queries (blocks of
 * eight codes, word-major), and the fused row over it; the last codes are read
 * from the chunk as stored */
typedef void (*sh_block_fn)(const uint8_t *, int64_t, int64_t, uint64_t *);
typedef int64_t (*sh_below_blocked_fn)(const uint8_t *, const uint64_t *, const uint8_t *,
                                       int64_t, int64_t, int32_t, int32_t *, int32_t *);

SH_INLINE int sh_popcount64_swar(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

SH_INLINE uint64_t sh_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* codes need not be 8-byte aligned */
    return v;
}

/* The scalar distance loops; POPCOUNT is a function-like macro. Widths 8, 16,
 * 24, 32, 64, 128, the embedding widths 48 and 96 (384- and 768-bit sign
 * codes) and 4 (32-bit codes) get a constant trip count so the compiler
 * unrolls (a run-time trip count costs about 2x per word). NAME##_below is
 * the fused k-NN variant: the branch is taken
 * rarely once the heap is full, so it predicts well. */
#define SH_DEFINE_ROW(NAME, ATTR, POPCOUNT)                                        \
    SH_INLINE int32_t NAME##_one(const uint8_t *q, const uint8_t *d, int64_t nb) { \
        int32_t acc = 0;                                                           \
        int64_t b = 0;                                                             \
        for (; b + 8 <= nb; b += 8) acc += POPCOUNT(sh_load64(q + b) ^ sh_load64(d + b)); \
        if (nb - b >= 4) { /* a 32-bit word of the tail */                        \
            uint32_t x, y;                                                         \
            memcpy(&x, q + b, 4);                                                  \
            memcpy(&y, d + b, 4);                                                  \
            acc += POPCOUNT((uint64_t)(x ^ y));                                    \
            b += 4;                                                                \
        }                                                                          \
        if (b < nb) { /* the last 1-3 bytes as one word, one popcount */          \
            uint64_t x = 0;                                                        \
            int64_t t;                                                             \
            for (t = 0; b + t < nb; t++) x |= (uint64_t)(q[b + t] ^ d[b + t]) << (8 * t); \
            acc += POPCOUNT(x);                                                    \
        }                                                                          \
        return acc;                                                                \
    }                                                                              \
    ATTR static void NAME(const uint8_t *q, const uint8_t *db, int64_t n,           \
                          int64_t nb, int32_t *out) {                              \
        int64_t j;                                                                 \
        switch (nb) {                                                              \
        case 4: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 4, 4); break;    \
        case 8: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 8, 8); break;    \
        case 16: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 16, 16); break; \
        case 32: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 32, 32); break; \
        case 64: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 64, 64); break; \
        case 24: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 24, 24); break; \
        case 128: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 128, 128); break; \
        case 48: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 48, 48); break; \
        case 96: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * 96, 96); break; \
        default: for (j = 0; j < n; j++) out[j] = NAME##_one(q, db + j * nb, nb);        \
        }                                                                          \
    }                                                                              \
    SH_INLINE int64_t NAME##_below_w(const uint8_t *q, const uint8_t *db, int64_t n, \
                                     int64_t nb, int32_t bound, int32_t *dist,     \
                                     int32_t *cand) {                              \
        int64_t j, c = 0;                                                          \
        for (j = 0; j < n; j++) {                                                  \
            int32_t d = NAME##_one(q, db + j * nb, nb);                            \
            if (d < bound) {                                                       \
                dist[j] = d;                                                       \
                cand[c++] = (int32_t)j;                                            \
            }                                                                      \
        }                                                                          \
        return c;                                                                  \
    }                                                                              \
    ATTR static int64_t NAME##_below(const uint8_t *q, const uint8_t *db, int64_t n,  \
                                     int64_t nb, int32_t bound, int32_t *dist,     \
                                     int32_t *cand) {                              \
        switch (nb) {                                                              \
        case 8: return NAME##_below_w(q, db, n, 8, bound, dist, cand);             \
        case 16: return NAME##_below_w(q, db, n, 16, bound, dist, cand);           \
        case 32: return NAME##_below_w(q, db, n, 32, bound, dist, cand);           \
        case 64: return NAME##_below_w(q, db, n, 64, bound, dist, cand);           \
        case 24: return NAME##_below_w(q, db, n, 24, bound, dist, cand);           \
        case 128: return NAME##_below_w(q, db, n, 128, bound, dist, cand);         \
        case 48: return NAME##_below_w(q, db, n, 48, bound, dist, cand);           \
        case 96: return NAME##_below_w(q, db, n, 96, bound, dist, cand);           \
        default: return NAME##_below_w(q, db, n, nb, bound, dist, cand);           \
        }                                                                          \
    }

SH_DEFINE_ROW(sh_row_generic, , sh_popcount64_swar)

#if defined(SH_X86_DISPATCH)
#if defined(SH_EMULATE_AVX512)
#define SH_POPCNT_BUILTIN(x) sh_popcount64_swar(x)
#else
#define SH_POPCNT_BUILTIN(x) __builtin_popcountll(x)
#endif
SH_DEFINE_ROW(sh_row_popcnt, SH_TARGET("popcnt"), SH_POPCNT_BUILTIN)

/* The fused k-NN row of codes j..n-1 on the POPCNT loop, after a vector loop
 * that emitted c candidates for codes 0..j-1; returns the new count. */
SH_TARGET("popcnt") SH_INLINE int64_t sh_below_tail(const uint8_t *q, const uint8_t *db,
                                                        int64_t j, int64_t n, int64_t nb,
                                                        int32_t bound, int32_t *dist,
                                                        int32_t *cand, int64_t c) {
    int64_t m, extra;
    if (j >= n) return c;
    extra = sh_row_popcnt_below(q, db + j * nb, n - j, nb, bound, dist + j, cand + c);
    for (m = 0; m < extra; m++) cand[c + m] += (int32_t)j;
    return c + extra;
}

/* AVX2: byte popcounts by nibble lookup (Mula, Kurz, Lemire 2018), summed per
 * code with SAD. Specialised for 8- and 16-byte codes and multiples of 16
 * bytes from 32 on (48 and 96: 384- and 768-bit embedding codes); other
 * widths use the POPCNT loop. */
SH_TARGET("avx2") static inline __m256i sh_popcount_bytes_avx2(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* 64-bit lane sums of the byte popcounts of (a ^ b) */
SH_TARGET("avx2") static inline __m256i sh_xor_sad_avx2(__m256i a, const uint8_t *p) {
    __m256i x = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)p));
    return _mm256_sad_epu8(sh_popcount_bytes_avx2(x), _mm256_setzero_si256());
}

/* four 64-bit lanes holding small sums -> four int32 at out */
SH_TARGET("avx2") static inline void sh_store4_avx2(__m256i t, const __m256i order, int32_t *out) {
    _mm_storeu_si128((__m128i *)out,
                     _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(t, order)));
}

/* Fused rejection test: the four distances t (64-bit lanes) of codes
 * j..j+3, in code order, or in the order [j, j+2, j+1, j+3] when swapped;
 * those below bb go out as candidates, in code order. */
SH_TARGET("avx2") SH_INLINE int64_t sh_emit4_avx2(__m256i t, __m256i bb, int swapped,
                                                      int64_t j, int32_t *dist, int32_t *cand,
                                                      int64_t c) {
    unsigned mask = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(bb, t)));
    if (mask) {
        if (swapped) {
            mask = (mask & 9u) | ((mask & 2u) << 1) | ((mask & 4u) >> 1);
            sh_store4_avx2(t, _mm256_setr_epi32(0, 4, 2, 6, 1, 3, 5, 7), dist + j);
        } else {
            sh_store4_avx2(t, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7), dist + j);
        }
        do {
            cand[c++] = (int32_t)(j + SH_CTZ(mask));
            mask &= mask - 1;
        } while (mask);
    }
    return c;
}

/* sum over the whole 32-byte blocks of one code of popcount(q ^ d), as 4 lane
 * sums; byte counters (<= 8 per block) are flushed by SAD every 16 blocks */
SH_TARGET("avx2") SH_INLINE __m256i sh_code_sad_avx2(const uint8_t *q, const uint8_t *d,
                                                         int64_t nb) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i total = zero, bytes = zero;
    int64_t b;
    int blocks = 0;
    for (b = 0; b + 32 <= nb; b += 32) {
        __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(q + b)),
                                     _mm256_loadu_si256((const __m256i *)(d + b)));
        bytes = _mm256_add_epi8(bytes, sh_popcount_bytes_avx2(x));
        if (++blocks == 16) {
            total = _mm256_add_epi64(total, _mm256_sad_epu8(bytes, zero));
            bytes = zero;
            blocks = 0;
        }
    }
    return _mm256_add_epi64(total, _mm256_sad_epu8(bytes, zero));
}

/* 64-bit lane sums of popcount(qt ^ [the 16 bytes at lo, the 16 at hi]) */
SH_TARGET("avx2") SH_INLINE __m256i sh_tail_pair_avx2(__m256i qt, const uint8_t *lo,
                                                          const uint8_t *hi) {
    __m256i d = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)lo)),
        _mm_loadu_si128((const __m128i *)hi), 1);
    return _mm256_sad_epu8(sh_popcount_bytes_avx2(_mm256_xor_si256(qt, d)),
                           _mm256_setzero_si256());
}

/* distances of codes j..j+3 of a width that is a multiple of 16 (at least 32),
 * as four 64-bit lanes in code order: transpose-add the lane sums. A 16-byte
 * tail (48-, 80-, 112-byte codes: 384-bit embeddings) goes two codes to a
 * vector, 6 lookups per 4 codes of 48 bytes instead of 8 with zero padding. */
SH_TARGET("avx2") SH_INLINE __m256i sh_four_sums_avx2(const uint8_t *q, const uint8_t *db,
                                                          int64_t nb) {
    __m256i sa = sh_code_sad_avx2(q, db, nb), sb = sh_code_sad_avx2(q, db + nb, nb);
    __m256i sc = sh_code_sad_avx2(q, db + 2 * nb, nb), sd = sh_code_sad_avx2(q, db + 3 * nb, nb);
    __m256i t1 = _mm256_add_epi64(_mm256_unpacklo_epi64(sa, sb), _mm256_unpackhi_epi64(sa, sb));
    __m256i t2 = _mm256_add_epi64(_mm256_unpacklo_epi64(sc, sd), _mm256_unpackhi_epi64(sc, sd));
    __m256i sums = _mm256_add_epi64(_mm256_permute2x128_si256(t1, t2, 0x20),
                                    _mm256_permute2x128_si256(t1, t2, 0x31));
    if (nb % 32) {
        const int64_t t = nb - 16;
        const __m256i qt = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(q + t)));
        /* lanes [a a c c] and [b b d d] -> [a b c d] */
        __m256i ac = sh_tail_pair_avx2(qt, db + t, db + 2 * nb + t);
        __m256i bd = sh_tail_pair_avx2(qt, db + nb + t, db + 3 * nb + t);
        sums = _mm256_add_epi64(sums, _mm256_add_epi64(_mm256_unpacklo_epi64(ac, bd),
                                                        _mm256_unpackhi_epi64(ac, bd)));
    }
    return sums;
}

/* distance of one code whose width is a multiple of 8, on the scalar POPCNT
 * unit (runs on other ports than the vector lookups, so the two overlap) */
SH_TARGET("popcnt") SH_INLINE int32_t sh_scalar_code(const uint8_t *q, const uint8_t *d,
                                                         int64_t nb) {
    int32_t acc = 0;
    int64_t b;
    for (b = 0; b < nb; b += 8) acc += (int32_t)SH_POPCNT_BUILTIN(sh_load64(q + b) ^ sh_load64(d + b));
    return acc;
}

/* Codes of 32 bytes and more (multiples of 16): per step, 4 * SH_WIDE_GROUPS
 * codes on the vector unit and SH_WIDE_SCALAR(nb) codes on the scalar POPCNT
 * unit (the mix measured fastest on Zen 3; 5-20 % over vector only, 25 % at
 * 48 and 96 bytes). */
#ifndef SH_WIDE_SCALAR
#define SH_WIDE_SCALAR(nb) \
    ((nb) == 32 ? 4 : (nb) == 48 ? 2 : (nb) == 64 || (nb) == 96 ? 1 : 0)
#endif
#ifndef SH_WIDE_GROUPS
#define SH_WIDE_GROUPS(nb) 1
#endif

SH_TARGET("avx2,popcnt") SH_INLINE void sh_row_wide_avx2(const uint8_t *q, const uint8_t *db,
                                                             int64_t n, int64_t nb, int32_t *out) {
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const int64_t step = 4 + SH_WIDE_SCALAR(nb);
    int64_t j = 0, m;
    for (; j + step <= n; j += step) {
        sh_store4_avx2(sh_four_sums_avx2(q, db + j * nb, nb), order, out + j);
        for (m = 4; m < step; m++) out[j + m] = sh_scalar_code(q, db + (j + m) * nb, nb);
    }
    for (; j < n; j++) out[j] = sh_scalar_code(q, db + j * nb, nb);
}

SH_TARGET("avx2,popcnt") SH_INLINE int64_t sh_below_wide_avx2(
    const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb, int32_t bound, int32_t *dist,
    int32_t *cand) {
    const __m256i bb = _mm256_set1_epi64x(bound);
    const int64_t vec = 4 * SH_WIDE_GROUPS(nb), step = vec + SH_WIDE_SCALAR(nb);
    int64_t j = 0, c = 0, m;
    int32_t d;
    for (; j + step <= n; j += step) {
        for (m = 0; m < vec; m += 4)
            c = sh_emit4_avx2(sh_four_sums_avx2(q, db + (j + m) * nb, nb), bb, 0, j + m, dist,
                              cand, c);
        for (m = vec; m < step; m++) {
            d = sh_scalar_code(q, db + (j + m) * nb, nb);
            if (d < bound) {
                dist[j + m] = d;
                cand[c++] = (int32_t)(j + m);
            }
        }
    }
    for (; j < n; j++) {
        d = sh_scalar_code(q, db + j * nb, nb);
        if (d < bound) {
            dist[j] = d;
            cand[c++] = (int32_t)j;
        }
    }
    return c;
}

SH_TARGET("avx2,popcnt") static void sh_row_avx2(const uint8_t *q, const uint8_t *db,
                                                 int64_t n, int64_t nb, int32_t *out) {
    int64_t j = 0;
    if (nb == 8) {
        const __m256i qq = _mm256_set1_epi64x((long long)sh_load64(q));
        const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        for (; j + 4 <= n; j += 4)
            sh_store4_avx2(sh_xor_sad_avx2(qq, db + j * 8), order, out + j);
    } else if (nb == 16) {
        const __m256i qq = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q));
        /* lanes after unpack: [a c b d]; dwords 0,4,2,6 give a b c d */
        const __m256i order = _mm256_setr_epi32(0, 4, 2, 6, 1, 3, 5, 7);
        /* four codes on the vector unit and four on the scalar POPCNT unit per
         * step: the two use different ports, so they overlap */
        const uint64_t q0 = sh_load64(q), q1 = sh_load64(q + 8);
        int64_t m;
        for (; j + 8 <= n; j += 8) {
            const uint8_t *d = db + j * 16;
            __m256i s1 = sh_xor_sad_avx2(qq, d);
            __m256i s2 = sh_xor_sad_avx2(qq, d + 32);
            __m256i t = _mm256_add_epi64(_mm256_unpacklo_epi64(s1, s2),
                                         _mm256_unpackhi_epi64(s1, s2));
            sh_store4_avx2(t, order, out + j);
            for (m = 4; m < 8; m++)
                out[j + m] = SH_POPCNT_BUILTIN(sh_load64(d + 16 * m) ^ q0) +
                             SH_POPCNT_BUILTIN(sh_load64(d + 16 * m + 8) ^ q1);
        }
    } else if (nb == 32) {
        sh_row_wide_avx2(q, db, n, 32, out);
        return;
    } else if (nb == 64) {
        sh_row_wide_avx2(q, db, n, 64, out);
        return;
    } else if (nb == 128) {
        sh_row_wide_avx2(q, db, n, 128, out);
        return;
    } else if (nb == 48) {
        sh_row_wide_avx2(q, db, n, 48, out);
        return;
    } else if (nb == 96) {
        sh_row_wide_avx2(q, db, n, 96, out);
        return;
    } else if (nb >= 32 && nb % 16 == 0) {
        sh_row_wide_avx2(q, db, n, nb, out);
        return;
    }
    if (j < n) sh_row_popcnt(q, db + j * nb, n - j, nb, out + j);
}

/* distances of four 16-byte codes at d (two per vector), lanes [a c b d] */
SH_TARGET("avx2") SH_INLINE __m256i sh_four16_avx2(__m256i qq, const uint8_t *d) {
    __m256i s1 = sh_xor_sad_avx2(qq, d), s2 = sh_xor_sad_avx2(qq, d + 32);
    return _mm256_add_epi64(_mm256_unpacklo_epi64(s1, s2), _mm256_unpackhi_epi64(s1, s2));
}

/* 16-byte codes, fused with the k-NN rejection test: per step, eight codes on
 * the vector unit and four on the scalar POPCNT unit (measured on Zen 3: 20 %
 * faster than four and four, the branch and loop costs spread over more codes) */
SH_TARGET("avx2,popcnt") static int64_t sh_row_below_avx2_16(const uint8_t *q, const uint8_t *db,
                                                             int64_t n, int32_t bound,
                                                             int32_t *dist, int32_t *cand) {
    const __m256i qq = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q));
    const __m256i bb = _mm256_set1_epi64x(bound);
    const uint64_t q0 = sh_load64(q), q1 = sh_load64(q + 8);
    int64_t j = 0, c = 0, m;
    int32_t dm;
    for (; j + 12 <= n; j += 12) {
        const uint8_t *d = db + j * 16;
        c = sh_emit4_avx2(sh_four16_avx2(qq, d), bb, 1, j, dist, cand, c);
        c = sh_emit4_avx2(sh_four16_avx2(qq, d + 64), bb, 1, j + 4, dist, cand, c);
        for (m = 8; m < 12; m++) {
            dm = SH_POPCNT_BUILTIN(sh_load64(d + 16 * m) ^ q0) +
                 SH_POPCNT_BUILTIN(sh_load64(d + 16 * m + 8) ^ q1);
            if (dm < bound) {
                dist[j + m] = dm;
                cand[c++] = (int32_t)(j + m);
            }
        }
    }
    for (; j < n; j++) {
        dm = SH_POPCNT_BUILTIN(sh_load64(db + j * 16) ^ q0) +
             SH_POPCNT_BUILTIN(sh_load64(db + j * 16 + 8) ^ q1);
        if (dm < bound) {
            dist[j] = dm;
            cand[c++] = (int32_t)j;
        }
    }
    return c;
}

SH_TARGET("avx2,popcnt") static int64_t sh_below_avx2(const uint8_t *q, const uint8_t *db,
                                                      int64_t n, int64_t nb, int32_t bound,
                                                      int32_t *dist, int32_t *cand) {
    int64_t j = 0, c = 0;
    if (nb == 16) return sh_row_below_avx2_16(q, db, n, bound, dist, cand);
    if (nb == 32) return sh_below_wide_avx2(q, db, n, 32, bound, dist, cand);
    if (nb == 64) return sh_below_wide_avx2(q, db, n, 64, bound, dist, cand);
    if (nb == 128) return sh_below_wide_avx2(q, db, n, 128, bound, dist, cand);
    if (nb == 48) return sh_below_wide_avx2(q, db, n, 48, bound, dist, cand);
    if (nb == 96) return sh_below_wide_avx2(q, db, n, 96, bound, dist, cand);
    if (nb >= 32 && nb % 16 == 0) return sh_below_wide_avx2(q, db, n, nb, bound, dist, cand);
    if (nb == 8) {
        const __m256i qq = _mm256_set1_epi64x((long long)sh_load64(q));
        const __m256i bb = _mm256_set1_epi64x(bound);
        for (; j + 4 <= n; j += 4)
            c = sh_emit4_avx2(sh_xor_sad_avx2(qq, db + j * 8), bb, 0, j, dist, cand, c);
    }
    return sh_below_tail(q, db, j, n, nb, bound, dist, cand, c);
}

/* first j >= start with d[j] < bound, else n: eight distances per compare */
SH_TARGET("avx2") static int64_t sh_next_below_avx2(const int32_t *d, int64_t n,
                                                    int32_t bound, int64_t j) {
    const __m256i b = _mm256_set1_epi32(bound);
    for (; j + 16 <= n; j += 16) {
        __m256i lo = _mm256_cmpgt_epi32(b, _mm256_loadu_si256((const __m256i *)(d + j)));
        __m256i hi = _mm256_cmpgt_epi32(b, _mm256_loadu_si256((const __m256i *)(d + j + 8)));
        if (!_mm256_testz_si256(_mm256_or_si256(lo, hi), _mm256_or_si256(lo, hi))) break;
    }
    for (; j < n; j++)
        if (d[j] < bound) return j;
    return n;
}

#if defined(SH_HAVE_AVX512)
#include "_popcount_avx512.h"
#endif
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define SH_HAVE_BUILTIN_PATH 1
#define SH_POPCNT_BUILTIN(x) __builtin_popcountll(x)
SH_DEFINE_ROW(sh_row_builtin, , SH_POPCNT_BUILTIN)
#endif

/* ---- test-only injected path: correct but deliberately slow ------------- */
/* The dispatch tests switch it on (sh_enable_slow_path) and check that the
 * measured choice never picks it although it comes first in the table. */
static int sh_slow_path_enabled = 0;

static void sh_row_slow(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                        int32_t *out) {
    int r;
    for (r = 0; r < 4; r++) sh_row_generic(q, db, n, nb, out);
}

static int64_t sh_below_slow(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                             int32_t bound, int32_t *dist, int32_t *cand) {
    int r;
    int64_t c = 0;
    for (r = 0; r < 4; r++) c = sh_row_generic_below(q, db, n, nb, bound, dist, cand);
    return c;
}

/* ---- the path table ------------------------------------------------------ */
typedef struct {
    const char *name;
    sh_hamming_row_fn row;
    sh_row_below_fn below;
    sh_block_fn block; /* NULL: the path scans chunks as stored */
    sh_below_blocked_fn below_blocked;
    const char *blocked_name; /* the variant that scans blocked chunks */
} sh_path_t;

static const sh_path_t sh_paths[] = {
    {"slow", sh_row_slow, sh_below_slow, NULL, NULL, NULL},
#if defined(SH_HAVE_AVX512)
    {"avx512", sh_row_avx512, sh_below_avx512, sh_block_avx512, sh_below_blocked_avx512,
     "avx512 blocked"},
#endif
#if defined(SH_X86_DISPATCH)
    {"avx2", sh_row_avx2, sh_below_avx2, NULL, NULL, NULL},
    {"popcnt", sh_row_popcnt, sh_row_popcnt_below, NULL, NULL, NULL},
#elif defined(SH_HAVE_BUILTIN_PATH)
    {"builtin", sh_row_builtin, sh_row_builtin_below, NULL, NULL, NULL},
#endif
    {"generic", sh_row_generic, sh_row_generic_below, NULL, NULL, NULL},
};
#define SH_N_PATHS ((int)(sizeof(sh_paths) / sizeof(sh_paths[0])))
#define SH_GENERIC (SH_N_PATHS - 1)

/* blocked chunks hold 64-bit words: widths that are multiples of 8 bytes (an
 * 8-byte code is a word: its chunk is already in that layout) */
SH_INLINE int sh_blockable(int64_t nb) { return nb >= 16 && nb % 8 == 0; }

/* whether path p scans nb-byte chunks blocked in a batch */
SH_INLINE int sh_path_blocks(int p, int64_t nb) {
    return sh_paths[p].block != NULL && sh_blockable(nb);
}

static int sh_find_path(const char *name) {
    int p;
    for (p = 0; p < SH_N_PATHS; p++)
        if (strcmp(sh_paths[p].name, name) == 0) return p;
    return -1;
}

/* Whether path p can run on this CPU (the self-test is separate). */
static int sh_cpu_has(int p) {
    const char *name = sh_paths[p].name;
    if (strcmp(name, "slow") == 0) return sh_slow_path_enabled;
#if defined(SH_X86_DISPATCH) && !defined(SH_EMULATE_AVX512)
    __builtin_cpu_init();
    if (strcmp(name, "popcnt") == 0) return __builtin_cpu_supports("popcnt");
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
               __builtin_cpu_supports("popcnt");
#endif
    return 1;
}

/* Returns 1 when the path exists on this build and CPU, 0 otherwise. */
SH_MAYBE_UNUSED static int sh_path_available(const char *name) {
    int p = sh_find_path(name);
    return p >= 0 && sh_cpu_has(p);
}

/* ---- self-test: every path against the SWAR loop -------------------------- */
static uint64_t sh_xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void sh_fill_random(uint8_t *p, int64_t n, uint64_t seed) {
    int64_t i;
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (i = 0; i < n; i++) p[i] = (uint8_t)(sh_xorshift(&s) >> 32);
}

/* 1 when a fused row's c candidates (cand, dist) are exactly the codes
 * whose distance in want (n codes) is below bound, in order */
static int sh_check_below(int64_t c, const int32_t *cand, const int32_t *dist,
                          const int32_t *want, int64_t n, int32_t bound) {
    int64_t j, expect_c = 0;
    int ok = 1;
    for (j = 0; j < n; j++) {
        if (want[j] >= bound) continue;
        ok &= expect_c < c && cand[expect_c] == j && dist[j] == want[j];
        expect_c++;
    }
    return ok && c == expect_c;
}

/* Rows, fused k-NN rows and blocked fused rows of path p agree with the SWAR
 * loop on every width class the paths specialise, for bounds that keep none,
 * some and all codes. 1 when they do. */
static int sh_self_test_path(int p) {
    static const int64_t widths[] = {1, 3, 4, 8, 12, 16, 24, 32, 40, 48, 64, 72, 80,
                                     96, 128, 130, 192};
    const int64_t n = 45; /* not a multiple of 4, 6 or 8: the tails run too */
    uint8_t codes[(45 + 1) * 192];
    uint64_t blocks[45 * 192 / 8];
    int32_t want[45], got[45], dist[45], cand[45];
    int w, j, bi, ok = 1;
    for (w = 0; ok && w < (int)(sizeof(widths) / sizeof(widths[0])); w++) {
        const int64_t nb = widths[w];
        const uint8_t *db = codes + nb;
        int32_t bounds[4];
        sh_fill_random(codes, (n + 1) * nb, (uint64_t)nb);
        memcpy(codes + 5 * nb, codes, (size_t)nb); /* a zero distance */
        sh_row_generic(codes, db, n, nb, want);
        sh_paths[p].row(codes, db, n, nb, got);
        for (j = 0; j < n; j++) ok &= got[j] == want[j];
        bounds[0] = 0;
        bounds[1] = (int32_t)(4 * nb);
        bounds[2] = (int32_t)(4 * nb) + 1;
        bounds[3] = (int32_t)(8 * nb) + 1;
        if (sh_path_blocks(p, nb)) sh_paths[p].block(db, n, nb, blocks);
        for (bi = 0; ok && bi < 4; bi++) {
            ok &= sh_check_below(sh_paths[p].below(codes, db, n, nb, bounds[bi], dist, cand),
                                 cand, dist, want, n, bounds[bi]);
            if (sh_path_blocks(p, nb))
                ok &= sh_check_below(sh_paths[p].below_blocked(codes, blocks, db, n, nb,
                                                               bounds[bi], dist, cand),
                                     cand, dist, want, n, bounds[bi]);
        }
    }
    return ok;
}

/* ---- per-width, per-mode dispatch ---------------------------------------- */
/* What is chosen is a variant: a path and a chunk layout, v = 2 p + blocked
 * (blocked only in a batch, for a path with a blocked layout). */
/* widths up to 1024 bits have a slot each; wider codes share slot 0 if a
 * multiple of 8 bytes (the blocked layouts apply), else SH_SLOT_ODD */
#define SH_SLOT_MAX 128
#define SH_SLOT_ODD (SH_SLOT_MAX + 1)
#define SH_N_SLOTS (SH_SLOT_MAX + 2)
#define SH_HOW_NONE 0
#define SH_HOW_MEASURED 1
#define SH_HOW_FORCED 2
#define SH_HOW_ONLY 3 /* one usable variant: nothing to measure */
#define SH_MODE_BATCH 0  /* SH_BATCH_MIN or more queries share each database chunk */
#define SH_MODE_SINGLE 1 /* fewer (one query per call), and radius search */
#define SH_N_MODES 2
#define SH_BATCH_MIN 32
#define SH_N_VARIANTS (2 * SH_N_PATHS)
#define SH_VARIANTS_MAX 32

static int sh_usable[16];       /* per path: CPU has it and it passed the self-test */
static int sh_usable_ready = 0;
static int sh_forced = -1;      /* path forced for every width, or -1 */
/* per mode and width slot: chosen variant + 1 (0 = not chosen yet), how, and
 * the measured ns per distance of every variant (0 if not measured) */
static int sh_slot_variant[SH_N_MODES][SH_N_SLOTS];
static int sh_slot_how[SH_N_MODES][SH_N_SLOTS];
static double sh_slot_ns[SH_N_MODES][SH_N_SLOTS][SH_VARIANTS_MAX];

#if defined(__GNUC__) || defined(__clang__)
static char sh_lock_flag = 0;
static void sh_lock(void) { while (__atomic_test_and_set(&sh_lock_flag, __ATOMIC_ACQUIRE)) {} }
static void sh_unlock(void) { __atomic_clear(&sh_lock_flag, __ATOMIC_RELEASE); }
#define SH_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SH_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
static void sh_lock(void) {}
static void sh_unlock(void) {}
#define SH_LOAD(p) (*(p))
#define SH_STORE(p, v) (*(p) = (v))
#endif

SH_INLINE int sh_slot(int64_t nb) {
    return nb <= SH_SLOT_MAX ? (int)nb : nb % 8 ? SH_SLOT_ODD : 0;
}

static const char *sh_variant_name(int v) {
    return v & 1 ? sh_paths[v >> 1].blocked_name : sh_paths[v >> 1].name;
}

/* the self-test runs once per process, for every path the CPU has */
static void sh_init_usable(void) {
    int p;
    if (sh_usable_ready) return;
    for (p = 0; p < SH_N_PATHS; p++) sh_usable[p] = sh_cpu_has(p) && sh_self_test_path(p);
    sh_usable[SH_GENERIC] = 1;
    sh_usable_ready = 1;
}

/* whether variant v can search nb-byte codes in a mode */
static int sh_variant_ok(int v, int64_t nb, int mode) {
    return sh_usable[v >> 1] && (!(v & 1) || (mode == SH_MODE_BATCH && sh_path_blocks(v >> 1, nb)));
}

static double sh_cpu_seconds(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* One pass of variant v over a synthetic block of rows nb-byte codes by
 * n_queries queries, in the access pattern of the mode: a batch runs the
 * fused k-NN rows (after blocking the chunk, for a blocked variant); a
 * single query runs the fused rows and the plain rows (radius search). */
static void sh_measure_pass(int v, int mode, const uint8_t *codes, int64_t rows, int64_t nb,
                            int n_queries, int32_t bound, int32_t *dist, int32_t *cand,
                            uint64_t *blocks) {
    const sh_path_t *path = &sh_paths[v >> 1];
    int i;
    if (v & 1) path->block(codes, rows, nb, blocks);
    for (i = 0; i < n_queries; i++) {
        const uint8_t *q = codes + (rows + i) * nb;
        if (v & 1) {
            path->below_blocked(q, blocks, codes, rows, nb, bound, dist, cand);
        } else {
            path->below(q, codes, rows, nb, bound, dist, cand);
            if (mode == SH_MODE_SINGLE) path->row(q, codes, rows, nb, dist);
        }
    }
}

/* Time every usable variant on a synthetic block of nb-byte codes (one
 * cache chunk of codes, reused by 8 queries, or SH_BATCH_MIN in a batch; the
 * fused k-NN rows at a bound that keeps few codes) in the access pattern of
 * the mode, and return the fastest. Variants alternate within each round and
 * each keeps its best round, so a burst of load from other jobs hits them
 * alike. */
static int sh_measure_width(int64_t nb, int mode, double *ns) {
    const int64_t rows = nb >= 256 ? 64 : nb <= 16 ? 1024 : 16384 / nb;
    const int n_queries = mode == SH_MODE_BATCH ? SH_BATCH_MIN : 8, rounds = 7, passes = 2;
    const int kernels = mode == SH_MODE_SINGLE ? 2 : 1;
    /* distances have mean 4 nb and sd sqrt(2 nb): 3 sd below the mean rejects
     * nearly every code, as a k-NN scan does once its heap is full */
    int32_t sd = 1, bound;
    uint8_t *codes = (uint8_t *)malloc((size_t)((rows + n_queries) * nb));
    int32_t *dist = (int32_t *)malloc((size_t)rows * sizeof(int32_t));
    int32_t *cand = (int32_t *)malloc((size_t)rows * sizeof(int32_t));
    uint64_t *blocks = (uint64_t *)malloc((size_t)(rows * nb + 8));
    double best[SH_VARIANTS_MAX];
    int v, r, s, choice = 2 * SH_GENERIC;
    if (!codes || !dist || !cand || !blocks) {
        free(codes); free(dist); free(cand); free(blocks);
        return choice;
    }
    while ((int64_t)(sd + 1) * (sd + 1) <= 2 * nb) sd++;
    bound = (int32_t)(4 * nb) - 3 * sd;
    sh_fill_random(codes, (rows + n_queries) * nb, 12345 + (uint64_t)nb);
    for (v = 0; v < SH_N_VARIANTS; v++) best[v] = 1e30;
    for (r = 0; r < rounds; r++)
        for (v = 0; v < SH_N_VARIANTS; v++) {
            double t0;
            if (!sh_variant_ok(v, nb, mode)) continue;
            t0 = sh_cpu_seconds();
            for (s = 0; s < passes; s++)
                sh_measure_pass(v, mode, codes, rows, nb, n_queries, bound, dist, cand, blocks);
            t0 = sh_cpu_seconds() - t0;
            if (t0 < best[v]) best[v] = t0;
        }
    for (v = 0; v < SH_N_VARIANTS; v++) {
        const int ok = sh_variant_ok(v, nb, mode);
        ns[v] = ok ? 1e9 * best[v] / ((double)kernels * passes * n_queries * rows) : 0.0;
        if (ok && best[v] < best[choice]) choice = v;
    }
    free(codes); free(dist); free(cand); free(blocks);
    return choice;
}

/* Variant for nb-byte codes in a mode: the forced path (blocked in a batch
 * where it can be), else the cached measured choice (measured now if this
 * width is new to the mode). Safe to call from several threads. */
static int sh_choose(int64_t nb, int mode) {
    int slot = sh_slot(nb), v, n_ok = 0, only = 2 * SH_GENERIC;
    int *chosen = &sh_slot_variant[mode][slot];
    const int forced = SH_LOAD(&sh_forced); /* once: a path may be forced meanwhile */
    if (forced >= 0) return 2 * forced + (mode == SH_MODE_BATCH && sh_path_blocks(forced, nb));
    v = SH_LOAD(chosen);
    if (v) return v - 1;
    sh_lock();
    if (!*chosen) {
        sh_init_usable();
        for (v = 0; v < SH_N_VARIANTS; v++) {
            sh_slot_ns[mode][slot][v] = 0.0;
            if (sh_variant_ok(v, nb, mode)) { n_ok++; only = v; }
        }
        if (n_ok > 1) {
            only = sh_measure_width(nb, mode, sh_slot_ns[mode][slot]);
            sh_slot_how[mode][slot] = SH_HOW_MEASURED;
        } else {
            sh_slot_how[mode][slot] = SH_HOW_ONLY;
        }
        SH_STORE(chosen, only + 1);
    }
    v = *chosen - 1;
    sh_unlock();
    return v;
}

/* Forget every per-width choice (they are measured again on next use). */
SH_MAYBE_UNUSED static void sh_reset_choices(void) {
    int s, m;
    sh_lock();
    for (m = 0; m < SH_N_MODES; m++)
        for (s = 0; s < SH_N_SLOTS; s++) {
            sh_slot_variant[m][s] = 0;
            sh_slot_how[m][s] = SH_HOW_NONE;
        }
    sh_unlock();
}

/* Test hook: switch the injected slow path on or off (self-test redone). */
SH_MAYBE_UNUSED static void sh_enable_slow_path(int on) {
    sh_slow_path_enabled = on;
    sh_usable_ready = 0;
    sh_reset_choices();
}

/* Force path name for every width ("best" or "auto": measured per width).
 * Returns 0 (and changes nothing) for a path this build or CPU lacks. */
SH_MAYBE_UNUSED static int sh_set_popcount_path(const char *name) {
    int p;
    if (strcmp(name, "best") == 0 || strcmp(name, "auto") == 0) {
        SH_STORE(&sh_forced, -1);
        return 1;
    }
    p = sh_find_path(name);
    if (p < 0 || !sh_cpu_has(p)) return 0;
    SH_STORE(&sh_forced, p);
    return 1;
}

/* The forced path, or "auto" when each width uses its measured choice. */
SH_MAYBE_UNUSED static const char *sh_popcount_path(void) {
    return sh_forced >= 0 ? sh_paths[sh_forced].name : "auto";
}

/* The variant nb-byte codes use in a mode: a path name, with " blocked" for
 * a batch that blocks its chunks. */
SH_MAYBE_UNUSED static const char *sh_width_path(int64_t nb, int mode) {
    return sh_variant_name(sh_choose(nb, mode));
}

/* How the path of nb-byte codes was chosen in a mode: "forced", "measured",
 * "only path", or "" before the width has been searched in that mode. */
SH_MAYBE_UNUSED static const char *sh_width_how(int64_t nb, int mode) {
    static const char *names[] = {"", "measured", "forced", "only path"};
    if (sh_forced >= 0) return names[SH_HOW_FORCED];
    return names[sh_slot_how[mode][sh_slot(nb)]];
}

/* ns per distance that variant name took when nb-byte codes were measured in
 * a mode (0 if it was not measured). */
SH_MAYBE_UNUSED static double sh_width_ns(int64_t nb, int mode, const char *name) {
    int v;
    for (v = 0; v < SH_N_VARIANTS; v++)
        if (sh_variant_name(v) && strcmp(sh_variant_name(v), name) == 0)
            return sh_slot_ns[mode][sh_slot(nb)][v];
    return 0.0;
}

/* Self-test result of path name (runs the self-test once per process). */
SH_MAYBE_UNUSED static int sh_path_passes_self_test(const char *name) {
    int p = sh_find_path(name);
    if (p < 0 || !sh_cpu_has(p)) return 0;
    sh_lock();
    sh_init_usable();
    sh_unlock();
    return sh_usable[p];
}

SH_MAYBE_UNUSED static void sh_hamming_row(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                           int32_t *out) {
    sh_paths[sh_choose(nb, SH_MODE_SINGLE) >> 1].row(q, db, n, nb, out);
}

/* Distances of a chunk, keeping only codes closer than bound: their offsets go
 * to cand (in increasing order), their distances to dist[offset]. */
SH_MAYBE_UNUSED static int64_t sh_row_below(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                            int32_t bound, int32_t *dist, int32_t *cand) {
    return sh_paths[sh_choose(nb, SH_MODE_SINGLE) >> 1].below(q, db, n, nb, bound, dist, cand);
}

/* ---- k-NN scans: a block of queries over each database chunk -------------- */
/* The variant of a scan of nb-byte codes whose chunks n_queries share. */
SH_MAYBE_UNUSED static int sh_scan_variant(int64_t nb, int64_t n_queries) {
    return sh_choose(nb, n_queries >= SH_BATCH_MIN ? SH_MODE_BATCH : SH_MODE_SINGLE);
}

/* Whether variant v scans blocked chunks. */
SH_MAYBE_UNUSED static int sh_scan_blocks(int v) { return v & 1; }

/* Blocked layout of a chunk of n codes into out (n * nb bytes, 64-byte
 * aligned for speed), for a variant that scans blocked chunks. */
SH_MAYBE_UNUSED static void sh_scan_block(int v, const uint8_t *db, int64_t n, int64_t nb,
                                          uint64_t *out) {
    sh_paths[v >> 1].block(db, n, nb, out);
}

/* The fused k-NN row of variant v over a chunk db of n codes (blocks: its
 * blocked layout, for a variant that scans blocked chunks). */
SH_MAYBE_UNUSED static int64_t sh_scan_below(int v, const uint8_t *q, const uint64_t *blocks,
                                             const uint8_t *db, int64_t n, int64_t nb,
                                             int32_t bound, int32_t *dist, int32_t *cand) {
    if (v & 1) return sh_paths[v >> 1].below_blocked(q, blocks, db, n, nb, bound, dist, cand);
    return sh_paths[v >> 1].below(q, db, n, nb, bound, dist, cand);
}

/* Index of the first distance below bound in d[start:n], or n. */
SH_MAYBE_UNUSED static int64_t sh_next_below(const int32_t *d, int64_t n, int32_t bound, int64_t start) {
#if defined(SH_X86_DISPATCH) && !defined(SH_EMULATE_AVX512)
    if (__builtin_cpu_supports("avx2")) return sh_next_below_avx2(d, n, bound, start);
#endif
    for (; start < n; start++)
        if (d[start] < bound) return start;
    return n;
}

#endif
