"""The end-to-end path: hasher + HammingNeighbors in a Pipeline and a grid search."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_hash import LSH, HammingNeighbors
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import one_recall_at_r
from sklearn_hash.model_selection import query_database_split


@pytest.fixture(scope="module")
def sift():
    return load_sift_skimage()


def test_pipeline_fit_predict_score_clone_pickle(sift):
    pipe = make_pipeline(
        LSH(nbits=64, random_state=0), HammingNeighbors(n_neighbors=10)
    )
    pipe.fit(sift.base)
    pred = pipe.predict(sift.query)
    assert pred.shape == (500, 10)
    score = pipe.score(sift.query, sift.ground_truth)
    assert score == pytest.approx(
        np.mean(
            [len(set(p) & set(t[:10])) / 10 for p, t in zip(pred, sift.ground_truth)]
        )
    )
    # 1-recall@10 of 64-bit centred LSH on this set is 0.43 (seed 0); random would be
    # ~0.0003
    assert one_recall_at_r(sift.ground_truth, pred) > 0.35
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict(sift.query), pred)
    np.testing.assert_array_equal(clone(pipe).fit(sift.base).predict(sift.query), pred)


def test_grid_search_over_nbits_prefers_longer_codes(sift):
    X, y, cv = query_database_split(sift.base[:8000], sift.query[:200], _gt(sift))
    pipe = make_pipeline(LSH(random_state=0), HammingNeighbors(n_neighbors=10))
    search = GridSearchCV(pipe, {"lsh__nbits": [16, 32, 128]}, cv=cv, refit=False)
    search.fit(X, y[:, :1])
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"lsh__nbits": 128}
    assert np.all(np.diff(scores) > 0)  # recall grows with the code length


def _gt(sift):
    """Exact neighbours of the first 200 queries within the first 8000 base points."""
    base, q = sift.base[:8000].astype(np.float64), sift.query[:200].astype(np.float64)
    d = (q**2).sum(1)[:, None] - 2 * q @ base.T + (base**2).sum(1)[None]
    return np.argsort(d, axis=1, kind="stable")[:, :10]


def test_query_database_split_layout(sift):
    gt = np.arange(15).reshape(5, 3)
    X, y, cv = query_database_split(sift.base[:30], sift.query[:5], gt)
    assert X.shape == (35, 128) and y.shape == (35, 3)
    ((train, test),) = cv.split(X, y)
    np.testing.assert_array_equal(train, np.arange(30))
    np.testing.assert_array_equal(test, np.arange(30, 35))
    assert (y[:30] == -1).all()
    with pytest.raises(ValueError, match="indices in"):
        query_database_split(sift.base[:30], sift.query[:5], gt + 20)
    with pytest.raises(ValueError, match="one row per query"):
        query_database_split(sift.base, sift.query[:5], sift.ground_truth[:4])
