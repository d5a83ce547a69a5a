/* Tanimoto (Jaccard) search over packed fingerprints.
 *
 * The similarity of a query q and a code b is c / u with c = |q & b| and
 * u = |q | b| = |q| + |b| - c: one AND-popcount per word, the popcounts |q|
 * and |b| being known (|b| stored at fit). Two fingerprints with no bit set
 * (u = 0) have similarity 1 (distance 0), scikit-learn's convention for 0/0.
 *
 * Scores are compared exactly, as rationals: c1 / u1 > c2 / u2 iff
 * c1 u2 > c2 u1 in 64-bit integers; ties go to the smaller database index.
 *
 * Paths, as in _popcount.h (whose CPU checks, target macros and popcounts
 * they share): "avx512" (VPOPCNTDQ, 64 bytes a step), "avx2" (nibble-lookup
 * byte counts, SAD to 64-bit lanes), "popcnt" (scalar POPCNT), "builtin"
 * (aarch64) and "generic" (SWAR). Bytes a vector does not cover go through
 * the scalar loop. Every path is checked against the SWAR loop once per
 * process; the fastest usable path is measured per code width at its first
 * search (st_set_path forces one).
 *
 * BitBound (Swamidass & Baldi 2007): c / u <= min(|q|, |b|) / max(|q|, |b|).
 * With the database ordered by popcount, a threshold search reads only the
 * popcount window that can reach the threshold, and a k-NN search walks the
 * chunks outward from |q| and skips those whose bound is below the k-th
 * best (strictly: a code of equal similarity and smaller index still wins).
 */
#ifndef SKLEARN_HASH_TANIMOTO_H
#define SKLEARN_HASH_TANIMOTO_H

#include "_popcount.h"

typedef void (*st_row_fn)(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                          int32_t *out);

/* c = |q & d| over bytes [from, nb) of one code, 8 bytes a step */
#define ST_DEFINE_SCALAR(NAME, ATTR, POPCOUNT)                                            \
    ATTR SH_INLINE int32_t NAME##_tail(const uint8_t *q, const uint8_t *d, int64_t from,   \
                                       int64_t nb) {                                      \
        int64_t off;                                                                      \
        int32_t c = 0;                                                                    \
        for (off = from; off + 8 <= nb; off += 8)                                         \
            c += (int32_t)POPCOUNT(sh_load64(q + off) & sh_load64(d + off));               \
        if (off < nb) {                                                                   \
            uint64_t a = 0, b = 0;                                                        \
            memcpy(&a, q + off, (size_t)(nb - off));                                      \
            memcpy(&b, d + off, (size_t)(nb - off));                                      \
            c += (int32_t)POPCOUNT(a & b);                                                \
        }                                                                                 \
        return c;                                                                         \
    }                                                                                     \
    ATTR static void NAME##_row(const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb, \
                                int32_t *out) {                                           \
        int64_t j;                                                                        \
        /* constant trip counts for the common widths let the compiler unroll */          \
        switch (nb) {                                                                     \
        case 8: for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 8, 0, 8); break;  \
        case 16: for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 16, 0, 16); break; \
        case 32: for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 32, 0, 32); break; \
        case 64: for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 64, 0, 64); break; \
        case 128:                                                                         \
            for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 128, 0, 128);         \
            break;                                                                        \
        case 256:                                                                         \
            for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * 256, 0, 256);         \
            break;                                                                        \
        default: for (j = 0; j < n; j++) out[j] = NAME##_tail(q, db + j * nb, 0, nb);      \
        }                                                                                 \
    }

ST_DEFINE_SCALAR(st_generic, , sh_popcount64_swar)

#if defined(SH_X86_DISPATCH)
ST_DEFINE_SCALAR(st_popcnt, SH_TARGET("popcnt"), SH_POPCNT_BUILTIN)

/* AVX2: per code, the byte counts of q & d for each 32-byte block are added
 * as bytes (at most 8 * 31 < 256 for 31 blocks), then summed by SAD. */
SH_TARGET("avx2,popcnt") static void st_avx2_row(const uint8_t *q, const uint8_t *db, int64_t n,
                                                 int64_t nb, int32_t *out) {
    const int64_t full = nb / 32 * 32;
    int64_t j, off, group;
    for (j = 0; j < n; j++) {
        const uint8_t *d = db + j * nb;
        __m256i total = _mm256_setzero_si256();
        int64_t sum;
        for (group = 0; group < full; group += 31 * 32) {
            const int64_t end = group + 31 * 32 < full ? group + 31 * 32 : full;
            __m256i acc = _mm256_setzero_si256();
            for (off = group; off < end; off += 32) {
                __m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(q + off)),
                                             _mm256_loadu_si256((const __m256i *)(d + off)));
                acc = _mm256_add_epi8(acc, sh_popcount_bytes_avx2(a));
            }
            total = _mm256_add_epi64(total, _mm256_sad_epu8(acc, _mm256_setzero_si256()));
        }
        sum = _mm256_extract_epi64(total, 0) + _mm256_extract_epi64(total, 1) +
              _mm256_extract_epi64(total, 2) + _mm256_extract_epi64(total, 3);
        out[j] = (int32_t)sum + (full < nb ? st_popcnt_tail(q, d, full, nb) : 0);
    }
}
#endif

