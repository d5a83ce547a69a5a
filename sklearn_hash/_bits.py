"""Packed binary codes: the one bit layout of the package, and NumPy references.

Contract (shared with faiss's binary indexes, so codes move between the two):
a code of ``nbits`` bits is stored in ``ceil(nbits / 8)`` uint8 bytes, bit ``i``
in byte ``i // 8`` at position ``i % 8`` (little bit order), padding bits zero.

``hamming_kneighbors_reference`` is a brute-force k-NN reference, written to be
obviously correct; tests compare the Cython kernels against it. Its dense distance
matrix is the one of :mod:`sklearn_hash.metrics` (evaluation needs the same).
"""

import numpy as np

from .metrics._base import _hamming_distances


def n_bytes(nbits):
    """Number of bytes that hold a code of ``nbits`` bits."""
    return (int(nbits) + 7) // 8


def pack_bits(bits):
    """Pack a boolean (or 0/1) array of shape (n, nbits) into uint8 codes.

    Bit ``i`` goes to byte ``i // 8`` at position ``i % 8`` (little bit
    order) and the padding bits of the last byte are zero: the layout of
    faiss's binary indexes [1]_ and of every code in this package.

    Parameters
    ----------
    bits : array-like of shape (n_samples, nbits)
        Truthy entries become 1 bits.

    Returns
    -------
    codes : ndarray of shape (n_samples, ceil(nbits / 8)), dtype uint8
        C-contiguous packed codes, little bit order, zero padding.

    See Also
    --------
    unpack_bits : The inverse.
    numpy.packbits : The NumPy function used, with ``bitorder="little"``.

    References
    ----------
    .. [1] J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search
       with GPUs", IEEE Transactions on Big Data, 2019 (faiss, whose binary
       indexes use this layout).

    Examples
    --------
    >>> from sklearn_hash import pack_bits
    >>> pack_bits([[1, 0, 1, 1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0]])
    array([[13,  1],
           [ 2,  0]], dtype=uint8)
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"bits must be 2-D (n_samples, nbits), got shape {bits.shape}")
    return np.ascontiguousarray(np.packbits(bits != 0, axis=1, bitorder="little"))


def unpack_bits(codes, nbits):
    """Unpack uint8 codes into a uint8 0/1 array of shape (n, nbits).

    The inverse of :func:`pack_bits`, in the same layout [1]_; the padding
    bits after ``nbits`` are dropped.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, ceil(nbits / 8)), dtype uint8
        Packed codes.
    nbits : int
        Number of meaningful bits per code.

    Returns
    -------
    bits : ndarray of shape (n_samples, nbits), dtype uint8
        Bit ``i`` of each code in column ``i``.

    See Also
    --------
    pack_bits : The inverse.
    numpy.unpackbits : The NumPy function used, with ``bitorder="little"``.

    References
    ----------
    .. [1] J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search
       with GPUs", IEEE Transactions on Big Data, 2019 (faiss, whose binary
       indexes use this layout).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import unpack_bits
    >>> unpack_bits(np.array([[13, 1]], dtype=np.uint8), nbits=9)
    array([[1, 0, 1, 1, 0, 0, 0, 0, 1]], dtype=uint8)
    """
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[1] != n_bytes(nbits):
        raise ValueError(
            f"codes must have shape (n_samples, {n_bytes(nbits)}) for nbits={nbits}, "
            f"got {codes.shape}"
        )
    return np.unpackbits(codes, axis=1, count=nbits, bitorder="little")


def hamming_kneighbors_reference(
    query_codes, database_codes, n_neighbors, exclude_self=False
):
    """Brute-force Hamming k-NN ordered by (distance, index).

    Parameters
    ----------
    query_codes, database_codes : ndarray of uint8
        Packed codes of equal width.
    n_neighbors : int
        Number of neighbours per query.
    exclude_self : bool, default=False
        Query ``i`` is database point ``i`` and is left out of its own result
        (the ``X=None`` rule of scikit-learn's ``kneighbors``).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), dtype int32
    indices : ndarray of shape (n_queries, n_neighbors), dtype int64
    """
    dist = _hamming_distances(query_codes, database_codes).astype(np.int64)
    n_db = database_codes.shape[0]
    if exclude_self:
        # one more than any real distance, so self sorts last and is cut off
        rows = np.arange(len(query_codes))
        dist[rows, rows] = 8 * database_codes.shape[1] + 1
    # a single integer key sorts by distance first, then index
    order = np.argsort(dist * n_db + np.arange(n_db), axis=1, kind="stable")[
        :, :n_neighbors
    ]
    return np.take_along_axis(dist, order, axis=1).astype(np.int32), order.astype(
        np.int64
    )
