"""Layers of the NPhash network, each with an explicit forward and backward pass.

Every layer has ``forward(X, training)`` returning its output and caching only
what ``backward`` needs, and ``backward(grad, need_input_grad=True)`` returning
the gradient with respect to its input and filling ``grads`` (same order and
shapes as ``params``). Arrays keep the dtype of the parameters: float32 for
training, float64 in the gradient checks. All work is vectorised over the
batch; matrix products go to BLAS.

``backward`` may overwrite the incoming ``grad`` array, and ``forward`` in
training mode may overwrite its input: a layer owns the array it is handed.
In training mode the large per-batch arrays are written into buffers a layer
keeps between steps (``_buffer``): the batch shape is the same at every step,
and allocating fresh multi-megabyte arrays at every step costs page faults
that showed up as a large share of the step time. ``release`` drops buffers
and caches (the fitted estimator pickles without them).
"""

import numpy as np


class Layer:
    """A layer without parameters; subclasses override forward/backward."""

    params = ()
    grads = ()

    def _buffer(self, name, shape, dtype):
        """A reusable array of that shape and dtype (contents undefined)."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = buffers[name] = np.empty(shape, dtype=dtype)
        return buf

    def release(self):
        """Drop the buffers and everything cached for backward."""
        for name in [n for n in self.__dict__ if n.startswith("_")]:
            del self.__dict__[name]

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def forward(self, X, training):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad, need_input_grad=True):  # pragma: no cover - abstract
        raise NotImplementedError


class Dense(Layer):
    """Affine map ``X @ W + b`` (``b`` omitted when ``bias=False``).

    Weights are drawn U(-1/sqrt(n_in), 1/sqrt(n_in)), PyTorch's ``nn.Linear``
    default, so both benchmarks start from the same distribution.
    """

    def __init__(self, n_in, n_out, *, bias=True, dtype=np.float32, random_state):
        bound = 1.0 / np.sqrt(n_in)
        self.W = random_state.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
        self.b = (
            random_state.uniform(-bound, bound, n_out).astype(dtype) if bias else None
        )
        self.params = [self.W] if self.b is None else [self.W, self.b]
        self.grads = [np.zeros_like(p) for p in self.params]

    def forward(self, X, training):
        if training:
            self._X = X
            out = np.matmul(
                X,
                self.W,
                out=self._buffer("out", (X.shape[0], self.W.shape[1]), X.dtype),
            )
        else:
            out = X @ self.W
        if self.b is not None:
            out += self.b
        return out

    def backward(self, grad, need_input_grad=True):
        np.matmul(self._X.T, grad, out=self.grads[0])
        if self.b is not None:
            np.sum(grad, axis=0, out=self.grads[1])
        self._X = None
        if not need_input_grad:
            return None
        return np.matmul(
            grad,
            self.W.T,
            out=self._buffer("dx", (grad.shape[0], self.W.shape[0]), grad.dtype),
        )


class BatchNorm(Layer):
    """Batch normalisation over the rows, with running statistics for eval mode.

    Training mode normalises with the batch mean and (biased) variance and
    updates ``running_mean`` / ``running_var`` with ``momentum`` (unbiased
    variance, as PyTorch's ``BatchNorm1d``); eval mode uses the running
    statistics, so the output of one row does not depend on the others.
    """

    def __init__(self, n_features, *, momentum=0.1, eps=1e-5, dtype=np.float32):
        self.gamma = np.ones(n_features, dtype=dtype)
        self.beta = np.zeros(n_features, dtype=dtype)
        self.running_mean = np.zeros(n_features, dtype=dtype)
        self.running_var = np.ones(n_features, dtype=dtype)
        self.momentum = momentum
        self.eps = eps
        self.params = [self.gamma, self.beta]
        self.grads = [np.zeros_like(self.gamma), np.zeros_like(self.beta)]

    def forward(self, X, training):
        if not training:
            scale = self.gamma / np.sqrt(self.running_var + self.eps)
            shift = self.beta - self.running_mean * scale
            return X * scale + shift
        n = X.shape[0]
        mean = X.mean(axis=0)
        xhat = np.subtract(X, mean, out=X)
        var = np.einsum("ij,ij->j", xhat, xhat) / n
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(X.dtype, copy=False)
        xhat *= inv_std
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * var * (n / max(n - 1, 1))
        self._xhat, self._inv_std = xhat, inv_std
        out = np.multiply(xhat, self.gamma, out=self._buffer("out", X.shape, X.dtype))
        out += self.beta
        return out

    def backward(self, grad, need_input_grad=True):
        xhat, inv_std = self._xhat, self._inv_std
        n = grad.shape[0]
        dbeta = np.sum(grad, axis=0, out=self.grads[1])
        dgamma = np.einsum("ij,ij->j", grad, xhat, out=self.grads[0])
        self._xhat = self._inv_std = None
        if not need_input_grad:
            return None
        # dX = gamma * inv_std * (grad - mean(grad) - xhat * mean(grad * xhat))
        xhat *= dgamma / n
        grad -= dbeta / n
        grad -= xhat
        grad *= self.gamma * inv_std
        return grad


class ReLU(Layer):
    """max(X, 0), computed in place."""

    def forward(self, X, training):
        out = np.maximum(X, 0, out=X)
        if training:
            self._out = out
        return out

    def backward(self, grad, need_input_grad=True):
        mask = np.greater(self._out, 0, out=self._buffer("mask", grad.shape, bool))
        self._out = None
        return np.multiply(grad, mask, out=grad)


class L2Normalize(Layer):
    """Rows scaled to unit Euclidean norm (norms below ``eps`` count as ``eps``)."""

    def __init__(self, eps=1e-12):
        self.eps = eps

    def forward(self, X, training):
        norm = np.sqrt(np.einsum("ij,ij->i", X, X))[:, None]
        np.maximum(norm, self.eps, out=norm)
        out = X / norm
        if training:
            self._out, self._norm = out, norm
        return out

    def backward(self, grad, need_input_grad=True):
        y, norm = self._out, self._norm
        self._out = self._norm = None
        # d(x/|x|) = (g - y (y.g)) / |x|
        grad -= y * np.einsum("ij,ij->i", y, grad)[:, None]
        grad /= norm
        return grad


class ScaledTanh(Layer):
    """tanh(beta * X), the relaxed sign of the embedding."""

    def __init__(self, beta):
        self.beta = float(beta)

    def forward(self, X, training):
        out = np.tanh(self.beta * X)
        if training:
            self._out = out
        return out

    def backward(self, grad, need_input_grad=True):
        y = self._out
        self._out = None
        # d tanh(bx) = b (1 - y^2)
        return grad * (self.beta * (1 - y * y))


class Sequential:
    """Layers applied in order; ``params`` / ``grads`` list every layer's arrays."""

    def __init__(self, layers):
        self.layers = list(layers)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def forward(self, X, training, n_layers=None):
        """Output of the first ``n_layers`` layers (all by default)."""
        for layer in self.layers[:n_layers]:
            X = layer.forward(X, training)
        return X

    def backward(self, grad):
        """Fill every layer's grads; the input gradient is not computed."""
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].backward(grad, need_input_grad=i > 0)

    def release(self):
        """Drop every layer's training buffers and caches."""
        for layer in self.layers:
            layer.release()


def build_network(n_features, hidden_layer_sizes, nbits, beta, *, dtype, random_state):
    """The NPhash network: [Dense-BN-ReLU]*, Dense(nbits)-BN-L2Normalize-ScaledTanh.

    Dense layers that feed a BatchNorm have no bias: in training mode the
    batch mean removes it exactly, in eval mode the running mean absorbs it.
    """
    layers = []
    n_in = n_features
    for width in hidden_layer_sizes:
        layers += [
            Dense(n_in, width, bias=False, dtype=dtype, random_state=random_state),
            BatchNorm(width, dtype=dtype),
            ReLU(),
        ]
        n_in = width
    layers += [
        Dense(n_in, nbits, bias=False, dtype=dtype, random_state=random_state),
        BatchNorm(nbits, dtype=dtype),
        L2Normalize(),
        ScaledTanh(beta),
    ]
    return Sequential(layers)
