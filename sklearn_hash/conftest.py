"""Doctest collection: skip the optional ``sklearn_hash.dask`` without dask."""

from importlib.util import find_spec

collect_ignore = []
if find_spec("dask") is None or find_spec("distributed") is None:
    collect_ignore.append("dask")
