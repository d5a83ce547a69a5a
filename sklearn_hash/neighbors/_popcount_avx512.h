/* AVX-512 VPOPCNTDQ kernels: a 64-bit popcount per lane, eight codes per step
 * for every width, the per-code sums kept in registers.
 *
 * Included by _popcount.h (x86-64 builds, or the SIMDe emulation harness of
 * the tests). Per step, eight codes give eight vectors of 64-bit lane counts
 * (8-byte codes: one vector; 16: two; 32: four; 64 and wider: eight,
 * accumulated over the 64-byte blocks of each code), which are reduced
 * together by unpack and 128-bit shuffle adds into one vector holding the
 * eight distances in code order: no per-code horizontal sum through memory.
 * The fused k-NN variant compares that vector with the bound and emits only
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
    int64_t j = 0, c = 0, m, extra;
    for (; nb % 8 == 0 && j + 8 <= n; j += 8) {
        __m512i s = sh_eight_avx512(q, qq, db + j * nb, nb);
        unsigned mask = (unsigned)_mm512_cmpgt_epi64_mask(bb, s);
        if (mask) {
            _mm256_storeu_si256((__m256i *)(dist + j), _mm512_cvtepi64_epi32(s));
            do {
                cand[c++] = (int32_t)(j + SH_CTZ(mask));
                mask &= mask - 1;
            } while (mask);
        }
    }
    if (j < n) {
        extra = sh_row_popcnt_below(q, db + j * nb, n - j, nb, bound, dist + j, cand + c);
        for (m = 0; m < extra; m++) cand[c + m] += (int32_t)j;
        c += extra;
    }
    return c;
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

#endif
