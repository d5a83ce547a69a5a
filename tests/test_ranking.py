"""Tests of the Hamming-ranking average precision measures."""

import itertools

import numpy as np
import pytest
from scipy import sparse

from sklearn_hash.metrics import (
    hamming_mean_average_precision,
    pooled_average_precision,
)


def _ap_of_order(relevant_in_order):
    """Non-interpolated AP of one fixed ranking (relevance in rank order)."""
    rel = np.asarray(relevant_in_order, dtype=bool)
    hits = np.cumsum(rel)
    ranks = np.arange(1, len(rel) + 1)
    return float(np.sum(hits[rel] / ranks[rel]) / rel.sum())


def _tie_orders(distances):
    """Every ranking consistent with the distances (all orders within tie groups)."""
    levels = np.unique(distances)
    groups = [np.flatnonzero(distances == level) for level in levels]
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield np.concatenate(perms)


def _brute_force(relevant, distances):
    """Expected, minimum and maximum AP over all tie orders, mean over queries."""
    expected, low, high = [], [], []
    for rel, dist in zip(relevant, distances):
        if not rel.any():
            continue
        aps = [_ap_of_order(rel[order]) for order in _tie_orders(dist)]
        expected.append(np.mean(aps))
        low.append(min(aps))
        high.append(max(aps))
    return np.mean(expected), np.mean(low), np.mean(high)


@pytest.mark.parametrize("seed", range(12))
def test_expected_ap_matches_enumeration_of_tie_orders(seed):
    rng = np.random.RandomState(seed)
    n_queries, n_database = 3, int(rng.randint(2, 8))
    distances = rng.randint(0, 3, size=(n_queries, n_database))
    relevant = rng.rand(n_queries, n_database) < 0.4
    relevant[0, rng.randint(n_database)] = True  # at least one query counts
    expected, low, high = _brute_force(relevant, distances)
    assert hamming_mean_average_precision(relevant, distances) == pytest.approx(
        expected
    )
    assert hamming_mean_average_precision(relevant, distances, ties="pessimistic") == (
        pytest.approx(low)
    )
    assert hamming_mean_average_precision(relevant, distances, ties="optimistic") == (
        pytest.approx(high)
    )


def test_without_ties_all_rules_agree_with_sklearn():
    from sklearn.metrics import average_precision_score

    rng = np.random.RandomState(0)
    distances = np.array([rng.permutation(20) for _ in range(4)])
    relevant = rng.rand(4, 20) < 0.3
    relevant[:, 0] = True
    reference = np.mean(
        [average_precision_score(r, -d) for r, d in zip(relevant, distances)]
    )
    for ties in ("expected", "pessimistic", "optimistic"):
        assert hamming_mean_average_precision(relevant, distances, ties=ties) == (
            pytest.approx(reference)
        )


def test_queries_without_neighbours_are_left_out_and_float_distances():
    relevant = np.array([[1, 0, 0], [0, 0, 0]])
    distances = np.array([[0.5, 0.25, 1.0], [0.0, 0.0, 0.0]])
    assert hamming_mean_average_precision(relevant, distances) == pytest.approx(0.5)
    assert np.isnan(hamming_mean_average_precision(np.zeros((2, 3)), distances))
    assert hamming_mean_average_precision(sparse.csr_matrix(relevant), distances) == 0.5


def test_all_tied_equals_fraction_relevant_in_expectation_bounds():
    relevant = np.array([[True, False, False, False]])
    distances = np.zeros((1, 4), dtype=int)
    # the only relevant item is equally likely at each rank: E[1/rank]
    assert hamming_mean_average_precision(relevant, distances) == pytest.approx(
        np.mean(1 / np.arange(1, 5))
    )


def _pooled_reference(relevant, distances):
    """aveprecision.m transcribed: points from the last threshold down, trapz."""
    levels = np.unique(distances)
    bp = np.array([np.sum(relevant & (distances == lv)) for lv in levels])[::-1]
    bn = np.array([np.sum(~relevant & (distances == lv)) for lv in levels])[::-1]
    num = len(levels)
    p, r = np.zeros(num + 1), np.zeros(num + 1)
    p[num] = 1
    pos = tp = 0
    for i in range(num - 1, -1, -1):
        pos += bp[i] + bn[i]
        tp += bp[i]
        p[i] = tp / pos if pos > 0 else 1
        r[i] = tp / bp.sum()
    return abs(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2))


@pytest.mark.parametrize("seed", range(5))
def test_pooled_matches_authors_formula(seed):
    rng = np.random.RandomState(seed)
    distances = rng.randint(0, 9, size=(6, 30))
    relevant = rng.rand(6, 30) < 0.2
    relevant[0, 0] = True
    assert pooled_average_precision(relevant, distances) == pytest.approx(
        _pooled_reference(relevant, distances)
    )


def test_pooled_rewards_coarse_codes_more_than_per_query():
    """Random codes: pooled trapezoid AP is far above per-query AP (the pitfall)."""
    rng = np.random.RandomState(0)
    relevant = rng.rand(200, 400) < 0.05
    distances = rng.randint(0, 3, size=(200, 400))
    assert pooled_average_precision(relevant, distances) > 1.3 * (
        hamming_mean_average_precision(relevant, distances)
    )


@pytest.mark.parametrize(
    "func", [hamming_mean_average_precision, pooled_average_precision]
)
def test_bad_input(func):
    with pytest.raises(ValueError, match="same shape"):
        func(np.ones((2, 3), bool), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        func(np.ones(3, bool), np.zeros(3))
    with pytest.raises(ValueError, match="only 0 and 1"):
        func(np.full((2, 3), 2), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        func(np.ones((1, 2), bool), np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="at least one"):
        func(np.ones((0, 3), bool), np.zeros((0, 3)))


def test_bad_tie_rule():
    with pytest.raises(ValueError, match="'ties' parameter"):
        hamming_mean_average_precision([[True]], [[0]], ties="random")
