"""Adam, updating parameter arrays in place."""

import numpy as np


class Adam:
    """Adam (Kingma & Ba, 2015) over a list of parameter arrays.

    ``step(grads)`` updates ``params`` in place; ``weight_decay`` adds
    ``weight_decay * p`` to the gradient of each array whose index is in
    ``decay_mask`` (the L2 penalty ``weight_decay / 2 * ||p||^2``).

    Parameters
    ----------
    params : list of ndarray
        Arrays to update, in place.
    learning_rate : float
        Step size.
    beta_1, beta_2, epsilon : float
        Moment decay rates and the denominator guard, PyTorch's defaults.
    weight_decay : float, default=0.0
        L2 penalty coefficient.
    decay_mask : list of bool, default=None
        Which arrays the penalty applies to (all when None).
    """

    def __init__(
        self,
        params,
        learning_rate,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.0,
        decay_mask=None,
    ):
        self.params = params
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.decay_mask = (
            [True] * len(params) if decay_mask is None else list(decay_mask)
        )
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # bias corrections folded into the step size and the epsilon
        c1 = 1 - b1**self.t
        c2 = 1 - b2**self.t
        lr = self.learning_rate * np.sqrt(c2) / c1
        eps = self.epsilon * np.sqrt(c2)
        for p, g, m, v, decay in zip(
            self.params, grads, self.ms, self.vs, self.decay_mask
        ):
            if decay and self.weight_decay:
                g = g + self.weight_decay * p
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= lr * m / (np.sqrt(v) + eps)
