"""HammingNeighbors against the brute-force NumPy reference, and its contract."""

import pickle
import platform

import numpy as np
import pytest
from conftest import run_python
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_hash import HammingNeighbors, pack_bits
from sklearn_hash._bits import hamming_kneighbors_reference, n_bytes
from sklearn_hash.metrics._base import _hamming_distances
from sklearn_hash.neighbors import _kernels

NBITS = [1, 7, 8, 63, 64, 65, 128, 129, 256, 768]
PATHS = [p for p in _kernels.PATHS if _kernels.popcount_path_available(p)]


@pytest.fixture(autouse=True)
def split_small_databases(monkeypatch):
    """Let the database-split mode (few queries, several threads) run on the small
    test databases too; by default it needs a database of several MB."""
    from sklearn_hash.neighbors import _dispatcher as _hamming

    monkeypatch.setattr(_hamming, "_SPLIT_MIN_BYTES", 0)


# the path fixture is meant to hold for every generated example
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=PATHS)
def popcount_path(request):
    """Force each compiled popcount path in turn, then restore the best one."""
    _kernels.set_popcount_path(request.param)
    yield request.param
    _kernels.set_popcount_path("best")


def random_codes(rng, n, nbits, n_distinct=None):
    """Packed codes; with n_distinct, rows repeat so that ties and duplicates abound."""
    bits = rng.integers(0, 2, size=(n_distinct or n, nbits))
    if n_distinct is not None:
        bits = bits[rng.integers(0, n_distinct, size=n)]
    return pack_bits(bits)


@st.composite
def search_problems(draw):
    nbits = draw(st.sampled_from(NBITS))
    n_db = draw(st.integers(2, 60))
    n_q = draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**32 - 1))
    # few distinct codes -> many exact duplicates and distance ties
    n_distinct = draw(st.one_of(st.none(), st.integers(1, 6)))
    k = draw(st.integers(1, n_db - 1))
    n_jobs = draw(st.sampled_from([1, 2]))
    rng = np.random.default_rng(seed)
    return (
        random_codes(rng, n_db, nbits, n_distinct),
        random_codes(rng, n_q, nbits, n_distinct),
        k,
        n_jobs,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    seed=st.integers(0, 2**32 - 1),
    nbits=st.sampled_from([16, 64, 128, 384]),
    n_db=st.integers(300, 2500),
    k=st.sampled_from([1, 2, 10, 100, 150]),
    n_distinct=st.one_of(st.none(), st.integers(2, 40)),
    n_q=st.sampled_from([1, 3, 40]),
    n_jobs=st.sampled_from([1, 2]),
)
def test_kneighbors_selection_at_scale_matches_reference(
    popcount_path, seed, nbits, n_db, k, n_distinct, n_q, n_jobs
):
    """Each query keeps its best k on one stack per distance: many pushes and
    pops (n >> k), exact ties (few distinct codes), self-exclusion, threads
    and the database split (few queries)."""
    rng = np.random.default_rng(seed)
    db = random_codes(rng, n_db, nbits, n_distinct)
    q = random_codes(rng, n_q, nbits, n_distinct)
    nn = HammingNeighbors(n_neighbors=k, algorithm="brute", n_jobs=n_jobs).fit(db)
    d, i = nn.kneighbors(q)
    rd, ri = hamming_kneighbors_reference(q, db, k)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    d, i = nn.kneighbors(None if n_q == 40 else db[:n_q])
    rd, ri = (
        hamming_kneighbors_reference(db, db, k, exclude_self=True)
        if n_q == 40
        else hamming_kneighbors_reference(db[:n_q], db, k)
    )
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)


def test_kneighbors_beyond_the_stacks_uses_the_heap():
    """k above _kernels' STACKS_MAX_K (4096) keeps a heap: same results."""
    assert _kernels.selection_shapes(4097, 8)[:2] == (1, 1)
    rng = np.random.default_rng(11)
    db = random_codes(rng, 5000, 64, 50)
    q = random_codes(rng, 3, 64, 50)
    nn = HammingNeighbors(n_neighbors=4500, algorithm="brute").fit(db)
    d, i = nn.kneighbors(q)
    rd, ri = hamming_kneighbors_reference(q, db, 4500)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(problem=search_problems())
