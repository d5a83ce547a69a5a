import numpy as np
import pytest
from sklearn import config_context
from sklearn.pipeline import make_pipeline

from sklearn_hash import LSH, HammingNeighbors, pack_bits
from sklearn_hash._compat import InvalidParameterError
from sklearn_hash.metrics import (
    hamming_mean_average_precision,
    hamming_precision_recall_curve,
    one_recall_at_r,
    pooled_average_precision,
    precision_recall_at_radius,
    recall_at_k,
    recall_at_r_curve,
)
from sklearn_hash.metrics._base import _codes_and_index, _hamming_distances, _relevance


def _recall_at_k_loop(true, retrieved, k):
    return np.mean([len(set(t[:k]) & set(r[:k])) / k for t, r in zip(true, retrieved)])


def _one_recall_loop(true, retrieved, r):
    return np.mean([t[0] in list(row[:r]) for t, row in zip(true, retrieved)])


@pytest.mark.parametrize("seed", range(5))
def test_recall_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    true = np.array([rng.permutation(30)[:20] for _ in range(50)])
    retrieved = rng.integers(0, 30, size=(50, 20))
    for k in (1, 5, 20):
        assert recall_at_k(true, retrieved, k) == pytest.approx(
            _recall_at_k_loop(true, retrieved, k)
        )
        assert one_recall_at_r(true, retrieved, k) == pytest.approx(
            _one_recall_loop(true, retrieved, k)
        )


def test_recall_extremes_and_1d_truth():
    true = np.arange(12).reshape(3, 4)
    assert recall_at_k(true, true) == 1.0
    assert recall_at_k(true, true + 100) == 0.0
    assert one_recall_at_r(true[:, 0], true[:, ::-1], r=4) == 1.0
    assert one_recall_at_r(true[:, 0], true[:, ::-1], r=3) == 0.0


@pytest.mark.parametrize(
    "true, retrieved, kwargs, err, match",
    [
        (
            np.zeros((2, 3), int),
            np.zeros((3, 3), int),
            {},
            ValueError,
            "same number of queries",
        ),
        (np.zeros(3, int), np.zeros((3, 3), int), {}, ValueError, "2-D"),
        (np.zeros((2, 3)), np.zeros((2, 3), int), {}, TypeError, "integer"),
        (
            np.zeros((2, 3), int),
            np.zeros((2, 3), int),
            {"k": 0},
            ValueError,
            "'k' parameter",
        ),
        (np.zeros((2, 3), int), np.zeros((2, 3), int), {"k": 4}, ValueError, "exceeds"),
        (
            np.zeros((0, 3), int),
            np.zeros((0, 3), int),
            {},
            ValueError,
            "at least one query",
        ),
    ],
)
def test_recall_bad_input(true, retrieved, kwargs, err, match):
    with pytest.raises(err, match=match):
        recall_at_k(true, retrieved, **kwargs)


def test_hamming_distances_in_blocks_match_bit_count():
    rng = np.random.default_rng(0)
    q_bits, db_bits = rng.integers(0, 2, (37, 200)), rng.integers(0, 2, (53, 200))
    expected = (q_bits[:, None, :] != db_bits[None, :, :]).sum(axis=2)
    q, db = pack_bits(q_bits), pack_bits(db_bits)
    # 8 bytes per (query, database) pair: blocks of 2 rows, the last one short
    with config_context(working_memory=2 * 8 * 53 / 2**20):
        np.testing.assert_array_equal(_hamming_distances(q, db), expected)
    out = _hamming_distances(q, db)
    assert out.dtype == np.int32 and out.shape == (37, 53)
    np.testing.assert_array_equal(out, expected)
    assert _hamming_distances(q[:0], db).shape == (0, 53)


def test_relevance_marks_the_first_true_neighbors():
    truth = np.array([[2, 0, 4], [1, 3, 0]])
    relevant = _relevance(truth, 5, n_relevant=2)
    np.testing.assert_array_equal(relevant, [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0]])
    np.testing.assert_array_equal(_relevance(truth[:, 0], 5).sum(axis=1), [1, 1])
    with pytest.raises(ValueError, match="n_relevant=4"):
        _relevance(truth, 5, n_relevant=4)


def test_codes_and_index_of_pipeline_and_bare_index():
    X = np.random.RandomState(0).standard_normal((30, 8))
    pipe = make_pipeline(LSH(nbits=16, random_state=0), HammingNeighbors()).fit(X)
    codes, index = _codes_and_index(pipe, X[:4])
    np.testing.assert_array_equal(codes, pipe[0].transform(X[:4]))
    assert index is pipe[-1]
    assert _codes_and_index(index, codes)[1] is index
    with pytest.raises(TypeError, match="kneighbors.*got LSH"):
        _codes_and_index(pipe[0], X)


@pytest.mark.parametrize(
    "func, args, bad",
    [
        (recall_at_k, ([[0]], [[0]]), {"k": 0}),
        (one_recall_at_r, ([[0]], [[0]]), {"r": 1.5}),
        (recall_at_r_curve, ([[0]], [[0]]), {"n_true": 0}),
        (hamming_mean_average_precision, ([[True]], [[0]]), {"ties": "random"}),
        (pooled_average_precision, ([[True]], "abc"), {}),
        (hamming_precision_recall_curve, ([[True]], [[0]]), {"average": "micro"}),
        (precision_recall_at_radius, ([[True]], [[0]], 1), {"zero_division": 2}),
    ],
)
def test_every_public_metric_validates_its_parameters(func, args, bad):
    # validate_params names the parameter, as scikit-learn's metrics do
    with pytest.raises(InvalidParameterError, match="parameter of " + func.__name__):
        func(*args, **bad)
