"""sklearn_hash.dask on a real LocalCluster (2 worker processes, 1 thread each).

Every search result is compared with one in-process HammingNeighbors over the
concatenated codes: same distances, same indices, same order (ties included).
"""

import itertools
import os
import pickle
import textwrap

import numpy as np
import pytest
from conftest import run_python
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_hash import (
    ITQ,
    LSH,
    AsymmetricLinV,
    HammingNeighbors,
    NeuralProxyHash,
    PCAHashing,
    SpectralHashing,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

# sklearn_hash.dask imports dask: only after the skips above, so no dask -> skip
from sklearn_hash.dask import DaskHammingNeighbors, transform  # noqa: E402

N_DB = 400


@pytest.fixture(scope="session")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def tied_codes(n, seed=0):
    """2-byte codes from only 8 distinct values: every distance is heavily tied."""
    rng = np.random.default_rng(seed)
    alphabet = rng.integers(0, 256, size=(8, 2), dtype=np.uint8)
    return alphabet[rng.integers(0, len(alphabet), size=n)]


CODES = tied_codes(N_DB)
QUERIES = np.vstack([CODES[[0, 99, 100, 399]], tied_codes(20, seed=1)])
# row chunkings of the database: one shard; unequal shards with an empty one and
# k larger than any shard; many small shards
CHUNKINGS = {
    "one_shard": (N_DB,),
    "unequal_empty": (100, 0, 37, 1, 119, 43, 100),
    "small": (37,) * 10 + (30,),
}


def reference(n_neighbors=5):
    return HammingNeighbors(n_neighbors=n_neighbors).fit(CODES)


def fitted(chunks, **params):
    return DaskHammingNeighbors(**params).fit(da.from_array(CODES, chunks=(chunks, 2)))


@pytest.mark.parametrize("name", CHUNKINGS)
def test_kneighbors_equals_single_process(client, name):
    chunks = CHUNKINGS[name]
    nn = fitted(chunks)
    starts = np.cumsum((0,) + chunks)
    assert (
        nn.shard_offsets_.tolist() == starts[np.r_[np.array(chunks) > 0, True]].tolist()
    )
    dask_queries = da.from_array(QUERIES, chunks=((9, 0, 15), 2))
    for k in (7, 130, N_DB):  # 130 is more than any shard of "unequal_empty"
        expected = reference().kneighbors(QUERIES, k)
        for got in (
            nn.kneighbors(QUERIES, k),
            client.compute(nn.kneighbors(dask_queries, k), sync=True),
        ):
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
    # X=None: the database searches itself, each code excluded; k = 130 is
    # more than the other shards hold and cuts through ties
    expected = reference().kneighbors(None, 130)
    got = nn.kneighbors(None, 130)
    assert got[1].chunks[0] == tuple(c for c in chunks if c)
    got = client.compute(got, sync=True)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_ties_straddle_shard_boundaries():
    """The data exercise the tie rule across shards: for k = 7, the codes at the
    k-th distance lie in several shards and only some of them are returned, so
    the merge must pick the smallest global indices among shards."""
    distances, indices = reference().kneighbors(QUERIES, N_DB)
    bounds = np.cumsum(CHUNKINGS["unequal_empty"])
    for q in range(len(QUERIES)):
        at_cut = indices[q][distances[q] == distances[q, 6]]
        assert len(at_cut) > 7 - np.sum(distances[q] < distances[q, 6])
        assert len(np.unique(np.searchsorted(bounds, at_cut, "right"))) > 1


@pytest.mark.parametrize("name", ["one_shard", "unequal_empty"])
def test_radius_neighbors_equals_single_process(client, name):
    nn = fitted(CHUNKINGS[name], radius=3)
    dask_queries = da.from_array(QUERIES, chunks=((9, 0, 15), 2))
    for radius in (0, 3, 16.5):
        expected = reference().radius_neighbors(QUERIES, radius)
        for got in (
            nn.radius_neighbors(QUERIES, radius),
            client.compute(nn.radius_neighbors(dask_queries, radius), sync=True),
        ):
            assert len(got[1]) == len(QUERIES)
            for part in (0, 1):
                for a, b in zip(got[part], expected[part]):
                    np.testing.assert_array_equal(a, b)
    got = client.compute(nn.radius_neighbors(None), sync=True)
    expected = reference().radius_neighbors(None, 3)
    assert len(got[1]) == N_DB
    for part in (0, 1):
        for a, b in zip(got[part], expected[part]):
            np.testing.assert_array_equal(a, b)
    for mode, queries in itertools.product(
        ("connectivity", "distance"), (dask_queries, None)
    ):
        got = nn.radius_neighbors_graph(queries, mode=mode)
        want = reference().radius_neighbors_graph(
            None if queries is None else QUERIES, 3, mode=mode
        )
        for attr in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(got, attr), getattr(want, attr))