def test_kneighbors_matches_reference(popcount_path, problem):
    db, q, k, n_jobs = problem
    nn = HammingNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(db)
    d, i = nn.kneighbors(q)
    rd, ri = hamming_kneighbors_reference(q, db, k)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    # k = n_database is allowed for explicit queries
    d, i = nn.kneighbors(q, n_neighbors=len(db))
    np.testing.assert_array_equal(i, hamming_kneighbors_reference(q, db, len(db))[1])


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(problem=search_problems())
def test_kneighbors_self_exclusion_matches_reference(popcount_path, problem):
    db, _, k, n_jobs = problem
    d, i = HammingNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(db).kneighbors()
    rd, ri = hamming_kneighbors_reference(db, db, k, exclude_self=True)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    assert not (i == np.arange(len(db))[:, None]).any()


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(problem=search_problems(), radius=st.integers(0, 800), use_self=st.booleans())
def test_radius_neighbors_matches_reference(popcount_path, problem, radius, use_self):
    db, q, _, n_jobs = problem
    nn = HammingNeighbors(n_jobs=n_jobs).fit(db)
    queries = db if use_self else q
    dist, ind = nn.radius_neighbors(None if use_self else q, radius=radius)
    full = _hamming_distances(queries, db)
    for row in range(len(queries)):
        keep = full[row] <= radius
        if use_self:
            keep[row] = False
        expected = np.flatnonzero(keep)
        expected = expected[np.lexsort((expected, full[row, expected]))]
        np.testing.assert_array_equal(ind[row], expected)
        np.testing.assert_array_equal(dist[row], full[row, expected])


@pytest.mark.parametrize("nbytes", [8, 16, 32, 64, 128, 24, 48, 96, 3])
def test_specialised_widths_and_threads_agree(popcount_path, nbytes):
    rng = np.random.default_rng(nbytes)
    db = random_codes(rng, 3000, 8 * nbytes, n_distinct=500)
    q = random_codes(rng, 64, 8 * nbytes)
    ref = hamming_kneighbors_reference(q, db, 25)
    for n_jobs in (1, 2, 4):
        d, i = HammingNeighbors(n_neighbors=25, n_jobs=n_jobs).fit(db).kneighbors(q)
        np.testing.assert_array_equal(d, ref[0])
        np.testing.assert_array_equal(i, ref[1])


def test_unaligned_and_readonly_memmap_codes(tmp_path):
    rng = np.random.default_rng(0)
    db = random_codes(rng, 200, 128)
    path = tmp_path / "codes.npy"
    np.save(path, db)
    mm = np.load(path, mmap_mode="r")
    # an odd-offset view is contiguous but not 8-byte aligned
    buf = np.zeros(db.size + 1, dtype=np.uint8)
    buf[1:] = db.ravel()
    unaligned = buf[1:].reshape(db.shape)
    expected = hamming_kneighbors_reference(db[:10], db, 5)
    for codes in (mm, unaligned):
        nn = HammingNeighbors(n_neighbors=5).fit(codes)
        np.testing.assert_array_equal(nn.kneighbors(mm[:10])[1], expected[1])


def test_graphs_match_kneighbors():
    rng = np.random.default_rng(1)
    db = random_codes(rng, 100, 64, n_distinct=30)
    nn = HammingNeighbors(n_neighbors=4).fit(db)
    d, i = nn.kneighbors(db[:7])
    g = nn.kneighbors_graph(db[:7], mode="distance")
    assert sparse.issparse(g) and g.format == "csr" and g.shape == (7, 100)
    np.testing.assert_array_equal(g.indices.reshape(7, 4), i)
    np.testing.assert_array_equal(g.data.reshape(7, 4), d)
    c = nn.kneighbors_graph(db[:7])
    np.testing.assert_array_equal(c.data, 1.0)
    np.testing.assert_array_equal(c.indices, g.indices)
    # transform mirrors KNeighborsTransformer: n_neighbors + 1 distance entries
    t = nn.transform(db[:7])
    assert t.nnz == 7 * 5
    assert (t.diagonal() == 0).all()
    r = nn.radius_neighbors_graph(db[:7], radius=20, mode="distance").toarray()
    full = _hamming_distances(db[:7], db)
    np.testing.assert_array_equal(r != 0, (full <= 20) & (full > 0))


