/* Asymmetric scores of one quantized query against a run of database codes.
 *
 * A query is P bit planes over the code's bits (P = query_bits): plane 0
 * holds its signs s (bit i set where the query value w_i > 0), plane p >= 1
 * bit p - 1 of its quantized magnitude m_i. The score of a code b is
 *
 *     sum_i (2 m_i + 1) [b_i != s_i]
 *         = popcount(x) + sum_{p >= 1} 2^p popcount(x & M_p),   x = b ^ s,
 *
 * a weighted Hamming distance: one XOR, then P popcounts per word (one
 * plain, P - 1 after an AND), summed by Horner's rule so no multiply is
 * needed. With P = 1 it is the Hamming distance.
 *
 * Paths, as in _popcount.h (whose CPU checks, target macros and SWAR
 * popcount they share): "avx512" (VPOPCNTDQ, 64 bytes a step, masked 64-bit
 * words for the rest), "avx2" (nibble-lookup byte counts, Horner on bytes,
 * SAD to 64-bit lanes; 16-byte steps in SSE), "popcnt" (scalar POPCNT),
 * "builtin" (aarch64) and "generic" (SWAR). Every path scores the bytes its
 * vectors do not cover with the scalar loop. The planes of a query are
 * stored P x SA_PLANE_STRIDE(nb) bytes, zero past nb, so vector loads of
 * planes never leave them; codes are read only within their nb bytes.
 *
 * Dispatch is per code width and measured, like the Hamming kernels': the
 * first search of a width times each path that the CPU has and that passed
 * the self-test against the SWAR loop, on a synthetic chunk with 4 planes,
 * and keeps the fastest. sa_set_path() forces one path for every width.
 */
#ifndef SKLEARN_HASH_ASYM_H
#define SKLEARN_HASH_ASYM_H

#include "_popcount.h"

#define SA_MAX_PLANES 8
/* bytes of one query plane: nb rounded up to whole 64-byte vectors */
#define SA_PLANE_STRIDE(nb) ((((nb) + 63) / 64) * 64)

typedef void (*sa_row_fn)(const uint8_t *planes, int n_planes, const uint8_t *db, int64_t n,
                          int64_t nb, int32_t *out);

/* The scalar score of bytes [from, nb) of code d; POPCOUNT a function-like
 * macro. Planes past plane 0 are read at offset p * stride. */
#define SA_DEFINE_SCALAR(NAME, ATTR, POPCOUNT)                                           \
    ATTR SH_INLINE int32_t NAME##_tail(const uint8_t *planes, int n_planes, int64_t stride, \
                                       const uint8_t *d, int64_t from, int64_t nb) {      \
        int64_t acc = 0, off;                                                            \
        int p;                                                                           \
        for (off = from; off < nb; off += 8) {                                           \
            uint64_t c = 0, x, s;                                                        \
            if (off + 8 <= nb) c = sh_load64(d + off);                                   \
            else memcpy(&c, d + off, (size_t)(nb - off));                                \
            x = c ^ sh_load64(planes + off);                                             \
            s = 0;                                                                       \
            for (p = n_planes - 1; p >= 1; p--)                                          \
                s = 2 * s + (uint64_t)POPCOUNT(x & sh_load64(planes + p * stride + off));  \
            acc += (int64_t)(2 * s + (uint64_t)POPCOUNT(x));                             \
        }                                                                                \
        return (int32_t)acc;                                                             \
    }                                                                                    \
    ATTR static void NAME##_row(const uint8_t *planes, int n_planes, const uint8_t *db,     \
                                int64_t n, int64_t nb, int32_t *out) {                    \
        const int64_t stride = SA_PLANE_STRIDE(nb);                                      \
        int64_t j;                                                                       \
        for (j = 0; j < n; j++)                                                          \
            out[j] = NAME##_tail(planes, n_planes, stride, db + j * nb, 0, nb);          \
    }

SA_DEFINE_SCALAR(sa_generic, , sh_popcount64_swar)

#if defined(SH_X86_DISPATCH)
SA_DEFINE_SCALAR(sa_popcnt, SH_TARGET("popcnt"), SH_POPCNT_BUILTIN)

/* AVX2: byte counts by nibble lookup. Horner's rule runs on the byte counts
 * (2 acc + count): a byte stays below 256 for up to five planes (8 * 31), so
 * planes 5..7 form a second group, summed apart and shifted by 5. */
#define SA_LUT4 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4

