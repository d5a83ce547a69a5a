/* Test harness: every path of _asym.h, the AVX-512 row path and the
 * AVX-512BW lookup-table variant included, compiled against SIMDe's portable
 * intrinsics (native aliases), so they run on any CPU. Built and loaded with
 * ctypes by tests/test_asym_kernels.py. */
#define SH_EMULATE_AVX512 1
#include "_asym.h"

#if defined(_WIN32)
#define SA_EXPORT __declspec(dllexport)
#else
#define SA_EXPORT __attribute__((visibility("default")))
#endif

/* 1 when path name exists in the emulated build, else 0 */
SA_EXPORT int emu_has_path(const char *name) { return sa_find_path(name) >= 0; }

SA_EXPORT int emu_self_test(const char *name) {
    int p = sa_find_path(name);
    return p >= 0 && sa_self_test_path(p);
}

/* 1 when path name is a lookup-table variant */
SA_EXPORT int emu_is_lut(const char *name) {
    int p = sa_find_path(name);
    return p >= 0 && sa_is_lut_path(p);
}

/* scores of n codes for one query (planes: n_planes x SA_PLANE_STRIDE(nb));
 * 0 when the path cannot score them */
SA_EXPORT int emu_scores(const char *name, const uint8_t *planes, int n_planes,
                         const uint8_t *db, int64_t n, int64_t nb, int32_t *out) {
    int p = sa_find_path(name);
    if (p < 0) return 0;
    return sa_path_scores(p, planes, n_planes, db, n, nb, out);
}

/* The fused scan of a LUT variant over one chunk of n codes for n_queries
 * queries (planes: n_queries x n_planes x SA_PLANE_STRIDE(nb)): per query the
 * (offset, score) pairs below its bound, 2 n int32 each. 0 when it cannot. */
SA_EXPORT int emu_scan(const char *name, const uint8_t *planes, int n_queries, int n_planes,
                       const uint8_t *db, int64_t n, int64_t nb, const int32_t *bounds,
                       int32_t *counts, int32_t *found) {
    const int64_t stride = SA_PLANE_STRIDE(nb);
    int p = sa_find_path(name), q;
    uint8_t *tables, *blocks;
    if (p < 0 || !sa_is_lut_path(p) || !sa_lut_fits(n_planes, nb)) return 0;
    tables = (uint8_t *)malloc((size_t)(n_queries * SA_TABLE_BYTES(nb)));
    blocks = (uint8_t *)malloc((size_t)SA_BLOCKED_BYTES(n, nb) + 1);
    if (!tables || !blocks) {
        free(tables); free(blocks);
        return 0;
    }
    for (q = 0; q < n_queries; q++)
        sa_lut_tables(planes + q * n_planes * stride, n_planes, nb,
                      tables + q * SA_TABLE_BYTES(nb));
    sa_paths[p].layout(db, n, nb, blocks);
    sa_paths[p].scan(tables, n_queries, n_planes, blocks, n, nb, bounds, n, counts, found);
    free(tables); free(blocks);
    return 1;
}
