/* Test harness: every path of _tanimoto.h, the AVX-512 one included,
 * compiled against SIMDe's portable intrinsics (native aliases), so they run
 * on any CPU. Built and loaded with ctypes by tests/test_tanimoto.py. */
#define SH_EMULATE_AVX512 1
#include "_tanimoto.h"

#if defined(_WIN32)
#define ST_EXPORT __declspec(dllexport)
#else
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* 1 when path name exists in the emulated build, else 0 */
ST_EXPORT int emu_has_path(const char *name) { return st_find_path(name) >= 0; }

ST_EXPORT int emu_self_test(const char *name) {
    int p = st_find_path(name);
    return p >= 0 && st_self_test_path(p);
}

/* |q & b| of n codes for one query; 0 when the path does not exist */
ST_EXPORT int emu_counts(const char *name, const uint8_t *q, const uint8_t *db, int64_t n,
                         int64_t nb, int32_t *out) {
    int p = st_find_path(name);
    if (p < 0) return 0;
    st_row(p, q, db, n, nb, out);
    return 1;
}

static int emu_find_sparse(const char *name) {
    int q;
    for (q = 0; name != NULL && q < ST_N_SPARSE; q++)
        if (strcmp(st_sparse_paths[q].name, name) == 0) return q;
    return -1;
}

/* the sparse variant against the generic one; 0 when it does not exist */
ST_EXPORT int emu_sparse_self_test(const char *name) {
    int q = emu_find_sparse(name);
    return q >= 0 && st_sparse_self_test(q);
}

/* k-NN of nq queries (rows of `queries`) on path name, as the estimator runs
 * it (blocks of up to ST_QUERY_BLOCK); codes in scan order, order may be NULL;
 * with sparse (a sparse variant's name, else NULL) and the layout pos/start,
 * blocks that can go sparse do. c, u, idx: nq x k. */
ST_EXPORT int emu_knn(const char *name, const char *sparse, const uint8_t *codes,
                      const int64_t *order, const int32_t *pop, const uint16_t *pos,
                      const int64_t *start, int64_t n, int64_t nb, const uint8_t *queries,
                      const int32_t *qpop, int nq, int64_t k, int use_bounds, int32_t *c,
                      int32_t *u, int64_t *idx) {
    st_db_t db = {codes, order, pop, n, nb, pos, start};
    const int64_t chunk = 37; /* small, odd: many chunks and a partial one */
    const uint8_t *rows[ST_QUERY_BLOCK];
    int64_t self[ST_QUERY_BLOCK];
    st_item_t *heaps = (st_item_t *)malloc((size_t)(ST_QUERY_BLOCK * k) * sizeof(st_item_t));
    uint8_t *scratch = (uint8_t *)malloc((size_t)ST_SPARSE_SCRATCH(nb, chunk));
    int32_t counts[37];
    int p = st_find_path(name), sp = emu_find_sparse(sparse), first, i;
    int64_t j;
    if (p < 0 || heaps == NULL || scratch == NULL || (sparse != NULL && sp < 0)) {
        free(heaps);
        free(scratch);
        return 0;
    }
    for (first = 0; first < nq; first += ST_QUERY_BLOCK) {
        int m = nq - first < ST_QUERY_BLOCK ? nq - first : ST_QUERY_BLOCK;
        for (i = 0; i < m; i++) {
            rows[i] = queries + (first + i) * nb;
            self[i] = -1;
        }
        st_knn_block(p, sp, 1, &db, rows, qpop + first, self, m, k, heaps, use_bounds, chunk,
                     counts, scratch);
        for (i = 0; i < m; i++)
            for (j = 0; j < k; j++) {
                c[(first + i) * k + j] = heaps[i * k + j].c;
                u[(first + i) * k + j] = heaps[i * k + j].u;
                idx[(first + i) * k + j] = heaps[i * k + j].idx;
            }
    }
    free(heaps);
    free(scratch);
    return 1;
}