SH_TARGET("avx2") SH_INLINE __m256i sa_horner_avx2(__m256i lo, __m256i hi, const uint8_t *planes,
                                                   int64_t stride, int64_t off, int top,
                                                   int bottom) {
    const __m256i lut = _mm256_setr_epi8(SA_LUT4, SA_LUT4);
    __m256i acc = _mm256_setzero_si256();
    int p;
    for (p = top; p >= bottom; p--) {
        __m256i l = lo, h = hi;
        if (p > 0) {
            const __m256i m = _mm256_loadu_si256((const __m256i *)(planes + p * stride + off));
            l = _mm256_and_si256(l, m);
            h = _mm256_and_si256(h, _mm256_srli_epi16(m, 4));
        }
        acc = _mm256_add_epi8(_mm256_add_epi8(acc, acc),
                              _mm256_add_epi8(_mm256_shuffle_epi8(lut, l),
                                              _mm256_shuffle_epi8(lut, h)));
    }
    return _mm256_sad_epu8(acc, _mm256_setzero_si256());
}

/* four 64-bit lanes summing to the score of 32 code bytes at d (query
 * bytes at planes + off) */
SH_TARGET("avx2") SH_INLINE __m256i sa_block_avx2(const uint8_t *planes, int n_planes,
                                                  int64_t stride, const uint8_t *d,
                                                  int64_t off) {
    const __m256i low = _mm256_set1_epi8(0x0f);
    const __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)d),
                                       _mm256_loadu_si256((const __m256i *)(planes + off)));
    const __m256i lo = _mm256_and_si256(x, low);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    const int split = n_planes > 5 ? 5 : n_planes;
    __m256i total = sa_horner_avx2(lo, hi, planes, stride, off, split - 1, 0);
    if (n_planes > 5)
        total = _mm256_add_epi64(
            total, _mm256_slli_epi64(sa_horner_avx2(lo, hi, planes, stride, off, n_planes - 1, 5), 5));
    return total;
}

/* the same for 16 code bytes, in SSE registers (two 64-bit lanes) */
SH_TARGET("avx2") SH_INLINE __m128i sa_block_sse(const uint8_t *planes, int n_planes,
                                                 int64_t stride, const uint8_t *d, int64_t off) {
    const __m128i lut = _mm_setr_epi8(SA_LUT4);
    const __m128i low = _mm_set1_epi8(0x0f);
    const __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)d),
                                    _mm_loadu_si128((const __m128i *)(planes + off)));
    const __m128i lo = _mm_and_si128(x, low);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low);
    __m128i total = _mm_setzero_si128();
    int p0, p;
    for (p0 = 0; p0 < n_planes; p0 += 5) {
        const int top = n_planes - 1 < p0 + 4 ? n_planes - 1 : p0 + 4;
        __m128i acc = _mm_setzero_si128();
        for (p = top; p >= p0; p--) {
            __m128i l = lo, h = hi;
            if (p > 0) {
                const __m128i m = _mm_loadu_si128((const __m128i *)(planes + p * stride + off));
                l = _mm_and_si128(l, m);
                h = _mm_and_si128(h, _mm_srli_epi16(m, 4));
            }
            acc = _mm_add_epi8(_mm_add_epi8(acc, acc),
                               _mm_add_epi8(_mm_shuffle_epi8(lut, l), _mm_shuffle_epi8(lut, h)));
        }
        total = _mm_add_epi64(total, _mm_sll_epi64(_mm_sad_epu8(acc, _mm_setzero_si128()),
                                                   _mm_cvtsi32_si128(p0)));
    }
    return total;
}

