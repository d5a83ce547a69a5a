"""RerankNeighbors: Hamming candidates re-scored exactly with the stored vectors.

The reference is short NumPy: Hamming candidates by brute force ordered by
(distance, index), then float64 distances in the metric and a lexicographic
sort by (distance, index). The test data are chosen so that float32 arithmetic
is exact (small integers; for cosine, vectors of norm 2 with entries in
{-1, 0, 1}), so ties are real ties and the index order of ties is tested
exactly.
"""

import pickle

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hash import (
    ITQ,
    LSH,
    AsymmetricLinV,
    HammingNeighbors,
    RerankNeighbors,
    SignHashing,
)
from sklearn_hash._bits import hamming_kneighbors_reference
from sklearn_hash.metrics import recall_at_k
from sklearn_hash.model_selection import query_database_split
from sklearn_hash.neighbors import _rerank, _rescore

METRICS = ["cosine", "euclidean", "dot"]
# odd dimensions: every tail length of the 16 partial sums, and none
DIMENSIONS = [1, 3, 17, 384, 385]
# rows that kernel_data makes equal
DUPLICATES = [7, 20, 26, 32, 38, 44, 50, 56]


def exact_data(n, d, metric, seed):
    """Vectors whose float32 distances are exact, with duplicate rows (ties)."""
    rng = np.random.RandomState(seed)
    if metric == "cosine":
        # four entries +-1 per row: norm 2, normalised entries +-0.5
        X = np.zeros((n, d))
        for row in X:
            row[rng.choice(d, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    else:
        X = rng.randint(-3, 4, size=(n, d)).astype(np.float64)
        # one +-127 per dimension: the int8 scale is exactly 1
        X[0] = 127 * np.where(rng.rand(d) < 0.5, -1, 1)
    X[n // 2 :: 7] = X[n // 3]  # exact duplicates
    return X


def metric_distances(Q, X, metric):
    if metric == "cosine":
        Q = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-300)
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
        return 1 - Q @ X.T
    if metric == "dot":
        return -(Q @ X.T)
    return np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))


def reference(query_codes, db_codes, Q, X, metric, k, n_candidates, exclude_self=False):
    """(distances, indices) of the re-ranked search, in NumPy."""
    n_candidates = min(n_candidates, len(X) - exclude_self)
    candidates = hamming_kneighbors_reference(
        query_codes, db_codes, n_candidates, exclude_self
    )[1]
    dist = np.take_along_axis(metric_distances(Q, X, metric), candidates, axis=1)
    order = np.lexsort((candidates, dist), axis=-1)[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(candidates, order, 1)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
@pytest.mark.parametrize("n_candidates", [7, 25, 200, 10_000])
def test_matches_reference(metric, vector_dtype, n_candidates):
    X = exact_data(200, 12, metric, seed=0)
    Q = exact_data(30, 12, metric, seed=1)[1:]
    Q[3] = X[5]  # a query equal to a database vector
    hasher = LSH(nbits=16, random_state=0)
    search = RerankNeighbors(
        hasher,
        n_neighbors=7,
        n_candidates=n_candidates,
        metric=metric,
        vector_dtype=vector_dtype,
    ).fit(X)
    dist, ind = search.kneighbors(Q)
    fitted = search.hasher_
    ref_dist, ref_ind = reference(
        fitted.transform(Q), fitted.transform(X), Q, X, metric, 7, n_candidates
    )
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-6)
    assert dist.dtype == np.float32 and ind.dtype == np.int64
    np.testing.assert_array_equal(search.predict(Q), ind)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