#if defined(SH_HAVE_AVX512)
/* the sum of the eight 64-bit lanes (spelt out: SIMDe has no reduce_add) */
SH_TARGET(SH_AVX512) SH_INLINE int64_t st_sum512(__m512i v) {
    __m256i h = _mm256_add_epi64(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i x = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    return _mm_cvtsi128_si64(x) + _mm_extract_epi64(x, 1);
}

/* AVX-512 VPOPCNTDQ: 64 bytes a step, 64-bit lane counts, one reduction per
 * code; a width not a multiple of 64 ends with a masked load of whole words */
SH_TARGET(SH_AVX512) static void st_avx512_row(const uint8_t *q, const uint8_t *db, int64_t n,
                                               int64_t nb, int32_t *out) {
    const int64_t full = nb / 64 * 64, words = (nb - full) / 8, wide = full + 8 * words;
    const uint8_t mask = (uint8_t)((1u << words) - 1u); /* a __mmask8 */
    int64_t j, off;
    for (j = 0; j < n; j++) {
        const uint8_t *d = db + j * nb;
        __m512i acc = _mm512_setzero_si512();
        for (off = 0; off < full; off += 64) {
            __m512i a = _mm512_and_si512(_mm512_loadu_si512((const void *)(q + off)),
                                         _mm512_loadu_si512((const void *)(d + off)));
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(a));
        }
        if (words) {
            __m512i a = _mm512_and_si512(_mm512_maskz_loadu_epi64(mask, q + full),
                                         _mm512_maskz_loadu_epi64(mask, d + full));
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(a));
        }
        out[j] = (int32_t)st_sum512(acc) +
                 (wide < nb ? st_popcnt_tail(q, d, wide, nb) : 0);
    }
}
#endif

#if !defined(SH_X86_DISPATCH) && defined(SH_HAVE_BUILTIN_PATH)
ST_DEFINE_SCALAR(st_builtin, , __builtin_popcountll)
#endif

/* ---- the path table ---------------------------------------------------------- */
typedef struct {
    const char *name;
    st_row_fn row;
} st_path_t;

static const st_path_t st_paths[] = {
#if defined(SH_HAVE_AVX512)
    {"avx512", st_avx512_row},
#endif
#if defined(SH_X86_DISPATCH)
    {"avx2", st_avx2_row},
    {"popcnt", st_popcnt_row},
#elif defined(SH_HAVE_BUILTIN_PATH)
    {"builtin", st_builtin_row},
#endif
    {"generic", st_generic_row},
};
#define ST_N_PATHS ((int)(sizeof(st_paths) / sizeof(st_paths[0])))
#define ST_GENERIC (ST_N_PATHS - 1)

static int st_find_path(const char *name) {
    int p;
    for (p = 0; p < ST_N_PATHS; p++)
        if (strcmp(st_paths[p].name, name) == 0) return p;
    return -1;
}

/* whether path p can run on this CPU: the Hamming kernels' check, by name */
static int st_cpu_has(int p) {
    int h = sh_find_path(st_paths[p].name);
    return h >= 0 && sh_cpu_has(h);
}

/* ---- self-test: every path against the SWAR loop ------------------------------ */
static int st_self_test_path(int p) {
    /* widths around every vector boundary, and a 2048-bit fingerprint */
    static const int64_t widths[] = {1, 3, 7, 8, 9, 15, 16, 24, 31, 32, 33, 40, 63, 64,
                                     65, 72, 100, 128, 200, 256, 1000, 1024};
    const int64_t n = 13, nbmax = 1024;
    uint8_t *q = (uint8_t *)malloc((size_t)nbmax);
    uint8_t *db = (uint8_t *)malloc((size_t)(n * nbmax));
    int32_t got[13], want[13];
    int ok = q != NULL && db != NULL;
    size_t w;
    int64_t j;
    for (w = 0; ok && w < sizeof(widths) / sizeof(widths[0]); w++) {
        const int64_t nb = widths[w];
        sh_fill_random(q, nb, 7 + (uint64_t)w);
        sh_fill_random(db, n * nb, 1000 + (uint64_t)w);
        memset(db, 0, (size_t)nb);            /* an empty code */
        memset(db + nb, 0xff, (size_t)nb);    /* a full one */
        st_generic_row(q, db, n, nb, want);
        st_paths[p].row(q, db, n, nb, got);
        for (j = 0; j < n; j++) ok &= got[j] == want[j];
    }
    free(q);
    free(db);
    return ok;
}

/* ---- per-width measured dispatch ----------------------------------------------- */
/* widths up to 1024 bytes have a slot each, wider codes share the last one */
#define ST_N_SLOTS 1026
static int st_usable[16];
static int st_usable_ready = 0;
static int st_forced = -1;
static int st_slot_path[ST_N_SLOTS];            /* chosen path + 1, 0 before measuring */
static double st_slot_ns[ST_N_SLOTS][16];       /* ns per code as measured */
static volatile int32_t st_sink;

static int st_slot(int64_t nb) { return nb <= 1024 ? (int)nb : 1025; }

static void st_init_usable(void) {
    int p;
    if (st_usable_ready) return;
    for (p = 0; p < ST_N_PATHS; p++) st_usable[p] = st_cpu_has(p) && st_self_test_path(p);
    st_usable[ST_GENERIC] = 1;
    st_usable_ready = 1;
}

