"""What the searches that hold their hasher share: fitting it, the codes it
returns, scikit-learn's X=None rule, and the predict / score pair."""

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator

from .._compat import validate_parameter_constraints


def _described(codes):
    if isinstance(codes, np.ndarray):
        return f"an array of dtype {codes.dtype} and shape {codes.shape}"
    return type(codes).__name__


def checked_codes(codes, n_rows, hasher):
    """``codes`` if they are packed binary codes of ``n_rows`` vectors, else a
    TypeError saying that ``hasher`` is not a hasher."""
    if (
        not isinstance(codes, np.ndarray)
        or codes.dtype != np.uint8
        or codes.ndim != 2
        or codes.shape[0] != n_rows
    ):
        raise TypeError(
            "hasher must encode vectors as packed binary codes (uint8, one row per "
            f"vector), such as SignHashing or ITQ; {type(hasher).__name__} "
            f"returned {_described(codes)}"
        )
    return codes


def fit_hasher(hasher, X):
    """The fitted hasher and the database codes of X.

    A clone of ``hasher`` is fitted on X and its ``fit_transform`` gives the
    codes (an asymmetric hasher's learned database codes); a
    :class:`~sklearn.frozen.FrozenEstimator` is used as is, the codes coming
    from its ``encode_database`` where it has one, else from ``transform``.
    """
    if isinstance(hasher, type):
        raise TypeError(
            f"The 'hasher' parameter must be an estimator instance, got the class "
            f"{hasher.__name__}; pass {hasher.__name__}() instead"
        )
    fitted = clone(hasher)
    if isinstance(fitted, FrozenEstimator):
        encode = getattr(fitted, "encode_database", fitted.transform)
        return fitted, checked_codes(encode(X), len(X), hasher)
    return fitted, checked_codes(fitted.fit_transform(X), len(X), hasher)


def check_search_params(search, names):
    """Validate ``search``'s parameters ``names`` against its constraints: the
    ones a search reads, which ``set_params`` may have changed since fit (all
    of them would cost a search about 70 us)."""
    validate_parameter_constraints(
        {name: search._parameter_constraints[name] for name in names},
        {name: getattr(search, name) for name in names},
        caller_name=type(search).__name__,
    )


def checked_values(values, n_rows, n_bits=None):
    """The hasher's decision values as a finite real 2-D array of ``n_rows``
    rows (and ``n_bits`` columns when given), else a ValueError saying what
    it returned."""
    values = np.asarray(values)
    shape = f"({n_rows}, {n_bits if n_bits is not None else 'n_bits'})"
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"the hasher's decision_function must return real numbers; it returned "
            f"dtype {values.dtype}"
        )
    if (
        values.ndim != 2
        or len(values) != n_rows
        or (n_bits is not None and values.shape[1] != n_bits)
    ):
        raise ValueError(
            f"the hasher's decision_function returned shape {values.shape}; "
            f"expected {shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError(
            "the hasher's decision_function returned NaN or infinite values "
            "for some rows; check the vectors' scale"
        )
    return values


def decision_width(hasher, X):
    """Columns of the fitted hasher's ``decision_function`` (its code bits)."""
    return checked_values(hasher.decision_function(X[:1]), 1).shape[1]


def without_self(own, indices, *columns):
    """Drop each row's own index (scikit-learn's X=None rule).

    Rows searched one neighbour too many: each drops its own database index
    ``own[i]``, or its last entry when ties pushed its own index out.
    ``columns`` (e.g. the distances) lose the same entries.
    """
    is_own = indices == own[:, None]
    is_own[~is_own.any(axis=1), -1] = True
    shape = (len(own), indices.shape[1] - 1)
    return tuple(a[~is_own].reshape(shape) for a in (indices, *columns))


class NeighborsPredictScoreMixin:
    """``predict`` (neighbour indices) and ``score`` (their recall) of a search
    whose ``kneighbors`` takes vectors."""

    def predict(self, X):
        """Return indices of the ``n_neighbors`` nearest database vectors per query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query vectors.

        Returns
        -------
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Ordered by (distance, index).
        """
        return self.kneighbors(X, return_distance=False)

    def score(self, X, y, sample_weight=None):
        """Recall of the retrieved neighbours against ground-truth indices.

        As :meth:`HammingNeighbors.score`: with ``k = n_neighbors``, the
        k-recall@k if ``y`` has at least k columns, the 1-recall@k if it has
        one column (or is 1-D).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query vectors.
        y : array-like of shape (n_queries,) or (n_queries, n_true)
            Ground-truth neighbour indices into the database, nearest first.
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
            Recall in [0, 1].
        """
        if sample_weight is not None:
            raise ValueError(
                f"sample_weight is not supported by {type(self).__name__}.score"
            )
        from ..metrics._recall import neighbor_recall

        return neighbor_recall(y, self.predict(X))
