"""Blockwise encoding of a dask array by a fitted hasher."""

import dask.array as da
import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._bits import n_bytes

_METHODS = ("transform", "encode_database")


def _encode_block(block, encode, width):
    """Codes of one row chunk; an empty chunk gives an empty (0, width) block."""
    if block.shape[0] == 0:
        return np.zeros((0, width), dtype=np.uint8)
    codes = encode(block)
    if codes.shape != (block.shape[0], width) or codes.dtype != np.uint8:
        raise ValueError(
            f"the hasher returned codes of shape {codes.shape} and dtype "
            f"{codes.dtype}, expected ({block.shape[0]}, {width}) uint8"
        )
    return codes


def transform(hasher, X, *, method="transform"):
    """Encode a dask array of vectors chunk by chunk, lazily.

    Each row chunk of ``X`` is encoded by the fitted ``hasher`` where it lives
    (on a worker when a :class:`distributed.Client` is active, else by dask's
    local scheduler): the result is a dask array of packed codes with the row
    chunks of ``X`` and one column chunk of ``ceil(nbits / 8)`` bytes, equal to
    ``hasher.transform`` on the same rows. Nothing is computed until the
    result is (``.compute()``, ``.persist()``, or
    :meth:`DaskHammingNeighbors.fit`).

    Parameters
    ----------
    hasher : fitted hasher
        Any fitted hasher of this package (:class:`~sklearn_hash.LSH`,
        :class:`~sklearn_hash.ITQ`, ...). It is serialised into the task graph
        and sent to the workers once per chunk task.
    X : dask array of shape (n_samples, n_features)
        Vectors to encode, with ``hasher.n_features_in_`` columns. Column
        chunks are merged first (a hasher needs whole rows); a NumPy array is
        accepted and becomes one chunk.
    method : {"transform", "encode_database"}, default="transform"
        The hasher's method applied to each chunk. ``"encode_database"``
        encodes database items of an asymmetric hasher
        (:meth:`~sklearn_hash.AsymmetricLinV.encode_database`);
        ``"transform"`` encodes queries (or both, for symmetric hashers).

    Returns
    -------
    codes : dask array of shape (n_samples, ceil(nbits / 8)), dtype uint8
        Packed codes, chunked by rows as ``X``.

    See Also
    --------
    DaskHammingNeighbors : Sharded exact search over such codes.

    Notes
    -----
    This is the blockwise map of dask (:meth:`dask.array.Array.map_blocks`);
    dask-ml's ``ParallelPostFit`` wraps an estimator the same way but is not
    needed here. Encoding is row-wise for every hasher of this package, so
    the chunking cannot change the codes.

    References
    ----------
    .. [1] M. Rocklin, "Dask: Parallel Computation with Blocked algorithms and
       Task Scheduling", Proceedings of the 14th Python in Science
       Conference, 2015.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from sklearn_hash import LSH
    >>> from sklearn_hash.dask import transform
    >>> X = np.random.default_rng(0).normal(size=(1000, 16))
    >>> hasher = LSH(nbits=20, random_state=0).fit(X)
    >>> codes = transform(hasher, da.from_array(X, chunks=(300, 16)))
    >>> codes.chunks
    ((300, 300, 300, 100), (3,))
    >>> bool((codes.compute() == hasher.transform(X)).all())
    True
    """
    check_is_fitted(hasher)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    encode = getattr(hasher, method, None)
    if encode is None:
        raise ValueError(
            f"method={method!r}: {type(hasher).__name__} has no such method"
        )
    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    if X.shape[1] != hasher.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(hasher).__name__} was fitted "
            f"with {hasher.n_features_in_}"
        )
    width = n_bytes(hasher.nbits)
    X = X.rechunk({1: -1})
    return X.map_blocks(
        _encode_block,
        encode,
        width,
        dtype=np.uint8,
        chunks=(X.chunks[0], (width,)),
        meta=np.empty((0, width), dtype=np.uint8),
    )
