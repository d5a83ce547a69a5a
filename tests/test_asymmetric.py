"""Tests of AsymmetricLinV (Lin:V and Lin:Lin asymmetric hashing)."""

import itertools
import re

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline

from sklearn_hash import AsymmetricLinV, HammingNeighbors, pack_bits, unpack_bits
from sklearn_hash._asymmetric._graphs import _knn_graph, _radius_graph
from sklearn_hash._asymmetric._objective import (
    _block_gain,
    _database_bit_update,
    _flip_gain_table,
    _hamming_words,
    _pair_loss,
    _Relation,
    _unique_codes,
)
from sklearn_hash._compat import InvalidParameterError
from sklearn_hash.metrics import hamming_mean_average_precision
from sklearn_hash.metrics._base import _hamming_distances

FAST = {"n_epochs": 1, "max_iter": 2, "block_size": 60}


def _blobs(n_samples=150, n_features=6, seed=0):
    X, labels = make_blobs(
        n_samples=n_samples,
        n_features=n_features,
        centers=5,
        cluster_std=1.0,
        random_state=seed,
    )
    return X, labels


def _pm1(codes, nbits):
    return unpack_bits(codes, nbits).astype(np.float64) * 2 - 1


# --------------------------------------------------------------- the maths


@pytest.mark.parametrize("seed", range(4))
def test_database_bit_update_is_optimal_by_brute_force(seed):
    """v = sign(M^T l) minimises the block loss of one bit over all 2^n choices."""
    rng = np.random.RandomState(seed)
    n_queries, n_database, n_other = 5, 8, 3
    beta, exponent = rng.uniform(0.2, 0.9), rng.choice([0.5, 1.0])
    theta = int(rng.choice(np.arange(-n_other - 2, n_other + 3, 2)))
    U = np.sign(rng.randn(n_queries, n_other)).astype(np.float32)
    V = np.sign(rng.randn(n_database, n_other)).astype(np.float32)
    S = rng.rand(n_queries, n_database) < 0.3
    query_bits = np.sign(rng.randn(n_queries)).astype(np.float32)
    tables = _flip_gain_table(n_other, theta, beta, exponent)
    gain = _block_gain(
        _unique_codes(U),
        np.arange(n_queries),
        _unique_codes(V),
        None,
        sparse.csr_matrix(S),
        tables,
    )
    v, objective = _database_bit_update(gain, query_bits)

    labels = np.where(S, 1.0, -1.0)
    scores_other = U.astype(np.float64) @ V.T

    def block_loss(v_candidate):
        scores = scores_other + np.outer(query_bits, v_candidate)
        return _pair_loss(labels, scores, theta, beta, exponent).sum()

    losses = [
        block_loss(np.array(c))
        for c in itertools.product([-1.0, 1.0], repeat=n_database)
    ]
    assert block_loss(v) == pytest.approx(min(losses), rel=1e-5, abs=1e-6)
    # the objective is the maximised sum_ij M_ij l_i v_j
    assert objective == pytest.approx(float(query_bits @ gain.toarray() @ v), rel=1e-5)


