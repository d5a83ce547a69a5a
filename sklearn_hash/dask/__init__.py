"""Dask: blockwise encoding and sharded exact Hamming search on a cluster.

Optional: needs the ``dask`` extra (``pip install "sklearn_hash[dask]"``, which
pulls ``dask[array]`` and ``distributed``). The rest of the package never
imports dask.
"""

try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without dask
    raise ImportError(
        "sklearn_hash.dask needs dask[array] and distributed: "
        'pip install "sklearn_hash[dask]"'
    ) from exc

from ._encode import transform
from ._neighbors import DaskHammingNeighbors

__all__ = ["DaskHammingNeighbors", "transform"]
