import numpy as np
import pytest
from scipy import sparse

from sklearn_hash.metrics import (
    hamming_precision_recall_curve,
    one_recall_at_r,
    precision_recall_at_radius,
    recall_at_k,
    recall_at_r_curve,
)


def _random_case(seed, n_queries=7, n_database=40, nbits=6, p_relevant=0.2):
    """Hamming-like distances with many ties, some queries without relevant items."""
    rng = np.random.default_rng(seed)
    distances = rng.integers(0, nbits + 1, size=(n_queries, n_database))
    relevant = rng.random((n_queries, n_database)) < p_relevant
    relevant[0] = False
    return relevant, distances


def _radius_reference(relevant, distances, r, average, zero_division):
    """Loops over queries: retrieve d <= r, count, average."""
    if average == "pooled":
        within = distances <= r
        hits, retrieved = (within & relevant).sum(), within.sum()
        precision = hits / retrieved if retrieved else zero_division
        return precision, hits / relevant.sum()
    precisions, recalls = [], []
    for rel, dist in zip(relevant, distances):
        if not rel.any():
            continue
        within = dist <= r
        hits = (within & rel).sum()
        precisions.append(hits / within.sum() if within.any() else zero_division)
        recalls.append(hits / rel.sum())
    return np.nanmean(precisions) if not np.all(
        np.isnan(precisions)
    ) else np.nan, np.mean(recalls)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("average", ["queries", "pooled"])
@pytest.mark.parametrize("zero_division", [0.0, 1.0, "nan"])
def test_radius_matches_loop_reference_with_ties(seed, average, zero_division):
    relevant, distances = _random_case(seed)
    radii = np.array([0, 0.5, 1, 2.5, 3, 6, 7])  # on and between the levels, and beyond
    precision, recall = precision_recall_at_radius(
        relevant, distances, radii, average=average, zero_division=zero_division
    )
    zd = np.nan if zero_division == "nan" else zero_division
    for r, p, rc in zip(radii, precision, recall):
        ref_p, ref_r = _radius_reference(relevant, distances, r, average, zd)
        np.testing.assert_allclose([p, rc], [ref_p, ref_r], equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("average", ["queries", "pooled"])
def test_curve_points_are_the_distance_levels(seed, average):
    relevant, distances = _random_case(seed, nbits=5)
    distances[:, 0] = 9  # a level far from the others: levels need not be contiguous
    precision, recall, thresholds = hamming_precision_recall_curve(
        relevant, distances, average=average
    )
    np.testing.assert_array_equal(thresholds, np.unique(distances))
    for t, p, r in zip(thresholds, precision, recall):
        assert (p, r) == pytest.approx(
            _radius_reference(relevant, distances, t, average, 0.0)
        )
    assert recall[-1] == pytest.approx(1.0) and np.all(np.diff(recall) >= 0)
    # the curve does not depend on the order of items within a tie (nor at all on
    # columns)
    perm = np.random.default_rng(seed).permutation(distances.shape[1])
    again = hamming_precision_recall_curve(
        relevant[:, perm], distances[:, perm], average=average
    )
    np.testing.assert_allclose(again[0], precision)


def test_curve_float_distances_and_sparse_relevance():
    rng = np.random.default_rng(0)
    distances = rng.random((5, 30))
    relevant = rng.random((5, 30)) < 0.3
    precision, _, thresholds = hamming_precision_recall_curve(
        sparse.csr_matrix(relevant), distances
    )
    assert len(thresholds) == 150
    # no ties: pooled precision at the last level is the prevalence
    assert precision[-1] == pytest.approx(relevant.mean())


def test_radius_scalar_and_all_ties():
    relevant = np.array([[True, False, True, False]])
    distances = np.zeros((1, 4), dtype=int)
    assert precision_recall_at_radius(relevant, distances, 0) == (0.5, 1.0)
    # nothing retrieved below every distance
    assert precision_recall_at_radius(relevant, distances + 3, 2) == (0.0, 0.0)
    assert np.isnan(
        precision_recall_at_radius(relevant, distances + 3, 2, zero_division="nan")[0]
    )


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"relevant": [[True]], "distances": [[0, 1]]}, ValueError, "same shape"),
        (
            {"relevant": [[False, False]], "distances": [[0, 1]]},
            ValueError,
            "no relevant",
        ),
        (
            {"relevant": [[True, False]], "distances": [[0, 1]], "average": "macro"},
            ValueError,
            "average",
        ),
        (
            {"relevant": [[True, False]], "distances": [[0, 1]], "zero_division": 2},
            ValueError,
            "zero_division",
        ),
    ],
)
def test_curve_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        hamming_precision_recall_curve(**kwargs)


