"""SpectralHashing: the authors' trainSH/compressSH, checked by hand."""

import pickle

import numpy as np
import pytest
from scipy import sparse

from sklearn_hash import LSH, HammingNeighbors, SpectralHashing, unpack_bits
from sklearn_hash._compat import InvalidParameterError
from sklearn_hash.metrics import one_recall_at_r

SIDES = np.array([4.0, 2.5, 1.0])
# Hand-computed for a box of sides 4, 2.5, 1 and nbits=5. Eigenfunction k of
# side L has eigenvalue rank (k pi / L)^2, i.e. frequency k / L:
#   side 4  : 0.25, 0.50, 0.75, 1.00, 1.25   (m = ceil(6 * 4 / 4) = 6 -> k = 1..5)
#   side 2.5: 0.40, 0.80, 1.20               (m = ceil(6 * 2.5 / 4) = 4 -> k = 1..3)
#   side 1  : 1.00                           (m = ceil(6 * 1 / 4) = 2 -> k = 1)
# The 5 smallest: 0.25 (dir 0, k 1), 0.40 (1, 1), 0.50 (0, 2), 0.75 (0, 3), 0.80 (1, 2).
EXPECTED_MODES = np.array([[1, 0, 0], [0, 1, 0], [2, 0, 0], [3, 0, 0], [0, 2, 0]])


def _grid_box(counts=(40, 26, 10)):
    """A regular grid filling [0, 4] x [0, 2.5] x [0, 1]: uniform, exactly.

    Its covariance is diagonal, so the principal directions are the axes. With
    an even number of points per side, no grid point falls on a zero of
    cos(k pi u) for k <= 3 (u = i / (n - 1) with n - 1 odd).
    """
    axes = [np.linspace(0.0, side, n) for side, n in zip(SIDES, counts)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def test_selected_modes_match_the_hand_computed_example():
    X = _grid_box()
    sh = SpectralHashing(nbits=5).fit(X)
    assert sh.n_components_ == 3
    np.testing.assert_allclose(np.abs(sh.components_), np.eye(3), atol=1e-12)
    np.testing.assert_array_equal(sh.modes_, EXPECTED_MODES)
    freq = np.array([0.25, 0.40, 0.50, 0.75, 0.80])
    np.testing.assert_allclose(sh.eigenvalues_, (np.pi * freq) ** 2, rtol=1e-12)


def test_codes_are_the_signs_of_the_box_eigenfunctions():
    X = _grid_box()
    bits = unpack_bits(SpectralHashing(nbits=5).fit_transform(X), 5)
    # by hand: bit (direction j, frequency k) = [cos(k pi x_j / side_j) > 0]
    u = X / SIDES
    expected = np.stack(
        [
            np.cos(k * np.pi * u[:, j]) > 0
            for j, k in [(0, 1), (1, 1), (0, 2), (0, 3), (1, 2)]
        ],
        axis=1,
    )
    np.testing.assert_array_equal(bits, expected)


def test_same_modes_on_random_uniform_data_and_bits_are_balanced():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(4000, 3)) * SIDES + [10.0, -3.0, 7.0]
    sh = SpectralHashing(nbits=5).fit(X)
    np.testing.assert_array_equal(sh.modes_, EXPECTED_MODES)
    # cos(k pi u) > 0 on exactly half of [0, 1] for every k
    ones = unpack_bits(sh.transform(X), 5).mean(axis=0)
    np.testing.assert_allclose(ones, 0.5, atol=0.03)


def test_bits_are_balanced_in_a_higher_dimensional_box():
    rng = np.random.default_rng(1)
    # Sides far enough apart that PCA finds the box's axes (to ~0.01 rad)
    # from the sample: a tilted direction sees a trapezoid, not a uniform
    # density, and its high-frequency bits are then unbalanced by a few %.
    X = rng.uniform(size=(20000, 6)) * 0.5 ** np.arange(6)
    sh = SpectralHashing(nbits=24).fit(X)
    ones = unpack_bits(sh.transform(X), 24).mean(axis=0)
    np.testing.assert_allclose(ones, 0.5, atol=0.025)
    # short codes take low frequencies on the longest sides first
    assert sh.modes_[0].tolist() == [1] + [0] * 5
    assert np.all(np.diff(sh.eigenvalues_) >= 0)


def test_codes_are_deterministic_and_row_order_invariant():
    X = np.random.default_rng(2).standard_normal((300, 10)) * np.linspace(3, 1, 10)
    a = SpectralHashing(nbits=20).fit(X)
    b = SpectralHashing(nbits=20).fit(X)
    perm = np.random.default_rng(3).permutation(len(X))
    c = SpectralHashing(nbits=20).fit(X[perm])
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    np.testing.assert_array_equal(a.transform(X), a.transform(X))
    unpickled = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(unpickled.transform(X), a.transform(X))


