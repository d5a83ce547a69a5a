"""The main job, ``python -m sklearn_hash``: a recall / speed table of hashers.

Every method is fitted on the training vectors, encodes base and queries, and
HammingNeighbors searches the query codes; recall is measured against the
exact float-space ground truth (shipped with the data, or computed).

Adding a method is one entry in ``_method_factories``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .metrics import hamming_mean_average_precision, one_recall_at_r, recall_at_k
from .neighbors import HammingNeighbors

# neighbours retrieved for the recall@R curves of --plot
_MAX_R = 1000
# the search speed is the best of this many runs (short runs are noisy)
_SEARCH_REPEATS = 3


def _method_factories():
    """Name -> (description, factory(nbits, random_state), in the default run)."""
    from . import ITQ, LSH, AsymmetricLinV, NeuralProxyHash, PCAHashing, SpectralHashing

    return {
        "lsh": ("random hyperplanes, centred (Charikar 2002)",
                lambda nbits, seed: LSH(nbits=nbits, random_state=seed), True),
        "lsh-rot-thr": ("random rotation + median thresholds (faiss IndexLSH)",
                        lambda nbits, seed: LSH(nbits=nbits, rotate=True,
                                                train_thresholds=True, random_state=seed), True),
        "pca": ("PCA directions, sign (PCAH)",
                lambda nbits, seed: PCAHashing(nbits=nbits), True),
        "itq": ("PCA + iterative quantization rotation (Gong & Lazebnik 2011)",
                lambda nbits, seed: ITQ(nbits=nbits, random_state=seed), True),
        "spectral": ("spectral hashing (Weiss et al. 2008)",
                     lambda nbits, seed: SpectralHashing(nbits=nbits), True),
        "nphash": ("neural proxy hashing, NumPy MLP (slow: minutes)",
                   lambda nbits, seed: NeuralProxyHash(nbits=nbits, random_state=seed), False),
        "asym-linv": ("asymmetric Lin:V hashing (Neyshabur et al. 2013; slow: minutes)",
                      lambda nbits, seed: AsymmetricLinV(nbits=nbits, random_state=seed), False),
    }


_DESCRIPTION = """\
Compare binary hashers on a vector set: each hasher is fitted, encodes the
database ("base") and the queries into NBITS-bit codes, HammingNeighbors
retrieves the K nearest codes of every query by exact Hamming search, and the
result is scored against the exact float-space nearest neighbours.

