"""Binary quantization + exact re-ranking against exact float search.

For each vector set: exact search with scikit-learn's
``NearestNeighbors(algorithm="brute")`` and faiss's flat index (``IndexFlatIP``
on unit vectors for cosine, ``IndexFlatL2`` for Euclidean) where faiss is
installed; Hamming search of SignHashing codes alone; asymmetric search of the
same codes alone; and RerankNeighbors with the same codes at several
``n_candidates``, Hamming and asymmetric first stages, vectors stored as
float32 and as int8. Reported: 10-recall@10 against the set's exact ground
truth, queries per second (median of ``--repeats`` runs of all queries, query
encoding included), the speed-up over scikit-learn, and the memory per
database vector.

Run from the repository root, e.g.::

    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    python benchmarks/bench_rerank.py --clock cpu
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import NearestNeighbors

from sklearn_hash import (
    AsymmetricNeighbors,
    HammingNeighbors,
    RerankNeighbors,
    SignHashing,
)
from sklearn_hash.datasets import load_vector_folder
from sklearn_hash.metrics import recall_at_k

# the metric each set's ground truth ranks by, and whether sign codes need
# centring (SIFT coordinates are non-negative: uncentred signs are all ones)
SETS = {
    "debian-minilm": ("cosine", False),
    "sift-images": ("euclidean", True),
}


def default_data_dir():
    env = os.environ.get("SKLEARN_HASH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def timed(function, repeats, clock):
    """(result, median seconds) of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = clock()
        result = function()
        times.append(clock() - start)
    return result, float(np.median(times))


def faiss_index(base, metric):
    try:
        import faiss
    except ImportError:
        return None, None
    if metric == "cosine":
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base / np.linalg.norm(base, axis=1, keepdims=True))
        return index, "faiss IndexFlatIP"
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    return index, "faiss IndexFlatL2"


def run_set(name, data, args, clock):
    metric, center = SETS[name]
    base = np.ascontiguousarray(data.base, dtype=np.float32)
    queries = np.ascontiguousarray(data.query[: args.n_queries], dtype=np.float32)
    truth = data.ground_truth[: len(queries), :10]
    d = base.shape[1]
    n_code = -(-d // 8)
    rows = []

    def add(method, n_candidates, dtype, retrieved, seconds, bytes_per_vector):
        rows.append(
            {
                "method": method,
                "n_candidates": n_candidates,
                "dtype": dtype,
                "recall": recall_at_k(truth, retrieved, k=10),
                "qps": len(queries) / seconds,
                "bytes": bytes_per_vector,
            }
        )

    nn = NearestNeighbors(
        n_neighbors=10, algorithm="brute", metric=metric, n_jobs=args.n_jobs
    )
    nn.fit(base)
    retrieved, seconds = timed(
        lambda: nn.kneighbors(queries, return_distance=False), args.repeats, clock
    )
    add(f"sklearn brute {metric}", "-", "float32", retrieved, seconds, 4 * d)
    index, faiss_name = faiss_index(base, metric)
    if index is not None:
        if metric == "cosine":
            search_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        else:
            search_queries = queries
        retrieved, seconds = timed(
            lambda: index.search(search_queries, 10)[1], args.repeats, clock
        )
        add(faiss_name, "-", "float32", retrieved, seconds, 4 * d)

    hasher = SignHashing(center=center).fit(base)
    hamming = HammingNeighbors(n_neighbors=10, n_jobs=args.n_jobs)
    hamming.fit(hasher.transform(base))
    retrieved, seconds = timed(
        lambda: hamming.kneighbors(hasher.transform(queries), return_distance=False),
        args.repeats,
        clock,
    )
    add("SignHashing, Hamming only", "-", "-", retrieved, seconds, n_code)
    if "asymmetric" in args.first_stages:
        asym = AsymmetricNeighbors(FrozenEstimator(hasher), n_jobs=args.n_jobs)
        asym.fit(base)
        retrieved, seconds = timed(lambda: asym.predict(queries), args.repeats, clock)
        add("SignHashing, asymmetric only", "-", "-", retrieved, seconds, n_code)

    for first_stage in args.first_stages:
        for dtype in args.dtypes:
            for n_candidates in args.n_candidates:
                search = RerankNeighbors(
                    SignHashing(center=center),
                    n_neighbors=10,
                    n_candidates=n_candidates,
                    metric=metric,
                    vector_dtype=dtype,
                    first_stage=first_stage,
                    n_jobs=args.n_jobs,
                ).fit(base)
                retrieved, seconds = timed(
                    lambda search=search: search.predict(queries), args.repeats, clock
                )
                per_vector = search.vectors_.itemsize * d + n_code
                add(
                    f"SignHashing + rerank ({first_stage[:5]})",
                    n_candidates,
                    dtype,
                    retrieved,
                    seconds,
                    per_vector,
                )
    return rows, metric, center


def print_table(name, data, rows, metric, center, n_queries):
    print(
        f"\n{name}: base {data.base.shape}, {n_queries} queries, metric {metric}, "
        f"SignHashing(center={center}); 10-recall@10 against gt_l2_100"
    )
    header = (
        f"{'method':<32}{'n_cand':>7}{'vectors':>9}{'10-R@10':>9}"
        f"{'q/s':>10}{'x sklearn':>10}{'bytes/vec':>10}"
    )
    print(header)
    print("-" * len(header))
    sklearn_qps = rows[0]["qps"]
    for row in rows:
        print(
            f"{row['method']:<32}{row['n_candidates']!s:>7}{row['dtype']:>9}"
            f"{row['recall']:>9.3f}{row['qps']:>10.0f}{row['qps'] / sklearn_qps:>10.2f}"
            f"{row['bytes']:>10}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument(
        "--n-candidates", nargs="+", type=int, default=[20, 50, 100, 200, 500, 1000]
    )
    parser.add_argument(
        "--dtypes", nargs="+", choices=["float32", "int8"], default=["float32", "int8"]
    )
    parser.add_argument(
        "--first-stages",
        nargs="+",
        choices=["hamming", "asymmetric"],
        default=["hamming", "asymmetric"],
        help="RerankNeighbors' first_stage values to run",
    )
    parser.add_argument("--n-queries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="threads (default: all cores)"
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU time, for 1-thread runs on a shared machine",
    )
    args = parser.parse_args()
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock}; n_jobs: {args.n_jobs}; median of {args.repeats} runs")
    for name in args.sets:
        folder = args.data_dir / name
        if not folder.is_dir():
            print(f"\n{name}: {folder} not found, skipped")
            continue
        data = load_vector_folder(folder)
        rows, metric, center = run_set(name, data, args, clock)
        print_table(
            name, data, rows, metric, center, min(args.n_queries, len(data.query))
        )


if __name__ == "__main__":
    main()
