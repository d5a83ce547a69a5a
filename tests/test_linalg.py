"""Tests of the linear algebra the hashers share (sklearn_hash/_linalg.py)."""

import numpy as np
import pytest
from scipy import sparse
from sklearn import config_context

from sklearn_hash._linalg import (
    centred_projection,
    padded_principal_directions,
    principal_directions,
    random_orthonormal_projection,
)


@pytest.mark.parametrize("n_features, nbits", [(10, 4), (10, 10), (4, 10)])
def test_random_orthonormal_projection(n_features, nbits):
    P = random_orthonormal_projection(n_features, nbits, 0)
    assert P.shape == (n_features, nbits)
    # columns orthonormal when tall, rows orthonormal when wide
    gram = P.T @ P if nbits <= n_features else P @ P.T
    np.testing.assert_allclose(gram, np.eye(min(n_features, nbits)), atol=1e-12)
    np.testing.assert_array_equal(
        P, random_orthonormal_projection(n_features, nbits, 0)
    )


def test_principal_directions_match_numpy_covariance():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6)) + 3.0
    mean, components, variances = principal_directions(X, 4)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(variances, eigenvalues[::-1][:4], rtol=1e-10)
    # same directions up to sign; the sign rule makes the largest entry positive
    np.testing.assert_allclose(
        np.abs(components.T @ eigenvectors[:, ::-1][:, :4]), np.eye(4), atol=1e-8
    )
    largest = np.abs(components).argmax(axis=0)
    assert np.all(components[largest, np.arange(4)] > 0)


def test_principal_directions_blocks_and_sparse_agree():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((500, 8))
    X[X < 0.5] = 0.0
    whole = principal_directions(X, 5)
    # 16 bytes per row and feature: blocks of 3 rows
    with config_context(working_memory=3 * 16 * 8 / 2**20):
        blocked = principal_directions(X, 5)
    from_sparse = principal_directions(sparse.csr_matrix(X), 5)
    for other in (blocked, from_sparse):
        for a, b in zip(whole, other):
            np.testing.assert_allclose(a, b, atol=1e-10)


def test_padded_principal_directions_and_centred_projection():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((50, 3))
    mean, components, variances = padded_principal_directions(X, 5)
    assert components.shape == (3, 5) and variances.shape == (5,)
    assert not components[:, 3:].any() and not variances[3:].any()
    projected = centred_projection(sparse.csr_matrix(X), mean, components)
    np.testing.assert_allclose(projected, (X - mean) @ components, atol=1e-12)
