import numpy as np
import pytest
from scipy import sparse

from sklearn_hash import LSH, unpack_bits


def _angles(X, Y):
    cos = np.sum(X * Y, axis=1) / (
        np.linalg.norm(X, axis=1) * np.linalg.norm(Y, axis=1)
    )
    return np.arccos(np.clip(cos, -1, 1))


@pytest.mark.parametrize("rotate", [False, True])
def test_bit_disagreement_estimates_angle_over_pi(rotate):
    nbits = 2048
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 64))
    Y = X + rng.uniform(0.1, 3.0, size=(40, 1)) * rng.standard_normal((40, 64))
    lsh = LSH(nbits=nbits, center=False, rotate=rotate, random_state=0).fit(X)
    bx, by = unpack_bits(lsh.transform(X), nbits), unpack_bits(lsh.transform(Y), nbits)
    frac = (bx != by).mean(axis=1)
    p = _angles(X, Y) / np.pi
    # binomial standard error per pair; 5 sigma keeps the test stable over seeds
    tol = 5 * np.sqrt(p * (1 - p) / nbits) + 1e-3
    assert np.all(np.abs(frac - p) <= tol)


def test_same_seed_same_codes_other_seed_other_codes():
    X = np.random.default_rng(1).standard_normal((50, 20))
    a = LSH(nbits=33, random_state=7).fit_transform(X)
    b = LSH(nbits=33, random_state=7).fit(X).transform(X)
    c = LSH(nbits=33, random_state=8).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("rotate", [False, True])
def test_median_thresholds_balance_every_bit(rotate):
    # all-positive, offset data: without thresholds bits would be very unbalanced
    X = np.random.default_rng(2).uniform(0, 255, size=(1001, 32))
    lsh = LSH(nbits=48, rotate=rotate, train_thresholds=True, random_state=0).fit(X)
    ones = unpack_bits(lsh.transform(X), 48).mean(axis=0)
    # median of 1001 values: exactly 500 lie strictly above it
    np.testing.assert_allclose(ones, 500 / 1001)


def test_centering_uses_the_mean_and_no_centering_the_origin():
    X = np.random.default_rng(3).uniform(1, 2, size=(200, 8))
    lsh = LSH(nbits=16, random_state=0).fit(X)
    np.testing.assert_allclose(lsh.thresholds_, X.mean(axis=0) @ lsh.projection_)
    plain = LSH(nbits=16, center=False, random_state=0).fit(X)
    np.testing.assert_array_equal(plain.thresholds_, 0)


@pytest.mark.parametrize("nbits", [5, 16, 100])
def test_rotation_is_orthonormal_also_beyond_dimension(nbits):
    X = np.random.default_rng(4).standard_normal((30, 16))
    P = LSH(nbits=nbits, rotate=True, random_state=0).fit(X).projection_
    assert P.shape == (16, nbits)
    gram = P.T @ P if nbits <= 16 else P @ P.T
    np.testing.assert_allclose(gram, np.eye(min(nbits, 16)), atol=1e-10)


def test_sparse_input_gives_the_dense_codes():
    X = sparse.random(60, 40, density=0.2, random_state=0, format="csr")
    for kwargs in ({}, {"train_thresholds": True}, {"rotate": True}):
        a = LSH(nbits=24, random_state=0, **kwargs).fit(X).transform(X)
        b = (
            LSH(nbits=24, random_state=0, **kwargs)
            .fit(X.toarray())
            .transform(X.toarray())
        )
        np.testing.assert_array_equal(a, b)


def test_float32_input_and_output_layout():
    X = np.random.default_rng(5).standard_normal((10, 6)).astype(np.float32)
    codes = LSH(nbits=13, random_state=0).fit_transform(X)
    assert (
        codes.dtype == np.uint8 and codes.shape == (10, 2) and codes.flags.c_contiguous
    )
    assert not (codes[:, 1] >> 5).any()  # padding bits 13..15 are zero
    names = LSH(nbits=13).fit(X).get_feature_names_out()
    np.testing.assert_array_equal(names, ["lsh0", "lsh1"])


@pytest.mark.parametrize(
    "X, kwargs, err, match",
    [
        (np.array([[1.0, np.nan]]), {}, ValueError, "NaN"),
        (np.array([[1.0, np.inf]]), {}, ValueError, "infinity"),
        (np.zeros((0, 3)), {}, ValueError, "0 sample"),
        (np.zeros((3, 2)), {"nbits": 0}, ValueError, "nbits"),
        (np.zeros((3, 2)), {"nbits": 2.5}, ValueError, "nbits"),
        (np.zeros((3, 2)), {"rotate": "yes"}, ValueError, "rotate"),
        (np.array([["a", "b"]]), {}, ValueError, "float"),
    ],
)
def test_bad_input_errors(X, kwargs, err, match):
    with pytest.raises(err, match=match):
        LSH(**kwargs).fit(X)


def test_transform_checks_width_and_fitted():
    from sklearn.exceptions import NotFittedError

    X = np.zeros((4, 5))
    with pytest.raises(NotFittedError):
        LSH().transform(X)
    with pytest.raises(ValueError, match="5 features"):
        LSH().fit(X).transform(np.zeros((4, 6)))
