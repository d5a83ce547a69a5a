"""Tanimoto (Jaccard) search engines over packed fingerprints.

No estimator logic: the index built at fit (popcounts, and for BitBound the
popcount order), and one call's engine. The kernels are in
``_tanimoto_kernels.pyx`` / ``_tanimoto.h``.
"""

import os
import time
import warnings

import numpy as np

from .._compat import _openmp_effective_n_threads
from . import _tanimoto_kernels

# thresholds within this of a popcount bound still read the bin: the windows
# must never drop a code that the exact test `1 - c / u <= radius` (in double)
# would keep
_WINDOW_SLACK = 1e-9
# database codes timed at fit to choose the layout
_SAMPLE_CODES = 8192


def _layout_request():
    """``SKLEARN_HASH_TANIMOTO_LAYOUT`` = dense | sparse | auto (default)."""
    value = os.environ.get("SKLEARN_HASH_TANIMOTO_LAYOUT", "auto")
    if value not in ("auto", "dense", "sparse"):
        warnings.warn(
            f"SKLEARN_HASH_TANIMOTO_LAYOUT={value!r} ignored (dense, sparse or auto)",
            RuntimeWarning,
            stacklevel=3,
        )
        return "auto"
    return value


def _seconds(function, repeats=3):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


class TanimotoIndex:
    """Popcounts of the database codes, their scan order and layout.

    For BitBound, ``codes`` is a copy of the database ordered by increasing
    popcount (stable: by index within a popcount) so that a popcount window
    is one contiguous run, ``order`` maps its rows to database indices and
    ``pop`` holds the popcount of each; for a plain scan ``codes`` are the
    database codes as given, ``order`` is None.

    ``layout`` is "sparse" when the set bits of every code are also stored
    (``pos``, ``start``; 2 bytes a set bit) and the scans run a block of
    queries per code on them, "dense" otherwise. "auto" times both on a sample
    of the database at fit (a k-NN of 1 and of 32 of its codes among up to
    8,192) and keeps sparse if it wins a block of 32; blocks of fewer than
    ``sparse_min_queries`` queries (one query per call) run dense, where the
    interpolated timings say so. The results are identical either way.
    """

    def __init__(self, codes, bitbound, layout="auto"):
        pop = _tanimoto_kernels.popcounts(codes)
        self.bitbound = bitbound
        if bitbound:
            self.order = np.argsort(pop, kind="stable")
            self.codes = np.ascontiguousarray(codes[self.order])
            self.pop = pop[self.order]
        else:
            self.order, self.codes, self.pop = None, codes, pop
        self.pos = self.start = None
        self.layout = "dense"
        self.sparse_min_queries = 1
        self.sample_seconds = {}
        if layout == "auto":
            layout = self._measure_layouts()
        if layout == "sparse" and self._sparse_possible():
            self.pos, self.start = _tanimoto_kernels.sparse_layout(self.codes, self.pop)
            self.layout = "sparse"

    def _sparse_possible(self):
        nbits = 8 * self.codes.shape[1]
        return (
            bool(_tanimoto_kernels.sparse_variant())
            and nbits <= _tanimoto_kernels.MAX_SPARSE_BITS
        )

    def _measure_layouts(self):
        """Time both layouts on a sample, for 1 and 32 queries: "sparse" if it
        wins a full block, and from how many queries of a block (linear in
        between: a dense scan costs in proportion to the queries, a sparse
        one hardly depends on them); "dense" when sparse is impossible."""
        if not self._sparse_possible():
            return "dense"
        n = len(self.pop)
        m = min(n, _SAMPLE_CODES)
        first = (n - m) // 2
        codes = self.codes[first : first + m]
        pop = self.pop[first : first + m]
        queries = np.ascontiguousarray(codes[np.linspace(0, m - 1, 32).astype(int)])
        pos, start = _tanimoto_kernels.sparse_layout(codes, pop)
        k = min(10, m)

        def run(q, layout):
            qpop = _tanimoto_kernels.popcounts(q)
            return _seconds(
                lambda: _tanimoto_kernels.kneighbors(
                    codes,
                    None,
                    pop,
                    *((pos, start) if layout == "sparse" else (None, None)),
                    q,
                    qpop,
                    np.full(len(q), -1, dtype=np.int64),
                    np.arange(len(q), dtype=np.int64),
                    k,
                    False,
                    1,
                )
            )

        self.sample_seconds = {
            (layout, len(q)): run(q, layout)
            for layout in ("dense", "sparse")
            for q in (queries[:1], queries)
        }
        blocks = np.arange(1, 33)
        t = self.sample_seconds
        dense, sparse = (
            np.interp(blocks, [1, 32], [t[(name, 1)], t[(name, 32)]])
            for name in ("dense", "sparse")
        )
        wins = blocks[sparse <= dense]
        if len(wins) == 0:
            return "dense"
        self.sparse_min_queries = int(wins[0])
        return "sparse"

    @property
    def nbytes(self):
        """Bytes held beside the database codes (a sorted copy counts)."""
        total = self.pop.nbytes
        if self.order is not None:
            total += self.order.nbytes + self.codes.nbytes
        if self.pos is not None:
            total += self.pos.nbytes + self.start.nbytes
        return total


