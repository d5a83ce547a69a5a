/* AVX-512 VPOPCNTDQ kernels: a 64-bit popcount per lane, eight codes per step
 * for every width, the per-code sums kept in registers.
 *
 * Included by _popcount.h (x86-64 builds, or the SIMDe emulation harness of
 * the tests). Two layouts:
 *
 * - Codes as stored (one query, or a few, per chunk): per step, eight codes
 *   give eight vectors of 64-bit lane counts (8-byte codes: one vector; 16:
 *   two; 32: four; 64 and wider: eight, accumulated over the 64-byte blocks of
 *   each code), reduced together by unpack and 128-bit shuffle adds into one
 *   vector holding the eight distances in code order.
 * - Blocked chunks (a batch of queries per chunk): the chunk is first
 *   rearranged into blocks of eight codes, word-major (word w of codes
 *   0..7 in one vector; sh_block_avx512), which a batch of queries then scans
 *   with no reduction at all: per word one XOR with the broadcast query word,
 *   one popcount and one add, the eight sums landing in their lanes. About
 *   two-thirds of the instructions of the first layout at 32 bytes and up;
 *   the rearrangement costs a few shuffles per code, paid once per chunk.
 *
 * The fused k-NN variants compare the eight sums with the bound and emit only
 * the codes below it. Codes left over after the last full step (fewer than
 * eight) go through the scalar POPCNT loop, and so do widths that are not a
 * multiple of 8 bytes (the masked loads are 64-bit words: AVX-512F only).
 */
#ifndef SKLEARN_HASH_POPCOUNT_AVX512_H
#define SKLEARN_HASH_POPCOUNT_AVX512_H

#define SH_AVX512 "avx512f,avx512vpopcntdq,popcnt"

SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_pc512(__m512i a, const uint8_t *p) {
    return _mm512_popcnt_epi64(_mm512_xor_si512(a, _mm512_loadu_si512((const void *)p)));
}

/* per 128-bit lane l: [a[2l] + a[2l+1], b[2l] + b[2l+1]] */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_pairs512(__m512i a, __m512i b) {
    return _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}

/* per 128-bit lane: [a.l0 + a.l1, a.l2 + a.l3, b.l0 + b.l1, b.l2 + b.l3] */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_lanes512(__m512i a, __m512i b) {
    return _mm512_add_epi64(_mm512_shuffle_i64x2(a, b, 0x88), _mm512_shuffle_i64x2(a, b, 0xDD));
}

/* eight vectors of lane counts, code m in r[m] -> the eight code sums */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_reduce8_avx512(const __m512i *r) {
    __m512i u = sh_lanes512(sh_pairs512(r[0], r[1]), sh_pairs512(r[2], r[3]));
    __m512i w = sh_lanes512(sh_pairs512(r[4], r[5]), sh_pairs512(r[6], r[7]));
    return sh_lanes512(u, w);
}

/* Fused rejection test of eight distances s (64-bit lanes, code order) of
 * codes j..j+7: those below bb go out as candidates. */
SH_TARGET(SH_AVX512) SH_INLINE int64_t sh_emit8_avx512(__m512i s, __m512i bb, int64_t j,
                                                           int32_t *dist, int32_t *cand,
                                                           int64_t c) {
    unsigned mask = (unsigned)_mm512_cmpgt_epi64_mask(bb, s);
    if (mask) {
        _mm256_storeu_si256((__m256i *)(dist + j), _mm512_cvtepi64_epi32(s));
        do {
            cand[c++] = (int32_t)(j + SH_CTZ(mask));
            mask &= mask - 1;
        } while (mask);
    }
    return c;
}

