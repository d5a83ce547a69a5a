"""Base class of every hasher: parameter checks, packed output, tags, names."""

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._bits import n_bytes, pack_bits
from ._compat import Interval

FLOAT_DTYPES = (np.float64, np.float32)
# n_jobs as scikit-learn's OpenMP-based estimators take it: None, or a
# nonzero int (0 threads would fail only at the first search)
N_JOBS_CONSTRAINT = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]


class BaseHasher(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class for hashers that map float vectors to packed binary codes.

    Subclasses implement ``fit`` (ending with ``self`` fitted) and
    ``_project(X)``, which returns real values of shape (n_samples, nbits);
    ``decision_function`` returns them and bit ``i`` of a code is 1 where
    ``decision_function(X)[:, i] > 0``. ``transform`` packs those bits as
    documented in :func:`sklearn_hash.pack_bits`: uint8, shape
    ``(n_samples, ceil(nbits / 8))``, bit ``i`` in byte ``i // 8`` at
    position ``i % 8``, padding bits zero.
    """

    _parameter_constraints: dict = {
        "nbits": [Interval(Integral, 1, None, closed="left")],
    }
    # whether _validate_input accepts scipy.sparse matrices
    _accepts_sparse = False

    def _validate_input(self, X, *, reset):
        """Check X as float32/float64 (sparse where the method allows it)."""
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc"] if self._accepts_sparse else False,
            dtype=FLOAT_DTYPES,
        )

    def _project(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, X):
        """Real values whose signs are the bits of the codes.

        Column ``i`` is the signed score of bit ``i`` (each hasher's
        docstring says what it is: a projection minus its threshold, a
        sine, a network output), so that ``transform(X)`` equals
        ``pack_bits(decision_function(X) > 0)`` exactly. Their magnitudes say
        how far each projection is from its threshold: the asymmetric search
        (:class:`~sklearn_hash.neighbors.AsymmetricNeighbors`) scores them
        against database codes without binarizing the query.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to score.

        Returns
        -------
        values : ndarray of shape (n_samples, nbits), dtype float32 or float64
            Real values, in the precision the hasher computes them in.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._project(X)

    def transform(self, X):
        """Encode X as packed binary codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, ceil(nbits / 8)), dtype uint8
            Packed codes, little bit order, zero padding.
        """
        return pack_bits(self.decision_function(X) > 0)

    @property
    def _n_features_out(self):
        """One output feature per code byte (used by get_feature_names_out)."""
        return n_bytes(self.nbits)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accepts_sparse
        # output is uint8 codes whatever the input dtype
        tags.transformer_tags.preserves_dtype = []
        return tags