@pytest.mark.parametrize("by_class", [False, True])
def test_gain_matrix_matches_dense_definition(by_class):
    """M from a sparse relation (table + correction) or from classes (keys with
    the class), against the loss differences computed pair by pair."""
    rng = np.random.RandomState(0)
    U = np.sign(rng.randn(40, 5)).astype(np.float32)
    V = np.sign(rng.randn(30, 5)).astype(np.float32)
    if by_class:
        u_classes, v_classes = rng.randint(3, size=40), rng.randint(3, size=30)
        S = sparse.csr_matrix(u_classes[:, None] == v_classes[None, :])
        u_book, v_book = _unique_codes(U, u_classes), _unique_codes(V, v_classes)
    else:
        S = sparse.random(40, 30, density=0.2, format="csr", random_state=1)
        S = S.astype(bool)
        u_book, v_book = _unique_codes(U), _unique_codes(V)
    tables = _flip_gain_table(5, 3, 0.7, 0.5)
    rows, cols = rng.choice(40, 12, replace=False), rng.choice(30, 9, replace=False)
    block = None if by_class else S[rows][:, cols]
    gain = _block_gain(u_book, rows, v_book, cols, block, tables)
    assert (gain.correction is None) == by_class
    scores = U[rows].astype(np.float64) @ V[cols].T
    labels = np.where(S[rows][:, cols].toarray(), 1.0, -1.0)
    assert np.unique(labels).tolist() == [-1.0, 1.0]
    dense = _pair_loss(labels, scores - 1, 3, 0.7, 0.5) - _pair_loss(
        labels, scores + 1, 3, 0.7, 0.5
    )
    np.testing.assert_allclose(gain.toarray(), dense, rtol=1e-5, atol=1e-7)
    right, left = (
        np.sign(rng.randn(9)).astype(np.float32),
        np.sign(rng.randn(12)).astype(np.float32),
    )
    np.testing.assert_allclose(gain @ right, dense @ right, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(left @ gain, left @ dense, rtol=1e-4, atol=1e-6)


def test_relation_by_class_labels_pairs_like_the_dense_relation():
    classes = np.array([1, 0, 1, 2, 0, 1, 3])
    dense = classes[:, None] == classes[None, :]
    by_class = _Relation(classes=classes)
    by_graph = _Relation(graph=sparse.csr_matrix(dense))
    rows, cols = np.divmod(np.arange(49), 7)
    expected = np.where(dense[rows, cols], 1, -1)
    np.testing.assert_array_equal(by_class.pair_labels(rows, cols), expected)
    np.testing.assert_array_equal(by_graph.pair_labels(rows, cols), expected)
    assert by_class.block(rows[:3]) is None
    keys, inverse = by_class.codebook(np.ones((7, 4), dtype=np.float32))
    # equal codes, one key per class, the class in the last word
    assert len(keys) == 4
    np.testing.assert_array_equal(keys[inverse, -1], classes)


@pytest.mark.parametrize("n_bits", [0, 1, 31, 63, 64, 65, 130, 300])
def test_packed_code_distances_match_the_inner_products(n_bits):
    """u . v = n_bits - 2 d_H(u, v) on the packed words, over word boundaries."""
    rng = np.random.RandomState(n_bits)
    U = np.sign(rng.randn(7, n_bits)).astype(np.float32)
    V = np.sign(rng.randn(9, n_bits)).astype(np.float32)
    U[3], V[5] = U[0], U[0]  # repeated codes
    V[6] = -U[1]  # distance n_bits (past 255 at 300 bits)
    u_keys, u_inverse = _unique_codes(U)
    v_keys, v_inverse = _unique_codes(V)
    distances = _hamming_words(u_keys, v_keys)[u_inverse][:, v_inverse]
    np.testing.assert_array_equal(n_bits - 2 * distances.astype(int), U @ V.T)
    assert len(u_keys) == len(np.unique(U, axis=0))


def _exact_loss(hasher, X, positives):
    """Mean loss over all training pairs, from the fitted codes and theta_."""
    U = _pm1(hasher.transform(X), hasher.nbits)
    V = _pm1(hasher.database_codes_, hasher.nbits)
    labels = np.where(positives.toarray(), 1.0, -1.0)
    return _pair_loss(
        labels, U @ V.T, hasher.theta_, hasher.beta, hasher.loss_exponent
    ).mean()


@pytest.mark.parametrize("database", ["free", "linear"])
def test_sampled_objective_never_increases_across_accepted_updates(database):
    X, _ = _blobs()
    hasher = AsymmetricLinV(
        nbits=6,
        database=database,
        n_neighbors=10,
        accept_tol=0.0,
        random_state=0,
        **FAST,
    ).fit(X)
    curve = np.array(hasher.loss_curve_)
    assert len(curve) == 1 + hasher.n_iter_ * hasher.nbits
    assert np.all(np.diff(curve) <= 0)
    assert curve[-1] < curve[0]
    # all pairs are used on this small set: the kept loss is the exact loss
    Xn = (X - hasher.mean_) / hasher.scale_
    positives, _ = _radius_graph(Xn.astype(np.float32), 10)
    assert _exact_loss(hasher, X, positives) == pytest.approx(curve[-1], rel=1e-4)


def test_default_acceptance_slack_bounds_increases():
    X, _ = _blobs()
    hasher = AsymmetricLinV(nbits=6, n_neighbors=10, random_state=0, **FAST).fit(X)
    assert np.all(np.diff(hasher.loss_curve_) < hasher.accept_tol)


@pytest.mark.parametrize("database", ["free", "linear"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_deterministic_under_random_state(database, solver):
    X, _ = _blobs()
    params = dict(nbits=4, database=database, solver=solver, n_neighbors=10, **FAST)
    a = AsymmetricLinV(random_state=3, **params)
    b = AsymmetricLinV(random_state=3, **params)
    np.testing.assert_array_equal(a.fit_transform(X), b.fit_transform(X))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    c = AsymmetricLinV(random_state=4, **dict(params, max_iter=1)).fit(X)
    assert not np.array_equal(a.query_projection_, c.query_projection_)


def test_learned_codes_rank_neighbours_well_on_blobs():
    """On well-separated blobs the codes rank true neighbours high; the loss falls."""
    X, _ = _blobs(n_samples=200)
    hasher = AsymmetricLinV(nbits=8, n_neighbors=15, random_state=0, **FAST)
    database = hasher.fit_transform(X)
    Xn = ((X - hasher.mean_) / hasher.scale_).astype(np.float32)
    positives, _ = _radius_graph(Xn, 15)
    dist = _hamming_distances(hasher.transform(X), database)
    assert hamming_mean_average_precision(positives, dist) > 0.5
    assert hasher.loss_curve_[-1] < hasher.loss_curve_[0]


# ------------------------------------------------------------- neighbours


def test_radius_graph_is_exact():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4).astype(np.float32)
    graph, radius = _radius_graph(X, 12)
    d = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    off_diagonal = np.sort(d[np.isfinite(d)])
    assert radius == pytest.approx(off_diagonal[12 * 300 - 1], rel=1e-4)
    expected = (d <= radius) | np.eye(300, dtype=bool)
    assert (graph.toarray() != expected).sum() <= 2  # float32 rounding at the boundary
    assert graph.nnz == pytest.approx(300 * 13, abs=2)


def test_knn_graph_matches_sklearn():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5).astype(np.float32)
    graph, kth = _knn_graph(X, 7)
    dist, ind = NearestNeighbors(n_neighbors=8).fit(X).kneighbors(X)
    expected = np.zeros((200, 200), dtype=bool)
    expected[np.repeat(np.arange(200), 8), ind.ravel()] = True
    np.testing.assert_array_equal(graph.toarray(), expected)
    np.testing.assert_allclose(kth, dist[:, -1], rtol=1e-4)


def test_knn_graph_breaks_distance_ties_by_index():
    # points on a line at integer positions: ties everywhere at equal distances
    X = np.arange(12, dtype=np.float32)[:, None]
    graph, kth = _knn_graph(X, 3)
    # point 5: distances 1 (4, 6), 2 (3, 7): the tie at 2 goes to index 3
    assert sorted(graph[5].indices) == [3, 4, 5, 6]
    assert sorted(graph[0].indices) == [0, 1, 2, 3]
    np.testing.assert_array_equal(kth[[0, 5]], [3.0, 2.0])


def test_user_given_similarity_is_used():
    X, labels = _blobs()
    same_class = sparse.csr_matrix(labels[:, None] == labels[None, :])
    hasher = AsymmetricLinV(nbits=6, random_state=0, **FAST)
    database = hasher.fit_transform(X, similarity=same_class)
    assert hasher.radius_ is None
    dist = _hamming_distances(hasher.transform(X), database)
    assert hamming_mean_average_precision(same_class, dist) > 0.8
    with pytest.raises(ValueError, match="similarity must have shape"):
        hasher.fit(X, similarity=same_class[:10])
    with pytest.raises(ValueError, match="pass the similarity"):
        hasher.encode_database(X[:3])
    codes = hasher.encode_database(X[:3], similarity=same_class[:3])
    assert codes.shape == (3, 1)


# ------------------------------------------------------------ new items


def test_encode_database_linear_is_the_database_map():
    X, _ = _blobs()
    hasher = AsymmetricLinV(
        nbits=6, database="linear", n_neighbors=10, random_state=0, **FAST
    )
    database = hasher.fit_transform(X)
    np.testing.assert_array_equal(hasher.encode_database(X), database)
    expected = pack_bits(
        X @ hasher.database_projection_ + hasher.database_intercept_ > 0
    )
    np.testing.assert_array_equal(hasher.encode_database(X[:7]), expected[:7])


def _item_loss(hasher, U, v, labels):
    return _pair_loss(
        labels, U @ v, hasher.theta_, hasher.beta, hasher.loss_exponent
    ).sum()


def test_encode_database_free_is_coordinatewise_optimal():
    """No single bit flip lowers a new item's loss against the training queries."""
    X, _ = _blobs(n_samples=170)
    train, new = X[:150], X[150:]
    hasher = AsymmetricLinV(nbits=6, n_neighbors=10, random_state=0, **FAST).fit(train)
    codes = _pm1(hasher.encode_database(new), 6)
    U = _pm1(hasher.transform(train), 6)
    Xn_new = (new - hasher.mean_) / hasher.scale_
    Xn_train = (train - hasher.mean_) / hasher.scale_
    d = np.sqrt(((Xn_new[:, None] - Xn_train[None]) ** 2).sum(-1))
    for v, dist in zip(codes, d):
        labels = np.where(dist <= hasher.radius_, 1.0, -1.0)
        base = _item_loss(hasher, U, v, labels)
        for k in range(6):
            flipped = v.copy()
            flipped[k] *= -1
            assert base <= _item_loss(hasher, U, flipped, labels) + 1e-9


def test_encode_database_free_vs_refit():
    """Encoding held-out items is about as good as re-fitting with them.

    Model A is fitted on all points; model B on all but 30, which it then
    encodes. Ranked by the training queries, the 30 items get about the same
    per-query AP from B's encoding as from A's learned codes, and better than
    from B's query map used symmetrically.
    """
    X, _ = _blobs(n_samples=230, seed=1)
    held = np.arange(200, 230)
    params = dict(nbits=8, n_neighbors=12, random_state=0, **FAST)
    refit = AsymmetricLinV(**params).fit(X)
    partial = AsymmetricLinV(**params).fit(X[:200])
    Xn = ((X - partial.mean_) / partial.scale_).astype(np.float32)
    queries = X[:200]
    d = np.sqrt(((Xn[:200, None] - Xn[None, held]) ** 2).sum(-1))
    relevant = d <= partial.radius_

    def held_out_ap(hasher, item_codes):
        dist = _hamming_distances(hasher.transform(queries), item_codes)
        return hamming_mean_average_precision(relevant, dist)

    ap_refit = held_out_ap(refit, refit.database_codes_[held])
    ap_encoded = held_out_ap(partial, partial.encode_database(X[held]))
    ap_symmetric = held_out_ap(partial, partial.transform(X[held]))
    assert ap_encoded >= ap_refit - 0.1
    assert ap_encoded >= ap_symmetric - 0.02


def test_encode_database_knn_rule():
    X, _ = _blobs()
    hasher = AsymmetricLinV(
        nbits=5, neighbors="knn", n_neighbors=8, random_state=0, **FAST
    )
    hasher.fit(X)
    assert hasher.radius_ is None
    assert hasher.encode_database(X[:4]).shape == (4, 1)


# ------------------------------------------------------------ contract


def test_fit_transform_differs_from_transform_and_pipeline_searches_database():
    X, _ = _blobs()
    hasher = AsymmetricLinV(nbits=8, n_neighbors=10, random_state=0, **FAST)
    database = hasher.fit_transform(X)
    np.testing.assert_array_equal(database, hasher.database_codes_)
    assert database.dtype == np.uint8 and database.shape == (150, 1)
    pipe = make_pipeline(
        AsymmetricLinV(nbits=8, n_neighbors=10, random_state=0, **FAST),
        HammingNeighbors(n_neighbors=3),
    ).fit(X)
    nn = HammingNeighbors(n_neighbors=3).fit(database)
    np.testing.assert_array_equal(
        pipe.predict(X[:10]),
        nn.kneighbors(hasher.transform(X[:10]), return_distance=False),
    )


def test_float32_and_nbits_not_multiple_of_8():
    X, _ = _blobs()
    hasher = AsymmetricLinV(nbits=11, n_neighbors=10, random_state=0, **FAST)
    codes = hasher.fit_transform(X.astype(np.float32))
    assert codes.shape == (150, 2)
    assert hasher.query_projection_.dtype == np.float32
    assert not (unpack_bits(codes, 16)[:, 11:]).any()


def test_bad_input():
    X, _ = _blobs()
    with pytest.raises(InvalidParameterError, match="nbits"):
        AsymmetricLinV(nbits=0).fit(X)
    with pytest.raises(InvalidParameterError, match="database"):
        AsymmetricLinV(database="symmetric").fit(X)
    with pytest.raises(InvalidParameterError, match="beta"):
        AsymmetricLinV(beta=1.5).fit(X)
    with pytest.raises(InvalidParameterError, match="loss_exponent"):
        AsymmetricLinV(loss_exponent=0).fit(X)
    with pytest.raises(InvalidParameterError, match="solver"):
        AsymmetricLinV(solver="adam").fit(X)
    with pytest.raises(InvalidParameterError, match="database_block_size"):
        AsymmetricLinV(database_block_size=0).fit(X)
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        AsymmetricLinV(n_jobs=1.5).fit(X)
    with pytest.raises(ValueError, match="at least 2 samples"):
        AsymmetricLinV().fit(X[:1])
    with pytest.raises(ValueError, match="NaN"):
        AsymmetricLinV().fit(np.full((5, 2), np.nan))
    with pytest.raises(TypeError, match="[Ss]parse"):
        AsymmetricLinV().fit(sparse.csr_matrix(X))
    with pytest.raises(NotFittedError):
        AsymmetricLinV().encode_database(X)
    hasher = AsymmetricLinV(nbits=4, n_neighbors=5, random_state=0, **FAST).fit(X)
    with pytest.raises(ValueError, match="features"):
        hasher.encode_database(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        hasher.transform(X[:, :3])
    with pytest.raises(ValueError, match="similarity must have shape"):
        hasher.encode_database(X[:2], similarity=sparse.eye(3))
    linear = AsymmetricLinV(
        nbits=4, database="linear", n_neighbors=5, random_state=0, **FAST
    )
    with pytest.raises(ValueError, match="only used by database='free'"):
        linear.fit(X).encode_database(X[:2], similarity=sparse.eye(2, 150))
    with pytest.warns(UserWarning, match="n_neighbors=500"):
        AsymmetricLinV(nbits=4, n_neighbors=500, random_state=0, **FAST).fit(X)


# ------------------------------------------------------ speed and labels


def _fitted_state(hasher):
    return (
        hasher.database_codes_,
        hasher.query_projection_,
        hasher.query_intercept_,
        hasher.theta_,
        hasher.loss_curve_,
    )


def _assert_same_fit(a, b):
    for left, right in zip(_fitted_state(a), _fitted_state(b)):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("size", [150, 10**9])
def test_full_column_sampling_is_the_reference_path(size):
    X, _ = _blobs()
    params = dict(nbits=6, n_neighbors=10, random_state=0, **FAST)
    reference = AsymmetricLinV(database_block_size=None, **params).fit(X)
    full = AsymmetricLinV(database_block_size=size, **params).fit(X)
    _assert_same_fit(reference, full)


def test_sampled_columns_learn_and_set_every_database_bit():
    X, _ = _blobs(n_samples=200)
    params = dict(nbits=8, n_neighbors=15, random_state=0, **FAST)
    sampled = AsymmetricLinV(database_block_size=40, **params)
    database = sampled.fit_transform(X)
    reference = AsymmetricLinV(database_block_size=None, **params).fit(X)
    assert not np.array_equal(database, reference.database_codes_)
    # the learned database codes are not the initial (symmetric) codes
    assert not np.array_equal(database, sampled.transform(X))
    assert sampled.loss_curve_[-1] < sampled.loss_curve_[0]
    Xn = ((X - sampled.mean_) / sampled.scale_).astype(np.float32)
    positives, _ = _radius_graph(Xn, 15)
    dist = _hamming_distances(sampled.transform(X), database)
    assert hamming_mean_average_precision(positives, dist) > 0.5


@pytest.mark.parametrize(
    "database, database_block_size", [("free", None), ("free", 50), ("linear", None)]
)
def test_codes_do_not_depend_on_n_jobs(database, database_block_size):
    X, _ = _blobs()
    params = dict(
        nbits=10,
        database=database,
        database_block_size=database_block_size,
        n_neighbors=10,
        random_state=0,
        **FAST,
    )
    one = AsymmetricLinV(n_jobs=1, **params).fit(X)
    two = AsymmetricLinV(n_jobs=2, **params).fit(X)
    _assert_same_fit(one, two)


def _assert_close_fit(a, b):
    """Same fit up to float32 rounding: M by class and M as a table plus a
    sparse correction are the same values summed in another order."""
    np.testing.assert_array_equal(a.database_codes_, b.database_codes_)
    assert a.theta_ == b.theta_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)
    for left, right in zip(_fitted_state(a)[1:3], _fitted_state(b)[1:3]):
        np.testing.assert_allclose(left, right, rtol=1e-4, atol=1e-5)


def test_fit_with_labels_equals_fit_with_the_same_label_similarity():
    X, labels = _blobs()
    same_label = sparse.csr_matrix(labels[:, None] == labels[None, :])
    params = dict(nbits=6, random_state=0, **FAST)
    by_labels = AsymmetricLinV(**params).fit(X, labels)
    by_similarity = AsymmetricLinV(**params).fit(X, similarity=same_label)
    _assert_close_fit(by_labels, by_similarity)
    assert by_labels.radius_ is None
    np.testing.assert_array_equal(
        AsymmetricLinV(**params).fit_transform(X, labels), by_labels.database_codes_
    )
    # any label values: only equality matters
    renamed = AsymmetricLinV(**params).fit(X, np.array(list("vwxyz"))[labels])
    _assert_same_fit(renamed, by_labels)
    # similarity wins over y
    other = AsymmetricLinV(**params).fit(X, labels[::-1], similarity=same_label)
    _assert_same_fit(other, by_similarity)
    with pytest.raises(ValueError, match="fitted with labels"):
        by_labels.encode_database(X[:2])


@pytest.mark.parametrize("shape", [(150,), (150, 3)])
def test_all_unlabelled_y_is_ignored(shape):
    """y = -1 everywhere (query_database_split's database rows): unsupervised."""
    X, _ = _blobs()
    params = dict(nbits=6, n_neighbors=10, random_state=0, **FAST)
    unlabelled = AsymmetricLinV(**params).fit(X, np.full(shape, -1))
    _assert_same_fit(unlabelled, AsymmetricLinV(**params).fit(X))
    assert unlabelled.radius_ is not None


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros((150, 2), dtype=int), "y must be a 1-D array"),
        (np.arange(10) % 2, "y has 10 labels but X has 150 samples"),
        (np.linspace(0, 1, 150), "y must hold class labels"),
    ],
)
def test_bad_labels(y, message):
    X, _ = _blobs()
    with pytest.raises(ValueError, match=re.escape(message)):
        AsymmetricLinV(nbits=4, random_state=0, **FAST).fit(X, y)


