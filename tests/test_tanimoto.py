"""Tanimoto (Jaccard) search: HammingNeighbors(metric="jaccard").

Every result is compared with a NumPy reference of the definition: distance
``1 - c / u`` (``c = |a & b|``, ``u = |a | b|``, 0 when ``u = 0``), ranked by
the exact rational similarity, ties by the smaller index.
"""

import ctypes
from fractions import Fraction

import numpy as np
import pytest
from conftest import build_emulation, run_python, shared_data_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors

from sklearn_hash import HammingNeighbors, pack_bits, unpack_bits
from sklearn_hash.neighbors import _tanimoto_kernels as tk

PATHS = [p for p in tk.PATHS if tk.tanimoto_path_available(p)]


def fingerprints(rng, n, nbits, density, n_empty=0, n_dup=0):
    """Random fingerprints with some empty ones and some repeated (ties)."""
    bits = rng.random((n, nbits)) < density
    bits[:n_empty] = False
    if n_dup and n > n_empty + 1:
        rows = rng.integers(n_empty, n, size=n_dup)
        bits[rows] = bits[rng.integers(n_empty, n)]
    return pack_bits(bits)


def reference_cu(queries, database):
    a = unpack_bits(queries, 8 * queries.shape[1]).astype(np.int64)
    b = unpack_bits(database, 8 * database.shape[1]).astype(np.int64)
    c = a @ b.T
    u = a.sum(1)[:, None] + b.sum(1)[None, :] - c
    return c, u


def reference_distances(queries, database):
    c, u = reference_cu(queries, database)
    # scikit-learn's formula: (u - c) / u, 0 for 0 / 0
    return np.where(u == 0, 0.0, (u - c) / np.maximum(u, 1))


def reference_kneighbors(queries, database, k, exclude_self=False):
    """Ranked by similarity c / u (1 for 0 / 0), then by index. In float64:
    distinct fractions of denominators below 2**20 differ by more than 2**-40,
    far above rounding, and equal fractions round alike, so the order is the
    exact one (checked against Fractions below)."""
    c, u = reference_cu(queries, database)
    sim = np.where(u == 0, 1.0, c / np.maximum(u, 1))
    if exclude_self:
        np.fill_diagonal(sim, -np.inf)
    index = np.broadcast_to(np.arange(len(database)), sim.shape)
    return np.lexsort((index, -sim), axis=1)[:, :k].astype(np.int64)


def fraction_kneighbors(queries, database, k):
    c, u = reference_cu(queries, database)
    out = []
    for i in range(len(queries)):
        keys = [
            (
                -(
                    Fraction(1)
                    if u[i, j] == 0
                    else Fraction(int(c[i, j]), int(u[i, j]))
                ),
                j,
            )
            for j in range(len(database))
        ]
        out.append([j for _, j in sorted(keys)[:k]])
    return np.array(out, dtype=np.int64)


def test_float_reference_ranks_as_fractions():
    rng = np.random.default_rng(12)
    db = fingerprints(rng, 300, 2048, 0.05, n_empty=3, n_dup=40)
    q = np.vstack([fingerprints(rng, 20, 2048, 0.05), db[:3]])
    np.testing.assert_array_equal(
        reference_kneighbors(q, db, 50), fraction_kneighbors(q, db, 50)
    )


def reference_radius(queries, database, radius):
    d = reference_distances(queries, database)
    rows = []
    for row in d:
        hits = np.flatnonzero(row <= radius)
        rows.append(hits[np.lexsort((hits, row[hits]))])
    return d, rows


@pytest.fixture(params=["dense", "sparse"])
def layout(request, monkeypatch):
    """Both database layouts, forced (results must not depend on them)."""
    monkeypatch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", request.param)
    return request.param


@pytest.fixture
def auto_path():
    yield
    tk.set_tanimoto_path("auto")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("nb", [1, 3, 8, 13, 31, 32, 33, 64, 100, 256, 300])
def test_every_path_counts_common_bits(path, nb):
    rng = np.random.default_rng(nb)
    db = fingerprints(rng, 60, 8 * nb, 0.3, n_empty=2)
    db[2] = 0xFF
    q = fingerprints(rng, 4, 8 * nb, 0.3)
    c, _ = reference_cu(q, db)
    np.testing.assert_array_equal(tk._path_counts(path, q, db), c)


@pytest.mark.parametrize("path", PATHS)
def test_every_path_passes_the_self_test(path):
    assert tk._self_test(path)


