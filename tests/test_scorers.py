import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_hash import LSH, HammingNeighbors, pack_bits
from sklearn_hash.metrics import make_recall_scorer, one_recall_at_r, recall_at_k
from sklearn_hash.model_selection import query_database_split


@pytest.fixture(scope="module")
def blobs():
    """Database and queries with clear neighbours: queries are noisy database points."""
    rng = np.random.default_rng(0)
    database = rng.standard_normal((600, 16)).astype(np.float32)
    queries = database[:60] + 0.05 * rng.standard_normal((60, 16)).astype(np.float32)
    return database, queries


def test_scorer_equals_recall_functions(blobs):
    database, queries = blobs
    _, y, _ = query_database_split(database, queries, n_neighbors=10)
    pipe = make_pipeline(
        LSH(nbits=32, random_state=0), HammingNeighbors(n_neighbors=20)
    )
    pipe.fit(database)
    retrieved = pipe.predict(queries)
    truth = y[len(database) :]
    assert make_recall_scorer(k=10)(pipe, queries, truth) == pytest.approx(
        recall_at_k(truth, retrieved, k=10)
    )
    assert make_recall_scorer(k=20, n_true=1)(pipe, queries, truth) == pytest.approx(
        one_recall_at_r(truth, retrieved, r=20)
    )
    # and the estimator's own score with n_neighbors = k
    pipe.set_params(hammingneighbors__n_neighbors=10)
    assert make_recall_scorer(k=10)(pipe, queries, truth) == pytest.approx(
        pipe.score(queries, truth)
    )


def test_grid_search_over_nbits_with_split_helper_and_scorer(blobs):
    database, queries = blobs
    X, y, cv = query_database_split(database, queries, n_neighbors=10)
    pipe = make_pipeline(LSH(random_state=0), HammingNeighbors(n_neighbors=10))
    search = GridSearchCV(
        pipe,
        {"lsh__nbits": [4, 16, 64]},
        cv=cv,
        refit=False,
        scoring={
            "r10": make_recall_scorer(k=10),
            "1r10": make_recall_scorer(k=10, n_true=1),
        },
    ).fit(X, y)
    scores = search.cv_results_["mean_test_r10"]
    assert np.all(np.diff(scores) > 0)  # more bits, better recall
    assert search.cv_results_["mean_test_1r10"][-1] > 0.9  # queries near their point


def test_database_test_mode_searches_the_fold_itself():
    codes = pack_bits(np.eye(8, dtype=bool)[[0, 0, 1, 1, 2, 2]])
    index = HammingNeighbors(n_neighbors=1)
    # each code's twin is its nearest neighbour (self excluded), at fold positions
    # 1,0,3,2,5,4
    y = np.array([[1], [0], [3], [2], [5], [4]])
    assert (
        make_recall_scorer(k=1, database="test")(index.fit(codes[:1]), codes, y) == 1.0
    )
    assert make_recall_scorer(k=1, database="test")(index, codes, y[::-1]) == 0.0


def test_scorer_in_cross_validate_and_repr(blobs):
    database, queries = blobs
    X, y, cv = query_database_split(database, queries, n_neighbors=5)
    pipe = make_pipeline(LSH(nbits=64, random_state=0), HammingNeighbors(n_neighbors=5))
    result = cross_validate(pipe, X, y, cv=cv, scoring=make_recall_scorer(k=5))
    assert 0.3 < result["test_score"][0] <= 1
    assert "k=5" in repr(make_recall_scorer(k=5))


def test_scorer_errors(blobs):
    database, queries = blobs
    pipe = make_pipeline(LSH(nbits=16, random_state=0), HammingNeighbors(n_neighbors=5))
    pipe.fit(database)
    truth = np.zeros((len(queries), 3), dtype=int)
    with pytest.raises(ValueError, match="n_neighbors >= 10"):
        make_recall_scorer(k=10)(pipe, queries, truth)
    with pytest.raises(ValueError, match="n_true=5"):
        make_recall_scorer(k=5)(pipe, queries, truth)
    with pytest.raises(ValueError, match="'k' parameter"):
        make_recall_scorer(k=0)
    with pytest.raises(ValueError, match="'database' parameter"):
        make_recall_scorer(database="queries")
    with pytest.raises(TypeError, match="kneighbors"):
        make_recall_scorer(k=1, database="test")(LSH(nbits=8), queries, truth)
