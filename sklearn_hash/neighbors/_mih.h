/* Candidate verification for multi-index hashing: Hamming distances of one
 * query to codes gathered by id (a bucket of a hash table), keeping those
 * within a bound.
 *
 * Bucket ids point anywhere in the database, so each code is a random access:
 * the caller gathers the ids of many buckets, prefetching each code as it
 * goes (sh_mih_prefetch), then verifies them in one block. The popcount is the hardware
 * instruction through a target attribute where the CPU has it (x86-64 POPCNT,
 * aarch64 builtin), never libgcc's software __popcountdi2, else portable SWAR;
 * the variant is chosen once at import (sh_mih_init).
 */
#ifndef SKLEARN_HASH_MIH_H
#define SKLEARN_HASH_MIH_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define sh_mih_prefetch(p) __builtin_prefetch(p)
#else
#define sh_mih_prefetch(p) ((void)(p))
#endif

static inline uint64_t sh_mih_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline int sh_mih_swar64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

static inline int sh_mih_popcount32(uint32_t x) { return sh_mih_swar64(x); }

/* distance of q to one code of nb bytes: 8-byte words, then a byte tail */
#define SH_MIH_DEFINE_DISTANCE(NAME, ATTR, POPCOUNT)                                  \
    ATTR static inline int32_t NAME(const uint8_t *q, const uint8_t *c, int64_t nb) { \
        int32_t d = 0;                                                                \
        int64_t b = 0;                                                                \
        for (; b + 8 <= nb; b += 8) d += POPCOUNT(sh_mih_load64(q + b) ^ sh_mih_load64(c + b)); \
        for (; b < nb; b++) d += POPCOUNT((uint64_t)(q[b] ^ c[b]));                   \
        return d;                                                                     \
    }

/* Verify ids[0:n]: write (distance, id) of those with distance <= bound to
 * out_d / out_id (room for n); returns how many. The caller has prefetched
 * the codes while gathering the ids. Widths of 8 and 16 bytes are unrolled. */
#define SH_MIH_VERIFY_LOOP(DISTANCE)                                                  \
    for (j = 0; j < n; j++) {                                                         \
        const uint8_t *c = codes + (int64_t)ids[j] * nb;                              \
        int32_t d = DISTANCE;                                                         \
        if (d <= bound) {                                                             \
            out_d[k] = d;                                                             \
            out_id[k++] = ids[j];                                                     \
        }                                                                             \
    }

#define SH_MIH_DEFINE_VERIFY(NAME, ATTR, POPCOUNT, DIST)                              \
    ATTR static int64_t NAME(const uint8_t *q, const uint8_t *codes, int64_t nb,      \
                             const uint32_t *ids, int64_t n, int32_t bound,           \
                             int32_t *out_d, uint32_t *out_id) {                      \
        int64_t j, k = 0;                                                             \
        const uint64_t q0 = nb >= 8 ? sh_mih_load64(q) : 0;                           \
        const uint64_t q1 = nb >= 16 ? sh_mih_load64(q + 8) : 0;                      \
        if (nb == 8) {                                                                \
            SH_MIH_VERIFY_LOOP((int32_t)POPCOUNT(sh_mih_load64(c) ^ q0))              \
        } else if (nb == 16) {                                                        \
            SH_MIH_VERIFY_LOOP((int32_t)(POPCOUNT(sh_mih_load64(c) ^ q0) +            \
                                         POPCOUNT(sh_mih_load64(c + 8) ^ q1)))        \
        } else {                                                                      \
            SH_MIH_VERIFY_LOOP(DIST(q, c, nb))                                        \
        }                                                                             \
        return k;                                                                     \
    }

typedef int64_t (*sh_mih_verify_fn)(const uint8_t *, const uint8_t *, int64_t,
                                    const uint32_t *, int64_t, int32_t, int32_t *,
                                    uint32_t *);

SH_MIH_DEFINE_DISTANCE(sh_mih_distance_swar, , sh_mih_swar64)
SH_MIH_DEFINE_VERIFY(sh_mih_verify_swar, , sh_mih_swar64, sh_mih_distance_swar)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SH_MIH_POPCNT(x) __builtin_popcountll(x)
SH_MIH_DEFINE_DISTANCE(sh_mih_distance_popcnt, __attribute__((target("popcnt"))), SH_MIH_POPCNT)
SH_MIH_DEFINE_VERIFY(sh_mih_verify_popcnt, __attribute__((target("popcnt"))), SH_MIH_POPCNT,
                     sh_mih_distance_popcnt)
#define SH_MIH_FAST_AVAILABLE() (__builtin_cpu_init(), __builtin_cpu_supports("popcnt"))
#define SH_MIH_FAST_NAME "popcnt"
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define SH_MIH_POPCNT(x) __builtin_popcountll(x)
SH_MIH_DEFINE_DISTANCE(sh_mih_distance_popcnt, , SH_MIH_POPCNT)
SH_MIH_DEFINE_VERIFY(sh_mih_verify_popcnt, , SH_MIH_POPCNT, sh_mih_distance_popcnt)
#define SH_MIH_FAST_AVAILABLE() 1
#define SH_MIH_FAST_NAME "builtin"
#endif

static sh_mih_verify_fn sh_mih_verify_impl = sh_mih_verify_swar;
static const char *sh_mih_path_name = "generic";

/* use_fast = 0 forces the portable loop (tests compare the two) */
static const char *sh_mih_init(int use_fast) {
    sh_mih_verify_impl = sh_mih_verify_swar;
    sh_mih_path_name = "generic";
#if defined(SH_MIH_FAST_NAME)
    if (use_fast && SH_MIH_FAST_AVAILABLE()) {
        sh_mih_verify_impl = sh_mih_verify_popcnt;
        sh_mih_path_name = SH_MIH_FAST_NAME;
    }
#endif
    return sh_mih_path_name;
}

static int64_t sh_mih_verify(const uint8_t *q, const uint8_t *codes, int64_t nb,
                             const uint32_t *ids, int64_t n, int32_t bound, int32_t *out_d,
                             uint32_t *out_id) {
    return sh_mih_verify_impl(q, codes, nb, ids, n, bound, out_d, out_id);
}

#endif