/* Time every usable path on a synthetic chunk of nb-byte codes (best of
 * three passes of about 256 KB each) and keep the fastest. Runs with the GIL
 * held (the estimator asks before its threads start). */
static int st_measure(int64_t nb) {
    const int64_t n = nb >= 1024 ? 256 : 262144 / nb;
    uint8_t *q = (uint8_t *)malloc((size_t)nb);
    uint8_t *db = (uint8_t *)malloc((size_t)(n * nb));
    int32_t *out = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    int p, rep, best = ST_GENERIC;
    double best_ns = 0;
    const int slot = st_slot(nb);
    if (q == NULL || db == NULL || out == NULL) {
        free(q);
        free(db);
        free(out);
        return ST_GENERIC;
    }
    sh_fill_random(q, nb, 3);
    sh_fill_random(db, n * nb, 5);
    for (p = 0; p < ST_N_PATHS; p++) {
        double ns = -1;
        if (!st_usable[p]) continue;
        for (rep = 0; rep < 3; rep++) {
            double t0 = sh_cpu_seconds(), t;
            st_paths[p].row(q, db, n, nb, out);
            t = (sh_cpu_seconds() - t0) * 1e9 / (double)n;
            st_sink += out[n - 1];
            if (ns < 0 || t < ns) ns = t;
        }
        st_slot_ns[slot][p] = ns;
        if (best_ns == 0 || ns < best_ns) {
            best_ns = ns;
            best = p;
        }
    }
    free(q);
    free(db);
    free(out);
    return best;
}

/* the path for nb-byte codes: forced, or measured at the width's first use */
static int st_path_index(int64_t nb) {
    const int slot = st_slot(nb);
    st_init_usable();
    if (st_forced >= 0) return st_forced;
    if (!st_slot_path[slot]) st_slot_path[slot] = st_measure(nb) + 1;
    return st_slot_path[slot] - 1;
}

static const char *st_path_name(int p) { return st_paths[p].name; }

static int st_path_available(const char *name) {
    int p = st_find_path(name);
    st_init_usable();
    return p >= 0 && st_usable[p];
}

/* force path `name` for every width ("auto": measure per width); 0 if unusable */
static int st_set_path(const char *name) {
    if (strcmp(name, "auto") == 0) {
        st_forced = -1;
        return 1;
    }
    if (!st_path_available(name)) return 0;
    st_forced = st_find_path(name);
    return 1;
}

static const char *st_forced_path(void) {
    return st_forced >= 0 ? st_paths[st_forced].name : "auto";
}

static double st_width_ns(int64_t nb, const char *name) {
    int p = st_find_path(name);
    return p < 0 || !st_slot_path[st_slot(nb)] ? 0.0 : st_slot_ns[st_slot(nb)][p];
}

static void st_reset_choices(void) {
    memset(st_slot_path, 0, sizeof(st_slot_path));
    memset(st_slot_ns, 0, sizeof(st_slot_ns));
}

static void st_row(int p, const uint8_t *q, const uint8_t *db, int64_t n, int64_t nb,
                   int32_t *out) {
    st_paths[p].row(q, db, n, nb, out);
}

/* ---- exact scores and the bounded k-best heap ------------------------------------ */
/* A result: c = |q & b| and u = |q | b| (0 / 0 stored as 1 / 1), the index. */
typedef struct {
    int32_t c, u;
    int64_t idx;
} st_item_t;

/* whether a ranks after b: lower similarity, or equal and a larger index */
SH_INLINE int st_worse(int32_t ac, int32_t au, int64_t ai, const st_item_t *b) {
    const int64_t l = (int64_t)ac * b->u, r = (int64_t)b->c * au;
    return l < r || (l == r && ai > b->idx);
}

SH_INLINE int st_item_worse(const st_item_t *a, const st_item_t *b) {
    return st_worse(a->c, a->u, a->idx, b);
}

/* replace the worst item (the root of a max-heap by st_worse) and sift down */
static void st_heap_replace(st_item_t *h, int64_t k, int32_t c, int32_t u, int64_t idx) {
    const st_item_t x = {c, u, idx};
    int64_t i = 0;
    for (;;) {
        const int64_t l = 2 * i + 1, r = l + 1;
        int64_t w = i;
        const st_item_t *worst = &x;
        if (l < k && st_item_worse(&h[l], worst)) w = l, worst = &h[l];
        if (r < k && st_item_worse(&h[r], worst)) w = r, worst = &h[r];
        if (w == i) break;
        h[i] = h[w];
        i = w;
    }
    h[i] = x;
}

