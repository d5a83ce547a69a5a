"""Iterative quantization (Gong & Lazebnik 2011) and its PCA-hashing baseline."""

import warnings
from numbers import Integral

from sklearn.utils import check_random_state

from ._base import BaseHasher
from ._compat import Interval, _fit_context
from ._linalg import centred_projection, itq_projection, padded_principal_directions


class ITQ(BaseHasher):
    """Iterative quantization: PCA followed by a learned rotation.

    The data are zero-centred and projected on their ``nbits`` leading
    principal directions; an orthogonal rotation of that projection is then
    learned to minimise the quantisation error between the rotated vectors
    and their signs, by alternating a sign step and an orthogonal Procrustes
    step from a random initial rotation. Bits are the signs of the rotated
    projection. This is PCA-ITQ, the unsupervised method of Gong & Lazebnik.

    Parameters
    ----------
    nbits : int, default=64
        Number of bits per code; any positive integer (see Notes for
        ``nbits > n_features``).
    n_iter : int, default=50
        Number of alternations (rotation updates). 0 keeps the random initial
        rotation, which is the paper's "PCA-RR" baseline.
    random_state : int, RandomState instance or None, default=None
        Seed of the Haar-random initial rotation. Pass an int for
        reproducible codes.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean, subtracted before projecting.
    components_ : ndarray of shape (n_features, nbits)
        Principal directions, one column each, by decreasing variance
        (zero columns beyond ``n_features``).
    rotation_ : ndarray of shape (nbits, nbits)
        The learned orthogonal rotation R.
    projection_ : ndarray of shape (n_features, nbits)
        ``components_ @ rotation_``: bit ``i`` is 1 where
        ``(X - mean_) @ projection_[:, i] > 0``.
    loss_curve_ : ndarray of shape (n_iter + 1,)
        Quantisation loss :math:`\\|B - V R\\|_F^2 / n` on the training set,
        with :math:`B = \\operatorname{sgn}(V R)`, for the initial rotation
        (entry 0) and after each update. It never increases.
    n_iter_ : int
        Number of rotation updates performed (equal to ``n_iter``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    PCAHashing : The same PCA projection without rotation (PCA-Direct).
    SpectralHashing : Sinusoidal thresholds of the PCA projection.
    LSH : Random hyperplanes, the data-independent baseline.
    HammingNeighbors : Exact k-NN search over the codes.

    Notes
    -----
    With :math:`X` the centred training data (n x d), :math:`W` its top
    ``nbits`` principal directions and :math:`V = X W`, ITQ minimises the
    quantisation loss

    .. math:: Q(B, R) = \\| B - V R \\|_F^2, \\qquad
              B \\in \\{-1, 1\\}^{n \\times \\text{nbits}}, \\; R^T R = I,

    by alternation from a Haar-random orthogonal :math:`R_0`:

    - fix R: :math:`B = \\operatorname{sgn}(V R)` (0 maps to +1, as in the
      authors' code);
    - fix B: with the SVD :math:`B^T V = \\Omega \\Sigma \\hat S^T`, the
      orthogonal Procrustes solution is :math:`R = \\hat S \\Omega^T`.

    Each step cannot increase Q, so ``loss_curve_`` is non-increasing.
    Codes of new vectors are :math:`\\operatorname{sgn}((x - \\mu)^T W R)`.

    Differences from the authors' reference code (``ITQ.m`` and its demo
    script), all deliberate:

    - ``n_iter`` counts rotation updates: 50 updates by default, as faiss's
      ``ITQMatrix.max_iter``; the authors' loop ``for iter=0:n_iter``
      performs ``n_iter + 1``.
    - The initial rotation is drawn by QR of a Gaussian matrix with sign
      correction (Haar measure); the authors take the left singular vectors
      of a Gaussian matrix, which is also a random orthogonal matrix.
    - PCA uses the (biased) covariance's eigenvectors in float64 with a
      deterministic sign convention; signs do not change what ITQ can learn
      (the rotation absorbs them) but make the fit reproducible.
    - ``nbits > n_features``: PCA yields only ``n_features`` directions. As
      faiss's ``OPQMatrix`` does for ``d_out > d_in``, V is padded with zero
      columns to ``nbits``; the random rotation then embeds the data
      isometrically in ``nbits`` dimensions (like ``LSH(rotate=True)``) and
      ITQ optimises that embedding. faiss's ``ITQTransform`` raises an error
      in this case instead. This works but is no strength of ITQ:
      ``LSH(rotate=True, train_thresholds=True)`` is the better choice for
      codes longer than the dimension (measured in the user guide's
      benchmarks).
    - faiss's ``ITQTransform`` also L2-normalises the centred training
      vectors before PCA and subsamples to ``max(32768, 10 d)`` points;
      neither is in the paper, so neither is done here.

    Sparse input is accepted; the covariance is a dense
    ``(n_features, n_features)`` array, so memory grows with the square of
    the number of features.

    ``decision_function(X)`` is ``(X - mean_) @ projection_``, the centred
    projection on the rotated principal directions, in the input's
    precision. While nbits <= n_features the columns of ``projection_`` are
    unit vectors, so each value is the signed distance from x to the bit's
    hyperplane through the training mean; for longer codes their norms are
    at most 1 and differ between bits.

    For asymmetric search (:class:`AsymmetricNeighbors`), ``n_iter=0``
    scored as high as the learned rotation or higher in every benchmark
    measured (user guide), by 0.07-0.09 1-recall@10 on SIFT descriptors.
    There the quantisation loss is lowered by splitting a dominant direction
    between two bits at 45 degrees, whose signs then nearly always agree:
    9 to 48 bit pairs of ITQ's codes correlate above 0.5 (up to 0.98), none
    of PCA-RR's.

    References
    ----------
    .. [1] Y. Gong, S. Lazebnik, "Iterative quantization: a Procrustean
       approach to learning binary codes", CVPR 2011.
    .. [2] Y. Gong, S. Lazebnik, A. Gordo, F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import ITQ
    >>> X = np.random.RandomState(0).standard_normal((200, 16))
    >>> itq = ITQ(nbits=8, random_state=0).fit(X)
    >>> itq.transform(X).shape
    (200, 1)
    >>> bool(np.all(np.diff(itq.loss_curve_) <= 1e-9))
    True
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }
    _accepts_sparse = True

    def __init__(self, nbits=64, *, n_iter=50, random_state=None):
        self.nbits = nbits
        self.n_iter = n_iter
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the PCA directions and the ITQ rotation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors.
        y : None
            Ignored.

        Returns
        -------
        self : ITQ
            Fitted hasher.
        """
        X = self._validate_input(X, reset=True)
        rng = check_random_state(self.random_state)
        self.mean_, self.components_, self.rotation_, self.loss_curve_ = itq_projection(
            X, self.nbits, self.n_iter, rng
        )
        self.projection_ = self.components_ @ self.rotation_
        self.n_iter_ = self.n_iter
        return self

    def _project(self, X):
        return centred_projection(
            X, self.mean_.astype(X.dtype), self.projection_.astype(X.dtype)
        )