def test_kneighbors_graph_equals_single_process(client):
    nn = fitted(CHUNKINGS["unequal_empty"], n_neighbors=9)
    for mode in ("connectivity", "distance"):
        want = reference(9).kneighbors_graph(QUERIES, mode=mode)
        for queries in (QUERIES, da.from_array(QUERIES, chunks=10)):
            got = nn.kneighbors_graph(queries, mode=mode)
            assert got.shape == (len(QUERIES), N_DB)
            for attr in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(got, attr), getattr(want, attr))
        got = nn.kneighbors_graph(None, mode=mode)
        want = reference(9).kneighbors_graph(None, mode=mode)
        for attr in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(got, attr), getattr(want, attr))


def test_kneighbors_of_dask_queries_is_lazy(client):
    nn = fitted(CHUNKINGS["small"])
    distances, indices = nn.kneighbors(da.from_array(QUERIES, chunks=10), 4)
    assert isinstance(indices, da.Array) and indices.chunks == ((10, 10, 4), (4,))
    assert distances.dtype == np.int32 and indices.dtype == np.int64
    only = nn.kneighbors(da.from_array(QUERIES, chunks=10), 4, return_distance=False)
    np.testing.assert_array_equal(only.compute(), indices.compute())


def test_fit_from_list_and_npy_files(client, tmp_path):
    parts = np.split(CODES, [50, 50, 230])  # one part is empty
    expected = reference().kneighbors(QUERIES, 30)
    for i, part in enumerate(parts):
        np.save(tmp_path / f"codes_{i:03d}.npy", part)
    sources = [
        [parts[0], parts[1], da.from_array(parts[2], chunks=60), parts[3]],
        str(tmp_path / "codes_*.npy"),
    ]
    for source in sources:
        got = DaskHammingNeighbors().fit(source).kneighbors(QUERIES, 30)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_killed_worker_between_queries_gives_exact_answer(client):
    """A worker dies between two queries: its shards are rebuilt from lineage."""
    nn = fitted((60, 70, 80, 90, 100), n_neighbors=50)
    expected = reference(50).kneighbors(QUERIES)
    np.testing.assert_array_equal(nn.kneighbors(QUERIES)[1], expected[1])
    holders = client.who_has(nn.shards_)
    victim = next(iter(holders[nn.shards_[0].key]))
    lost = [f for f in nn.shards_ if victim in holders[f.key]]
    assert lost
    client.run(os._exit, 1, workers=[victim], on_error="ignore")
    distances, indices = nn.kneighbors(QUERIES)
    np.testing.assert_array_equal(distances, expected[0])
    np.testing.assert_array_equal(indices, expected[1])
    # the lost shards now live on another (or restarted) worker
    assert all(victim not in ws for ws in client.who_has(lost).values())
    client.wait_for_workers(2, timeout=120)


