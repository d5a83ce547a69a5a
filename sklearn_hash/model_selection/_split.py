"""Turn a search problem into (X, y, cv) for GridSearchCV, with exact ground truth."""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import KFold, PredefinedSplit
from sklearn.utils import check_array

from .._compat import Interval, StrOptions, validate_params
from .._neighbors_exact import exact_kneighbors


@validate_params(
    {
        "database": ["array-like"],
        "queries": ["array-like", None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "return_distance": ["boolean"],
        "working_memory": [Interval(Real, 0, None, closed="neither"), None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def exact_neighbors(
    database,
    queries=None,
    *,
    n_neighbors=100,
    metric="euclidean",
    return_distance=False,
    working_memory=None,
    verbose=0,
):
    """Exact nearest neighbours in float space, by brute force in bounded blocks.

    The ground truth that hashers are scored against: for every query, the
    indices of its ``n_neighbors`` nearest database vectors in float64,
    ordered by distance, ties broken by the smaller index (the convention of
    ``gt_l2_100.npy`` and of :class:`~sklearn_hash.HammingNeighbors`).

    Queries are processed in blocks so that memory stays at about
    ``working_memory`` MiB whatever the number of queries. Within a block,
    candidates are found with the fast expansion
    :math:`\\|q\\|^2 - 2 q^\\top x + \\|x\\|^2` and their distances are then
    recomputed directly, so rounding in the expansion cannot change the
    result.

    Parameters
    ----------
    database : array-like of shape (n_database, n_features)
        Vectors searched.
    queries : array-like of shape (n_queries, n_features), default=None
        Query vectors. ``None`` queries the database against itself, each
        point excluded from its own neighbours (scikit-learn's
        ``kneighbors(X=None)`` rule).
    n_neighbors : int, default=100
        Neighbours per query.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Euclidean distance, or cosine distance ``1 - cos(q, x)`` (a zero
        vector is at distance 1 from everything).
    return_distance : bool, default=False
        Also return the distances (float64).
    working_memory : float, default=None
        Memory in MiB for one block of distances; ``None`` uses
        scikit-learn's ``working_memory`` setting
        (:func:`sklearn.set_config`, 1024 by default).
    verbose : int, default=0
        If positive, print a progress line to stderr about once per second.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), dtype float64
        Only if ``return_distance``.
    indices : ndarray of shape (n_queries, n_neighbors), dtype int64
        Indices into ``database``, nearest first.

    See Also
    --------
    query_database_split : (X, y, cv) for model selection, with this ground truth.
    sklearn.neighbors.NearestNeighbors : Exact search, without the memory bound.
    sklearn_hash.HammingNeighbors : Search among binary codes, same tie rule.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (exact ground truth of
       the ANN benchmarks SIFT1M and GIST1M).

    Examples
    --------
    >>> from sklearn_hash.model_selection import exact_neighbors
    >>> database = [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]
    >>> exact_neighbors(database, [[0.9, 0.0]], n_neighbors=2)
    array([[1, 0]])
    >>> exact_neighbors(database, n_neighbors=1)
    array([[1],
           [0],
           [1]])
    """
    database = check_array(database, dtype=np.float64, input_name="database")
    self_query = queries is None
    queries = (
        database
        if self_query
        else check_array(queries, dtype=np.float64, input_name="queries")
    )
    if queries.shape[1] != database.shape[1]:
        raise ValueError(
            f"queries have {queries.shape[1]} features but database has "
            f"{database.shape[1]}"
        )
    available = database.shape[0] - self_query
    if n_neighbors > available:
        raise ValueError(
            f"n_neighbors={n_neighbors} exceeds the {available} database vectors "
            "available" + (" (each point excludes itself)" if self_query else "")
        )
    distances, indices = exact_kneighbors(
        queries,
        database,
        n_neighbors,
        self_query=self_query,
        metric=metric,
        working_memory=working_memory,
        verbose=verbose,
    )
    return (distances, indices) if return_distance else indices


@validate_params(
    {
        "database": ["array-like"],
        "queries": ["array-like"],
        "ground_truth": ["array-like", None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def query_database_split(
    database,
    queries,
    ground_truth=None,
    *,
    n_neighbors=100,
    metric="euclidean",
    verbose=0,
):
    """Stack database and queries into one X with a single predefined split.

    Model-selection tools of scikit-learn score a model fitted on a training
    fold against a test fold. For neighbour search the training fold is the
    database (what a pipeline ending in :class:`~sklearn_hash.HammingNeighbors`
    indexes) and the test fold the queries, whose targets are the indices of
    their true neighbours in the database.

    Parameters
    ----------
    database : array-like of shape (n_database, n_features)
        Vectors to index.
    queries : array-like of shape (n_queries, n_features)
        Query vectors.
    ground_truth : array-like of shape (n_queries, n_true) or (n_queries,), default=None
        Indices into ``database`` of each query's exact nearest neighbours,
        nearest first. ``None`` computes them with :func:`exact_neighbors`.
    n_neighbors : int, default=100
        Neighbours computed per query when ``ground_truth`` is None.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the computed ground truth.
    verbose : int, default=0
        Progress of the ground-truth computation (see :func:`exact_neighbors`).

    Returns
    -------
    X : ndarray of shape (n_database + n_queries, n_features)
        Database rows first, then query rows.
    y : ndarray of shape (n_database + n_queries, n_true), dtype int64
        Ground truth on the query rows; ``-1`` filler on the database rows
        (never scored).
    cv : :class:`~sklearn.model_selection.PredefinedSplit`
        One split: train = database rows, test = query rows.

    See Also
    --------
    kfold_neighbors_split : K-fold splits, each test fold searched in itself.
    sklearn_hash.metrics.make_recall_scorer : The scorer for ``scoring=``.

    Notes
    -----
    Use ``refit=False`` in :class:`~sklearn.model_selection.GridSearchCV`:
    refitting on all of X would index the queries too. Read the winner from
    ``best_params_`` and fit it on the database.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (database / query
       evaluation protocol).
    .. [2] F. Pedregosa et al., "Scikit-learn: machine learning in Python",
       JMLR 12, 2011 (the model selection API).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hash import LSH, HammingNeighbors
    >>> from sklearn_hash.datasets import load_sift_skimage
    >>> from sklearn_hash.model_selection import query_database_split
    >>> data = load_sift_skimage()
    >>> X, y, cv = query_database_split(data.base, data.query, data.ground_truth[:, :1])
    >>> X.shape, y.shape, cv.get_n_splits()
    ((30570, 128), (30570, 1), 1)
    >>> pipe = make_pipeline(
    ...     LSH(nbits=32, random_state=0), HammingNeighbors(n_neighbors=10)
    ... )
    >>> search = GridSearchCV(pipe, {"lsh__nbits": [16, 64]}, cv=cv, refit=False)
    >>> search = search.fit(X, y)
    >>> search.best_params_
    {'lsh__nbits': 64}
    """
    database = np.asarray(database)
    queries = np.asarray(queries)
    if database.ndim != 2 or queries.ndim != 2 or database.shape[1] != queries.shape[1]:
        raise ValueError(
            "database and queries must be 2-D with the same number of features, got "
            f"shapes {database.shape} and {queries.shape}"
        )
    if ground_truth is None:
        ground_truth = exact_neighbors(
            database, queries, n_neighbors=n_neighbors, metric=metric, verbose=verbose
        )
    ground_truth = np.asarray(ground_truth)
    if ground_truth.ndim == 1:
        ground_truth = ground_truth[:, None]
    if ground_truth.ndim != 2 or ground_truth.shape[0] != queries.shape[0]:
        raise ValueError(
            f"ground_truth must have one row per query ({queries.shape[0]}), "
            f"got shape {ground_truth.shape}"
        )
    n_db, n_q = len(database), len(queries)
    if ground_truth.size and (ground_truth.min() < 0 or ground_truth.max() >= n_db):
        raise ValueError(f"ground_truth must hold indices in [0, {n_db}) into database")
    X = np.vstack([database, queries])
    y = np.vstack(
        [
            np.full((n_db, ground_truth.shape[1]), -1, dtype=np.int64),
            ground_truth.astype(np.int64),
        ]
    )
    cv = PredefinedSplit(np.r_[np.full(n_db, -1), np.zeros(n_q, dtype=int)])
    return X, y, cv


@validate_params(
    {
        "X": ["array-like"],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine"})],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def kfold_neighbors_split(
    X,
    *,
    n_splits=5,
    n_neighbors=10,
    metric="euclidean",
    shuffle=False,
    random_state=None,
    verbose=0,
):
    """K-fold (X, y, cv) where each test fold is searched as queries against itself.

    The ordinary K-fold use of a single vector set: the hasher is fitted on
    the training folds, then the held-out fold is encoded, indexed, and each
    of its points is queried against the other points of the same fold. This
    measures how well codes learned on some data serve unseen data, with no
    separate query set. Score it with
    ``make_recall_scorer(k, database="test")``; the estimator's own ``score``
    searches the training fold instead and does not fit this split.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The vectors.
    n_splits : int, default=5
        Number of folds, at least 2.
    n_neighbors : int, default=10
        Ground-truth neighbours per point, searched within its own fold
        (each fold needs more than ``n_neighbors`` points).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the ground truth.
    shuffle : bool, default=False
        Shuffle before splitting into folds (as
        :class:`~sklearn.model_selection.KFold`).
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle.
    verbose : int, default=0
        Progress of the ground-truth computation.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The vectors, unchanged in order.
    y : ndarray of shape (n_samples, n_neighbors), dtype int64
        Row ``i``: the exact neighbours of point ``i`` among the other points
        of its fold, as positions *within that fold* (the fold's points in
        increasing index order, as ``cv`` yields them), nearest first.
    cv : :class:`~sklearn.model_selection.PredefinedSplit`
        ``n_splits`` splits; test fold ``f`` is the points assigned to it.

    See Also
    --------
    query_database_split : Separate database and query sets.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hash import LSH, HammingNeighbors
    >>> from sklearn_hash.datasets import load_sift_skimage
    >>> from sklearn_hash.metrics import make_recall_scorer
    >>> from sklearn_hash.model_selection import kfold_neighbors_split
    >>> X, y, cv = kfold_neighbors_split(load_sift_skimage().base[:3000], n_splits=3)
    >>> pipe = make_pipeline(LSH(nbits=64, random_state=0), HammingNeighbors())
    >>> scores = cross_val_score(pipe, X, y, cv=cv,
    ...                          scoring=make_recall_scorer(k=10, database="test"))
    >>> scores.shape, bool(0.2 < scores.mean() < 0.9)
    ((3,), True)
    """
    X = check_array(X, dtype=None, input_name="X")
    test_fold = np.empty(len(X), dtype=np.int64)
    kfold = KFold(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
    for fold, (_, test) in enumerate(kfold.split(X)):
        test_fold[test] = fold
    y = np.empty((len(X), n_neighbors), dtype=np.int64)
    for fold in range(n_splits):
        members = np.flatnonzero(test_fold == fold)
        if len(members) <= n_neighbors:
            raise ValueError(
                f"fold {fold} has {len(members)} points, not more than "
                f"n_neighbors={n_neighbors}"
            )
        y[members] = exact_neighbors(
            X[members], n_neighbors=n_neighbors, metric=metric, verbose=verbose
        )
    return X, y, PredefinedSplit(test_fold)