_SWEEP_LINE = re.compile(
    r"Sweep (\d+), loss = \d+\.\d{6}, theta = -?\d+, accepted \d+/6, "
    r"\d+\.\d\d s, time left \d+\.\d s \((\d+) sweeps unless the loss improves\)"
)
_BIT_LINE = re.compile(
    r"Sweep (\d+), bit (\d) \((\d)/6\): loss = \d+\.\d{6}, theta = -?\d+, "
    r"(accepted|rejected), \d+ iterations, \d+\.\d\d s, "
    r"sweep time left \d+\.\d s"
)


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_progress_lines(verbose, capsys):
    X, _ = _blobs()
    hasher = AsymmetricLinV(
        nbits=6, n_neighbors=10, verbose=verbose, random_state=0, **FAST
    ).fit(X)
    lines = capsys.readouterr().out.splitlines()
    sweeps = [m for m in map(_SWEEP_LINE.fullmatch, lines) if m]
    bits = [m for m in map(_BIT_LINE.fullmatch, lines) if m]
    assert len(sweeps) + len(bits) == len(lines)
    assert [int(m[1]) for m in sweeps] == list(range(1, hasher.n_iter_ + 1))
    assert sweeps[-1][2] == "0"  # the last sweep knows it is the last
    if verbose == 1:
        assert bits == []
        return
    assert len(bits) == hasher.n_iter_ * 6
    for sweep in range(1, hasher.n_iter_ + 1):
        of_sweep = [m for m in bits if int(m[1]) == sweep]
        assert [int(m[3]) for m in of_sweep] == list(range(1, 7))
        assert sorted(int(m[2]) for m in of_sweep) == list(range(6))