def test_transform_is_lazy_and_equals_transform_of_every_hasher(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    hashers = [
        LSH(nbits=20, rotate=True, random_state=0),
        PCAHashing(nbits=7),
        ITQ(nbits=12, random_state=0),
        SpectralHashing(nbits=9),
        AsymmetricLinV(
            nbits=5,
            n_neighbors=10,
            n_epochs=1,
            max_iter=1,
            block_size=60,
            n_loss_pairs=1000,
            random_state=0,
        ),
        NeuralProxyHash(
            nbits=13,
            hidden_layer_sizes=(8,),
            n_proxies=20,
            n_neighbors=5,
            batch_size=16,
            max_iter=2,
            random_state=0,
        ),
    ]
    chunked = da.from_array(X, chunks=((100, 0, 77, 123), (5, 7)))
    for hasher in hashers:
        hasher.fit(X)
        methods = ["transform"] + (
            ["encode_database"] if hasattr(hasher, "encode_database") else []
        )
        for method in methods:
            codes = transform(hasher, chunked, method=method)
            assert codes.dtype == np.uint8
            assert codes.chunks == ((100, 0, 77, 123), ((hasher.nbits + 7) // 8,))
            np.testing.assert_array_equal(
                codes.compute(), getattr(hasher, method)(X), err_msg=repr(hasher)
            )


def test_encode_then_search_pipeline(client):
    X = np.random.default_rng(1).normal(size=(500, 16))
    hasher = LSH(nbits=24, random_state=0).fit(X)
    codes = transform(hasher, da.from_array(X, chunks=128))
    nn = DaskHammingNeighbors(n_neighbors=5).fit(codes)
    queries = hasher.transform(X[:10])
    want = HammingNeighbors(n_neighbors=5).fit(hasher.transform(X)).kneighbors(queries)
    got = nn.kneighbors(queries)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_bad_input(client, tmp_path):
    with pytest.raises(TypeError, match="X must be packed binary codes of dtype uint8"):
        DaskHammingNeighbors().fit(da.from_array(np.zeros((10, 2)), chunks=5))
    with pytest.raises(TypeError, match="X must be a dask array"):
        DaskHammingNeighbors().fit(CODES)
    with pytest.raises(ValueError, match="no file matches"):
        DaskHammingNeighbors().fit(str(tmp_path / "*.npy"))
    with pytest.raises(ValueError, match="same number of bytes"):
        DaskHammingNeighbors().fit([CODES, CODES[:, :1]])
    with pytest.raises(ValueError, match="n_neighbors"):
        DaskHammingNeighbors(n_neighbors=0).fit(da.from_array(CODES))
    unknown = da.from_array(CODES, chunks=100)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        DaskHammingNeighbors().fit(unknown[unknown[:, 0] > 3])
    with pytest.raises(NotFittedError):
        DaskHammingNeighbors().kneighbors(QUERIES)
    nn = fitted(CHUNKINGS["small"])
    with pytest.raises(ValueError, match=r"shape \(n_queries, 2\)"):
        nn.kneighbors(QUERIES[:, :1])
    with pytest.raises(ValueError, match=r"shape \(n_queries, 2\)"):
        nn.kneighbors(da.from_array(np.zeros((4, 3), np.uint8)))
    with pytest.raises(TypeError, match="X must be packed binary codes"):
        nn.kneighbors(QUERIES.astype(np.float32))
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        nn.kneighbors(QUERIES, N_DB + 1)
    with pytest.raises(ValueError, match=r"n_samples_fit - 1 \(X=None"):
        nn.kneighbors(None, N_DB)
    with pytest.raises(ValueError, match="radius must be given"):
        nn.radius_neighbors(QUERIES)
    with pytest.raises(ValueError, match="mode must be"):
        nn.kneighbors_graph(QUERIES, mode="weights")


def test_transform_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(NotFittedError):
        transform(LSH(nbits=8), da.from_array(X))
    hasher = LSH(nbits=8).fit(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        transform(hasher, da.from_array(X[:, :3]))
    with pytest.raises(ValueError, match="method must be one of"):
        transform(hasher, da.from_array(X), method="predict")
    with pytest.raises(ValueError, match="LSH has no such method"):
        transform(hasher, da.from_array(X), method="encode_database")


def test_fit_without_client_is_a_clear_error(monkeypatch):
    # what distributed.default_client() sees when no Client was ever started
    monkeypatch.setattr(distributed.client, "_get_global_client", lambda: None)
    with pytest.raises(ValueError, match="needs a dask.distributed Client"):
        DaskHammingNeighbors().fit(da.zeros((10, 2), dtype=np.uint8))


def test_unfitted_estimator_clones_and_pickles():
    """The common estimator checks cannot run (fit needs a Client and dask input);
    the unfitted-estimator properties it would check are tested here."""
    nn = DaskHammingNeighbors(n_neighbors=3, radius=2.5, n_jobs=1)
    assert clone(nn).get_params() == nn.get_params()
    assert pickle.loads(pickle.dumps(nn)).get_params() == nn.get_params()
    assert nn.set_params(n_neighbors=4).n_neighbors == 4


def test_grid_search_on_the_cluster(client):
    """GridSearchCV over hasher + HammingNeighbors under joblib's dask backend
    gives the scores of a serial run, and its fits ran as cluster tasks."""
    from joblib import parallel_backend

    from sklearn_hash.datasets import load_sift_skimage
    from sklearn_hash.metrics import make_recall_scorer
    from sklearn_hash.model_selection import query_database_split

    data = load_sift_skimage()
    X, y, cv = query_database_split(data.base[:2000], data.query[:50], n_neighbors=10)
    pipe = make_pipeline(LSH(random_state=0), HammingNeighbors(n_neighbors=10))
    grid = {"lsh__nbits": [16, 32, 64]}
    search = GridSearchCV(
        pipe, grid, cv=cv, scoring=make_recall_scorer(k=10), refit=False, n_jobs=2
    )
    with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
        search.fit(X, y)
    assert len(stream.data) >= len(grid["lsh__nbits"])
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == {"lsh__nbits": 64}


def test_core_package_never_imports_dask():
    """``import sklearn_hash`` (and every core module) loads no dask; without
    dask, ``sklearn_hash.dask`` fails with the install command."""
    code = textwrap.dedent(
        """
        import sys
        import sklearn_hash, sklearn_hash.metrics, sklearn_hash.model_selection
        import sklearn_hash.datasets, sklearn_hash.plot
        assert not any(m.split(".")[0] in ("dask", "distributed") for m in sys.modules)
        sys.modules["dask"] = None  # as if dask were not installed
        try:
            import sklearn_hash.dask
        except ImportError as exc:
            print(exc)
        """
    )
    out = run_python(code).stdout
    assert 'pip install "sklearn_hash[dask]"' in out


def test_numpy_queries_in_blocks(client, monkeypatch):
    """NumPy queries are cut into row blocks (bounded task memory); the blocks'
    answers are concatenated in order."""
    from sklearn_hash.dask import _neighbors

    monkeypatch.setattr(_neighbors, "_QUERY_BLOCK_ROWS", 7)
    nn = fitted(CHUNKINGS["unequal_empty"], n_neighbors=12, radius=4)
    ref = reference(12)
    for got, want in zip(nn.kneighbors(QUERIES), ref.kneighbors(QUERIES)):
        np.testing.assert_array_equal(got, want)
    got, want = nn.radius_neighbors(QUERIES), ref.radius_neighbors(QUERIES, 4)
    assert len(got[1]) == len(QUERIES)
    for part in (0, 1):
        for a, b in zip(got[part], want[part]):
            np.testing.assert_array_equal(a, b)
    got = nn.radius_neighbors_graph(QUERIES, mode="distance")
    want = ref.radius_neighbors_graph(QUERIES, 4, mode="distance")
    for attr in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(got, attr), getattr(want, attr))
