"""Multi-index hashing in HammingNeighbors: identical to brute force, always."""

import pickle

import numpy as np
import pytest
from conftest import shared_data_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_hash import HammingNeighbors, pack_bits
from sklearn_hash._bits import hamming_kneighbors_reference, unpack_bits
from sklearn_hash.neighbors import _dispatcher, _mih

# widths that are not multiples of 8 nor of the substring length, and wide ones
NBITS = [1, 5, 8, 13, 31, 63, 64, 65, 100, 128, 129, 200]
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=[True, False], ids=["popcnt", "swar"])
def verify_path(request):
    """Run with the hardware popcount and with the portable loop."""
    _mih.set_verify_path(request.param)
    yield
    _mih.set_verify_path(True)


def random_codes(rng, n, nbits, n_distinct=None):
    """Packed codes; with n_distinct, rows repeat so that ties and duplicates abound."""
    bits = rng.integers(0, 2, size=(n_distinct or n, nbits))
    if n_distinct is not None:
        bits = bits[rng.integers(0, n_distinct, size=n)]
    return pack_bits(bits)


def clustered_codes(rng, n, nbits, n_centers, flip):
    """Codes near a few centres: neighbours are close, as with codes of real data."""
    centers = rng.integers(0, 2, size=(n_centers, nbits))
    bits = centers[rng.integers(0, n_centers, size=n)]
    bits ^= rng.random(bits.shape) < flip
    return pack_bits(bits)


def hamming_distances_reference(queries, db):
    """Full (n_queries, n_db) Hamming distances by unpacking every bit."""
    a, b = np.unpackbits(queries, axis=1), np.unpackbits(db, axis=1)
    return (a[:, None, :] != b[None, :, :]).sum(axis=2)


def radius_reference(queries, db, radius, exclude_self=False):
    full = hamming_distances_reference(queries, db)
    out = []
    for row in range(len(queries)):
        keep = full[row] <= radius
        if exclude_self:
            keep[row] = False
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((idx, full[row, idx]))]
        out.append((full[row, idx], idx))
    return out


def assert_radius_equal(result, expected):
    dist, ind = result
    assert len(ind) == len(expected)
    for row, (rd, ri) in enumerate(expected):
        np.testing.assert_array_equal(ind[row], ri)
        np.testing.assert_array_equal(dist[row], rd)


