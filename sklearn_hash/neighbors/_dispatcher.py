"""Search engines behind HammingNeighbors and the choice between them.

Two exact engines answer the same two questions (k-NN and radius) on
validated codes:

- ``BruteForce``: the linear scan of ``_kernels`` (every code compared);
  it splits work between threads by queries, or by database slices when
  there are too few queries, and assembles radius results block by block.
- ``MultiIndexHashing``: the hash tables of ``_mih`` (Norouzi et al. 2012),
  built once by ``MultiIndexTables`` at fit time.

``HammingSearch`` is the one entry point the estimator calls: it picks the
engine per call ("brute", "mih", or "auto", which times both on a sample of
the batch against references measured at fit) and hands queries that
hashing would serve badly back to the scan. Both engines return results in
(distance, index) order, so any mix of them is identical to the scan alone.
The estimator keeps only parameter handling and output shapes.
"""

import math
import sys
import time

import numpy as np

from .._compat import _openmp_effective_n_threads
from . import _kernels, _mih

# queries per block: each block streams the database through cache once, and
# a block of this size is a "batch" for the kernels (a popcount path may then
# rearrange each chunk once for the block's queries)
_QUERY_BLOCK = _kernels.BATCH_QUERIES
# radius results are assembled per block of queries to bound the histograms
_RADIUS_QUERY_BLOCK = 1024
# below this many queries per thread, threads split the database instead,
# if it is large enough (bytes) for the split to pay for starting threads
_SPLIT_DATABASE_BELOW = 4
_SPLIT_MIN_BYTES = 4 << 20

# Work units of the probing kernels, which stop a query whose next stage
# would exceed its budget: a probed bucket costs _PROBE_NS; a verified
# candidate, a random access into the codes, costs more as the codes outgrow
# the caches: _CANDIDATE_NS + _CANDIDATE_NS_PER_MB times their size in MB
# (about nanoseconds on AMD EPYC Zen 3; the time of a unit is measured at
# fit). They only set budgets; "auto" chooses by measured time.
_PROBE_NS = 20.0
_CANDIDATE_NS = 12.0
_CANDIDATE_NS_PER_MB = 1.0
# below this many codes, "auto" builds no tables: a scan takes microseconds
_AUTO_MIN_SAMPLES = 1 << 14
# "auto" times the probing of a sample of the batch (every
# _AUTO_SAMPLE_FRACTION-th query, at least _AUTO_SAMPLE_MIN) on one thread
# against the time of a scan per query, then runs the whole batch on the
# faster engine. Each hashed query has a budget of _QUERY_BUDGET scans (in
# the kernels' work units, converted with their measured time) before it is
# rescanned: on real codes a few percent of the queries cost more than one
# scan by hashing and still less than a probe plus a rescan would.
_AUTO_SAMPLE_FRACTION = 32
_AUTO_SAMPLE_MIN = 8
_QUERY_BUDGET = 2.0
# the scan's time per query is measured at fit on database rows standing in
# for queries (_AUTO_FIT_SAMPLE for k-NN, fewer for the slower radius scan);
# it shifts with k and the radius, so a sample whose probing time falls
# within _AUTO_CLOSE of it (as a ratio) also times the scan on a few of its
# own queries: this costs about as much as the sample, and only when the two
# engines are close
_AUTO_FIT_SAMPLE = 32
_AUTO_FIT_RADIUS_SAMPLE = 8
_CALIBRATION_BUDGET = 4.0
_AUTO_CLOSE = (0.5, 2.0)
_AUTO_SCAN_SAMPLE = 8
# hash only if the sample cost at most this share of a scan: random accesses
# vary more from run to run than the scan
_AUTO_MARGIN = 0.9
# where database rows standing in for queries (which are closer to the
# database than most queries) cost this many scans by hashing at fit, later
# calls at that k (radius) or more scan without a sample
_AUTO_HOPELESS = 2.0
# a batch smaller than this is decided by the estimate made at fit (for the
# default k and radius): its own sample would be the whole batch, and a probe
# that fails costs a probe plus a scan
_AUTO_SMALL_BATCH = 4 * _AUTO_SAMPLE_MIN
# substrings of at most this many bits get a direct-address offset array
_DIRECT_MAX_BITS = 24
_MAX_SUBSTRING_BITS = 32


