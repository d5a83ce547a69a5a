"""NeuralProxyHash: Idelson's NPhash, a network trained to keep proxy neighbourhoods."""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.validation import check_is_fitted

from .._base import BaseHasher
from .._bits import pack_bits
from .._compat import Interval, StrOptions, _fit_context, get_chunk_n_rows
from .._linalg import itq_projection
from .._neighbors_exact import exact_kneighbors, l2_normalize_rows
from ..metrics import one_recall_at_r
from ..neighbors import HammingNeighbors
from ._layers import build_network
from ._loss import kl_proxy_loss, proxy_graph, proxy_targets, sample_proxies
from ._optim import Adam

# rotation updates of the ITQ initialisation (ITQ's default n_iter)
_ITQ_N_ITER = 50
# at most this many held-out rows serve as validation queries
_MAX_VALIDATION_QUERIES = 1000
# ... searched among at most this many training rows
_MAX_VALIDATION_DATABASE = 20000
# early_stopping="auto" holds out a validation set from this many samples on
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 1000
# a check (loss, validation score, stopping rules) every epoch, or this many
# steps when an epoch is longer
_MAX_STEPS_PER_CHECK = 100


def _l2_normalize(X):
    """Rows scaled to unit norm, float32; zero rows stay zero."""
    return l2_normalize_rows(np.asarray(X, dtype=np.float32))


def network_loss(network, Xq, Xp, neighbors, p, hamming_temperature, backward=True):
    """One training pass: queries and proxies through the net as one batch.

    Returns the mean KL(p || r) over the queries; with ``backward`` the
    network's ``grads`` hold its gradient, flowing through both the query and
    the proxy embeddings.
    """
    n_queries = Xq.shape[0]
    F = network.forward(np.concatenate([Xq, Xp]), training=True)
    loss, dFq, dFp = kl_proxy_loss(
        F[:n_queries], F[n_queries:], neighbors, p, hamming_temperature
    )
    if backward:
        network.backward(np.concatenate([dFq, dFp]))
    return loss