def test_popcounts_match_numpy():
    rng = np.random.default_rng(0)
    codes = fingerprints(rng, 50, 77, 0.4, n_empty=3)
    np.testing.assert_array_equal(
        tk.popcounts(codes), unpack_bits(codes, 8 * codes.shape[1]).sum(1)
    )


@pytest.mark.parametrize("algorithm", ["brute", "bitbound", "auto"])
@pytest.mark.parametrize("nbits", [8, 64, 100, 2048])
@pytest.mark.parametrize("k", [1, 10])
def test_kneighbors_match_the_reference(algorithm, nbits, k, layout):
    rng = np.random.default_rng(nbits + k)
    density = 0.02 if nbits == 2048 else 0.3
    db = fingerprints(rng, 400, nbits, density, n_empty=3, n_dup=40)
    q = np.vstack([fingerprints(rng, 37, nbits, density), db[:3], db[[10, 50]]])
    nn = HammingNeighbors(n_neighbors=k, metric="jaccard", algorithm=algorithm)
    distances, indices = nn.fit(db).kneighbors(q)
    assert nn._tanimoto.layout == layout
    expected = reference_kneighbors(q, db, k)
    np.testing.assert_array_equal(indices, expected)
    d = reference_distances(q, db)
    np.testing.assert_array_equal(distances, np.take_along_axis(d, expected, 1))
    assert distances.dtype == np.float64


@pytest.mark.parametrize("algorithm", ["brute", "bitbound"])
def test_x_none_excludes_each_point_and_k_equals_n_minus_one(algorithm, layout):
    rng = np.random.default_rng(1)
    db = fingerprints(rng, 70, 40, 0.3, n_empty=2, n_dup=10)
    nn = HammingNeighbors(metric="jaccard", algorithm=algorithm).fit(db)
    for k in (3, 69):
        indices = nn.kneighbors(n_neighbors=k, return_distance=False)
        np.testing.assert_array_equal(
            indices, reference_kneighbors(db, db, k, exclude_self=True)
        )
    with pytest.raises(ValueError, match="n_neighbors"):
        nn.kneighbors(n_neighbors=70)


@pytest.mark.parametrize("algorithm", ["brute", "bitbound"])
@pytest.mark.parametrize("radius", [0.0, 0.3, 0.5, 0.75, 1.0, 2.5])
def test_radius_neighbors_match_the_reference(algorithm, radius, layout):
    rng = np.random.default_rng(2)
    db = fingerprints(rng, 300, 96, 0.15, n_empty=3, n_dup=30)
    q = np.vstack([fingerprints(rng, 40, 96, 0.15), db[:2], db[[7, 8]]])
    nn = HammingNeighbors(metric="jaccard", algorithm=algorithm).fit(db)
    distances, indices = nn.radius_neighbors(q, radius=radius)
    d, expected = reference_radius(q, db, radius)
    for i in range(len(q)):
        np.testing.assert_array_equal(indices[i], expected[i])
        np.testing.assert_array_equal(distances[i], d[i, expected[i]])


def test_radius_on_exact_fractions(layout):
    """radius = 1 - c / u exactly (as a double) keeps that code: 1/3, 2/3."""
    db = pack_bits([[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]])
    q = pack_bits([[1, 1, 1, 0, 0, 0]])
    for algorithm in ("brute", "bitbound"):
        nn = HammingNeighbors(metric="jaccard", algorithm=algorithm).fit(db)
        distances, indices = nn.radius_neighbors(q, radius=1 - 2 / 3)
        np.testing.assert_array_equal(indices[0], [0, 2])
        distances, indices = nn.radius_neighbors(q, radius=1 - 1 / 3)
        np.testing.assert_array_equal(indices[0], [0, 2, 1])


@pytest.mark.parametrize("algorithm", ["brute", "bitbound"])
def test_radius_keeps_similarity_exactly_at_the_threshold(algorithm, layout):
    """7 / 10: 1 - c / u would round to 0.30000000000000004 and drop it from
    radius 0.3; scikit-learn's (u - c) / u gives 0.3 and keeps it."""
    a = np.zeros((1, 2048), bool)
    a[0, :40] = True
    b = np.zeros((3, 2048), bool)
    b[0, :28], b[1, :35], b[2, :20] = True, True, True  # 28/40, 35/40, 20/40
    nn = HammingNeighbors(metric="jaccard", algorithm=algorithm).fit(pack_bits(b))
    distances, indices = nn.radius_neighbors(pack_bits(a), radius=0.3)
    ref = NearestNeighbors(metric="jaccard", radius=0.3).fit(b)
    ref_distances, ref_indices = ref.radius_neighbors(a, sort_results=True)
    np.testing.assert_array_equal(indices[0], ref_indices[0])
    np.testing.assert_array_equal(distances[0], ref_distances[0])
    np.testing.assert_array_equal(indices[0], [1, 0])


