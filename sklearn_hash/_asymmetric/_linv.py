"""Asymmetric binary hashing: Lin:V and Lin:Lin (Neyshabur et al., NIPS 2013)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._base import N_JOBS_CONSTRAINT, BaseHasher
from .._bits import pack_bits
from .._compat import Interval, StrOptions, _fit_context, _openmp_effective_n_threads
from ._graphs import (
    _check_labels,
    _check_similarity,
    _distance_blocks,
    _knn_graph,
    _new_item_neighbors,
    _radius_graph,
)
from ._objective import (
    _block_gain,
    _database_bit_update,
    _encode_free,
    _flip_gain_table,
    _loss_pairs,
    _Objective,
    _Relation,
    _sign,
)
from ._solvers import fit_hyperplane

# The alternation of one bit stops when its block objective has not improved
# for this many iterations (reference: 5).
_INNER_PATIENCE = 5


class _Progress:
    """The ``verbose`` lines of a fit: one per sweep (1), and one per bit (2).

    The time left assumes that the loss does not improve any more, so that
    the stopping rule ends the fit after ``n_iter_no_change + 1`` sweeps
    without improvement (or at ``max_iter``); each improvement adds sweeps.
    """

    def __init__(self, verbose, nbits, max_iter, n_iter_no_change):
        self.verbose, self.nbits = verbose, nbits
        self.max_iter, self.n_iter_no_change = max_iter, n_iter_no_change
        self.sweep_times = []

    def start_sweep(self):
        self.sweep_start = self.bit_start = time.perf_counter()

    def _sweeps_left(self, sweep, best_sweep):
        last = min(self.max_iter, best_sweep + self.n_iter_no_change + 1)
        return max(last - sweep, 0)

    def bit(self, sweep, position, k, loss, theta, accepted, n_inner):
        now = time.perf_counter()
        elapsed, self.bit_start = now - self.bit_start, now
        if self.verbose < 2:
            return
        left = (now - self.sweep_start) / position * (self.nbits - position)
        print(
            f"Sweep {sweep}, bit {k} ({position}/{self.nbits}): loss = {loss:.6f}, "
            f"theta = {theta}, {'accepted' if accepted else 'rejected'}, "
            f"{n_inner} iterations, {elapsed:.2f} s, sweep time left {left:.1f} s",
            flush=True,
        )

    def sweep(self, sweep, best_sweep, loss, theta, n_accepted):
        self.sweep_times.append(time.perf_counter() - self.sweep_start)
        if self.verbose < 1:
            return
        sweeps_left = self._sweeps_left(sweep, best_sweep)
        left = sweeps_left * float(np.mean(self.sweep_times))
        print(
            f"Sweep {sweep}, loss = {loss:.6f}, theta = {theta}, "
            f"accepted {n_accepted}/{self.nbits}, {self.sweep_times[-1]:.2f} s, "
            f"time left {left:.1f} s ({sweeps_left} sweeps unless the loss "
            "improves)",
            flush=True,
        )


class AsymmetricLinV(BaseHasher):
    """Asymmetric binary hashing: linear query codes, free database codes.

    Learns two different code maps so that the inner product of a query code
    and a database code, compared with a threshold, predicts whether the two
    points are neighbours (Neyshabur et al., 2013). Queries are encoded by
    linear threshold functions ``u = sign(W x + b)`` (``transform``). In the
    Lin:V model (``database="free"``, the default) the database codes ``V`` of
    the training points are free +-1 vectors, optimised directly; in the
    Lin:Lin model (``database="linear"``) they are a second linear threshold
    map. Asymmetry lets short codes approximate a neighbour relation better
    than one symmetric map.

    The training set is the database: ``fit_transform(X)`` returns the learned
    database codes of ``X``, and ``transform(X)`` encodes queries, so
    ``make_pipeline(AsymmetricLinV(nbits=16), HammingNeighbors())`` fitted on
    a database and applied to queries does the right thing.
    ``encode_database`` encodes new database items.

    Parameters
    ----------
    nbits : int, default=16
        Number of bits per code.
    database : {"free", "linear"}, default="free"
        ``"free"``: Lin:V, free database codes for the training points.
        ``"linear"``: Lin:Lin, database codes ``sign(W_d x + b_d)``.
    neighbors : {"radius", "knn"}, default="radius"
        How the training target is defined when ``fit`` gets no
        ``similarity``. ``"radius"``: pairs within the Euclidean radius at
        which training points have ``n_neighbors`` neighbours on average (the
        paper's definition). ``"knn"``: ``j`` is a neighbour of ``i`` if it is
        one of the ``n_neighbors`` nearest training points to ``i``. Distances
        are taken after the normalisation of ``normalize``. A point is always
        its own neighbour.
    n_neighbors : int, default=50
        Average (``"radius"``) or exact (``"knn"``) number of neighbours per
        training point, itself excluded. Capped at ``n_samples - 1`` with a
        warning.
    beta : float, default=0.7
        Weight of the loss on neighbour pairs; non-neighbour pairs weigh
        ``1 - beta``. Not class-balanced (the reference's default): with about
        1 % neighbour pairs, non-neighbours carry most of the weight. The
        authors tune it by cross-validation; so can ``GridSearchCV``.
    loss_exponent : float, default=0.5
        Exponent ``p`` of the pair loss ``log(1 + exp(-s (y - theta))) ** p``;
        1 is the (convex) logistic loss, smaller values are tighter and
        non-convex (reference: 0.5).
    normalize : bool, default=True
        Centre the data on the training mean and scale it so that training
        vectors have mean Euclidean norm 1, before everything else. The
        reference's step size and initial hyperplanes assume data of that
        scale.
    block_size : int, default=1000
        Number of training points used as queries in each alternation step
        (reference: 1000); capped at ``n_samples``. Lin:V uses a
        ``block_size x n_samples`` block, Lin:Lin ``block_size x block_size``.
    n_loss_pairs : int, default=1_000_000
        Number of (query, database) training pairs on which the loss that
        picks the threshold and accepts updates is measured. If
        ``n_samples ** 2`` is not larger, all pairs are used and the loss is
        exact.
    solver : {"sgd", "lbfgs"}, default="sgd"
        How one row of ``W`` is fitted to its weighted targets. ``"sgd"``: the
        reference's weighted hinge-loss minibatch SGD (step 2, decayed each
        epoch, unnormalised weights, no regulariser), a compiled loop.
        ``"lbfgs"``: a deviation, full-batch weighted squared
        hinge (weights normalised, ridge 1e-6) by at most 30 L-BFGS
        iterations from the current row. It fits faster but gave lower
        per-query mAP in the settings measured (see the user guide), hence
        not the default.
    n_epochs : int, default=10
        Epochs of the weighted hinge SGD that updates one row of ``W``
        (each 100 minibatches of 100 points; reference: 10). Ignored by
        ``solver="lbfgs"``.
    accept_tol : float, default=1e-3
        An updated bit is kept if its sampled loss is below the current loss
        plus ``accept_tol`` (reference: 0.001). With 0, accepted updates never
        increase the sampled loss.
    tol : float, default=1e-3
        A sweep over all bits counts as an improvement if it lowers the best
        loss so far by at least ``tol`` (reference: ``epsilon``).
    n_iter_no_change : int, default=3
        Stop after ``n_iter_no_change + 1`` sweeps without improvement
        (reference: ``windowsize``).
    max_iter : int, default=40
        Maximum number of sweeps (the reference has no cap).
    database_block_size : int or None, default=5000
        Lin:V only: number of training points drawn at random (without
        replacement) as the database columns of each alternation step, so
        that a step costs ``block_size x database_block_size``, not
        ``block_size x n_samples``; after the last step of a bit, one
        closed-form update sets all database bits (see Notes). ``None``, or
        a value not below ``n_samples``, uses all columns in every step: the
        reference's algorithm, and the default's behaviour on up to 5,000
        training points.
    n_jobs : int, default=None
        Number of threads that fill the gain tables (and of the BLAS calls
        of the neighbour search), with the semantics of scikit-learn's
        OpenMP-based estimators: ``None`` uses every available core, as
        limited by ``OMP_NUM_THREADS`` or :mod:`threadpoolctl`; negative
        values count back from the number of cores (``-1`` all, ``-2`` all
        but one). The alternation itself runs BLAS on one thread. The
        learned codes do not depend on ``n_jobs``.
    verbose : int, default=0
        Progress on standard output: with 1, one line per sweep (sweep,
        loss, threshold, accepted bits, time, and the time left if the loss
        improves no more); with 2, also one line per bit (sweep, bit, loss,
        accepted or not, iterations, time, time left in the sweep).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial hyperplanes, sweep orders, blocks, SGD batches and
        loss pairs. Pass an int for reproducible results.

    Attributes
    ----------
    query_projection_ : ndarray of shape (n_features, nbits)
        Query hyperplane normals, one column per bit, on raw input.
    query_intercept_ : ndarray of shape (nbits,)
        Query bit ``i`` is 1 where ``X @ query_projection_[:, i] +
        query_intercept_[i] > 0``.
    database_projection_ : ndarray of shape (n_features, nbits) or None
        Database hyperplanes (Lin:Lin only).
    database_intercept_ : ndarray of shape (nbits,) or None
        Database offsets (Lin:Lin only).
    database_codes_ : ndarray of shape (n_samples, ceil(nbits / 8)), dtype uint8
        Packed database codes of the training points.
    theta_ : int
        Learned threshold on the score ``u . v`` (in ``{-nbits-1, ...,
        nbits+1}``); a pair is predicted to be neighbours if ``u . v >
        theta_``.
    radius_ : float or None
        Neighbour radius in the normalised space (``neighbors="radius"``).
    mean_ : ndarray of shape (n_features,)
        Training mean subtracted by the normalisation (zeros if off).
    scale_ : float
        Divisor of the normalisation (1 if off).
    loss_curve_ : list of float
        Sampled loss at initialisation and after each bit update (accepted
        or not, the loss kept).
    n_iter_ : int
        Number of sweeps over the bits.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    ITQ : Symmetric codes by iterative quantisation.
    HammingNeighbors : Exact k-NN search over the codes.

    Notes
    -----
    With query codes :math:`u_i = \\operatorname{sign}(W x_i + b)` and
    database codes :math:`v_j` in :math:`\\{-1, 1\\}^K`, the model minimises

    .. math::
        \\sum_{i, j} w(s_{ij})\\,
        \\log\\big(1 + e^{-s_{ij}(u_i^T v_j - \\theta)}\\big)^{p},
        \\qquad w(+1) = \\beta,\\; w(-1) = 1 - \\beta,

    with :math:`s_{ij} = \\pm 1` the neighbour relation, stored sparse
    (about ``n_neighbors * n_samples`` non-zeros; never dense). Hamming
    distance and score are tied: :math:`d_H(u, v) = (K - u^T v) / 2`, so
    ranking the database by Hamming distance to a query code is ranking it by
    score.

    Optimisation follows the authors' code (``LIN_V_logistic.m``,
    ``updateWV.m``, ``LIN_LIN_logistic.m``, ``updateW.m``):

    * Initialisation: :math:`W` Gaussian divided by its spectral norm, zero
      bias, :math:`V = \\operatorname{sign}(W X)` (Lin:Lin: :math:`W_d = W`),
      so training starts from symmetric LSH; :math:`\\theta` minimises the
      sampled loss on the grid :math:`\\{-K-1, -K+1, \\dots, K+1\\}`.
    * Cyclic coordinate descent over bits, in a new random order each sweep.
      For bit :math:`k`, with :math:`Y` the score of the other bits on a block
      of ``block_size`` training queries against all training points, the
      gain :math:`M_{ij} = \\ell(s_{ij}, Y_{ij} - 1) - \\ell(s_{ij}, Y_{ij} +
      1)` is computed; then repeatedly: the query bit targets
      :math:`\\operatorname{sign}(M v)` with weights :math:`|M v|` are fitted by
      weighted hinge SGD (from the current row of :math:`W`), and the database
      bit is set in closed form to :math:`v = \\operatorname{sign}(M^T l)`,
      :math:`l` the new query bits of the block. This stops when
      :math:`|M^T l|_1`, on a new random block each time, has not improved for
      5 iterations.
    * The new bit is kept if its sampled loss (with :math:`\\theta` re-chosen)
      is below the current loss plus ``accept_tol``. Sweeps stop as
      ``tol``/``n_iter_no_change``/``max_iter`` say.

    Deviations from the reference, all deliberate:

    * Two bugs fixed: (a) the reference builds the inner loss once, with the
      :math:`\\theta` of the initial random codes, so later thresholds never
      reach the inner optimisation; here the current :math:`\\theta_` is
      used. (b) Lin:V's reference evaluates a new bit with the new :math:`W`
      but the old :math:`V`; here both are new.
    * The loss pairs are drawn once per fit (with replacement) instead of at
      every evaluation, so all candidates are compared on the same pairs;
      with ``accept_tol=0`` the kept loss never increases. The initial loss
      is measured (the reference starts from 1).
    * Speed, same arithmetic: :math:`M` depends on a pair only through its
      label and the other bits' score, so it is never materialised: it is
      a float32 table over (distinct query code, distinct database code) of
      the block plus a sparse correction on neighbour pairs, and products
      with it cost at most those with the dense block. Scores are
      :math:`u^T v = K' - 2 d_H(u, v)`, with :math:`d_H` counted by
      popcounts on the codes packed in 64-bit words, and the table is
      filled on ``n_jobs`` threads. The SGD is a compiled loop in float32
      that reads the minibatch rows in place, with AVX2 and FMA where the
      CPU has them (the hyperplanes then differ from those of the portable
      loop by float32 round-off, as BLAS builds do). The cost per bit is
      linear in ``n_samples``. Blocks are capped at ``n_samples``, so small
      training sets work (the reference needs ``n_samples >= 1000``). Fit
      times against the reference, and where the time goes, are in the
      user guide.
    * Zero projections map to bit 0 (-1) as in ``transform``; the reference
      breaks zeros at random.
    * ``normalize``, ``max_iter`` and ``solver="lbfgs"`` are additions (see
      above).
    * Sampled database columns (``database_block_size``, Lin:V): a step of
      the alternation uses a random sample of ``c`` database columns; the
      targets of the query bits, :math:`M v`, are summed over the sample and
      multiplied by ``n_samples / c`` (the reference's SGD weights are not
      normalised, so their scale is kept), and the closed-form update
      :math:`v = \\operatorname{sign}(M^T l)` changes the sampled database
      bits only. When the bit's alternation stops, one more closed-form
      update on the last block of queries, over all columns, sets every
      database bit. The reference is ``database_block_size=None``. The
      default, 5,000, leaves training sets of up to 5,000 points (the
      paper's and the measurements' usual size) on the reference path and
      makes the cost of a bit about ``block_size x 5,000`` table entries per
      step plus one ``block_size x n_samples`` pass; the figures against the
      paper's claims with it are in :ref:`asymmetric_cost`.
    * Labels (``fit(X, y)``): the neighbour relation is "same class", self
      included, the ``similarity`` one would pass by hand, but kept as
      classes: :math:`M` is a table over distinct (code, class) pairs and
      the ``sum_c n_c ** 2`` neighbour pairs (classes of ``n_c`` points) are
      never built. The fit equals the one with that ``similarity`` up to
      float32 rounding (the same gains summed in another order).

    Memory: the neighbour relation is sparse (about ``(n_neighbors + 1) *
    n_samples`` entries, none with labels; the radius is found exactly in one
    chunked pass over the pairwise distances, never holding them all), the
    loss pairs take ``n_loss_pairs`` entries, and a gain table at most
    ``block_size x n_samples`` float32 (the last update of each bit; the
    steps use ``block_size x database_block_size``). Lin:V keeps the normalised
    training points (for ``encode_database``), Lin:Lin does not.

    Reproducibility: a given ``random_state`` gives the same codes whatever
    ``n_jobs`` (the threads only fill disjoint parts of the gain tables,
    with exact integer arithmetic; every floating-point sum runs in one
    thread, in a fixed order), on a given CPU: CPUs with and without AVX2
    and FMA run the SGD through different roundings.

    ``fit_transform(X)`` is not ``fit(X).transform(X)``: the first returns
    the database codes of the training points, the second their query
    codes. The two differ by design (that is the asymmetry).

    ``decision_function(X)`` is the query map's affine scores ``X @
    query_projection_ + query_intercept_``, whose signs are the query codes.
    Lin:V's database codes are free, not the signs of any scores (Lin:Lin's
    are those of the database map). The rows of :math:`W` are not
    normalised: each keeps the scale its last accepted fit (or the random
    start) gave it, so magnitudes compare within a bit, not across bits.

    New database items (``encode_database``): Lin:Lin applies the database
    map. Lin:V, which has no database map, uses the closed-form update of the
    fit on the full training set as queries: starting from the query code of
    the item, each bit in turn is set to
    :math:`\\operatorname{sign}(\\sum_i M_i u_{ik})`, with :math:`M_i` the gain
    of training query :math:`i` given the other bits of the item and the
    item's neighbours among the training points (same rule as in ``fit``),
    until no bit changes. This is the coordinate-wise optimum of the
    objective for the new column of :math:`V`, with everything else fixed.

    References
    ----------
    .. [1] B. Neyshabur, N. Srebro, R. Salakhutdinov, Y. Makarychev,
       P. Yadollahpour, "The Power of Asymmetry in Binary Hashing",
       NIPS 2013. Code: github.com/bneyshabur/asymcode.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import AsymmetricLinV
    >>> X = np.random.RandomState(0).standard_normal((300, 10))
    >>> hasher = AsymmetricLinV(
    ...     nbits=8, n_neighbors=10, n_epochs=2, max_iter=5, random_state=0
    ... )
    >>> database_codes = hasher.fit_transform(X)
    >>> query_codes = hasher.transform(X[:5])
    >>> database_codes.shape, query_codes.shape
    ((300, 1), (5, 1))

    With class labels, same label = neighbour:

    >>> y = (X[:, 0] > 0).astype(int)
    >>> supervised = AsymmetricLinV(
    ...     nbits=8, n_epochs=2, max_iter=5, random_state=0
    ... ).fit(X, y)
    >>> supervised.transform(X[:5]).shape
    (5, 1)
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "database": [StrOptions({"free", "linear"})],
        "neighbors": [StrOptions({"radius", "knn"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="neither")],
        "loss_exponent": [Interval(Real, 0, None, closed="neither")],
        "normalize": ["boolean"],
        "block_size": [Interval(Integral, 1, None, closed="left")],
        "n_loss_pairs": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"sgd", "lbfgs"})],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "accept_tol": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "database_block_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": N_JOBS_CONSTRAINT,
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        nbits=16,
        *,
        database="free",
        neighbors="radius",
        n_neighbors=50,
        beta=0.7,
        loss_exponent=0.5,
        normalize=True,
        block_size=1000,
        n_loss_pairs=1_000_000,
        solver="sgd",
        n_epochs=10,
        accept_tol=1e-3,
        tol=1e-3,
        n_iter_no_change=3,
        max_iter=40,
        database_block_size=5000,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.nbits = nbits
        self.database = database
        self.neighbors = neighbors
        self.n_neighbors = n_neighbors
        self.beta = beta
        self.loss_exponent = loss_exponent
        self.normalize = normalize
        self.block_size = block_size
        self.n_loss_pairs = n_loss_pairs
        self.solver = solver
        self.n_epochs = n_epochs
        self.accept_tol = accept_tol
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_iter = max_iter
        self.database_block_size = database_block_size
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, similarity=None):
        """Learn the query map and the database codes (or map).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors; they are also the database.
        y : array-like of shape (n_samples,), default=None
            Class labels: if given, two training points are neighbours if
            they have the same label (the paper's semantic similarity), in
            place of ``neighbors``/``n_neighbors``. A ``y`` whose entries are
            all -1 (scikit-learn's mark of unlabelled samples, the filler
            :func:`~sklearn_hash.model_selection.query_database_split` puts
            on database rows) is ignored, so that a ``GridSearchCV`` over a
            pipeline stays unsupervised. Ignored if ``similarity`` is given.
        similarity : sparse matrix of shape (n_samples, n_samples), default=None
            Neighbour relation to learn: entry ``(i, j)`` non-zero if training
            point ``j`` is a neighbour of query ``i``. Overrides ``y`` and
            ``neighbors``/``n_neighbors``. Stored sparse.

        Returns
        -------
        self : AsymmetricLinV
            Fitted hasher.
        """
        self._fit(X, y, similarity)
        return self

    def fit_transform(self, X, y=None, similarity=None):
        """Fit, then return the learned database codes of the training points.

        Unlike ``fit(X).transform(X)``, which gives the *query* codes of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors; they are also the database.
        y : array-like of shape (n_samples,), default=None
            Class labels, see :meth:`fit`.
        similarity : sparse matrix of shape (n_samples, n_samples), default=None
            See :meth:`fit`.

        Returns
        -------
        database_codes : ndarray of shape (n_samples, ceil(nbits / 8)), dtype uint8
            Packed database codes of X (``database_codes_``).
        """
        return self.fit(X, y, similarity=similarity).database_codes_.copy()

    def _fit(self, X, y, similarity):
        X = self._validate_input(X, reset=True)
        n_samples = X.shape[0]
        if n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples, "
                f"got n_samples={n_samples}"
            )
        rng = check_random_state(self.random_state)
        n_threads = _openmp_effective_n_threads(self.n_jobs)

        if self.normalize:
            self.mean_ = X.mean(axis=0)
            norms = np.linalg.norm(X - self.mean_, axis=1)
            mean_norm = float(norms.mean())
            self.scale_ = mean_norm if mean_norm > 0 else 1.0
        else:
            self.mean_ = np.zeros(X.shape[1], dtype=X.dtype)
            self.scale_ = 1.0
        Xn = self._normalized(X)
        self.radius_ = None
        self._kth_distance = None
        labels = None if similarity is not None else _check_labels(y, n_samples)
        if similarity is not None:
            relation = _Relation(graph=_check_similarity(similarity, n_samples))
            self._neighbor_rule = "given"
        elif labels is not None:  # by class, never expanded into pairs
            classes = np.unique(labels, return_inverse=True)[1].ravel()
            relation = _Relation(classes=classes)
            self._neighbor_rule = "labels"
        else:
            with threadpool_limits(limits=n_threads, user_api="blas"):
                relation = _Relation(graph=self._neighbor_graph(Xn))
            self._neighbor_rule = self.neighbors

        # the alternation's BLAS calls are small or memory-bound: one BLAS
        # thread (same results whatever n_jobs), the threads fill gain tables
        with threadpool_limits(limits=1, user_api="blas"):
            self._alternate(X.dtype, Xn, relation, rng, n_threads)
        return self

    def _alternate(self, dtype, Xn, relation, rng, n_threads):
        """Initialisation and sweeps of cyclic coordinate descent over the bits."""
        n_samples, K = Xn.shape[0], self.nbits
        # augmented data: a constant-1 feature carries the bias
        Xa = np.hstack([Xn, np.ones((n_samples, 1), dtype=np.float32)])
        W = rng.standard_normal((K, Xn.shape[1])).astype(np.float64)
        W /= np.linalg.norm(W, 2)
        Wq = np.hstack([W, np.zeros((K, 1))]).astype(np.float32)
        U = _sign(Xa @ Wq.T)
        linear_db = self.database == "linear"
        Wd = Wq.copy() if linear_db else None
        V = U.copy()

        rows, cols = _loss_pairs(n_samples, self.n_loss_pairs, rng)
        labels = relation.pair_labels(rows, cols)
        objective = _Objective(rows, cols, labels, U, V, self.beta, self.loss_exponent)
        theta, loss = objective.best_threshold(objective.scores)
        self.loss_curve_ = [loss]
        best_loss, best_sweep = loss, 0
        block = min(self.block_size, n_samples)
        progress = _Progress(self.verbose, K, self.max_iter, self.n_iter_no_change)

        for sweep in range(1, self.max_iter + 1):
            progress.start_sweep()
            n_accepted = 0
            for position, k in enumerate(rng.permutation(K), start=1):
                others = np.arange(K) != k
                if linear_db:
                    wq, wd, n_inner = self._update_bit_linear(
                        Xa,
                        relation,
                        U[:, others],
                        V[:, others],
                        Wq[k],
                        Wd[k],
                        theta,
                        block,
                        rng,
                        n_threads,
                    )
                    new_u, new_v = _sign(Xa @ wq), _sign(Xa @ wd)
                else:
                    wq, new_v, n_inner = self._update_bit_free(
                        Xa,
                        relation,
                        U[:, others],
                        V[:, others],
                        Wq[k],
                        V[:, k],
                        theta,
                        block,
                        rng,
                        n_threads,
                    )
                    new_u = _sign(Xa @ wq)
                new_scores = objective.rescored(k, U, V, new_u, new_v)
                new_theta, new_loss = objective.best_threshold(new_scores)
                accepted = new_loss < loss + self.accept_tol
                if accepted:
                    Wq[k], U[:, k], V[:, k] = wq, new_u, new_v
                    if linear_db:
                        Wd[k] = wd
                    objective.scores = new_scores
                    theta, loss = new_theta, new_loss
                    n_accepted += 1
                self.loss_curve_.append(loss)
                if loss <= best_loss - self.tol:
                    best_loss, best_sweep = loss, sweep
                progress.bit(sweep, position, k, loss, theta, accepted, n_inner)
            progress.sweep(sweep, best_sweep, loss, theta, n_accepted)
            if sweep - best_sweep > self.n_iter_no_change:
                break
        self.n_iter_ = sweep
        self.theta_ = int(theta)
        self.query_projection_, self.query_intercept_ = self._raw_affine(Wq, dtype)
        if linear_db:
            self.database_projection_, self.database_intercept_ = self._raw_affine(
                Wd, dtype
            )
        else:
            self.database_projection_ = self.database_intercept_ = None
        self.database_codes_ = pack_bits(V > 0)
        # what Lin:V's encode_database needs: the training points and their query codes
        self._fit_X = None if linear_db else Xn
        self._train_query_codes = None if linear_db else U

    def _update_bit_free(
        self, Xa, relation, U_other, V_other, wq, v, theta, block, rng, n_threads
    ):
        """Lin:V alternation for one bit (reference ``updateWV``).

        Returns the new hyperplane, the new database bit and the number of
        iterations. With ``database_block_size`` below ``n_samples`` each
        iteration uses a random sample of database columns (the product
        ``M v`` rescaled to all columns, only the sampled database bits
        updated), and a last closed-form update sets every database bit from
        the last block of queries.
        """
        n_samples = Xa.shape[0]
        n_columns = self.database_block_size
        sampled = n_columns is not None and n_columns < n_samples
        gain_of = self._gain_of(relation, U_other, V_other, theta, n_threads)
        v = v.copy()
        best, best_iter, it = -np.inf, 0, 0
        while True:
            it += 1
            rows = rng.choice(n_samples, block, replace=False)
            cols = rng.choice(n_samples, n_columns, replace=False) if sampled else None
            gain = gain_of(rows, cols)
            if sampled:
                gain_r = (gain @ v[cols]) * np.float32(n_samples / n_columns)
            else:
                gain_r = gain @ v
            X_block = Xa[rows]
            wq = self._fit_hyperplane(X_block, gain_r, wq, rng)
            query_bits = _sign(X_block @ wq)
            new_v, objective = _database_bit_update(gain, query_bits)
            if sampled:
                v[cols] = new_v
            else:
                v = new_v
            if objective > best:
                best, best_iter = objective, it
            if it - best_iter > _INNER_PATIENCE:
                break
        if sampled:
            v, _ = _database_bit_update(gain_of(rows), query_bits)
        return wq, v, it

    def _update_bit_linear(
        self, Xa, relation, U_other, V_other, wq, wd, theta, block, rng, n_threads
    ):
        """Lin:Lin alternation for one bit (reference ``updateW``)."""
        n_samples = Xa.shape[0]
        gain_of = self._gain_of(relation, U_other, V_other, theta, n_threads)
        best, best_iter, it = -np.inf, 0, 0
        while True:
            it += 1
            rows = rng.choice(n_samples, block, replace=False)
            cols = rng.choice(n_samples, block, replace=False)
            gain = gain_of(rows, cols)
            X_rows, X_cols = Xa[rows], Xa[cols]
            gain_r = gain @ _sign(X_cols @ wd)
            wq = self._fit_hyperplane(X_rows, gain_r, wq, rng)
            gain_l = _sign(X_rows @ wq) @ gain
            wd = self._fit_hyperplane(X_cols, gain_l, wd, rng)
            objective = float(gain_l @ _sign(X_cols @ wd))
            if objective > best:
                best, best_iter = objective, it
            if it - best_iter > _INNER_PATIENCE:
                return wq, wd, it

    def _gain_of(self, relation, U_other, V_other, theta, n_threads):
        """``gain_of(rows, cols=None)``: the gain matrix of one bit on a block
        (all columns for None), given the other bits' codes and ``theta``."""
        gain_tables = _flip_gain_table(
            U_other.shape[1], theta, self.beta, self.loss_exponent
        )
        u_book, v_book = relation.codebook(U_other), relation.codebook(V_other)

        def gain_of(rows, cols=None):
            block = relation.block(rows, cols)
            return _block_gain(
                u_book, rows, v_book, cols, block, gain_tables, n_threads
            )

        return gain_of

    def _fit_hyperplane(self, X, gain, coef, rng):
        return fit_hyperplane(
            X, gain, coef, solver=self.solver, n_epochs=self.n_epochs, rng=rng
        )

    def _n_neighbors_effective(self, n_samples):
        if self.n_neighbors > n_samples - 1:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is not smaller than "
                f"n_samples={n_samples}; "
                f"using n_neighbors={n_samples - 1}",
                UserWarning,
                stacklevel=2,
            )
            return n_samples - 1
        return self.n_neighbors

    def _neighbor_graph(self, Xn):
        """Sparse boolean neighbour relation of the training points (self included)."""
        n_samples = Xn.shape[0]
        k = self._n_neighbors_effective(n_samples)
        if self.neighbors == "knn":
            graph, self._kth_distance = _knn_graph(Xn, k)
        else:
            graph, self.radius_ = _radius_graph(Xn, k)
        return graph

    def _raw_affine(self, W, dtype):
        """Express an augmented hyperplane matrix on raw (unnormalised) input."""
        coef = W[:, :-1].astype(np.float64).T / self.scale_
        intercept = W[:, -1].astype(np.float64) - self.mean_.astype(np.float64) @ coef
        return coef.astype(dtype), intercept.astype(dtype)

    def _normalized(self, X):
        return ((X - self.mean_) / self.scale_).astype(np.float32)

    def _project(self, X):
        return X @ self.query_projection_ + self.query_intercept_

    # ------------------------------------------------------------- encoding
    def encode_database(self, X, similarity=None):
        """Encode new database items (as opposed to queries, see ``transform``).

        Lin:Lin applies the learned database map. Lin:V computes, for each
        item, the coordinate-wise optimal database code against the training
        points as queries (see Notes of the class), using the item's
        neighbours among the training points by the rule of ``fit``: within
        ``radius_``, or, for ``neighbors="knn"``, the training points that
        would have the item among their ``n_neighbors`` nearest.

        Parameters
        ----------
        X : array-like of shape (n_items, n_features)
            New database items.
        similarity : sparse matrix of shape (n_items, n_samples_fit), default=None
            Lin:V only: entry ``(a, i)`` non-zero if the new item ``a`` is a
            neighbour of training query ``i``. Required if ``fit`` was given a
            ``similarity`` or labels (for labels: same label as ``i``);
            otherwise overrides the neighbour rule.

        Returns
        -------
        codes : ndarray of shape (n_items, ceil(nbits / 8)), dtype uint8
            Packed database codes, comparable with ``database_codes_`` and
            with query codes from ``transform``.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        if self.database == "linear":
            if similarity is not None:
                raise ValueError("similarity is only used by database='free' (Lin:V)")
            return pack_bits(
                X @ self.database_projection_ + self.database_intercept_ > 0
            )
        n_train = self._fit_X.shape[0]
        if similarity is not None:
            positives = _check_similarity(similarity, (X.shape[0], n_train))
        elif self._neighbor_rule in ("given", "labels"):
            given = "a similarity" if self._neighbor_rule == "given" else "labels (y)"
            raise ValueError(
                f"this AsymmetricLinV was fitted with {given}: pass the "
                "similarity of the new items to the training points"
            )
        else:
            positives = None
        Xn = self._normalized(X)
        U = self._train_query_codes
        K = self.nbits
        gain_tables = _flip_gain_table(
            K - 1, self.theta_, self.beta, self.loss_exponent
        )
        if self._neighbor_rule == "radius":
            max_sq_distance = np.float32(self.radius_) ** 2
        elif self._neighbor_rule == "knn":
            max_sq_distance = self._kth_distance[None, :] ** 2
        codes = np.empty((X.shape[0], K), dtype=bool)
        for part in _distance_blocks(X.shape[0], n_train):
            if positives is None:
                pos = _new_item_neighbors(Xn[part], self._fit_X, max_sq_distance)
            else:
                pos = positives[part]
            start_codes = _sign(self._project(X[part]))
            codes[part] = _encode_free(start_codes, pos.T.tocsr(), U, gain_tables)
        return pack_bits(codes)
