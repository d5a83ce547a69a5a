"""Asymmetric hashing (Lin:V, Lin:Lin) against symmetric hashers, paper protocol.

Protocol of Neyshabur et al. (NIPS 2013), as in issue 7: the training set is
the database (mnist10k: the first ``--n-train`` base vectors, default 5,000;
sift-ngt5k: all 4,500 base vectors); the held-out ``query.npy`` vectors are
the queries. Data are centred on the training mean and scaled so training
vectors have mean norm 1 (every method sees the same data). A database item
is a true neighbour of a query if it lies within the Euclidean radius at which
training points have 50 neighbours on average (``AsymmetricLinV``'s
definition). Asymmetric hashers encode the database with ``fit_transform``
(learned database codes) and the queries with ``transform``; symmetric ones
use ``transform`` for both.

Two metrics, both over the Hamming ranking of the database for each query:

* ``mAP``: per-query average precision, expectation under random order within
  Hamming ties, mean over queries with at least one neighbour
  (``sklearn_hash.metrics.hamming_mean_average_precision``): the package's
  measure.
* ``pooled``: the authors' pooled, interpolated AP over all (query, item)
  pairs (``pooled_average_precision``), for reproducing the paper only.

Run single-threaded on a shared machine::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_asymmetric.py \\
        --data ../shared/data/mnist10k ../shared/data/sift-ngt5k \\
        --nbits 8 16 32 --seeds 0 1 2

Where a folder has ``learn.npy`` (sift-images), its first ``--n-train``
learn vectors are the training set and database.

``--table scaling``: fit time of Lin:V (defaults but ``nbits``) against the
training size, bits and threads, on the sift-images learn set (sizes above
its 20,000 take base vectors, then sift-skimage base vectors, in order; the
row says so). Every fit runs in a fresh process (peak resident memory of
that process), ``--repeats`` times (the median wall time is reported), with
``n_jobs`` and the BLAS threads set to the thread count; the load average
before and after each fit is printed::

    python benchmarks/bench_asymmetric.py --table scaling \\
        --data ../shared/data --sizes 5000 10000 20000 --nbits 16 32 64 \\
        --threads 1 2

``--table profile``: where the time of one sweep goes (``max_iter=1``,
cProfile, cumulative seconds per phase of the fit), same data as
``scaling``; it also runs on the package before issue 23 (no ``n_jobs``)::

    python benchmarks/bench_asymmetric.py --table profile \\
        --data ../shared/data --sizes 5000 20000 --nbits 32 --threads 1

``--table semantic``: the paper's semantic experiment on mnist10k: the
first ``--n-train`` base digits with their labels are the training set and
database, the held-out queries are relevant to the items of the same digit.
Lin:V fitted with the labels (``fit(X, y)``), Lin:V on Euclidean neighbours
(the radius rule) and ITQ; per-query AP of the same-label retrieval::

    python benchmarks/bench_asymmetric.py --table semantic \\
        --data ../shared/data/mnist10k --nbits 16 64 --seeds 0 1 2
"""

import argparse
import multiprocessing
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_hash import ITQ, LSH, AsymmetricLinV, PCAHashing, SpectralHashing
from sklearn_hash._asymmetric._graphs import _radius_graph
from sklearn_hash.metrics import (
    hamming_mean_average_precision,
    pooled_average_precision,
)
from sklearn_hash.metrics._base import _hamming_distances

METHODS = {
    "Lin:V": lambda nbits, seed, args: AsymmetricLinV(
        nbits,
        database="free",
        solver=args.solver,
        database_block_size=args.database_block_size,
        beta=args.beta,
        random_state=seed,
    ),
    "Lin:Lin": lambda nbits, seed, args: AsymmetricLinV(
        nbits, database="linear", solver=args.solver, random_state=seed
    ),
    "ITQ": lambda nbits, seed, args: ITQ(nbits, random_state=seed),
    "LSH": lambda nbits, seed, args: LSH(nbits, random_state=seed),
    "PCAH": lambda nbits, seed, args: PCAHashing(nbits),
    "SH": lambda nbits, seed, args: SpectralHashing(nbits),
}
DETERMINISTIC = {"PCAH", "SH"}