def test_empty_fingerprints_follow_scikit_learn(layout):
    """0 / 0: two empty fingerprints are at distance 0, as scikit-learn's
    jaccard; an empty one is at distance 1 from any other."""
    bits = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]], bool)
    expected = pairwise_distances(bits, metric="jaccard")
    nn = HammingNeighbors(n_neighbors=4, metric="jaccard").fit(pack_bits(bits))
    distances, indices = nn.kneighbors(pack_bits(bits))
    np.testing.assert_array_equal(np.take_along_axis(expected, indices, 1), distances)
    np.testing.assert_array_equal(indices[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(distances[0], [0.0, 0.0, 1.0, 1.0])


def test_agrees_with_scikit_learn_nearest_neighbors():
    rng = np.random.default_rng(3)
    bits = rng.random((200, 64)) < 0.2
    q = rng.random((20, 64)) < 0.2
    ours = HammingNeighbors(n_neighbors=8, metric="jaccard").fit(pack_bits(bits))
    d, i = ours.kneighbors(pack_bits(q))
    ref = NearestNeighbors(n_neighbors=8, metric="jaccard", algorithm="brute")
    d_ref, _ = ref.fit(bits).kneighbors(q)
    np.testing.assert_allclose(d, d_ref, rtol=0, atol=1e-12)
    full = pairwise_distances(q, bits, metric="jaccard")
    np.testing.assert_allclose(np.take_along_axis(full, i, 1), d, atol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_forced_path_gives_the_same_results(path, auto_path):
    rng = np.random.default_rng(4)
    db = fingerprints(rng, 500, 512, 0.05, n_empty=2, n_dup=50)
    q = fingerprints(rng, 70, 512, 0.05)
    tk.set_tanimoto_path("auto")
    expected = HammingNeighbors(n_neighbors=5, metric="jaccard").fit(db).kneighbors(q)
    assert tk.set_tanimoto_path(path) == path
    got = HammingNeighbors(n_neighbors=5, metric="jaccard").fit(db).kneighbors(q)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


@pytest.mark.parametrize(
    "variable, value, module, getter",
    [
        (
            "SKLEARN_HASH_TANIMOTO_PATH",
            "generic",
            "_tanimoto_kernels",
            "forced_tanimoto_path",
        ),
        ("SKLEARN_HASH_ASYM_PATH", "generic", "_asym_kernels", "forced_asym_path"),
        (
            "SKLEARN_HASH_TANIMOTO_PATH",
            "sse9",
            "_tanimoto_kernels",
            "forced_tanimoto_path",
        ),
    ],
)
def test_environment_variables_force_paths(variable, value, module, getter):
    """Read when sklearn_hash.neighbors is imported; an unknown path warns."""
    code = (
        "import warnings; warnings.simplefilter('always'); "
        f"from sklearn_hash.neighbors import {module} as m; print(m.{getter}())"
    )
    out = run_python(code, **{variable: value})
    if value == "sse9":
        assert out.stdout.split() == ["auto"]
        assert f"{variable} ignored" in out.stderr
    else:
        assert out.stdout.split() == [value]


def test_unknown_path_raises(auto_path):
    with pytest.raises(ValueError, match="not available"):
        tk.set_tanimoto_path("sse9")


def test_measured_choice_is_a_usable_path():
    tk._reset_choices()
    chosen = tk.tanimoto_path(200)
    timings = tk.tanimoto_path_timings(200)
    assert chosen in timings and timings[chosen] == min(timings.values())


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_threads_and_many_blocks_are_exact(n_jobs, layout):
    rng = np.random.default_rng(5)
    db = fingerprints(rng, 3000, 128, 0.1, n_empty=5, n_dup=300)
    q = fingerprints(rng, 150, 128, 0.1)
    for algorithm in ("brute", "bitbound"):
        nn = HammingNeighbors(
            n_neighbors=20, metric="jaccard", algorithm=algorithm, n_jobs=n_jobs
        ).fit(db)
        np.testing.assert_array_equal(
            nn.kneighbors(q, return_distance=False), reference_kneighbors(q, db, 20)
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nbits=st.integers(1, 300),
    n_db=st.integers(1, 120),
    n_q=st.integers(1, 40),
    density=st.sampled_from([0.0, 0.02, 0.1, 0.5, 1.0]),
    n_empty=st.integers(0, 5),
    n_dup=st.integers(0, 30),
    k=st.integers(1, 12),
    radius=st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.0]),
    algorithm=st.sampled_from(["brute", "bitbound"]),
    layout=st.sampled_from(["dense", "sparse"]),
    seed=st.integers(0, 2**16),
)
def test_fuzz_against_the_reference(
    nbits, n_db, n_q, density, n_empty, n_dup, k, radius, algorithm, layout, seed
):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", layout)
        _check_against_the_reference(
            nbits, n_db, n_q, density, n_empty, n_dup, k, radius, algorithm, seed
        )


def _check_against_the_reference(
    nbits, n_db, n_q, density, n_empty, n_dup, k, radius, algorithm, seed
):
    rng = np.random.default_rng(seed)
    db = fingerprints(rng, n_db, nbits, density, min(n_empty, n_db), n_dup)
    q = np.vstack([fingerprints(rng, n_q, nbits, density), db[: min(3, n_db)]])
    k = min(k, n_db)
    nn = HammingNeighbors(metric="jaccard", algorithm=algorithm).fit(db)
    indices = nn.kneighbors(q, n_neighbors=k, return_distance=False)
    np.testing.assert_array_equal(indices, reference_kneighbors(q, db, k))
    _, got = nn.radius_neighbors(q, radius=radius)
    _, expected = reference_radius(q, db, radius)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_sparse_layout_with_dense_queries_falls_back_exactly(monkeypatch):
    """Queries of more than 255 bits cannot keep byte counts: their blocks run
    the dense kernel, with the same results."""
    monkeypatch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", "sparse")
    rng = np.random.default_rng(9)
    db = np.vstack(
        [fingerprints(rng, 200, 2048, 0.01), fingerprints(rng, 50, 2048, 0.3)]
    )
    q = np.vstack([fingerprints(rng, 40, 2048, 0.01), fingerprints(rng, 40, 2048, 0.3)])
    for algorithm in ("brute", "bitbound"):
        nn = HammingNeighbors(n_neighbors=7, metric="jaccard", algorithm=algorithm)
        indices = nn.fit(db).kneighbors(q, return_distance=False)
        assert nn._tanimoto.layout == "sparse"
        np.testing.assert_array_equal(indices, reference_kneighbors(q, db, 7))
        _, got = nn.radius_neighbors(q, radius=0.8)
        for a, b in zip(got, reference_radius(q, db, 0.8)[1]):
            np.testing.assert_array_equal(a, b)


def test_sparse_layout_lists_the_set_bits():
    rng = np.random.default_rng(10)
    codes = fingerprints(rng, 30, 77, 0.2, n_empty=2)
    pos, start = tk.sparse_layout(codes, tk.popcounts(codes))
    bits = unpack_bits(codes, 8 * codes.shape[1])
    for j in range(len(codes)):
        np.testing.assert_array_equal(
            pos[start[j] : start[j + 1]], np.flatnonzero(bits[j])
        )


def test_auto_layout_follows_the_sample_timings(monkeypatch):
    monkeypatch.delenv("SKLEARN_HASH_TANIMOTO_LAYOUT", raising=False)
    rng = np.random.default_rng(11)
    nn = HammingNeighbors(metric="jaccard").fit(fingerprints(rng, 3000, 2048, 0.02))
    index = nn._tanimoto
    t = index.sample_seconds
    assert set(t) == {(name, q) for name in ("dense", "sparse") for q in (1, 32)}
    sparse_wins_a_block = t[("sparse", 32)] <= t[("dense", 32)]
    assert index.layout == ("sparse" if sparse_wins_a_block else "dense")
    if sparse_wins_a_block:
        assert 1 <= index.sparse_min_queries <= 32
        # one query runs sparse only if the sample said sparse wins there too
        assert (index.sparse_min_queries == 1) == (t[("sparse", 1)] <= t[("dense", 1)])


@pytest.mark.parametrize("sparse_min_queries", [1, 2, 33])
def test_small_blocks_go_dense_with_the_same_results(sparse_min_queries, monkeypatch):
    monkeypatch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", "sparse")
    rng = np.random.default_rng(13)
    db = fingerprints(rng, 500, 256, 0.05, n_empty=2, n_dup=30)
    q = fingerprints(rng, 33, 256, 0.05)  # blocks of 32 and 1 (the lone-query scan)
    nn = HammingNeighbors(n_neighbors=6, metric="jaccard").fit(db)
    nn._tanimoto.sparse_min_queries = sparse_min_queries
    np.testing.assert_array_equal(
        nn.kneighbors(q, return_distance=False), reference_kneighbors(q, db, 6)
    )
    _, got = nn.radius_neighbors(q, radius=0.6)
    for a, b in zip(got, reference_radius(q, db, 0.6)[1]):
        np.testing.assert_array_equal(a, b)
    for i in (0, 32):  # one query per call
        np.testing.assert_array_equal(
            nn.kneighbors(q[i : i + 1], return_distance=False),
            reference_kneighbors(q[i : i + 1], db, 6),
        )


def test_bad_parameters_raise_clear_errors():
    codes = pack_bits(np.eye(8, dtype=bool))
    with pytest.raises(ValueError, match="algorithm='mih' does not apply"):
        HammingNeighbors(metric="jaccard", algorithm="mih").fit(codes)
    with pytest.raises(ValueError, match="algorithm='bitbound' does not apply"):
        HammingNeighbors(algorithm="bitbound").fit(codes)
    with pytest.raises(ValueError, match="metric"):
        HammingNeighbors(metric="tanimoto").fit(codes)
    nn = HammingNeighbors(metric="jaccard").fit(codes)
    with pytest.raises(ValueError, match="radius"):
        nn.radius_neighbors(codes, radius=-0.1)
    with pytest.raises(ValueError, match="radius"):
        nn.radius_neighbors(codes, radius=float("nan"))
    with pytest.raises(TypeError, match="uint8"):
        nn.kneighbors(np.ones((2, 1)))
    with pytest.raises(ValueError, match="features"):
        nn.kneighbors(np.zeros((1, 2), np.uint8))


def test_index_nbytes_counts_popcounts_and_order():
    codes = pack_bits(np.eye(16, dtype=bool))
    # one bit a code: 2 bytes of position and 8 of offset (plus one offset)
    sparse = 16 * 2 + 17 * 8
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", "dense")
        assert HammingNeighbors(metric="jaccard").fit(codes).index_nbytes_ == 16 * 14
        brute = HammingNeighbors(metric="jaccard", algorithm="brute").fit(codes)
        assert brute.index_nbytes_ == 16 * 4
        patch.setenv("SKLEARN_HASH_TANIMOTO_LAYOUT", "sparse")
        brute = HammingNeighbors(metric="jaccard", algorithm="brute").fit(codes)
        assert brute.index_nbytes_ == 16 * 4 + sparse


def test_radius_graph_feeds_dbscan_like_sklearn():
    """radius_neighbors_graph(mode="distance") + DBSCAN(metric="precomputed")
    labels the points as DBSCAN on the boolean bits with metric="jaccard"."""
    rng = np.random.default_rng(6)
    centres = rng.random((4, 128)) < 0.2
    bits = centres[rng.integers(0, 4, 120)] ^ (rng.random((120, 128)) < 0.02)
    nn = HammingNeighbors(metric="jaccard", radius=0.35).fit(pack_bits(bits))
    graph = nn.radius_neighbors_graph(mode="distance")
    ours = DBSCAN(eps=0.35, min_samples=4, metric="precomputed").fit(graph).labels_
    ref = DBSCAN(eps=0.35, min_samples=4, metric="jaccard").fit(bits).labels_
    np.testing.assert_array_equal(ours, ref)
    assert len(set(ours) - {-1}) == 4


def test_grid_search_over_k():
    from sklearn_hash.model_selection import query_database_split

    rng = np.random.default_rng(7)
    db = fingerprints(rng, 300, 128, 0.1)
    q = fingerprints(rng, 30, 128, 0.1)
    truth = reference_kneighbors(q, db, 1)
    X, y, cv = query_database_split(db, q, truth)
    grid = GridSearchCV(
        HammingNeighbors(metric="jaccard"), {"n_neighbors": [1, 5]}, cv=cv, refit=False
    ).fit(X, y)
    assert grid.cv_results_["mean_test_score"][0] == 1.0
    assert grid.best_params_["n_neighbors"] in (1, 5)


# -- every path, AVX-512 included, under SIMDe emulation ---------------------------


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    lib = build_emulation(tmp_path_factory, "tanimoto_emulation.c")
    p, i64, s = ctypes.c_void_p, ctypes.c_int64, ctypes.c_char_p
    lib.emu_has_path.argtypes = [s]
    lib.emu_self_test.argtypes = [s]
    lib.emu_counts.argtypes = [s, p, p, i64, i64, p]
    lib.emu_sparse_self_test.argtypes = [s]
    lib.emu_knn.argtypes = [s, s, p, p, p, p, p, i64, i64, p, p, ctypes.c_int, i64,
                            ctypes.c_int, p, p, p]  # fmt: skip
    return lib


EMULATED = ["avx512", "avx2", "popcnt", "generic"]


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


@pytest.mark.parametrize("path", EMULATED)
def test_emulated_path_passes_the_self_test(emulated, path):
    assert emulated.emu_has_path(path.encode())
    assert emulated.emu_self_test(path.encode())


@pytest.mark.parametrize("path", EMULATED)
@pytest.mark.parametrize("nb", [5, 8, 40, 64, 72, 130, 256])
def test_emulated_counts(emulated, path, nb):
    rng = np.random.default_rng(nb)
    db = fingerprints(rng, 30, 8 * nb, 0.2, n_empty=1)
    q = fingerprints(rng, 3, 8 * nb, 0.2)
    c, _ = reference_cu(q, db)
    for i in range(len(q)):
        out = np.zeros(len(db), np.int32)
        assert emulated.emu_counts(
            path.encode(), _ptr(q[i]), _ptr(db), len(db), nb, _ptr(out)
        )
        np.testing.assert_array_equal(out, c[i])


@pytest.mark.parametrize("sparse", ["avx2 sparse", "generic sparse"])
def test_emulated_sparse_variant_passes_the_self_test(emulated, sparse):
    assert emulated.emu_sparse_self_test(sparse.encode())


@pytest.mark.parametrize(
    "path, sparse",
    [(p, None) for p in EMULATED]
    + [("generic", "avx2 sparse"), ("generic", "generic sparse")],
)
@pytest.mark.parametrize("bounds", [False, True])
def test_emulated_knn_matches_reference(emulated, path, sparse, bounds):
    rng = np.random.default_rng(8)
    db = fingerprints(rng, 333, 256, 0.05, n_empty=2, n_dup=40)
    q = np.ascontiguousarray(np.vstack([fingerprints(rng, 40, 256, 0.05), db[:2]]))
    pop = tk.popcounts(db)
    order = np.argsort(pop, kind="stable").astype(np.int64) if bounds else None
    scan_pop = np.ascontiguousarray(pop[order] if bounds else pop, dtype=np.int32)
    scan = np.ascontiguousarray(db[order] if bounds else db)
    pos, start = tk.sparse_layout(scan, scan_pop)
    qpop = tk.popcounts(q)
    k = 9
    c = np.zeros((len(q), k), np.int32)
    u = np.zeros((len(q), k), np.int32)
    idx = np.zeros((len(q), k), np.int64)
    assert emulated.emu_knn(
        path.encode(), None if sparse is None else sparse.encode(), _ptr(scan),
        order if order is None else _ptr(order), _ptr(scan_pop), _ptr(pos), _ptr(start),
        len(db), db.shape[1], _ptr(q), _ptr(qpop), len(q), k, int(bounds),
        _ptr(c), _ptr(u), _ptr(idx),
    )  # fmt: skip
    np.testing.assert_array_equal(idx, reference_kneighbors(q, db, k))


# -- the shared MOSES fingerprints: exact top 100 against the recorded truth -------


def test_moses_morgan_top100_matches_ground_truth():
    root = shared_data_dir()
    folder = None if root is None else root / "moses-morgan"
    if folder is None or not folder.is_dir():
        pytest.skip("../shared/data/moses-morgan not found")
    base = np.load(folder / "base.npy")
    query = np.load(folder / "query.npy")[:200]
    truth = np.load(folder / "gt_tanimoto_100.npy")[:200]
    for algorithm in ("bitbound", "brute"):
        nn = HammingNeighbors(n_neighbors=100, metric="jaccard", algorithm=algorithm)
        indices = nn.fit(base).kneighbors(query, return_distance=False)
        np.testing.assert_array_equal(indices, truth)
    # threshold 0.7: every hit of the top 100 at distance <= 0.3, none missed
    nn = HammingNeighbors(metric="jaccard").fit(base)
    distances, indices = nn.radius_neighbors(query, radius=0.3)
    top = nn.kneighbors(query, n_neighbors=100)
    for i in range(len(query)):
        within = top[1][i][top[0][i] <= 0.3]
        if len(within) < 100:  # the whole threshold set is inside the top 100
            np.testing.assert_array_equal(indices[i], within)