def _hinge_sgd_reference(X, y, weights, coef, batches, step=2.0):
    """The reference's hingeW in NumPy (float64): per minibatch, the margins
    with the hyperplane before the minibatch, then the summed update."""
    coef = coef.astype(np.float64, copy=True)
    n_epochs, _, batch_size = batches.shape
    for epoch in range(n_epochs):
        step *= 1.0 - epoch / n_epochs
        for batch in batches[epoch]:
            signed = X[batch] * y[batch, None]
            active = signed @ coef < 1
            coef += (step / batch_size * weights[batch] * active) @ signed
    return coef


@pytest.mark.parametrize("n_features", [1, 7, 16, 129])
def test_compiled_hinge_sgd_matches_the_reference(n_features):
    from sklearn_hash._asymmetric._sgd import weighted_hinge_sgd

    rng = np.random.RandomState(n_features)
    X = rng.randn(300, n_features).astype(np.float32)
    y = np.sign(X @ rng.randn(n_features) + 0.3 * rng.randn(300)).astype(np.float32)
    weights = rng.exponential(size=300).astype(np.float32)
    coef = (0.1 * rng.randn(n_features)).astype(np.float32)
    # repeated rows within a minibatch count twice, as in the reference
    batches = rng.randint(300, size=(3, 20, 50)).astype(np.int64)
    expected = _hinge_sgd_reference(X, y, weights, coef, batches)
    got = coef.copy()
    weighted_hinge_sgd(X, y, weights, got, batches, 2.0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert not np.allclose(got, coef)  # it moved
