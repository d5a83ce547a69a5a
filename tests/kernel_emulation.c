/* Test harness: every popcount path of _popcount.h, AVX-512 included, compiled
 * against SIMDe's portable intrinsics (native aliases), so the AVX-512 kernels
 * run on any CPU. Built and loaded with ctypes by tests/test_kernels.py. */
#define SH_EMULATE_AVX512 1
#include "_popcount.h"

#if defined(_WIN32)
#define SH_EXPORT __declspec(dllexport)
#else
#define SH_EXPORT __attribute__((visibility("default")))
#endif

/* 1 when path name exists in the emulated build (all do), else 0 */
SH_EXPORT int emu_has_path(const char *name) { return sh_find_path(name) >= 0; }

SH_EXPORT int emu_self_test(const char *name) {
    int p = sh_find_path(name);
    return p >= 0 && sh_self_test_path(p);
}

SH_EXPORT int emu_row(const char *name, const uint8_t *q, const uint8_t *db, int64_t n,
                      int64_t nb, int32_t *out) {
    int p = sh_find_path(name);
    if (p < 0) return 0;
    sh_paths[p].row(q, db, n, nb, out);
    return 1;
}

SH_EXPORT int64_t emu_below(const char *name, const uint8_t *q, const uint8_t *db, int64_t n,
                            int64_t nb, int32_t bound, int32_t *dist, int32_t *cand) {
    int p = sh_find_path(name);
    if (p < 0) return -1;
    return sh_paths[p].below(q, db, n, nb, bound, dist, cand);
}

/* The fused row over the blocked layout of db (blocks: n * nb bytes); -1 for
 * a path or width without one. */
SH_EXPORT int64_t emu_below_blocked(const char *name, const uint8_t *q, const uint8_t *db,
                                    int64_t n, int64_t nb, int32_t bound, int32_t *dist,
                                    int32_t *cand, uint64_t *blocks) {
    int p = sh_find_path(name);
    if (p < 0 || !sh_path_blocks(p, nb)) return -1;
    sh_paths[p].block(db, n, nb, blocks);
    return sh_paths[p].below_blocked(q, blocks, db, n, nb, bound, dist, cand);
}

/* 1 when path name has a blocked layout for nb-byte codes in this build */
SH_EXPORT int emu_path_blocks(const char *name, int64_t nb) {
    int p = sh_find_path(name);
    return p >= 0 && sh_path_blocks(p, nb);
}
