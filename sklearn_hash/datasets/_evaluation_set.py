"""A vector set named by a path, ready to evaluate hashers on (the main job's).

Dispatches on the kind of path to the loaders of :mod:`._loaders` and
:mod:`._embedded`, then settles the queries, the exact ground truth and the
vectors the hashers are fitted on. Private: ``python -m sklearn_hash`` and
the benchmarks call it; errors are ValueErrors naming the path.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._embedded import load_sift_skimage
from ._loaders import load_ann_benchmarks, load_vector_folder

# ann-benchmarks' "angular" is the cosine distance
_ANN_BENCHMARKS_METRICS = {"euclidean": "euclidean", "angular": "cosine"}


def _split_npy(path, n_queries, n_neighbors, random_state):
    """One (n, d) array: ``n_queries`` random rows (default 500) are the queries."""
    X = np.load(path).astype(np.float32)
    if X.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D (n, d) array, got {X.shape}")
    n_queries = n_queries or min(500, len(X) // 10)
    if not 0 < n_queries < len(X) - n_neighbors:
        raise ValueError(
            f"{path}: {len(X)} rows are too few for {n_queries} queries and "
            f"k = {n_neighbors}"
        )
    order = np.random.default_rng(random_state).permutation(len(X))
    return Bunch(
        base=X[np.sort(order[n_queries:])],
        query=X[np.sort(order[:n_queries])],
        ground_truth=None,
    )


def _read_vector_set(spec, n_queries, n_neighbors, random_state):
    """(data with base/query/ground_truth, learn or None, the data's metric, name)."""
    if spec == "embedded":
        return load_sift_skimage(), None, "euclidean", "embedded SIFT sample"
    path = Path(spec)
    if path.is_dir():
        data = load_vector_folder(path)
        return data, data.learn, "euclidean", str(path)
    if path.suffix == ".npy":
        data = _split_npy(path, n_queries, n_neighbors, random_state)
        return data, None, None, str(path)
    if path.suffix in (".hdf5", ".h5"):
        data = load_ann_benchmarks(path)
        if data.nbits is not None:
            raise ValueError(
                f"{path} holds binary codes already (Hamming set); there is nothing "
                "to hash"
            )
        return data, None, _ANN_BENCHMARKS_METRICS.get(data.metric), str(path)
    raise ValueError(f"{path}: not 'embedded', a folder, a .npy nor an .hdf5 file")


def _training_vectors(data, learn, name, train, n_train, random_state):
    """(vectors to fit the hashers on, their description)."""
    use_learn = train == "learn" or (train == "auto" and learn is not None)
    if use_learn and learn is None:
        raise ValueError(f"train='learn': {name} has no learn set")
    vectors, kind = (learn, "learn") if use_learn else (data.base, "base")
    if 0 < n_train < len(vectors):
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(len(vectors), n_train, replace=False))
        return vectors[rows], f"{n_train:,} random {kind} vectors"
    return vectors, f"{len(vectors):,} {kind} vectors"


def load_evaluation_set(
    spec,
    *,
    n_queries=None,
    n_neighbors=10,
    metric=None,
    train="auto",
    n_train=0,
    random_state=0,
    verbose=False,
):
    """Load the vector set ``spec`` with the ground truth of its queries.

    Parameters
    ----------
    spec : str
        ``"embedded"`` (the shipped SIFT sample), a folder of arrays
        (:func:`load_vector_folder`), a ``.npy`` file of one (n, d) array
        (``n_queries`` random rows become the queries, default
        ``min(500, n // 10)``) or an ann-benchmarks ``.hdf5`` file of float
        vectors.
    n_queries : int, default=None
        Keep the first ``n_queries`` queries (all when None).
    n_neighbors : int, default=10
        Neighbours to be retrieved; the ground truth holds at least these.
    metric : {"euclidean", "cosine"}, default=None
        Metric of the ground truth; None keeps the data's own (Euclidean when
        it has none). Another metric than the data's recomputes it.
    train : {"auto", "base", "learn"}, default="auto"
        The vectors hashers are fitted on; ``"auto"`` is the learn set when
        there is one, else the base.
    n_train : int, default=0
        Fit on at most ``n_train`` random training vectors (0: all).
    random_state : int, default=0
        Seed of the ``.npy`` query split and of the training subsample.
    verbose : bool, default=False
        Report on stderr when the ground truth is computed.

    Returns
    -------
    data : Bunch
        ``base``, ``query``, ``ground_truth`` (neighbour indices, nearest
        first), ``train``, ``train_name``, ``metric`` and ``name``.
    """
    from ..model_selection import exact_neighbors

    data, learn, data_metric, name = _read_vector_set(
        spec, n_queries, n_neighbors, random_state
    )
    query = data.query if n_queries is None else data.query[:n_queries]
    truth = data.ground_truth
    if truth is not None:
        truth = truth[: len(query)]
    metric = metric or data_metric or "euclidean"
    if truth is None or metric != data_metric or truth.shape[1] < n_neighbors:
        if verbose:
            print(
                f"computing the exact {metric} ground truth of {len(query)} queries",
                file=sys.stderr,
                flush=True,
            )
        truth = exact_neighbors(
            data.base,
            query,
            n_neighbors=max(100, n_neighbors),
            metric=metric,
            verbose=int(verbose),
        )
    train_vectors, train_name = _training_vectors(
        data, learn, name, train, n_train, random_state
    )
    return Bunch(
        base=data.base,
        query=query,
        ground_truth=truth,
        name=name,
        train=train_vectors,
        train_name=train_name,
        metric=metric,
    )
