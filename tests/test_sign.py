"""SignHashing: binary quantization, one bit per coordinate."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_hash import HammingNeighbors, SignHashing, pack_bits, unpack_bits


@pytest.mark.parametrize("n_features", [1, 8, 13, 384])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bits_are_positive_coordinates(n_features, dtype):
    X = np.random.RandomState(0).standard_normal((50, n_features)).astype(dtype)
    X[0, 0] = 0.0  # a coordinate at the threshold gives bit 0
    hasher = SignHashing().fit(X)
    codes = hasher.transform(X)
    assert hasher.nbits_ == n_features
    assert codes.dtype == np.uint8 and codes.shape == (50, -(-n_features // 8))
    assert codes.flags.c_contiguous
    np.testing.assert_array_equal(codes, pack_bits(X > 0))
    np.testing.assert_array_equal(unpack_bits(codes, n_features), X > 0)
    assert unpack_bits(codes, n_features)[0, 0] == 0
    # padding bits are zero
    full = np.unpackbits(codes, axis=1, bitorder="little")
    assert not full[:, n_features:].any()
    np.testing.assert_array_equal(hasher.mean_, 0)


def test_center_subtracts_training_mean():
    rng = np.random.RandomState(1)
    train = rng.standard_normal((200, 10)) + 3.0
    X = rng.standard_normal((30, 10)) + 3.0
    hasher = SignHashing(center=True).fit(train)
    np.testing.assert_allclose(hasher.mean_, train.mean(axis=0))
    np.testing.assert_array_equal(
        hasher.transform(X), pack_bits(X - train.mean(axis=0) > 0)
    )


def test_center_helps_non_negative_features():
    # without centring, positive features give the all-ones code to everyone
    X = np.random.RandomState(2).uniform(0.1, 1.0, size=(100, 16))
    plain = SignHashing().fit_transform(X)
    centred = SignHashing(center=True).fit_transform(X)
    assert len(np.unique(plain, axis=0)) == 1
    assert len(np.unique(centred, axis=0)) > 50


def test_transform_is_pure_and_clone_refits():
    X = np.random.RandomState(3).standard_normal((40, 9))
    hasher = SignHashing(center=True).fit(X)
    first = hasher.transform(X[:5])
    np.testing.assert_array_equal(hasher.transform(X[:5]), first)
    other = clone(hasher).fit(X + 1.0)
    np.testing.assert_allclose(other.mean_, hasher.mean_ + 1.0)


def test_feature_names_out_one_per_byte():
    X = np.random.RandomState(4).standard_normal((10, 20))
    names = SignHashing().fit(X).get_feature_names_out()
    assert list(names) == ["signhashing0", "signhashing1", "signhashing2"]


def test_sparse_input_is_rejected():
    X = sparse.random(20, 10, density=0.3, format="csr", random_state=0)
    with pytest.raises(TypeError, match="dense data is required"):
        SignHashing().fit(X)


def test_width_mismatch_at_transform():
    hasher = SignHashing().fit(np.ones((5, 8)))
    with pytest.raises(ValueError, match="8 features"):
        hasher.transform(np.ones((2, 9)))


def test_pipeline_search_matches_reference():
    from sklearn_hash._bits import hamming_kneighbors_reference

    rng = np.random.RandomState(5)
    database, queries = rng.standard_normal((300, 24)), rng.standard_normal((20, 24))
    pipe = make_pipeline(SignHashing(), HammingNeighbors(n_neighbors=7)).fit(database)
    expected = hamming_kneighbors_reference(
        pack_bits(queries > 0), pack_bits(database > 0), 7
    )[1]
    np.testing.assert_array_equal(pipe.predict(queries), expected)
