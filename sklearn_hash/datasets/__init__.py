"""Datasets: the embedded SIFT sample, vector set loaders, the ANN corpus formats."""

from ._embedded import load_sift_skimage
from ._loaders import load_ann_benchmarks, load_vector_folder
from ._vecs import (
    read_bvecs,
    read_fvecs,
    read_ivecs,
    write_bvecs,
    write_fvecs,
    write_ivecs,
)

__all__ = [
    "load_ann_benchmarks",
    "load_sift_skimage",
    "load_vector_folder",
    "read_bvecs",
    "read_fvecs",
    "read_ivecs",
    "write_bvecs",
    "write_fvecs",
    "write_ivecs",
]
