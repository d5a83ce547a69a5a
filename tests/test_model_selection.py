import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_hash import LSH, HammingNeighbors
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import make_recall_scorer
from sklearn_hash.model_selection import (
    exact_neighbors,
    kfold_neighbors_split,
    query_database_split,
)


def _brute_force(database, queries, k, metric, exclude_self=False):
    """Direct float64 distances, sorted by (distance, index)."""
    database = np.asarray(database, dtype=np.float64)
    queries = database if queries is None else np.asarray(queries, dtype=np.float64)
    if metric == "cosine":

        def unit(X):
            n = np.linalg.norm(X, axis=1, keepdims=True)
            return np.divide(X, n, out=np.zeros_like(X), where=n > 0)

        dist = 1 - unit(queries) @ unit(database).T
    else:
        dist = np.sqrt(((queries[:, None, :] - database[None, :, :]) ** 2).sum(axis=2))
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    order = np.array([np.lexsort((np.arange(len(row)), row))[:k] for row in dist])
    return np.take_along_axis(dist, order, axis=1), order


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("self_query", [False, True])
def test_exact_neighbors_matches_brute_force_with_ties_and_blocks(metric, self_query):
    rng = np.random.default_rng(0)
    if metric == "euclidean":
        # small integers: many exact ties
        database = rng.integers(0, 3, size=(200, 5)).astype(np.float32)
        queries = rng.integers(0, 3, size=(37, 5))
    else:
        # (scaled copies of a vector tie only up to rounding: use duplicates instead)
        database = rng.standard_normal((200, 5))
        database[100:120] = database[:20]
        queries = rng.standard_normal((37, 5))
    database[10] = 0  # a zero vector (cosine distance 1 to everything)
    queries = None if self_query else queries
    # working memory for 3 query rows per block
    dist, ind = exact_neighbors(
        database,
        queries,
        n_neighbors=15,
        metric=metric,
        return_distance=True,
        working_memory=3 * 17 * 200 / 2**20,
    )
    ref_dist, ref_ind = _brute_force(
        database, queries, 15, metric, exclude_self=self_query
    )
    np.testing.assert_allclose(dist, ref_dist, atol=1e-12)
    np.testing.assert_array_equal(ind, ref_ind)
    assert ind.dtype == np.int64


def test_exact_neighbors_matches_shipped_ground_truth_and_reports_progress(capsys):
    data = load_sift_skimage()
    ind = exact_neighbors(
        data.base,
        data.query[:50],
        n_neighbors=10,
        verbose=1,
        working_memory=10 * 17 * 30070 / 2**20,
    )
    np.testing.assert_array_equal(ind, data.ground_truth[:50, :10])
    err = capsys.readouterr().err
    assert "exact neighbours: 50/50 queries (100%)" in err


def test_exact_neighbors_errors():
    with pytest.raises(ValueError, match="exceeds the 2 database vectors available"):
        exact_neighbors(np.eye(3), n_neighbors=3)
    with pytest.raises(ValueError, match="features"):
        exact_neighbors(np.eye(3), np.eye(2), n_neighbors=1)
    with pytest.raises(ValueError, match="'metric' parameter"):
        exact_neighbors(np.eye(3), metric="manhattan")


def test_query_database_split_computes_the_ground_truth():
    rng = np.random.default_rng(1)
    database, queries = rng.random((100, 4)), rng.random((10, 4))
    X, y, cv = query_database_split(database, queries, n_neighbors=7, metric="cosine")
    assert X.shape == (110, 4) and y.shape == (110, 7)
    np.testing.assert_array_equal(
        y[100:], _brute_force(database, queries, 7, "cosine")[1]
    )
    assert (y[:100] == -1).all()
    ((train, test),) = cv.split(X, y)
    np.testing.assert_array_equal(train, np.arange(100))
    np.testing.assert_array_equal(test, np.arange(100, 110))
    with pytest.raises(ValueError, match="one row per query"):
        query_database_split(database, queries, np.zeros((3, 1), dtype=int))


def test_kfold_split_ground_truth_is_within_each_test_fold():
    rng = np.random.default_rng(2)
    X = rng.random((50, 3))
    X_out, y, cv = kfold_neighbors_split(
        X, n_splits=3, n_neighbors=4, shuffle=True, random_state=0
    )
    assert X_out.shape == X.shape and cv.get_n_splits() == 3
    for _, test in cv.split(X_out, y):
        expected = _brute_force(X[test], None, 4, "euclidean", exclude_self=True)[1]
        np.testing.assert_array_equal(y[test], expected)
    with pytest.raises(ValueError, match="not more than n_neighbors"):
        kfold_neighbors_split(X, n_splits=10, n_neighbors=5)


def test_grid_search_over_nbits_picks_the_longest_codes():
    """The done criterion: GridSearchCV over nbits with the split helper, the scorer."""
    data = load_sift_skimage()
    X, y, cv = query_database_split(data.base[:8000], data.query[:100], n_neighbors=10)
    pipe = make_pipeline(
        LSH(rotate=True, train_thresholds=True, random_state=0),
        HammingNeighbors(n_neighbors=100),
    )
    search = GridSearchCV(
        pipe,
        {"lsh__nbits": [16, 32, 64, 128]},
        cv=cv,
        refit=False,
        scoring=make_recall_scorer(k=100, n_true=10),
    ).fit(X, y)
    assert search.best_params_ == {"lsh__nbits": 128}
    assert np.all(np.diff(search.cv_results_["mean_test_score"]) > 0)


def test_kfold_grid_search_with_self_query_scorer():
    X, y, cv = kfold_neighbors_split(
        load_sift_skimage().base[:3000], n_splits=3, n_neighbors=10
    )
    pipe = make_pipeline(LSH(random_state=0), HammingNeighbors())
    search = GridSearchCV(
        pipe,
        {"lsh__nbits": [16, 128]},
        cv=cv,
        refit=False,
        scoring=make_recall_scorer(k=10, database="test"),
    ).fit(X, y)
    assert search.best_params_ == {"lsh__nbits": 128}
    assert search.cv_results_["split2_test_score"][1] > 0.2


def test_grid_search_over_neural_proxy_hash_beta_and_n_proxies():
    from threadpoolctl import threadpool_limits

    from sklearn_hash import NeuralProxyHash

    data = load_sift_skimage()
    X, y, cv = query_database_split(data.base[:3000], data.query[:100], n_neighbors=10)
    hasher = NeuralProxyHash(
        nbits=32, hidden_layer_sizes=(128,), n_neighbors=20, max_iter=10, random_state=0
    )
    pipe = make_pipeline(hasher, HammingNeighbors(n_neighbors=50))
    grid = {
        "neuralproxyhash__beta": [1.0, 32**0.5],
        "neuralproxyhash__n_proxies": [30, 300],
    }
    with threadpool_limits(limits=1, user_api="blas"):
        search = GridSearchCV(
            pipe, grid, cv=cv, refit=False, scoring=make_recall_scorer(k=50, n_true=10)
        ).fit(X, y)
    scores = dict(
        zip(
            map(str, search.cv_results_["params"]),
            search.cv_results_["mean_test_score"],
        )
    )
    # a nearly linear relaxation (beta = 1) trains poorly: the paper's sqrt(nbits) wins
    assert search.best_params_["neuralproxyhash__beta"] == pytest.approx(32**0.5)
    assert (
        search.best_score_
        > max(s for p, s in scores.items() if "'neuralproxyhash__beta': 1.0" in p) + 0.1
    )
