"""Tanimoto (Jaccard) search engines over packed fingerprints.

No estimator logic: the index built at fit (popcounts, and for BitBound the
popcount order), and one call's engine. The kernels are in
``_tanimoto_kernels.pyx`` / ``_tanimoto.h``.
"""

import numpy as np

from .._compat import _openmp_effective_n_threads
from . import _tanimoto_kernels

# thresholds within this of a popcount bound still read the bin: the windows
# must never drop a code that the exact test `1 - c / u <= radius` (in double)
# would keep
_WINDOW_SLACK = 1e-9


class TanimotoIndex:
    """Popcounts of the database codes and, for BitBound, their order.

    For BitBound, ``codes`` is a copy of the database ordered by increasing
    popcount (stable: by index within a popcount) so that a popcount window
    is one contiguous run, ``order`` maps its rows to database indices and
    ``pop`` holds the popcount of each; for a plain scan ``codes`` are the
    database codes as given, ``order`` is None.
    """

    def __init__(self, codes, bitbound):
        pop = _tanimoto_kernels.popcounts(codes)
        self.bitbound = bitbound
        if bitbound:
            self.order = np.argsort(pop, kind="stable")
            self.codes = np.ascontiguousarray(codes[self.order])
            self.pop = pop[self.order]
        else:
            self.order, self.codes, self.pop = None, codes, pop

    @property
    def nbytes(self):
        """Bytes held beside the database codes (a sorted copy counts)."""
        if self.order is None:
            return self.pop.nbytes
        return self.pop.nbytes + self.order.nbytes + self.codes.nbytes


def tanimoto_distance(c, u):
    """``1 - c / u`` in float64, 0 where ``u == 0`` (two empty fingerprints)."""
    c = np.asarray(c, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(u == 0, 0.0, 1.0 - c / np.where(u == 0, 1.0, u))


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
        qpop = _tanimoto_kernels.popcounts(queries)
        qself = (
            np.arange(len(queries), dtype=np.int64) + self_offset
            if self_offset >= 0
            else np.full(len(queries), -1, dtype=np.int64)
        )
        qorder = np.argsort(qpop, kind="stable")
        return qpop, qself, qorder

    def _threads(self, n_queries, block):
        return max(1, min(self.n_threads, -(-n_queries // block)))

    def kneighbors(self, queries, k, self_offset):
        """(distances, indices), each (n_queries, k), ascending distance."""
        qpop, qself, qorder = self._queries(queries, self_offset)
        block = _tanimoto_kernels.query_block(k)
        c, u, indices = _tanimoto_kernels.kneighbors(
            self.index.codes,
            self.index.order,
            self.index.pop,
            queries,
            qpop,
            qself,
            qorder,
            k,
            self.index.bitbound,
            self._threads(len(queries), block),
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
        qpop, qself, qorder = self._queries(queries, self_offset)
        lo, hi = self.windows(qpop, radius)
        return _tanimoto_kernels.radius_neighbors(
            self.index.codes,
            self.index.order,
            self.index.pop,
            queries,
            qpop,
            qself,
            qorder,
            lo,
            hi,
            float(radius),
            self._threads(len(queries), 32),
        )