def test_long_codes_use_higher_frequencies_on_the_same_directions():
    X = np.random.default_rng(4).standard_normal((500, 6)) * [5, 4, 3, 2, 1, 0.5]
    sh = SpectralHashing(nbits=40).fit(X)
    assert sh.n_components_ == 6
    assert np.all((sh.modes_ > 0).sum(axis=1) == 1)
    # more bits than directions: some direction carries several frequencies
    assert sh.modes_.max() > 1
    # no (direction, frequency) pair is selected twice
    assert len({tuple(row) for row in sh.modes_}) == 40


def test_n_components_limits_the_directions():
    X = np.random.default_rng(5).standard_normal((200, 6)) * [5, 4, 3, 2, 1, 0.5]
    sh = SpectralHashing(nbits=12, n_components=2).fit(X)
    assert sh.components_.shape == (6, 2) and sh.modes_.shape == (12, 2)
    assert SpectralHashing(nbits=3).fit(X).n_components_ == 3
    with pytest.raises(ValueError, match="n_components=7 must be at most n_features=6"):
        SpectralHashing(n_components=7).fit(X)


@pytest.mark.parametrize("fmt", [sparse.csr_matrix, sparse.csc_matrix])
def test_sparse_input_gives_the_dense_codes(fmt):
    X = np.random.default_rng(6).standard_normal((200, 12))
    X[np.abs(X) < 0.8] = 0.0
    dense = SpectralHashing(nbits=20).fit(X)
    sp = SpectralHashing(nbits=20).fit(fmt(X))
    np.testing.assert_array_equal(dense.modes_, sp.modes_)
    np.testing.assert_array_equal(dense.transform(X), sp.transform(fmt(X)))


def test_float32_and_float64_agree():
    X = np.random.default_rng(7).standard_normal((300, 16))
    sh = SpectralHashing(nbits=32).fit(X)
    bits32 = unpack_bits(sh.transform(X.astype(np.float32)), 32)
    diff = bits32 != unpack_bits(sh.transform(X), 32)
    assert diff.mean() < 1e-3


def test_degenerate_training_sets_raise():
    with pytest.raises(ValueError, match="n_samples=1"):
        SpectralHashing().fit(np.ones((1, 4)))
    with pytest.raises(ValueError, match="two distinct points"):
        SpectralHashing().fit(np.full((5, 4), 3.0))
    # a constant feature is fine: its direction gets no eigenfunction
    X = np.random.default_rng(8).standard_normal((50, 3))
    X[:, 2] = 1.0
    sh = SpectralHashing(nbits=6).fit(X)
    np.testing.assert_array_equal(sh.modes_[:, 2], 0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"nbits": 0}, "nbits"),
        ({"n_components": 0}, "n_components"),
        ({"n_components": 1.5}, "n_components"),
    ],
)
def test_bad_parameters_raise(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        SpectralHashing(**params).fit(np.random.default_rng(9).standard_normal((20, 4)))


def test_bad_input_raises():
    X = np.random.default_rng(10).standard_normal((20, 4))
    with pytest.raises(ValueError, match="infinity"):
        SpectralHashing().fit(np.where(X > 1, np.inf, X))
    with pytest.raises(ValueError, match="4 features"):
        SpectralHashing(nbits=8).fit(X).transform(X[:, :2])


def _recall_at_10(hasher, data):
    hasher.fit(data["base"])
    nn = HammingNeighbors(n_neighbors=10).fit(hasher.transform(data["base"]))
    retrieved = nn.predict(hasher.transform(data["query"]))
    return one_recall_at_r(data["gt_l2_100"], retrieved)


def _lsh_recall_at_10(nbits, data):
    hashers = [
        LSH(nbits=nbits, rotate=True, train_thresholds=True, random_state=s)
        for s in range(3)
    ]
    return np.mean([_recall_at_10(hasher, data) for hasher in hashers])


@pytest.mark.data
def test_spectral_hashing_beats_lsh_at_short_codes_and_loses_at_long_ones(shared_data):
    # the known behaviour of SH (Weiss et al. 2008; Gong & Lazebnik 2011, Fig. 3)
    mnist, sift = shared_data("mnist10k"), shared_data("sift-ngt5k")
    sh_32 = _recall_at_10(SpectralHashing(nbits=32), mnist)
    assert sh_32 > _lsh_recall_at_10(32, mnist) + 0.1
    sh_128 = _recall_at_10(SpectralHashing(nbits=128), sift)
    assert sh_128 < _lsh_recall_at_10(128, sift) - 0.1