def load(folder, n_train):
    folder = Path(folder)
    if (folder / "learn.npy").exists():
        base = np.load(folder / "learn.npy")[:n_train].astype(np.float32)
    else:
        base = np.load(folder / "base.npy").astype(np.float32)
    query = np.load(folder / "query.npy").astype(np.float32)
    if n_train is not None and "mnist" in folder.name:
        base = base[:n_train]
    mean = base.mean(axis=0)
    scale = np.linalg.norm(base - mean, axis=1).mean()
    base, query = (base - mean) / scale, (query - mean) / scale
    _, radius = _radius_graph(base, 50)
    sq = (query**2).sum(1)[:, None] - 2 * query @ base.T + (base**2).sum(1)[None, :]
    relevant = sq <= np.float32(radius) ** 2
    return base, query, relevant, radius


def evaluate(name, nbits, seed, args, base, query, relevant):
    hasher = METHODS[name](nbits, seed, args)
    tic, cpu = time.perf_counter(), time.process_time()
    db_codes = hasher.fit_transform(base)
    fit_time, fit_cpu = time.perf_counter() - tic, time.process_time() - cpu
    dist = _hamming_distances(hasher.transform(query), db_codes)
    return {
        "mAP": hamming_mean_average_precision(relevant, dist),
        "mAP_pess": hamming_mean_average_precision(relevant, dist, ties="pessimistic"),
        "pooled": pooled_average_precision(relevant, dist),
        "fit_s": fit_time,
        "fit_cpu_s": fit_cpu,
    }


def _cell(name, results, key, digits):
    """Mean (std) of ``key`` over the seeds, or the single value marked ``det.``."""
    vals = np.array([r[key] for r in results])
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}" + (" det." if name in DETERMINISTIC else "")
    return f"{vals.mean():.{digits}f} ({vals.std():.{digits}f})"


def cpu_description():
    """CPU model and the flags that matter here (popcount, SIMD widths)."""
    model, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    wanted = ["popcnt", "avx2", "fma", "avx512f", "avx512_vpopcntdq"]
    shown = " ".join(f for f in wanted if f in flags) or "none of " + " ".join(wanted)
    return f"{model}, {os.cpu_count()} logical CPUs, flags: {shown}"


def load_average():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def scaling_data(data_root, n):
    """n sift vectors: sift-images learn, then its base, then sift-skimage base."""
    root = Path(data_root)
    parts, sources = [], []
    for name in (
        "sift-images/learn.npy",
        "sift-images/base.npy",
        "sift-skimage/base.npy",
    ):
        have = sum(len(p) for p in parts)
        if have >= n:
            break
        chunk = np.load(root / name, mmap_mode="r")[: n - have]
        parts.append(np.asarray(chunk, dtype=np.float32))
        sources.append(f"{name.split('/')[0]} {name.split('/')[1][:-4]} {len(chunk)}")
    X = np.concatenate(parts)
    if len(X) < n:
        raise ValueError(f"only {len(X)} sift vectors under {root}")
    return X, " + ".join(sources)


def _fit_in_process(data_root, n, nbits, threads, seed):
    """One timed fit; runs in a fresh process so its peak memory is its own."""
    X, _ = scaling_data(data_root, n)
    with threadpool_limits(limits=threads, user_api="blas"):
        hasher = AsymmetricLinV(nbits, n_jobs=threads, random_state=seed)
        load_before = load_average()
        tic, cpu = time.perf_counter(), time.process_time()
        hasher.fit(X)
        wall, cpu = time.perf_counter() - tic, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "wall": wall,
        "cpu": cpu,
        "sweeps": hasher.n_iter_,
        "peak_mib": peak_mib,
        "load": f"{load_before} -> {load_average()}",
    }