Columns: 1-R@K = fraction of queries whose true nearest neighbour is among the
K retrieved (faiss's R@K); K-R@K = fraction of the true K nearest neighbours
retrieved; mAP (with --map) = mean average precision of the Hamming ranking of
the whole database, relevant = the true neighbours given (100 on the shipped
sets), ties in random order (expected value); fit s / encode s = seconds to
fit the hasher and to encode base + queries (an asymmetric hasher encodes
the base with encode_database, or with fit_transform when fitted on the base,
which then counts as fit time); search q/s = queries per second of the
Hamming search (best of 3 runs).

Without options it runs the default methods at 32, 64 and 128 bits on the
embedded SIFT sample (30,070 base vectors, 500 queries), in well under a
minute on two cores."""

_EPILOG = """\
datasets (--data):
  embedded            the SIFT sample shipped in the package (default)
  FOLDER              base.npy, query.npy, optional learn.npy and gt_l2_100.npy
                      (or TEXMEX names: sift_base.fvecs, sift_groundtruth.ivecs, ...);
                      e.g. ../shared/data/sift-images
  FILE.npy            one (n, d) array: --n-queries random rows become the queries
  FILE.hdf5           an ann-benchmarks file (train/test/neighbors); float sets only
Missing ground truth is computed exactly (brute force, in blocks, with progress).

examples:
  python -m sklearn_hash
  python -m sklearn_hash --methods lsh itq --nbits 64 256 -k 100
  python -m sklearn_hash --data ../shared/data/sift-images --plot results.png
  python -m sklearn_hash --data vectors.npy --metric cosine --n-queries 1000
  python -m sklearn_hash --data ../shared/data/debian-minilm --metric cosine \
      --methods itq --nbits 128 256 --rerank 100 1000
"""


def _parse_args(argv, methods):
    method_lines = "\n".join(
        f"  {'*' if default else ' '} {name:<12} {desc}"
        for name, (desc, _, default) in methods.items()
    )
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_hash", description=_DESCRIPTION,
        epilog=f"methods (--methods; * = in the default run):\n{method_lines}\n\n{_EPILOG}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default="embedded", metavar="PATH",
                        help="vector set: 'embedded' (default), a folder, a .npy or an "
                             "ann-benchmarks .hdf5 file (see below)")
    parser.add_argument("--methods", nargs="+", choices=list(methods), metavar="METHOD",
                        default=[name for name, (_, _, default) in methods.items() if default],
                        help="hashers to compare (default: those marked * below; the others "
                             "take minutes per code length)")
    parser.add_argument("--nbits", nargs="+", type=int, default=[32, 64, 128],
                        help="code lengths in bits (default: 32 64 128)")
    parser.add_argument("-k", type=int, default=10,
                        help="neighbours retrieved per query (default: 10)")
    parser.add_argument("--metric", choices=["euclidean", "cosine"], default=None,
                        help="distance of the ground truth (default: the data's own, Euclidean "
                             "for the shipped sets and cosine for ann-benchmarks 'angular' "
                             "files; Euclidean when there is none); another metric than the "
                             "data's recomputes it")
    parser.add_argument("--n-queries", type=int, default=None, metavar="N",
                        help="use the first N queries (a .npy file: hold out N random rows, "
                             "default 500)")
    parser.add_argument("--train", choices=["auto", "base", "learn"], default="auto",
                        help="fit hashers on 'learn' (when the data has one: the ANN protocol) "
                             "or on 'base' (default auto: learn if present, else base)")
    parser.add_argument("--n-train", type=int, default=0, metavar="N",
                        help="fit on at most N random training vectors (default 0: all)")
    parser.add_argument("--map", action="store_true",
                        help="add the mAP column (ranks the whole database per query: "
                             "a few seconds per row on the embedded set)")
    parser.add_argument("--plot", metavar="FILE",
                        help="write the figures to FILE (.png, .pdf, .svg): recall@R against R "
                             "and precision-recall of Hamming ranking per code length, and "
                             "recall against queries per second (needs matplotlib)")
    parser.add_argument("--rerank", nargs="+", type=int, default=[], metavar="N",
                        help="after each row, add a row 'METHOD+rrN' per N: the N best "
                             "Hamming candidates re-scored exactly in the ground truth's "
                             "metric with the float32 vectors (RerankNeighbors); its "
                             "search q/s includes encoding the queries")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of every hasher and of the query split (default: 0)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="search threads (default: all cores)")
    parser.add_argument("--blas-threads", type=int, default=1, metavar="N",
                        help="BLAS threads while fitting and encoding (default: 1; the "
                             "hashers' matrices are small and more threads mostly contend)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.k < 1 or any(b < 1 for b in args.nbits):
        parser.error("-k and every --nbits must be positive")
    if any(n < args.k for n in args.rerank):
        parser.error(f"every --rerank N must be at least -k ({args.k})")
    if args.n_queries is not None and args.n_queries < 1:
        parser.error("--n-queries must be positive")
    if args.n_train < 0:
        parser.error("--n-train must be 0 (all) or positive")
    if args.blas_threads < 1:
        parser.error("--blas-threads must be positive")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install matplotlib")
    return args


def _progress(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def load_data(args):
    """The dataset of ``args`` as a Bunch: base, query, train, ground_truth, name."""
    from sklearn.utils import Bunch

    from .datasets import load_ann_benchmarks, load_sift_skimage, load_vector_folder
    from .model_selection import exact_neighbors

    learn, data_metric = None, "euclidean"
    if args.data == "embedded":
        data, name = load_sift_skimage(), "embedded SIFT sample"
    else:
        path = Path(args.data)
        name = str(path)
        if path.is_dir():
            data = load_vector_folder(path)
            learn = data.learn
        elif path.suffix == ".npy":
            X = np.load(path).astype(np.float32)
            if X.ndim != 2:
                raise SystemExit(f"--data {path}: expected a 2-D (n, d) array, got {X.shape}")
            n_queries = args.n_queries or min(500, len(X) // 10)
            if not 0 < n_queries < len(X) - args.k:
                raise SystemExit(f"--data {path}: {len(X)} rows are too few for "
                                 f"{n_queries} queries and k = {args.k}")
            order = np.random.default_rng(args.seed).permutation(len(X))
            data = Bunch(base=X[np.sort(order[n_queries:])], query=X[np.sort(order[:n_queries])],
                         ground_truth=None)
            data_metric = None
        elif path.suffix in (".hdf5", ".h5"):
            data = load_ann_benchmarks(path)
            if data.nbits is not None:
                raise SystemExit(f"--data {path} holds binary codes already (Hamming set); "
                                 "there is nothing to hash")
            # ann-benchmarks' "angular" is the cosine distance
            data_metric = {"euclidean": "euclidean", "angular": "cosine"}.get(data.metric)
        else:
            raise SystemExit(f"--data {path}: not 'embedded', a folder, a .npy nor an .hdf5 file")
    query = data.query if args.n_queries is None else data.query[: args.n_queries]
    truth = data.ground_truth
    if truth is not None:
        truth = truth[: len(query)]
    metric = args.metric or data_metric or "euclidean"
    if truth is None or metric != data_metric or truth.shape[1] < args.k:
        _progress(args, f"computing the exact {metric} ground truth of {len(query)} queries")
        truth = exact_neighbors(data.base, query, n_neighbors=max(100, args.k),
                                metric=metric, verbose=int(not args.quiet))
    use_learn = args.train == "learn" or (args.train == "auto" and learn is not None)
    if use_learn and learn is None:
        raise SystemExit(f"--train learn: {name} has no learn set")
    train, train_name = (learn, "learn") if use_learn else (data.base, "base")
    if 0 < args.n_train < len(train):
        rows = np.random.default_rng(args.seed).choice(len(train), args.n_train, replace=False)
        train, train_name = train[np.sort(rows)], f"{args.n_train:,} random {train_name} vectors"
    else:
        train_name = f"{len(train):,} {train_name} vectors"
    return Bunch(base=data.base, query=query, ground_truth=truth, name=name,
                 train=train, train_name=train_name, metric=metric)


def evaluate(hasher, data, k, n_jobs=None, with_map=False, keep_for_plot=False):
    """Fit, encode and search once; return a dict of recall and timings.

    With ``keep_for_plot``, also the top ``_MAX_R`` neighbours and the
    precision-recall curve of the Hamming ranking (keys ``retrieved``,
    ``precision``, ``recall``).
    """
    from .metrics import hamming_precision_recall_curve
    from .metrics._base import _hamming_distances, _relevance

    t0 = time.perf_counter()
    if hasattr(hasher, "encode_database") and data.train is data.base:
        # asymmetric, fitted on the database: fit_transform returns its database codes
        base_codes = hasher.fit_transform(data.base)
        t1 = time.perf_counter()
    else:
        hasher.fit(data.train)
        t1 = time.perf_counter()
        # asymmetric hashers encode database items differently from queries
        encode_base = getattr(hasher, "encode_database", hasher.transform)
        base_codes = encode_base(data.base)
    query_codes = hasher.transform(data.query)
    t2 = time.perf_counter()
    index = HammingNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(base_codes)
    search_time = np.inf
    for _ in range(_SEARCH_REPEATS):
        start = time.perf_counter()
        retrieved = index.kneighbors(query_codes, return_distance=False)
        search_time = min(search_time, time.perf_counter() - start)
    truth = data.ground_truth
    row = {
        "1-R@k": one_recall_at_r(truth, retrieved, r=k),
        "k-R@k": recall_at_k(truth[:, :k], retrieved, k=k),
        "fit s": t1 - t0,
        "encode s": t2 - t1,
        "search q/s": len(data.query) / max(search_time, 1e-9),
    }
    if with_map or keep_for_plot:
        distances = _hamming_distances(query_codes, base_codes)
        relevant = _relevance(truth, len(base_codes))
        if with_map:
            row["mAP"] = hamming_mean_average_precision(relevant, distances)
        if keep_for_plot:
            row["precision"], row["recall"], _ = hamming_precision_recall_curve(
                relevant, distances)
            row["retrieved"] = index.kneighbors(
                query_codes, n_neighbors=min(_MAX_R, len(base_codes)), return_distance=False)
    return row


def evaluate_rerank(hasher, data, k, n_candidates, n_jobs=None):
    """Re-rank the fitted hasher's Hamming candidates; a dict like ``evaluate``'s.

    The hasher is used as fitted (frozen): the base is encoded with its
    ``encode_database`` if it has one, else ``transform``. ``fit s`` is the time
    to build the index (encode the base, store the vectors); ``search q/s``
    includes encoding the queries; ``encode s`` and ``mAP`` are None.
    """
    from sklearn.frozen import FrozenEstimator

    from .neighbors import RerankNeighbors

    search = RerankNeighbors(FrozenEstimator(hasher), n_neighbors=k,
                             n_candidates=n_candidates, metric=data.metric, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(data.base)
    fit_time = time.perf_counter() - start
    search_time = np.inf
    for _ in range(_SEARCH_REPEATS):
        start = time.perf_counter()
        retrieved = search.predict(data.query)
        search_time = min(search_time, time.perf_counter() - start)
    truth = data.ground_truth
    return {
        "1-R@k": one_recall_at_r(truth, retrieved, r=k),
        "k-R@k": recall_at_k(truth[:, :k], retrieved, k=k),
        "fit s": fit_time,
        "encode s": None,
        "search q/s": len(data.query) / max(search_time, 1e-9),
    }


def plot_results(rows, args, data, path):
    """Write the figure of ``--plot``: one column per code length, a speed panel."""
    from ._compat import check_matplotlib_support

    check_matplotlib_support("python -m sklearn_hash --plot")
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from .metrics import recall_at_r_curve
    from .plot import (
        HammingPrecisionRecallDisplay,
        RecallAtRDisplay,
        RecallSpeedDisplay,
    )

    nbits_list = list(dict.fromkeys(args.nbits))
    methods = list(dict.fromkeys(args.methods))
    colors = {m: colormaps["tab10"](i % 10) for i, m in enumerate(methods)}
    n_cols = len(nbits_list)
    # a Figure without pyplot: no global backend or figure state is touched
    fig = Figure(figsize=(4.6 * max(n_cols, 2), 13), layout="constrained")
    grid = fig.add_gridspec(3, n_cols)
    n_relevant = data.ground_truth.shape[1]
    for col, nbits in enumerate(nbits_list):
        ax_r, ax_pr = fig.add_subplot(grid[0, col]), fig.add_subplot(grid[1, col])
        for method in methods:
            row = next(r for r in rows if r["method"] == method and r["nbits"] == nbits)
            r_values, recall = recall_at_r_curve(data.ground_truth, row["retrieved"])
            RecallAtRDisplay(r_values, recall, name=method).plot(
                ax=ax_r, curve_kwargs={"color": colors[method]})
            HammingPrecisionRecallDisplay(
                row["precision"], row["recall"], average_precision=row.get("mAP"), name=method,
            ).plot(ax=ax_pr, curve_kwargs={"color": colors[method]})
        ax_r.set_title(f"{nbits} bits: true nearest neighbour in the top R")
        ax_pr.set_title(f"{nbits} bits: Hamming ranking, relevant = {n_relevant} true NN",
                        fontsize="medium")
    ax_speed = fig.add_subplot(grid[2, :])
    for method in methods:
        mrows = [r for r in rows if r["method"] == method]
        RecallSpeedDisplay([r["1-R@k"] for r in mrows], [r["search q/s"] for r in mrows],
                           name=method, point_labels=[f"{r['nbits']} b" for r in mrows],
                           recall_name=f"1-recall@{args.k}").plot(
            ax=ax_speed, curve_kwargs={"color": colors[method]})
    ax_speed.set_title(f"search speed against 1-recall@{args.k} "
                       f"(points: code lengths; {args.n_jobs or 'all'} threads)")
    fig.suptitle(f"{data.name}: {len(data.base):,} base vectors, {len(data.query):,} queries;\n"
                 f"hashers fitted on {data.train_name}")
    fig.savefig(path, dpi=110)


def _format_row(label, width, nbits, r, with_map):
    """One table line; a re-ranked row has no mAP nor encode time ("-")."""
    def number(key, spec, size):
        value = r.get(key)
        return f"{'-':>{size}}" if value is None else f"{value:>{size}{spec}}"

    return (f"{label:<{width}}{nbits:>6}{r['1-R@k']:>9.3f}{r['k-R@k']:>9.3f}"
            + (number("mAP", ".3f", 8) if with_map else "")
            + f"{r['fit s']:>9.3f}" + number("encode s", ".3f", 10)
            + f"{r['search q/s']:>12.0f}")


def main(argv=None, out=None):
    """Run the main job and print its table; returns the rows as dicts."""
    out = out or sys.stdout
    methods = _method_factories()
    args = _parse_args(argv, methods)
    data = load_data(args)
    k = args.k
    print(f"data: {data.name}, base {data.base.shape}, query {data.query.shape}; hashers "
          f"fitted on {data.train_name}; k = {k}", file=out)
    if args.rerank:
        print(f"name+rrN rows: the N best Hamming candidates re-scored exactly "
              f"({data.metric}, float32 vectors) by RerankNeighbors", file=out)
    width = max([14] + [len(f"{m}+rr{n}") + 2 for m in args.methods for n in args.rerank])
    header = (f"{'method':<{width}}{'nbits':>6}{'1-R@' + str(k):>9}{f'{k}-R@{k}':>9}"
              + (f"{'mAP':>8}" if args.map else "")
              + f"{'fit s':>9}{'encode s':>10}{'search q/s':>12}")
    print(header, file=out)
    print("-" * len(header), file=out, flush=True)
    rows = []
    n_runs = len(args.methods) * len(args.nbits)
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        for run, (name, nbits) in enumerate(
                ((name, nbits) for name in args.methods for nbits in args.nbits), 1):
            _progress(args, f"[{run}/{n_runs}] {name}, {nbits} bits ...")
            hasher = methods[name][1](nbits, args.seed)
            r = evaluate(hasher, data, k, args.n_jobs, with_map=args.map,
                         keep_for_plot=bool(args.plot))
            rows.append({"method": name, "nbits": nbits, **r})
            print(_format_row(name, width, nbits, r, args.map), file=out, flush=True)
            for n_candidates in args.rerank:
                r = evaluate_rerank(hasher, data, k, n_candidates, args.n_jobs)
                label = f"{name}+rr{n_candidates}"
                rows.append({"method": label, "nbits": nbits, **r})
                print(_format_row(label, width, nbits, r, args.map), file=out, flush=True)
    if args.plot:
        plot_results(rows, args, data, args.plot)
        print(f"figure written to {args.plot}", file=out)
    return rows
