"""Exact Hamming k-NN: HammingNeighbors against faiss.IndexBinaryFlat, side by side.

Both search the same random packed codes in the same run; every configuration
reports queries/s (median of --repeats runs, wall clock) for both and the
ratio ours / faiss, and checks that both return the same distances (indices
may differ inside ties: faiss breaks them its own way, we by smaller index).

    python benchmarks/bench_search.py                      # the full grid
    python benchmarks/bench_search.py --n-database 1000000 --nbits 128 \\
        --n-queries 1000 --k 10 --threads 1                # one configuration
    python benchmarks/bench_search.py --path --clock cpu --n-database 1000000 \\
        --n-queries 200 --k 10                             # per-path table

``--path`` forces each popcount path the CPU has (and ``auto``, the measured
per-width choice) in turn and prints, per code width, the nanoseconds per
distance of the whole k-NN scan (``--threads``' first value, normally 1)
for batches of queries and for one query per call, next to faiss measured in
the same run.

Needs faiss-cpu (``pip install -e ".[bench]"``).
"""

import argparse
import itertools
import statistics
import time

import numpy as np

CLOCKS = {
    # wall clock: what a user waits; distorted when other jobs share the cores
    "wall": time.perf_counter,
    # CPU time of this process (all its threads): robust to other jobs, and
    # equal to wall time for one thread on an idle core
    "cpu": time.process_time,
}


