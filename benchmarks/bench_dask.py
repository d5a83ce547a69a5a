"""Sharded exact k-NN on a LocalCluster against single-process HammingNeighbors.

The database (random packed codes, --n-database x --nbits) is written as
--n-shards ``.npy`` files; ``DaskHammingNeighbors`` is fitted from the file
pattern on a LocalCluster of W worker processes with 1 thread each, and the
same codes are searched by one in-process ``HammingNeighbors(n_jobs=1)``.
Every configuration checks the distributed answer is identical (distances and
indices) to the single-process one.

Reported per configuration (median of --repeats timed calls after one warm-up):

* q/s wall: queries per second of wall clock (what a user waits);
* q/s/core cpu: queries per CPU-second, CPU time summed over the search's
  processes (the worker processes for the cluster, this process for the
  single-process search): robust to other jobs sharing the cores;
* per core / single: the per-core throughput of the cluster divided by that of
  the single-process search (wall: q/s / W; cpu: as measured);
* merge and overhead per query, from dask's task stream of one call: compute
  time of the merge tasks, and wall time not spent in any task on the busiest
  worker (scheduling, transfers, serialisation).

    python benchmarks/bench_dask.py                       # 10M x 64 bits, 16 shards
    python benchmarks/bench_dask.py --n-database 1000000 --workers 1 2 --repeats 3

Needs the dask extra (``pip install -e ".[dask]"``).
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np


def write_shards(folder, n_database, n_bytes, n_shards, seed):
    """Random codes in n_shards .npy files; returns the concatenated codes."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n_database, n_bytes), dtype=np.uint8)
    for i, part in enumerate(np.array_split(codes, n_shards)):
        np.save(os.path.join(folder, f"codes_{i:04d}.npy"), part)
    return codes


def time_calls(fn, repeats, cpu_clock):
    """Median wall and CPU seconds of repeats calls, and the last result."""
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = cpu_clock(), time.perf_counter()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(cpu_clock() - c0)
    return statistics.median(wall), statistics.median(cpu), out


def workers_cpu_clock(client):
    """CPU seconds used so far by all worker processes of the cluster."""
    return lambda: sum(client.run(time.process_time).values())


def task_stream_breakdown(stream, n_queries):
    """Per-query merge compute and unaccounted wall time, from one call's tasks."""
    busy, merge = {}, 0.0
    starts, stops = [], []
    for task in stream:
        for part in task["startstops"]:
            if part["action"] != "compute":
                continue
            seconds = part["stop"] - part["start"]
            busy[task["worker"]] = busy.get(task["worker"], 0.0) + seconds
            starts.append(part["start"])
            stops.append(part["stop"])
            if "merge" in str(task["key"]):
                merge += seconds
    span = max(stops) - min(starts)
    return merge / n_queries, (span - max(busy.values())) / n_queries


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-database", type=int, default=10_000_000)
    parser.add_argument("--nbits", type=int, default=64)
    parser.add_argument("--n-shards", type=int, default=16)
    parser.add_argument("--n-queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-worker-profiler",
        action="store_true",
        help="disable the workers' statistical profiler (it samples every 10 ms)",
    )
    args = parser.parse_args(argv)
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")

    import dask
    from distributed import Client, LocalCluster, get_task_stream

    from sklearn_hash import HammingNeighbors
    from sklearn_hash.dask import DaskHammingNeighbors

    n_bytes = -(-args.nbits // 8)
    print(
        f"{platform.processor() or platform.machine()}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start"
    )
    print(
        f"{args.n_database} x {args.nbits}-bit codes in {args.n_shards} shards, "
        f"{args.n_queries} queries, k={args.k}, median of {args.repeats}; "
        f"worker profiler {'off' if args.no_worker_profiler else 'on'}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        codes = write_shards(folder, args.n_database, n_bytes, args.n_shards, args.seed)
        queries = np.random.default_rng(args.seed + 1).integers(
            0, 256, size=(args.n_queries, n_bytes), dtype=np.uint8
        )
        single = HammingNeighbors(n_jobs=1).fit(codes)
        single.kneighbors(queries[:10], args.k)
        wall, cpu, expected = time_calls(
            lambda: single.kneighbors(queries, args.k), args.repeats, time.process_time
        )
        base_wall, base_cpu = args.n_queries / wall, args.n_queries / cpu
        rows.append(
            ("single process", 1, base_wall, base_cpu, 1.0, 1.0, None, None, True)
        )
        del codes  # the single-process index keeps its own reference
        profiler = {"distributed.worker.profile.enabled": not args.no_worker_profiler}
        for n_workers in args.workers:
            with (
                dask.config.set(profiler),
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                ) as cluster,
                Client(cluster) as client,
            ):
                nn = DaskHammingNeighbors(n_jobs=1).fit(os.path.join(folder, "*.npy"))
                nn.kneighbors(queries[:10], args.k)
                wall, cpu, got = time_calls(
                    lambda nn=nn: nn.kneighbors(queries, args.k),
                    args.repeats,
                    workers_cpu_clock(client),
                )
                with get_task_stream(client) as stream:
                    nn.kneighbors(queries, args.k)
                merge, overhead = task_stream_breakdown(stream.data, args.n_queries)
                same = all(np.array_equal(g, e) for g, e in zip(got, expected))
                q_wall, q_cpu = args.n_queries / wall, args.n_queries / cpu
                rows.append(
                    (
                        f"LocalCluster {n_workers}w x 1t",
                        n_workers,
                        q_wall,
                        q_cpu,
                        q_wall / n_workers / base_wall,
                        q_cpu / base_cpu,
                        merge,
                        overhead,
                        same,
                    )
                )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
    header = (
        f"{'search':>22} {'cores':>5} {'q/s wall':>9} {'q/s/core cpu':>13} "
        f"{'per core/single wall':>21} {'cpu':>5} {'merge us/q':>10} "
        f"{'overhead us/q':>13}  same result"
    )
    print(header)
    print("-" * len(header))
    for name, cores, q_wall, q_cpu, r_wall, r_cpu, merge, overhead, same in rows:
        merge = "" if merge is None else f"{merge * 1e6:.1f}"
        overhead = "" if overhead is None else f"{overhead * 1e6:.1f}"
        print(
            f"{name:>22} {cores:>5} {q_wall:>9.1f} {q_cpu:>13.1f} {r_wall:>21.2f} "
            f"{r_cpu:>5.2f} {merge:>10} {overhead:>13}  {'yes' if same else 'NO'}"
        )


if __name__ == "__main__":
    main()