SH_TARGET("avx2,popcnt") SH_INLINE void sa_row_avx2_impl(const uint8_t *planes, int n_planes,
                                                         const uint8_t *db, int64_t n,
                                                         int64_t nb, int32_t *out) {
    const int64_t stride = SA_PLANE_STRIDE(nb), full32 = nb / 32 * 32;
    const int has16 = nb - full32 >= 16;
    const int64_t done = full32 + 16 * has16;
    int64_t j, off;
    for (j = 0; j < n; j++) {
        const uint8_t *d = db + j * nb;
        __m256i acc = _mm256_setzero_si256();
        __m128i s;
        int32_t score;
        for (off = 0; off < full32; off += 32)
            acc = _mm256_add_epi64(acc, sa_block_avx2(planes, n_planes, stride, d + off, off));
        s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        if (has16) s = _mm_add_epi64(s, sa_block_sse(planes, n_planes, stride, d + full32, full32));
        score = (int32_t)(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
        if (done < nb) score += sa_popcnt_tail(planes, n_planes, stride, d, done, nb);
        out[j] = score;
    }
}

/* the plane count as a constant, so the plane loops unroll */
#define SA_BY_PLANES(IMPL)                                                   \
    switch (n_planes) {                                                      \
    case 1: IMPL(planes, 1, db, n, nb, out); break;                          \
    case 2: IMPL(planes, 2, db, n, nb, out); break;                          \
    case 3: IMPL(planes, 3, db, n, nb, out); break;                          \
    case 4: IMPL(planes, 4, db, n, nb, out); break;                          \
    case 5: IMPL(planes, 5, db, n, nb, out); break;                          \
    case 6: IMPL(planes, 6, db, n, nb, out); break;                          \
    case 7: IMPL(planes, 7, db, n, nb, out); break;                          \
    default: IMPL(planes, 8, db, n, nb, out); break;                         \
    }

SH_TARGET("avx2,popcnt") static void sa_row_avx2(const uint8_t *planes, int n_planes,
                                                 const uint8_t *db, int64_t n, int64_t nb,
                                                 int32_t *out) {
    SA_BY_PLANES(sa_row_avx2_impl)
}

#if defined(SH_HAVE_AVX512)
/* AVX-512 VPOPCNTDQ: eight 64-bit lane counts per step, Horner on the lanes
 * (a lane holds at most 64 * 255). Whole 64-bit words past the last full
 * vector are read with a masked load; bytes past the last word by the scalar
 * loop. */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sa_step_avx512(__m512i c, const uint8_t *planes,
                                                      int n_planes, int64_t stride,
                                                      int64_t off) {
    const __m512i x = _mm512_xor_si512(c, _mm512_loadu_si512((const void *)(planes + off)));
    __m512i acc;
    int p;
    if (n_planes == 1) return _mm512_popcnt_epi64(x);
    acc = _mm512_popcnt_epi64(_mm512_and_si512(
        x, _mm512_loadu_si512((const void *)(planes + (n_planes - 1) * stride + off))));
    for (p = n_planes - 2; p >= 1; p--)
        acc = _mm512_add_epi64(
            _mm512_add_epi64(acc, acc),
            _mm512_popcnt_epi64(_mm512_and_si512(
                x, _mm512_loadu_si512((const void *)(planes + p * stride + off)))));
    return _mm512_add_epi64(_mm512_add_epi64(acc, acc), _mm512_popcnt_epi64(x));
}

SH_TARGET(SH_AVX512) SH_INLINE void sa_row_avx512_impl(const uint8_t *planes, int n_planes,
                                                       const uint8_t *db, int64_t n,
                                                       int64_t nb, int32_t *out) {
    const int64_t stride = SA_PLANE_STRIDE(nb), full = nb / 64 * 64;
    const int64_t words = (nb - full) / 8, done = full + 8 * words;
    const __mmask8 mask = (__mmask8)((1u << words) - 1u);
    int64_t j, off;
    for (j = 0; j < n; j++) {
        const uint8_t *d = db + j * nb;
        __m512i acc = _mm512_setzero_si512();
        int32_t score;
        for (off = 0; off < full; off += 64)
            acc = _mm512_add_epi64(
                acc, sa_step_avx512(_mm512_loadu_si512((const void *)(d + off)), planes,
                                    n_planes, stride, off));
        if (words)
            acc = _mm512_add_epi64(
                acc, sa_step_avx512(_mm512_maskz_loadu_epi64(mask, (const void *)(d + full)),
                                    planes, n_planes, stride, full));
        score = (int32_t)_mm512_reduce_add_epi64(acc);
        if (done < nb) score += sa_popcnt_tail(planes, n_planes, stride, d, done, nb);
        out[j] = score;
    }
}

SH_TARGET(SH_AVX512) static void sa_row_avx512(const uint8_t *planes, int n_planes,
                                               const uint8_t *db, int64_t n, int64_t nb,
                                               int32_t *out) {
    SA_BY_PLANES(sa_row_avx512_impl)
}
#endif
#elif defined(SH_HAVE_BUILTIN_PATH)
SA_DEFINE_SCALAR(sa_builtin, , SH_POPCNT_BUILTIN)
#endif

/* ---- the path table: names and CPU checks of _popcount.h's table ---------- */
typedef struct {
    const char *name;
    sa_row_fn row;
} sa_path_t;

static const sa_path_t sa_paths[] = {
#if defined(SH_HAVE_AVX512)
    {"avx512", sa_row_avx512},
#endif
#if defined(SH_X86_DISPATCH)
    {"avx2", sa_row_avx2},
    {"popcnt", sa_popcnt_row},
#elif defined(SH_HAVE_BUILTIN_PATH)
    {"builtin", sa_builtin_row},
#endif
    {"generic", sa_generic_row},
};
#define SA_N_PATHS ((int)(sizeof(sa_paths) / sizeof(sa_paths[0])))
#define SA_GENERIC (SA_N_PATHS - 1)

static int sa_find_path(const char *name) {
    int p;
    for (p = 0; p < SA_N_PATHS; p++)
        if (strcmp(sa_paths[p].name, name) == 0) return p;
    return -1;
}

static int sa_cpu_has(int p) { return sh_cpu_has(sh_find_path(sa_paths[p].name)); }

/* Path p agrees with the SWAR loop for every plane count on widths that
 * exercise each vector step and tail (45 codes, one an exact match). */
static int sa_self_test_path(int p) {
    static const int64_t widths[] = {1, 3, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 96, 100, 128, 200};
    const int64_t n = 45;
    uint8_t codes[45 * 200], planes[SA_MAX_PLANES * SA_PLANE_STRIDE(200)];
    int32_t want[45], got[45];
    int w, k, j, ok = 1;
    for (w = 0; ok && w < (int)(sizeof(widths) / sizeof(widths[0])); w++) {
        const int64_t nb = widths[w], stride = SA_PLANE_STRIDE(nb);
        sh_fill_random(codes, n * nb, 7 + (uint64_t)nb);
        for (k = 1; ok && k <= SA_MAX_PLANES; k++) {
            memset(planes, 0, sizeof(planes));
            for (j = 0; j < k; j++) sh_fill_random(planes + j * stride, nb, 100 * (uint64_t)k + j);
            memcpy(codes + 5 * nb, planes, (size_t)nb); /* all signs agree: score 0 */
            sa_generic_row(planes, k, codes, n, nb, want);
            sa_paths[p].row(planes, k, codes, n, nb, got);
            for (j = 0; j < n; j++) ok &= got[j] == want[j];
            ok &= want[5] == 0;
        }
    }
    return ok;
}

/* ---- per-width dispatch ---------------------------------------------------- */
#define SA_N_SLOTS (SH_SLOT_MAX + 1)
static int sa_usable[16];
static int sa_usable_ready = 0;
static int sa_forced = -1;
static int sa_slot_path[SA_N_SLOTS];       /* chosen path + 1, 0 before measuring */
static int sa_slot_how[SA_N_SLOTS];
static double sa_slot_ns[SA_N_SLOTS][16];

SH_INLINE int sa_slot(int64_t nb) { return nb <= SH_SLOT_MAX ? (int)nb : 0; }

static void sa_init_usable(void) {
    int p;
    if (sa_usable_ready) return;
    for (p = 0; p < SA_N_PATHS; p++) sa_usable[p] = sa_cpu_has(p) && sa_self_test_path(p);
    sa_usable[SA_GENERIC] = 1;
    sa_usable_ready = 1;
}

/* Time every usable path on a chunk of nb-byte codes (about 16 KB) scored by
 * 8 queries of 4 planes, rounds alternating between paths, each keeping its
 * best round; return the fastest and fill ns (per code, 0 if unusable). */
static int sa_measure_width(int64_t nb, double *ns) {
    const int64_t rows = nb >= 256 ? 64 : nb <= 16 ? 1024 : 16384 / nb;
    const int64_t stride = SA_PLANE_STRIDE(nb);
    const int n_queries = 8, n_planes = 4, rounds = 7;
    uint8_t *codes = (uint8_t *)malloc((size_t)(rows * nb));
    uint8_t *planes = (uint8_t *)calloc((size_t)(n_queries * n_planes * stride), 1);
    int32_t *out = (int32_t *)malloc((size_t)rows * sizeof(int32_t));
    double best[16];
    int p, r, i, choice = SA_GENERIC;
    if (!codes || !planes || !out) {
        free(codes); free(planes); free(out);
        return choice;
    }
    sh_fill_random(codes, rows * nb, 4321 + (uint64_t)nb);
    for (i = 0; i < n_queries * n_planes; i++) sh_fill_random(planes + i * stride, nb, 99 + (uint64_t)i);
    for (p = 0; p < SA_N_PATHS; p++) best[p] = 1e30;
    for (r = 0; r < rounds; r++)
        for (p = 0; p < SA_N_PATHS; p++) {
            double t0;
            if (!sa_usable[p]) continue;
            t0 = sh_cpu_seconds();
            for (i = 0; i < n_queries; i++)
                sa_paths[p].row(planes + i * n_planes * stride, n_planes, codes, rows, nb, out);
            t0 = sh_cpu_seconds() - t0;
            if (t0 < best[p]) best[p] = t0;
        }
    for (p = 0; p < SA_N_PATHS; p++) {
        ns[p] = sa_usable[p] ? 1e9 * best[p] / ((double)n_queries * rows) : 0.0;
        if (sa_usable[p] && best[p] < best[choice]) choice = p;
    }
    free(codes); free(planes); free(out);
    return choice;
}

/* Path for nb-byte codes: the forced one, else the cached measured choice
 * (measured now for a new width). Safe to call from several threads. */
static int sa_choose(int64_t nb) {
    const int slot = sa_slot(nb), forced = SH_LOAD(&sa_forced);
    int p, n_ok = 0, only = SA_GENERIC;
    if (forced >= 0) return forced;
    p = SH_LOAD(&sa_slot_path[slot]);
    if (p) return p - 1;
    sh_lock();
    if (!sa_slot_path[slot]) {
        sa_init_usable();
        for (p = 0; p < SA_N_PATHS; p++) {
            sa_slot_ns[slot][p] = 0.0;
            if (sa_usable[p]) { n_ok++; only = p; }
        }
        if (n_ok > 1) {
            only = sa_measure_width(nb, sa_slot_ns[slot]);
            sa_slot_how[slot] = SH_HOW_MEASURED;
        } else {
            sa_slot_how[slot] = SH_HOW_ONLY;
        }
        SH_STORE(&sa_slot_path[slot], only + 1);
    }
    p = sa_slot_path[slot] - 1;
    sh_unlock();
    return p;
}

/* ---- the interface of _asym_kernels.pyx ------------------------------------ */
SH_MAYBE_UNUSED static int sa_path_index(int64_t nb) { return sa_choose(nb); }

SH_MAYBE_UNUSED static void sa_row(int p, const uint8_t *planes, int n_planes,
                                   const uint8_t *db, int64_t n, int64_t nb, int32_t *out) {
    sa_paths[p].row(planes, n_planes, db, n, nb, out);
}

SH_MAYBE_UNUSED static const char *sa_path_name(int p) { return sa_paths[p].name; }

SH_MAYBE_UNUSED static int sa_path_available(const char *name) {
    int p = sa_find_path(name);
    return p >= 0 && sa_cpu_has(p);
}

/* Force path name for every width ("auto": measured per width); 0 for a
 * path this build or CPU lacks. */
SH_MAYBE_UNUSED static int sa_set_path(const char *name) {
    int p;
    if (strcmp(name, "auto") == 0 || strcmp(name, "best") == 0) {
        SH_STORE(&sa_forced, -1);
        return 1;
    }
    p = sa_find_path(name);
    if (p < 0 || !sa_cpu_has(p)) return 0;
    SH_STORE(&sa_forced, p);
    return 1;
}

SH_MAYBE_UNUSED static const char *sa_forced_path(void) {
    return sa_forced >= 0 ? sa_paths[sa_forced].name : "auto";
}

/* "measured", "only path", "forced", or "" before the width was searched */
SH_MAYBE_UNUSED static const char *sa_width_how(int64_t nb) {
    static const char *names[] = {"", "measured", "forced", "only path"};
    if (sa_forced >= 0) return names[SH_HOW_FORCED];
    return names[sa_slot_how[sa_slot(nb)]];
}

SH_MAYBE_UNUSED static double sa_width_ns(int64_t nb, const char *name) {
    int p = sa_find_path(name);
    return p >= 0 ? sa_slot_ns[sa_slot(nb)][p] : 0.0;
}

SH_MAYBE_UNUSED static int sa_passes_self_test(const char *name) {
    int p = sa_find_path(name);
    if (p < 0 || !sa_cpu_has(p)) return 0;
    sh_lock();
    sa_init_usable();
    sh_unlock();
    return sa_usable[p];
}

SH_MAYBE_UNUSED static void sa_reset_choices(void) {
    int s;
    sh_lock();
    for (s = 0; s < SA_N_SLOTS; s++) {
        sa_slot_path[s] = 0;
        sa_slot_how[s] = SH_HOW_NONE;
    }
    sh_unlock();
}

#endif
