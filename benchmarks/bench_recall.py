"""Recall of every hasher against exact Euclidean neighbours, with faiss baselines.

For each data folder (``base.npy``, ``query.npy``, optional ``learn.npy``,
``gt_l2_100.npy``; see ../shared/data/README.md), each code length and each
seed: fit the hasher on ``learn`` (or ``base`` when there is no learn set),
encode base and queries, retrieve the 100 Hamming nearest codes of each query
with HammingNeighbors (ties by smaller index) and measure 1-recall@1, @10,
@100 and 10-recall@10 against the exact ground truth. faiss's own LSH and ITQ
are encoded by faiss (``sa_encode``, the same bit layout) and searched the
same way, so only the codes differ. The table gives mean (standard deviation)
over seeds; deterministic methods are run once and marked "det.".

Run single-threaded on a shared machine::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_recall.py \\
        --data ../shared/data/sift-ngt5k --seeds 0 1 2 3 4 --nbits 32 64 128 256
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_hash import (
    ITQ,
    LSH,
    HammingNeighbors,
    NeuralProxyHash,
    PCAHashing,
    SpectralHashing,
)
from sklearn_hash.metrics import one_recall_at_r, recall_at_k


class FaissHasher:
    """fit/transform around a faiss IndexPreTransform(transform, IndexLSH)."""

    def __init__(self, kind, nbits, seed):
        self.kind, self.nbits, self.seed = kind, nbits, seed

    def fit(self, X):
        import faiss

        d = X.shape[1]
        if self.kind == "lsh":
            # random rotation (seeded) + median thresholds
            transform = faiss.RandomRotationMatrix(d, self.nbits)
            transform.init(self.seed)
            lsh = faiss.IndexLSH(self.nbits, self.nbits, False, True)
        else:
            transform = faiss.ITQTransform(d, self.nbits, True)
            transform.itq.seed = self.seed
            lsh = faiss.IndexLSH(self.nbits, self.nbits, False, False)
        self.index_ = faiss.IndexPreTransform(transform, lsh)
        self.index_.train(np.ascontiguousarray(X, dtype=np.float32))
        return self

    def transform(self, X):
        return self.index_.sa_encode(np.ascontiguousarray(X, dtype=np.float32))


# name -> (description, factory(nbits, seed), deterministic)
METHODS = {
    "lsh": (
        "LSH: Gaussian hyperplanes, centred",
        lambda b, s: LSH(nbits=b, random_state=s),
        False,
    ),
    "lsh-rot-thr": (
        "LSH(rotate=True, train_thresholds=True)",
        lambda b, s: LSH(nbits=b, rotate=True, train_thresholds=True, random_state=s),
        False,
    ),
    "pcah": ("PCAHashing (PCA + sign)", lambda b, s: PCAHashing(nbits=b), True),
    "sh": ("SpectralHashing", lambda b, s: SpectralHashing(nbits=b), True),
    "itq": ("ITQ(n_iter=50)", lambda b, s: ITQ(nbits=b, random_state=s), False),
    "nphash": (
        "NeuralProxyHash (defaults; slow: minutes per fit)",
        lambda b, s: NeuralProxyHash(nbits=b, random_state=s),
        False,
    ),
    "faiss-lsh": (
        "faiss RandomRotationMatrix + IndexLSH(train_thresholds=True)",
        lambda b, s: FaissHasher("lsh", b, s),
        False,
    ),
    "faiss-itq": (
        "faiss ITQTransform(do_pca=True) + IndexLSH",
        lambda b, s: FaissHasher("itq", b, s),
        False,
    ),
}
METRICS = ("1-R@1", "1-R@10", "1-R@100", "10-R@10", "fit s", "encode s")


def load(folder):
    folder = Path(folder)
    base = np.load(folder / "base.npy").astype(np.float32)
    query = np.load(folder / "query.npy").astype(np.float32)
    learn_path = folder / "learn.npy"
    learn = np.load(learn_path).astype(np.float32) if learn_path.exists() else base
    gt = np.load(folder / "gt_l2_100.npy")
    return learn, base, query, gt


def run_once(hasher, learn, base, query, gt, n_jobs):
    t0 = time.perf_counter()
    hasher.fit(learn)
    t1 = time.perf_counter()
    base_codes = hasher.transform(base)
    query_codes = hasher.transform(query)
    t2 = time.perf_counter()
    index = HammingNeighbors(n_neighbors=100, n_jobs=n_jobs).fit(base_codes)
    retrieved = index.kneighbors(query_codes, return_distance=False)
    return {
        "1-R@1": one_recall_at_r(gt, retrieved, r=1),
        "1-R@10": one_recall_at_r(gt, retrieved, r=10),
        "1-R@100": one_recall_at_r(gt, retrieved, r=100),
        "10-R@10": recall_at_k(gt, retrieved, k=10),
        "fit s": t1 - t0,
        "encode s": t2 - t1,
    }


def format_cell(values, deterministic, seconds):
    values = np.asarray(values)
    fmt = "{:.3g}" if seconds else "{:.3f}"
    if len(values) == 1:
        return fmt.format(values[0]) + (" (det.)" if deterministic else "")
    return f"{fmt.format(values.mean())} ({fmt.format(values.std())})"


def table_row(name, nbits, seeds, data, n_jobs):
    """One markdown row: mean (std) of every metric over seeds."""
    _, factory, deterministic = METHODS[name]
    if name == "faiss-itq" and nbits > data[0].shape[1]:
        # faiss's PCAMatrix cannot output more dimensions than it gets
        return f"| {name} | {nbits} | n/a: nbits > d |" + " |" * (len(METRICS) - 1)
    runs = []
    for seed in seeds[:1] if deterministic else seeds:
        with warnings.catch_warnings():
            # PCAHashing warns that its bits beyond d are constant
            warnings.simplefilter("ignore", UserWarning)
            runs.append(run_once(factory(nbits, seed), *data, n_jobs))
    cells = [
        format_cell(
            [run[metric] for run in runs], deterministic, seconds=metric.endswith(" s")
        )
        for metric in METRICS
    ]
    return f"| {name} | {nbits} | {' | '.join(cells)} |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="data folders, e.g. ../shared/data/sift-ngt5k",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0, 1, 2, 3, 4],
        help="random_state values (default: 0 1 2 3 4)",
    )
    parser.add_argument("--nbits", nargs="+", type=int, default=[32, 64, 128, 256])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[m for m in METHODS if m != "nphash"],
        choices=list(METHODS),
        metavar="METHOD",
        help="; ".join(f"{k}: {v[0]}" for k, v in METHODS.items()),
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="search threads")
    args = parser.parse_args(argv)

    for folder in args.data:
        learn, base, query, gt = load(folder)
        print(
            f"\n### {Path(folder).name}: learn {learn.shape[0]}, "
            f"base {base.shape[0]}, query {query.shape[0]}, d {base.shape[1]}; "
            f"seeds {args.seeds}\n"
        )
        print("| method | nbits | " + " | ".join(METRICS) + " |")
        print("|---|---|" + "---|" * len(METRICS))
        for nbits in args.nbits:
            for name in args.methods:
                print(
                    table_row(
                        name, nbits, args.seeds, (learn, base, query, gt), args.n_jobs
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