class NeuralProxyHash(BaseHasher):
    """Neural hashing trained to preserve neighbourhoods among random proxies (NPhash).

    A network maps each L2-normalised vector to ``nbits`` bits. For every
    mini-batch of queries, ``n_proxies`` training points serve as proxies;
    each query's ``n_neighbors`` nearest proxies by cosine similarity define
    a target distribution (softmax of the cosines), and the network is
    trained so that the softmax of the relaxed Hamming similarities over the
    same proxies matches it (KL divergence). By default the network is linear
    (one Dense layer, then BatchNorm and the relaxed sign), starts at the
    codes of :class:`ITQ`, and trains for a bounded number of steps, keeping
    the weights that score best on a held-out validation set. The network
    and its backpropagation are written in NumPy; matrix work goes to BLAS,
    so ``threadpoolctl`` controls the threads.

    Parameters
    ----------
    nbits : int, default=64
        Number of bits per code.
    hidden_layer_sizes : tuple of int, default=()
        Widths of the hidden Dense-BatchNorm-ReLU blocks. Empty (a linear
        map before the sign) by default; the paper's network is
        ``(1024, 1024)``. See Notes for the measurements.
    init : {"auto", "itq", "random"}, default="auto"
        Initial weights. "itq" sets the Dense layer to the projection of an
        :class:`ITQ` fitted on the (L2-normalised) training set, so training
        starts at ITQ's codes; it needs ``hidden_layer_sizes=()``. "random"
        draws every Dense layer U(-1/sqrt(n_in), 1/sqrt(n_in)) (the paper,
        PyTorch's default). "auto" is "itq" without hidden layers, else
        "random".
    beta : float, default=None
        Slope of the relaxed sign ``tanh(beta * z)`` applied to the
        L2-normalised embedding ``z``; None means ``sqrt(nbits)`` (the paper).
    n_proxies : int, default=20000
        Training points sampled as proxies at each step (the paper uses
        10,000); clipped to the number of training samples. When every
        training point is a proxy, each query's targets are computed once
        per fit instead of at every step.
    n_neighbors : int, default=100
        The k of the loss: it runs over each query's k nearest proxies by cosine;
        clipped to ``n_proxies - 1``.
    cosine_temperature : float, default=0.05
        Softmax temperature of the cosine similarities (target ``p``). The
        paper as written uses 1.
    hamming_temperature : float, default=None
        Softmax temperature of the relaxed Hamming similarity
        ``S_h = f(q).f(x) / (2 nbits) + 1/2`` (model ``r``); one flipped bit
        moves a logit by ``1 / (nbits * hamming_temperature)``. None means
        ``2 / nbits`` (a flipped bit moves a logit by 1/2); the paper as
        written uses 1.
    batch_size : int, default=512
        Queries per step; clipped to the number of training samples.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training set as queries);
        the paper trains for 2 epochs.
    max_steps : int or None, default=1000
        Maximum number of training steps (mini-batches) per call to ``fit``,
        whatever the training-set size; None for no step limit.
    max_time : float or None, default=None
        Time budget of the training loop, in seconds of wall-clock time per
        call to ``fit``: training stops after the first step that ends past
        it (and the best weights so far are kept). None for no limit.
    learning_rate_init : float, default=1e-3
        Adam's step size.
    alpha : float, default=0.0
        L2 penalty ``alpha / 2 * ||W||^2`` on the Dense weights.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training set, measure the
        1-recall@10 of up to 1,000 held-out points (as queries) against the
        codes of the remaining training points (at most 20,000 of them) at
        every check, stop when it has not improved by ``tol`` for
        ``n_iter_no_change`` checks, and keep the weights of the best check.
        A check happens at the end of each epoch, or every 100 steps when an
        epoch is longer. "auto" enables it from 1,000 training samples on.
    validation_fraction : float, default=0.1
        Fraction of the training set held out for early stopping.
    n_iter_no_change : int, default=5
        Checks without improvement before stopping: of the validation
        recall with early stopping, else of the training loss.
    tol : float, default=1e-4
        Improvement threshold: absolute for the validation recall, relative
        (a fraction of the best loss) for the training loss, whose scale
        depends on the temperatures by orders of magnitude.
    verbose : int, default=0
        1 prints one line per check (step, loss, validation recall, elapsed
        time) and the stopping reason; 2 also prints every 10 steps.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the ITQ initialisation, the validation split, the
        batch order and the proxies. Pass an int for reproducible codes.
    warm_start : bool, default=False
        Continue from the weights (and BatchNorm statistics) of the previous
        fit instead of initialising anew; the optimiser restarts, and the
        budgets (``max_iter``, ``max_steps``, ``max_time``) apply to each
        call.

    Attributes
    ----------
    network_ : Sequential
        The trained network (its arrays are plain NumPy float32 arrays).
    loss_curve_ : list of float
        Mean training loss since the previous check, at each check.
    validation_scores_ : list of float or None
        Validation 1-recall@10 at each check (preceded by that of the
        initial network with ``init="itq"``), with early stopping.
    best_validation_score_ : float or None
        Best validation 1-recall@10, with early stopping.
    best_loss_ : float or None
        Lowest check loss, without early stopping.
    n_iter_ : int
        Number of epochs begun (the last may be partial), summed over
        warm-started fits.
    stopping_reason_ : str
        Why the last fit stopped: "no_improvement" (``n_iter_no_change``),
        "max_steps", "max_time" or "max_iter".
    t_ : int
        Number of training steps (mini-batches) run, summed over
        warm-started fits.
    beta_ : float
        The tanh slope used.
    hamming_temperature_ : float
        The Hamming softmax temperature used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    ITQ : Iterative quantization, a linear learned hash.
    LSH : Random-hyperplane hashing.
    HammingNeighbors : Exact k-NN search over the codes.

    Notes
    -----
    Network: ``[Dense -> BatchNorm -> ReLU] * len(hidden_layer_sizes)``,
    then ``Dense(nbits) -> BatchNorm -> L2Normalize -> tanh(beta * .)``. The
    code of ``x`` is ``sign(BN(Dense(h(x))))`` with BatchNorm in eval mode
    (running statistics): everything after the last BatchNorm preserves sign.

    ``decision_function(X)`` is that ``BN(Dense(h(x)))`` of the L2-normalised
    input, in float32: before the L2 normalisation and the ``tanh`` of
    training, so not the relaxed code. Each column is standardised by the
    running statistics, then scaled and shifted by its learned ``gamma`` and
    ``beta``.

    Loss of a query :math:`q` over its k nearest proxies :math:`N_k(q)` by
    cosine :math:`S_c(q, x) = \\hat q \\cdot \\hat x` of the L2-normalised
    inputs, with :math:`f` the relaxed code:

    .. math::

        p_j \\propto e^{S_c(q, j) / \\tau_c}, \\quad
        r_j \\propto e^{S_h(q, j) / \\tau_h}, \\quad
        S_h(q, j) = \\frac{f(q) \\cdot f(j)}{2\\,\\text{nbits}} + \\frac12, \\quad
        L_q = \\sum_{j \\in N_k(q)} p_j \\log \\frac{p_j}{r_j}.

    Queries and proxies pass through the network as one batch (BatchNorm
    statistics over both) and the gradient flows through both embeddings.

    **Two regimes, chosen by the "auto" defaults.** With
    ``hidden_layer_sizes="auto"`` the network has two hidden layers of 1024
    when ``nbits >= n_features / 2`` and none otherwise, and the other "auto"
    parameters follow the network:

    ============================  ============================  =====================
    parameter                     no hidden layer (linear)      hidden layers (paper)
    ============================  ============================  =====================
    ``init``                      ``"itq"``                     ``"random"``
    ``cosine_temperature``        0.05                          1
    ``hamming_temperature``       ``2 / nbits``                 1
    ``max_iter`` (epochs)         200 (``max_steps`` binds)     2
    ``early_stopping``            on from 1,000 samples         off
    ============================  ============================  =====================

    ``max_steps=1000`` bounds both, so the training time no longer grows
    with the number of samples once an epoch exceeds 1,000 / 2 steps. The
    paper as written is ``hidden_layer_sizes=(1024, 1024), init="random",
    cosine_temperature=1, hamming_temperature=1, n_proxies=10000,
    max_iter=2, early_stopping=False, max_steps=None``.

    Why (1-recall@10, train on ``learn``, the 1,000 queries against
    ``base``; full tables in ``benchmarks/RESULTS.md``): on 384-d sentence
    embeddings (10,000 training vectors, issue 16) the paper's network and
    its 2 epochs (40 steps) gave 0.396 / 0.558 at 64 / 128 bits against
    ITQ's 0.628 / 0.815, and a linear network trained for 600 steps beat ITQ
    at 64 bits (0.662) but not at 128 (0.799); on ``debian-minilm`` at 128
    bits the temperature-1 loss moved a linear network started at ITQ's
    codes *away* from them (validation recall fell from 0.80 to 0.74 within
    600 steps), whereas the tempered loss (:math:`\\tau_c = 0.05`, one flipped
    bit = 1/2 logit) raised it and early stopping keeps the best check. On
    SIFT (128-d) the same linear, tempered recipe gave 0.624 at 128 bits
    (seed 0), below LSH, while the paper's network gives 0.681 (3 seeds),
    so the hidden layers are kept where the code is long relative to the
    input dimension; at 64 bits a linear temperature-1 network gave 0.459
    against 0.469 for the hidden layers (seed 0). The threshold
    ``n_features / 2`` rests on these three data sets (text, SIFT, MNIST);
    set ``hidden_layer_sizes`` explicitly to override it.

    Choices the paper leaves open for its network, each set by a
    measurement on ``sift-images`` (the reference runs are in the project
    notes, ours in ``benchmarks/RESULTS.md``):

    - Temperatures: the paper writes plain softmaxes, :math:`\\tau_c =
      \\tau_h = 1`. Both distributions are then nearly flat and
      the KL is about :math:`10^{-4}`; Adam is invariant to the loss scale,
      and the loss becomes a centred least-squares fit of :math:`S_h` to
      :math:`S_c` over the neighbours. With 10,000 proxies the reference
      reached 0.46-0.47 / 0.65-0.67 at 64 / 128 bits, as good as tempered
      settings (:math:`\\tau_c \approx 0.05`, :math:`\\tau_h \approx 2 /
      \\text{nbits}`), which are more robust to few proxies (2,000) but not
      better. Ours with 10,000 proxies, 3 seeds: 0.455 (64 bits), 0.656
      (128 bits); at 128
      bits ``hamming_temperature`` 0.5 or 2 changed nothing (0.644, 0.648
      vs 0.648, seed 0).
    - Gradient through the proxies: kept; detaching the proxy embeddings cost
      5-8 points at 64 bits in the reference runs.
    - ``n_proxies=20000`` (a deviation from the paper's 10,000): with the
      temperature-1 loss, 2,000 proxies were 4-8 points worse than 10,000
      (reference), and 20,000 (all of learn) beat 10,000 on every seed:
      mean 0.467 vs 0.455 at 64 bits, 0.687 vs 0.656 at 128 bits (seeds
      0-2), for about twice the cost per step. Denser proxies make each
      query's top k closer to its true neighbours.
    - 2 epochs: test recall peaked after 2 epochs of a 20,000 point
      training set in the reference runs; more epochs overfit.
    - ``beta=None`` (:math:`\\sqrt{\\text{nbits}}`): :math:`3\\sqrt{\\text{nbits}}`
      was worse (reference), :math:`\\sqrt{\\text{nbits}} / 2` equal (ours,
      0.649 vs 0.648).
    - Inputs are L2-normalised before the network (the cosine is defined on
      them; the first BatchNorm centres them, so no separate centring); a
      query is never its own proxy; Dense layers followed by
      BatchNorm have no bias (it cancels); ``alpha=0`` (the paper uses no
      weight decay, and at temperature 1 any fixed penalty would swamp a
      loss of order :math:`10^{-4}`).

    Memory per step is O((batch_size + n_proxies) * max(hidden_layer_sizes))
    plus a ``batch_size x n_proxies`` cosine block; when every training
    point is a proxy, the targets of all points (``n_samples x n_neighbors``)
    are kept for the fit. Nothing grows with the square of the training set.

    References
    ----------
    .. [1] A. Idelson, "Hamming Space Locality Preserving Neural Hashing for
       Similarity Search", GSI Technology, 2020.
    .. [2] D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization",
       ICLR 2015.
    .. [3] Y. Gong, S. Lazebnik, "Iterative quantization: A procrustean
       approach to learning binary codes", CVPR 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import NeuralProxyHash
    >>> X = np.random.RandomState(0).standard_normal((300, 16))
    >>> hasher = NeuralProxyHash(nbits=4, n_neighbors=10, batch_size=64,
    ...                          max_steps=30, random_state=0)
    >>> codes = hasher.fit_transform(X)
    >>> codes.shape, codes.dtype
    ((300, 1), dtype('uint8'))
    >>> hasher.hidden_layer_sizes_, hasher.t_, hasher.stopping_reason_
    ((), 30, 'max_steps')
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "hidden_layer_sizes": ["array-like", StrOptions({"auto"})],
        "init": [StrOptions({"auto", "itq", "random"})],
        "beta": [Interval(Real, 0, None, closed="neither"), None],
        "n_proxies": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "cosine_temperature": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "hamming_temperature": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        nbits=64,
        *,
        hidden_layer_sizes="auto",
        init="auto",
        beta=None,
        n_proxies=20000,
        n_neighbors=100,
        cosine_temperature="auto",
        hamming_temperature="auto",
        batch_size=512,
        max_iter="auto",
        max_steps=1000,
        max_time=None,
        learning_rate_init=1e-3,
        alpha=0.0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        verbose=0,
        random_state=None,
        warm_start=False,
    ):
        self.nbits = nbits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.init = init
        self.beta = beta
        self.n_proxies = n_proxies
        self.n_neighbors = n_neighbors
        self.cosine_temperature = cosine_temperature
        self.hamming_temperature = hamming_temperature
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.max_steps = max_steps
        self.max_time = max_time
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start

    def _resolve(self, n_samples, n_features):
        """The settings behind every "auto" parameter (see Notes).

        Without hidden layers ("linear" regime): ITQ initialisation, tempered
        softmaxes, early stopping from 1,000 samples, epochs bounded only by
        the step budget. With hidden layers: the paper's settings (random
        initialisation, temperature 1, 2 epochs, no early stopping).
        """
        hidden = self.hidden_layer_sizes
        # "auto": hidden layers when nbits >= n_features / 2
        if isinstance(hidden, str):
            hidden = (1024, 1024) if 2 * self.nbits >= n_features else ()
        else:
            hidden = self._check_hidden_layer_sizes()
        linear = not hidden
        if self.init == "itq" and not linear:
            raise ValueError(
                "init='itq' needs hidden_layer_sizes=() (it sets the weights of the "
                f"only Dense layer), got hidden_layer_sizes={self.hidden_layer_sizes!r}"
            )

        def auto(value, if_linear, if_deep):
            if isinstance(value, str) and value == "auto":
                return if_linear if linear else if_deep
            return value

        return {
            "hidden": hidden,
            "init": auto(self.init, "itq", "random"),
            "cosine_temperature": float(auto(self.cosine_temperature, 0.05, 1.0)),
            "hamming_temperature": float(
                auto(self.hamming_temperature, 2.0 / self.nbits, 1.0)
            ),
            "max_iter": auto(self.max_iter, 200, 2),
            "early_stopping": auto(
                self.early_stopping,
                n_samples >= _AUTO_EARLY_STOPPING_MIN_SAMPLES,
                False,
            ),
        }

    def _check_hidden_layer_sizes(self):
        sizes = np.ravel(np.asarray(self.hidden_layer_sizes, dtype=object))
        if not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive ints, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return tuple(int(s) for s in sizes)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors (at least 2).
        y : None
            Ignored.

        Returns
        -------
        self : NeuralProxyHash
            Fitted hasher.
        """
        warm = self.warm_start and hasattr(self, "network_")
        previous_n_features = getattr(self, "n_features_in_", None)
        X = self._validate_input(X, reset=True)
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(
                f"NeuralProxyHash needs at least 2 samples (queries and proxies), "
                f"got n_samples = {n_samples}"
            )
        settings = self._resolve(n_samples, n_features)
        hidden = settings["hidden"]
        rng = check_random_state(self.random_state)
        beta = float(np.sqrt(self.nbits)) if self.beta is None else float(self.beta)
        Xn = _l2_normalize(X)
        train_idx, validation = self._validation_split(
            X, Xn, settings["early_stopping"], rng
        )
        Xtrain = Xn[train_idx]

        if warm:
            if (previous_n_features, self._fitted_architecture) != (
                n_features,
                (hidden, self.nbits),
            ):
                raise ValueError(
                    "warm_start=True needs the same n_features, hidden_layer_sizes "
                    "and nbits as the previous fit: got "
                    f"{(n_features, hidden, self.nbits)}, "
                    f"fitted {(previous_n_features, *self._fitted_architecture)}"
                )
            self.network_.layers[-1].beta = beta
        else:
            self.network_ = build_network(
                n_features, hidden, self.nbits, beta, dtype=np.float32, random_state=rng
            )
            if settings["init"] == "itq":
                self._init_from_itq(Xtrain, rng)
            self.loss_curve_ = []
            self.t_ = 0
            self.n_iter_ = 0
        self._fitted_architecture = (hidden, self.nbits)
        self.beta_ = beta
        self.hidden_layer_sizes_ = hidden
        self.cosine_temperature_ = settings["cosine_temperature"]
        self.hamming_temperature_ = settings["hamming_temperature"]
        self.do_early_stopping_ = validation is not None
        self.validation_scores_ = None if validation is None else []
        self.best_validation_score_ = None if validation is None else -np.inf
        self.best_loss_ = None if validation is not None else np.inf
        evaluate_start = settings["init"] == "itq" and not warm
        self._train(Xtrain, validation, rng, settings["max_iter"], evaluate_start)
        return self

    def _init_from_itq(self, Xn, rng):
        """Start at ITQ's codes: the Dense weights are ITQ's projection.

        The BatchNorm after it only centres and rescales each bit, so the
        initial codes are ITQ's codes of the L2-normalised training data; its
        running statistics are set to those of the training projections so
        that eval mode (validation, transform) agrees from step 0.
        """
        dense, batchnorm = self.network_.layers[0], self.network_.layers[1]
        # exactly ITQ(nbits, random_state=rng).fit(Xn).projection_
        _, components, rotation, _ = itq_projection(Xn, self.nbits, _ITQ_N_ITER, rng)
        dense.W[...] = components @ rotation
        Z = Xn @ dense.W
        batchnorm.running_mean[...] = Z.mean(axis=0)
        batchnorm.running_var[...] = Z.var(axis=0, ddof=1)

    def _validation_split(self, X, Xn, early_stopping, rng):
        """Training rows, and the validation set if early stopping.

        The validation set is (queries, database, true nearest neighbour). The
        validation database is the training rows, or a random subset of
        ``_MAX_VALIDATION_DATABASE`` of them, so a check costs the same at any
        training-set size.
        """
        n_samples = X.shape[0]
        if not early_stopping:
            return np.arange(n_samples), None
        order = rng.permutation(n_samples)
        n_val = round(self.validation_fraction * n_samples)
        if n_val < 1 or n_samples - n_val < 2:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"leaves {n_val} validation and {n_samples - n_val} training samples "
                f"out of n_samples = {n_samples}; need at least 1 and 2"
            )
        train_idx = np.sort(order[n_val:])
        val_idx = order[:n_val][:_MAX_VALIDATION_QUERIES]
        # positions (in train_idx) of the validation database
        db_pos = np.arange(train_idx.size)
        if db_pos.size > _MAX_VALIDATION_DATABASE:
            db_pos = np.sort(
                rng.choice(db_pos.size, _MAX_VALIDATION_DATABASE, replace=False)
            )
        # exact Euclidean nearest database point of each validation query
        _, true_nn = exact_kneighbors(X[val_idx], X[train_idx[db_pos]], 1)
        return train_idx, (Xn[val_idx], db_pos, true_nn)

    def _train(self, X, validation, rng, max_iter, evaluate_start):
        n_samples = X.shape[0]
        batch_size = min(self.batch_size, n_samples)
        n_proxies = min(self.n_proxies, n_samples)
        n_neighbors = min(self.n_neighbors, n_proxies - 1)
        steps_per_epoch = -(-n_samples // batch_size)
        check_every = min(steps_per_epoch, _MAX_STEPS_PER_CHECK)
        max_steps = np.inf if self.max_steps is None else self.max_steps
        max_time = np.inf if self.max_time is None else self.max_time
        # every point is a proxy: each query's targets are fixed, compute them once
        graph = None
        if n_proxies == n_samples:
            graph = proxy_graph(X, n_neighbors, self.cosine_temperature_)
        network = self.network_
        params = network.params
        optimizer = Adam(
            params,
            self.learning_rate_init,
            weight_decay=self.alpha,
            decay_mask=[p.ndim == 2 for p in params],
        )
        self._start = time.perf_counter()
        self._best_state = None
        self._no_improvement = 0
        if evaluate_start and validation is not None:
            self._check(None, X, validation, step=0)
        self.stopping_reason_ = "max_iter"
        steps = 0
        period_loss, period_size = 0.0, 0
        for _ in range(max_iter):
            self.n_iter_ += 1
            order = rng.permutation(n_samples)
            batches = list(gen_batches(n_samples, batch_size))
            for i, batch in enumerate(batches):
                query_idx = order[batch]
                if graph is None:
                    proxy_idx = sample_proxies(n_samples, n_proxies, rng)
                    Xp = X[proxy_idx]
                    neighbors, p = proxy_targets(
                        X[query_idx],
                        Xp,
                        n_neighbors,
                        self.cosine_temperature_,
                        query_idx,
                        proxy_idx,
                    )
                else:
                    Xp, neighbors, p = X, graph[0][query_idx], graph[1][query_idx]
                loss = network_loss(
                    network, X[query_idx], Xp, neighbors, p, self.hamming_temperature_
                )
                optimizer.step(network.grads)
                steps += 1
                self.t_ += 1
                period_loss += loss * query_idx.size
                period_size += query_idx.size
                if self.verbose >= 2 and steps % 10 == 0:
                    print(
                        f"  step {steps}, loss = {loss:.6g}, "
                        f"elapsed = {time.perf_counter() - self._start:.1f} s"
                    )
                out_of_budget = self._out_of_budget(steps, max_steps, max_time)
                if steps % check_every and i + 1 < len(batches) and not out_of_budget:
                    continue
                stop = self._check(period_loss / period_size, X, validation, steps)
                period_loss, period_size = 0.0, 0
                if stop or out_of_budget:
                    self.stopping_reason_ = "no_improvement" if stop else out_of_budget
                    break
            else:
                continue
            break
        if self.verbose:
            print(
                f"Stopped ({self.stopping_reason_}) after {steps} steps, "
                f"{time.perf_counter() - self._start:.1f} s"
            )
        network.release()
        if self._best_state is not None:
            self._set_network_state(self._best_state)
        del self._best_state, self._no_improvement, self._start

    def _out_of_budget(self, steps, max_steps, max_time):
        """'max_steps' or 'max_time' when that budget is spent, else ''."""
        if steps >= max_steps:
            return "max_steps"
        if time.perf_counter() - self._start >= max_time:
            return "max_time"
        return ""

    def _check(self, loss, X, validation, step):
        """Record a check (loss and validation score); True when training should stop.

        ``loss`` is the mean training loss since the previous check, None for
        the check of the initial network (before any step).
        """
        message = f"Step {step}"
        improved = False
        if loss is not None:
            self.loss_curve_.append(loss)
            message += f", loss = {loss:.6g}"
        if validation is not None:
            score = self._validation_recall(X, validation)
            self.validation_scores_.append(score)
            message += f", validation 1-recall@10 = {score:.4f}"
            improved = score > self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self._network_state()
        elif loss is not None:
            improved = loss < self.best_loss_ - self.tol * abs(self.best_loss_)
            self.best_loss_ = min(self.best_loss_, loss)
        if self.verbose:
            print(f"{message}, elapsed = {time.perf_counter() - self._start:.1f} s")
        if loss is None:
            return False
        self._no_improvement = 0 if improved else self._no_improvement + 1
        if self._no_improvement >= self.n_iter_no_change:
            if self.verbose:
                what = "Validation score" if validation is not None else "Training loss"
                print(
                    f"{what} did not improve more than tol={self.tol} for "
                    f"{self.n_iter_no_change} consecutive checks. Stopping."
                )
            return True
        return False

    def _network_state(self):
        """Copies of every array the codes depend on (weights and BN statistics)."""
        arrays = []
        for layer in self.network_.layers:
            arrays += [p.copy() for p in layer.params]
            if hasattr(layer, "running_mean"):
                arrays += [layer.running_mean.copy(), layer.running_var.copy()]
        return arrays

    def _set_network_state(self, arrays):
        it = iter(arrays)
        for layer in self.network_.layers:
            targets = list(layer.params)
            if hasattr(layer, "running_mean"):
                targets += [layer.running_mean, layer.running_var]
            for target in targets:
                target[...] = next(it)

    def _encode_normalized(self, Xn):
        """Pre-sign embedding BN(Dense(h)) in eval mode, block by block."""
        network = self.network_
        n_layers = len(network.layers) - 2
        out = np.empty((Xn.shape[0], self.nbits), dtype=np.float32)
        # float32 activations of the widest layer, twice (input and output)
        widest = max(
            [Xn.shape[1]]
            + [param.shape[-1] for layer in network.layers for param in layer.params]
        )
        rows = get_chunk_n_rows(row_bytes=8 * widest, max_n_rows=max(Xn.shape[0], 1))
        for sl in gen_batches(Xn.shape[0], rows):
            out[sl] = network.forward(Xn[sl], training=False, n_layers=n_layers)
        return out

    def _validation_recall(self, Xtrain, validation):
        queries, db_pos, true_nn = validation
        db = self._encode_normalized(Xtrain[db_pos]) > 0
        q = self._encode_normalized(queries) > 0
        r = min(10, db_pos.size)
        index = HammingNeighbors(n_neighbors=r).fit(pack_bits(db))
        retrieved = index.kneighbors(pack_bits(q), return_distance=False)
        return one_recall_at_r(true_nn, retrieved, r)

    def _project(self, X):
        check_is_fitted(self)
        return self._encode_normalized(_l2_normalize(X))
