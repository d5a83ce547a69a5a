"""RaBitQ-style per-vector correction factors for asymmetric search: do they win?

Issue 22 ("correction factors: measure, keep if they win"). For a hasher whose
projection has orthonormal columns (``ITQ(nbits)`` with nbits <= d;
``LSH(nbits, rotate=True, train_thresholds=True)``), a database vector's
projected residual ``x' = hasher.decision_function(x)`` (K = nbits values)
gives, at fit time, two per-vector factors (8 bytes as float32):

    norm_j      = ||x'_j||
    alignment_j = ||x'_j||_1 / (sqrt(K) ||x'_j||)     (= <sign(x'_j), x'_j> / ...)

With the query's ``q' = w = hasher.decision_function(q)`` and the code
``bbar_j = (2 b_j - 1) / sqrt(K)``, RaBitQ's (Gao & Long, SIGMOD 2024)
estimator of the squared distance in the projected space is

    ||x'_j||^2 + ||q'||^2 - 2 ||x'_j|| <bbar_j, q'> / alignment_j.

Rows, 1-recall@10 (the fraction of queries whose true nearest neighbour,
``gt_l2_100.npy[:, 0]``, is among the 10 returned; ties by smaller index),
mean (std) over seeds, per set, nbits and hasher (fitted on ``learn``,
database ``base``, queries ``query``, all ``.astype(np.float32)``):

- Hamming: the binarized query's code against the same codes;
- A: asymmetric, no factors: rank by ``d(w, b) = sum_i |w_i| [b_i != (w_i > 0)]``
  (float w), the ranking of ``AsymmetricNeighbors(query_bits=None)``; and the
  same with w quantized to 4 bits with uniform levels,
  ``AsymmetricNeighbors(query_bits=4, query_quantizer="uniform")`` (the
  package's default when this was first run; its default is now "lloyd");
- B: asymmetric + factors (float32 norm and alignment): rank by the estimate
  above (float w);
- C: B with w quantized as the package's uniform ``query_bits=4``:
  ``L = 2 ** (4 - 1)``, ``step = max|w| / L``,
  ``m = min(floor(|w| / step), L - 1)``, ``|w|`` replaced by
  ``(m + 0.5) * step``, sign kept;
- D: equal bytes: A at nbits + 64 bits (the 8 bytes of factors spent on code
  bits), float w and 4-bit w;
- G (extra, 0 bytes per vector): Gordo, Perronnin, Gong & Lazebnik's
  (TPAMI 2014) expectation-based asymmetric distance: each database bit
  stands for the mean of its projection on that side of the threshold,
  ``mu1_i = E[x'_i | x'_i > 0]`` and ``mu0_i = E[x'_i | x'_i <= 0]`` over
  ``learn`` (2 K floats in all), and items are ranked by
  ``sum_i (w_i - mu_{b_i, i})^2`` (float w). It is linear in the bits, so
  the package's kernels could score it with the query's weights
  ``2 w_i (mu1_i - mu0_i) - (mu1_i^2 - mu0_i^2)``;
- L (extra, 0 bytes per vector): their lower-bound distance, the squared
  distance from w to the code's orthant, ``sum_i w_i^2 [b_i != (w_i > 0)]``
  (float w), against A's ``sum_i |w_i| [...]``;
- B-full (extra, not in the issue): B with ``||x'_j||^2`` replaced by the
  squared norm of the whole residual, ``||x'_j||^2 + ||(I - P P^T)(x_j - mu)||^2``
  (mu the learn mean, P the projection): still 8 bytes (store that and
  ``norm_j / alignment_j``); equal to B when nbits = d;
- E: faiss RaBitQ for reference: ``PCAR{nbits},RaBitQ`` (faiss seeds its PCA
  rotation itself: one run), ``PCA{nbits},RR{nbits},RaBitQ`` with the
  rotation seeded, and ``RR{d},RaBitQ`` (seeded) where nbits == d, trained on
  ``learn``, searched with ``RaBitQSearchParameters.qb = 4``; the qb=0 (float
  query) and qb=8 searches are run too for each factory's first seed, to show
  the parameter is applied.

Hashers: the two of the issue and, as an extra, ``PCA-RR`` =
``ITQ(nbits, n_iter=0)`` (PCA and a random rotation, no ITQ iterations: the
transform faiss's ``PCA{nbits},RR{nbits},RaBitQ`` uses), to tell the
rotation's part from the estimator's.

All of A-D is NumPy (float64) in blocks of queries. The A rows are checked
against ``sklearn_hash.AsymmetricNeighbors`` (query_bits None and 4) on the
same fitted hasher (first seed): the fraction of identical top-10 lists is
printed.

Run from the repository root on one core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_asym_factors.py
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator

import sklearn_hash
from sklearn_hash import ITQ, LSH, AsymmetricNeighbors
from sklearn_hash._show_versions import cpu_description

SETS = ["sift-images", "debian-minilm"]
K = 10
QUERY_BITS = 4
EXTRA_BITS = 64  # 8 bytes of factors, spent on code bits in row D
HASHERS = {
    "ITQ": lambda nbits, seed: ITQ(nbits, random_state=seed),
    "LSH": lambda nbits, seed: LSH(
        nbits, rotate=True, train_thresholds=True, random_state=seed
    ),
    # extra: ITQ's PCA with its random initial rotation kept (no ITQ
    # iterations), the transform of faiss's PCA{nbits},RR{nbits},RaBitQ
    "PCA-RR": lambda nbits, seed: ITQ(nbits, n_iter=0, random_state=seed),
}
# row key -> (label, extra bytes per vector beyond the nbits code)
ROWS = {
    "hamming": ("Hamming (binarized query)", 0),
    "A": ("A asymmetric, no factors, float w", 0),
    "A4": ("A asymmetric, no factors, w 4-bit (uniform levels)", 0),
    "B": ("B asymmetric + factors, float w", 8),
    "C": ("C asymmetric + factors, w 4-bit", 8),
    "Bfull": ("B-full (extra): factors with whole-residual norm, float w", 8),
    "G": ("G (extra): per-bit expectations (Gordo et al.), float w", 0),
    "L": ("L (extra): squared lower bound (Gordo et al.), float w", 0),
    "D": ("D = A at nbits + 64, float w", 8),
    "D4": ("D = A at nbits + 64, w 4-bit", 8),
    "Dham": ("Hamming at nbits + 64", 8),
}


def default_data_dir():
    env = os.environ.get("SKLEARN_HASH_DATA")
    repo_root = Path(__file__).resolve().parents[1]
    return Path(env) if env else repo_root.parent / "shared" / "data"


def load(folder):
    def get(role):
        return np.load(folder / f"{role}.npy")

    return {
        "base": get("base").astype(np.float32),
        "query": get("query").astype(np.float32),
        "learn": get("learn").astype(np.float32),
        "nn": get("gt_l2_100")[:, 0],
    }


def quantize(w, query_bits=QUERY_BITS):
    """|w| -> (m + 0.5) * step, sign kept (the package's query_bits levels)."""
    levels = 2 ** (query_bits - 1)
    magnitude = np.abs(w)
    step = magnitude.max(axis=1, keepdims=True) / levels
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.minimum(np.floor(magnitude / step), levels - 1)
    m[step[:, 0] == 0] = 0
    return np.sign(w) * (m + 0.5) * step


def smallest_k(scores, k=K):
    """Indices of the k smallest scores of each row, ties by smaller index."""
    kth = np.partition(scores, k - 1, axis=1)[:, k - 1]
    out = np.empty((len(scores), k), dtype=np.intp)
    for row, (score, bound) in enumerate(zip(scores, kth)):
        candidates = np.flatnonzero(score <= bound)
        order = np.lexsort((candidates, score[candidates]))
        out[row] = candidates[order[:k]]
    return out


class Codes:
    """Database codes as +-1 float64 rows over the distinct codes (so equal
    codes get bit-equal scores and tie by index)."""

    def __init__(self, bits):
        unique, self.code_of_row = np.unique(bits, axis=0, return_inverse=True)
        self.code_of_row = self.code_of_row.ravel()
        self.signs = 2.0 * unique - 1.0  # (n_unique, K)
        self.nbits = bits.shape[1]

    def inner(self, w):
        """<w, 2 b_j - 1> for every database row j (float64)."""
        return (w @ self.signs.T)[:, self.code_of_row]


def search(codes, queries, score_fn, block):
    """k smallest of ``score_fn(inner products, query rows)`` per query."""
    out = np.empty((len(queries), K), dtype=np.intp)
    for start in range(0, len(queries), block):
        rows = slice(start, start + block)
        out[rows] = smallest_k(score_fn(codes.inner(queries[rows])))
    return out


def hits(found, nn):
    """Per query: is the true nearest neighbour among the returned?"""
    return (found == nn[:, None]).any(axis=1)


def side_means(values):
    """Per column, the mean of the positive values and of the others (0 for
    a side with no value)."""
    values = np.asarray(values, dtype=np.float64)
    positive = values > 0
    n_pos = positive.sum(axis=0)
    n_neg = len(values) - n_pos
    sum_pos = np.where(positive, values, 0.0).sum(axis=0)
    sum_neg = values.sum(axis=0) - sum_pos
    mu1 = np.divide(sum_pos, n_pos, out=np.zeros_like(sum_pos), where=n_pos > 0)
    mu0 = np.divide(sum_neg, n_neg, out=np.zeros_like(sum_neg), where=n_neg > 0)
    return mu1, mu0


def bit_correlation(bits):
    """Mean and max |correlation| between the database's bits, and the number
    of bit pairs above 0.5 (near-duplicate bits)."""
    corr = np.corrcoef(bits.T.astype(np.float64))
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    off = off[np.isfinite(off)]
    return float(off.mean()), float(off.max()), int((off > 0.5).sum() // 2)


def orthonormality_error(hasher):
    p = np.asarray(hasher.projection_, dtype=np.float64)
    return float(np.abs(p.T @ p - np.eye(p.shape[1])).max())


def run_hasher(name, nbits, seed, data, args):
    """Per-query hit vectors of every row for one hasher, width and seed."""
    result, times = {}, {}
    nn = data["nn"]
    t = time.process_time()
    hasher = HASHERS[name](nbits, seed).fit(data["learn"])
    times["fit"] = time.process_time() - t
    ortho = orthonormality_error(hasher)
    t = time.process_time()
    values = hasher.decision_function(data["base"])  # x', float32
    bits = values > 0
    codes = Codes(bits)
    v64 = values.astype(np.float64)
    norm = np.linalg.norm(v64, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alignment = np.abs(v64).sum(axis=1) / (np.sqrt(nbits) * norm)
    alignment[norm == 0] = 1.0
    # the 8 stored bytes: float32 norm and alignment
    norm32, align32 = norm.astype(np.float32), alignment.astype(np.float32)
    sq_norm = norm32.astype(np.float64) ** 2
    scale = norm32.astype(np.float64) / align32.astype(np.float64) / np.sqrt(nbits)
    # B-full: whole residual, (I - P P^T)(x - mu), mu the learn mean
    mu = data["learn"].astype(np.float64).mean(axis=0)
    p = np.asarray(hasher.projection_, dtype=np.float64)
    centred = data["base"].astype(np.float64) - mu
    perp = centred - (centred @ p) @ p.T
    full_sq = (sq_norm + np.einsum("ij,ij->i", perp, perp)).astype(np.float32)
    full_sq = full_sq.astype(np.float64)
    del centred, perp
    times["encode"] = time.process_time() - t

    w = hasher.decision_function(data["query"]).astype(np.float64)
    w4 = quantize(w)
    # G: sum_i (w_i - mu_{b_i, i})^2 = const - g . (2 b - 1) / 2
    mu1, mu0 = side_means(hasher.decision_function(data["learn"]))
    g = 2 * w * (mu1 - mu0) - (mu1**2 - mu0**2)
    t = time.process_time()
    found = {
        "hamming": search(
            codes, np.where(w > 0, 1.0, -1.0), lambda ip: -ip, args.block
        ),
        "A": search(codes, w, lambda ip: -ip, args.block),
        "A4": search(codes, w4, lambda ip: -ip, args.block),
        "B": search(codes, w, lambda ip: sq_norm - 2 * scale * ip, args.block),
        "C": search(codes, w4, lambda ip: sq_norm - 2 * scale * ip, args.block),
        "Bfull": search(codes, w, lambda ip: full_sq - 2 * scale * ip, args.block),
        "G": search(codes, g, lambda ip: -ip, args.block),
        "L": search(codes, w * np.abs(w), lambda ip: -ip, args.block),
    }
    times["search"] = time.process_time() - t
    result = {key: hits(f, nn) for key, f in found.items()}
    checks = {}
    if args.check_package and seed == args.seeds[0]:
        t = time.process_time()
        for key, query_bits in (("A", None), ("A4", QUERY_BITS)):
            package = (
                AsymmetricNeighbors(
                    FrozenEstimator(hasher),
                    n_neighbors=K,
                    query_bits=query_bits,
                    query_quantizer="uniform",
                )
                .fit(data["base"])
                .kneighbors(data["query"], return_distance=False)
            )
            checks[key] = float((package == found[key]).all(axis=1).mean())
            checks[key + " recall"] = float(hits(package, nn).mean())
        times["package"] = time.process_time() - t

    # D: the same hasher at nbits + 64 bits, no factors
    wide = HASHERS[name](nbits + EXTRA_BITS, seed).fit(data["learn"])
    wide_codes = Codes(wide.decision_function(data["base"]) > 0)
    wide_w = wide.decision_function(data["query"]).astype(np.float64)
    t = time.process_time()
    result["D"] = hits(search(wide_codes, wide_w, lambda ip: -ip, args.block), nn)
    result["D4"] = hits(
        search(wide_codes, quantize(wide_w), lambda ip: -ip, args.block), nn
    )
    result["Dham"] = hits(
        search(wide_codes, np.where(wide_w > 0, 1.0, -1.0), lambda ip: -ip, args.block),
        nn,
    )
    times["search D"] = time.process_time() - t
    info = {
        "ortho": ortho,
        "alignment": (float(alignment.mean()), float(alignment.std())),
        "unique": len(codes.signs),
        "bit_corr": bit_correlation(bits),
    }
    return result, times, checks, info


def run_faiss(factory, seed, data, check):
    """1-recall@10 of a faiss RaBitQ index at qb=4 (and, if check, qb=0 and 8,
    to show the parameter is applied)."""
    import faiss

    index = faiss.index_factory(data["base"].shape[1], factory)
    if seed is not None:
        rotation = faiss.downcast_VectorTransform(
            index.chain.at(index.chain.size() - 1)
        )
        rotation.init(seed)
    t = time.process_time()
    index.train(data["learn"])
    index.add(data["base"])
    fit = time.process_time() - t
    out, dists = {}, {}
    t = time.process_time()
    for qb in (QUERY_BITS, 0, 8) if check else (QUERY_BITS,):
        params = faiss.RaBitQSearchParameters()
        params.qb = qb
        dists[qb], found = index.search(data["query"], K, params=params)
        out[qb] = hits(found, data["nn"])
    search_cpu = time.process_time() - t
    rabitq = faiss.downcast_index(index.index)
    return {
        "hits": out,
        "bytes": rabitq.code_size,
        "qb_applied": (
            not np.array_equal(dists[QUERY_BITS], dists[8])
            and not np.array_equal(dists[QUERY_BITS], dists[0])
        )
        if check
        else "not checked",
        "fit": fit,
        "search": search_cpu,
    }


def fmt(values):
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ({values.std():.3f})"


def paired(a_runs, b_runs):
    """Mean (std) over seeds of recall(b) - recall(a), per-seed signs and the
    discordant queries summed over seeds (+ b only, - a only)."""
    diffs = [b.mean() - a.mean() for a, b in zip(a_runs, b_runs)]
    plus = sum(int((b & ~a).sum()) for a, b in zip(a_runs, b_runs))
    minus = sum(int((a & ~b).sum()) for a, b in zip(a_runs, b_runs))
    if all(d > 0 for d in diffs):
        call = "win"
    elif all(d < 0 for d in diffs):
        call = "loss"
    else:
        call = "no clear difference"
    return f"{np.mean(diffs):+.3f} ({np.std(diffs):.3f})", f"+{plus} / -{minus}", call


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", choices=SETS, default=SETS)
    parser.add_argument("--nbits", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--hashers", nargs="+", choices=list(HASHERS), default=list(HASHERS)
    )
    parser.add_argument("--block", type=int, default=250, help="queries per block")
    parser.add_argument(
        "--no-check-package",
        dest="check_package",
        action="store_false",
        help="skip the check of rows A against AsymmetricNeighbors",
    )
    parser.add_argument("--no-faiss", action="store_true", help="skip RaBitQ")
    args = parser.parse_args()

    print(f"# cpu: {cpu_description()}")
    versions = f"sklearn_hash {sklearn_hash.__version__}, numpy {np.__version__}"
    if not args.no_faiss:
        import faiss

        versions += f", faiss {faiss.__version__}"
    print(f"# {versions}", flush=True)
    start_cpu = time.process_time()
    tables = []
    for set_name in args.sets:
        data = load(args.data / set_name)
        d = data["base"].shape[1]
        print(
            f"# {set_name}: base {data['base'].shape}, learn {data['learn'].shape}, "
            f"query {data['query'].shape}",
            flush=True,
        )
        for nbits in args.nbits:
            runs = {}  # hasher -> list of per-seed results
            for name in args.hashers:
                runs[name] = []
                for seed in args.seeds:
                    result, times, checks, info = run_hasher(
                        name, nbits, seed, data, args
                    )
                    runs[name].append(result)
                    recalls = ", ".join(
                        f"{k} {v.mean():.3f}" for k, v in result.items()
                    )
                    timing = ", ".join(f"{k} {v:.1f}" for k, v in times.items())
                    check = ", ".join(f"{k} {v:.3f}" for k, v in checks.items())
                    print(
                        f"# {set_name} {nbits} {name} seed {seed}: {recalls}; "
                        f"CPU s: {timing}; package lists identical / recall: "
                        f"{check or 'not checked'}; max|P^T P - I| "
                        f"{info['ortho']:.1e}; alignment mean "
                        f"{info['alignment'][0]:.3f} (std {info['alignment'][1]:.3f}); "
                        "distinct codes "
                        f"{info['unique']}; bit pairs' |corr| mean "
                        f"{info['bit_corr'][0]:.3f}, max {info['bit_corr'][1]:.3f}, "
                        f"pairs above 0.5: {info['bit_corr'][2]}",
                        flush=True,
                    )
            faiss_rows = []
            if not args.no_faiss:
                variants = [(f"PCAR{nbits},RaBitQ", [None])]
                variants.append((f"PCA{nbits},RR{nbits},RaBitQ", args.seeds))
                if nbits == d:
                    variants.append((f"RR{d},RaBitQ", args.seeds))
                for factory, seeds in variants:
                    res = []
                    for seed in seeds:
                        r = run_faiss(factory, seed, data, seed == seeds[0])
                        res.append(r)
                        print(
                            f"# {set_name} {nbits} faiss {factory} seed "
                            f"{'faiss default' if seed is None else seed}: "
                            + ", ".join(
                                f"qb={qb} {h.mean():.3f}" for qb, h in r["hits"].items()
                            )
                            + f"; code_size {r['bytes']} B; qb=4 distances differ "
                            f"from qb=0 and qb=8: {r['qb_applied']}; CPU s train+add "
                            f"{r['fit']:.1f}, 3 searches {r['search']:.1f}",
                            flush=True,
                        )
                    faiss_rows.append((factory, seeds, res))
            tables.append((set_name, nbits, runs, faiss_rows))
    total = time.process_time() - start_cpu

    print(
        f"\n1-recall@10, mean (std over seeds {args.seeds}); faiss PCAR: one run "
        f"(faiss seeds it); bytes per database vector. Total CPU {total:.0f} s.\n"
    )
    for set_name, nbits, runs, faiss_rows in tables:
        hashers = list(runs)
        print(f"\n### {set_name}, {nbits} bits\n")
        print("| row | bytes/vec | " + " | ".join(hashers) + " | faiss |")
        print("|---|---|" + "---|" * (len(hashers) + 1))
        for key, (label, extra) in ROWS.items():
            cells = [fmt([r[key].mean() for r in runs[h]]) for h in hashers]
            print(f"| {label} | {nbits // 8 + extra} | " + " | ".join(cells) + " | - |")
        for factory, seeds, res in faiss_rows:
            label = f"E faiss {factory}, qb=4" + (
                " (one run)" if seeds == [None] else ""
            )
            cells = ["-"] * len(hashers) + [
                fmt([r["hits"][QUERY_BITS].mean() for r in res])
            ]
            print(f"| {label} | {res[0]['bytes']} | " + " | ".join(cells) + " |")
        print(
            "\nPaired over seeds: mean (std) of the recall difference, per-seed "
            "call (win / loss if all seeds agree), discordant queries summed over "
            "seeds (+ only the second finds the NN / - only the first)\n"
        )
        print("| comparison | hasher | difference | discordant | call |")
        print("|---|---|---|---|---|")
        comparisons = [
            ("(i) equal code bits: B - A (float w)", "A", "B"),
            ("(i) equal code bits: C - A (4-bit w)", "A4", "C"),
            ("(ii) equal bytes: B - D (float w)", "D", "B"),
            ("(ii) equal bytes: C - D (4-bit w)", "D4", "C"),
            ("extra: B-full - B", "B", "Bfull"),
            ("extra: B-full - D (equal bytes)", "D", "Bfull"),
            ("extra: G - A (float w, no bytes)", "A", "G"),
            ("extra: L - A (float w, no bytes)", "A", "L"),
        ]
        for label, first, second in comparisons:
            for h in hashers:
                diff, disc, call = paired(
                    [r[first] for r in runs[h]], [r[second] for r in runs[h]]
                )
                print(f"| {label} | {h} | {diff} | {disc} | {call} |")


if __name__ == "__main__":
    main()
