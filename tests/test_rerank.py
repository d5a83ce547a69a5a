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
from sklearn_hash.neighbors import _rerank

METRICS = ["cosine", "euclidean", "dot"]


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
def test_all_candidates_is_exact_search(metric):
    # n_candidates >= n: every vector is re-scored, whatever the codes
    X = exact_data(150, 10, metric, seed=2)
    Q = exact_data(20, 10, metric, seed=3)
    search = RerankNeighbors(
        SignHashing(), n_neighbors=15, n_candidates=150, metric=metric
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
    # tiny budgets: many query chunks and one-query blocks on two threads
    monkeypatch.setattr(_rerank, "_CANDIDATE_BUDGET", 90)
    monkeypatch.setattr(_rerank, "_GATHER_BUDGET", 100)
    search.set_params(n_jobs=2)
    for got, want in zip(
        search.kneighbors(Q) + search.kneighbors(), expected + expected_self
    ):
        np.testing.assert_array_equal(got, want)


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
    assert [r["method"] for r in rows] == ["lsh", "lsh+rr10", "lsh+rr200"]
    hamming, same_set, reranked = rows
    # 10 candidates for 10 neighbours: the same set as the Hamming search
    assert same_set["k-R@k"] == hamming["k-R@k"]
    # measured on the embedded set: 0.095 -> 0.422
    assert reranked["k-R@k"] > hamming["k-R@k"] + 0.2
    assert "lsh+rr200" in out.getvalue() and "re-scored exactly" in out.getvalue()
    with pytest.raises(SystemExit):
        main(["--methods", "lsh", "--rerank", "5", "-k", "10", "-q"])