/* Distances of codes d .. d + 7 (nb bytes each), as eight 64-bit lanes in code
 * order. q is the query broadcast to a register where it fits (nb <= 64). */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_eight_avx512(const uint8_t *q, __m512i qq,
                                                           const uint8_t *d, int64_t nb) {
    if (nb == 8) return _mm512_popcnt_epi64(_mm512_xor_si512(qq, _mm512_loadu_si512((const void *)d)));
    if (nb == 16) {
        /* four codes per vector: lanes [c0 c4 c1 c5 c2 c6 c3 c7] after the pair adds */
        const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
        return _mm512_permutexvar_epi64(order, sh_pairs512(sh_pc512(qq, d), sh_pc512(qq, d + 64)));
    }
    if (nb == 32) {
        /* two codes per vector: lanes [c0 c2 c1 c3 c4 c6 c5 c7] after the reduction */
        const __m512i order = _mm512_setr_epi64(0, 2, 1, 3, 4, 6, 5, 7);
        __m512i a = sh_pairs512(sh_pc512(qq, d), sh_pc512(qq, d + 64));
        __m512i b = sh_pairs512(sh_pc512(qq, d + 128), sh_pc512(qq, d + 192));
        return _mm512_permutexvar_epi64(order, sh_lanes512(a, b));
    }
    {
        /* one code per vector (several 64-byte blocks accumulated) */
        __m512i acc[8];
        int64_t b, m;
        for (m = 0; m < 8; m++) acc[m] = _mm512_setzero_si512();
        for (b = 0; b < nb; b += 64) {
            /* nb is a multiple of 8: the last block loads nb - b bytes as words */
            uint8_t k = (uint8_t)(nb - b >= 64 ? 0xFF : (1u << ((nb - b) / 8)) - 1);
            __m512i x = nb <= 64 ? qq : _mm512_maskz_loadu_epi64(k, q + b);
            for (m = 0; m < 8; m++)
                acc[m] = _mm512_add_epi64(
                    acc[m], _mm512_popcnt_epi64(_mm512_xor_si512(
                                x, _mm512_maskz_loadu_epi64(k, d + m * nb + b))));
        }
        return sh_reduce8_avx512(acc);
    }
}

/* the query in a register, repeated to fill it (nb <= 64; ignored otherwise) */
SH_TARGET(SH_AVX512) SH_INLINE __m512i sh_query512(const uint8_t *q, int64_t nb) {
    if (nb == 8) return _mm512_set1_epi64((long long)sh_load64(q));
    if (nb == 16) return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)q));
    if (nb == 32) return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
    if (nb == 64) return _mm512_loadu_si512((const void *)q);
    /* 40, 48 (384-bit embeddings), 56: the whole words, the rest zero */
    if (nb < 64) return _mm512_maskz_loadu_epi64((uint8_t)((1u << (nb / 8)) - 1), q);
    return _mm512_setzero_si512();
}

SH_TARGET(SH_AVX512) SH_INLINE void sh_row_avx512_w(const uint8_t *q, const uint8_t *db,
                                                        int64_t n, int64_t nb, int32_t *out) {
    const __m512i qq = sh_query512(q, nb);
    int64_t j = 0;
    for (; nb % 8 == 0 && j + 8 <= n; j += 8)
        _mm256_storeu_si256((__m256i *)(out + j),
                            _mm512_cvtepi64_epi32(sh_eight_avx512(q, qq, db + j * nb, nb)));
    if (j < n) sh_row_popcnt(q, db + j * nb, n - j, nb, out + j);
}

SH_TARGET(SH_AVX512) SH_INLINE int64_t sh_below_avx512_w(const uint8_t *q, const uint8_t *db,
                                                             int64_t n, int64_t nb, int32_t bound,
                                                             int32_t *dist, int32_t *cand) {
    const __m512i qq = sh_query512(q, nb), bb = _mm512_set1_epi64(bound);
    int64_t j = 0, c = 0;
    for (; nb % 8 == 0 && j + 8 <= n; j += 8) {
        c = sh_emit8_avx512(sh_eight_avx512(q, qq, db + j * nb, nb), bb, j, dist, cand, c);
    }
    return sh_below_tail(q, db, j, n, nb, bound, dist, cand, c);
}

/* constant widths get their own copy of the loop (unrolled, constant masks;
 * 48 and 96 bytes are the 384- and 768-bit embedding codes) */
SH_TARGET(SH_AVX512) static void sh_row_avx512(const uint8_t *q, const uint8_t *db, int64_t n,
                                               int64_t nb, int32_t *out) {
    switch (nb) {
    case 8: sh_row_avx512_w(q, db, n, 8, out); break;
    case 16: sh_row_avx512_w(q, db, n, 16, out); break;
    case 32: sh_row_avx512_w(q, db, n, 32, out); break;
    case 64: sh_row_avx512_w(q, db, n, 64, out); break;
    case 128: sh_row_avx512_w(q, db, n, 128, out); break;
    case 48: sh_row_avx512_w(q, db, n, 48, out); break;
    case 96: sh_row_avx512_w(q, db, n, 96, out); break;
    default: sh_row_avx512_w(q, db, n, nb, out);
    }
}

