"""Binary quantization: one bit per coordinate, the sign of the vector."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseHasher
from ._bits import n_bytes
from ._compat import _fit_context


class SignHashing(BaseHasher):
    """Binary quantization: bit ``i`` is 1 where coordinate ``i`` is positive.

    The simplest hasher and the one vector databases apply to sentence and
    image embeddings under the name *binary quantization*: a float vector of
    ``d`` dimensions becomes a ``d``-bit code (``ceil(d / 8)`` bytes, 32x less
    than float32), compared by Hamming distance. Nothing is learned but,
    optionally, the training mean. It is usually followed by exact
    re-scoring of the best Hamming candidates with the original vectors
    (:class:`RerankNeighbors`), which recovers almost all of the recall lost.

    Parameters
    ----------
    center : bool, default=False
        Subtract the training mean before taking signs. ``False`` is the
        vector-database convention (sentence-transformers'
        ``quantize_embeddings(precision="binary")``, faiss's ``IndexLSH``
        without thresholds): codes do not depend on the training set. See
        Notes for when centring helps.

    Attributes
    ----------
    nbits_ : int
        Code length in bits, equal to ``n_features_in_``.
    mean_ : ndarray of shape (n_features,)
        Training mean subtracted before the sign (zeros if ``center=False``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    RerankNeighbors : Hamming candidates re-scored with the original vectors.
    LSH : Signs of random projections instead of the coordinates themselves.
    ITQ : Signs of a learned rotation of the PCA projections.

    Notes
    -----
    The code of :math:`x \\in \\mathbb{R}^d` is :math:`b_i = [x_i - \\mu_i >
    0]`, :math:`i = 1..d`, with :math:`\\mu` the training mean if ``center``
    else 0; a coordinate equal to the threshold gives bit 0. The Hamming
    distance counts the coordinates where two vectors lie on different sides
    of the threshold. For vectors whose coordinates are roughly symmetric
    around zero, as normalised embeddings from contrastive models are, it
    tracks their angle, which is why binary quantization of such embeddings
    keeps most of their neighbour structure.

    Centring helps when the coordinates are *not* centred on zero: for
    non-negative features (SIFT, pixel intensities, ReLU outputs, counts)
    every bit would otherwise be 1 wherever a coordinate is non-zero, and
    the codes of all vectors agree on most bits. For embeddings whose mean is
    close to zero it changes little, and it makes the codes depend on the
    training set.

    Unlike the other hashers, the code length is not a parameter: it is the
    number of input features.

    ``decision_function(X)`` is ``X - mean_`` with ``center=True``; without
    centring it is the validated input itself (not a copy when X is already
    a float32 or float64 array): each coordinate's signed distance to its
    threshold.

    References
    ----------
    .. [1] M. S. Charikar, "Similarity estimation techniques from rounding
       algorithms", STOC 2002 (the sign of a projection estimates the angle).
    .. [2] A. Shakir, T. Aarsen, S. Lee, "Binary and Scalar Embedding
       Quantization for Significantly Faster & Cheaper Retrieval", Hugging
       Face blog, 2024 (binary quantization with re-scoring;
       sentence-transformers' ``quantize_embeddings``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import SignHashing, unpack_bits
    >>> X = np.array([[0.5, -1.0, 2.0], [-0.1, 0.3, 0.0]])
    >>> codes = SignHashing().fit_transform(X)
    >>> codes.shape, codes.dtype
    ((2, 1), dtype('uint8'))
    >>> unpack_bits(codes, nbits=3).astype(int)
    array([[1, 0, 1],
           [0, 1, 0]])
    """

    _parameter_constraints: dict = {"center": ["boolean"]}

    def __init__(self, *, center=False):
        self.center = center

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number of features and, if ``center``, the mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.
        y : None
            Ignored.

        Returns
        -------
        self : SignHashing
            Fitted hasher.
        """
        X = self._validate_input(X, reset=True)
        self.nbits_ = X.shape[1]
        if self.center:
            self.mean_ = X.mean(axis=0)
        else:
            self.mean_ = np.zeros(X.shape[1], dtype=X.dtype)
        return self

    def _project(self, X):
        return X - self.mean_ if self.center else X

    @property
    def _n_features_out(self):
        """One output feature per code byte (used by get_feature_names_out)."""
        check_is_fitted(self)
        return n_bytes(self.nbits_)
