"""Proxy sampling and the NPhash loss: KL(cosine softmax || relaxed Hamming softmax).

For a query :math:`q` with L2-normalised input :math:`x_q` and the index set
:math:`N_k(q)` of its k nearest proxies by cosine,

.. math::

    p_j = \\operatorname{softmax}_{j \\in N_k(q)}(x_q \\cdot x_j / \\tau_c), \\quad
    r_j = \\operatorname{softmax}_{j \\in N_k(q)}(S_h(q, j) / \\tau_h), \\quad
    S_h(q, j) = \\frac{f(q) \\cdot f(j)}{2 b} + \\frac12,

and the loss is :math:`KL(p \\| r) = \\sum_j p_j (\\log p_j - \\log r_j)`,
averaged over the queries of the batch. Its gradient with respect to the
logits :math:`S_h / \\tau_h` is :math:`r - p`.

The targets (which proxies, and ``p``) depend only on the inputs, so they are
computed once per batch, before the network runs.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches


def sample_proxies(n_samples, n_proxies, random_state):
    """Indices of ``min(n_proxies, n_samples)`` distinct training rows."""
    if n_proxies >= n_samples:
        return np.arange(n_samples)
    return random_state.choice(n_samples, n_proxies, replace=False)


def proxy_targets(
    Xq, Xp, n_neighbors, cosine_temperature, query_idx=None, proxy_idx=None
):
    """The k nearest proxies of each query by cosine, and their target softmax.

    Parameters
    ----------
    Xq : ndarray of shape (n_queries, n_features)
        L2-normalised queries.
    Xp : ndarray of shape (n_proxies, n_features)
        L2-normalised proxies.
    n_neighbors : int
        k; at most ``n_proxies - 1`` when queries may be proxies.
    cosine_temperature : float
        Softmax temperature of the cosine similarities.
    query_idx, proxy_idx : ndarray of int, default=None
        Training-set indices of the queries and proxies: a query is never its
        own proxy.

    Returns
    -------
    neighbors : ndarray of shape (n_queries, n_neighbors), dtype intp
        Proxy indices (rows of ``Xp``), in no particular order.
    p : ndarray of shape (n_queries, n_neighbors)
        Softmax of the cosines over those proxies.
    """
    cos = Xq @ Xp.T
    if query_idx is not None:
        position = np.full(max(query_idx.max(), proxy_idx.max()) + 1, -1, dtype=np.intp)
        position[proxy_idx] = np.arange(proxy_idx.size)
        self_pos = position[query_idx]
        rows = np.flatnonzero(self_pos >= 0)
        cos[rows, self_pos[rows]] = -np.inf
    # argpartition in row blocks: its full (n_queries, n_proxies) index output
    # would be the largest temporary of a training step
    neighbors = np.empty((cos.shape[0], n_neighbors), dtype=np.intp)
    for rows in gen_batches(cos.shape[0], 64):
        neighbors[rows] = np.argpartition(cos[rows], -n_neighbors, axis=1)[
            :, -n_neighbors:
        ]
    logits = np.take_along_axis(cos, neighbors, axis=1)
    return neighbors, _softmax(logits / cosine_temperature)


def proxy_graph(X, n_neighbors, cosine_temperature, block_size=512):
    """:func:`proxy_targets` of every row of X against all of X, once.

    When every training point is a proxy, each query's neighbours and target
    distribution never change, so a fit computes them once instead of at
    every step; the result is the same as per-batch :func:`proxy_targets`.
    Memory: O(block_size * n_samples) for the cosines of one block.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, n_neighbors), dtype intp
    p : ndarray of shape (n_samples, n_neighbors)
    """
    n_samples = X.shape[0]
    all_idx = np.arange(n_samples)
    neighbors = np.empty((n_samples, n_neighbors), dtype=np.intp)
    p = np.empty((n_samples, n_neighbors), dtype=X.dtype)
    for rows in gen_batches(n_samples, block_size):
        neighbors[rows], p[rows] = proxy_targets(
            X[rows], X, n_neighbors, cosine_temperature, all_idx[rows], all_idx
        )
    return neighbors, p


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def kl_proxy_loss(Fq, Fp, neighbors, p, hamming_temperature):
    """Loss and gradients with respect to the query and proxy embeddings.

    Parameters
    ----------
    Fq : ndarray of shape (n_queries, nbits)
        Relaxed codes of the queries (``tanh(beta * z)``).
    Fp : ndarray of shape (n_proxies, nbits)
        Relaxed codes of the proxies.
    neighbors, p : ndarray of shape (n_queries, k)
        From :func:`proxy_targets`.
    hamming_temperature : float
        Softmax temperature of the relaxed Hamming similarity ``S_h``.

    Returns
    -------
    loss : float
        Mean over queries of KL(p || r).
    dFq : ndarray of shape (n_queries, nbits)
    dFp : ndarray of shape (n_proxies, nbits)
        Zero rows for proxies that are nobody's neighbour.
    """
    n_queries, nbits = Fq.shape
    k = neighbors.shape[1]
    dtype = Fq.dtype
    scale = 1.0 / (2 * nbits * hamming_temperature)
    # S_h / tau_h over the k neighbours; the constant 1/2 cancels in the softmax
    logits = np.einsum("bn,bkn->bk", Fq, Fp[neighbors]) * dtype.type(scale)
    logits -= logits.max(axis=1, keepdims=True)
    log_r = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0)
    loss = float((plogp - p * log_r).sum() / n_queries)
    # d loss / d logits = (r - p) / n_queries; chain through the scale
    coef = (np.exp(log_r) - p) * dtype.type(scale / n_queries)
    indptr = np.arange(0, n_queries * k + 1, k)
    G = sp.csr_matrix(
        (coef.ravel(), neighbors.ravel(), indptr), shape=(n_queries, Fp.shape[0])
    )
    dFq = np.asarray(G @ Fp, dtype=dtype)
    dFp = np.asarray(G.T @ Fq, dtype=dtype)
    return loss, dFq, dFp