class PCAHashing(BaseHasher):
    """PCA hashing: the sign of the leading principal components.

    Each bit is the sign of the (centred) projection on one principal
    direction, in order of decreasing variance. This is the "PCA-Direct"
    baseline of the ITQ paper (no rotation), also called PCAH.

    Parameters
    ----------
    nbits : int, default=64
        Number of bits per code. Only ``n_features`` principal directions
        exist: bits beyond ``n_features`` are constant zeros (a warning says
        so).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean, subtracted before projecting.
    components_ : ndarray of shape (n_features, nbits)
        Principal directions by decreasing variance; bit ``i`` is 1 where
        ``(X - mean_) @ components_[:, i] > 0``. Columns beyond
        ``n_features`` are zero.
    explained_variance_ : ndarray of shape (nbits,)
        Training variance along each direction (biased estimate, divided by
        n_samples).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    ITQ : The same projection followed by a learned rotation.
    SpectralHashing : Several thresholds per principal direction.

    Notes
    -----
    With :math:`\\mu` the training mean and :math:`w_i` the eigenvector of
    the covariance with the i-th largest eigenvalue,
    :math:`b_i(x) = \\mathbb{1}[(x - \\mu)^T w_i > 0]`. The variance of the
    directions falls quickly, so the later bits carry little information and
    long codes gain little: the imbalance that ITQ's rotation corrects.
    The sign of each direction is fixed deterministically (largest absolute
    entry positive); it flips the corresponding bit on every vector and does
    not change Hamming distances. Sparse input is accepted (dense
    ``(n_features, n_features)`` covariance).

    ``decision_function(X)`` is ``(X - mean_) @ components_``, the principal
    component scores, in the input's precision: the signed distance from x
    to the hyperplane through the training mean orthogonal to each
    direction. Bits beyond ``n_features`` score exactly 0, hence bit 0.

    References
    ----------
    .. [1] Y. Gong, S. Lazebnik, "Iterative quantization: a Procrustean
       approach to learning binary codes", CVPR 2011 (PCA-Direct baseline).
    .. [2] J. Wang, S. Kumar, S.-F. Chang, "Semi-supervised hashing for
       large-scale search", IEEE TPAMI 34(12), 2012 (PCAH).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import PCAHashing
    >>> X = np.random.RandomState(0).standard_normal((200, 16))
    >>> PCAHashing(nbits=8).fit_transform(X).shape
    (200, 1)
    """

    _parameter_constraints: dict = {**BaseHasher._parameter_constraints}
    _accepts_sparse = True

    def __init__(self, nbits=64):
        self.nbits = nbits

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the mean and principal directions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors.
        y : None
            Ignored.

        Returns
        -------
        self : PCAHashing
            Fitted hasher.
        """
        X = self._validate_input(X, reset=True)
        if self.nbits > X.shape[1]:
            warnings.warn(
                f"PCAHashing has only n_features={X.shape[1]} principal directions; "
                f"bits {X.shape[1]} to {self.nbits - 1} of the nbits={self.nbits} "
                "are constant zeros. Use LSH(rotate=True, train_thresholds=True) for "
                "codes longer than the dimension.",
                UserWarning,
                stacklevel=2,
            )
        self.mean_, self.components_, variances = padded_principal_directions(
            X, self.nbits
        )
        self.explained_variance_ = variances
        return self

    def _project(self, X):
        return centred_projection(
            X, self.mean_.astype(X.dtype), self.components_.astype(X.dtype)
        )
