"""decision_function of every hasher: the real values whose signs are the bits.

``BaseHasher.decision_function`` returns each hasher's ``_project``; ``transform``
must be exactly ``pack_bits(decision_function(X) > 0)`` (the asymmetric search
scores the values against database bits, so a value whose sign disagrees with the
code bit would give a wrong distance). Each hasher is fitted once per input dtype
(module-scoped fixture) and every property is checked on that fit.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_hash import (
    ITQ,
    LSH,
    AsymmetricLinV,
    NeuralProxyHash,
    PCAHashing,
    SignHashing,
    SpectralHashing,
    pack_bits,
)

N_SAMPLES, N_FEATURES, NBITS = 120, 16, 13
NPHASH_FAST = {
    "hidden_layer_sizes": (8,),
    "n_proxies": 20,
    "n_neighbors": 5,
    "batch_size": 16,
    "max_iter": 2,
    "early_stopping": False,
}
ASYMMETRIC_FAST = {"n_neighbors": 5, "n_epochs": 1, "max_iter": 1, "block_size": 60}

HASHERS = [
    LSH(nbits=NBITS, random_state=0),
    LSH(nbits=NBITS, rotate=True, train_thresholds=True, random_state=0),
    ITQ(nbits=NBITS, n_iter=5, random_state=0),
    PCAHashing(nbits=NBITS),
    SpectralHashing(nbits=NBITS),
    SignHashing(),
    SignHashing(center=True),
    NeuralProxyHash(nbits=NBITS, random_state=0, **NPHASH_FAST),
    AsymmetricLinV(nbits=NBITS, random_state=0, **ASYMMETRIC_FAST),
    AsymmetricLinV(nbits=NBITS, database="linear", random_state=0, **ASYMMETRIC_FAST),
]
HASHER_IDS = [
    "LSH",
    "LSH-rotate-thresholds",
    "ITQ",
    "PCAHashing",
    "SpectralHashing",
    "SignHashing",
    "SignHashing-center",
    "NeuralProxyHash",
    "AsymmetricLinV-free",
    "AsymmetricLinV-linear",
]


def _data(dtype, seed=0):
    """Gaussian data with a non-zero mean, so centring matters."""
    rng = np.random.RandomState(seed)
    return (rng.standard_normal((N_SAMPLES, N_FEATURES)) + 0.5).astype(dtype)


def _nbits(hasher):
    return hasher.nbits_ if isinstance(hasher, SignHashing) else hasher.nbits


@pytest.fixture(scope="module", params=HASHERS, ids=HASHER_IDS)
def hasher(request):
    return request.param


@pytest.fixture(
    scope="module", params=[np.float32, np.float64], ids=lambda d: d.__name__
)
def dtype(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(hasher, dtype):
    """The hasher fitted on float data of ``dtype``, with new data of that dtype."""
    return clone(hasher).fit(_data(dtype)), _data(dtype, seed=1)


def test_shape_and_floating_dtype(fitted):
    hasher, X = fitted
    values = hasher.decision_function(X)
    assert isinstance(values, np.ndarray)
    assert values.shape == (N_SAMPLES, _nbits(hasher))
    assert np.issubdtype(values.dtype, np.floating)
    assert np.all(np.isfinite(values))


def test_transform_packs_the_positive_values(fitted):
    hasher, X = fitted
    values = hasher.decision_function(X)
    # both signs occur, so the equality below is not that of two constant codes
    assert 0 < np.mean(values > 0) < 1
    assert np.array_equal(hasher.transform(X), pack_bits(values > 0))


def test_row_wise(fitted):
    """The values of a row do not depend on the other rows of X."""
    hasher, X = fitted
    values = hasher.decision_function(X)
    atol = 100 * np.finfo(values.dtype).eps * np.abs(values).max()
    for rows in ([7], [100, 3, 57, 0, 3], np.arange(N_SAMPLES)[::-2]):
        np.testing.assert_allclose(
            hasher.decision_function(X[rows]), values[rows], rtol=0, atol=atol
        )


def test_not_fitted(hasher):
    with pytest.raises(NotFittedError):
        clone(hasher).decision_function(_data(np.float64))


@pytest.mark.parametrize("n_features", [N_FEATURES - 1, N_FEATURES + 1])
def test_wrong_number_of_features(fitted, n_features):
    hasher, _ = fitted
    X = np.random.RandomState(2).standard_normal((4, n_features))
    message = (
        f"X has {n_features} features, but {type(hasher).__name__} is expecting "
        f"{N_FEATURES} features"
    )
    with pytest.raises(ValueError, match=message):
        hasher.decision_function(X)
