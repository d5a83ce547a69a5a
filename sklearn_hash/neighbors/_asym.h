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

SH_TARGET("avx2") SH_INLINE __m256i sa_horner_avx2(__m256i lo, __m256i hi, const uint8_t *planes,
                                                   int64_t stride, int64_t off, int top,
                                                   int bottom) {
    /* spelt out: SIMDe's emulated set intrinsics are macros counting arguments */
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
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
    const __m128i lut = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
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
SH_TARGET(SH_AVX512) SH_INLINE __m512i sa_step_avx512(uint8_t words, const uint8_t *d,
                                                      const uint8_t *planes, int n_planes,
                                                      int64_t stride, int64_t off) {
    /* the words past the code are zero in x: the plane bytes there belong to
     * the scalar tail, or are padding */
    const __m512i x = _mm512_maskz_xor_epi64(words, _mm512_maskz_loadu_epi64(words, (const void *)d),
                                             _mm512_loadu_si512((const void *)(planes + off)));
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

/* the sum of the eight lanes (SIMDe has no _mm512_reduce_add_epi64) */
SH_TARGET(SH_AVX512) SH_INLINE int32_t sa_reduce_avx512(__m512i v) {
    const __m256i h = _mm256_add_epi64(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    return (int32_t)(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

SH_TARGET(SH_AVX512) SH_INLINE void sa_row_avx512_impl(const uint8_t *planes, int n_planes,
                                                       const uint8_t *db, int64_t n,
                                                       int64_t nb, int32_t *out) {
    const int64_t stride = SA_PLANE_STRIDE(nb), full = nb / 64 * 64;
    const int64_t words = (nb - full) / 8, done = full + 8 * words;
    const uint8_t mask = (uint8_t)((1u << words) - 1u); /* a __mmask8 */
    int64_t j, off;
    for (j = 0; j < n; j++) {
        const uint8_t *d = db + j * nb;
        __m512i acc = _mm512_setzero_si512();
        int32_t score;
        for (off = 0; off < full; off += 64)
            acc = _mm512_add_epi64(
                acc, sa_step_avx512(0xff, d + off, planes, n_planes, stride, off));
        if (words)
            acc = _mm512_add_epi64(
                acc, sa_step_avx512(mask, d + full, planes, n_planes, stride, full));
        score = sa_reduce_avx512(acc);
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

/* ---- blocked lookup-table scans (the FastScan idea) --------------------------
 *
 * The score is a sum over the code's nibbles: for nibble h of byte t,
 *
 *     T_{t,h}[v] = sum_{b < 4} (2 m_i + 1) [v_b != s_i],   i = 8 t + 4 h + b,
 *
 * a table of 16 small integers built once per query from its planes (the
 * signs folded in). A batch of queries first rearranges each database chunk
 * into blocks of 64 codes, byte-position-major: for byte t, the 64 low
 * nibbles of the codes (byte j: code j), then the 64 high nibbles. One byte
 * shuffle (vpshufb) of the query's table by such a vector then scores the
 * nibble of 32 codes (AVX2) or 64 (AVX-512BW) at once, with no per-code
 * reduction. A byte position adds at most 8 (2^P - 1), so `group` positions
 * are summed in 8-bit lanes before they are widened into 16-bit sums (even
 * and odd bytes apart: a += u, b += u >> 8; even = a - (b << 8), odd = b);
 * with 6 planes each nibble is widened alone. The 16-bit sums are exact while
 * a score fits, 8 nb (2^P - 1) <= 65535, and tables hold a nibble's entry in
 * a byte for P <= 6 (4 * 63); other queries use the path's row kernel
 * (sa_lut_fits). The scores are the same integers as the plane formula's, so
 * the k-NN results do not depend on the path.
 *
 * The scan is fused with the k-NN rejection test, for a block of queries at a
 * time: per block of 64 codes, each query's scores are compared with its bound
 * (the heap's top at the chunk's start) and only the codes below it go out, as
 * (offset, score) pairs in increasing offset order. */
#define SA_LUT_CODES 64      /* codes per block */
#define SA_LUT_MAX_PLANES 6
/* Fewer queries per chunk than this use the rows, as stored. One query pays
 * the whole layout of each chunk: on Zen 3 (AVX2) that still beats the rows
 * up to 48-byte codes (1 query, ns a code: 8 bytes 1.6 vs 3.8, 16: 2.7 vs
 * 5.7, 48: 8.5 vs 10.0) but not at 96 and 128 bytes (19.9 vs 13.3, 26.0 vs
 * 17.5), where blocks of 4 queries are needed. */
#define SA_LUT_MIN_QUERIES(nb) ((nb) <= 48 ? 1 : 4)
/* bytes of one query's tables, and of the blocked layout of n codes */
#define SA_TABLE_BYTES(nb) (32 * (nb))
#define SA_BLOCKED_BYTES(n, nb) ((((n) + 63) / 64) * 128 * (nb))

typedef void (*sa_layout_fn)(const uint8_t *db, int64_t n, int64_t nb, uint8_t *blocks);
/* tables: n_queries x SA_TABLE_BYTES(nb); found: per query 2 * cap int32 */
typedef void (*sa_scan_fn)(const uint8_t *tables, int n_queries, int n_planes,
                           const uint8_t *blocks, int64_t n, int64_t nb, const int32_t *bounds,
                           int64_t cap, int32_t *counts, int32_t *found);

SH_INLINE int sa_lut_fits(int n_planes, int64_t nb) {
    return n_planes <= SA_LUT_MAX_PLANES && 8 * nb * ((1 << n_planes) - 1) <= 65535;
}

/* The 2 nb tables of one query: entry v of nibble h of byte t at 32 t + 16 h + v. */
static void sa_lut_tables(const uint8_t *planes, int n_planes, int64_t nb, uint8_t *tab) {
    const int64_t stride = SA_PLANE_STRIDE(nb);
    int64_t t;
    int h, b, v, p;
    for (t = 0; t < nb; t++)
        for (h = 0; h < 2; h++) {
            int w[4], s[4];
            for (b = 0; b < 4; b++) {
                const int bit = 4 * h + b;
                int m = 0;
                for (p = n_planes - 1; p >= 1; p--) m = 2 * m + ((planes[p * stride + t] >> bit) & 1);
                w[b] = 2 * m + 1;
                s[b] = (planes[t] >> bit) & 1;
            }
            for (v = 0; v < 16; v++) {
                int sum = 0;
                for (b = 0; b < 4; b++) sum += w[b] * (((v >> b) & 1) ^ s[b]);
                tab[32 * t + 16 * h + v] = (uint8_t)sum;
            }
        }
}

/* the blocked layout, one byte at a time (codes past n: zero) */
static void sa_layout_generic(const uint8_t *db, int64_t n, int64_t nb, uint8_t *blocks) {
    const int64_t n_blocks = (n + 63) / 64;
    int64_t b, t, j;
    for (b = 0; b < n_blocks; b++)
        for (j = 0; j < 64; j++) {
            const int64_t c = 64 * b + j;
            for (t = 0; t < nb; t++) {
                const uint8_t v = c < n ? db[c * nb + t] : 0;
                uint8_t *at = blocks + (b * nb + t) * 128 + j;
                at[0] = v & 15;
                at[64] = (uint8_t)(v >> 4);
            }
        }
}

SH_INLINE int sa_ctz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}

/* the codes of mask (bit j: code base + j; score even[j / 2] for even j,
 * odd[j / 2] for odd j) appended to a query's (offset, score) pairs */
SH_INLINE void sa_emit(uint64_t mask, const uint16_t *even, const uint16_t *odd, int64_t base,
                       int32_t *out, int32_t *count) {
    int32_t c = *count;
    while (mask) {
        const int j = sa_ctz64(mask);
        out[2 * c] = (int32_t)(base + j);
        out[2 * c + 1] = j & 1 ? odd[j >> 1] : even[j >> 1];
        c++;
        mask &= mask - 1;
    }
    *count = c;
}

/* codes of the last block that exist */
SH_INLINE uint64_t sa_valid(int64_t n, int64_t b) {
    const int64_t rem = n - 64 * b;
    return rem >= 64 ? ~0ULL : (1ULL << rem) - 1;
}

/* the scan one code at a time, reading the blocked layout */
static void sa_scan_generic(const uint8_t *tables, int n_queries, int n_planes,
                            const uint8_t *blocks, int64_t n, int64_t nb, const int32_t *bounds,
                            int64_t cap, int32_t *counts, int32_t *found) {
    const int64_t n_blocks = (n + 63) / 64;
    int64_t b, t, j;
    int q;
    (void)n_planes;
    for (q = 0; q < n_queries; q++) counts[q] = 0;
    for (b = 0; b < n_blocks; b++)
        for (q = 0; q < n_queries; q++) {
            const uint8_t *tab = tables + q * SA_TABLE_BYTES(nb);
            int32_t *out = found + 2 * cap * q;
            for (j = 0; j < 64 && 64 * b + j < n; j++) {
                int32_t s = 0;
                for (t = 0; t < nb; t++) {
                    const uint8_t *at = blocks + (b * nb + t) * 128 + j;
                    s += tab[32 * t + at[0]] + tab[32 * t + 16 + at[64]];
                }
                if (s < bounds[q]) {
                    out[2 * counts[q]] = (int32_t)(64 * b + j);
                    out[2 * counts[q] + 1] = s;
                    counts[q]++;
                }
            }
        }
}

#if defined(SH_X86_DISPATCH)
/* 16 rows of 16 bytes (two rows per register: lanes are independent) ->
 * register i holds byte sa_bitrev4[i] of every row (four rounds of unpacks) */
static const int sa_bitrev4[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

#define SA_UNPACK_ROUND(W, from, to)                                       \
    for (i = 0; i < 8; i++) {                                              \
        to[i] = _mm256_unpacklo_epi##W(from[2 * i], from[2 * i + 1]);      \
        to[i + 8] = _mm256_unpackhi_epi##W(from[2 * i], from[2 * i + 1]);  \
    }

/* bytes s..s+15 of code c (zero past the chunk's end or past n codes) */
SH_TARGET("avx2") SH_INLINE __m128i sa_segment(const uint8_t *db, int64_t c, int64_t s,
                                               int64_t n, int64_t nb) {
    const int64_t at = c * nb + s;
    uint8_t tmp[16] = {0};
    if (c >= n) return _mm_setzero_si128();
    if (at + 16 <= n * nb) return _mm_loadu_si128((const __m128i *)(db + at));
    memcpy(tmp, db + at, (size_t)(n * nb - at));
    return _mm_loadu_si128((const __m128i *)tmp);
}

/* the blocked layout by 16 x 16 byte transposes in registers */
SH_TARGET("avx2") static void sa_layout_avx2(const uint8_t *db, int64_t n, int64_t nb,
                                             uint8_t *blocks) {
    const int64_t n_blocks = (n + 63) / 64;
    const __m256i low = _mm256_set1_epi8(0x0f);
    int64_t b, s;
    int h, i;
    for (b = 0; b < n_blocks; b++)
        for (h = 0; h < 2; h++)
            for (s = 0; s < nb; s += 16) {
                const int64_t c0 = 64 * b + 32 * h;
                __m256i x[16], y[16];
                for (i = 0; i < 16; i++)
                    x[i] = _mm256_inserti128_si256(
                        _mm256_castsi128_si256(sa_segment(db, c0 + i, s, n, nb)),
                        sa_segment(db, c0 + 16 + i, s, n, nb), 1);
                SA_UNPACK_ROUND(8, x, y)
                SA_UNPACK_ROUND(16, y, x)
                SA_UNPACK_ROUND(32, x, y)
                SA_UNPACK_ROUND(64, y, x)
                for (i = 0; i < 16; i++) {
                    const int64_t t = s + sa_bitrev4[i];
                    if (t < nb) {
                        uint8_t *at = blocks + (b * nb + t) * 128 + 32 * h;
                        _mm256_storeu_si256((__m256i *)at, _mm256_and_si256(x[i], low));
                        _mm256_storeu_si256((__m256i *)(at + 64),
                                            _mm256_and_si256(_mm256_srli_epi16(x[i], 4), low));
                    }
                }
            }
}

SH_TARGET("avx2") SH_INLINE void sa_widen_avx2(__m256i u, __m256i *a, __m256i *b) {
    *a = _mm256_add_epi16(*a, u);
    *b = _mm256_add_epi16(*b, _mm256_srli_epi16(u, 8));
}

/* bit j: code j of 32 at most bm1 (e: the even codes' sums, o: the odd) */
SH_TARGET("avx2") SH_INLINE uint32_t sa_le_mask_avx2(__m256i e, __m256i o, __m256i bm1) {
    const __m256i le_e = _mm256_cmpeq_epi16(_mm256_max_epu16(e, bm1), bm1);
    const __m256i le_o = _mm256_cmpeq_epi16(_mm256_max_epu16(o, bm1), bm1);
    return ((uint32_t)_mm256_movemask_epi8(le_e) & 0x55555555u) |
           ((uint32_t)_mm256_movemask_epi8(le_o) & 0xAAAAAAAAu);
}

/* score byte position t of both halves of a block into u0, u1 (8-bit) */
#define SA_POSITION_AVX2(t)                                                                  \
    const __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(tab + 32 * (t)))); \
    const __m256i hi = _mm256_broadcastsi128_si256(                                          \
        _mm_loadu_si128((const __m128i *)(tab + 32 * (t) + 16)));                            \
    const uint8_t *p = blk + (t) * 128;                                                      \
    const __m256i l0 = _mm256_shuffle_epi8(lo, _mm256_loadu_si256((const __m256i *)p));       \
    const __m256i h0 = _mm256_shuffle_epi8(hi, _mm256_loadu_si256((const __m256i *)(p + 64))); \
    const __m256i l1 = _mm256_shuffle_epi8(lo, _mm256_loadu_si256((const __m256i *)(p + 32))); \
    const __m256i h1 = _mm256_shuffle_epi8(hi, _mm256_loadu_si256((const __m256i *)(p + 96)));

/* the 16-bit sums of one block of 64 codes for one query: a0 / b0 codes
 * 0..31, a1 / b1 codes 32..63 (a: even and odd bytes as 16-bit lanes, b: odd) */
SH_TARGET("avx2") SH_INLINE void sa_block_sums_avx2(const uint8_t *tab, const uint8_t *blk,
                                                    int n_planes, int64_t nb, __m256i *a0,
                                                    __m256i *b0, __m256i *a1, __m256i *b1) {
    const int group = 255 / (8 * ((1 << n_planes) - 1));
    const __m256i zero = _mm256_setzero_si256();
    int64_t t = 0;
    int g;
    *a0 = *b0 = *a1 = *b1 = zero;
    if (group == 0) {
        for (; t < nb; t++) {
            SA_POSITION_AVX2(t)
            sa_widen_avx2(l0, a0, b0);
            sa_widen_avx2(h0, a0, b0);
            sa_widen_avx2(l1, a1, b1);
            sa_widen_avx2(h1, a1, b1);
        }
        return;
    }
    for (; t + group <= nb; t += group) {
        __m256i u0 = zero, u1 = zero;
        for (g = 0; g < group; g++) {
            SA_POSITION_AVX2(t + g)
            u0 = _mm256_add_epi8(u0, _mm256_add_epi8(l0, h0));
            u1 = _mm256_add_epi8(u1, _mm256_add_epi8(l1, h1));
        }
        sa_widen_avx2(u0, a0, b0);
        sa_widen_avx2(u1, a1, b1);
    }
    if (t < nb) {
        __m256i u0 = zero, u1 = zero;
        for (; t < nb; t++) {
            SA_POSITION_AVX2(t)
            u0 = _mm256_add_epi8(u0, _mm256_add_epi8(l0, h0));
            u1 = _mm256_add_epi8(u1, _mm256_add_epi8(l1, h1));
        }
        sa_widen_avx2(u0, a0, b0);
        sa_widen_avx2(u1, a1, b1);
    }
}

SH_TARGET("avx2") SH_INLINE void sa_scan_avx2_impl(const uint8_t *tables, int n_queries,
                                                   int n_planes, const uint8_t *blocks,
                                                   int64_t n, int64_t nb, const int32_t *bounds,
                                                   int64_t cap, int32_t *counts,
                                                   int32_t *found) {
    const int64_t n_blocks = (n + 63) / 64;
    int64_t b;
    int q;
    for (q = 0; q < n_queries; q++) counts[q] = 0;
    for (b = 0; b < n_blocks; b++) {
        const uint8_t *blk = blocks + b * nb * 128;
        const uint64_t valid = sa_valid(n, b);
        for (q = 0; q < n_queries; q++) {
            const int32_t bound = bounds[q] > 65536 ? 65536 : bounds[q];
            __m256i a0, b0, a1, b1, e0, e1, bm1;
            uint64_t mask;
            if (bound <= 0) continue;
            sa_block_sums_avx2(tables + q * SA_TABLE_BYTES(nb), blk, n_planes, nb, &a0, &b0,
                               &a1, &b1);
            /* even codes: a - (b << 8); odd: b */
            bm1 = _mm256_set1_epi16((short)(uint16_t)(bound - 1));
            e0 = _mm256_sub_epi16(a0, _mm256_slli_epi16(b0, 8));
            e1 = _mm256_sub_epi16(a1, _mm256_slli_epi16(b1, 8));
            mask = (((uint64_t)sa_le_mask_avx2(e1, b1, bm1) << 32) |
                    sa_le_mask_avx2(e0, b0, bm1)) & valid;
            if (mask) {
                uint16_t even[32], odd[32];
                _mm256_storeu_si256((__m256i *)even, e0);
                _mm256_storeu_si256((__m256i *)(even + 16), e1);
                _mm256_storeu_si256((__m256i *)odd, b0);
                _mm256_storeu_si256((__m256i *)(odd + 16), b1);
                sa_emit(mask, even, odd, 64 * b, found + 2 * cap * q, &counts[q]);
            }
        }
    }
}

/* the common widths with a constant trip count (the positions unroll); the
 * emulation harness of the tests compiles the one generic-width instance of
 * the same code (SIMDe's inlined intrinsics make each instance slow to build) */
#if defined(SH_EMULATE_AVX512)
#define SA_LUT_BY_WIDTH(IMPL, P) IMPL(tables, n_queries, P, blocks, n, nb, bounds, cap, counts, found);
#else
#define SA_LUT_BY_WIDTH(IMPL, P)                                                          \
    switch (nb) {                                                                         \
    case 8: IMPL(tables, n_queries, P, blocks, n, 8, bounds, cap, counts, found); break;   \
    case 16: IMPL(tables, n_queries, P, blocks, n, 16, bounds, cap, counts, found); break; \
    case 32: IMPL(tables, n_queries, P, blocks, n, 32, bounds, cap, counts, found); break; \
    case 48: IMPL(tables, n_queries, P, blocks, n, 48, bounds, cap, counts, found); break; \
    case 64: IMPL(tables, n_queries, P, blocks, n, 64, bounds, cap, counts, found); break; \
    case 96: IMPL(tables, n_queries, P, blocks, n, 96, bounds, cap, counts, found); break; \
    default: IMPL(tables, n_queries, P, blocks, n, nb, bounds, cap, counts, found); break;  \
    }
#endif

#define SA_LUT_DISPATCH(IMPL)                          \
    switch (n_planes) {                                \
    case 1: SA_LUT_BY_WIDTH(IMPL, 1) break;            \
    case 2: SA_LUT_BY_WIDTH(IMPL, 2) break;            \
    case 3: SA_LUT_BY_WIDTH(IMPL, 3) break;            \
    case 4: SA_LUT_BY_WIDTH(IMPL, 4) break;            \
    case 5: SA_LUT_BY_WIDTH(IMPL, 5) break;            \
    default: SA_LUT_BY_WIDTH(IMPL, 6) break;           \
    }

SH_TARGET("avx2") static void sa_scan_avx2(const uint8_t *tables, int n_queries, int n_planes,
                                           const uint8_t *blocks, int64_t n, int64_t nb,
                                           const int32_t *bounds, int64_t cap, int32_t *counts,
                                           int32_t *found) {
    SA_LUT_DISPATCH(sa_scan_avx2_impl)
}

#if defined(SH_HAVE_AVX512)
#define SA_AVX512BW "avx512f,avx512bw,avx2"

SH_TARGET(SA_AVX512BW) SH_INLINE void sa_widen_avx512(__m512i u, __m512i *a, __m512i *b) {
    *a = _mm512_add_epi16(*a, u);
    *b = _mm512_add_epi16(*b, _mm512_srli_epi16(u, 8));
}

/* bit i -> bit 2 i */
SH_INLINE uint64_t sa_spread32(uint32_t m) {
    uint64_t x = m;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    return (x | (x << 1)) & 0x5555555555555555ULL;
}

#define SA_POSITION_AVX512(t)                                                              \
    const __m512i lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(tab + 32 * (t)))); \
    const __m512i hi = _mm512_broadcast_i32x4(                                              \
        _mm_loadu_si128((const __m128i *)(tab + 32 * (t) + 16)));                           \
    const uint8_t *p = blk + (t) * 128;                                                     \
    const __m512i l0 = _mm512_shuffle_epi8(lo, _mm512_loadu_si512((const void *)p));         \
    const __m512i h0 = _mm512_shuffle_epi8(hi, _mm512_loadu_si512((const void *)(p + 64)));

/* AVX-512BW: the 64 codes of a block in one register */
SH_TARGET(SA_AVX512BW) SH_INLINE void sa_scan_avx512bw_impl(
    const uint8_t *tables, int n_queries, int n_planes, const uint8_t *blocks, int64_t n,
    int64_t nb, const int32_t *bounds, int64_t cap, int32_t *counts, int32_t *found) {
    const int group = 255 / (8 * ((1 << n_planes) - 1));
    const int64_t n_blocks = (n + 63) / 64;
    const __m512i zero = _mm512_setzero_si512();
    int64_t b, t;
    int q;
    for (q = 0; q < n_queries; q++) counts[q] = 0;
    for (b = 0; b < n_blocks; b++) {
        const uint8_t *blk = blocks + b * nb * 128;
        const uint64_t valid = sa_valid(n, b);
        for (q = 0; q < n_queries; q++) {
            const uint8_t *tab = tables + q * SA_TABLE_BYTES(nb);
            const int32_t bound = bounds[q] > 65536 ? 65536 : bounds[q];
            __m512i a = zero, o = zero, e, bm1;
            uint64_t mask;
            if (bound <= 0) continue;
            if (group == 0) {
                for (t = 0; t < nb; t++) {
                    SA_POSITION_AVX512(t)
                    sa_widen_avx512(l0, &a, &o);
                    sa_widen_avx512(h0, &a, &o);
                }
            } else {
                for (t = 0; t < nb;) {
                    const int64_t end = t + group < nb ? t + group : nb;
                    __m512i u = zero;
                    for (; t < end; t++) {
                        SA_POSITION_AVX512(t)
                        u = _mm512_add_epi8(u, _mm512_add_epi8(l0, h0));
                    }
                    sa_widen_avx512(u, &a, &o);
                }
            }
            bm1 = _mm512_set1_epi16((short)(uint16_t)(bound - 1));
            e = _mm512_sub_epi16(a, _mm512_slli_epi16(o, 8));
            mask = (sa_spread32((uint32_t)_mm512_cmple_epu16_mask(e, bm1)) |
                    (sa_spread32((uint32_t)_mm512_cmple_epu16_mask(o, bm1)) << 1)) & valid;
            if (mask) {
                uint16_t even[32], odd[32];
                _mm512_storeu_si512((void *)even, e);
                _mm512_storeu_si512((void *)odd, o);
                sa_emit(mask, even, odd, 64 * b, found + 2 * cap * q, &counts[q]);
            }
        }
    }
}

SH_TARGET(SA_AVX512BW) static void sa_scan_avx512bw(const uint8_t *tables, int n_queries,
                                                    int n_planes, const uint8_t *blocks,
                                                    int64_t n, int64_t nb, const int32_t *bounds,
                                                    int64_t cap, int32_t *counts,
                                                    int32_t *found) {
    SA_LUT_DISPATCH(sa_scan_avx512bw_impl)
}
#endif
#endif

/* ---- the path table ---------------------------------------------------------
 * Row paths score codes as stored (one query at a time); LUT variants scan
 * blocked chunks for a block of queries, and fall back to a row path for
 * queries whose scores the tables cannot hold and for blocks of fewer than
 * SA_LUT_MIN_QUERIES(nb) queries (the measured best row path of the width, or,
 * when the variant is forced, its `fallback`). */
typedef struct {
    const char *name;
    sa_row_fn row;         /* NULL for a LUT variant */
    sa_layout_fn layout;   /* LUT variants: the blocked layout of a chunk */
    sa_scan_fn scan;       /* LUT variants: the fused k-NN scan of a query block */
    const char *fallback;  /* LUT variants: the row path of the same instruction set */
} sa_path_t;

static const sa_path_t sa_paths[] = {
#if defined(SH_HAVE_AVX512)
    {"avx512", sa_row_avx512, NULL, NULL, NULL},
    {"avx512bw lut", NULL, sa_layout_avx2, sa_scan_avx512bw, "avx2"},
#endif
#if defined(SH_X86_DISPATCH)
    {"avx2 lut", NULL, sa_layout_avx2, sa_scan_avx2, "avx2"},
    {"avx2", sa_row_avx2, NULL, NULL, NULL},
    {"popcnt", sa_popcnt_row, NULL, NULL, NULL},
#elif defined(SH_HAVE_BUILTIN_PATH)
    {"builtin", sa_builtin_row, NULL, NULL, NULL},
#endif
    {"generic lut", NULL, sa_layout_generic, sa_scan_generic, "generic"},
    {"generic", sa_generic_row, NULL, NULL, NULL},
};
#define SA_N_PATHS ((int)(sizeof(sa_paths) / sizeof(sa_paths[0])))
#define SA_GENERIC (SA_N_PATHS - 1)

static int sa_find_path(const char *name) {
    int p;
    for (p = 0; p < SA_N_PATHS; p++)
        if (strcmp(sa_paths[p].name, name) == 0) return p;
    return -1;
}

SH_INLINE int sa_is_lut_path(int p) { return sa_paths[p].scan != NULL; }

/* the CPU checks of _popcount.h's table; a LUT variant needs its fallback's
 * instruction set (and AVX-512BW for "avx512bw lut") */
static int sa_cpu_has(int p) {
    const char *name = sa_is_lut_path(p) ? sa_paths[p].fallback : sa_paths[p].name;
#if defined(SH_X86_DISPATCH) && !defined(SH_EMULATE_AVX512)
    if (strcmp(sa_paths[p].name, "avx512bw lut") == 0) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return 0;
    }
#endif
    return sh_cpu_has(sh_find_path(name));
}

/* scores of n codes by a LUT variant (bound: every code), through its layout
 * and fused scan; 1 when every code came out, in order */
static int sa_lut_scores(int p, const uint8_t *planes, int n_planes, const uint8_t *db,
                         int64_t n, int64_t nb, int32_t *out) {
    uint8_t *tables = (uint8_t *)malloc((size_t)SA_TABLE_BYTES(nb));
    uint8_t *blocks = (uint8_t *)malloc((size_t)SA_BLOCKED_BYTES(n, nb) + 1);
    int32_t *found = (int32_t *)malloc((size_t)(2 * n + 1) * sizeof(int32_t));
    const int32_t bound = INT32_MAX;
    int32_t count = 0;
    int64_t j;
    int ok = tables && blocks && found;
    if (ok) {
        sa_lut_tables(planes, n_planes, nb, tables);
        sa_paths[p].layout(db, n, nb, blocks);
        sa_paths[p].scan(tables, 1, n_planes, blocks, n, nb, &bound, n, &count, found);
        ok = count == n;
        for (j = 0; ok && j < n; j++) {
            ok = found[2 * j] == j;
            out[j] = found[2 * j + 1];
        }
    }
    free(tables); free(blocks); free(found);
    return ok;
}

/* The fused scan of a LUT variant p over n codes for three queries (planes
 * q_planes apart) keeps exactly the codes below each bound, with the scores
 * of want (3 x n). */
static int sa_check_scan(int p, const uint8_t *planes, int64_t q_planes, int n_planes,
                         const uint8_t *db, int64_t n, int64_t nb, const int32_t *want) {
    uint8_t *tables = (uint8_t *)malloc((size_t)(3 * SA_TABLE_BYTES(nb)));
    uint8_t *blocks = (uint8_t *)malloc((size_t)SA_BLOCKED_BYTES(n, nb) + 1);
    int32_t *found = (int32_t *)malloc((size_t)(6 * n + 1) * sizeof(int32_t));
    int32_t bounds[3], counts[3];
    int64_t j, c;
    int q, ok = tables && blocks && found;
    if (ok) {
        for (q = 0; q < 3; q++)
            sa_lut_tables(planes + q * q_planes, n_planes, nb, tables + q * SA_TABLE_BYTES(nb));
        bounds[0] = 0;
        bounds[1] = want[n + n / 2];
        bounds[2] = INT32_MAX;
        sa_paths[p].layout(db, n, nb, blocks);
        sa_paths[p].scan(tables, 3, n_planes, blocks, n, nb, bounds, n, counts, found);
        for (q = 0; q < 3; q++) {
            const int32_t *pairs = found + 2 * n * q;
            for (c = 0, j = 0; j < n; j++) {
                if (want[q * n + j] >= bounds[q]) continue;
                ok &= c < counts[q] && pairs[2 * c] == j && pairs[2 * c + 1] == want[q * n + j];
                c++;
            }
            ok &= c == counts[q];
        }
    }
    free(tables); free(blocks); free(found);
    return ok;
}

/* Path p agrees with the SWAR loop for every plane count (a LUT variant: for
 * every count its tables hold, on a query block with bounds that keep none,
 * some and all codes) on widths that exercise each vector step and tail
 * (a LUT block: 150 codes, two full blocks and a part; one code an exact
 * match). */
static int sa_self_test_path(int p) {
    static const int64_t widths[] = {1, 3, 8, 12, 16, 17, 24, 32, 40, 48, 56, 64, 72, 96, 100, 128, 200};
    const int lut = sa_is_lut_path(p);
    const int64_t n = lut ? 150 : 45, q_planes = SA_MAX_PLANES * SA_PLANE_STRIDE(200);
    uint8_t *codes = (uint8_t *)malloc((size_t)(150 * 200));
    uint8_t *planes = (uint8_t *)malloc((size_t)(3 * q_planes));
    int32_t *want = (int32_t *)malloc(3 * 150 * sizeof(int32_t));
    int32_t got[45];
    int w, k, j, q, ok = codes && planes && want;
    for (w = 0; ok && w < (int)(sizeof(widths) / sizeof(widths[0])); w++) {
        const int64_t nb = widths[w], stride = SA_PLANE_STRIDE(nb);
        sh_fill_random(codes, n * nb, 7 + (uint64_t)nb);
        for (k = 1; ok && k <= SA_MAX_PLANES; k++) {
            if (lut && !sa_lut_fits(k, nb)) continue;
            memset(planes, 0, (size_t)(3 * q_planes));
            for (q = 0; q < 3; q++)
                for (j = 0; j < k; j++)
                    sh_fill_random(planes + q * q_planes + j * stride, nb, 100 * (uint64_t)k + 10 * q + j);
            memcpy(codes + 5 * nb, planes, (size_t)nb); /* all signs agree: score 0 */
            for (q = 0; q < 3; q++) sa_generic_row(planes + q * q_planes, k, codes, n, nb, want + q * n);
            ok &= want[5] == 0;
            if (lut) {
                ok &= sa_check_scan(p, planes, q_planes, k, codes, n, nb, want);
            } else {
                sa_paths[p].row(planes, k, codes, n, nb, got);
                for (j = 0; j < n; j++) ok &= got[j] == want[j];
            }
        }
    }
    free(codes); free(planes); free(want);
    return ok;
}

/* ---- per-width dispatch ------------------------------------------------------ */
#define SA_N_SLOTS (SH_SLOT_MAX + 1)
#define SA_QUERY_BLOCK 32 /* queries that share each chunk (_asym_kernels.pyx) */
static int sa_usable[16];
static int sa_usable_ready = 0;
static int sa_forced = -1;
static int sa_slot_path[SA_N_SLOTS]; /* chosen path or variant + 1, 0 before measuring */
static int sa_slot_row[SA_N_SLOTS];  /* the fastest row path + 1 */
static int sa_slot_how[SA_N_SLOTS];
static double sa_slot_ns[SA_N_SLOTS][16];
static volatile int64_t sa_sink;

SH_INLINE int sa_slot(int64_t nb) { return nb <= SH_SLOT_MAX ? (int)nb : 0; }

static void sa_init_usable(void) {
    int p;
    if (sa_usable_ready) return;
    for (p = 0; p < SA_N_PATHS; p++) sa_usable[p] = sa_cpu_has(p) && sa_self_test_path(p);
    sa_usable[SA_GENERIC] = 1;
    sa_usable_ready = 1;
}

/* whether path p is measured for nb-byte codes (a LUT variant: when its
 * tables hold the scores of 4-plane queries) */
static int sa_measurable(int p, int64_t nb) {
    return sa_usable[p] && (!sa_is_lut_path(p) || sa_lut_fits(4, nb));
}

/* Time every measurable path on a chunk of nb-byte codes (about 16 KB, a
 * multiple of 64 codes) scored by a block of SA_QUERY_BLOCK queries of 4
 * planes, as a k-NN scan with a full heap does: row paths score each query's
 * row and test it against a bound that keeps no code; LUT variants lay the
 * chunk out once and run the fused scan. Rounds alternate between paths, each
 * keeping its best round. Returns the fastest; *row the fastest row path; ns
 * per code and query (0 if not measured). */
static int sa_measure_width(int64_t nb, double *ns, int *row) {
    const int64_t rows = nb <= 16 ? 1024 : 16384 / nb < 64 ? 64 : 16384 / nb / 64 * 64;
    const int64_t stride = SA_PLANE_STRIDE(nb);
    const int n_queries = SA_QUERY_BLOCK, n_planes = 4, rounds = 7;
    uint8_t *codes = (uint8_t *)malloc((size_t)(rows * nb));
    uint8_t *planes = (uint8_t *)calloc((size_t)(n_queries * n_planes * stride), 1);
    uint8_t *tables = (uint8_t *)malloc((size_t)(n_queries * SA_TABLE_BYTES(nb)));
    uint8_t *blocks = (uint8_t *)malloc((size_t)SA_BLOCKED_BYTES(rows, nb));
    int32_t *out = (int32_t *)malloc((size_t)(2 * n_queries * rows) * sizeof(int32_t));
    int32_t bounds[SA_QUERY_BLOCK], counts[SA_QUERY_BLOCK];
    double best[16];
    int p, r, i, choice = SA_GENERIC;
    int64_t j, kept = 0;
    *row = SA_GENERIC;
    if (!codes || !planes || !tables || !blocks || !out) {
        free(codes); free(planes); free(tables); free(blocks); free(out);
        return choice;
    }
    sh_fill_random(codes, rows * nb, 4321 + (uint64_t)nb);
    for (i = 0; i < n_queries * n_planes; i++) sh_fill_random(planes + i * stride, nb, 99 + (uint64_t)i);
    for (i = 0; i < n_queries; i++) {
        sa_lut_tables(planes + i * n_planes * stride, n_planes, nb, tables + i * SA_TABLE_BYTES(nb));
        bounds[i] = 1;
    }
    for (p = 0; p < SA_N_PATHS; p++) best[p] = 1e30;
    for (r = 0; r < rounds; r++)
        for (p = 0; p < SA_N_PATHS; p++) {
            double t0;
            if (!sa_measurable(p, nb)) continue;
            t0 = sh_cpu_seconds();
            if (sa_is_lut_path(p)) {
                sa_paths[p].layout(codes, rows, nb, blocks);
                sa_paths[p].scan(tables, n_queries, n_planes, blocks, rows, nb, bounds, rows,
                                 counts, out);
            } else {
                for (i = 0; i < n_queries; i++) {
                    sa_paths[p].row(planes + i * n_planes * stride, n_planes, codes, rows, nb, out);
                    for (j = 0; j < rows; j++) kept += out[j] < bounds[i];
                }
            }
            t0 = sh_cpu_seconds() - t0;
            if (t0 < best[p]) best[p] = t0;
        }
    for (p = 0; p < SA_N_PATHS; p++) {
        const int ok = sa_measurable(p, nb);
        ns[p] = ok ? 1e9 * best[p] / ((double)n_queries * rows) : 0.0;
        if (ok && best[p] < best[choice]) choice = p;
        if (ok && !sa_is_lut_path(p) && best[p] < best[*row]) *row = p;
    }
    free(codes); free(planes); free(tables); free(blocks); free(out);
    sa_sink = kept; /* the rejection test is not optimised away */
    return choice;
}

/* Path or variant for nb-byte codes: the forced one, else the cached
 * measured choice (measured now for a new width). Safe to call from several
 * threads. */
static int sa_choose(int64_t nb) {
    const int slot = sa_slot(nb), forced = SH_LOAD(&sa_forced);
    int p, n_ok = 0, only = SA_GENERIC, row = SA_GENERIC;
    if (forced >= 0) return forced;
    p = SH_LOAD(&sa_slot_path[slot]);
    if (p) return p - 1;
    sh_lock();
    if (!sa_slot_path[slot]) {
        sa_init_usable();
        for (p = 0; p < SA_N_PATHS; p++) {
            sa_slot_ns[slot][p] = 0.0;
            if (sa_measurable(p, nb)) {
                n_ok++;
                only = p;
            }
        }
        if (n_ok > 1) {
            only = sa_measure_width(nb, sa_slot_ns[slot], &row);
            sa_slot_how[slot] = SH_HOW_MEASURED;
        } else {
            row = only;
            sa_slot_how[slot] = SH_HOW_ONLY;
        }
        SH_STORE(&sa_slot_row[slot], row + 1);
        SH_STORE(&sa_slot_path[slot], only + 1);
    }
    p = sa_slot_path[slot] - 1;
    sh_unlock();
    return p;
}

/* the row path that stands in for variant v (chosen for nb-byte codes) */
static int sa_row_for(int v, int64_t nb) {
    int r;
    if (!sa_is_lut_path(v)) return v;
    r = SH_LOAD(&sa_slot_row[sa_slot(nb)]) - 1;
    return v == SH_LOAD(&sa_forced) || r < 0 ? sa_find_path(sa_paths[v].fallback) : r;
}

/* ---- the interface of _asym_kernels.pyx ------------------------------------ */
SH_MAYBE_UNUSED static int sa_path_index(int64_t nb) { return sa_choose(nb); }

/* the row path of variant v for nb-byte codes */
SH_MAYBE_UNUSED static int sa_row_index(int v, int64_t nb) { return sa_row_for(v, nb); }

/* whether variant v scans a block of n_queries queries of n_planes planes
 * over blocked chunks (else its row path scores them) */
SH_MAYBE_UNUSED static int sa_uses_lut(int v, int n_planes, int64_t nb, int64_t n_queries) {
    return sa_is_lut_path(v) && sa_lut_fits(n_planes, nb) && n_queries >= SA_LUT_MIN_QUERIES(nb);
}

SH_MAYBE_UNUSED static int sa_is_lut(int v) { return sa_is_lut_path(v); }

SH_MAYBE_UNUSED static int sa_lut_ok(int n_planes, int64_t nb) { return sa_lut_fits(n_planes, nb); }

SH_MAYBE_UNUSED static void sa_layout(int v, const uint8_t *db, int64_t n, int64_t nb,
                                      uint8_t *blocks) {
    sa_paths[v].layout(db, n, nb, blocks);
}

SH_MAYBE_UNUSED static void sa_scan(int v, const uint8_t *tables, int n_queries, int n_planes,
                                    const uint8_t *blocks, int64_t n, int64_t nb,
                                    const int32_t *bounds, int64_t cap, int32_t *counts,
                                    int32_t *found) {
    sa_paths[v].scan(tables, n_queries, n_planes, blocks, n, nb, bounds, cap, counts, found);
}

SH_MAYBE_UNUSED static void sa_row(int p, const uint8_t *planes, int n_planes,
                                   const uint8_t *db, int64_t n, int64_t nb, int32_t *out) {
    sa_paths[p].row(planes, n_planes, db, n, nb, out);
}

/* scores of n codes by path p, row or LUT variant (its tables must hold
 * them); 0 when a LUT variant cannot */
SH_MAYBE_UNUSED static int sa_path_scores(int p, const uint8_t *planes, int n_planes,
                                          const uint8_t *db, int64_t n, int64_t nb,
                                          int32_t *out) {
    if (!sa_is_lut_path(p)) {
        sa_paths[p].row(planes, n_planes, db, n, nb, out);
        return 1;
    }
    return sa_lut_fits(n_planes, nb) && sa_lut_scores(p, planes, n_planes, db, n, nb, out);
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
        sa_slot_row[s] = 0;
        sa_slot_how[s] = SH_HOW_NONE;
    }
    sh_unlock();
}

#endif
