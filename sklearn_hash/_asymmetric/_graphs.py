"""Neighbour relations the asymmetric hashers learn: sparse boolean graphs.

The training relation of ``fit`` (within a radius, or the k nearest points),
the relation of new database items to the training points, and user-given
similarity matrices. Distances come from the shared exact search
(:mod:`sklearn_hash._neighbors_exact`), in blocks of rows sized from
scikit-learn's ``working_memory``.
"""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils import gen_batches
from sklearn.utils.multiclass import type_of_target

from .._compat import get_chunk_n_rows
from .._neighbors_exact import exact_kneighbors, squared_distances


def _distance_blocks(n_rows, n_cols):
    """Row slices such that a float32 distance block and its mask fit in memory."""
    return gen_batches(
        n_rows, get_chunk_n_rows(row_bytes=5 * n_cols, max_n_rows=n_rows)
    )


def _radius_graph(Xn, n_neighbors):
    """Neighbours within the radius giving n_neighbors neighbours per point on average.

    The radius is the ``(n_neighbors * n)``-th smallest distance among ordered
    pairs of distinct points, found exactly in one blocked pass (memory about
    that many pairs, not n^2); a first pass on a sample bounds it.
    """
    n = Xn.shape[0]
    target = n_neighbors * n
    rng = np.random.RandomState(0)
    sample = rng.choice(n, min(n, 500), replace=False)
    sq = squared_distances(Xn[sample], Xn)
    sq[np.arange(len(sample)), sample] = np.inf
    sample_sq = sq[np.isfinite(sq)]
    quantile = 2.0 * n_neighbors / (n - 1)
    while True:
        bound = float(np.quantile(sample_sq, quantile)) if quantile < 1 else np.inf
        rows, cols, dists = [], [], []
        for block in _distance_blocks(n, n):
            sq = squared_distances(Xn[block], Xn)
            within = sq <= bound
            idx = np.arange(sq.shape[0])
            within[idx, block.start + idx] = False
            r, c = np.nonzero(within)
            rows.append(r + block.start)
            cols.append(c)
            dists.append(sq[r, c])
        dists = np.concatenate(dists)
        if len(dists) >= target or not np.isfinite(bound):
            break
        quantile *= 2.0
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    radius_sq = np.partition(dists, target - 1)[target - 1]
    keep = dists <= radius_sq
    graph = _csr_with_diagonal(rows[keep], cols[keep], n)
    return graph, float(np.sqrt(radius_sq))


def _knn_graph(Xn, n_neighbors):
    """Each point's n_neighbors nearest other points, and its k-th NN distance.

    Exact, in float64, ties to the smaller index (:func:`exact_kneighbors`);
    the k-th distance is returned in float32, the precision of ``Xn``.
    """
    n = Xn.shape[0]
    distances, indices = exact_kneighbors(Xn, Xn, n_neighbors, self_query=True)
    rows = np.repeat(np.arange(n), n_neighbors)
    graph = _csr_with_diagonal(rows, indices.ravel(), n)
    return graph, distances[:, -1].astype(np.float32)


def _new_item_neighbors(Xn, X_fit, max_sq_distance):
    """Sparse (n_items, n_train): which training queries have the item as neighbour.

    Item ``a`` is a neighbour of training point ``i`` if their squared
    distance is at most ``max_sq_distance`` (a scalar radius, or one bound per
    training point).
    """
    mask = squared_distances(Xn, X_fit) <= max_sq_distance
    return sparse.csr_matrix(mask)


def _csr_with_diagonal(rows, cols, n):
    diag = np.arange(n)
    rows, cols = np.concatenate([rows, diag]), np.concatenate([cols, diag])
    graph = sparse.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n)
    )
    graph.sum_duplicates()
    return graph


def _check_similarity(similarity, shape):
    """A user-given neighbour relation as a sparse boolean CSR matrix."""
    if isinstance(shape, Integral):
        shape = (shape, shape)
    if not sparse.issparse(similarity):
        similarity = np.asarray(similarity)
        if similarity.ndim != 2:
            raise ValueError(
                f"similarity must be a 2-D matrix, got shape {similarity.shape}"
            )
        similarity = sparse.csr_matrix(similarity)
    if similarity.shape != tuple(shape):
        raise ValueError(
            f"similarity must have shape {tuple(shape)}, got {similarity.shape}"
        )
    similarity = sparse.csr_matrix(similarity != 0)
    similarity.sort_indices()
    return similarity


def _check_labels(y, n_samples):
    """Class labels of the training points, or None if there are none.

    ``y`` None, or all -1 (scikit-learn's mark of unlabelled samples), means no
    labels. Otherwise ``y`` must be 1-D class labels, one per sample.
    """
    if y is None:
        return None
    y = np.asarray(y)
    if y.size and y.dtype.kind in "iuf" and np.all(y == -1):
        return None
    if y.ndim != 1:
        raise ValueError(
            f"y must be a 1-D array of class labels, got an array of shape {y.shape}"
        )
    if len(y) != n_samples:
        raise ValueError(
            f"y has {len(y)} labels but X has {n_samples} samples; they must be equal"
        )
    target = type_of_target(y, input_name="y", raise_unknown=True)
    if target not in ("binary", "multiclass"):
        raise ValueError(
            f"y must hold class labels (same label = neighbour), got {target!r} "
            "values; pass a similarity matrix for any other relation"
        )
    return y