def test_all_candidates_is_exact_search(metric, vector_dtype):
    # n_candidates >= n: every vector is re-scored, whatever the codes (int8
    # storage of exact_data keeps its ties: one scale for every feature, 1
    # except for cosine, where every stored entry is 0 or +-127)
    X = exact_data(150, 10, metric, seed=2)
    Q = exact_data(20, 10, metric, seed=3)
    search = RerankNeighbors(
        SignHashing(),
        n_neighbors=15,
        n_candidates=150,
        metric=metric,
        vector_dtype=vector_dtype,
    ).fit(X)
    full = metric_distances(Q, X, metric)
    expected = np.lexsort((np.broadcast_to(np.arange(150), full.shape), full), axis=-1)
    np.testing.assert_array_equal(search.predict(Q), expected[:, :15])
    if metric != "dot":
        nn = NearestNeighbors(n_neighbors=15, algorithm="brute", metric=metric).fit(X)
        np.testing.assert_allclose(
            search.kneighbors(Q)[0], nn.kneighbors(Q)[0], rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
def test_self_query_excludes_each_point(metric, vector_dtype):
    X = exact_data(120, 9, metric, seed=4)
    search = RerankNeighbors(
        SignHashing(),
        n_neighbors=5,
        n_candidates=20,
        metric=metric,
        vector_dtype=vector_dtype,
    ).fit(X)
    dist, ind = search.kneighbors()
    codes = search.index_.codes_
    ref_dist, ref_ind = reference(codes, codes, X, X, metric, 5, 20, exclude_self=True)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-6)
    assert not (ind == np.arange(120)[:, None]).any()


def test_self_query_with_many_zero_distance_codes():
    # 30 identical codes: each point's own code ties with 29 others at distance 0
    # (binary fractions: exact float32 distances, with real ties)
    X = (
        np.repeat([1.0, -1.0], 30)[:, None]
        * (1 + 0.125 * np.arange(60))[:, None]
        * np.ones(8)
    )
    search = RerankNeighbors(
        SignHashing(), n_neighbors=3, n_candidates=5, metric="euclidean"
    )
    ind = search.fit(X).kneighbors(return_distance=False)
    codes = search.index_.codes_
    np.testing.assert_array_equal(
        ind, reference(codes, codes, X, X, "euclidean", 3, 5, exclude_self=True)[1]
    )


def test_int8_storage():
    rng = np.random.RandomState(5)
    X = rng.standard_normal((500, 20)) * np.linspace(0.1, 10, 20)
    X[:, 3] = 0.0  # an all-zero dimension
    search = RerankNeighbors(
        SignHashing(), metric="euclidean", vector_dtype="int8"
    ).fit(X)
    assert search.vectors_.dtype == np.int8 and search.vectors_.nbytes == X.size
    assert np.abs(search.vectors_).max() == 127
    assert search.scale_[3] == 1 and not search.vectors_[:, 3].any()
    error = np.abs(search.vectors_ * search.scale_.astype(np.float64) - X)
    assert (error <= search.scale_ / 2 + 1e-6).all()
    cosine = RerankNeighbors(SignHashing(), vector_dtype="int8").fit(X)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert (
        np.abs(cosine.vectors_ * cosine.scale_.astype(np.float64) - unit)
        <= cosine.scale_ / 2 + 1e-6
    ).all()


def test_chunks_blocks_and_threads_do_not_change_results(monkeypatch):
    rng = np.random.RandomState(6)
    X, Q = rng.standard_normal((400, 16)), rng.standard_normal((70, 16))
    search = RerankNeighbors(
        SignHashing(), n_neighbors=4, n_candidates=30, n_jobs=1
    ).fit(X)
    expected = search.kneighbors(Q)
    expected_self = search.kneighbors()
    # a tiny budget: many query chunks (three queries each), on two threads
    monkeypatch.setattr(_rerank, "_CANDIDATE_BUDGET", 90)
    search.set_params(n_jobs=2)
    for got, want in zip(
        search.kneighbors(Q) + search.kneighbors(), expected + expected_self
    ):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
def test_one_or_two_threads_give_identical_results(metric, vector_dtype):
    rng = np.random.RandomState(12)
    X, Q = rng.standard_normal((300, 19)), rng.standard_normal((41, 19))
    X[100:110] = X[3]  # duplicates: exact ties
    search = RerankNeighbors(
        SignHashing(),
        n_neighbors=6,
        n_candidates=50,
        metric=metric,
        vector_dtype=vector_dtype,
        n_jobs=1,
    ).fit(X)
    expected = search.kneighbors(Q) + search.kneighbors()
    search.set_params(n_jobs=2)
    for got, want in zip(search.kneighbors(Q) + search.kneighbors(), expected):
        np.testing.assert_array_equal(got, want)