def test_predict_and_score():
    rng = np.random.default_rng(2)
    db = random_codes(rng, 300, 64)
    q = random_codes(rng, 20, 64)
    nn = HammingNeighbors(n_neighbors=10).fit(db)
    _, ref = hamming_kneighbors_reference(q, db, 30)
    np.testing.assert_array_equal(nn.predict(q), ref[:, :10])
    assert nn.score(q, ref) == 1.0  # the exact Hamming truth is fully recalled
    assert nn.score(q, ref[:, 0]) == 1.0  # 1-recall@10
    assert nn.score(q, ref[:, 10:20]) == 0.0
    with pytest.raises(ValueError, match="at least n_neighbors=10"):
        nn.score(q, ref[:, :5])


def test_pickle_clone_idempotence_and_n_features_in():
    rng = np.random.default_rng(3)
    db = random_codes(rng, 150, 100)
    nn = HammingNeighbors(n_neighbors=6).fit(db)
    assert nn.n_features_in_ == n_bytes(100) and nn.n_samples_fit_ == 150
    before = nn.kneighbors(db[:9])
    nn2 = pickle.loads(pickle.dumps(nn))
    for a, b in zip(before, nn2.kneighbors(db[:9])):
        np.testing.assert_array_equal(a, b)
    refit = clone(nn).fit(db).fit(db)
    np.testing.assert_array_equal(refit.kneighbors(db[:9])[1], before[1])


def test_subset_and_order_invariance_over_queries():
    rng = np.random.default_rng(4)
    db = random_codes(rng, 200, 64, n_distinct=40)
    q = random_codes(rng, 30, 64)
    nn = HammingNeighbors(n_neighbors=7).fit(db)
    full = nn.kneighbors(q)[1]
    perm = rng.permutation(30)
    np.testing.assert_array_equal(nn.kneighbors(q[perm])[1], full[perm])
    np.testing.assert_array_equal(nn.kneighbors(q[5:11])[1], full[5:11])


def test_bad_input_errors():
    rng = np.random.default_rng(5)
    db = random_codes(rng, 20, 64)
    with pytest.raises(NotFittedError):
        HammingNeighbors().kneighbors(db)
    for bad in (db.astype(np.float64), db.astype(np.int64), db.astype(bool)):
        with pytest.raises(
            TypeError, match="X must be packed binary codes of dtype uint8"
        ):
            HammingNeighbors().fit(bad)
    with pytest.raises(TypeError, match="sparse"):
        HammingNeighbors().fit(sparse.csr_matrix(db))
    with pytest.raises(ValueError, match="0 sample"):
        HammingNeighbors().fit(db[:0])
    nn = HammingNeighbors(n_neighbors=3).fit(db)
    with pytest.raises(ValueError, match="features"):
        nn.kneighbors(random_codes(rng, 4, 72))
    with pytest.raises(ValueError, match="0 sample"):
        nn.kneighbors(db[:0])
    with pytest.raises(ValueError, match="n_neighbors must be a positive int"):
        nn.kneighbors(db, n_neighbors=0)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        nn.kneighbors(db, n_neighbors=21)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit - 1"):
        nn.kneighbors(n_neighbors=20)
    with pytest.raises(ValueError, match="n_neighbors"):
        HammingNeighbors(n_neighbors=0).fit(db)
    with pytest.raises(ValueError, match="radius must be given"):
        nn.radius_neighbors(db)
    with pytest.raises(ValueError, match="radius must be a non-negative"):
        nn.radius_neighbors(db, radius=-1)
    with pytest.raises(ValueError, match="mode"):
        nn.kneighbors_graph(db, mode="weights")