SH_TARGET(SH_AVX512) static int64_t sh_below_avx512(const uint8_t *q, const uint8_t *db,
                                                    int64_t n, int64_t nb, int32_t bound,
                                                    int32_t *dist, int32_t *cand) {
    switch (nb) {
    case 8: return sh_below_avx512_w(q, db, n, 8, bound, dist, cand);
    case 16: return sh_below_avx512_w(q, db, n, 16, bound, dist, cand);
    case 32: return sh_below_avx512_w(q, db, n, 32, bound, dist, cand);
    case 64: return sh_below_avx512_w(q, db, n, 64, bound, dist, cand);
    case 128: return sh_below_avx512_w(q, db, n, 128, bound, dist, cand);
    case 48: return sh_below_avx512_w(q, db, n, 48, bound, dist, cand);
    case 96: return sh_below_avx512_w(q, db, n, 96, bound, dist, cand);
    default: return sh_below_avx512_w(q, db, n, nb, bound, dist, cand);
    }
}

/* ---- blocked chunks ------------------------------------------------------ */

/* Eight rows of (up to) eight words -> out[8 w + m] = word w of row m, for
 * the first nw words: an 8 x 8 transpose of 64-bit words in three rounds. */
SH_TARGET(SH_AVX512) SH_INLINE void sh_transpose8_avx512(const __m512i *r, int64_t nw,
                                                             uint64_t *out) {
    __m512i t[8], u[8], v[8];
    int i;
    for (i = 0; i < 4; i++) { /* pairs of rows: even words, odd words */
        t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]);
    }
    for (i = 0; i < 2; i++) { /* words (0,4) (2,6) (1,5) (3,7) of four rows */
        u[4 * i] = _mm512_shuffle_i64x2(t[4 * i], t[4 * i + 2], 0x88);
        u[4 * i + 1] = _mm512_shuffle_i64x2(t[4 * i], t[4 * i + 2], 0xDD);
        u[4 * i + 2] = _mm512_shuffle_i64x2(t[4 * i + 1], t[4 * i + 3], 0x88);
        u[4 * i + 3] = _mm512_shuffle_i64x2(t[4 * i + 1], t[4 * i + 3], 0xDD);
    }
    v[0] = _mm512_shuffle_i64x2(u[0], u[4], 0x88);
    v[4] = _mm512_shuffle_i64x2(u[0], u[4], 0xDD);
    v[2] = _mm512_shuffle_i64x2(u[1], u[5], 0x88);
    v[6] = _mm512_shuffle_i64x2(u[1], u[5], 0xDD);
    v[1] = _mm512_shuffle_i64x2(u[2], u[6], 0x88);
    v[5] = _mm512_shuffle_i64x2(u[2], u[6], 0xDD);
    v[3] = _mm512_shuffle_i64x2(u[3], u[7], 0x88);
    v[7] = _mm512_shuffle_i64x2(u[3], u[7], 0xDD);
    for (i = 0; i < nw; i++) _mm512_storeu_si512((void *)(out + 8 * i), v[i]);
}

/* eight 16-byte codes (two vectors) -> words 0 and 1: two permutes */
SH_TARGET(SH_AVX512) SH_INLINE void sh_block16_avx512(const uint8_t *d, uint64_t *out) {
    const __m512i a = _mm512_loadu_si512((const void *)d), b = _mm512_loadu_si512((const void *)(d + 64));
    _mm512_storeu_si512((void *)out,
                        _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b));
    _mm512_storeu_si512((void *)(out + 8),
                        _mm512_permutex2var_epi64(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b));
}

/* eight 32-byte codes (four vectors, two codes each) -> words 0-3: per four
 * codes, words (0, 2) and (1, 3) by permutes, then halves joined */
SH_TARGET(SH_AVX512) SH_INLINE void sh_block32_avx512(const uint8_t *d, uint64_t *out) {
    const __m512i even = _mm512_setr_epi64(0, 4, 8, 12, 2, 6, 10, 14);
    const __m512i odd = _mm512_setr_epi64(1, 5, 9, 13, 3, 7, 11, 15);
    __m512i a0 = _mm512_loadu_si512((const void *)d), a1 = _mm512_loadu_si512((const void *)(d + 64));
    __m512i a2 = _mm512_loadu_si512((const void *)(d + 128)), a3 = _mm512_loadu_si512((const void *)(d + 192));
    __m512i e_lo = _mm512_permutex2var_epi64(a0, even, a1), o_lo = _mm512_permutex2var_epi64(a0, odd, a1);
    __m512i e_hi = _mm512_permutex2var_epi64(a2, even, a3), o_hi = _mm512_permutex2var_epi64(a2, odd, a3);
    _mm512_storeu_si512((void *)out, _mm512_shuffle_i64x2(e_lo, e_hi, 0x44));
    _mm512_storeu_si512((void *)(out + 8), _mm512_shuffle_i64x2(o_lo, o_hi, 0x44));
    _mm512_storeu_si512((void *)(out + 16), _mm512_shuffle_i64x2(e_lo, e_hi, 0xEE));
    _mm512_storeu_si512((void *)(out + 24), _mm512_shuffle_i64x2(o_lo, o_hi, 0xEE));
}