# -- the re-scoring kernel, called directly ---------------------------------------
def run_kernel(vectors, scale, queries, candidates, metric, k, n_threads=1):
    n_q = len(candidates)
    dist = np.empty((n_q, k), dtype=np.float32)
    ind = np.empty((n_q, k), dtype=np.int64)
    scratch = np.empty((n_threads, vectors.shape[1]), dtype=np.float32)
    _rescore.rescore_kneighbors(
        vectors, scale, queries, candidates, metric, dist, ind, scratch
    )
    return dist, ind


def kernel_reference(vectors, scale, queries, candidates, metric):
    """float64 distances of each query to its candidates (stored x * scale)."""
    gathered = (vectors.astype(np.float64) * scale)[candidates]
    Q = queries.astype(np.float64)[:, None, :]
    if metric == "euclidean":
        return np.sqrt(((gathered - Q) ** 2).sum(axis=2))
    dots = (gathered * Q).sum(axis=2)
    return 1 - dots if metric == "cosine" else -dots


def kernel_data(vector_dtype, d, seed, exact=False):
    """Stored vectors, scale, queries and shuffled distinct candidates.

    ``exact``: small integers and power-of-two scales, so every float32
    distance is the float64 one rounded (ties stay ties).
    """
    rng = np.random.RandomState(seed)
    n, n_q, n_c = 60, 9, 40
    if vector_dtype == "int8":
        high = 4 if exact else 128
        vectors = rng.randint(-high + 1, high, size=(n, d)).astype(np.int8)
        scale = (
            2.0 ** rng.randint(-2, 2, size=d) if exact else rng.uniform(0.01, 0.1, d)
        )
    else:
        vectors = rng.randint(-3, 4, size=(n, d)) if exact else rng.randn(n, d)
        scale = np.ones(d)
    vectors = vectors.astype(vectors.dtype if vector_dtype == "int8" else np.float32)
    vectors[DUPLICATES] = vectors[7]  # equal distances to every query
    queries = rng.randint(-3, 4, size=(n_q, d)) if exact else rng.randn(n_q, d)
    others = np.setdiff1d(np.arange(n), DUPLICATES)
    # the duplicates and others, in a random order
    candidates = np.array(
        [
            rng.permutation(np.r_[DUPLICATES, rng.choice(others, n_c - 8, False)])
            for _ in range(n_q)
        ]
    )
    return (
        vectors,
        scale.astype(np.float32),
        queries.astype(np.float32),
        np.ascontiguousarray(candidates),
    )


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
@pytest.mark.parametrize("d", DIMENSIONS)
def test_kernel_distances_and_order(metric, vector_dtype, d):
    vectors, scale, queries, candidates = kernel_data(vector_dtype, d, seed=d)
    n_c = candidates.shape[1]
    dist, ind = run_kernel(vectors, scale, queries, candidates, metric, n_c)
    # every candidate, once, ordered by (its float32 distance, index)
    np.testing.assert_array_equal(np.sort(ind, axis=1), np.sort(candidates, axis=1))
    order = np.lexsort((ind, dist), axis=-1)
    np.testing.assert_array_equal(order, np.broadcast_to(np.arange(n_c), ind.shape))
    # the float32 distances are the float64 ones up to float32 rounding
    ref = kernel_reference(vectors, scale, queries, ind, metric)
    magnitude = (
        np.linalg.norm(vectors * scale, axis=1).max()
        * np.linalg.norm(queries, axis=1).max()
    )
    np.testing.assert_allclose(dist, ref, rtol=1e-5, atol=1e-5 * (1 + magnitude))
    # duplicates: bitwise equal distances, consecutive, ascending indices
    for row_dist, row_ind in zip(dist, ind):
        dup = np.isin(row_ind, DUPLICATES)
        assert (row_dist[dup] == row_dist[dup][0]).all()
        assert (np.diff(np.flatnonzero(dup)) == 1).all()
        assert (np.diff(row_ind[dup]) > 0).all()
    # fewer neighbours: the first k of the full order
    for k in (1, 5):
        dist_k, ind_k = run_kernel(vectors, scale, queries, candidates, metric, k)
        np.testing.assert_array_equal(ind_k, ind[:, :k])
        np.testing.assert_array_equal(dist_k, dist[:, :k])


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
@pytest.mark.parametrize("d", DIMENSIONS)
def test_kernel_exact_ties_match_float64_order(metric, vector_dtype, d):
    vectors, scale, queries, candidates = kernel_data(
        vector_dtype, d, seed=d, exact=True
    )
    k = 25
    dist, ind = run_kernel(vectors, scale, queries, candidates, metric, k)
    ref = kernel_reference(vectors, scale, queries, candidates, metric)
    order = np.lexsort((candidates, ref), axis=-1)[:, :k]
    np.testing.assert_array_equal(ind, np.take_along_axis(candidates, order, 1))
    np.testing.assert_allclose(
        dist, np.take_along_axis(ref, order, 1), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
def test_kernel_threads_and_simd_paths_agree(vector_dtype):
    results = {}
    try:
        for path in ("base", "avx2"):
            if not _rescore.set_simd_path(path):
                continue
            assert _rescore.simd_path() == path
            for metric in METRICS:
                for d in DIMENSIONS:
                    data = kernel_data(vector_dtype, d, seed=100 + d)
                    for n_threads in (1, 2):
                        results[path, metric, d, n_threads] = run_kernel(
                            *data, metric, 10, n_threads
                        )
    finally:
        _rescore.set_simd_path("auto")
    for (_path, metric, d, _threads), (dist, ind) in results.items():
        want_dist, want_ind = results["base", metric, d, 1]
        np.testing.assert_array_equal(dist, want_dist)
        np.testing.assert_array_equal(ind, want_ind)
    assert not _rescore.set_simd_path("no-such-path")


def test_asymmetric_hasher_uses_database_codes():
    rng = np.random.RandomState(7)
    X, Q = rng.standard_normal((150, 6)), rng.standard_normal((10, 6))
    hasher = AsymmetricLinV(
        nbits=8, n_neighbors=10, n_epochs=1, max_iter=2, random_state=0
    )
    search = RerankNeighbors(hasher, n_neighbors=3, n_candidates=12, metric="euclidean")
    search.fit(X)
    fitted = search.hasher_
    np.testing.assert_array_equal(search.index_.codes_, fitted.database_codes_)
    expected = reference(
        fitted.transform(Q), fitted.database_codes_, Q, X, "euclidean", 3, 12
    )[1]
    np.testing.assert_array_equal(search.predict(Q), expected)
    assert not hasattr(hasher, "database_codes_")  # the parameter is cloned, not fitted


def test_frozen_hasher_is_used_as_is():
    rng = np.random.RandomState(8)
    other, X = rng.standard_normal((100, 6)) + 5, rng.standard_normal((80, 6))
    hasher = SignHashing(center=True).fit(other)
    search = RerankNeighbors(
        FrozenEstimator(hasher), n_neighbors=2, n_candidates=5
    ).fit(X)
    np.testing.assert_array_equal(search.hasher_.mean_, other.mean(axis=0))
    np.testing.assert_array_equal(search.index_.codes_, hasher.transform(X))
    # a frozen asymmetric hasher encodes the database with encode_database
    asym = AsymmetricLinV(
        nbits=8,
        database="linear",
        n_neighbors=5,
        n_epochs=1,
        max_iter=2,
        random_state=0,
    ).fit(other)
    search = RerankNeighbors(FrozenEstimator(asym), n_neighbors=2, n_candidates=5).fit(
        X
    )
    np.testing.assert_array_equal(search.index_.codes_, asym.encode_database(X))
    assert not np.array_equal(search.index_.codes_, asym.transform(X))


def test_any_hasher_pipeline_and_pickle():
    rng = np.random.RandomState(9)
    X, Q = rng.standard_normal((200, 10)), rng.standard_normal((15, 10))
    hasher = make_pipeline(StandardScaler(), ITQ(nbits=8, random_state=0))
    search = RerankNeighbors(hasher, n_neighbors=3, n_candidates=40).fit(X)
    restored = pickle.loads(pickle.dumps(search))
    for got, want in zip(restored.kneighbors(Q), search.kneighbors(Q)):
        np.testing.assert_array_equal(got, want)


def test_more_candidates_more_recall_and_grid_search():
    rng = np.random.RandomState(10)
    centers = rng.standard_normal((20, 32))
    X = centers[rng.randint(20, size=1200)] + 0.7 * rng.standard_normal((1200, 32))
    database, queries = X[:1000], X[1000:]
    X_all, y, cv = query_database_split(
        database, queries, n_neighbors=10, metric="cosine"
    )
    search = RerankNeighbors(SignHashing(), n_neighbors=10)
    grid = GridSearchCV(
        search, {"n_candidates": [10, 50, 1000]}, cv=cv, refit=False
    ).fit(X_all, y)
    scores = grid.cv_results_["mean_test_score"]
    assert scores[0] < scores[1] < scores[2] == 1.0
    assert grid.best_params_ == {"n_candidates": 1000}
    # the hasher's parameters are tunable too
    grid = GridSearchCV(
        search.set_params(n_candidates=50),
        {"hasher__center": [False, True]},
        cv=cv,
        refit=False,
    ).fit(X_all, y)
    assert len(grid.cv_results_["mean_test_score"]) == 2
    # score: k-recall@k, and 1-recall@k from one column
    fitted = RerankNeighbors(SignHashing(), n_candidates=1000).fit(database)
    truth = y[len(database) :]
    assert fitted.score(queries, truth) == 1.0
    assert fitted.score(queries, truth[:, 0]) == 1.0


def test_bad_input():
    rng = np.random.RandomState(11)
    X = rng.standard_normal((50, 8))
    search = RerankNeighbors(SignHashing(), n_neighbors=3, n_candidates=10).fit(X)
    with pytest.raises(
        ValueError, match="X has 9 features, but RerankNeighbors is expecting 8"
    ):
        search.kneighbors(rng.standard_normal((2, 9)))
    with pytest.raises(ValueError, match="n_candidates must be at least n_neighbors"):
        RerankNeighbors(SignHashing(), n_neighbors=10, n_candidates=5).fit(X)
    with pytest.raises(ValueError, match="n_neighbors=11 exceeds n_candidates=10"):
        search.kneighbors(X[:2], n_neighbors=11)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        RerankNeighbors(SignHashing(), n_neighbors=3, n_candidates=100).fit(
            X
        ).kneighbors(n_neighbors=50)
    # not an estimator with fit and transform
    with pytest.raises((TypeError, ValueError), match="'hasher' parameter"):
        RerankNeighbors(HammingNeighbors).fit(X)
    with pytest.raises((TypeError, ValueError), match="'hasher' parameter"):
        RerankNeighbors(NearestNeighbors()).fit(X)
    # a transformer whose output is not packed codes
    with pytest.raises(
        TypeError, match="hasher must encode vectors as packed binary codes"
    ):
        RerankNeighbors(StandardScaler()).fit(X)
    with pytest.raises(ValueError, match="metric"):
        RerankNeighbors(SignHashing(), metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="vector_dtype"):
        RerankNeighbors(SignHashing(), vector_dtype="float16").fit(X)
    with pytest.raises(ValueError, match="sample_weight"):
        search.score(X[:2], [0, 1], sample_weight=[1, 1])


@pytest.mark.parametrize("first_stage", ["hamming", "asymmetric"])
@pytest.mark.parametrize("vector_dtype", ["float32", "int8"])
def test_cosine_ignores_the_scale_of_huge_and_tiny_vectors(first_stage, vector_dtype):
    """float32 storage: rows beyond float32's range (float64 input) and rows
    whose squares overflow float32 still give the unscaled neighbours."""
    X = np.random.RandomState(12).standard_normal((200, 16))
    kw = dict(n_neighbors=3, n_candidates=20, first_stage=first_stage)
    kw["vector_dtype"] = vector_dtype
    want = RerankNeighbors(SignHashing(), **kw).fit(X).kneighbors(X[:5])
    for scale in (1e20, 1e300, 1e-300):
        search = RerankNeighbors(SignHashing(), **kw).fit(X * scale)
        for queries in (X[:5], X[:5] * scale):
            got = search.kneighbors(queries)
            np.testing.assert_array_equal(got[1], want[1])
            np.testing.assert_allclose(got[0], want[0], atol=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "dot"])