/* push into a heap of size n < k, sifting up past the better parents */
static void st_heap_push(st_item_t *h, int64_t n, int32_t c, int32_t u, int64_t idx) {
    const st_item_t x = {c, u, idx};
    int64_t i = n;
    while (i > 0) {
        const int64_t parent = (i - 1) / 2;
        if (!st_item_worse(&x, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

static int st_item_order(const void *a, const void *b) {
    const st_item_t *x = (const st_item_t *)a, *y = (const st_item_t *)b;
    if (st_worse(x->c, x->u, x->idx, y)) return 1;
    if (st_worse(y->c, y->u, y->idx, x)) return -1;
    return 0;
}

/* ---- the scans --------------------------------------------------------------------- */
#define ST_QUERY_BLOCK 32

/* The database as scanned: `codes` in scan order (for BitBound a copy
 * ordered by popcount, so that chunks are contiguous), `order` mapping scan
 * positions to database indices (NULL: the same), `pop` the popcount at each
 * scan position (ascending when ordered by popcount). */
typedef struct {
    const uint8_t *codes;
    const int64_t *order;
    const int32_t *pop;
    int64_t n, nb;
    /* the set bits of code j (scan order) are pos[start[j] .. start[j + 1]);
     * NULL: the dense kernels only */
    const uint16_t *pos;
    const int64_t *start;
} st_db_t;

/* BitBound of a chunk with popcounts [pmin, pmax] for a query of popcount pq:
 * whether it may hold a code ranking at least level with the heap's worst */
SH_INLINE int st_chunk_may_help(int32_t pq, int32_t pmin, int32_t pmax, const st_item_t *worst) {
    if (pq < pmin) return !st_worse(pq, pmin, -1, worst);
    if (pq > pmax) return !st_worse(pmax, pq, -1, worst);
    return 1;
}

/* Offer (c, u) of the code at scan position j to a heap h of *size <= k
 * items; returns whether it entered. */
SH_INLINE int st_offer(const st_db_t *db, int64_t j, int32_t c, int32_t u, int64_t self,
                       st_item_t *h, int64_t k, int64_t *size) {
    const int64_t idx = db->order == NULL ? j : db->order[j];
    if (u == 0) c = u = 1;
    if (idx == self) return 0;
    if (*size < k) {
        st_heap_push(h, *size, c, u, idx);
        (*size)++;
        return 1;
    }
    if (st_worse(c, u, idx, &h[0])) return 0;
    st_heap_replace(h, k, c, u, idx);
    return 1;
}

/* Scores of chunk [s, e) for one query, merged into its heap h of size *size. */
static void st_knn_chunk(int p, const st_db_t *db, const uint8_t *chunk, int64_t s, int64_t e,
                         const uint8_t *q, int32_t pq, int64_t self, st_item_t *h, int64_t k,
                         int64_t *size, int32_t *counts) {
    int64_t j;
    int32_t wc = 0, wu = 1;
    st_paths[p].row(q, chunk, e - s, db->nb, counts);
    if (*size == k) wc = h[0].c, wu = h[0].u;
    for (j = s; j < e; j++) {
        int32_t c = counts[j - s], u = pq + db->pop[j] - c;
        /* the common case: strictly below the worst kept (u = 0 is 1 / 1) */
        if (*size == k && u != 0 && (int64_t)c * wu < (int64_t)wc * u) continue;
        if (st_offer(db, j, c, u, self, h, k, size) && *size == k) wc = h[0].c, wu = h[0].u;
    }
}

/* ---- sparse fingerprints: a block of queries per code ------------------------------
 * Chemical fingerprints set a few per cent of their bits. With the block's
 * queries as a table E of one 32-byte row per bit position (byte i: that bit
 * of query i), the counts c of all 32 queries against code b are the byte-wise
 * sums of the rows of b's set bits: |b| vector adds for 32 queries, where the
 * dense kernels pay a popcount of every word per query. Bytes hold the counts
 * while every query of the block has at most 255 bits set (c <= |q|); other
 * blocks go dense. A code is a candidate for query i when its count reaches
 * T[|b|][i], the least count that can rank level with the query's k-th best (or
 * reach the radius), so one compare of 32 bytes rejects most codes for every
 * query at once. */
typedef int64_t (*st_sparse_fn)(const uint8_t *E, const st_db_t *db, int64_t s, int64_t e,
                                int32_t pmin, const uint8_t *T, uint32_t active, int64_t *cand,
                                uint32_t *masks, uint8_t *counts);

#define ST_DEFINE_SPARSE_GENERIC(NAME, ATTR)                                                    \
    ATTR static int64_t NAME(const uint8_t *E, const st_db_t *db, int64_t s, int64_t e,         \
                             int32_t pmin, const uint8_t *T, uint32_t active, int64_t *cand,    \
                             uint32_t *masks, uint8_t *counts) {                                \
        int64_t j, t, m = 0;                                                                    \
        int i;                                                                                  \
        for (j = s; j < e; j++) {                                                               \
            uint8_t acc[ST_QUERY_BLOCK];                                                        \
            const uint8_t *th = T + (int64_t)(db->pop[j] - pmin) * ST_QUERY_BLOCK;             \
            uint32_t mask = 0;                                                                  \
            memset(acc, 0, sizeof(acc));                                                        \
            for (t = db->start[j]; t < db->start[j + 1]; t++) {                                 \
                const uint8_t *row = E + (int64_t)db->pos[t] * ST_QUERY_BLOCK;                  \
                for (i = 0; i < ST_QUERY_BLOCK; i++) acc[i] = (uint8_t)(acc[i] + row[i]);       \
            }                                                                                   \
            for (i = 0; i < ST_QUERY_BLOCK; i++) mask |= (uint32_t)(acc[i] >= th[i]) << i;      \
            mask &= active;                                                                     \
            if (mask) {                                                                         \
                cand[m] = j;                                                                    \
                masks[m] = mask;                                                                \
                memcpy(counts + m * ST_QUERY_BLOCK, acc, ST_QUERY_BLOCK);                       \
                m++;                                                                            \
            }                                                                                   \
        }                                                                                       \
        return m;                                                                               \
    }

ST_DEFINE_SPARSE_GENERIC(st_sparse_generic, )

#if defined(SH_X86_DISPATCH)
SH_TARGET("avx2") static int64_t st_sparse_avx2(const uint8_t *E, const st_db_t *db, int64_t s,
                                                int64_t e, int32_t pmin, const uint8_t *T,
                                                uint32_t active, int64_t *cand, uint32_t *masks,
                                                uint8_t *counts) {
    int64_t j, t, m = 0;
    for (j = s; j < e; j++) {
        const int64_t a = db->start[j], b = db->start[j + 1];
        /* two accumulators: the adds of a code do not wait on each other */
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256(), acc, th;
        uint32_t mask;
        for (t = a; t + 1 < b; t += 2) {
            acc0 = _mm256_add_epi8(
                acc0, _mm256_loadu_si256((const __m256i *)(E + (int64_t)db->pos[t] * 32)));
            acc1 = _mm256_add_epi8(
                acc1, _mm256_loadu_si256((const __m256i *)(E + (int64_t)db->pos[t + 1] * 32)));
        }
        if (t < b)
            acc0 = _mm256_add_epi8(
                acc0, _mm256_loadu_si256((const __m256i *)(E + (int64_t)db->pos[t] * 32)));
        acc = _mm256_add_epi8(acc0, acc1);
        th = _mm256_loadu_si256((const __m256i *)(T + (int64_t)(db->pop[j] - pmin) * 32));
        /* acc >= th, unsigned: max(acc, th) == acc */
        mask = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(acc, th), acc));
        mask &= active;
        if (mask) {
            cand[m] = j;
            masks[m] = mask;
            _mm256_storeu_si256((__m256i *)(counts + m * 32), acc);
            m++;
        }
    }
    return m;
}
#endif

typedef struct {
    const char *name;
    st_sparse_fn scan;
} st_sparse_path_t;

static const st_sparse_path_t st_sparse_paths[] = {
#if defined(SH_X86_DISPATCH)
    {"avx2 sparse", st_sparse_avx2},
#endif
    {"generic sparse", st_sparse_generic},
};
#define ST_N_SPARSE ((int)(sizeof(st_sparse_paths) / sizeof(st_sparse_paths[0])))

/* the query table E of a block: row b (32 bytes) holds bit b of each query;
 * for a lone query one byte a row (2 KB for 2048 bits: it stays in L1, where
 * the 32-byte rows of a 64 KB table are read from L2) */
static void st_query_table(const uint8_t *const *queries, int nq, int64_t nb, uint8_t *E) {
    const int64_t stride = nq == 1 ? 1 : ST_QUERY_BLOCK;
    int64_t byte;
    int i;
    memset(E, 0, (size_t)(8 * nb * stride));
    for (i = 0; i < nq; i++)
        for (byte = 0; byte < nb; byte++) {
            unsigned v = queries[i][byte];
            while (v) {
                E[(8 * byte + SH_CTZ(v)) * stride + i] = 1;
                v &= v - 1;
            }
        }
}

/* the sparse scan for a lone query (compact table): c of each code, a
 * candidate where it reaches T's first column */
static int64_t st_sparse_one(const uint8_t *E, const st_db_t *db, int64_t s, int64_t e,
                             int32_t pmin, const uint8_t *T, int64_t *cand, uint32_t *masks,
                             uint8_t *counts) {
    int64_t j, t, m = 0;
    for (j = s; j < e; j++) {
        const int64_t a = db->start[j], b = db->start[j + 1];
        int32_t c0 = 0, c1 = 0;
        for (t = a; t + 1 < b; t += 2) {
            c0 += E[db->pos[t]];
            c1 += E[db->pos[t + 1]];
        }
        if (t < b) c0 += E[db->pos[t]];
        c0 += c1;
        if (c0 >= T[(int64_t)(db->pop[j] - pmin) * ST_QUERY_BLOCK]) {
            cand[m] = j;
            masks[m] = 1u;
            counts[m * ST_QUERY_BLOCK] = (uint8_t)c0;
            m++;
        }
    }
    return m;
}

/* the sparse scan of variant sp, or the lone-query one */
static int64_t st_sparse_scan(int sp, int nq, const uint8_t *E, const st_db_t *db, int64_t s,
                              int64_t e, int32_t pmin, const uint8_t *T, uint32_t active,
                              int64_t *cand, uint32_t *masks, uint8_t *counts) {
    if (nq == 1) return st_sparse_one(E, db, s, e, pmin, T, cand, masks, counts);
    return st_sparse_paths[sp].scan(E, db, s, e, pmin, T, active, cand, masks, counts);
}

/* the least count c with which a code of popcount pb can rank level with the
 * worst kept (c u_w >= c_w u, u = pq + pb - c), capped at 255 */
SH_INLINE uint8_t st_knn_least(int32_t pq, int32_t pb, const st_item_t *worst) {
    const int64_t num = (int64_t)worst->c * (pq + pb), den = (int64_t)worst->u + worst->c;
    const int64_t t = (num + den - 1) / den;
    return (uint8_t)(t > 255 ? 255 : t);
}

/* the least count that may reach similarity sim = 1 - radius (c >= sim u),
 * rounded down by a margin: the exact test follows */
SH_INLINE uint8_t st_radius_least(int32_t pq, int32_t pb, double sim) {
    const double t = sim <= 0 ? 0.0 : sim * (pq + pb) / (1.0 + sim) - 1e-6;
    return (uint8_t)(t <= 0 ? 0 : t >= 255 ? 255 : (int64_t)t);
}

/* scratch bytes per thread for the sparse scans of nb-byte codes, chunk codes */
#define ST_SPARSE_SCRATCH(nb, chunk) \
    (((8 * (nb) * 2 + 1) * ST_QUERY_BLOCK + (chunk) * (8 + 4 + ST_QUERY_BLOCK) + 63) / 64 * 64)

/* the sparse scan of chunk [s, e) for a block: T rows for the chunk's popcounts
 * from each active query's least count; candidates offered to the heaps */
static void st_knn_sparse_chunk(int sp, const st_db_t *db, int64_t s, int64_t e,
                                const int32_t *qpop, const int64_t *qself, int nq, int64_t k,
                                st_item_t *heaps, int64_t *size, uint32_t active,
                                uint8_t *scratch, int64_t chunk) {
    uint8_t *E = scratch, *T = E + 8 * db->nb * ST_QUERY_BLOCK;
    int64_t *cand = (int64_t *)(T + (8 * db->nb + 1) * ST_QUERY_BLOCK);
    uint32_t *masks = (uint32_t *)(cand + chunk);
    uint8_t *counts = (uint8_t *)(masks + chunk);
    const int32_t pmin = db->pop[s], pmax = db->pop[e - 1 < s ? s : e - 1];
    int32_t lo = pmin, hi = pmax, pb;
    int64_t m, n_cand, j;
    int i;
    if (db->order == NULL) { /* stored order: popcounts not sorted */
        for (j = s; j < e; j++) {
            if (db->pop[j] < lo) lo = db->pop[j];
            if (db->pop[j] > hi) hi = db->pop[j];
        }
    }
    for (i = 0; i < nq; i++) {
        if (!(active >> i & 1u)) continue;
        for (pb = lo; pb <= hi; pb++)
            T[(pb - lo) * ST_QUERY_BLOCK + i] =
                size[i] < k ? 0 : st_knn_least(qpop[i], pb, &heaps[i * k]);
    }
    n_cand = st_sparse_scan(sp, nq, E, db, s, e, lo, T, active, cand, masks, counts);
    for (m = 0; m < n_cand; m++) {
        uint32_t mask = masks[m];
        j = cand[m];
        while (mask) {
            i = SH_CTZ(mask);
            mask &= mask - 1;
            {
                const int32_t c = counts[m * ST_QUERY_BLOCK + i];
                st_offer(db, j, c, qpop[i] + db->pop[j] - c, qself[i], &heaps[i * k], k,
                         &size[i]);
            }
        }
    }
}

/* whether the sparse scan serves this block: a sparse layout, a variant
 * chosen (sp >= 0), enough queries to pay for it (its cost hardly depends on
 * their number, the dense kernels' grows with it: min_queries is measured at
 * fit), and counts that fit bytes (every query at most 255 bits) */
static int st_block_is_sparse(int sp, const st_db_t *db, const int32_t *qpop, int nq,
                              int min_queries) {
    int i;
    if (sp < 0 || db->pos == NULL || nq < min_queries) return 0;
    for (i = 0; i < nq; i++)
        if (qpop[i] > 255) return 0;
    return 1;
}

/* k-NN of a block of nq <= ST_QUERY_BLOCK queries (rows of `queries`, popcounts
 * qpop, own index qself or -1), each heap h + i k of k items, sorted at the end.
 * With bounds, the chunks are visited outward from the block's middle popcount
 * and a chunk is scored only for the queries it may help; a direction ends when
 * it can help none (further chunks have bounds no higher). Dense path p, or the
 * sparse variant sp (-1: none) for blocks of at least sparse_min queries. Scratch: chunk int32 (counts) and
 * ST_SPARSE_SCRATCH bytes (sparse). */
static void st_knn_block(int p, int sp, int sparse_min, const st_db_t *db,
                         const uint8_t *const *queries,
                         const int32_t *qpop, const int64_t *qself, int nq, int64_t k,
                         st_item_t *heaps, int use_bounds, int64_t chunk, int32_t *counts,
                         uint8_t *scratch) {
    int64_t size[ST_QUERY_BLOCK];
    int64_t up, down, centre = 0;
    int i, dir, live_up = 1, live_down = 1;
    const int sparse = st_block_is_sparse(sp, db, qpop, nq, sparse_min);
    for (i = 0; i < nq; i++) size[i] = 0;
    if (sparse) st_query_table(queries, nq, db->nb, scratch);
    if (use_bounds) {
        /* the first scan position whose popcount reaches the middle query's */
        int32_t mid = qpop[nq / 2];
        int64_t lo = 0, hi = db->n;
        while (lo < hi) {
            int64_t m = (lo + hi) / 2;
            if (db->pop[m] < mid) lo = m + 1;
            else hi = m;
        }
        centre = lo;
    }
    up = centre;
    down = centre;
    live_down = centre > 0;
    live_up = centre < db->n;
    dir = 0;
    while (live_up || live_down) {
        int64_t s, e;
        uint32_t need = 0;
        int beyond = 1;
        if ((dir == 0 && live_up) || !live_down) {
            s = up;
            e = up + chunk < db->n ? up + chunk : db->n;
            dir = 0;
        } else {
            e = down;
            s = down - chunk > 0 ? down - chunk : 0;
            dir = 1;
        }
        for (i = 0; i < nq; i++) {
            const int32_t pmin = db->pop[s], pmax = db->pop[e - 1];
            if (!use_bounds || size[i] < k ||
                st_chunk_may_help(qpop[i], pmin, pmax, &heaps[i * k]))
                need |= 1u << i;
            /* outward from here, the chunks only move away from this query */
            beyond &= dir == 0 ? qpop[i] <= pmin : qpop[i] >= pmax;
        }
        if (!need && beyond) {
            if (dir == 0) live_up = 0;
            else live_down = 0;
            dir ^= 1;
            continue;
        }
        if (sparse && need)
            st_knn_sparse_chunk(sp, db, s, e, qpop, qself, nq, k, heaps, size, need, scratch,
                                chunk);
        else
            for (i = 0; i < nq; i++)
                if (need >> i & 1u)
                    st_knn_chunk(p, db, db->codes + s * db->nb, s, e, queries[i], qpop[i],
                                 qself[i], &heaps[i * k], k, &size[i], counts);
        if (dir == 0) {
            up = e;
            live_up = up < db->n;
        } else {
            down = s;
            live_down = down > 0;
        }
        if (use_bounds) dir ^= 1;
    }
    for (i = 0; i < nq; i++) qsort(&heaps[i * k], (size_t)k, sizeof(st_item_t), st_item_order);
}

/* Threshold search: codes at distance 1 - c / u <= radius (computed in double
 * as NumPy does, 0 when u = 0), within scan positions [lo[i], hi[i]) of each
 * query of the block; hits appended to hits[i] (grown with realloc; its
 * capacity in cap[i], its length in len[i]). Returns 0 when out of memory. */
typedef struct {
    double d;
    int64_t idx;
} st_hit_t;

static int st_hit_order(const void *a, const void *b) {
    const st_hit_t *x = (const st_hit_t *)a, *y = (const st_hit_t *)b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* (u - c) / u as scikit-learn's jaccard computes it: 1 - c / u would round
 * 7/10 to a distance of 0.30000000000000004, outside radius 0.3 */
SH_INLINE double st_distance(int32_t c, int32_t u) {
    return u == 0 ? 0.0 : (double)(u - c) / (double)u;
}

/* append (c, u) of the code at scan position j to hits[i] if it is within the
 * radius; 0 when out of memory */
static int st_add_hit(const st_db_t *db, int64_t j, int32_t c, int32_t pq, int64_t self,
                      double radius, st_hit_t **hits, int64_t *len, int64_t *cap) {
    const double d = st_distance(c, pq + db->pop[j] - c);
    const int64_t idx = db->order == NULL ? j : db->order[j];
    if (!(d <= radius) || idx == self) return 1;
    if (*len == *cap) {
        int64_t grown = *cap ? 2 * *cap : 64;
        st_hit_t *more = (st_hit_t *)realloc(*hits, (size_t)grown * sizeof(st_hit_t));
        if (more == NULL) return 0;
        *hits = more;
        *cap = grown;
    }
    (*hits)[*len].d = d;
    (*hits)[*len].idx = idx;
    (*len)++;
    return 1;
}

/* the sparse scan of chunk [s, e) for the radius: T from the least counts */
static int st_radius_sparse_chunk(int sp, const st_db_t *db, int64_t s, int64_t e,
                                  const int32_t *qpop, const int64_t *qself, int nq,
                                  double radius, uint32_t active, st_hit_t **hits, int64_t *len,
                                  int64_t *cap, uint8_t *scratch, int64_t chunk) {
    uint8_t *E = scratch, *T = E + 8 * db->nb * ST_QUERY_BLOCK;
    int64_t *cand = (int64_t *)(T + (8 * db->nb + 1) * ST_QUERY_BLOCK);
    uint32_t *masks = (uint32_t *)(cand + chunk);
    uint8_t *counts = (uint8_t *)(masks + chunk);
    int32_t lo = db->pop[s], hi = db->pop[s], pb;
    int64_t m, n_cand, j;
    int i;
    for (j = s; j < e; j++) {
        if (db->pop[j] < lo) lo = db->pop[j];
        if (db->pop[j] > hi) hi = db->pop[j];
    }
    for (i = 0; i < nq; i++)
        if (active >> i & 1u)
            for (pb = lo; pb <= hi; pb++)
                T[(pb - lo) * ST_QUERY_BLOCK + i] = st_radius_least(qpop[i], pb, 1.0 - radius);
    n_cand = st_sparse_scan(sp, nq, E, db, s, e, lo, T, active, cand, masks, counts);
    for (m = 0; m < n_cand; m++) {
        uint32_t mask = masks[m];
        j = cand[m];
        while (mask) {
            i = SH_CTZ(mask);
            mask &= mask - 1;
            if (!st_add_hit(db, j, counts[m * ST_QUERY_BLOCK + i], qpop[i], qself[i], radius,
                            &hits[i], &len[i], &cap[i]))
                return 0;
        }
    }
    return 1;
}

static int st_radius_block(int p, int sp, int sparse_min, const st_db_t *db,
                           const uint8_t *const *queries,
                           const int32_t *qpop, const int64_t *qself, const int64_t *lo,
                           const int64_t *hi, int nq, double radius, st_hit_t **hits,
                           int64_t *len, int64_t *cap, int64_t chunk, int32_t *counts,
                           uint8_t *scratch) {
    int64_t first = db->n, last = 0, s, j;
    int i;
    const int sparse = st_block_is_sparse(sp, db, qpop, nq, sparse_min);
    if (sparse) st_query_table(queries, nq, db->nb, scratch);
    for (i = 0; i < nq; i++) {
        if (lo[i] < hi[i] && lo[i] < first) first = lo[i];
        if (lo[i] < hi[i] && hi[i] > last) last = hi[i];
    }
    for (s = first; s < last; s += chunk) {
        const int64_t e = s + chunk < last ? s + chunk : last;
        uint32_t active = 0;
        for (i = 0; i < nq; i++)
            if (lo[i] < e && hi[i] > s) active |= 1u << i;
        if (sparse) {
            /* the whole chunk for every active query: outside its window no
             * code can reach the radius, the exact test rejects it */
            if (active && !st_radius_sparse_chunk(sp, db, s, e, qpop, qself, nq, radius, active,
                                                  hits, len, cap, scratch, chunk))
                return 0;
            continue;
        }
        for (i = 0; i < nq; i++) {
            const int64_t a = lo[i] > s ? lo[i] : s, b = hi[i] < e ? hi[i] : e;
            if (a >= b) continue;
            st_paths[p].row(queries[i], db->codes + a * db->nb, b - a, db->nb, counts);
            for (j = a; j < b; j++)
                if (!st_add_hit(db, j, counts[j - a], qpop[i], qself[i], radius, &hits[i],
                                &len[i], &cap[i]))
                    return 0;
        }
    }
    for (i = 0; i < nq; i++)
        if (len[i] > 1) qsort(hits[i], (size_t)len[i], sizeof(st_hit_t), st_hit_order);
    return 1;
}

/* ---- the sparse variants: self-test and measured choice ----------------------------- */
static int st_sparse_usable[8];
static int st_sparse_ready = 0;

/* sparse variant q against the generic one on random sparse codes */
static int st_sparse_self_test(int q) {
    enum { N = 50, NB = 40 };
    uint8_t codes[N * NB], E[8 * NB * ST_QUERY_BLOCK], T[(8 * NB + 1) * ST_QUERY_BLOCK];
    uint8_t counts_a[N * ST_QUERY_BLOCK], counts_b[N * ST_QUERY_BLOCK];
    const uint8_t *rows[ST_QUERY_BLOCK];
    uint16_t pos[N * NB * 8];
    int64_t start[N + 1], cand_a[N], cand_b[N], na, nb_, j, m = 0;
    int32_t pop[N];
    uint32_t masks_a[N], masks_b[N];
    uint64_t seed = 11;
    int i, ok = 1;
    st_db_t db = {codes, NULL, pop, N, NB, pos, start};
    for (j = 0; j < N * NB; j++) codes[j] = (uint8_t)(sh_xorshift(&seed) & sh_xorshift(&seed));
    for (j = 0; j < N; j++) {
        start[j] = m;
        pop[j] = 0;
        for (i = 0; i < 8 * NB; i++)
            if (codes[j * NB + i / 8] >> (i % 8) & 1) pos[m++] = (uint16_t)i, pop[j]++;
    }
    start[N] = m;
    for (i = 0; i < ST_QUERY_BLOCK; i++) rows[i] = codes + (i % N) * NB;
    st_query_table(rows, ST_QUERY_BLOCK, NB, E);
    for (j = 0; j < (8 * NB + 1) * ST_QUERY_BLOCK; j++) T[j] = (uint8_t)(sh_xorshift(&seed) % 24);
    na = st_sparse_paths[q].scan(E, &db, 0, N, 0, T, 0xfffffffbu, cand_a, masks_a, counts_a);
    nb_ = st_sparse_generic(E, &db, 0, N, 0, T, 0xfffffffbu, cand_b, masks_b, counts_b);
    ok = na == nb_;
    for (j = 0; ok && j < na; j++)
        ok = cand_a[j] == cand_b[j] && masks_a[j] == masks_b[j] &&
             memcmp(counts_a + j * ST_QUERY_BLOCK, counts_b + j * ST_QUERY_BLOCK,
                    ST_QUERY_BLOCK) == 0;
    return ok;
}

static void st_init_sparse(void) {
    int q;
    if (st_sparse_ready) return;
    for (q = 0; q < ST_N_SPARSE; q++) {
        const char *name = st_sparse_paths[q].name;
        int cpu = strcmp(name, "avx2 sparse") != 0 || st_path_available("avx2");
        st_sparse_usable[q] = cpu && st_sparse_self_test(q);
    }
    st_sparse_ready = 1;
}

/* the first usable sparse variant (the list is fastest first), -1 if none */
static int st_sparse_index(void) {
    int q;
    st_init_sparse();
    for (q = 0; q < ST_N_SPARSE; q++)
        if (st_sparse_usable[q]) return q;
    return -1;
}

static const char *st_sparse_name(int q) { return q < 0 ? "" : st_sparse_paths[q].name; }

#endif
