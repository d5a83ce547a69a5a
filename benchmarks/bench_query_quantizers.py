"""Which query quantizer keeps the float query's recall? (issue 22, bar (d))

``AsymmetricNeighbors(query_bits=4)`` quantizes each query's magnitudes
``|w_i|`` uniformly to 8 levels (sign + 3 bits, bin midpoints, step
``max |w| / 8``), so that the score is a sum of bit-plane popcounts. On
sift-images with ``LSH(rotate=True, train_thresholds=True)`` that loses about
0.02 1-recall@10 against the float query. This script ranks the database by
``sum_i g_i [b_i != s_i]`` (exact NumPy, ties by index) with the weights
``g_i`` of several 8-level magnitude quantizers, to tell whether a better
uniform step or only non-uniform levels would close the gap:

* ``float``: ``g = |w|`` (``query_bits=None``);
* ``uniform max``: the package's rule (``query_bits=4``);
* ``uniform mse``: the same with the step that minimises the squared error
  of the magnitudes (36 steps from 0.3 to 1 x the package's, values above
  the top level clipped to it);
* ``lloyd``: Lloyd-Max levels per query (8 levels, 30 iterations from the
  quantiles), in float: not expressible as bit planes;
* ``lloyd int4``: those levels rounded to integer weights 1..15 (scaled so the
  top level is 15), as a bit-plane kernel with 4-bit integer weights would
  score them;
* ``package lloyd 4``: the package's default, ``query_bits=4`` with
  ``query_quantizer="lloyd"`` (weighted Lloyd-Max levels on a 6-plane grid);
* ``uniform 6``: ``query_bits=6`` with uniform levels, which scores the same
  6 bit planes as the default, so costs the same scan;
* ``package lloyd 5`` / ``6``: ``query_bits=5`` / ``6`` with Lloyd-Max levels,
  on the package's 6 planes, and ``lloyd 5 on 7 planes`` / ``lloyd 6 on 8
  planes``: the same levels on the grid of B + 2 planes (the package's rule
  before the cap at the lookup-table kernels' 6 planes).

``--quantizers`` picks some of them (``float`` is always run).

Run from the repository root (NumPy, one core)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_query_quantizers.py \\
        --sets sift-images --hashers LSH ITQ --nbits 64 128 --seeds 0 1 2
"""

import argparse
from pathlib import Path

import numpy as np
from bench_asymmetric_search import (
    HASHERS,
    K,
    default_data_dir,
    query_weights,
    weighted_kneighbors,
)

from sklearn_hash._show_versions import cpu_description
from sklearn_hash.datasets import load_vector_folder
from sklearn_hash.metrics import one_recall_at_r

LEVELS = 8


def uniform_mse(magnitude):
    """Uniform midpoint levels with the squared-error-optimal step, per query."""
    out = np.empty_like(magnitude)
    for row, a in enumerate(magnitude):
        best = np.inf
        for fraction in np.linspace(0.3, 1.0, 36):
            step = fraction * a.max() / LEVELS
            if step <= 0:
                out[row] = 1.0
                break
            g = (np.minimum(np.floor(a / step), LEVELS - 1) + 0.5) * step
            error = float(((g - a) ** 2).sum())
            if error < best:
                best, out[row] = error, g
    return out


def lloyd(magnitude, n_iter=30):
    """Lloyd-Max levels of each query's magnitudes, each value to its level."""
    out = np.empty_like(magnitude)
    for row, a in enumerate(magnitude):
        levels = np.quantile(a, (np.arange(LEVELS) + 0.5) / LEVELS)
        for _ in range(n_iter):
            nearest = np.abs(a[:, None] - levels[None]).argmin(axis=1)
            for level in range(LEVELS):
                if np.any(nearest == level):
                    levels[level] = a[nearest == level].mean()
        out[row] = levels[np.abs(a[:, None] - levels[None]).argmin(axis=1)]
    return out


def lloyd_int4(magnitude):
    """Lloyd-Max levels rounded to integer weights 1..15 (top level 15)."""
    g = lloyd(magnitude)
    top = g.max(axis=1, keepdims=True)
    return np.clip(np.round(15 * g / np.where(top > 0, top, 1)), 1, 15)


QUANTIZERS = {
    "float": lambda a: a,
    "uniform max": lambda a: query_weights(a, 4),
    "uniform mse": uniform_mse,
    "lloyd": lloyd,
    "lloyd int4": lloyd_int4,
    "package lloyd 4": lambda a: query_weights(a, 4, "lloyd"),
    "uniform 6": lambda a: query_weights(a, 6),
    "package lloyd 5": lambda a: query_weights(a, 5, "lloyd"),
    "lloyd 5 on 7 planes": lambda a: query_weights(a, 5, "lloyd", n_planes=7),
    "package lloyd 6": lambda a: query_weights(a, 6, "lloyd"),
    "lloyd 6 on 8 planes": lambda a: query_weights(a, 6, "lloyd", n_planes=8),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", default=["sift-images"])
    parser.add_argument("--hashers", nargs="+", default=["LSH", "ITQ"])
    parser.add_argument("--nbits", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--block", type=int, default=200, help="queries per block")
    parser.add_argument(
        "--quantizers", nargs="+", choices=list(QUANTIZERS), default=list(QUANTIZERS)
    )
    args = parser.parse_args()
    quantizers = {
        q: QUANTIZERS[q] for q in QUANTIZERS if q == "float" or q in args.quantizers
    }
    print(f"# cpu: {cpu_description()}")
    print(f"1-recall@{K}, mean (std) over seeds {args.seeds}; difference to float\n")
    print("| set | hasher | nbits | " + " | ".join(quantizers) + " |")
    print("|---" * (3 + len(quantizers)) + "|")
    for name in args.sets:
        data = load_vector_folder(args.data / name)
        truth = data.ground_truth[:, :1]
        for hasher_name in args.hashers:
            make, _ = HASHERS[hasher_name]
            for nbits in args.nbits:
                recalls = {q: [] for q in quantizers}
                for seed in args.seeds:
                    hasher = make(nbits, seed).fit(data.learn)
                    codes = hasher.transform(data.base)
                    values = hasher.decision_function(data.query).astype(np.float64)
                    for quantizer, weights in quantizers.items():
                        found = weighted_kneighbors(
                            codes,
                            nbits,
                            values > 0,
                            weights(np.abs(values)),
                            K,
                            args.block,
                        )
                        recalls[quantizer].append(one_recall_at_r(truth, found, K))
                floats = np.array(recalls["float"])
                cells = [f"{floats.mean():.3f} ({floats.std():.3f})"] + [
                    f"{np.mean(r):.3f} ({np.mean(np.array(r) - floats):+.3f})"
                    for q, r in recalls.items()
                    if q != "float"
                ]
                print(
                    f"| {name} | {hasher_name} | {nbits} | " + " | ".join(cells) + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
