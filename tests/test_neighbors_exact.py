"""Tests of the shared exact float search (sklearn_hash/_neighbors_exact.py)."""

import numpy as np
from sklearn import config_context

from sklearn_hash._neighbors_exact import (
    exact_kneighbors,
    l2_normalize_rows,
    squared_distances,
)


def _brute_force(queries, database, k, exclude_self=False):
    d = np.sqrt(((queries[:, None, :] - database[None, :, :]) ** 2).sum(axis=2))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    n = database.shape[0]
    # distance first, then index
    order = np.lexsort((np.broadcast_to(np.arange(n), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, axis=1), order


def test_l2_normalize_rows_keeps_dtype_and_zero_rows():
    X = np.array([[3.0, 4.0], [0.0, 0.0], [1e-3, 0.0]], dtype=np.float32)
    out = l2_normalize_rows(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]], rtol=1e-6)


def test_squared_distances_are_clipped_at_zero():
    A = np.random.RandomState(0).standard_normal((5, 3))
    sq = squared_distances(A, A)
    assert sq.min() >= 0
    expected = ((A[:, None] - A[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(sq, expected, atol=1e-12)


def test_exact_kneighbors_matches_brute_force_with_ties_in_blocks():
    rng = np.random.RandomState(0)
    # integer points: many exact ties, broken by the smaller index
    database = rng.randint(0, 3, size=(60, 2)).astype(np.float64)
    queries = rng.randint(0, 3, size=(17, 2)).astype(np.float64)
    expected = _brute_force(queries, database, 7)
    # 17 bytes per (query, database) pair: blocks of 2 queries
    with config_context(working_memory=2 * 17 * 60 / 2**20):
        dist, ind = exact_kneighbors(queries, database, 7)
    np.testing.assert_array_equal(ind, expected[1])
    np.testing.assert_allclose(dist, expected[0])
    dist, ind = exact_kneighbors(database, database, 5, self_query=True)
    expected = _brute_force(database, database, 5, exclude_self=True)
    np.testing.assert_array_equal(ind, expected[1])
