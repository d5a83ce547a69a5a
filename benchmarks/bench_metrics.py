"""Check sklearn_hash.metrics against faiss's own evaluation code, on faiss's results.

faiss searches the codes (``IndexBinaryFlat``, its own order within Hamming
ties) and faiss scores the results with its own criteria; the same results
are scored with this package's functions, and the two must agree:

- 1-recall@R: ``faiss.OneRecallAtRCriterion`` vs ``one_recall_at_r``;
- k-recall@k: ``faiss.IntersectionCriterion`` vs ``recall_at_k``;
- precision and recall of range search: ``faiss.contrib.evaluation.range_PR``
  (modes "overall" and "average") on ``IndexBinaryFlat.range_search`` vs
  ``precision_recall_at_radius`` (``average="pooled"`` / ``"queries"``, with
  faiss's convention that an empty result has precision 1).

Run (needs faiss-cpu)::

    python benchmarks/bench_metrics.py
"""

import argparse

import numpy as np

from sklearn_hash import LSH
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import (
    one_recall_at_r,
    precision_recall_at_radius,
    recall_at_k,
)
from sklearn_hash.metrics._base import _hamming_distances, _relevance


def _faiss_criterion(criterion, gt, dist, ids):
    """Evaluate a faiss AutoTune criterion on the first ``criterion.nnn`` results."""
    import faiss

    # the subclasses' SWIG methods take raw pointers; the base class's wrappers
    # take arrays
    faiss.AutoTuneCriterion.set_groundtruth(
        criterion, None, np.ascontiguousarray(gt, dtype="int64")
    )
    dist = np.ascontiguousarray(dist[:, : criterion.nnn], dtype="float32")
    ids = np.ascontiguousarray(ids[:, : criterion.nnn], dtype="int64")
    return faiss.AutoTuneCriterion.evaluate(criterion, dist, ids)


def main(argv=None):
    import faiss
    from faiss.contrib.evaluation import range_PR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nbits", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args(argv)
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")
    data = load_sift_skimage()
    gt = data.ground_truth
    n_queries = len(data.query)
    worst = 0.0
    print(f"{'nbits':>5} {'measure':<28} {'faiss':>9} {'sklearn_hash':>12}")
    for nbits in args.nbits:
        hasher = LSH(nbits=nbits, rotate=True, train_thresholds=True, random_state=0)
        base = hasher.fit(data.base).transform(data.base)
        query = hasher.transform(data.query)
        index = faiss.IndexBinaryFlat(8 * base.shape[1])
        index.add(base)
        dist, ids = index.search(query, 100)
        checks = []
        for r in (1, 10, 100):
            checks.append(
                (
                    f"1-recall@{r}",
                    _faiss_criterion(
                        faiss.OneRecallAtRCriterion(n_queries, r), gt, dist, ids
                    ),
                    one_recall_at_r(gt, ids, r),
                )
            )
        for k in (10, 100):
            checks.append(
                (
                    f"{k}-recall@{k}",
                    _faiss_criterion(
                        faiss.IntersectionCriterion(n_queries, k), gt, dist, ids
                    ),
                    recall_at_k(gt, ids, k),
                )
            )
        distances = _hamming_distances(query, base)
        relevant = _relevance(gt, len(base))
        ref_lims = np.arange(0, gt.size + 1, gt.shape[1])
        for radius in (nbits // 8, nbits // 4):
            # faiss's binary range search keeps distances < radius: inclusive radius + 1
            lims, _, res = index.range_search(query, radius + 1)
            for mode, average in (("overall", "pooled"), ("average", "queries")):
                p_ref, r_ref = range_PR(ref_lims, gt.ravel(), lims, res, mode=mode)
                p, r = precision_recall_at_radius(
                    relevant, distances, radius, average=average, zero_division=1.0
                )
                checks.append((f"precision r<={radius} {mode}", p_ref, p))
                checks.append((f"recall r<={radius} {mode}", r_ref, r))
        for name, ref, ours in checks:
            worst = max(worst, abs(ref - ours))
            print(f"{nbits:>5} {name:<28} {ref:>9.5f} {ours:>12.5f}")
    print(f"largest difference: {worst:.2e}")
    return worst


if __name__ == "__main__":
    raise SystemExit(0 if main() < 1e-9 else 1)
