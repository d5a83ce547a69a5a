"""Loaders of vector sets on disk: ann-benchmarks HDF5 files and folders of arrays."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._bits import pack_bits
from .._compat import validate_params
from ._vecs import read_bvecs, read_fvecs, read_ivecs


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_ann_benchmarks(path):
    """Load a dataset in the HDF5 layout of ann-benchmarks.

    The file holds ``train`` (the database), ``test`` (the queries),
    ``neighbors`` (exact neighbour indices of each query, nearest first) and
    ``distances``, with the metric in the attribute ``distance``. Hamming
    sets store their vectors as unpacked booleans, one per bit; they are
    returned packed into this package's code layout with
    :func:`~sklearn_hash.pack_bits` (little bit order), ready for
    :class:`~sklearn_hash.HammingNeighbors`.

    Needs the optional dependency h5py (``pip install h5py``).

    Parameters
    ----------
    path : str or path-like
        The ``.hdf5`` file, e.g. ``sift-128-euclidean.hdf5``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``base`` (train) and ``query`` (test): float32 vectors, or uint8
        packed codes for Hamming sets; ``ground_truth``: int64 neighbour
        indices; ``distances``: float64 distances of those neighbours (or
        None when absent); ``metric``: the file's ``distance`` attribute
        (e.g. ``"euclidean"``, ``"angular"``, ``"hamming"``); ``nbits``: the
        code length of a Hamming set, else None.

    Raises
    ------
    ImportError
        If h5py is not installed.

    See Also
    --------
    load_vector_folder : Load a folder of .npy or TEXMEX files.
    load_sift_skimage : Load the SIFT set shipped with the package.

    References
    ----------
    .. [1] M. Aumüller, E. Bernhardsson, A. Faithfull, "ANN-Benchmarks: a
       benchmarking tool for approximate nearest neighbor algorithms",
       Information Systems 2020.

    Examples
    --------
    >>> import os, tempfile
    >>> import h5py  # doctest: +SKIP
    >>> from sklearn_hash.datasets import load_ann_benchmarks
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-2-hamming.hdf5")
    >>> with h5py.File(path, "w") as f:  # doctest: +SKIP
    ...     f.attrs["distance"] = "hamming"
    ...     f["train"] = [[True, False], [False, True]]
    ...     f["test"] = [[True, True]]
    ...     f["neighbors"] = [[0, 1]]
    >>> data = load_ann_benchmarks(path)  # doctest: +SKIP
    >>> data.base, data.nbits  # doctest: +SKIP
    (array([[1],
           [2]], dtype=uint8), 2)
    """
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            "load_ann_benchmarks needs h5py to read HDF5 files: pip install h5py"
        ) from exc
    with h5py.File(path, "r") as f:
        missing = [key for key in ("train", "test", "neighbors") if key not in f]
        if missing:
            raise ValueError(
                f"{path} is not an ann-benchmarks file: "
                f"no dataset {', '.join(missing)} "
                f"(it has {', '.join(sorted(f)) or 'nothing'})"
            )
        metric = f.attrs.get("distance", None)
        metric = metric.decode() if isinstance(metric, bytes) else metric
        train, test = f["train"][()], f["test"][()]
        neighbors = f["neighbors"][()].astype(np.int64)
        distances = f["distances"][()].astype(np.float64) if "distances" in f else None
    nbits = None
    if train.dtype == bool or metric == "hamming":
        nbits = train.shape[1]
        train, test = pack_bits(train), pack_bits(test)
    else:
        train, test = train.astype(np.float32), test.astype(np.float32)
    return Bunch(
        base=train,
        query=test,
        ground_truth=neighbors,
        distances=distances,
        metric=metric,
        nbits=nbits,
    )


# file stems per role, after an optional "<name>_" prefix (as in TEXMEX's
# "sift_base.fvecs")
_ROLES = {
    "base": ("base",),
    "query": ("query",),
    "learn": ("learn",),
    "ground_truth": ("gt_l2_100", "groundtruth", "gt"),
}
_READERS = {
    ".npy": np.load,
    ".fvecs": read_fvecs,
    ".bvecs": read_bvecs,
    ".ivecs": read_ivecs,
}


def _find_role(folder, names):
    for name in names:
        for suffix in _READERS:
            found = sorted(folder.glob(f"{name}{suffix}")) or sorted(
                folder.glob(f"*_{name}{suffix}")
            )
            if found:
                return found[0]
    return None


@validate_params(
    {"path": [str, os.PathLike], "dtype": "no_validation"},
    prefer_skip_nested_validation=True,
)
def load_vector_folder(path, *, dtype=np.float32):
    """Load a folder of base / query / learn / ground-truth arrays.

    The layout of the evaluation sets beside this project (``base.npy``,
    ``query.npy``, optional ``learn.npy``, ``gt_l2_100.npy``) and of the
    TEXMEX corpora (``sift_base.fvecs``, ``sift_query.fvecs``,
    ``sift_learn.fvecs``, ``sift_groundtruth.ivecs``). Each role is found by
    file name, ``<role>.<ext>`` or ``<prefix>_<role>.<ext>``, with ``.npy``,
    ``.fvecs``, ``.bvecs`` or ``.ivecs`` extensions; ground truth is
    ``gt_l2_100``, ``groundtruth`` or ``gt``. Other ``.npy`` files (e.g.
    ``labels_base.npy``) are returned by their stem.

    Parameters
    ----------
    path : str or path-like
        The folder.
    dtype : data-type, default=np.float32
        Dtype of the vectors (stored uint8 values are converted).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``base`` and ``query`` (required), ``learn`` (None if absent),
        ``ground_truth`` (int64 indices into ``base``, nearest first; None
        if absent: compute it with
        :func:`~sklearn_hash.model_selection.exact_neighbors`), any other
        ``.npy`` arrays by stem, and ``DESCR`` naming the files read.

    See Also
    --------
    read_fvecs : Read one .fvecs file.
    load_ann_benchmarks : Load an ann-benchmarks HDF5 file.
    load_sift_skimage : Load the SIFT set shipped with the package.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora and
       their file layout).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn_hash.datasets import load_vector_folder, write_fvecs
    >>> folder = tempfile.mkdtemp()
    >>> np.save(os.path.join(folder, "base.npy"), np.eye(3, dtype=np.uint8))
    >>> write_fvecs(os.path.join(folder, "query.fvecs"), [[1.0, 0.0, 0.0]])
    >>> data = load_vector_folder(folder)
    >>> data.base.dtype, data.query.shape, data.learn, data.ground_truth
    (dtype('float32'), (1, 3), None, None)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(
            f"path must be a folder of vector files, {str(folder)!r} is not"
        )
    files = {role: _find_role(folder, names) for role, names in _ROLES.items()}
    for role in ("base", "query"):
        if files[role] is None:
            raise ValueError(
                f"no {role} file in {folder}: expected {role}.npy, {role}.fvecs, "
                f"{role}.bvecs or <name>_{role}.<ext>"
            )
    data = Bunch()
    for role, file in files.items():
        if file is None:
            data[role] = None
            continue
        array = _READERS[file.suffix](file)
        data[role] = (
            array.astype(np.int64) if role == "ground_truth" else array.astype(dtype)
        )
    used = {file for file in files.values() if file is not None}
    for extra in sorted(folder.glob("*.npy")):
        if extra not in used:
            data[extra.stem] = np.load(extra)
    if data.base.shape[1:] != data.query.shape[1:]:
        raise ValueError(
            f"base and query of {folder} differ in dimension: {data.base.shape} and "
            f"{data.query.shape}"
        )
    data.DESCR = f"{folder}: " + ", ".join(
        f"{role} = {file.name}" for role, file in files.items() if file is not None
    )
    return data