SH_TARGET(SH_AVX512) SH_INLINE void sh_block_avx512_w(const uint8_t *db, int64_t n, int64_t nb,
                                                          uint64_t *out) {
    const int64_t words = nb / 8;
    int64_t j, w, m;
    __m512i r[8];
    for (j = 0; j + 8 <= n; j += 8, out += 8 * words) {
        if (nb == 16) {
            sh_block16_avx512(db + j * 16, out);
            continue;
        }
        if (nb == 32) {
            sh_block32_avx512(db + j * 32, out);
            continue;
        }
        for (w = 0; w < words; w += 8) {
            const int64_t nw = words - w < 8 ? words - w : 8;
            const uint8_t k = (uint8_t)((1u << nw) - 1);
            for (m = 0; m < 8; m++) r[m] = _mm512_maskz_loadu_epi64(k, db + (j + m) * nb + 8 * w);
            sh_transpose8_avx512(r, nw, out + 8 * w);
        }
    }
}

/* The blocked layout of the first n - n % 8 codes of a chunk (nb a multiple
 * of 8): block b, word w holds word w of codes 8b..8b+7, at out[8 (b words + w)]. */
SH_TARGET(SH_AVX512) static void sh_block_avx512(const uint8_t *db, int64_t n, int64_t nb,
                                                 uint64_t *out) {
    switch (nb) {
    case 16: sh_block_avx512_w(db, n, 16, out); break;
    case 32: sh_block_avx512_w(db, n, 32, out); break;
    case 64: sh_block_avx512_w(db, n, 64, out); break;
    case 128: sh_block_avx512_w(db, n, 128, out); break;
    case 48: sh_block_avx512_w(db, n, 48, out); break;
    case 96: sh_block_avx512_w(db, n, 96, out); break;
    default: sh_block_avx512_w(db, n, nb, out);
    }
}

SH_TARGET(SH_AVX512) SH_INLINE int64_t sh_below_blocked_avx512_w(
    const uint8_t *q, const uint64_t *blocks, const uint8_t *db, int64_t n, int64_t nb,
    int32_t bound, int32_t *dist, int32_t *cand) {
    const int64_t words = nb / 8;
    const __m512i bb = _mm512_set1_epi64(bound);
    int64_t j = 0, c = 0, w;
    for (; j + 8 <= n; j += 8, blocks += 8 * words) {
        __m512i s = _mm512_popcnt_epi64(_mm512_xor_si512(
            _mm512_set1_epi64((long long)sh_load64(q)), _mm512_loadu_si512((const void *)blocks)));
        for (w = 1; w < words; w++)
            s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_xor_si512(
                                        _mm512_set1_epi64((long long)sh_load64(q + 8 * w)),
                                        _mm512_loadu_si512((const void *)(blocks + 8 * w)))));
        c = sh_emit8_avx512(s, bb, j, dist, cand, c);
    }
    return sh_below_tail(q, db, j, n, nb, bound, dist, cand, c);
}

/* The fused k-NN row over a chunk blocked by sh_block_avx512 (the codes of
 * the last, partial block are read from db, the chunk as stored). */
SH_TARGET(SH_AVX512) static int64_t sh_below_blocked_avx512(const uint8_t *q,
                                                            const uint64_t *blocks,
                                                            const uint8_t *db, int64_t n,
                                                            int64_t nb, int32_t bound,
                                                            int32_t *dist, int32_t *cand) {
    switch (nb) {
    case 16: return sh_below_blocked_avx512_w(q, blocks, db, n, 16, bound, dist, cand);
    case 32: return sh_below_blocked_avx512_w(q, blocks, db, n, 32, bound, dist, cand);
    case 64: return sh_below_blocked_avx512_w(q, blocks, db, n, 64, bound, dist, cand);
    case 128: return sh_below_blocked_avx512_w(q, blocks, db, n, 128, bound, dist, cand);
    case 48: return sh_below_blocked_avx512_w(q, blocks, db, n, 48, bound, dist, cand);
    case 96: return sh_below_blocked_avx512_w(q, blocks, db, n, 96, bound, dist, cand);
    default: return sh_below_blocked_avx512_w(q, blocks, db, n, nb, bound, dist, cand);
    }
}

#endif