def tanimoto_distance(c, u):
    """``(u - c) / u`` in float64 (as scikit-learn's jaccard: ``1 - c / u``
    would put 7 / 10 at 0.30000000000000004), 0 where ``u == 0``."""
    c = np.asarray(c, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    return (u - c) / np.where(u == 0, 1.0, u)


class TanimotoSearch:
    """One call's Tanimoto search on a fitted :class:`TanimotoIndex`.

    Queries are processed in blocks of similar popcount (sorted by popcount)
    so that a block's BitBound windows overlap and each chunk it reads serves
    most of its queries.
    """

    def __init__(self, index, n_jobs):
        self.index = index
        self.n_threads = _openmp_effective_n_threads(n_jobs)

    def _queries(self, queries, self_offset):
        """The kernels' leading arguments: the database (codes in scan order,
        order, popcounts, sparse layout), then the queries, their popcounts,
        own indices (X=None) and processing order."""
        qpop = _tanimoto_kernels.popcounts(queries)
        qself = (
            np.arange(len(queries), dtype=np.int64) + self_offset
            if self_offset >= 0
            else np.full(len(queries), -1, dtype=np.int64)
        )
        qorder = np.argsort(qpop, kind="stable")
        index = self.index
        database = (index.codes, index.order, index.pop, index.pos, index.start)
        return *database, queries, qpop, qself, qorder

    def _threads(self, n_queries, block):
        return max(1, min(self.n_threads, -(-n_queries // block)))

    def kneighbors(self, queries, k, self_offset):
        """(distances, indices), each (n_queries, k), ascending distance."""
        block = _tanimoto_kernels.query_block(k)
        c, u, indices = _tanimoto_kernels.kneighbors(
            *self._queries(queries, self_offset),
            k,
            self.index.bitbound,
            self._threads(len(queries), block),
            self.index.sparse_min_queries,
        )
        return tanimoto_distance(c, u), indices

    def windows(self, qpop, radius):
        """Scan positions ``[lo, hi)`` each query must read at this radius."""
        n = len(self.index.pop)
        t = 1.0 - radius - _WINDOW_SLACK
        if not self.index.bitbound or t <= 0:
            return np.zeros(len(qpop), dtype=np.int64), np.full(len(qpop), n, np.int64)
        # min(p, pq) / max(p, pq) >= t  <=>  t pq <= p <= pq / t
        low = np.ceil(t * qpop).astype(np.int64)
        high = np.floor(qpop / t).astype(np.int64)
        lo = np.searchsorted(self.index.pop, low, side="left")
        hi = np.searchsorted(self.index.pop, high, side="right")
        return lo.astype(np.int64), hi.astype(np.int64)

    def radius_neighbors(self, queries, radius, self_offset):
        """Flat (distances, indices, offsets), each query's run ascending."""
        arguments = self._queries(queries, self_offset)
        lo, hi = self.windows(arguments[-3], radius)
        return _tanimoto_kernels.radius_neighbors(
            *arguments,
            lo,
            hi,
            float(radius),
            self._threads(len(queries), 32),
            self.index.sparse_min_queries,
        )