def test_values_beyond_float32_distances_are_rejected(metric):
    X = np.random.RandomState(13).standard_normal((50, 16))
    with pytest.raises(ValueError, match="float32"):
        RerankNeighbors(SignHashing(), n_candidates=10, metric=metric).fit(X * 1e39)
    search = RerankNeighbors(SignHashing(), n_candidates=10, metric=metric).fit(X)
    with pytest.raises(ValueError, match="rescale"):
        search.kneighbors(X[:2] * 1e20)
    search.kneighbors(X[:2] * 1e17)  # |x| about 4e17, below 2.3e18 at 16 features


def test_parameters_changed_after_fit():
    X = np.random.RandomState(14).standard_normal((50, 8))
    search = RerankNeighbors(SignHashing(), n_neighbors=3, n_candidates=10).fit(X)
    for params in ({"metric": "bogus"}, {"first_stage": "bogus"}, {"n_jobs": 0}):
        with pytest.raises(ValueError, match=next(iter(params))):
            clone_ = pickle.loads(pickle.dumps(search))
            clone_.set_params(**params).kneighbors(X[:2])
    # what fit decided cannot change without a new fit
    for params in (
        {"metric": "euclidean"},
        {"vector_dtype": "int8"},
        {"first_stage": "asymmetric"},
    ):
        changed = pickle.loads(pickle.dumps(search)).set_params(**params)
        with pytest.raises(ValueError, match="call fit again"):
            changed.kneighbors(X[:2])
        changed.fit(X).kneighbors(X[:2])
    # search parameters may change
    assert search.set_params(n_candidates=20).kneighbors(X[:2])[1].shape == (2, 3)


