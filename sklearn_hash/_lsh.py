"""Random-hyperplane locality-sensitive hashing (Charikar 2002)."""

import numpy as np
from sklearn.utils import check_random_state

from ._base import BaseHasher
from ._compat import _fit_context
from ._linalg import random_orthonormal_projection


class LSH(BaseHasher):
    """Sign random projections: random-hyperplane locality-sensitive hashing.

    Each bit is the side of a random hyperplane on which a vector falls
    (Charikar's SimHash). For hyperplanes through the origin, the probability
    that two vectors get different bits is their angle divided by pi, so the
    Hamming distance between codes estimates the angle. The options are those a
    user of faiss's ``IndexLSH`` knows: a random rotation instead of Gaussian
    hyperplanes, centring, and per-bit thresholds trained as medians.

    Parameters
    ----------
    nbits : int, default=64
        Number of bits per code; any positive integer, also larger than the
        number of features.
    rotate : bool, default=False
        If False, hyperplane normals are i.i.d. Gaussian (Charikar). If True,
        they are the axes of a Haar-random rotation (orthonormal; for nbits
        larger than n_features, an isometric random embedding), as faiss's
        ``IndexLSH(d, nbits, rotate_data=True)``.
    center : bool, default=True
        Subtract the training mean before projecting, so hyperplanes pass
        through the data's centre rather than the origin. Ignored when
        ``train_thresholds=True`` (the median threshold subsumes it).
    train_thresholds : bool, default=False
        Use the median of each projection over the training data as that
        bit's threshold, so that every bit is balanced on the training set
        (faiss's ``train_thresholds``).
    random_state : int, RandomState instance or None, default=None
        Seed of the random projection. Pass an int for reproducible codes.

    Attributes
    ----------
    projection_ : ndarray of shape (n_features, nbits)
        Hyperplane normals, one column per bit.
    thresholds_ : ndarray of shape (nbits,)
        Bit ``i`` is 1 where ``X @ projection_[:, i] > thresholds_[i]``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    HammingNeighbors : Exact k-NN search over the codes.

    Notes
    -----
    For hyperplane normal :math:`w` with i.i.d. Gaussian entries and vectors
    :math:`x, y`, :math:`P[\\operatorname{sign}(w^T x) \\ne
    \\operatorname{sign}(w^T y)] = \\theta(x, y) / \\pi`, hence
    :math:`E[d_H] = \\text{nbits} \\cdot \\theta / \\pi`. Random rotations
    (``rotate=True``) give the same marginal per bit with less redundancy
    between bits while nbits <= n_features. Sparse input is accepted: centring
    is applied to the projections (:math:`(x - \\mu)^T W = x^T W - \\mu^T W`),
    so the input is never densified.

    ``decision_function(X)`` is ``X @ projection_ - thresholds_``: each
    projection minus its bit's threshold, that is the signed distance to the
    bit's hyperplane times the norm of its normal (about ``sqrt(n_features)``
    for Gaussian normals, 1 with ``rotate=True`` while nbits <= n_features).

    References
    ----------
    .. [1] M. S. Charikar, "Similarity estimation techniques from rounding
       algorithms", STOC 2002.
    .. [2] J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search
       with GPUs" (faiss), IEEE Trans. Big Data 2019; ``faiss.IndexLSH``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import LSH
    >>> X = np.random.RandomState(0).standard_normal((100, 16))
    >>> codes = LSH(nbits=12, random_state=0).fit_transform(X)
    >>> codes.shape, codes.dtype
    ((100, 2), dtype('uint8'))
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "rotate": ["boolean"],
        "center": ["boolean"],
        "train_thresholds": ["boolean"],
        "random_state": ["random_state"],
    }
    _accepts_sparse = True

    def __init__(
        self,
        nbits=64,
        *,
        rotate=False,
        center=True,
        train_thresholds=False,
        random_state=None,
    ):
        self.nbits = nbits
        self.rotate = rotate
        self.center = center
        self.train_thresholds = train_thresholds
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Draw the hyperplanes and, if asked, learn the thresholds.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors.
        y : None
            Ignored.

        Returns
        -------
        self : LSH
            Fitted hasher.
        """
        X = self._validate_input(X, reset=True)
        n_features = X.shape[1]
        rng = check_random_state(self.random_state)
        if self.rotate:
            projection = random_orthonormal_projection(n_features, self.nbits, rng)
        else:
            projection = rng.standard_normal((n_features, self.nbits))
        self.projection_ = projection.astype(X.dtype, copy=False)
        if self.train_thresholds:
            self.thresholds_ = np.median(X @ self.projection_, axis=0)
        elif self.center:
            mean = np.asarray(X.mean(axis=0)).ravel()
            self.thresholds_ = mean @ self.projection_
        else:
            self.thresholds_ = np.zeros(self.nbits, dtype=X.dtype)
        return self

    def _project(self, X):
        return X @ self.projection_ - self.thresholds_
