"""Linear algebra shared by the hashers: random rotations and principal directions.

Every hasher module imports what it needs from here (and from ``_base``), never
from another hasher module, so the hashers stand side by side.
"""

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state, gen_batches

from ._compat import get_chunk_n_rows


def random_orthonormal_projection(n_features, nbits, random_state):
    """A (n_features, nbits) matrix from a Haar-random rotation.

    For ``nbits <= n_features`` its columns are orthonormal (a random
    rotation followed by keeping nbits coordinates); for ``nbits >
    n_features`` its rows are orthonormal (an isometric embedding into nbits
    dimensions), as faiss's ``RandomRotationMatrix`` does.
    """
    rng = check_random_state(random_state)
    tall = nbits <= n_features
    shape = (n_features, nbits) if tall else (nbits, n_features)
    q, r = np.linalg.qr(rng.standard_normal(shape))
    # sign fix makes the QR factor Haar-distributed
    q *= np.sign(np.diag(r))
    return q if tall else q.T


def principal_directions(X, n_components):
    """Mean and leading eigenvectors of the covariance of X, in float64.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data; sparse input is never densified (the covariance is formed as
        ``X^T X / n - mu mu^T``, a dense ``(n_features, n_features)`` array).
    n_components : int
        Number of directions, at most ``n_features``.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (n_features, n_components)
        Orthonormal columns, by decreasing variance. The sign of each column
        is fixed so that its entry of largest absolute value is positive (as
        :func:`sklearn.utils.extmath.svd_flip` does), so results do not
        depend on the LAPACK build.
    variances : ndarray of shape (n_components,)
        Variance of the data along each direction.
    """
    n_samples, n_features = X.shape
    if sparse.issparse(X):
        X = X.astype(np.float64)
        mean = np.asarray(X.mean(axis=0)).ravel()
        gram = (X.T @ X).toarray()
        cov = gram / n_samples - np.outer(mean, mean)
    else:
        mean = X.mean(axis=0, dtype=np.float64)
        cov = np.zeros((n_features, n_features))
        # centred float64 blocks (the block and its product) within working_memory
        block_rows = get_chunk_n_rows(row_bytes=16 * n_features, max_n_rows=n_samples)
        for rows in gen_batches(n_samples, block_rows):
            block = X[rows] - mean
            cov += block.T @ block
        cov /= n_samples
    variances, vectors = np.linalg.eigh(cov)
    order = np.argsort(variances, kind="stable")[::-1][:n_components]
    components = vectors[:, order]
    largest = np.argmax(np.abs(components), axis=0)
    signs = np.sign(components[largest, np.arange(components.shape[1])])
    signs[signs == 0] = 1.0
    components *= signs
    return mean, components, np.maximum(variances[order], 0.0)


def padded_principal_directions(X, nbits):
    """Mean, PCA directions and variances, padded with zero columns up to nbits."""
    n_features = X.shape[1]
    mean, components, variances = principal_directions(X, min(nbits, n_features))
    if nbits > n_features:
        padding = nbits - n_features
        components = np.hstack([components, np.zeros((n_features, padding))])
        variances = np.concatenate([variances, np.zeros(padding)])
    return mean, components, variances


def centred_projection(X, mean, directions):
    """``(X - mean) @ directions`` without densifying sparse X."""
    return np.asarray(X @ directions) - mean @ directions


def itq_rotation(V, n_iter, random_state):
    """Alternating minimisation of the ITQ quantisation loss.

    Parameters
    ----------
    V : ndarray of shape (n_samples, nbits)
        Zero-centred, PCA-projected training data.
    n_iter : int
        Number of rotation updates.
    random_state : int, RandomState instance or None
        Seed of the Haar-random initial rotation.

    Returns
    -------
    rotation : ndarray of shape (nbits, nbits)
        Orthogonal matrix R after ``n_iter`` updates.
    losses : ndarray of shape (n_iter + 1,)
        ``||sign(V R_t) - V R_t||_F^2 / n_samples`` for the initial
        rotation ``R_0`` and after each update ``R_1 ... R_{n_iter}``.
    """
    n_samples, nbits = V.shape
    rotation = random_orthonormal_projection(nbits, nbits, random_state)
    losses = np.empty(n_iter + 1)
    for t in range(n_iter + 1):
        rotated = V @ rotation
        # the authors' sign: 0 maps to +1 (ITQ.m: UX(Z >= 0) = 1)
        codes = np.where(rotated >= 0, 1.0, -1.0)
        losses[t] = np.sum((codes - rotated) ** 2) / n_samples
        if t == n_iter:
            break
        # orthogonal Procrustes: R = argmax tr(B^T V R) = S_hat Omega^T,
        # with B^T V = Omega Sigma S_hat^T
        u, _, vt = np.linalg.svd(codes.T @ V)
        rotation = vt.T @ u.T
    return rotation, losses


def itq_projection(X, nbits, n_iter, random_state):
    """ITQ's learned linear map: padded PCA, then the ITQ rotation.

    Returns ``(mean, components, rotation, losses)``; a code bit is
    ``(X - mean) @ components @ rotation > 0``.
    """
    mean, components, _ = padded_principal_directions(X, nbits)
    V = centred_projection(X, mean, components)
    rotation, losses = itq_rotation(V, n_iter, random_state)
    return mean, components, rotation, losses