def test_debian_minilm_recall(shared_data):
    """Sign codes + 100 re-ranked candidates on real 384-d sentence embeddings."""
    data = shared_data("debian-minilm")
    base, queries = data["base"], data["query"][:300]
    truth = data["gt_l2_100"][:300, :10]
    recalls = {}
    for vector_dtype in ("float32", "int8"):
        search = RerankNeighbors(
            SignHashing(), n_candidates=100, vector_dtype=vector_dtype
        )
        recalls[vector_dtype] = search.fit(base).score(queries, truth)
    hamming = recall_at_k(
        truth, search.index_.kneighbors(search.hasher_.transform(queries), 10)[1], k=10
    )
    # measured on these 300 queries: Hamming 0.588, float32 0.955, int8 0.950
    assert hamming < 0.65
    assert recalls["float32"] >= 0.93
    assert abs(recalls["int8"] - recalls["float32"]) <= 0.01


def test_main_job_rerank_rows():
    import io

    from sklearn_hash._cli import main

    out = io.StringIO()
    argv = ["--methods", "lsh", "--nbits", "32", "--rerank", "10", "200", "-k", "10"]
    rows = main([*argv, "-q"], out=out)
    assert [r["method"] for r in rows] == ["lsh", "lsh+asym4", "lsh+rr10", "lsh+rr200"]
    hamming, _, same_set, reranked = rows
    # 10 candidates for 10 neighbours: the same set as the Hamming search
    assert same_set["k-R@k"] == hamming["k-R@k"]
    # measured on the embedded set: 0.095 -> 0.422
    assert reranked["k-R@k"] > hamming["k-R@k"] + 0.2
    assert "lsh+rr200" in out.getvalue() and "re-scored exactly" in out.getvalue()
    with pytest.raises(SystemExit):
        main(["--methods", "lsh", "--rerank", "5", "-k", "10", "-q"])