def test_float_radius_is_floored_and_capped():
    rng = np.random.default_rng(6)
    db = random_codes(rng, 50, 16)
    nn = HammingNeighbors().fit(db)
    a = nn.radius_neighbors(db[:5], radius=4.7, return_distance=False)
    b = nn.radius_neighbors(db[:5], radius=4, return_distance=False)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    everything = nn.radius_neighbors(db[:5], radius=10**6, return_distance=False)
    assert all(len(x) == 50 for x in everything)


def test_force_unknown_path_raises():
    with pytest.raises(ValueError, match="not available"):
        _kernels.set_popcount_path("no-such-path")


def test_every_available_path_passes_the_import_self_test():
    assert "generic" in PATHS
    for name in PATHS:
        assert _kernels._self_test(name), name
    assert _kernels.popcount_path() == _kernels.set_popcount_path("best")


def test_environment_variable_forces_a_path():
    code = (
        "from sklearn_hash.neighbors import _kernels; print(_kernels.popcount_path())"
    )
    for name, expected in (
        ("generic", "generic"),
        ("no-such-path", _kernels.popcount_path()),
    ):
        out = run_python(code, SKLEARN_HASH_POPCOUNT_PATH=name)
        assert out.stdout.strip() == expected
        assert ("ignored" in out.stderr) == (name == "no-such-path")


@pytest.mark.parametrize("n_jobs", [2, 3, 8])
def test_database_split_across_threads_with_tiny_slices(popcount_path, n_jobs):
    # few queries -> the database is split; slices smaller than k hold sentinels
    rng = np.random.default_rng(n_jobs)
    db = random_codes(rng, 7, 16, n_distinct=3)
    q = random_codes(rng, 2, 16)
    for k in (1, 4, 7):
        d, i = HammingNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(db).kneighbors(q)
        rd, ri = hamming_kneighbors_reference(q, db, k)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_array_equal(i, ri)
    d, i = HammingNeighbors(n_neighbors=6, n_jobs=n_jobs).fit(db).kneighbors()
    np.testing.assert_array_equal(
        i, hamming_kneighbors_reference(db, db, 6, exclude_self=True)[1]
    )


def test_chunk_boundaries_and_radius_query_blocks(popcount_path, monkeypatch):
    from sklearn_hash.neighbors import _dispatcher as _hamming

    monkeypatch.setattr(_hamming, "_RADIUS_QUERY_BLOCK", 3)
    rng = np.random.default_rng(7)
    nbytes = 16
    n_db = 2 * _kernels.chunk_rows(nbytes) + 5  # three chunks, the last one short
    db = random_codes(rng, n_db, 8 * nbytes, n_distinct=700)
    # 1 job: a batch of 32 queries (blocked chunks where the path has them),
    # then 8; 2 jobs: blocks of 20, one query's row at a time
    q = db[:40].copy()
    rd, ri = hamming_kneighbors_reference(q, db, 30)
    for n_jobs in (1, 2):
        d, i = HammingNeighbors(n_neighbors=30, n_jobs=n_jobs).fit(db).kneighbors(q)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_array_equal(i, ri)
    q = q[:10]
    nn = HammingNeighbors(n_neighbors=30, n_jobs=2).fit(db)
    dist, ind = nn.radius_neighbors(q, radius=40)
    full = _hamming_distances(q, db)
    for row in range(len(q)):
        expected = np.flatnonzero(full[row] <= 40)
        expected = expected[np.lexsort((expected, full[row, expected]))]
        np.testing.assert_array_equal(ind[row], expected)
        np.testing.assert_array_equal(dist[row], full[row, expected])


def test_show_versions_reports_the_path(capsys):
    from sklearn_hash import show_versions

    info = show_versions()
    assert info["popcount path"] == _kernels.popcount_path()
    assert "popcount path" in capsys.readouterr().out
    # the CPU line names the flags the paths need, present or missing
    assert "avx2" in info["cpu"] or platform.system() != "Linux"