@st.composite
def problems(draw):
    nbits = draw(st.sampled_from(NBITS))
    n_db = draw(st.integers(2, 70))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # few distinct codes -> many exact duplicates and distance ties
    n_distinct = draw(st.one_of(st.none(), st.integers(1, 6)))
    db = random_codes(rng, n_db, nbits, n_distinct)
    queries = random_codes(rng, draw(st.integers(1, 12)), nbits, n_distinct)
    b = 8 * db.shape[1]
    # None, or any valid count: substrings of 1 to 32 bits, the last ones
    # shorter when b is not a multiple of n_tables
    n_tables = draw(st.one_of(st.none(), st.integers(-(-b // 32), min(b, 12))))
    return {
        "db": db,
        "queries": queries,
        "n_tables": n_tables,
        "k": draw(st.integers(1, n_db)),
        "radius": draw(st.integers(0, b)),
        "n_jobs": draw(st.sampled_from([1, 2])),
    }


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURE_OK)
@given(p=problems())
def test_mih_matches_brute_force_reference(verify_path, p):
    db, queries, k = p["db"], p["queries"], p["k"]
    nn = HammingNeighbors(algorithm="mih", n_tables=p["n_tables"], n_jobs=p["n_jobs"])
    nn.fit(db)
    assert nn.n_tables_ >= 1
    d, i = nn.kneighbors(queries, n_neighbors=k)
    rd, ri = hamming_kneighbors_reference(queries, db, k)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    if k < len(db):
        d, i = nn.kneighbors(n_neighbors=k)
        rd, ri = hamming_kneighbors_reference(db, db, k, exclude_self=True)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_array_equal(i, ri)
    r = p["radius"]
    assert_radius_equal(
        nn.radius_neighbors(queries, radius=r), radius_reference(queries, db, r)
    )
    assert_radius_equal(
        nn.radius_neighbors(radius=r), radius_reference(db, db, r, exclude_self=True)
    )


@settings(max_examples=60, deadline=None)
@given(p=problems(), budget=st.sampled_from([1e-9, 5.0, 50.0, 300.0, 0.0]))
def test_budget_fallback_to_the_scan_is_exact(p, budget):
    """Queries over budget are handed to the scan (also with X=None, whose
    rows then need not be consecutive): results stay exact."""
    db, queries, k = p["db"], p["queries"], p["k"]
    tables = _dispatcher.build_tables(db, "mih", p["n_tables"])
    brute = _dispatcher.BruteForce(db, p["n_jobs"])
    engine = _dispatcher.MultiIndexHashing(db, tables, p["n_jobs"], brute)
    d, i = engine.kneighbors(queries, k, -1, budget)
    rd, ri = hamming_kneighbors_reference(queries, db, k)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    if k < len(db):
        d, i = engine.kneighbors(db, k, 0, budget)
        rd, ri = hamming_kneighbors_reference(db, db, k, exclude_self=True)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_array_equal(i, ri)
    r = p["radius"]
    for queries_, offset, exclude in ((queries, -1, False), (db, 0, True)):
        dist, ind, offsets = engine.radius_neighbors(queries_, r, offset, budget)
        split = (np.split(dist, offsets[1:-1]), np.split(ind, offsets[1:-1]))
        assert_radius_equal(split, radius_reference(queries_, db, r, exclude))


def test_tables_hold_every_code_under_its_substring():
    rng = np.random.default_rng(0)
    db = random_codes(rng, 500, 77, n_distinct=200)  # 10 bytes: padding bits
    bits = unpack_bits(db, 80)
    for n_tables in (3, 4, 7, 80):
        tables = _dispatcher.MultiIndexTables(db, n_tables)
        lengths = tables.meta[:, 1]
        assert lengths.sum() == 80 and lengths.max() - lengths.min() <= 1
        for t, (start, length, base, key_base, n_keys) in enumerate(tables.meta):
            values = bits[:, start : start + length] @ (1 << np.arange(length))
            ids = tables.ids[t]
            assert sorted(ids) == list(range(500))  # each code once per table
            if n_keys < 0:
                offsets = tables.offsets[base : base + 2**length + 1]
                keys_of_bucket = np.arange(2**length)
            else:
                offsets = tables.offsets[base : base + n_keys + 1]
                keys_of_bucket = tables.keys[key_base : key_base + n_keys]
                assert (np.diff(keys_of_bucket.astype(np.int64)) > 0).all()
            assert (
                offsets[0] == 0 and offsets[-1] == 500 and (np.diff(offsets) >= 0).all()
            )
            bucket_of = np.repeat(keys_of_bucket, np.diff(offsets.astype(np.int64)))
            np.testing.assert_array_equal(values[ids], bucket_of)


def test_both_layouts_are_used_and_agree():
    rng = np.random.default_rng(1)
    db = random_codes(rng, 300, 64, n_distinct=120)
    q = random_codes(rng, 20, 64, n_distinct=120)
    expected = hamming_kneighbors_reference(q, db, 9)
    layouts = set()
    for n_tables in (2, 3, 8, 16):  # 32- and 22-bit substrings are keyed
        nn = HammingNeighbors(n_neighbors=9, algorithm="mih", n_tables=n_tables).fit(db)
        layouts.update(np.where(nn._tables.meta[:, 4] < 0, "direct", "keyed"))
        d, i = nn.kneighbors(q)
        np.testing.assert_array_equal(d, expected[0])
        np.testing.assert_array_equal(i, expected[1])
    assert layouts == {"direct", "keyed"}


def test_default_n_tables_and_index_size():
    # b / log2(n) rounded up: 64 bits over 2**16 codes -> 4 tables of 16 bits
    assert _dispatcher.default_n_tables(2**16, 8) == 4
    assert _dispatcher.default_n_tables(746_633, 8) == 4
    assert _dispatcher.default_n_tables(2, 96) == 768
    assert _dispatcher.default_n_tables(10**9, 96) == 26
    rng = np.random.default_rng(2)
    db = random_codes(rng, 2**17, 64)
    nn = HammingNeighbors(algorithm="mih").fit(db)
    assert nn.n_tables_ == 4  # ids 4 * 4n bytes, offsets 4 * 2**16 * 4: 3x the codes
    tables = nn._tables
    assert nn.index_nbytes_ == (
        tables.ids.nbytes
        + tables.offsets.nbytes
        + tables.keys.nbytes
        + tables.meta.nbytes
    )
    assert nn.index_nbytes_ <= 4 * db.nbytes
    assert HammingNeighbors(algorithm="brute").fit(db).index_nbytes_ == 0


@pytest.mark.parametrize("nbytes", [8, 16, 3, 24])
def test_threads_agree_on_clustered_codes(nbytes):
    rng = np.random.default_rng(nbytes)
    db = clustered_codes(rng, 4000, 8 * nbytes, n_centers=40, flip=0.05)
    q = clustered_codes(rng, 50, 8 * nbytes, n_centers=40, flip=0.05)
    expected = hamming_kneighbors_reference(q, db, 15)
    for n_jobs in (1, 2, 4):
        nn = HammingNeighbors(n_neighbors=15, algorithm="mih", n_jobs=n_jobs).fit(db)
        d, i = nn.kneighbors(q)
        np.testing.assert_array_equal(d, expected[0])
        np.testing.assert_array_equal(i, expected[1])


def _auto_search(db, k_or_radius, queries, kind):
    """Run "auto" on tables; check it against the scan; return its choice."""
    tables = _dispatcher.build_tables(db, "mih", None)
    search = _dispatcher.HammingSearch(db, tables, "auto", 1)
    brute = _dispatcher.BruteForce(db, 1)
    if kind == "knn":
        got = search.kneighbors(queries, k_or_radius, -1)
        expected = brute.kneighbors(queries, k_or_radius, -1)
    else:
        got = search.radius_neighbors(queries, k_or_radius, -1)
        expected = brute.radius_neighbors(queries, k_or_radius, -1)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    return search.choice


def test_auto_probes_close_codes_and_scans_uniform_codes():
    rng = np.random.default_rng(3)
    n = 60_000
    close = clustered_codes(rng, n, 64, n_centers=3000, flip=0.03)
    q_close = close[rng.choice(n, 200, replace=False)] ^ pack_bits(
        rng.random((200, 64)) < 0.03
    )
    uniform = random_codes(rng, n, 64)
    q_uniform = random_codes(rng, 200, 64)
    assert _auto_search(close, 10, q_close, "knn") == "mih"
    assert _auto_search(close, 4, q_close, "radius") == "mih"
    assert _auto_search(uniform, 10, q_uniform, "knn") == "brute"
    assert _auto_search(uniform, 28, q_uniform, "radius") == "brute"


def test_auto_probes_real_codes():
    root = shared_data_dir()
    folder = None if root is None else root / "sift-wall-codes"
    if folder is None or not folder.is_dir():
        pytest.skip(
            "sift-wall-codes not found (set SKLEARN_HASH_DATA to run data tests)"
        )
    db = np.load(folder / "codes_lsh64_base.npy")
    q = np.load(folder / "codes_lsh64_query.npy")[:100]
    assert _auto_search(db, 10, q, "knn") == "mih"
    assert _auto_search(db, 6, q, "radius") == "mih"


def test_auto_decides_small_batches_from_the_fit_estimate():
    """One query per call: "auto" uses the engine chosen at fit from database
    codes (no per-call sample that would be the whole batch), also for
    another k, and results equal the scan's."""
    rng = np.random.default_rng(6)
    n = 60_000
    close = clustered_codes(rng, n, 64, n_centers=3000, flip=0.03)
    uniform = random_codes(rng, n, 64)
    # radius 28 on uniform codes: a sixth of the database in every ball, no
    # table helps (radius 4 would: few hits)
    for db, radius, expected in ((close, 4, "mih"), (uniform, 28, "brute")):
        nn = HammingNeighbors(n_neighbors=10, radius=radius, n_jobs=1).fit(db)
        assert nn._auto["engine"] == {("k", 10): expected, ("r", radius): expected}
        assert nn._auto["scan"]["k"] > 0 and nn._auto["scan"]["r"] > 0
        assert nn._auto["batch_speedup"] > 0
        query = db[123:124] ^ pack_bits(rng.random((1, 64)) < 0.03)
        search = nn._search()
        for k in (10, 3):
            d, i = search.kneighbors(query, k, -1)
            assert search.choice == expected
            rd, ri = hamming_kneighbors_reference(query, db, k)
            np.testing.assert_array_equal(d, rd)
            np.testing.assert_array_equal(i, ri)
        search.radius_neighbors(query, radius, -1)
        assert search.choice == expected


def test_auto_chooses_by_the_measured_scan_time():
    """The choice compares the sample's probing time with the scan's: a scan
    said to take a nanosecond is never beaten, one said to take a minute
    always is, whatever the codes."""
    rng = np.random.default_rng(8)
    n = 60_000
    close = clustered_codes(rng, n, 64, n_centers=3000, flip=0.03)
    q = close[rng.choice(n, 100, replace=False)] ^ pack_bits(
        rng.random((100, 64)) < 0.03
    )
    tables = _dispatcher.build_tables(close, "mih", None)
    for scan, expected in ((1e-9, "brute"), (60.0, "mih")):
        auto = {
            "scan": {"k": scan, "r": scan},
            "engine": {},
            "hopeless": {},
            "unit_seconds": 1e-9,
        }
        search = _dispatcher.HammingSearch(close, tables, "auto", 1, auto)
        d, i = search.kneighbors(q, 10, -1)
        assert search.choice == expected
        rd, ri = hamming_kneighbors_reference(q, close, 10)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_array_equal(i, ri)


def test_auto_compares_with_the_scan_in_the_batch_s_kernel_mode():
    """A batch scanned in blocks of 32 queries compares hashing with the scan
    time of blocks; a few queries at a time (a small batch, or a sample's
    re-timing), with that time times the speed-up measured at fit."""
    rng = np.random.default_rng(12)
    codes = clustered_codes(rng, 40_000, 128, n_centers=2000, flip=0.03)
    tables = _dispatcher.build_tables(codes, "mih", None)
    sample = codes[:8] ^ pack_bits(rng.random((8, 128)) < 0.03)
    # blocks: a nanosecond a query; a few at a time: a minute
    auto = {
        "scan": {"k": 1e-9, "r": 1e-9},
        "batch_speedup": 6e10,
        "engine": {},
        "hopeless": {},
        "unit_seconds": 1e-9,
    }
    search = _dispatcher.HammingSearch(codes, tables, "auto", 1, auto)
    assert search._choose(sample, "k", 10, batch=True)[0] == "brute"
    assert search._choose(sample, "k", 10, batch=False)[0] == "mih"
    # radius search has one mode: the speed-up does not apply
    assert search._choose(sample, "r", 4, batch=False)[0] == "brute"
    assert search.brute.runs_batches(32) and not search.brute.runs_batches(31)
    # 9 threads, 32 queries: the database is split and each thread takes all 32
    split = _dispatcher.BruteForce(np.zeros((1 << 19, 8), dtype=np.uint8), 9)
    assert split._splits(32) and split.runs_batches(32)
    assert not split._splits(36) and not split.runs_batches(36)


def test_auto_database_rows_as_queries_count_themselves_out():
    """A database row finds itself at distance 0, so its 1-NN is free by
    hashing; the fit estimate and X=None batches must not take that for a
    query's cost: on uniform codes at k = 1 they scan, as real queries do."""
    rng = np.random.default_rng(10)
    # 100,000 codes: the scan wins by 1.7x here (1.4x at 60,000)
    uniform = random_codes(rng, 100_000, 64)
    nn = HammingNeighbors(n_neighbors=1, n_jobs=1).fit(uniform)
    assert nn._auto["engine"] == {("k", 1): "brute"}
    search = nn._search()
    search.kneighbors(uniform[:256], 1, 0)
    assert search.choice == "brute"


def test_auto_skips_the_sample_where_hashing_is_hopeless(monkeypatch):
    """Uniform 128-bit codes: hashing database rows costs many scans at fit,
    so batches at that k or more scan without timing a sample."""
    rng = np.random.default_rng(12)
    uniform = random_codes(rng, 30_000, 128)
    nn = HammingNeighbors(n_neighbors=10, n_jobs=1).fit(uniform)
    assert nn._auto["hopeless"] == {"k": 10}

    def no_probe(*args, **kwargs):
        raise AssertionError("sampled a hopeless batch")

    monkeypatch.setattr(_dispatcher.MultiIndexHashing, "probe_seconds", no_probe)
    q = random_codes(rng, 100, 128)
    search = nn._search()
    d, i = search.kneighbors(q, 20, -1)
    assert search.choice == "brute"
    rd, ri = hamming_kneighbors_reference(q, uniform, 20)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, ri)
    with pytest.raises(AssertionError, match="hopeless"):
        search.kneighbors(q, 5, -1)  # a smaller k is sampled


def test_auto_refit_measures_afresh():
    rng = np.random.default_rng(9)
    close = clustered_codes(rng, 20_000, 64, n_centers=1000, flip=0.03)
    uniform = random_codes(rng, 20_000, 64)
    nn = HammingNeighbors(n_neighbors=10, n_jobs=1)
    assert nn.fit(close)._auto["engine"] == {("k", 10): "mih"}
    assert nn.fit(uniform)._auto["engine"] == {("k", 10): "brute"}


def test_auto_small_database_builds_no_tables():
    rng = np.random.default_rng(4)
    db = random_codes(rng, 1000, 64)
    nn = HammingNeighbors().fit(db)
    assert nn.n_tables_ == 0 and nn.index_nbytes_ == 0


def test_auto_with_tables_on_every_path_matches_reference(monkeypatch):
    """Sample only, sample + probing, sample + scan: same results."""
    monkeypatch.setattr(_dispatcher, "_AUTO_MIN_SAMPLES", 0)
    monkeypatch.setattr(_dispatcher, "_AUTO_SAMPLE_MIN", 3)
    rng = np.random.default_rng(5)
    db = clustered_codes(rng, 3000, 48, n_centers=100, flip=0.04)
    q = np.vstack(
        [
            clustered_codes(rng, 40, 48, n_centers=100, flip=0.04),
            random_codes(rng, 40, 48),
        ]
    )
    nn = HammingNeighbors(n_neighbors=6, n_jobs=2).fit(db)
    assert nn.n_tables_ > 0
    for margin in (0.0, 10.0):  # never / always hash after the sample
        monkeypatch.setattr(_dispatcher, "_AUTO_MARGIN", margin)
        for queries in (q[:2], q):
            d, i = nn.kneighbors(queries)
            rd, ri = hamming_kneighbors_reference(queries, db, 6)
            np.testing.assert_array_equal(d, rd)
            np.testing.assert_array_equal(i, ri)
            assert_radius_equal(
                nn.radius_neighbors(queries, radius=5), radius_reference(queries, db, 5)
            )
        d, i = nn.kneighbors()
        rd, ri = hamming_kneighbors_reference(db, db, 6, exclude_self=True)
        np.testing.assert_array_equal(i, ri)


def test_graphs_and_sort_results():
    rng = np.random.default_rng(6)
    db = clustered_codes(rng, 500, 64, n_centers=20, flip=0.05)
    mih = HammingNeighbors(n_neighbors=4, algorithm="mih").fit(db)
    brute = HammingNeighbors(n_neighbors=4, algorithm="brute").fit(db)
    for mode in ("connectivity", "distance"):
        a = mih.kneighbors_graph(db[:30], mode=mode)
        b = brute.kneighbors_graph(db[:30], mode=mode)
        assert (a != b).nnz == 0
        np.testing.assert_array_equal(a.indices, b.indices)
        a = mih.radius_neighbors_graph(radius=6, mode=mode, sort_results=True)
        b = brute.radius_neighbors_graph(radius=6, mode=mode)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
    _, i1 = mih.radius_neighbors(db[:5], radius=8, sort_results=True)
    _, i2 = mih.radius_neighbors(db[:5], radius=8)
    for x, y in zip(i1, i2):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="return_distance must be True"):
        mih.radius_neighbors(db[:5], radius=8, return_distance=False, sort_results=True)


def test_pickle_keeps_tables():
    rng = np.random.default_rng(7)
    db = clustered_codes(rng, 400, 40, n_centers=10, flip=0.1)
    nn = HammingNeighbors(n_neighbors=5, algorithm="mih").fit(db)
    nn2 = pickle.loads(pickle.dumps(nn))
    assert nn2.n_tables_ == nn.n_tables_
    for a, b in zip(nn.kneighbors(db[:20]), nn2.kneighbors(db[:20])):
        np.testing.assert_array_equal(a, b)


def test_parameter_errors():
    rng = np.random.default_rng(8)
    db = random_codes(rng, 50, 128)
    with pytest.raises(ValueError, match="n_tables must be between 4 and 128"):
        HammingNeighbors(algorithm="mih", n_tables=3).fit(db)
    with pytest.raises(ValueError, match="n_tables must be between"):
        HammingNeighbors(algorithm="mih", n_tables=129).fit(db)
    with pytest.raises(ValueError, match="n_tables"):
        HammingNeighbors(algorithm="mih", n_tables=0).fit(db)
    with pytest.raises(ValueError, match="algorithm"):
        HammingNeighbors(algorithm="kd_tree").fit(db)
    # brute force ignores n_tables
    assert HammingNeighbors(algorithm="brute", n_tables=3).fit(db).n_tables_ == 0
