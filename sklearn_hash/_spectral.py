"""Spectral hashing (Weiss, Torralba & Fergus 2008)."""

from numbers import Integral

import numpy as np

from ._base import BaseHasher
from ._compat import Interval, _fit_context
from ._linalg import principal_directions


class SpectralHashing(BaseHasher):
    """Spectral hashing: thresholded Laplacian eigenfunctions of a box.

    The data are projected on their leading principal directions and
    modelled as uniformly distributed in the bounding box of the projection.
    The eigenfunctions of the weighted Laplacian of that distribution are
    known in closed form (products of 1-D sinusoids); spectral hashing keeps
    the ``nbits`` one-dimensional eigenfunctions with the smallest
    eigenvalues, over every direction and every frequency, and each bit is
    the sign of one of them. This is the authors' out-of-sample algorithm
    (``trainSH.m`` / ``compressSH.m``), without randomness.

    Parameters
    ----------
    nbits : int, default=64
        Number of bits per code; any positive integer.
    n_components : int, default=None
        Number of principal directions. ``None`` means
        ``min(nbits, n_features)``, the authors' choice. Must not exceed
        ``n_features``.

    Attributes
    ----------
    components_ : ndarray of shape (n_features, n_components)
        Principal directions by decreasing variance (eigenvectors of the
        training covariance, sign fixed so that the largest absolute entry
        is positive).
    min_ : ndarray of shape (n_components,)
        Lower corner of the bounding box of ``X @ components_`` on the
        training set, minus machine epsilon.
    max_ : ndarray of shape (n_components,)
        Upper corner of the box, plus machine epsilon.
    modes_ : ndarray of shape (nbits, n_components), dtype int
        Selected eigenfunctions, one per row, in the authors' layout: row
        ``i`` holds the frequency ``k >= 1`` of bit ``i`` in the column of its
        direction and zeros elsewhere.
    eigenvalues_ : ndarray of shape (nbits,)
        :math:`\\omega_i^2 = (k \\pi / (b - a))^2` of each selected
        eigenfunction, non-decreasing: the quantity by which the authors'
        code ranks them.
    n_components_ : int
        Number of principal directions used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    ITQ : PCA followed by a learned rotation and one sign per direction.
    PCAHashing : One sign per principal direction.
    LSH : Random hyperplanes, the data-independent baseline.

    Notes
    -----
    Fit (``trainSH``), for training data X:

    1. :math:`W` = the ``n_components`` leading eigenvectors of the
       covariance of X; :math:`P = X W` (not centred, as in the authors'
       code: the box below absorbs the mean).
    2. Box: :math:`a_j = \\min_n P_{nj} - \\epsilon`,
       :math:`b_j = \\max_n P_{nj} + \\epsilon`, with :math:`\\epsilon` the
       float64 machine epsilon (MATLAB's ``eps``); :math:`R_j = b_j - a_j`.
    3. For a uniform density on :math:`[a, b]`, the 1-D eigenfunctions and
       eigenvalues of the Laplacian (kernel width :math:`\\varepsilon`) are

       .. math:: \\Phi_k(x) = \\sin\\left(\\frac{\\pi}{2}
                 + \\frac{k \\pi}{b - a} (x - a)\\right), \\qquad
                 \\lambda_k = 1 - e^{-\\frac{\\varepsilon^2}{2}
                 \\left|\\frac{k \\pi}{b - a}\\right|^2},

       so ranking by :math:`\\lambda_k` is ranking by
       :math:`\\omega^2 = (k \\pi / R_j)^2`. Candidates are
       :math:`k = 1, \\dots, m_j - 1` on direction j, with
       :math:`m_j = \\lceil (\\text{nbits} + 1) R_j / \\max_l R_l \\rceil`,
       enough for the longest direction to supply all ``nbits``.
    4. The trivial :math:`k = 0` eigenfunction is dropped and the ``nbits``
       candidates of smallest :math:`\\omega^2` are kept (stable sort: ties
       go to the earlier direction, then the lower frequency, as MATLAB's
       ``sort`` does on the authors' list).

    Encode (``compressSH``): bit i, on direction j with frequency k, is

    .. math:: b_i(x) = \\mathbb{1}\\left[\\sin\\left(\\frac{\\pi}{2}
              + \\frac{k \\pi}{R_j} \\left((x^T W)_j - a_j\\right)\\right)
              > 0\\right].

    Only single-direction eigenfunctions are candidates, as in the paper's
    algorithm; the authors' code computes bit i as a product over all
    directions of :math:`\\sin(\\pi/2 + \\omega_{ij} \\cdot)`, whose factors are
    1 for every direction but one, which is the formula above.

    Differences from the reference code: PCA uses a full eigendecomposition
    of the (biased) covariance in float64 instead of ``eigs`` and fixes each
    direction's sign (with MATLAB the sign is whatever ``eigs`` returns; a
    flipped direction flips every odd-frequency bit on every vector and so
    leaves Hamming distances unchanged). A direction on which every training
    point has the same projection gets no candidate (the authors' code does
    not handle it); a training set without two distinct points is an error.
    Bits are 1 where the eigenfunction is strictly positive, as
    ``compressSH``'s ``U > 0``; the bit layout is that of the authors'
    ``compactbit`` (bit i in byte i // 8 at position i % 8). Encoding runs in
    the input's precision: float32 input gives float32 phases, which can flip
    a bit only for points within about 1e-4 rad of a zero of the
    eigenfunction (a few in 10^8 bits on SIFT).

    Spectral hashing is deterministic; it has no ``random_state``. Its
    thresholds assume a uniform distribution. On real data it beats random
    projections at short codes; at long codes, when there are fewer
    informative directions than bits, it spends bits on ever higher
    frequencies of the same directions and falls behind LSH and ITQ (the
    ITQ paper reports this; the benchmarks show it on SIFT). Sparse input is
    accepted (dense ``(n_features, n_features)`` covariance).

    ``decision_function(X)`` is the value of the eigenfunction in
    :math:`b_i(x)` above, in [-1, 1] and in the input's precision. Its
    magnitude is :math:`|\\sin(k \\pi \\delta / R_j)|`, with :math:`\\delta` the
    distance from x to the nearest hyperplane where bit i flips (a zero of
    the eigenfunction along direction j): 1 midway between two such zeros.

    References
    ----------
    .. [1] Y. Weiss, A. Torralba, R. Fergus, "Spectral hashing", NIPS 2008.
    .. [2] Y. Gong, S. Lazebnik, "Iterative quantization: a Procrustean
       approach to learning binary codes", CVPR 2011 (comparison with SH).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import SpectralHashing
    >>> X = np.random.RandomState(0).uniform(size=(500, 3)) * [4.0, 2.5, 1.0]
    >>> sh = SpectralHashing(nbits=5).fit(X)
    >>> sh.modes_
    array([[1, 0, 0],
           [0, 1, 0],
           [2, 0, 0],
           [3, 0, 0],
           [0, 2, 0]])
    >>> sh.transform(X).shape
    (500, 1)
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
    }
    _accepts_sparse = True

    def __init__(self, nbits=64, *, n_components=None):
        self.nbits = nbits
        self.n_components = n_components

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the principal directions, the box and the eigenfunctions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors.
        y : None
            Ignored.

        Returns
        -------
        self : SpectralHashing
            Fitted hasher.
        """
        X = self._validate_input(X, reset=True)
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(
                f"SpectralHashing needs at least 2 samples to fit the data's box, "
                f"got n_samples={n_samples}."
            )
        if self.n_components is None:
            n_components = min(self.nbits, n_features)
        elif self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be at most "
                f"n_features={n_features}."
            )
        else:
            n_components = self.n_components
        _, self.components_, _ = principal_directions(X, n_components)
        projected = np.asarray(X @ self.components_, dtype=np.float64)
        spread = projected.max(axis=0) - projected.min(axis=0)
        if not np.any(spread > 0):
            raise ValueError(
                "SpectralHashing needs training data with at least two distinct "
                "points; every sample is identical."
            )
        eps = np.finfo(np.float64).eps
        self.min_ = projected.min(axis=0) - eps
        self.max_ = projected.max(axis=0) + eps
        ranges = self.max_ - self.min_
        longest = np.max(ranges[spread > 0])
        max_modes = np.where(
            spread > 0, np.ceil((self.nbits + 1) * ranges / longest), 0
        ).astype(np.int64)
        # candidates in the authors' order: direction by direction, k ascending
        directions = np.repeat(np.arange(n_components), np.maximum(max_modes - 1, 0))
        frequencies = np.concatenate(
            [np.arange(1, m, dtype=np.int64) for m in max_modes]
        )
        omegas_squared = (frequencies * (np.pi / ranges[directions])) ** 2
        keep = np.argsort(omegas_squared, kind="stable")[: self.nbits]
        self.modes_ = np.zeros((self.nbits, n_components), dtype=np.int64)
        self.modes_[np.arange(self.nbits), directions[keep]] = frequencies[keep]
        self.eigenvalues_ = omegas_squared[keep]
        self.n_components_ = n_components
        return self

    def _project(self, X):
        directions = np.argmax(self.modes_, axis=1)
        frequencies = self.modes_[np.arange(self.nbits), directions]
        omegas = frequencies * np.pi / (self.max_ - self.min_)[directions]
        # the phase omega_i ((x^T W)_j - a_j) is linear in x: one product, in
        # the input's precision (float32 sines are an order of magnitude
        # faster; only points within ~1e-4 rad of a zero can change bit)
        dtype = X.dtype
        weights = (self.components_[:, directions] * omegas).astype(dtype)
        offsets = (omegas * self.min_[directions]).astype(dtype)
        phases = np.asarray(X @ weights) - offsets
        return np.sin(dtype.type(np.pi / 2) + phases)
