"""Row solvers of the asymmetric hashers: fit one hyperplane to weighted sign targets.

The W step of Neyshabur et al. (2013): for one bit, the query bit targets
``sign(gain)`` with weights ``|gain|`` are separated by a hyperplane, by the
reference's weighted hinge SGD (``hingeW``) or by full-batch L-BFGS.
"""

import numpy as np
from scipy.optimize import minimize

from ._objective import _sign
from ._sgd import weighted_hinge_sgd

# Weighted hinge SGD of the W step, as in the reference (updateWV.m, hingeW):
# n_epochs x 100 minibatches x 100 samples drawn with replacement, step 2 decayed
# by (1 - (t - 1) / n_epochs) at epoch t.
_SGD_BATCHES_PER_EPOCH = 100
_SGD_BATCH_SIZE = 100
_SGD_STEP = 2.0
# Full-batch alternative (solver="lbfgs"): iterations and a tiny ridge.
_LBFGS_MAX_ITER = 30
_LBFGS_ALPHA = 1e-6


def _weighted_hinge_sgd(X, y, weights, coef, n_epochs, rng):
    """Weighted hinge-loss SGD of the reference (``hingeW``), compiled loop.

    Minimises ``sum_i weights_i max(0, 1 - y_i x_i^T coef)`` by minibatch
    subgradient steps, no regulariser; the weights are not normalised. The
    minibatches are drawn here, the steps run in ``_sgd.weighted_hinge_sgd``.
    """
    coef = coef.astype(np.float32, copy=True)
    batches = rng.randint(
        X.shape[0], size=(n_epochs, _SGD_BATCHES_PER_EPOCH, _SGD_BATCH_SIZE)
    ).astype(np.int64, copy=False)
    weighted_hinge_sgd(
        np.ascontiguousarray(X, dtype=np.float32),
        y.astype(np.float32),
        weights.astype(np.float32),
        coef,
        batches,
        _SGD_STEP,
    )
    return coef


def _weighted_squared_hinge_lbfgs(X, y, weights, coef):
    """Full-batch weighted squared-hinge classifier by L-BFGS, warm-started.

    Minimises ``sum_i w_i max(0, 1 - y_i x_i^T c)^2 / (2 sum_i w_i) + alpha
    |c|^2 / 2`` with a tiny ``alpha`` (it only keeps the problem bounded).
    """
    X64 = X.astype(np.float64)
    total = float(weights.sum())
    if total <= 0:
        return coef.copy()
    w = weights.astype(np.float64) / total
    y64 = y.astype(np.float64)

    def loss_grad(c):
        slack = np.maximum(0.0, 1.0 - y64 * (X64 @ c))
        value = 0.5 * float(w @ slack**2) + 0.5 * _LBFGS_ALPHA * float(c @ c)
        grad = -(X64.T @ (w * y64 * slack)) + _LBFGS_ALPHA * c
        return value, grad

    result = minimize(
        loss_grad,
        coef.astype(np.float64),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": _LBFGS_MAX_ITER},
    )
    return result.x.astype(np.float32)


def fit_hyperplane(X, gain, coef, *, solver, n_epochs, rng):
    """One row of W: separate sign(gain) with weights |gain| (reference ``hingeW``).

    ``solver`` is ``"sgd"`` (weighted hinge SGD, ``n_epochs`` epochs) or
    ``"lbfgs"`` (weighted squared hinge, full batch); ``coef`` is the warm start.
    """
    targets, weights = _sign(gain), np.abs(gain)
    if solver == "sgd":
        return _weighted_hinge_sgd(X, targets, weights, coef, n_epochs, rng)
    return _weighted_squared_hinge_lbfgs(X, targets, weights, coef)
