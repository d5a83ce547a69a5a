"""Recall scorers for GridSearchCV and cross_validate over neighbour search."""

from numbers import Integral

import numpy as np
from sklearn.base import clone

from .._compat import Interval, StrOptions, validate_params
from ._base import _codes_and_index
from ._recall import recall_at_r_curve


class _RecallScorer:
    """Callable ``scorer(estimator, X, y)``; built by :func:`make_recall_scorer`."""

    def __init__(self, k, n_true, database):
        self.k = k
        self.n_true = n_true
        self.database = database

    def __repr__(self):
        return (
            f"make_recall_scorer(k={self.k}, n_true={self.n_true}, "
            f"database={self.database!r})"
        )

    def _retrieve(self, estimator, X):
        if self.database == "train":
            retrieved = np.asarray(estimator.predict(X))
            if retrieved.ndim != 2 or retrieved.shape[1] < self.k:
                raise ValueError(
                    f"the estimator's predict returned shape {retrieved.shape}, "
                    f"fewer than k={self.k} neighbours per query: set "
                    f"n_neighbors >= {self.k} in its "
                    "HammingNeighbors step"
                )
            return retrieved[:, : self.k]
        # database="test": index the test fold's codes, query each against the rest
        codes, index = _codes_and_index(estimator, X)
        index = clone(index).fit(codes)
        return index.kneighbors(None, n_neighbors=self.k, return_distance=False)

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Recall of ``estimator`` on queries ``X`` with ground truth ``y_true``."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by recall scorers")
        retrieved = self._retrieve(estimator, X)
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        n_true = self.n_true or self.k
        if y_true.ndim == 2 and n_true > y_true.shape[1]:
            raise ValueError(
                f"y has {y_true.shape[1]} ground-truth neighbours per query, "
                "fewer than "
                f"n_true={n_true}: compute more (n_neighbors of the split helper)"
            )
        return float(recall_at_r_curve(y_true, retrieved, n_true=n_true)[1][-1])


@validate_params(
    {
        "k": [Interval(Integral, 1, None, closed="left")],
        "n_true": [Interval(Integral, 1, None, closed="left"), None],
        "database": [StrOptions({"train", "test"})],
    },
    prefer_skip_nested_validation=True,
)
def make_recall_scorer(k=10, *, n_true=None, database="train"):
    """Make a recall scorer for ``scoring=`` in GridSearchCV or cross_validate.

    The scorer calls ``scorer(estimator, X, y)`` with a fitted search
    estimator (typically ``make_pipeline(hasher, HammingNeighbors())``), the
    query rows ``X`` of a test fold and their ground truth ``y`` (indices of
    true neighbours, nearest first), and returns the fraction of the true
    ``n_true`` nearest neighbours found among the top ``k`` retrieved, averaged
    over queries. Higher is better.

    Parameters
    ----------
    k : int, default=10
        Number of retrieved neighbours looked at (R).
    n_true : int, default=None
        Number of true neighbours to find; ``None`` means ``k`` (k-recall@k,
        :func:`recall_at_k`). ``n_true=1`` gives the 1-recall@k of faiss
        (:func:`one_recall_at_r`).
    database : {"train", "test"}, default="train"
        What the queries are searched in.

        - ``"train"``: the fitted estimator's own index (its training fold),
          through ``estimator.predict(X)``, which must return at least ``k``
          indices per query. This is the split of
          :func:`~sklearn_hash.model_selection.query_database_split`: train
          fold = database, test fold = queries, ``y`` = indices into the
          database.
        - ``"test"``: the test fold is both database and queries. The
          estimator's transformer steps encode ``X``, a clone of its last
          step indexes those codes and each query is searched among the
          others (itself excluded, the ``kneighbors(X=None)`` rule). ``y``
          holds indices *within the test fold*, as made by
          :func:`~sklearn_hash.model_selection.kfold_neighbors_split`. This
          scores how codes learned on the training folds generalise to
          unseen data. Not meant for asymmetric hashers, whose database
          codes differ from their query codes.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float`` in [0, 1].

    See Also
    --------
    recall_at_k : The measure for ``n_true = k``.
    sklearn_hash.model_selection.query_database_split : (X, y, cv) with
        database="train".
    sklearn_hash.model_selection.kfold_neighbors_split : (X, y, cv) with
        database="test".

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the recall measures).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hash import LSH, HammingNeighbors
    >>> from sklearn_hash.datasets import load_sift_skimage
    >>> from sklearn_hash.metrics import make_recall_scorer
    >>> from sklearn_hash.model_selection import query_database_split
    >>> data = load_sift_skimage()
    >>> X, y, cv = query_database_split(
    ...     data.base[:5000], data.query[:100], n_neighbors=10
    ... )
    >>> pipe = make_pipeline(LSH(random_state=0), HammingNeighbors(n_neighbors=100))
    >>> search = GridSearchCV(pipe, {"lsh__nbits": [16, 64]}, cv=cv, refit=False,
    ...                       scoring=make_recall_scorer(k=100, n_true=10)).fit(X, y)
    >>> search.best_params_
    {'lsh__nbits': 64}
    """
    return _RecallScorer(k, n_true, database)
