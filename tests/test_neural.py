"""Tests of NeuralProxyHash and its NumPy network (sklearn_hash/_neural/)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from sklearn_hash import ITQ, HammingNeighbors, NeuralProxyHash
from sklearn_hash._bits import unpack_bits
from sklearn_hash._neural._layers import (
    BatchNorm,
    Dense,
    L2Normalize,
    ReLU,
    ScaledTanh,
    build_network,
)
from sklearn_hash._neural._loss import (
    kl_proxy_loss,
    proxy_graph,
    proxy_targets,
    sample_proxies,
)
from sklearn_hash._neural._nphash import _l2_normalize, network_loss
from sklearn_hash._neural._optim import Adam
from sklearn_hash.metrics import one_recall_at_r
from sklearn_hash.model_selection import query_database_split

# small and fast: the common checks fit dozens of times
FAST = {
    "hidden_layer_sizes": (8,),
    "n_proxies": 20,
    "n_neighbors": 5,
    "batch_size": 16,
    "max_iter": 2,
    "early_stopping": False,
}


def _numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() w.r.t. array x (modified in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _layer_cases():
    rng = np.random.RandomState(0)
    return [
        ("dense", lambda: Dense(5, 4, dtype=np.float64, random_state=rng)),
        (
            "dense_nobias",
            lambda: Dense(5, 4, bias=False, dtype=np.float64, random_state=rng),
        ),
        ("batchnorm", lambda: _perturbed_bn(5, rng)),
        ("relu", ReLU),
        ("l2normalize", L2Normalize),
        ("scaledtanh", lambda: ScaledTanh(1.7)),
    ]


def _perturbed_bn(n, rng):
    bn = BatchNorm(n, dtype=np.float64)
    bn.gamma[:] = rng.uniform(0.5, 1.5, n)
    bn.beta[:] = rng.standard_normal(n)
    return bn


@pytest.mark.parametrize(
    "name, make", _layer_cases(), ids=[c[0] for c in _layer_cases()]
)
def test_layer_gradients(name, make):
    rng = np.random.RandomState(1)
    layer = make()
    X = rng.standard_normal((7, 5))
    if name == "relu":
        X[np.abs(X) < 1e-3] = 0.5  # keep away from the kink
    out_shape = layer.forward(X.copy(), training=True).shape
    R = rng.standard_normal(out_shape)

    def objective():
        return float(np.sum(layer.forward(X.copy(), training=True) * R))

    layer.forward(X.copy(), training=True)
    dX = layer.backward(R.copy())
    analytic_params = [g.copy() for g in layer.grads]
    np.testing.assert_allclose(dX, _numeric_grad(objective, X), rtol=1e-6, atol=1e-8)
    for p, g in zip(layer.params, analytic_params):
        np.testing.assert_allclose(g, _numeric_grad(objective, p), rtol=1e-6, atol=1e-8)


def test_backward_without_input_grad_fills_param_grads():
    rng = np.random.RandomState(0)
    layer = Dense(3, 2, dtype=np.float64, random_state=rng)
    X, R = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(X, training=True)
    assert layer.backward(R, need_input_grad=False) is None
    np.testing.assert_allclose(layer.grads[0], X.T @ R)
    np.testing.assert_allclose(layer.grads[1], R.sum(axis=0))


def test_batchnorm_eval_uses_running_statistics():
    rng = np.random.RandomState(0)
    bn = _perturbed_bn(3, rng)
    X = rng.standard_normal((50, 3)) * [1, 2, 3] + [4, 5, 6]
    for _ in range(3):
        bn.forward(X.copy(), training=True)
    # running mean after 3 updates of momentum 0.1 from zero
    np.testing.assert_allclose(bn.running_mean, (1 - 0.9**3) * X.mean(axis=0))
    unbiased = X.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_var, 0.9**3 + (1 - 0.9**3) * unbiased)
    out = bn.forward(X[:5], training=False)
    expected = (X[:5] - bn.running_mean) / np.sqrt(
        bn.running_var + bn.eps
    ) * bn.gamma + bn.beta
    np.testing.assert_allclose(out, expected)
    # eval output of a row does not depend on the rest of the batch
    np.testing.assert_allclose(bn.forward(X[:1], training=False), out[:1])


def _tiny_problem(seed=0, n_queries=6, n_proxies=12, k=4):
    rng = np.random.RandomState(seed)
    X = _l2_normalize(rng.standard_normal((20, 5))).astype(np.float64)
    query_idx = np.arange(n_queries)
    proxy_idx = np.arange(4, 4 + n_proxies)  # overlaps the queries
    return X, query_idx, proxy_idx, k


def test_proxy_targets_brute_force_and_self_exclusion():
    X, qi, pi, k = _tiny_problem()
    neighbors, p = proxy_targets(X[qi], X[pi], k, 0.3, qi, pi)
    for row in range(qi.size):
        cos = X[qi[row]] @ X[pi].T
        cos[pi == qi[row]] = -np.inf
        expected = np.argsort(-cos)[:k]
        assert set(neighbors[row]) == set(expected)
        assert qi[row] not in pi[neighbors[row]]
        logits = cos[neighbors[row]] / 0.3
        np.testing.assert_allclose(p[row], np.exp(logits) / np.exp(logits).sum())


def test_proxy_graph_matches_per_row_targets():
    X, _, _, k = _tiny_problem()
    neighbors, p = proxy_graph(X, k, 0.3, block_size=7)
    everyone = np.arange(X.shape[0])
    for row in range(X.shape[0]):
        expected_nb, expected_p = proxy_targets(
            X[row : row + 1], X, k, 0.3, everyone[row : row + 1], everyone
        )
        order, expected_order = np.argsort(neighbors[row]), np.argsort(expected_nb[0])
        np.testing.assert_array_equal(
            neighbors[row][order], expected_nb[0][expected_order]
        )
        np.testing.assert_allclose(p[row][order], expected_p[0][expected_order])
        assert row not in neighbors[row]


def test_sample_proxies():
    rng = np.random.RandomState(0)
    idx = sample_proxies(100, 30, rng)
    assert idx.size == 30 and np.unique(idx).size == 30 and idx.max() < 100
    np.testing.assert_array_equal(sample_proxies(10, 30, rng), np.arange(10))


def test_kl_loss_value_and_gradient():
    rng = np.random.RandomState(0)
    Fq, Fp = np.tanh(rng.standard_normal((3, 8))), np.tanh(rng.standard_normal((9, 8)))
    neighbors = np.array([[0, 3, 5], [1, 2, 8], [4, 5, 6]])
    p = rng.dirichlet(np.ones(3), size=3)
    loss, dFq, dFp = kl_proxy_loss(Fq, Fp, neighbors, p, 0.7)

    def reference():
        total = 0.0
        for i in range(3):
            s = (Fq[i] @ Fp[neighbors[i]].T) / (2 * 8) + 0.5
            r = np.exp(s / 0.7) / np.exp(s / 0.7).sum()
            total += np.sum(p[i] * np.log(p[i] / r))
        return total / 3

    assert loss == pytest.approx(reference(), rel=1e-12)
    np.testing.assert_allclose(dFq, _numeric_grad(reference, Fq), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(dFp, _numeric_grad(reference, Fp), rtol=1e-6, atol=1e-10)
    assert np.all(dFp[7] == 0)  # proxy 7 is nobody's neighbour


@pytest.mark.parametrize("temperatures", [(1.0, 1.0), (0.05, 0.1)])
def test_full_loss_gradient_every_parameter(temperatures):
    tau_c, tau_h = temperatures
    X, qi, pi, k = _tiny_problem()
    rng = np.random.RandomState(3)
    net = build_network(5, (7, 6), 4, 2.0, dtype=np.float64, random_state=rng)
    for layer in net.layers:  # non-trivial BN affine parameters
        if isinstance(layer, BatchNorm):
            layer.gamma[:] = rng.uniform(0.5, 1.5, layer.gamma.size)
            layer.beta[:] = 0.1 * rng.standard_normal(layer.beta.size)
    Xq, Xp = X[qi], X[pi]
    neighbors, p = proxy_targets(Xq, Xp, k, tau_c, qi, pi)

    def objective():
        return network_loss(net, Xq, Xp, neighbors, p, tau_h, backward=False)

    network_loss(net, Xq, Xp, neighbors, p, tau_h)
    analytic = [g.copy() for g in net.grads]
    assert len(analytic) == 3 * 3  # W, gamma, beta of three blocks
    for param, grad in zip(net.params, analytic):
        numeric = _numeric_grad(objective, param)
        scale = np.abs(numeric).max()
        assert scale > 0
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 * scale)


def test_adam_matches_reference_formula():
    p = np.array([1.0, -2.0])
    opt = Adam([p], learning_rate=0.1)
    m = v = np.zeros(2)
    expected = p.copy()
    for t, g in enumerate([np.array([0.5, -1.0]), np.array([0.2, 0.3])], start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        expected -= 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        opt.step([g])
        np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_adam_weight_decay_only_on_masked():
    a, b = np.ones(2), np.ones(2)
    Adam([a, b], 0.1, weight_decay=1.0, decay_mask=[True, False]).step(
        [np.zeros(2)] * 2
    )
    assert np.all(a < 1) and np.all(b == 1)


def _blobs(n=200, d=8, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.standard_normal((5, d)) * 3
    return (centers[rng.randint(5, size=n)] + rng.standard_normal((n, d))).astype(
        np.float32
    )


def test_codes_and_float32_network():
    X = _blobs()
    hasher = NeuralProxyHash(nbits=13, **FAST, random_state=0).fit(X)
    codes = hasher.transform(X)
    assert codes.shape == (200, 2) and codes.dtype == np.uint8
    assert all(p.dtype == np.float32 for p in hasher.network_.params)
    # the code is the sign of the pre-tanh embedding in eval mode
    bits = unpack_bits(codes, 13)
    np.testing.assert_array_equal(bits, hasher._project(X) > 0)
    np.testing.assert_array_equal(codes, hasher.transform(X.astype(np.float64)))
    assert hasher.beta_ == pytest.approx(np.sqrt(13))
    assert hasher.n_iter_ == 2 and len(hasher.loss_curve_) == 2
    assert hasher.t_ == 2 * 13  # ceil(200 / 16) steps per epoch


def test_deterministic_under_random_state():
    X = _blobs()
    a = NeuralProxyHash(nbits=16, **FAST, random_state=0).fit_transform(X)
    b = NeuralProxyHash(nbits=16, **FAST, random_state=0).fit_transform(X)
    c = NeuralProxyHash(nbits=16, **FAST, random_state=1).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pickle_keeps_codes():
    X = _blobs()
    hasher = NeuralProxyHash(nbits=16, **FAST, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(hasher.transform(X), restored.transform(X))


def test_warm_start_continues():
    X = _blobs()
    hasher = NeuralProxyHash(nbits=16, **FAST, random_state=0, warm_start=True).fit(X)
    W = hasher.network_.params[0].copy()
    hasher.fit(X)
    assert hasher.n_iter_ == 4 and len(hasher.loss_curve_) == 4
    assert not np.array_equal(W, hasher.network_.params[0])
    cold = clone(hasher).set_params(warm_start=False, max_iter=4).fit(X)
    assert cold.n_iter_ == 4
    with pytest.raises(ValueError, match="warm_start"):
        hasher.set_params(nbits=8).fit(X)


def test_early_stopping_and_verbose(capsys):
    X = _blobs(300)
    hasher = NeuralProxyHash(
        nbits=16,
        **{**FAST, "max_iter": 20, "early_stopping": True},
        n_iter_no_change=2,
        tol=0.5,
        verbose=1,
        random_state=0,
    ).fit(X)
    # tol=0.5 cannot be beaten: stops after 1 + n_iter_no_change checks (epochs)
    assert hasher.n_iter_ == 3 and hasher.stopping_reason_ == "no_improvement"
    assert hasher.t_ == 3 * 17  # 270 training rows, batches of 16
    assert len(hasher.validation_scores_) == 3 == len(hasher.loss_curve_)
    assert hasher.best_validation_score_ == max(hasher.validation_scores_)
    out = capsys.readouterr().out
    assert "Step 17, loss = " in out and "validation 1-recall@10" in out
    assert "elapsed" in out and "Stopping" in out and "Stopped (no_improvement)" in out


def test_loss_plateau_stops_without_early_stopping():
    X = _blobs()
    hasher = NeuralProxyHash(
        nbits=16,
        **{**FAST, "max_iter": 50},
        n_iter_no_change=1,
        tol=10.0,
        random_state=0,
    ).fit(X)
    assert hasher.n_iter_ == 1 and hasher.best_loss_ == hasher.loss_curve_[0]
    assert hasher.stopping_reason_ == "no_improvement"


def test_step_budget_stops_mid_epoch():
    X = _blobs()  # 13 steps per epoch
    hasher = NeuralProxyHash(nbits=16, **{**FAST, "max_iter": 50}, max_steps=20)
    hasher.set_params(n_iter_no_change=100, random_state=0).fit(X)
    assert hasher.t_ == 20 and hasher.n_iter_ == 2
    assert hasher.stopping_reason_ == "max_steps"
    # a check at the end of epoch 1 and one when the budget ran out
    assert len(hasher.loss_curve_) == 2
    hasher = NeuralProxyHash(nbits=16, **FAST, random_state=0).fit(X)
    assert hasher.t_ == 26 and hasher.stopping_reason_ == "max_iter"


def test_checks_every_100_steps_within_long_epochs():
    X = _blobs(250)
    hasher = NeuralProxyHash(nbits=8, **{**FAST, "batch_size": 2, "max_iter": 1})
    hasher.set_params(n_iter_no_change=100, random_state=0).fit(X)
    assert hasher.t_ == 125 and len(hasher.loss_curve_) == 2  # steps 100 and 125


def test_time_budget():
    X = _blobs()
    hasher = NeuralProxyHash(nbits=16, **{**FAST, "max_iter": 50}, max_time=1e-9)
    hasher.set_params(random_state=0).fit(X)
    assert hasher.t_ == 1 and hasher.stopping_reason_ == "max_time"


def test_itq_init_starts_at_itq_codes():
    X = _blobs(300, d=12)
    Xn = _l2_normalize(X)
    hasher = NeuralProxyHash(nbits=8, hidden_layer_sizes=(), random_state=0)
    # what fit does before training, with the same random stream
    rng = np.random.RandomState(0)
    hasher.network_ = build_network(12, (), 8, 1.0, dtype=np.float32, random_state=rng)
    hasher.n_features_in_ = 12
    hasher._init_from_itq(Xn, rng)
    itq = ITQ(nbits=8, random_state=np.random.RandomState(0))
    build_network(12, (), 8, 1.0, dtype=np.float32, random_state=itq.random_state)
    itq_bits = unpack_bits(itq.fit(Xn).transform(Xn), 8)
    ours = hasher._project(X) > 0
    assert np.mean(ours == itq_bits) > 0.999


def test_itq_init_is_the_default_without_hidden_layers():
    X = _blobs(300, d=12)
    params = {**FAST, "hidden_layer_sizes": (), "early_stopping": True}
    hasher = NeuralProxyHash(nbits=8, **params, random_state=0).fit(X)
    # the initial network is checked before any step
    assert len(hasher.validation_scores_) == len(hasher.loss_curve_) + 1
    random_init = NeuralProxyHash(nbits=8, **params, init="random", random_state=0).fit(
        X
    )
    assert len(random_init.validation_scores_) == len(random_init.loss_curve_)
    with pytest.raises(ValueError, match="init='itq' needs hidden_layer_sizes"):
        NeuralProxyHash(nbits=8, **FAST, init="itq").fit(X)


@pytest.mark.parametrize("n_features, deep", [(40, False), (16, True), (8, True)])
def test_auto_settings_follow_the_network(n_features, deep):
    # hidden layers when nbits >= n_features / 2, with the paper's settings
    X = _blobs(1000, d=n_features)
    hasher = NeuralProxyHash(nbits=8, max_steps=2, random_state=0)
    if deep:
        hasher.set_params(batch_size=500, n_proxies=50, max_steps=10).fit(X)
        assert hasher.hidden_layer_sizes_ == (1024, 1024)
        assert (hasher.cosine_temperature_, hasher.hamming_temperature_) == (1.0, 1.0)
        assert not hasher.do_early_stopping_ and hasher.stopping_reason_ == "max_iter"
        assert hasher.n_iter_ == 2 and hasher.t_ == 4
        assert hasher.network_.layers[0].W.shape == (n_features, 1024)
    else:
        hasher.fit(X)
        assert hasher.hidden_layer_sizes_ == ()
        assert hasher.cosine_temperature_ == 0.05
        assert hasher.hamming_temperature_ == pytest.approx(2 / 8)
        assert hasher.do_early_stopping_ and hasher.stopping_reason_ == "max_steps"
        # 900 training rows: the initial (ITQ) network is checked, then the budget
        assert len(hasher.validation_scores_) == 2
    # explicit values win over "auto"
    hasher.set_params(
        hidden_layer_sizes=(), cosine_temperature=0.3, early_stopping=False
    )
    hasher.set_params(max_iter=1).fit(X)
    assert hasher.cosine_temperature_ == 0.3 and not hasher.do_early_stopping_


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": ("a",)}, "hidden_layer_sizes"),
        ({"n_proxies": 1}, "n_proxies"),
        ({"beta": -1.0}, "beta"),
        ({"cosine_temperature": 0.0}, "cosine_temperature"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"init": "pca"}, "init"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_time": 0.0}, "max_time"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        NeuralProxyHash(**{**FAST, **params}).fit(_blobs(40))


def test_bad_input():
    with pytest.raises(ValueError, match="n_samples = 1"):
        NeuralProxyHash(**FAST).fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN|infinity"):
        NeuralProxyHash(**FAST).fit(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="validation"):
        NeuralProxyHash(**{**FAST, "early_stopping": True}).fit(_blobs(4))
    hasher = NeuralProxyHash(**FAST).fit(_blobs(40))
    with pytest.raises(ValueError, match="features"):
        hasher.transform(np.ones((2, 3)))


def test_tiny_sets_clip_proxies_batch_and_k():
    X = _blobs(5)
    hasher = NeuralProxyHash(nbits=8, hidden_layer_sizes=(4,), random_state=0).fit(X)
    assert hasher.transform(X).shape == (5, 1)


def test_gridsearch_over_beta_and_n_proxies():
    rng = np.random.RandomState(0)
    X = _blobs(260, seed=1)
    database, queries = X[:220], X[220:]
    d = ((queries[:, None, :] - database[None, :, :]) ** 2).sum(-1)
    gt = np.argsort(d, axis=1, kind="stable")[:, :10]
    Xall, y, cv = query_database_split(database, queries, gt)
    pipe = make_pipeline(
        NeuralProxyHash(nbits=16, **FAST, random_state=rng.randint(100)),
        HammingNeighbors(n_neighbors=10),
    )
    search = GridSearchCV(
        pipe,
        {"neuralproxyhash__beta": [1.0, 4.0], "neuralproxyhash__n_proxies": [20, 60]},
        cv=cv,
        refit=False,
    ).fit(Xall, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (4,) and np.all((0 <= scores) & (scores <= 1))
    assert set(search.best_params_) == {
        "neuralproxyhash__beta",
        "neuralproxyhash__n_proxies",
    }


def _real_sample(shared_data):
    """(train, database, queries) of real SIFT data.

    sift-images from ../shared/data when present (learn, 20,000 base rows,
    the 1,000 queries), else the embedded sift-skimage set (10,000 base rows
    to train, the other 20,070 as database, its 500 queries).
    """
    try:
        data = shared_data("sift-images")
        return data["learn"], data["base"][:20000], data["query"]
    except pytest.skip.Exception:
        from sklearn_hash.datasets import load_sift_skimage

        data = load_sift_skimage()
        return data.base[:10000], data.base[10000:], data.query


def test_real_sample_loss_decreases_and_beats_itq(shared_data, capsys):
    train, database, queries = _real_sample(shared_data)
    sq_dist = (database**2).sum(1)[None, :] - 2 * queries @ database.T
    true_nn = sq_dist.argmin(axis=1)[:, None]

    def recall(hasher):
        # one BLAS thread: small matrices, and a shared machine's cores
        with threadpool_limits(limits=1):
            hasher.fit(train)
            codes, query_codes = hasher.transform(database), hasher.transform(queries)
        index = HammingNeighbors(n_neighbors=10).fit(codes)
        return one_recall_at_r(true_nn, index.kneighbors(query_codes)[1])

    # a small, fast configuration: one epoch, one hidden layer, 2,000 proxies,
    # tempered softmaxes (robust to few proxies; see the estimator's Notes)
    nphash = NeuralProxyHash(
        nbits=64,
        hidden_layer_sizes=(256,),
        n_proxies=2000,
        n_neighbors=50,
        cosine_temperature=0.05,
        hamming_temperature=2 / 64,
        batch_size=256,
        max_iter=1,
        verbose=2,
        random_state=0,
    )
    ours = recall(nphash)
    itq = recall(ITQ(nbits=64, random_state=0))
    # verbose=2 printed the loss every 10 steps: it fell during the epoch
    step_losses = [
        float(line.split("loss = ")[1].split(",")[0])
        for line in capsys.readouterr().out.splitlines()
        if line.strip().startswith("step")
    ]
    assert len(step_losses) >= 5
    assert np.mean(step_losses[-2:]) < 0.8 * np.mean(step_losses[:2]), step_losses
    assert ours > itq, (ours, itq)


def test_defaults_beat_itq_on_text_embeddings(shared_data):
    """Defaults (linear, ITQ start, early stopping) on 3,000 MiniLM embeddings.

    Measured (1-recall@10, 500 queries, 10,000 database rows): seeds 0 / 1 / 2
    gave 0.590 / 0.586 / 0.570 against ITQ's 0.576 / 0.564 / 0.546.
    """
    data = shared_data("debian-minilm")
    train, database, queries = (
        data["learn"][:3000],
        data["base"][:10000],
        data["query"][:500],
    )
    sq_dist = (database**2).sum(1)[None, :] - 2 * queries @ database.T
    true_nn = sq_dist.argmin(axis=1)[:, None]

    def recall(hasher):
        with threadpool_limits(limits=1):
            hasher.fit(train)
            codes, query_codes = hasher.transform(database), hasher.transform(queries)
        index = HammingNeighbors(n_neighbors=10).fit(codes)
        return one_recall_at_r(true_nn, index.kneighbors(query_codes)[1])

    ours, itq = [], []
    for seed in (0, 1):
        hasher = NeuralProxyHash(nbits=64, random_state=seed)
        ours.append(recall(hasher))
        assert hasher.hidden_layer_sizes_ == () and hasher.do_early_stopping_
        assert hasher.stopping_reason_ == "no_improvement" and hasher.t_ < 1000
        itq.append(recall(ITQ(nbits=64, random_state=seed)))
    assert np.mean(ours) > np.mean(itq) + 0.005, (ours, itq)
