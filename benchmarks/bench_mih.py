"""Multi-index hashing against the scan: HammingNeighbors(algorithm=...).

On sift-wall-codes (real SIFT codes, 64 and 128 bits; see
../shared/data/README.md) and on uniformly random codes of the same size:
queries/s of "brute", "mih" and "auto" for k-NN and radius search, with
faiss's exact ``IndexBinaryFlat`` as the anchor for k-NN (same run, ratio
reported), candidates verified per query, build time and index memory; then
a scaling table over real random subsamples of the database (never stacked
copies). Results are checked identical to the scan's in every cell.

Example::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mih.py --threads 1 2 --clock cpu
"""

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from sklearn_hash import HammingNeighbors
from sklearn_hash.neighbors import _mih

DATA = Path(
    os.environ.get(
        "SKLEARN_HASH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def load_codes(name, nbits, n_queries, seed=0):
    """(database, queries) of sift-wall-codes, or random codes of the same shape."""
    folder = DATA / "sift-wall-codes"
    base = np.load(folder / f"codes_lsh{nbits}_base.npy")
    if name == "random":
        rng = np.random.default_rng(seed)
        return (
            rng.integers(0, 256, size=base.shape, dtype=np.uint8),
            rng.integers(0, 256, size=(n_queries, base.shape[1]), dtype=np.uint8),
        )
    return base, np.load(folder / f"codes_lsh{nbits}_query.npy")[:n_queries]


# calls of a few milliseconds are repeated until they add up to this, so that
# their median is not one scheduler hiccup (at most 100 runs)
MIN_TOTAL_SECONDS = 0.3


def _timer(clock):
    return time.process_time if clock == "cpu" else time.perf_counter


def timed(fn, repeats, clock):
    """Median seconds of ``repeats`` runs (CPU or wall clock) and the last result."""
    return timed_together({"fn": fn}, repeats, clock)["fn"]


def timed_together(calls, repeats, clock):
    """{name: (median seconds, last result)} of the calls run in turn, round
    after round (a slow spell of the machine then hits every call alike), at
    least ``repeats`` rounds and more while the fastest call's runs add up to
    less than MIN_TOTAL_SECONDS (at most 100 rounds)."""
    timer = _timer(clock)
    times = {name: [] for name in calls}
    results = {}
    rounds = 0
    while rounds < repeats or (
        min(sum(t) for t in times.values()) < MIN_TOTAL_SECONDS and rounds < 100
    ):
        for name, fn in calls.items():
            start = timer()
            results[name] = fn()
            times[name].append(timer() - start)
        rounds += 1
    return {name: (float(np.median(times[name])), results[name]) for name in calls}


def candidates_per_query(nn, queries, k=None, radius=None):
    """Candidates (bucket entries, duplicates included) verified per query by
    pure multi-index hashing: the kernels' work with unit cost per candidate."""
    t = nn._tables
    args = (nn.codes_, t.ids, t.offsets, t.keys, t.meta)
    n_q = len(queries)
    work = np.empty(n_q)
    failed = np.zeros(n_q, dtype=np.uint8)
    if k is not None:
        dist = np.empty((n_q, k), dtype=np.int32)
        ind = np.empty((n_q, k), dtype=np.int64)
        _mih.mih_kneighbors(
            queries, *args, dist, ind, work, failed, -1, 0.0, 0.0, 1.0, 1
        )
    else:
        _mih.mih_radius(queries, *args, radius, work, failed, -1, 0.0, 0.0, 1.0, 1)
    return work.mean()


def same_results(a, b):
    """Equal k-NN arrays, or equal radius rows (object arrays of arrays)."""

    def flat(x):
        if x.dtype != object:
            return [x]
        return [np.array([len(row) for row in x]), np.concatenate(list(x))]

    return all(
        np.array_equal(u, v) for x, y in zip(a, b) for u, v in zip(flat(x), flat(y))
    )


def faiss_knn(db, queries, k, n_threads, repeats, clock):
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(n_threads)
    index = faiss.IndexBinaryFlat(8 * db.shape[1])
    index.add(db)
    seconds, _ = timed(lambda: index.search(queries, k), repeats, clock)
    return seconds


GRID_HEADER = (
    "| codes | bits | threads | search | brute q/s | mih q/s | auto q/s | "
    "mih / brute | auto / best | faiss flat q/s | mih / faiss | cand./query |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def grid(args):
    for name in args.codes:
        for nbits in args.nbits:
            db, queries = load_codes(name, nbits, args.queries)
            engines = {
                algo: HammingNeighbors(algorithm=algo)
                for algo in ("brute", "mih", "auto")
            }
            start = time.perf_counter()
            engines["mih"].fit(db)
            build = time.perf_counter() - start
            engines["brute"].fit(db)
            engines["auto"].fit(db)
            # one markdown table per code set: a line between header and rows
            # would end the table
            print(
                f"\n{name} {nbits} bits: n={len(db)}, build {build:.2f} s, "
                f"{engines['mih'].n_tables_} tables, index "
                f"{engines['mih'].index_nbytes_ / 1e6:.1f} MB vs codes "
                f"{db.nbytes / 1e6:.1f} MB:\n"
            )
            print(GRID_HEADER)
            searches = [("k", k) for k in args.k] + [("r", r) for r in args.radius]
            for n_threads in args.threads:
                for kind, value in searches:
                    row = search_row(engines, queries, kind, value, n_threads, args)
                    print(f"| {name} | {nbits} | {n_threads} | {row}")


def search_call(nn, queries, kind, value):
    """The timed call: k-NN with k = value, or radius search with radius = value."""
    if kind == "k":
        return lambda: nn.kneighbors(queries, n_neighbors=value)
    return lambda: nn.radius_neighbors(queries, radius=value)


def search_row(engines, queries, kind, value, n_threads, args):
    for nn in engines.values():
        nn.set_params(n_jobs=n_threads)
    timings = timed_together(
        {algo: search_call(nn, queries, kind, value) for algo, nn in engines.items()},
        args.repeats,
        args.clock,
    )
    q_s = {algo: len(queries) / seconds for algo, (seconds, _) in timings.items()}
    results = {algo: result for algo, (_, result) in timings.items()}
    assert same_results(results["brute"], results["mih"]), "mih differs from brute"
    assert same_results(results["brute"], results["auto"]), "auto differs from brute"
    faiss_cell = ratio_cell = "-"
    if kind == "k":
        seconds = faiss_knn(
            engines["brute"].codes_, queries, value, n_threads, args.repeats, args.clock
        )
        if seconds is not None:
            faiss_qs = len(queries) / seconds
            faiss_cell, ratio_cell = f"{faiss_qs:.0f}", f"{q_s['mih'] / faiss_qs:.2f}"
    cand = candidates_per_query(
        engines["mih"], queries, **({"k": value} if kind == "k" else {"radius": value})
    )
    label = f"k={value}" if kind == "k" else f"radius {value}"
    best = max(q_s["brute"], q_s["mih"])
    return (
        f"{label} | {q_s['brute']:.0f} | {q_s['mih']:.0f} | {q_s['auto']:.0f} | "
        f"{q_s['mih'] / q_s['brute']:.2f} | {q_s['auto'] / best:.2f} | "
        f"{faiss_cell} | {ratio_cell} | {cand:.0f} |"
    )


def scaling(args):
    """Real random subsamples of the 64-bit database; 1 thread."""
    db_full, queries = load_codes("wall", 64, args.queries)
    rng = np.random.default_rng(0)
    print()
    print(
        "| n | tables | build s | index MB | codes MB | search | brute q/s | "
        "mih q/s | auto q/s | mih / brute | cand./query | scan / cand. |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.scaling:
        db = db_full[
            np.sort(rng.choice(len(db_full), size=min(n, len(db_full)), replace=False))
        ]
        engines = {
            algo: HammingNeighbors(algorithm=algo, n_jobs=1)
            for algo in ("brute", "mih", "auto")
        }
        start = time.perf_counter()
        engines["mih"].fit(db)
        build = time.perf_counter() - start
        engines["brute"].fit(db)
        engines["auto"].fit(db)
        for kind, value in (("k", 10), ("r", 6)):
            timings = timed_together(
                {a: search_call(nn, queries, kind, value) for a, nn in engines.items()},
                args.repeats,
                args.clock,
            )
            q_s = {a: len(queries) / seconds for a, (seconds, _) in timings.items()}
            criterion = {"k": value} if kind == "k" else {"radius": value}
            cand = candidates_per_query(engines["mih"], queries, **criterion)
            label = f"k={value}" if kind == "k" else f"radius {value}"
            mih = engines["mih"]
            print(
                f"| {len(db)} | {mih.n_tables_} | {build:.2f} | "
                f"{mih.index_nbytes_ / 1e6:.1f} | {db.nbytes / 1e6:.1f} | {label} | "
                f"{q_s['brute']:.0f} | {q_s['mih']:.0f} | {q_s['auto']:.0f} | "
                f"{q_s['mih'] / q_s['brute']:.2f} | {cand:.0f} | {len(db) / cand:.0f} |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--codes", nargs="+", default=["wall", "random"], choices=["wall", "random"]
    )
    parser.add_argument(
        "--nbits", nargs="+", type=int, default=[64, 128], choices=[64, 128]
    )
    parser.add_argument("--k", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument("--radius", nargs="+", type=int, default=[2, 4, 6, 8])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="wall",
        help="cpu: process CPU time (for 1 thread on a shared machine)",
    )
    parser.add_argument(
        "--scaling", nargs="*", type=int, default=[93_329, 186_658, 373_316, 746_633]
    )
    parser.add_argument("--no-grid", action="store_true")
    args = parser.parse_args()
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")
    print(
        f"# {platform.processor() or platform.machine()}, "
        f"load {os.getloadavg()[0]:.1f}, clock {args.clock}, median of "
        f"{args.repeats} rounds or more (engines in turn; up to 100 rounds while "
        f"the fastest totals under {MIN_TOTAL_SECONDS} s)"
    )
    if not args.no_grid:
        grid(args)
    if args.scaling:
        scaling(args)
    print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