def test_radius_bad_radius():
    with pytest.raises(ValueError, match="radius"):
        precision_recall_at_radius([[True]], [[0]], -1)


def _recall_at_r_loop(true, retrieved, n_true):
    curve = []
    for r in range(1, retrieved.shape[1] + 1):
        curve.append(
            np.mean(
                [
                    len(set(t[:n_true]) & set(row[:r])) / n_true
                    for t, row in zip(true, retrieved)
                ]
            )
        )
    return np.array(curve)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_true", [1, 3, 10])
def test_recall_at_r_curve_matches_loop_and_point_metrics(seed, n_true):
    rng = np.random.default_rng(seed)
    true = np.array([rng.permutation(25)[:10] for _ in range(30)])
    retrieved = rng.integers(0, 25, size=(30, 12))  # with duplicates
    r_values, curve = recall_at_r_curve(true, retrieved, n_true=n_true)
    np.testing.assert_array_equal(r_values, np.arange(1, 13))
    np.testing.assert_allclose(curve, _recall_at_r_loop(true, retrieved, n_true))
    if n_true == 1:
        for r in (1, 5, 12):
            assert curve[r - 1] == pytest.approx(one_recall_at_r(true, retrieved, r))
    else:
        assert curve[n_true - 1] == pytest.approx(recall_at_k(true, retrieved, n_true))


def _faiss_one_recall(ids, gt, rank):
    """faiss's own 1-recall@R, computed as in its benchs/ scripts."""
    return (ids[:, :rank] == gt[:, :1]).sum() / float(ids.shape[0])


@pytest.mark.parametrize("seed", range(3))
def test_one_recall_agrees_with_faiss_formula_on_tied_hamming_results(seed):
    """Both agree at every R on faiss-like results: Hamming top-k, ties in any order."""
    from sklearn_hash._bits import hamming_kneighbors_reference

    rng = np.random.default_rng(seed)
    db = rng.integers(0, 256, size=(300, 1), dtype=np.uint8)  # 8-bit codes: many ties
    q = rng.integers(0, 256, size=(40, 1), dtype=np.uint8)
    dist, ids = hamming_kneighbors_reference(q, db, 50)
    # faiss orders items within a tie its own way: shuffle within ties
    ids = np.take_along_axis(ids, np.lexsort((rng.random(dist.shape), dist)), axis=1)
    gt = np.array([rng.permutation(300)[:5] for _ in range(40)])
    gt[:20, 0] = ids[:20, rng.integers(0, 50)]
    _, curve = recall_at_r_curve(gt, ids)
    for rank in (1, 10, 50):
        assert one_recall_at_r(gt, ids, rank) == pytest.approx(
            _faiss_one_recall(ids, gt, rank)
        )
        assert curve[rank - 1] == pytest.approx(_faiss_one_recall(ids, gt, rank))


def test_recall_at_r_curve_bad_n_true():
    with pytest.raises(ValueError, match="n_true"):
        recall_at_r_curve([[0, 1]], [[0, 1]], n_true=3)
    with pytest.raises(ValueError, match="n_true"):
        recall_at_r_curve([[0, 1]], [[0, 1]], n_true=0)
