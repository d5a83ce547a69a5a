"""Readers and writers of the ANN corpus formats .fvecs, .ivecs and .bvecs.

Each vector is stored as a little-endian int32 dimension ``d`` followed by
``d`` components: float32 (.fvecs), int32 (.ivecs) or uint8 (.bvecs), as in
the INRIA TEXMEX corpora (SIFT1M, GIST1M, BIGANN).
"""

import numpy as np

_COMPONENT = {
    "fvecs": np.dtype("<f4"),
    "ivecs": np.dtype("<i4"),
    "bvecs": np.dtype("u1"),
}


def _read_vecs(path, kind, mmap):
    raw = (
        np.memmap(path, dtype=np.uint8, mode="r")
        if mmap
        else np.fromfile(path, dtype=np.uint8)
    )
    if raw.size == 0:
        return np.empty((0, 0), dtype=_COMPONENT[kind])
    if raw.size < 4:
        raise ValueError(f"{path} is not a .{kind} file: {raw.size} bytes")
    d = int(raw[:4].view("<i4")[0])
    item = _COMPONENT[kind].itemsize
    row = 4 + d * item
    if d <= 0 or raw.size % row:
        raise ValueError(
            f"{path} is not a .{kind} file: first dimension {d} does not divide "
            f"its size of {raw.size} bytes"
        )
    rows = raw.reshape(-1, row)
    if np.any(rows[:, :4].copy().view("<i4").ravel() != d):
        raise ValueError(
            f"{path}: vectors of different dimensions; .{kind} needs one d"
        )
    out = rows[:, 4:]
    if mmap:
        return (
            out.view(_COMPONENT[kind])
            if item == 1
            else np.ndarray(
                (rows.shape[0], d),
                dtype=_COMPONENT[kind],
                buffer=rows,
                offset=4,
                strides=(row, item),
            )
        )
    return np.ascontiguousarray(out).view(_COMPONENT[kind])


def _write_vecs(path, X, kind):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d) to write .{kind}, got shape {X.shape}")
    comp = _COMPONENT[kind]
    if kind == "bvecs" and (X.min(initial=0) < 0 or X.max(initial=0) > 255):
        raise ValueError(
            "bvecs stores uint8 values 0..255; X has values outside that range"
        )
    n, d = X.shape
    rec = np.dtype([("d", "<i4"), ("v", comp, (d,))])
    out = np.empty(n, dtype=rec)
    out["d"] = d
    out["v"] = X
    out.tofile(path)


def read_fvecs(path, *, mmap=False):
    """Read a .fvecs file into a float32 array of shape (n, d).

    Each vector is an int32 dimension then its float32 components, the
    format of the TEXMEX corpora (SIFT1M, GIST1M) [1]_.

    Parameters
    ----------
    path : str or path-like
        File to read.
    mmap : bool, default=False
        Memory-map the file instead of reading it (a strided read-only view).

    Returns
    -------
    X : ndarray of shape (n, d), dtype float32
        The vectors, one per row.

    See Also
    --------
    write_fvecs : Write the format.
    read_ivecs : Read int32 vectors.
    read_bvecs : Read uint8 vectors.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_hash.datasets import read_fvecs, write_fvecs
    >>> path = os.path.join(tempfile.mkdtemp(), "x.fvecs")
    >>> write_fvecs(path, np.eye(2))
    >>> read_fvecs(path)
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    return _read_vecs(path, "fvecs", mmap)


def read_ivecs(path, *, mmap=False):
    """Read a .ivecs file (e.g. ground-truth indices) into an int32 array (n, d).

    Like .fvecs with int32 components; the TEXMEX corpora [1]_ store their
    ground truth (``*_groundtruth.ivecs``) this way.

    Parameters
    ----------
    path : str or path-like
        File to read.
    mmap : bool, default=False
        Memory-map the file instead of reading it.

    Returns
    -------
    X : ndarray of shape (n, d), dtype int32
        The vectors, one per row.

    See Also
    --------
    write_ivecs : Write the format.
    read_fvecs : Read float32 vectors.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_hash.datasets import read_ivecs, write_ivecs
    >>> path = os.path.join(tempfile.mkdtemp(), "gt.ivecs")
    >>> write_ivecs(path, [[3, 1], [0, 2]])
    >>> read_ivecs(path)
    array([[3, 1],
           [0, 2]], dtype=int32)
    """
    return _read_vecs(path, "ivecs", mmap)


def read_bvecs(path, *, mmap=False):
    """Read a .bvecs file into a uint8 array of shape (n, d).

    Like .fvecs with uint8 components, the format of the TEXMEX corpus
    BIGANN (SIFT1B) [1]_.

    Parameters
    ----------
    path : str or path-like
        File to read.
    mmap : bool, default=False
        Memory-map the file instead of reading it.

    Returns
    -------
    X : ndarray of shape (n, d), dtype uint8
        The vectors, one per row.

    See Also
    --------
    write_bvecs : Write the format.
    read_fvecs : Read float32 vectors.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_hash.datasets import read_bvecs, write_bvecs
    >>> path = os.path.join(tempfile.mkdtemp(), "x.bvecs")
    >>> write_bvecs(path, [[0, 255]])
    >>> read_bvecs(path)
    array([[  0, 255]], dtype=uint8)
    """
    return _read_vecs(path, "bvecs", mmap)


def write_fvecs(path, X):
    """Write a 2-D array as .fvecs (float32 components).

    Readable by :func:`read_fvecs` and by other readers of the TEXMEX corpora [1]_.

    Parameters
    ----------
    path : str or path-like
        File to write (overwritten).
    X : array-like of shape (n, d)
        Vectors.

    See Also
    --------
    read_fvecs : Read the format back.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_hash.datasets import write_fvecs
    >>> write_fvecs(os.path.join(tempfile.mkdtemp(), "x.fvecs"), [[0.5, 1.5]])
    """
    _write_vecs(path, X, "fvecs")


def write_ivecs(path, X):
    """Write a 2-D integer array as .ivecs (int32 components).

    Readable by :func:`read_ivecs` and by other readers of the TEXMEX corpora [1]_.

    Parameters
    ----------
    path : str or path-like
        File to write (overwritten).
    X : array-like of shape (n, d)
        Integer vectors.

    See Also
    --------
    read_ivecs : Read the format back.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_hash.datasets import write_ivecs
    >>> write_ivecs(os.path.join(tempfile.mkdtemp(), "gt.ivecs"), [[1, 2]])
    """
    _write_vecs(path, X, "ivecs")


def write_bvecs(path, X):
    """Write a 2-D array of values 0..255 as .bvecs (uint8 components).

    Readable by :func:`read_bvecs` and by other readers of the TEXMEX corpora [1]_.

    Parameters
    ----------
    path : str or path-like
        File to write (overwritten).
    X : array-like of shape (n, d)
        Vectors with values in 0..255.

    See Also
    --------
    read_bvecs : Read the format back.

    References
    ----------
    .. [1] H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest
       neighbor search", IEEE TPAMI 33(1), 2011 (the TEXMEX corpora).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_hash.datasets import write_bvecs
    >>> write_bvecs(os.path.join(tempfile.mkdtemp(), "x.bvecs"), [[7, 9]])
    """
    _write_vecs(path, X, "bvecs")