def scaling_table(args):
    print(f"# CPU: {cpu_description()}")
    print(f"# load average at start: {load_average()}", flush=True)
    context = multiprocessing.get_context("spawn")
    rows = []
    for n in args.sizes:
        _, sources = scaling_data(args.data[0], n)
        for nbits in args.nbits:
            for threads in args.threads:
                runs = []
                for repeat in range(args.repeats):
                    with context.Pool(1, maxtasksperchild=1) as pool:
                        run = pool.apply(
                            _fit_in_process,
                            (args.data[0], n, nbits, threads, args.seeds[0]),
                        )
                    runs.append(run)
                    print(
                        f"n {n} nbits {nbits} threads {threads} repeat {repeat}: "
                        f"wall {run['wall']:.1f} s, CPU {run['cpu']:.1f} s, "
                        f"{run['sweeps']} sweeps, peak {run['peak_mib']:.0f} MiB, "
                        f"load {run['load']}",
                        flush=True,
                    )
                rows.append((n, sources, nbits, threads, runs))
    print(
        "\n| n_samples | data | nbits | threads | fit wall s (median) | fit CPU s "
        "| sweeps | peak MiB | load average before -> after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, sources, nbits, threads, runs in rows:
        median = sorted(runs, key=lambda run: run["wall"])[len(runs) // 2]
        print(
            f"| {n} | {sources} | {nbits} | {threads} | {median['wall']:.1f} "
            f"| {median['cpu']:.1f} | {median['sweeps']} "
            f"| {max(run['peak_mib'] for run in runs):.0f} | {median['load']} |"
        )


SEMANTIC_METHODS = ["Lin:V fit(X, y)", "Lin:V Euclidean", "ITQ"]


def semantic_table(args):
    print(f"# CPU: {cpu_description()}")
    folder = Path(args.data[0])
    base = np.load(folder / "base.npy")[: args.n_train].astype(np.float32)
    query = np.load(folder / "query.npy").astype(np.float32)
    labels = np.load(folder / "labels_base.npy")[: args.n_train]
    query_labels = np.load(folder / "labels_query.npy")
    relevant = query_labels[:, None] == labels[None, :]
    print(
        f"# {folder.name}: database {len(base)} labelled points, "
        f"{len(query)} held-out queries, relevant = same label "
        f"({relevant.sum(1).mean():.0f} per query on average); "
        f"load average {load_average()}",
        flush=True,
    )
    methods = {
        "Lin:V fit(X, y)": lambda nbits, seed: (
            AsymmetricLinV(nbits, solver=args.solver, random_state=seed),
            labels,
        ),
        "Lin:V Euclidean": lambda nbits, seed: (
            AsymmetricLinV(nbits, solver=args.solver, random_state=seed),
            None,
        ),
        "ITQ": lambda nbits, seed: (ITQ(nbits, random_state=seed), None),
    }
    rows = []
    for nbits in args.nbits:
        for name, make in methods.items():
            if name not in args.semantic_methods:
                continue
            results = []
            for seed in args.seeds:
                hasher, y = make(nbits, seed)
                load_before = load_average()
                tic = time.perf_counter()
                db_codes = hasher.fit_transform(base, y)
                wall = time.perf_counter() - tic
                dist = _hamming_distances(hasher.transform(query), db_codes)
                results.append(
                    {
                        "mAP": hamming_mean_average_precision(relevant, dist),
                        "fit_s": wall,
                    }
                )
                print(
                    f"{nbits:3d} {name:16s} seed {seed}: mAP "
                    f"{results[-1]['mAP']:.4f}, fit {wall:.1f} s, "
                    f"load {load_before} -> {load_average()}",
                    flush=True,
                )
            rows.append((nbits, name, results))
    print("\n| nbits | method | same-label per-query mAP | fit wall s |")
    print("|---|---|---|---|")
    for nbits, name, results in rows:
        cells = [
            _cell(name, results, key, digits)
            for key, digits in [("mAP", 3), ("fit_s", 1)]
        ]
        print(f"| {nbits} | {name} | " + " | ".join(cells) + " |")


# phases of a fit, by the functions whose cumulative time they are
PHASES = {
    "neighbour relation": ["_radius_graph", "_knn_graph", "_same_label_graph"],
    "loss pairs and threshold": [
        "_loss_pairs",
        "_pair_labels",
        "__init__ (_Objective)",
        "rescored",
        "best_threshold",
    ],
    "distinct codes": ["_unique_codes"],
    "gain tables (M)": ["_block_gain"],
    "products with M": ["__matmul__", "__rmatmul__"],
    "query-bit SGD": ["fit_hyperplane"],
}


def profile_table(args):
    """cProfile of one sweep (max_iter=1): seconds per phase of the fit."""
    import cProfile
    import pstats

    print(f"# CPU: {cpu_description()}")
    rows = []
    for n in args.sizes:
        X, sources = scaling_data(args.data[0], n)
        for nbits in args.nbits:
            for threads in args.threads:
                hasher = AsymmetricLinV(nbits, max_iter=1, random_state=args.seeds[0])
                if "n_jobs" in hasher.get_params():  # not before issue 23
                    hasher.set_params(n_jobs=threads)
                load_before = load_average()
                profiler = cProfile.Profile()
                with threadpool_limits(limits=threads, user_api="blas"):
                    profiler.runcall(hasher.fit, X)
                stats = pstats.Stats(profiler).stats
                cumulative = {}
                for (filename, _, name), (_, ncalls, _, cum, _) in stats.items():
                    # the _Objective is built once a fit, the gain tables often
                    if name == "__init__" and filename.endswith("_objective.py"):
                        name = "__init__ (_Objective)" if ncalls == 1 else name
                    if "sklearn_hash" in filename or name == "fit":
                        cumulative[name] = cumulative.get(name, 0.0) + cum
                phases = {
                    phase: sum(cumulative.get(name, 0.0) for name in names)
                    for phase, names in PHASES.items()
                }
                total = cumulative["_fit"]
                phases["other"] = total - sum(phases.values())
                rows.append((n, nbits, threads, total, phases, load_before))
                print(
                    f"n {n} nbits {nbits} threads {threads}: {total:.1f} s, load "
                    f"{load_before} -> {load_average()} ({sources})",
                    flush=True,
                )
    header = " | ".join(["fit s", *PHASES, "other"])
    print(f"\n| n_samples | nbits | threads | {header} | load average before |")
    print("|---" * (len(PHASES) + 6) + "|")
    for n, nbits, threads, total, phases, load in rows:
        cells = " | ".join(
            f"{seconds:.1f} ({100 * seconds / total:.0f} %)"
            for seconds in phases.values()
        )
        print(f"| {n} | {nbits} | {threads} | {total:.1f} | {cells} | {load} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", required=True, help="data folders")
    parser.add_argument("--nbits", nargs="+", type=int, default=[8, 16, 32])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=list(METHODS)
    )
    parser.add_argument(
        "--n-train", type=int, default=5000, help="mnist training/database size"
    )
    parser.add_argument("--solver", default="sgd", choices=["sgd", "lbfgs"])
    parser.add_argument(
        "--beta",
        type=float,
        default=0.7,
        help="Lin:V's beta (default: the reference's)",
    )
    parser.add_argument(
        "--database-block-size",
        type=lambda value: None if value == "none" else int(value),
        default=5000,
        help="Lin:V's database_block_size ('none': all columns, the reference)",
    )
    parser.add_argument(
        "--table",
        default="accuracy",
        choices=["accuracy", "scaling", "semantic", "profile"],
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=[5000, 10000, 20000],
        help="scaling: training sizes",
    )
    parser.add_argument(
        "--threads", nargs="+", type=int, default=[1, 2], help="scaling: threads"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="scaling: fits per cell (median)"
    )
    parser.add_argument(
        "--semantic-methods",
        nargs="+",
        default=SEMANTIC_METHODS,
        choices=SEMANTIC_METHODS,
        help="semantic: methods",
    )
    args = parser.parse_args()
    if args.table == "scaling":
        return scaling_table(args)
    if args.table == "semantic":
        return semantic_table(args)
    if args.table == "profile":
        return profile_table(args)
    print(f"# CPU: {cpu_description()}; load average {load_average()}")

    rows = []
    for folder in args.data:
        base, query, relevant, radius = load(folder, args.n_train)
        has = relevant.any(axis=1)
        print(
            f"# {Path(folder).name}: database {len(base)}, queries {len(query)} "
            f"({has.sum()} with a neighbour), radius {radius:.4f}, "
            f"mean neighbours per query {relevant.sum(1).mean():.1f}",
            flush=True,
        )
        for nbits in args.nbits:
            for name in args.methods:
                seeds = args.seeds[:1] if name in DETERMINISTIC else args.seeds
                results = []
                for seed in seeds:
                    res = evaluate(name, nbits, seed, args, base, query, relevant)
                    results.append(res)
                    print(
                        f"{Path(folder).name} {nbits:3d} {name:8s} seed {seed}: "
                        + ", ".join(f"{k} {v:.4f}" for k, v in res.items()),
                        flush=True,
                    )
                rows.append((Path(folder).name, nbits, name, results))

    print(
        "\n| set | nbits | method | per-query mAP (random ties) "
        "| mAP (pessimistic ties) | pooled AP (paper) | fit wall s | fit CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for data, nbits, name, results in rows:
        cells = [
            _cell(name, results, key, digits)
            for key, digits in [
                ("mAP", 3),
                ("mAP_pess", 3),
                ("pooled", 3),
                ("fit_s", 1),
                ("fit_cpu_s", 1),
            ]
        ]
        print(f"| {data} | {nbits} | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