def median_times(fns, repeats, clock=time.perf_counter):
    """(median time, last result) of each function, the functions called in
    turn in every repeat, so that a slow spell of a shared machine hits them
    alike."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = clock()
            outs[i] = fn()
            times[i].append(clock() - t0)
    return [(statistics.median(t), out) for t, out in zip(times, outs)]


def one_per_call(search, queries, k):
    """Search the queries one call each, as a latency-bound service does."""
    dist = np.empty((len(queries), k), dtype=np.int32)
    for i in range(len(queries)):
        dist[i] = search(queries[i : i + 1], k)
    return dist


def faiss_simd_level(faiss):
    """The SIMD level faiss's dynamic dispatch uses ("-" before it had one)."""
    config = getattr(faiss, "SIMDConfig", None)
    return config.get_level_name() if config is not None else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--n-database", type=int, nargs="+", default=[1_000_000, 100_000]
    )
    parser.add_argument("--nbits", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--n-queries", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--single-queries",
        type=int,
        default=300,
        help="queries searched one per call (0 to skip that mode)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--algorithm",
        choices=["auto", "brute", "mih"],
        default="auto",
        help="HammingNeighbors' engine in the grid (default: its own default, "
        "which may hash where that measured faster; --path always scans)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall (default) or cpu: process CPU time, for a shared, "
        "loaded machine (meaningful for 1 thread)",
    )
    parser.add_argument(
        "--faiss-simd",
        default=None,
        help="faiss's SIMD level (e.g. AVX2; default: the one it detects), "
        "faiss.SIMDConfig.set_level",
    )
    parser.add_argument(
        "--path",
        nargs="*",
        default=None,
        help="per-path table: force each named popcount path (all "
        "available ones and auto when no name is given)",
    )
    args = parser.parse_args(argv)
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")
    import faiss

    if args.faiss_simd:
        faiss.SIMDConfig.set_level(getattr(faiss, f"SIMDLevel_{args.faiss_simd}"))
    print(f"# faiss SIMD level: {faiss_simd_level(faiss)}")
    if args.path is not None:
        return path_table(args)

    from sklearn_hash import HammingNeighbors
    from sklearn_hash.neighbors import _kernels

    print(
        f"faiss {faiss.__version__}; popcount path {_kernels.popcount_path()}; "
        f"algorithm {args.algorithm}; median of {args.repeats} repeats, "
        f"{args.clock} clock"
    )
    header = (
        f"{'n_db':>9} {'nbits':>5} {'queries':>9} {'k':>4} {'thr':>3} "
        f"{'ours q/s':>11} {'faiss q/s':>11} {'ratio':>6}  same distances"
    )
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(args.seed)
    n_q_max = max(args.n_queries + [args.single_queries])
    for n_db, nbits in itertools.product(args.n_database, args.nbits):
        db = rng.integers(0, 256, size=(n_db, nbits // 8), dtype=np.uint8)
        queries = rng.integers(0, 256, size=(n_q_max, nbits // 8), dtype=np.uint8)
        index = faiss.IndexBinaryFlat(nbits)
        index.add(db)
        modes = [(str(n), queries[:n], False) for n in args.n_queries]
        if args.single_queries:
            modes.append(
                (f"{args.single_queries}x1", queries[: args.single_queries], True)
            )
        for (label, q, single), k, threads in itertools.product(
            modes, args.k, args.threads
        ):
            faiss.omp_set_num_threads(threads)
            ours = HammingNeighbors(
                n_neighbors=k, algorithm=args.algorithm, n_jobs=threads
            ).fit(db)

            def run_ours(q=q, ours=ours):
                return ours.kneighbors(q, return_distance=True)[0]

            def run_faiss(q=q, k=k, index=index):
                return index.search(q, k)[0]

            if single:

                def run_ours(q=q, ours=ours, k=k):
                    return one_per_call(lambda x, k: ours.kneighbors(x)[0], q, k)

                def run_faiss(q=q, k=k, index=index):
                    return one_per_call(lambda x, k: index.search(x, k)[0], q, k)

            (t_ours, d_ours), (t_faiss, d_faiss) = median_times(
                [run_ours, run_faiss], args.repeats, CLOCKS[args.clock]
            )
            same = np.array_equal(d_ours, d_faiss)
            print(
                f"{n_db:>9} {nbits:>5} {label:>9} {k:>4} {threads:>3} "
                f"{len(q) / t_ours:>11.0f} {len(q) / t_faiss:>11.0f} "
                f"{t_faiss / t_ours:>6.2f}  {'yes' if same else 'NO'}",
                flush=True,
            )


def forced(kernels, name, nbits, ours):
    """``ours``' search with popcount path ``name`` forced for the call (its
    per-width choices measured beforehand, outside the timing)."""
    kernels.set_popcount_path(name)
    for mode in kernels.MODES:
        kernels.popcount_path(nbits // 8, mode)

    def search(q):
        kernels.set_popcount_path(name)
        return ours.kneighbors(q)[0]

    return search


def path_table(args):
    """ns per distance of the k-NN search per popcount path and width, and faiss."""
    import faiss

    from sklearn_hash import HammingNeighbors
    from sklearn_hash.neighbors import _kernels

    paths = args.path or ["auto"] + [
        p for p in _kernels.PATHS if _kernels.popcount_path_available(p)
    ]
    n_db, n_q, k, threads = (
        args.n_database[0],
        args.n_queries[0],
        args.k[0],
        args.threads[0],
    )
    n_single = args.single_queries
    clock = CLOCKS[args.clock]
    faiss.omp_set_num_threads(threads)
    rng = np.random.default_rng(args.seed)
    batch, single, chosen = {}, {}, {}
    for nbits in args.nbits:
        db = rng.integers(0, 256, size=(n_db, nbits // 8), dtype=np.uint8)
        queries = rng.integers(
            0, 256, size=(max(n_q, n_single), nbits // 8), dtype=np.uint8
        )
        index = faiss.IndexBinaryFlat(nbits)
        index.add(db)
        runs = [("faiss", lambda q, index=index: index.search(q, k)[0])]
        for name in paths:
            # the scan: the kernels' speed ("auto" may hash where a path is slow)
            ours = HammingNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads)
            runs.append((name, forced(_kernels, name, nbits, ours.fit(db))))
        # every path in turn within each repeat: a slow spell of the shared
        # machine hits them alike
        timed = median_times(
            [lambda s=search, q=queries[:n_q]: s(q) for _, search in runs],
            args.repeats,
            clock,
        )
        for (name, _), (t, d) in zip(runs, timed):
            if not np.array_equal(d, timed[0][1]):
                raise AssertionError(
                    f"{name} at {nbits} bits: distances differ from faiss"
                )
            batch[name, nbits] = 1e9 * t / (n_q * n_db)
        if n_single:
            q1 = queries[:n_single]
            timed = median_times(
                [
                    lambda s=search, q=q1: one_per_call(lambda x, kk: s(x), q, k)
                    for _, search in runs
                ],
                args.repeats,
                clock,
            )
            for (name, _), (t, _) in zip(runs, timed):
                single[name, nbits] = 1e9 * t / (n_single * n_db)
        _kernels.set_popcount_path("auto")
        chosen[nbits] = " / ".join(
            _kernels.popcount_path(nbits // 8, mode) for mode in _kernels.MODES
        )
    names = ["faiss"] + paths
    print(
        f"faiss {faiss.__version__}; {n_db} codes, k={k}, {threads} thread(s), "
        f"median of {args.repeats} repeats, {args.clock} clock; distances identical "
        "to faiss for every path"
    )
    print(
        "auto = the measured per-width choice (batch / single): "
        + ", ".join(f"{b} bits -> {chosen[b]}" for b in args.nbits)
    )
    tables = [(f"{n_q} queries per call", batch)]
    if n_single:
        tables.append((f"one query per call ({n_single} calls)", single))
    for title, table in tables:
        print(f"\nns per distance, {title} (faiss / path = speed-up over faiss)")
        print("| path | " + " | ".join(f"{b} bits" for b in args.nbits) + " |")
        print("|---|" + "---|" * len(args.nbits))
        for name in names:
            cells = []
            for b in args.nbits:
                ns = table[name, b]
                ratio = "" if name == "faiss" else f" ({table['faiss', b] / ns:.2f}x)"
                cells.append(f"{ns:.3f}{ratio}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    for mode in _kernels.MODES:
        dispatch_table(_kernels, mode, args.nbits)


def dispatch_table(kernels, mode, nbits):
    """What the per-width dispatch measured in a mode (ns per distance)."""
    timings = {b: kernels.path_timings(b // 8, mode) for b in nbits}
    measured = sorted({p for t in timings.values() for p in t})
    print(
        f"\nwhat the dispatch measured for mode {mode!r} (ns per distance on its "
        "synthetic block, thread CPU time, best of 7 rounds)"
    )
    print("| path | " + " | ".join(f"{b} bits" for b in nbits) + " |")
    print("|---|" + "---|" * len(nbits))
    for name in measured:
        cells = [
            f"{timings[b][name]:.3f}" if name in timings[b] else "-" for b in nbits
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
