"""Asymmetric search (real query against binary codes) against Hamming and faiss RaBitQ.

Issue 22. Each hasher is fitted on ``learn``; the database is stored as its
binary codes ``b_j = hasher.transform(base)``. Hamming search compares them
with the query's code. Asymmetric search keeps the query unbinarized: with
``w = hasher.decision_function(query)`` (float64), ``s = w > 0`` and
``a = |w|``, database item j scores

    distance(q, j) = sum_i a_i [b_ji != s_i]                (query_bits=None)

and with ``query_bits=B`` the weights are quantized per query to the odd
integers ``g_i = 2 m_i + 1``, ``m_i = min(floor(a_i / delta), L - 1)``,
``L = 2 ** (B - 1)``, ``delta = max_i a_i / L`` (all weights 1 when the max is
0; B=1 is the Hamming distance). Results are ranked by (distance, index).

The search is ``sklearn_hash.AsymmetricNeighbors`` over a
``FrozenEstimator`` of the fitted hasher when the package has it, else a NumPy
reference of the same definition (``--backend``). The query_bits=1 lists
through that backend are compared with ``HammingNeighbors``' as a check.

faiss RaBitQ: ``PCAR{nbits},RaBitQ`` from ``faiss.index_factory`` (the
factory's PCA rotation is seeded with 5 inside faiss: one run), the same
transform with a seeded rotation (``PCA{nbits},RR{nbits},RaBitQ``, the
``RandomRotationMatrix`` re-initialised with each seed before training) and,
where d equals nbits, ``RR{d},RaBitQ`` with seeded rotations; trained on
``learn``, searched with ``RaBitQSearchParameters.qb = 4`` (4-bit queries).
RaBitQ stores 8 bytes of factors per vector beside its nbits bits; every row
prints its bytes per vector. ``--equal-bytes`` adds hashers at nbits + 64 bits
(the bytes RaBitQ uses at nbits), searched asymmetrically with query_bits=4.

Measure is 1-recall@10: the fraction of queries whose true nearest neighbour
(``gt_l2_100.npy[:, 0]``) is among the 10 returned. Mean (std over seeds).

Run from the repository root on one core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python benchmarks/bench_asymmetric_search.py --equal-bytes

Needs faiss-cpu (``pip install -e ".[bench]"``) for the RaBitQ rows.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator

import sklearn_hash
from sklearn_hash import (
    ITQ,
    LSH,
    HammingNeighbors,
    NeuralProxyHash,
    SpectralHashing,
    unpack_bits,
)
from sklearn_hash._show_versions import cpu_description
from sklearn_hash.datasets import load_vector_folder
from sklearn_hash.metrics import one_recall_at_r

SETS = ["debian-minilm", "sift-images"]
K = 10
# name -> (hasher factory, whether it uses the seed)
HASHERS = {
    "LSH": (
        lambda nbits, seed: LSH(
            nbits, rotate=True, train_thresholds=True, random_state=seed
        ),
        True,
    ),
    "ITQ": (lambda nbits, seed: ITQ(nbits, random_state=seed), True),
    "SH": (lambda nbits, seed: SpectralHashing(nbits), False),
    "NPH": (lambda nbits, seed: NeuralProxyHash(nbits=nbits, random_state=seed), True),
}
# the asymmetric searches of every hasher: None (float weights), 4 bits, and
# 1 bit (the Hamming distance, checked against HammingNeighbors)
QUERY_BITS = [None, 4, 1]
# RaBitQ's per-vector factors (8 bytes) as code bits, for equal total bytes
EQUAL_BYTES_EXTRA_BITS = 64


def default_data_dir():
    env = os.environ.get("SKLEARN_HASH_DATA")
    repo_root = Path(__file__).resolve().parents[1]
    return Path(env) if env else repo_root.parent / "shared" / "data"


def lloyd_row(magnitude, n_levels, n_iter=10):
    """One query's magnitudes replaced by their Lloyd-Max level (the package's
    rule, written independently: start at the values of ranks
    floor((l + 1/2) K / L), nearest level by the midpoints (ties to the lower),
    levels to
    the means weighted by exp(-a / median), empty levels kept)."""
    K = len(magnitude)
    median, mean = np.median(magnitude), magnitude.mean()
    weight = np.exp(-magnitude / (median if median > 0 else mean if mean > 0 else 1))
    ranks = np.minimum(((np.arange(n_levels) + 0.5) * K / n_levels).astype(int), K - 1)
    levels = np.sort(magnitude)[ranks]
    for it in range(n_iter + 1):
        midpoints = (levels[:-1] + levels[1:]) / 2
        nearest = np.array([int((a > midpoints).sum()) for a in magnitude])
        if it == n_iter:
            return levels[nearest]
        for level in range(n_levels):
            if np.any(nearest == level):
                cell = nearest == level
                levels[level] = np.average(magnitude[cell], weights=weight[cell])


def lloyd_planes(query_bits):
    """Planes of a Lloyd-Max query: B + 2, but at most 6 unless B is larger."""
    return max(query_bits, min(query_bits + 2, 6))


def query_weights(values, query_bits, quantizer="uniform", n_planes=None):
    """Per-bit weights of each query: ``|w|``, or for ``query_bits=B`` the
    odd integers ``2 m + 1`` of its B-bit quantisation (``"lloyd"``: of its
    Lloyd-Max levels on a grid of 2 ** (P - 1) bins up to the top level, with
    P = ``n_planes`` or the package's ``lloyd_planes(B)``)."""
    magnitude = np.abs(values)
    if query_bits is None:
        return magnitude
    planes = query_bits
    if quantizer == "lloyd" and query_bits > 1:
        levels = 2 ** (query_bits - 1)
        magnitude = np.array(
            [
                lloyd_row(a / a.max(), levels) * a.max() if a.max() > 0 else a
                for a in magnitude
            ]
        )
        planes = n_planes or lloyd_planes(query_bits)
    levels = 2 ** (planes - 1)
    top = magnitude.max(axis=1, keepdims=True)  # the top Lloyd level for "lloyd"
    delta = top / levels
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.minimum(np.floor(magnitude / delta), levels - 1)
    level[top[:, 0] == 0] = 0
    return 2 * level + 1


def smallest_by_score_then_index(scores, k):
    """Indices of the k smallest scores of each row, ties by smaller index."""
    kth = np.partition(scores, k - 1, axis=1)[:, k - 1]
    out = np.empty((len(scores), k), dtype=np.intp)
    for row, (score, bound) in enumerate(zip(scores, kth)):
        candidates = np.flatnonzero(score <= bound)
        order = np.lexsort((candidates, score[candidates]))
        out[row] = candidates[order[:k]]
    return out


def reference_kneighbors(base_codes, nbits, values, query_bits, k, block, quantizer):
    """Asymmetric k-NN in NumPy, ``block`` queries at a time."""
    values = np.asarray(values, dtype=np.float64)
    weights = query_weights(values, query_bits, quantizer)
    return weighted_kneighbors(base_codes, nbits, values > 0, weights, k, block)


def weighted_kneighbors(base_codes, nbits, signs, weights, k, block):
    """The k smallest ``sum_i g_i [b_i != s_i]`` of each query, ties by index.

    ``sum_i g_i [b_i != s_i] = sum_i g_i s_i + sum_i b_i g_i (1 - 2 s_i)``,
    the second term a matrix product over the distinct database codes (so
    that equal codes get bit-equal scores and tie by index).
    """
    unique_codes, code_of_row = np.unique(base_codes, axis=0, return_inverse=True)
    bits = unpack_bits(unique_codes, nbits).astype(np.float64)
    code_of_row = code_of_row.ravel()
    out = np.empty((len(weights), k), dtype=np.intp)
    for start in range(0, len(weights), block):
        rows = slice(start, start + block)
        g, s = weights[rows], signs[rows]
        per_code = (g * s).sum(axis=1)[:, None] + (g * (1 - 2 * s)) @ bits.T
        out[rows] = smallest_by_score_then_index(per_code[:, code_of_row], k)
    return out


def asymmetric_kneighbors(hasher, data, base_codes, query_bits, backend, args):
    """The k nearest base rows of each query, by the estimator or the reference."""
    if backend == "estimator":
        search = sklearn_hash.AsymmetricNeighbors(
            FrozenEstimator(hasher),
            n_neighbors=K,
            query_bits=query_bits,
            query_quantizer=args.quantizer,
            n_jobs=1,
        ).fit(data.base)
        return search.kneighbors(data.query, return_distance=False)
    values = hasher.decision_function(data.query)
    return reference_kneighbors(
        base_codes, hasher.nbits, values, query_bits, K, args.block, args.quantizer
    )


def evaluate_hasher(hasher, data, args):
    """Fit on learn; recall of Hamming and asymmetric searches."""
    start = time.process_time()
    hasher.fit(data.learn)
    fit_cpu = time.process_time() - start
    base_codes = hasher.transform(data.base)
    hamming = (
        HammingNeighbors(n_neighbors=K, n_jobs=1)
        .fit(base_codes)
        .kneighbors(hasher.transform(data.query), return_distance=False)
    )
    truth = data.ground_truth[:, :1]
    result = {"hamming": one_recall_at_r(truth, hamming, K), "fit_cpu": fit_cpu}
    search_cpu = 0.0
    result["differ_from_reference"] = 0
    result["n_queries"] = len(data.query)
    for query_bits in QUERY_BITS:
        start = time.process_time()
        found = asymmetric_kneighbors(
            hasher, data, base_codes, query_bits, args.backend, args
        )
        search_cpu += time.process_time() - start
        result[query_bits] = one_recall_at_r(truth, found, K)
        if query_bits == 1:
            result["same_as_hamming"] = bool(np.array_equal(found, hamming))
        if args.check_reference and args.backend == "estimator":
            reference = asymmetric_kneighbors(
                hasher, data, base_codes, query_bits, "reference", args
            )
            result["differ_from_reference"] += int(
                (reference != found).any(axis=1).sum()
            )
    result["search_cpu"] = search_cpu
    return result


def rabitq_variants(d, nbits, seeds):
    """(label, factory string, seeds or [None] for the factory's own)."""
    variants = [(f"RaBitQ PCAR{nbits} (factory)", f"PCAR{nbits},RaBitQ", [None])]
    variants.append(
        (f"RaBitQ PCA{nbits},RR{nbits}", f"PCA{nbits},RR{nbits},RaBitQ", seeds)
    )
    if d == nbits:
        variants.append((f"RaBitQ RR{d}", f"RR{d},RaBitQ", seeds))
    return variants


def evaluate_rabitq(factory, seed, data, qb):
    """Recall of a faiss RaBitQ index searched with qb-bit queries; the same
    search with 8-bit queries shows the qb setting is applied."""
    import faiss

    index = faiss.index_factory(data.base.shape[1], factory)
    if seed is not None:
        rotation = index.chain.at(index.chain.size() - 1)
        faiss.downcast_VectorTransform(rotation).init(seed)
    start = time.process_time()
    index.train(data.learn)
    index.add(data.base)
    fit_cpu = time.process_time() - start
    truth = data.ground_truth[:, :1]
    result = {"fit_cpu": fit_cpu}
    for bits in (qb, 8):
        params = faiss.RaBitQSearchParameters()
        params.qb = bits
        _, found = index.search(data.query, K, params=params)
        result[bits] = one_recall_at_r(truth, found, K)
    result["bytes"] = faiss.downcast_index(index.index).code_size
    return result


def mean_std(results, key):
    values = np.array([r[key] for r in results], dtype=float)
    return values.mean(), values.std()


def cell(results, key, digits=3):
    mean, std = mean_std(results, key)
    if len(results) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({std:.{digits}f})"


def diff_cell(results, key, minus):
    diffs = [{"d": r[key] - r[minus]} for r in results]
    return cell(diffs, "d")


def run(args):
    rows = []  # (set, nbits, kind, label, bytes, results)
    for name in args.sets:
        folder = args.data / name
        data = load_vector_folder(folder)
        d = data.base.shape[1]
        print(
            f"# {name}: base {data.base.shape}, learn {data.learn.shape}, "
            f"query {data.query.shape}",
            flush=True,
        )
        widths = [(nbits, nbits, "ours") for nbits in args.nbits]
        if args.equal_bytes:
            widths += [
                (nbits + EQUAL_BYTES_EXTRA_BITS, nbits, "equal-bytes")
                for nbits in args.nbits
            ]
        for nbits, table_nbits, kind in widths:
            names = args.hashers if kind == "ours" else args.equal_bytes_hashers
            for hasher_name in names:
                make, seeded = HASHERS[hasher_name]
                results = []
                for seed in args.seeds if seeded else args.seeds[:1]:
                    res = evaluate_hasher(make(nbits, seed), data, args)
                    results.append(res)
                    print(
                        f"# {name} {nbits} {hasher_name} seed {seed}: "
                        f"hamming {res['hamming']:.3f}, None {res[None]:.3f}, "
                        f"qb4 {res[4]:.3f}, qb1 == HammingNeighbors "
                        f"{res['same_as_hamming']}, lists differing from the "
                        f"reference {res['differ_from_reference']}, "
                        f"fit {res['fit_cpu']:.1f} "
                        f"CPU s, asymmetric searches {res['search_cpu']:.1f} CPU s",
                        flush=True,
                    )
                label = hasher_name + ("" if seeded else " (deterministic)")
                if kind == "equal-bytes":
                    label = f"{hasher_name} {nbits} bits"
                rows.append((name, table_nbits, kind, label, nbits // 8, results))
        if args.no_faiss:
            continue
        for nbits in args.nbits:
            for label, factory, seeds in rabitq_variants(d, nbits, args.seeds):
                results = []
                for seed in seeds:
                    res = evaluate_rabitq(factory, seed, data, args.qb)
                    results.append(res)
                    print(
                        f"# {name} {nbits} {factory} seed "
                        f"{'faiss default' if seed is None else seed}: "
                        f"qb{args.qb} {res[args.qb]:.3f}, qb8 {res[8]:.3f}, "
                        f"{res['bytes']} bytes, train+add {res['fit_cpu']:.1f} CPU s",
                        flush=True,
                    )
                rows.append(
                    (name, nbits, "rabitq", label, results[0]["bytes"], results)
                )
    return rows


def print_tables(rows, args):
    print(
        f"\n1-recall@10, mean (std over seeds {args.seeds}; one run where no std); "
        f"asymmetric search by the {args.backend}; RaBitQ searched with "
        f"qb={args.qb} (in the query_bits=4 column)\n"
    )
    print(
        "| set | nbits | method | bytes/vec | Hamming | asym None | asym qb=4 "
        "| qb=4 - None | qb=4 - Hamming | fit CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, nbits, kind, label, n_bytes, results in rows:
        if kind == "ours":
            cells = [
                cell(results, "hamming"),
                cell(results, None),
                cell(results, 4),
                diff_cell(results, 4, None),
                diff_cell(results, 4, "hamming"),
            ]
        elif kind == "rabitq":
            cells = ["-", "-", cell(results, args.qb), "-", "-"]
        else:
            continue
        fit = f"{mean_std(results, 'fit_cpu')[0]:.1f}"
        print(
            f"| {name} | {nbits} | {label} | {n_bytes} | {' | '.join(cells)} | {fit} |"
        )
    if args.equal_bytes:
        print(
            "\nEqual bytes: hashers at nbits + 64 bits (asymmetric, query_bits=4) "
            "against RaBitQ at nbits\n"
        )
        print("| set | RaBitQ nbits | method | bytes/vec | Hamming | asym qb=4 |")
        print("|---|---|---|---|---|---|")
        for name, nbits, kind, label, n_bytes, results in rows:
            if kind == "equal-bytes":
                cells = [cell(results, "hamming"), cell(results, 4)]
            elif kind == "rabitq":
                cells = ["-", cell(results, args.qb)]
            else:
                continue
            print(f"| {name} | {nbits} | {label} | {n_bytes} | {' | '.join(cells)} |")
    hashed = [row for row in rows if row[2] != "rabitq"]
    checks = [r["same_as_hamming"] for row in hashed for r in row[5]]
    print(
        f"\nquery_bits=1 top-10 lists identical to HammingNeighbors' in "
        f"{sum(checks)} of {len(checks)} runs"
    )
    if args.check_reference and args.backend == "estimator":
        runs = [r for row in hashed for r in row[5]]
        pairs = sum(r["n_queries"] for r in runs) * len(QUERY_BITS)
        print(
            f"AsymmetricNeighbors' top-10 lists (query_bits None, 4, 1) differing "
            f"from the NumPy reference's: "
            f"{sum(r['differ_from_reference'] for r in runs)} of {pairs} "
            f"(query, query_bits) pairs"
        )


def verdict(ok):
    return "PASS" if ok else "FAIL"


def print_bars(rows, args):
    """The issue's bars, on means over seeds."""
    summary = {}  # (set, nbits, kind, label) -> mean recalls
    for name, nbits, kind, label, _, results in rows:
        keys = [args.qb] if kind == "rabitq" else ["hamming", None, 4]
        means = {key: mean_std(results, key)[0] for key in keys}
        # RaBitQ's qb-bit search is compared with our query_bits=4 search
        means[4] = means[args.qb if kind == "rabitq" else 4]
        summary[name, nbits, kind, label] = means
    print("\nBars (means over seeds):\n")
    ours = [(key, m) for key, m in summary.items() if key[2] == "ours"]
    for (name, nbits, _, label), m in ours:
        gain = m[4] - m["hamming"]
        print(
            f"- (a) {verdict(gain >= 0.05)} {name} {nbits} {label}: asymmetric "
            f"qb=4 - Hamming = {gain:+.3f} (bar +0.05)"
        )
    for (name, nbits, _, label), m in ours:
        gap = m[4] - m[None]
        print(
            f"- (d) {verdict(abs(gap) <= 0.01)} {name} {nbits} {label}: "
            f"qb=4 - None = {gap:+.3f} (bar within 0.01)"
        )
    for name, nbits in sorted({key[:2] for key in summary}):

        def recalls(kind, name=name, nbits=nbits):
            return {
                key[3]: m[4]
                for key, m in summary.items()
                if key[:3] == (name, nbits, kind)
            }

        rabitq = recalls("rabitq")
        if not rabitq:
            print(f"- (b, c) {name} {nbits}: RaBitQ not measured")
            continue
        best_rabitq = max(rabitq, key=rabitq.get)
        against = f"best RaBitQ ({best_rabitq}) {rabitq[best_rabitq]:.3f}"
        ours_here = recalls("ours")
        if ours_here:
            best = max(ours_here, key=ours_here.get)
            margin = ours_here[best] - rabitq[best_rabitq]
            need = 0.02 if nbits == 64 else 0.0
            print(
                f"- (b) {verdict(margin >= need)} {name} {nbits}: best of ours "
                f"({best}, asymmetric qb=4) {ours_here[best]:.3f} - {against} "
                f"= {margin:+.3f} (bar {need:+.2f})"
            )
        for label, recall in recalls("equal-bytes").items():
            if label.startswith("ITQ"):
                margin = recall - rabitq[best_rabitq]
                print(
                    f"- (c) {verdict(margin >= 0)} {name} {nbits}: {label} "
                    f"(asymmetric qb=4) {recall:.3f} - {against} = {margin:+.3f} "
                    f"(bar +0.00)"
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--sets", nargs="+", choices=SETS, default=SETS)
    parser.add_argument("--nbits", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--hashers", nargs="+", choices=list(HASHERS), default=list(HASHERS)
    )
    parser.add_argument(
        "--equal-bytes",
        action="store_true",
        help="also hashers at nbits + 64 bits (RaBitQ's bytes at nbits)",
    )
    parser.add_argument(
        "--equal-bytes-hashers",
        nargs="+",
        choices=list(HASHERS),
        default=["ITQ", "LSH"],
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "estimator", "reference"],
        default="auto",
        help="asymmetric search by sklearn_hash.AsymmetricNeighbors or the "
        "NumPy reference (auto: the estimator when the package has it)",
    )
    parser.add_argument(
        "--block", type=int, default=250, help="queries per block of the reference"
    )
    parser.add_argument(
        "--check-reference",
        action="store_true",
        help="with the estimator, also run the NumPy reference and count the "
        "queries whose lists differ",
    )
    parser.add_argument(
        "--quantizer",
        choices=["lloyd", "uniform"],
        default="lloyd",
        help="AsymmetricNeighbors' query_quantizer (default: the package's)",
    )
    parser.add_argument("--qb", type=int, default=4, help="RaBitQ query bits")
    parser.add_argument("--no-faiss", action="store_true", help="skip RaBitQ")
    args = parser.parse_args()
    if args.backend == "auto":
        has_estimator = hasattr(sklearn_hash, "AsymmetricNeighbors")
        args.backend = "estimator" if has_estimator else "reference"
    print(f"# cpu: {cpu_description()}")
    versions = f"sklearn_hash {sklearn_hash.__version__}"
    if not args.no_faiss:
        import faiss

        versions += f", faiss {faiss.__version__}"
    print(
        f"# {versions}; asymmetric search by the {args.backend}, "
        f"query_quantizer={args.quantizer!r}",
        flush=True,
    )
    rows = run(args)
    print_tables(rows, args)
    print_bars(rows, args)


if __name__ == "__main__":
    main()