def _merge_sorted_parts(part_dist, part_ind, k):
    """Merge per-thread top-k lists (n_threads, n_q, k) into the global top-k."""
    dist = np.concatenate(part_dist, axis=1)
    ind = np.concatenate(part_ind, axis=1)
    order = np.lexsort((ind, dist), axis=-1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(
        ind, order, axis=1
    )


def _shift(self_offset, start):
    """Self-exclusion offset of the queries from ``start`` on."""
    return self_offset + start if self_offset >= 0 else -1


def _thread_clock():
    """CPU time of the calling thread where the OS counts it finely (Linux,
    macOS: the sample and the calibration run on the calling thread, and
    other processes then do not inflate them), else the wall clock (Windows
    counts thread time in scheduler ticks of about 16 ms)."""
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        return time.thread_time
    return time.perf_counter


_clock = _thread_clock()


def _timed(function):
    """``function()`` and the seconds it took on the calling thread."""
    start = _clock()
    result = function()
    return result, _clock() - start


def _as_database_rows(kind, value):
    """The k (radius) that database rows standing in for queries search: a
    row finds itself at distance 0, so its k + 1 nearest cost what a query's
    k nearest do (at k = 1 it would otherwise be free)."""
    return value + 1 if kind == "k" else value


def _spread(n, m):
    """At most ``m`` distinct indices spread evenly over ``range(n)``, first
    and last included (integer steps: this runs on every "auto" call)."""
    m = min(n, m)
    return np.arange(m, dtype=np.int64) * (n - 1) // max(m - 1, 1)


def _sample_rows(n_q):
    """Rows of the sample: every few queries over the batch, not its head
    (queries often come in groups: from one image, one document)."""
    return _spread(n_q, max(_AUTO_SAMPLE_MIN, n_q // _AUTO_SAMPLE_FRACTION))


def _concat_radius(parts):
    """Concatenate (distances, indices, offsets) results of consecutive queries."""
    counts = np.concatenate([np.diff(p[2]) for p in parts])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        offsets,
    )


class BruteForce:
    """Exact search by scanning every database code (``_kernels``)."""

    def __init__(self, codes, n_threads):
        self.codes = codes
        # no more threads than database rows
        self.n_threads = max(1, min(n_threads, codes.shape[0]))

    def _scratch(self, queries, n_threads):
        """The kernels' working memory: per thread, a chunk of distances, of
        candidate offsets and of codes (``_kernels.scratch_columns``)."""
        columns = _kernels.scratch_columns(queries.shape[1])
        return np.empty((n_threads, columns), dtype=np.int32)

    def _splits(self, n_q):
        """Whether a k-NN scan of ``n_q`` queries splits the database between
        the threads (too few queries to keep every thread busy)."""
        return (
            self.n_threads > 1
            and n_q < _SPLIT_DATABASE_BELOW * self.n_threads
            and self.codes.nbytes >= _SPLIT_MIN_BYTES
        )

    def runs_batches(self, n_q):
        """Whether a k-NN scan of ``n_q`` queries gives each thread blocks of
        ``_QUERY_BLOCK`` queries, the kernels' batch mode (a thread of a split
        scan takes every query)."""
        per_thread = n_q if self._splits(n_q) else -(-n_q // self.n_threads)
        return per_thread >= _QUERY_BLOCK

    def _selection(self, n_threads, rows, k):
        """Per-thread k-NN selection state for ``rows`` queries at a time
        (``_kernels.selection_shapes``)."""
        n_tops, n_slots, n_state = _kernels.selection_shapes(k, self.codes.shape[1])
        return (
            np.empty((n_threads, rows, n_tops), dtype=np.int32),
            np.empty((n_threads, rows, n_slots), dtype=np.int32),
            np.empty((n_threads, rows, n_slots), dtype=np.int64),
            np.empty((n_threads, rows, n_state), dtype=np.int64),
        )

    def kneighbors(self, queries, k, self_offset):
        n_q, n_threads = queries.shape[0], self.n_threads
        if self._splits(n_q):
            # too few queries to keep every thread busy: split the database instead
            part_dist = np.empty((n_threads, n_q, k), dtype=np.int32)
            part_ind = np.empty((n_threads, n_q, k), dtype=np.int64)
            _kernels.hamming_kneighbors_split(
                queries,
                self.codes,
                part_dist,
                part_ind,
                self_offset,
                self._scratch(queries, n_threads),
                *self._selection(n_threads, n_q, k),
            )
            return _merge_sorted_parts(part_dist, part_ind, k)
        distances = np.empty((n_q, k), dtype=np.int32)
        indices = np.empty((n_q, k), dtype=np.int64)
        query_block = max(1, min(_QUERY_BLOCK, -(-n_q // n_threads)))
        # never start more threads than there are blocks: an idle thread
        # still has to join, which costs milliseconds on a busy machine
        n_threads = min(n_threads, -(-n_q // query_block))
        _kernels.hamming_kneighbors(
            queries,
            self.codes,
            distances,
            indices,
            self_offset,
            query_block,
            self._scratch(queries, n_threads),
            *self._selection(n_threads, query_block, k),
        )
        return distances, indices

    def radius_neighbors(self, queries, r, self_offset):
        return _concat_radius(
            [
                self._radius_block(
                    queries[start : start + _RADIUS_QUERY_BLOCK],
                    r,
                    _shift(self_offset, start),
                )
                for start in range(0, queries.shape[0], _RADIUS_QUERY_BLOCK)
            ]
        )

    def _radius_block(self, queries, r, self_offset):
        """Radius search of one block of queries: (distances, indices, offsets)."""
        scratch = self._scratch(queries, min(self.n_threads, queries.shape[0]))
        hist = np.zeros((queries.shape[0], r + 1), dtype=np.int64)
        _kernels.hamming_radius_histogram(
            queries, self.codes, self_offset, hist, scratch
        )
        # positions[i, d]: first output slot of query i's codes at distance d
        positions = np.zeros(hist.size + 1, dtype=np.int64)
        np.cumsum(hist.ravel(), out=positions[1:])
        offsets = positions[:: r + 1].copy()
        positions = positions[:-1].reshape(hist.shape).copy()
        distances = np.empty(offsets[-1], dtype=np.int32)
        indices = np.empty(offsets[-1], dtype=np.int64)
        _kernels.hamming_radius_fill(
            queries, self.codes, self_offset, positions, distances, indices, scratch
        )
        return distances, indices, offsets

    def kneighbors_rows(self, queries, k, self_rows):
        """k-NN of queries that are database rows ``self_rows`` (or None),
        each excluded from its own result.

        The rows need not be consecutive: one more neighbour is searched
        without exclusion, then the query's own row is dropped (or, when it
        is not among them, the last neighbour: the row ties at distance 0
        with smaller duplicates that all came first).
        """
        if self_rows is None:
            return self.kneighbors(queries, k, -1)
        dist, ind = self.kneighbors(queries, k + 1, -1)
        keep = np.argsort(ind == self_rows[:, None], axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, keep, axis=1), np.take_along_axis(
            ind, keep, axis=1
        )

    def radius_rows(self, queries, r, self_rows):
        """Radius search of queries that are database rows ``self_rows`` (or None)."""
        dist, ind, offsets = self.radius_neighbors(queries, r, -1)
        if self_rows is None:
            return dist, ind, offsets
        row_of = np.repeat(np.arange(len(queries)), np.diff(offsets))
        keep = ind != self_rows[row_of]
        counts = np.bincount(row_of[keep], minlength=len(queries))
        offsets = np.zeros(len(queries) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return dist[keep], ind[keep], offsets


def default_n_tables(n_samples, n_bytes):
    """m = b / log2(n) (Norouzi et al.), rounded up so that substrings have at
    most about log2(n) bits (direct-address offsets stay near n entries);
    within [ceil(b / 32), b]."""
    nbits = 8 * n_bytes
    m = math.ceil(nbits / max(math.log2(max(n_samples, 2)), 1.0))
    return int(min(max(m, -(-nbits // _MAX_SUBSTRING_BITS)), nbits))


class MultiIndexTables:
    """One hash table per substring of the codes: CSR-style bucket offsets and ids.

    Table ``t`` covers bits ``[starts[t], starts[t] + lengths[t])``; lengths
    differ by at most one bit. A table whose substring has at most
    ``_DIRECT_MAX_BITS`` bits and ``2 ** length <= 2 * n`` addresses its
    offsets directly by key; longer ones keep their sorted distinct keys
    (binary search). Built by counting sort in two passes over the codes
    (sorting for the keyed layout). Plain NumPy arrays: pickles as is.
    """

    def __init__(self, codes, n_tables):
        n, n_bytes = codes.shape
        nbits = 8 * n_bytes
        lengths = np.full(n_tables, nbits // n_tables, dtype=np.int64)
        lengths[: nbits % n_tables] += 1
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.ids = np.empty((n_tables, n), dtype=np.uint32)
        keys = np.empty(n, dtype=np.uint32)
        offsets, distinct = [], []
        self.meta = np.empty((n_tables, 5), dtype=np.int64)
        n_offsets = n_keys = 0
        for t in range(n_tables):
            _mih.substring_keys(codes, starts[t], lengths[t], keys)
            if lengths[t] <= _DIRECT_MAX_BITS and 2 ** lengths[t] <= 2 * n:
                table_offsets = np.zeros(2 ** lengths[t] + 1, dtype=np.uint32)
                _mih.build_direct_table(keys, table_offsets, self.ids[t])
                table_keys = None
            else:
                order = np.argsort(keys, kind="stable")
                self.ids[t] = order
                table_keys, first = np.unique(keys[order], return_index=True)
                table_offsets = np.append(first, n).astype(np.uint32)
            self.meta[t] = (
                starts[t],
                lengths[t],
                n_offsets,
                n_keys,
                -1 if table_keys is None else len(table_keys),
            )
            offsets.append(table_offsets)
            n_offsets += len(table_offsets)
            if table_keys is not None:
                distinct.append(table_keys.astype(np.uint32))
                n_keys += len(table_keys)
        self.offsets = np.concatenate(offsets)
        # one element at least: the kernels take the address of element 0
        self.keys = (
            np.concatenate(distinct) if distinct else np.zeros(1, dtype=np.uint32)
        )

    @property
    def nbytes(self):
        return (
            self.ids.nbytes + self.offsets.nbytes + self.keys.nbytes + self.meta.nbytes
        )

    @property
    def n_tables(self):
        return self.meta.shape[0]


class MultiIndexHashing:
    """Exact search by probing the tables of ``MultiIndexTables`` (``_mih``).

    A query given a budget (in ``_mih``'s work units, about nanoseconds) that
    its next probing stage would exceed is searched by ``fallback`` (the
    scan) instead.
    """

    def __init__(self, codes, tables, n_threads, fallback):
        self.codes = codes
        self.tables = tables
        self.n_threads = n_threads
        self.fallback = fallback

    def probe(self, queries, kind, value, self_offset, budget, n_threads):
        """Probe only: (result, failed, work) where ``failed`` flags the
        queries stopped by the budget (their rows of ``result`` are
        undefined) and ``work`` is each query's work in the kernels' units."""
        n_q = queries.shape[0]
        t = self.tables
        work = np.empty(n_q, dtype=np.float64)
        failed = np.zeros(n_q, dtype=np.uint8)
        common = (work, failed, self_offset, budget, _PROBE_NS)
        tail = (candidate_cost(self.codes), max(1, min(n_threads, n_q)))
        args = (queries, self.codes, t.ids, t.offsets, t.keys, t.meta)
        if kind == "r":
            return _mih.mih_radius(*args, value, *common, *tail), failed, work
        result = (
            np.empty((n_q, value), dtype=np.int32),
            np.empty((n_q, value), dtype=np.int64),
        )
        _mih.mih_kneighbors(*args, *result, *common, *tail)
        return result, failed, work

    def kneighbors(self, queries, k, self_offset, budget=0.0):
        """(distances, indices) of the k nearest codes of each query."""
        (dist, ind), failed, _ = self.probe(
            queries, "k", k, self_offset, budget, self.n_threads
        )
        rows = np.flatnonzero(failed)
        if rows.size:
            dist[rows], ind[rows] = self.fallback.kneighbors_rows(
                queries[rows], k, self._self_rows(rows, self_offset)
            )
        return dist, ind

    def radius_neighbors(self, queries, r, self_offset, budget=0.0):
        """(distances, indices, offsets) of the codes within ``r`` of each query."""
        result, failed, _ = self.probe(
            queries, "r", r, self_offset, budget, self.n_threads
        )
        rows = np.flatnonzero(failed)
        if rows.size:
            sub = self.fallback.radius_rows(
                queries[rows], r, self._self_rows(rows, self_offset)
            )
            result = _splice_rows(result, rows, sub)
        return result

    def probe_seconds(self, queries, kind, value, budget):
        """Hash ``queries`` on the calling thread under ``budget``: (seconds
        per query, share of the queries stopped by the budget, total work)."""
        (_, failed, work), seconds = _timed(
            lambda: self.probe(queries, kind, value, -1, budget, 1)
        )
        n_q = len(queries)
        return seconds / n_q, np.count_nonzero(failed) / n_q, work.sum()

    @staticmethod
    def _self_rows(rows, self_offset):
        return rows + self_offset if self_offset >= 0 else None


def _splice_rows(result, rows, sub):
    """Put the results ``sub`` of queries ``rows`` (empty in ``result``) in place."""
    dist, ind, offsets = result
    sub_dist, sub_ind, sub_offsets = sub
    counts = np.diff(offsets)
    counts[rows] = np.diff(sub_offsets)
    new_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    is_sub = np.zeros(len(counts), dtype=bool)
    is_sub[rows] = True
    from_sub = np.repeat(is_sub, counts)
    new_dist = np.empty(new_offsets[-1], dtype=np.int32)
    new_ind = np.empty(new_offsets[-1], dtype=np.int64)
    new_dist[~from_sub], new_ind[~from_sub] = dist, ind
    new_dist[from_sub], new_ind[from_sub] = sub_dist, sub_ind
    return new_dist, new_ind, new_offsets


def candidate_cost(codes):
    """Estimated cost of verifying one candidate (nanoseconds)."""
    return _CANDIDATE_NS + _CANDIDATE_NS_PER_MB * codes.nbytes / 1e6


def build_tables(codes, algorithm, n_tables):
    """Tables for "mih", and for "auto" when it may use them; else None."""
    n = codes.shape[0]
    if algorithm == "brute" or (algorithm == "auto" and n < _AUTO_MIN_SAMPLES):
        return None
    if n >= 2**32:
        if algorithm == "auto":
            return None
        raise ValueError(
            f"algorithm='mih' supports fewer than 2**32 codes, got {n}; use 'brute'"
        )
    nbits = 8 * codes.shape[1]
    m = default_n_tables(n, codes.shape[1]) if n_tables is None else n_tables
    if m > nbits or -(-nbits // m) > _MAX_SUBSTRING_BITS:
        raise ValueError(
            f"n_tables must be between {-(-nbits // _MAX_SUBSTRING_BITS)} and {nbits} "
            f"for {codes.shape[1]}-byte codes (substrings of 1 to "
            f"{_MAX_SUBSTRING_BITS} bits), got {n_tables}"
        )
    return MultiIndexTables(codes, m)


class HammingSearch:
    """The engine choice for one call: ``algorithm`` in {"auto", "brute", "mih"}.

    "mih" probes every query (no budget). "auto" times the probing of a
    sample of the batch against a scan and runs the whole batch on the
    faster engine, a hashed query that would cost more than a few scans
    being scanned instead; batches too small to sample take the engine
    chosen at fit (``calibrate``).
    """

    def __init__(self, codes, tables, algorithm, n_jobs, auto=None):
        # resolved once per call: it can take a fraction of a millisecond
        n_threads = _openmp_effective_n_threads(n_jobs)
        self.brute = BruteForce(codes, n_threads)
        self.mih = (
            None
            if tables is None
            else MultiIndexHashing(codes, tables, n_threads, self.brute)
        )
        self.algorithm = "brute" if tables is None else algorithm
        self.codes = codes
        # what "auto" measured at fit (calibrate): "scan" maps "k" (k-NN) and
        # "r" (radius) to the scan's seconds per query on one thread (k-NN:
        # in blocks of _QUERY_BLOCK queries; "batch_speedup" is how much
        # faster that is than a few queries at a time, the kernels' modes),
        # "engine" maps (kind, value) to the engine for small batches,
        # "hopeless" a kind to the smallest k (radius) at which hashing
        # stand-ins cost more than _AUTO_HOPELESS scans
        self.auto = {"scan": {}, "engine": {}, "hopeless": {}} if auto is None else auto
        self.choice = None  # engine used for the last call (tests, benchmarks)

    def calibrate(self, k, radius):
        """Measure "auto"'s references on database rows standing in for
        queries, on the calling thread: the scan's time per query; the time
        of one work unit of the probing kernels (their units are a fixed cost
        model, and the machine and the database set the real time); and the
        engine for small batches at the default ``k`` and ``radius``
        (``None``: none). Returns them."""
        rows = self.codes[_spread(self.codes.shape[0], _AUTO_FIT_SAMPLE)]
        k_rows = _as_database_rows("k", 1 if k is None else k)
        scan = self.auto["scan"]
        scan["k"] = self._scan_seconds("k", k_rows, rows, repeats=2)
        few = rows[_spread(len(rows), _AUTO_FIT_RADIUS_SAMPLE)]
        self.auto["batch_speedup"] = self._scan_seconds(
            "k", k_rows, few, repeats=2
        ) / max(scan["k"], 1e-12)
        scan["r"] = self._scan_seconds("r", radius or 0, few, repeats=2)
        # each stand-in stops after about _CALIBRATION_BUDGET scans by the
        # kernels' own cost model (uniform wide codes would hash for hundreds
        # of scans); the work done until then still times a unit
        seconds, _, work = self.mih.probe_seconds(
            rows, "k", k_rows, _CALIBRATION_BUDGET * 1e9 * scan["k"]
        )
        # never zero: budgets divide by it
        self.auto["unit_seconds"] = max(seconds * len(rows), 1e-9) / max(work, 1.0)
        for kind, value, searched in (("k", k, k_rows), ("r", radius, radius)):
            if value is None:
                continue
            # the engine of batches too small to sample, which scan a few
            # queries at a time
            engine, _, ratio = self._choose(rows, kind, searched, batch=False)
            self.auto["engine"][kind, value] = engine
            if ratio >= _AUTO_HOPELESS:
                self.auto["hopeless"][kind] = value
        return self.auto

    def _budget(self, scan_seconds):
        """Work units of the probing kernels worth _QUERY_BUDGET scans."""
        return _QUERY_BUDGET * scan_seconds / self.auto["unit_seconds"]

    def _scan_seconds(self, kind, value, queries, repeats=1):
        """Seconds per query of scanning for ``queries`` on the calling thread."""
        brute = BruteForce(self.codes, 1)
        search = brute.kneighbors if kind == "k" else brute.radius_neighbors
        seconds = min(
            _timed(lambda: search(queries, value, -1))[1] for _ in range(repeats)
        )
        return seconds / len(queries)

    def _choose(self, sample, kind, value, batch):
        """(engine, scan seconds per query, hashing's cost over the scan's)
        for a batch like ``sample``, scanned in blocks of _QUERY_BLOCK
        queries if ``batch`` (k-NN only), else a few queries at a time.

        The sample is hashed as the batch would be (same budget per query),
        each query stopped by the budget counting its probing plus a scan.
        The scan's time at fit was measured at one k (radius); when the
        sample's cost comes close to it, the scan is timed on a few of the
        sample's queries instead (a few at a time: converted to blocks by
        the ratio measured at fit).
        """
        speedup = self.auto.get("batch_speedup", 1.0) if kind == "k" else 1.0
        scan = self.auto["scan"][kind] * (1.0 if batch else speedup)
        probe, failed, _ = self.mih.probe_seconds(
            sample, kind, value, self._budget(scan)
        )
        low, high = _AUTO_CLOSE
        if low * scan < probe + failed * scan < high * scan:
            few = sample[_spread(len(sample), _AUTO_SCAN_SAMPLE)]
            scan = self._scan_seconds(kind, value, few) / (speedup if batch else 1.0)
        ratio = (probe + failed * scan) / scan
        return ("mih" if ratio < _AUTO_MARGIN else "brute"), scan, ratio

    def kneighbors(self, queries, k, self_offset):
        return self._dispatch(
            queries,
            self_offset,
            ("k", k),
            lambda q, s: self.brute.kneighbors(q, k, s),
            lambda q, s, b: self.mih.kneighbors(q, k, s, b),
        )

    def radius_neighbors(self, queries, r, self_offset):
        return self._dispatch(
            queries,
            self_offset,
            ("r", r),
            lambda q, s: self.brute.radius_neighbors(q, r, s),
            lambda q, s, b: self.mih.radius_neighbors(q, r, s, b),
        )

    def _dispatch(self, queries, self_offset, key, brute, mih):
        """Run the scan, or hashing with a budget per query (see _choose)."""
        self.choice = self.algorithm
        if self.algorithm == "brute":
            return brute(queries, self_offset)
        if self.algorithm == "mih":
            return mih(queries, self_offset, 0.0)
        if "unit_seconds" not in self.auto:  # not calibrated at fit
            self.calibrate(None, None)
        n_q = queries.shape[0]
        scan = self.auto["scan"][key[0]]
        engine = self._small_batch_engine(key) if n_q < _AUTO_SMALL_BATCH else None
        hopeless = self.auto["hopeless"].get(key[0])
        if hopeless is not None and key[1] >= hopeless:
            # a larger k or radius only costs hashing more: no sample
            engine = "brute"
        if engine is None:
            kind, value = key
            if self_offset >= 0:  # X=None: the queries are database rows
                value = _as_database_rows(kind, value)
            batch = kind == "k" and self.brute.runs_batches(n_q)
            engine, scan, _ = self._choose(
                queries[_sample_rows(n_q)], kind, value, batch
            )
        self.choice = engine
        if engine == "mih":
            return mih(queries, self_offset, self._budget(scan))
        return brute(queries, self_offset)

    def _small_batch_engine(self, key):
        """The engine chosen at fit for ``key``, else for the default value of
        the same kind (same database, a nearby k or radius), else None."""
        engines = self.auto["engine"]
        if key in engines:
            return engines[key]
        same_kind = [engine for (kind, _), engine in engines.items() if kind == key[0]]
        return same_kind[0] if same_kind else None
