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
"""

import argparse
import time
from pathlib import Path

import numpy as np

from sklearn_hash import ITQ, LSH, AsymmetricLinV, PCAHashing, SpectralHashing
from sklearn_hash._asymmetric._graphs import _radius_graph
from sklearn_hash.metrics import (
    hamming_mean_average_precision,
    pooled_average_precision,
)
from sklearn_hash.metrics._base import _hamming_distances

METHODS = {
    "Lin:V": lambda nbits, seed, args: AsymmetricLinV(
        nbits, database="free", solver=args.solver, random_state=seed
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
    args = parser.parse_args()

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
