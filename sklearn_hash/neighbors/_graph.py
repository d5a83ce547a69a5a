"""Sparse neighbour graphs from (distance, index) lists, shared by every search."""

import numpy as np
from scipy import sparse


def check_graph_mode(mode):
    """Raise unless ``mode`` is a graph mode of scikit-learn's neighbour graphs."""
    if mode not in ("connectivity", "distance"):
        raise ValueError(f"mode must be 'connectivity' or 'distance', got {mode!r}")


def neighbors_graph(distances, indices, indptr, n_samples_fit, mode):
    """CSR graph with rows ``indptr[i]:indptr[i + 1]`` of the flat lists.

    Edge values are ones (``"connectivity"``) or the Hamming distances as
    float64 (``"distance"``, explicit zeros kept), as scikit-learn's graphs.
    """
    check_graph_mode(mode)
    data = (
        np.ones(len(indices))
        if mode == "connectivity"
        else np.asarray(distances, dtype=np.float64)
    )
    return sparse.csr_matrix(
        (data, indices, indptr), shape=(len(indptr) - 1, n_samples_fit)
    )


def kneighbors_graph(distances, indices, n_samples_fit, mode):
    """CSR graph of k-NN results: arrays of shape (n_queries, k)."""
    n_queries, k = indices.shape
    indptr = np.arange(0, n_queries * k + 1, k)
    return neighbors_graph(
        distances.ravel(), indices.ravel(), indptr, n_samples_fit, mode
    )
