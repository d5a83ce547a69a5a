"""The main job, ``python -m sklearn_hash``: a recall / speed table of hashers.

Every method is fitted on the training vectors, encodes base and queries, and
HammingNeighbors searches the query codes; recall is measured against the
exact float-space ground truth (shipped with the data, or computed).

This module only parses and prints: the data set is read by
``datasets._evaluation_set``, every row is measured by ``metrics._evaluate``
and the ``--plot`` figure is drawn by ``plot._main_figure``. Adding a method is
one entry in ``_method_factories``.
"""

import argparse
import sys

from threadpoolctl import threadpool_limits

from .metrics._evaluate import evaluate_asymmetric, evaluate_hasher, evaluate_rerank
from .neighbors._asym_kernels import MAX_PLANES


def _method_factories():
    """Name -> (description, factory(nbits, random_state), in the default run)."""
    from . import ITQ, LSH, AsymmetricLinV, NeuralProxyHash, PCAHashing, SpectralHashing

    return {
        "lsh": (
            "random hyperplanes, centred (Charikar 2002)",
            lambda nbits, seed: LSH(nbits=nbits, random_state=seed),
            True,
        ),
        "lsh-rot-thr": (
            "random rotation + median thresholds (faiss IndexLSH)",
            lambda nbits, seed: LSH(
                nbits=nbits, rotate=True, train_thresholds=True, random_state=seed
            ),
            True,
        ),
        "pca": (
            "PCA directions, sign (PCAH)",
            lambda nbits, seed: PCAHashing(nbits=nbits),
            True,
        ),
        "itq": (
            "PCA + iterative quantization rotation (Gong & Lazebnik 2011)",
            lambda nbits, seed: ITQ(nbits=nbits, random_state=seed),
            True,
        ),
        "spectral": (
            "spectral hashing (Weiss et al. 2008)",
            lambda nbits, seed: SpectralHashing(nbits=nbits),
            True,
        ),
        "nphash": (
            "neural proxy hashing, NumPy MLP (slower: seconds to minutes per fit)",
            lambda nbits, seed: NeuralProxyHash(nbits=nbits, random_state=seed),
            False,
        ),
        "asym-linv": (
            "asymmetric Lin:V hashing (Neyshabur et al. 2013; slow: minutes)",
            lambda nbits, seed: AsymmetricLinV(nbits=nbits, random_state=seed),
            False,
        ),
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


def _query_bits(text):
    """--asymmetric value: 1..8, or 'float' (None)."""
    if text == "float":
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_PLANES:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"expected 1-{MAX_PLANES} or 'float', got {text!r}"
    )


def _asym_label(name, query_bits):
    return f"{name}+asym{'float' if query_bits is None else query_bits}"


def _parse_args(argv, methods):
    method_lines = "\n".join(
        f"  {'*' if default else ' '} {name:<12} {desc}"
        for name, (desc, _, default) in methods.items()
    )
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_hash",
        description=_DESCRIPTION,
        epilog=(
            f"methods (--methods; * = in the default run):\n{method_lines}\n\n{_EPILOG}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        default="embedded",
        metavar="PATH",
        help="vector set: 'embedded' (default), a folder, a .npy or an "
        "ann-benchmarks .hdf5 file (see below)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(methods),
        metavar="METHOD",
        default=[name for name, (_, _, default) in methods.items() if default],
        help="hashers to compare (default: those marked * below; the others "
        "take up to minutes per code length)",
    )
    parser.add_argument(
        "--nbits",
        nargs="+",
        type=int,
        default=[32, 64, 128],
        help="code lengths in bits (default: 32 64 128)",
    )
    parser.add_argument(
        "-k", type=int, default=10, help="neighbours retrieved per query (default: 10)"
    )
    parser.add_argument(
        "--metric",
        choices=["euclidean", "cosine"],
        default=None,
        help="distance of the ground truth (default: the data's own, Euclidean "
        "for the shipped sets and cosine for ann-benchmarks 'angular' "
        "files; Euclidean when there is none); another metric than the "
        "data's recomputes it",
    )
    parser.add_argument(
        "--n-queries",
        type=int,
        default=None,
        metavar="N",
        help="use the first N queries (a .npy file: hold out N random rows, "
        "default 500)",
    )
    parser.add_argument(
        "--train",
        choices=["auto", "base", "learn"],
        default="auto",
        help="fit hashers on 'learn' (when the data has one: the ANN protocol) "
        "or on 'base' (default auto: learn if present, else base)",
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=0,
        metavar="N",
        help="fit on at most N random training vectors (default 0: all)",
    )
    parser.add_argument(
        "--map",
        action="store_true",
        help="add the mAP column (ranks the whole database per query: "
        "a few seconds per row on the embedded set)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="write the figures to FILE (.png, .pdf, .svg): recall@R against R "
        "and precision-recall of Hamming ranking per code length, and "
        "recall against queries per second (needs matplotlib)",
    )
    parser.add_argument(
        "--rerank",
        nargs="+",
        type=int,
        default=[],
        metavar="N",
        help="after each row, add a row 'METHOD+rrN' per N: the N best "
        "Hamming candidates re-scored exactly in the ground truth's "
        "metric with the float32 vectors (RerankNeighbors); its "
        "search q/s includes encoding the queries",
    )
    parser.add_argument(
        "--asymmetric",
        nargs="*",
        type=_query_bits,
        default=[4],
        metavar="B",
        help="after each row, add a row 'METHOD+asymB' per B (1-8, or 'float'): "
        "the same codes searched with unbinarized queries quantized to B bits "
        "(AsymmetricNeighbors); its search q/s includes the queries' decision "
        "values (default: 4; '--asymmetric' alone leaves these rows out)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random_state of every hasher and of the query split (default: 0)",
    )
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="search threads (default: all cores)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS threads while fitting and encoding (default: 1; the "
        "hashers' matrices are small and more threads mostly contend)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines on stderr"
    )
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


def _table_columns(k, label_width, with_map):
    """(row key, title, width, number format) of every column, left to right."""
    columns = [
        ("method", "method", label_width, ""),
        ("nbits", "nbits", 6, ""),
        ("1-R@k", f"1-R@{k}", 9, ".3f"),
        ("k-R@k", f"{k}-R@{k}", 9, ".3f"),
    ]
    if with_map:
        columns.append(("mAP", "mAP", 8, ".3f"))
    columns += [
        ("fit s", "fit s", 9, ".3f"),
        ("encode s", "encode s", 10, ".3f"),
        ("search q/s", "search q/s", 12, ".0f"),
    ]
    return columns


def _format_line(columns, row=None):
    """The header (no ``row``) or one row; a value that is None or absent is "-"."""
    cells = []
    for i, (key, title, width, spec) in enumerate(columns):
        align = "<" if i == 0 else ">"
        if row is None:
            cells.append(f"{title:{align}{width}}")
        elif row.get(key) is None:
            cells.append(f"{'-':{align}{width}}")
        else:
            cells.append(f"{row[key]:{align}{width}{spec}}")
    return "".join(cells)


def _load_data(args):
    """The dataset of ``args``; a bad ``--data`` or ``--train`` exits with a message."""
    from .datasets._evaluation_set import load_evaluation_set

    try:
        return load_evaluation_set(
            args.data,
            n_queries=args.n_queries,
            n_neighbors=args.k,
            metric=args.metric,
            train=args.train,
            n_train=args.n_train,
            random_state=args.seed,
            verbose=not args.quiet,
        )
    except ValueError as exc:
        raise SystemExit(f"python -m sklearn_hash: error: {exc}") from exc


def _print_header(args, data, out):
    print(
        f"data: {data.name}, base {data.base.shape}, query {data.query.shape}; "
        f"hashers fitted on {data.train_name}; k = {args.k}",
        file=out,
    )
    if args.asymmetric:
        print(
            "name+asymB rows: the same codes, queries unbinarized (decision values "
            "quantized to B bits) and scored by AsymmetricNeighbors",
            file=out,
        )
    if args.rerank:
        print(
            "name+rrN rows: the N best Hamming candidates re-scored exactly "
            f"({data.metric}, float32 vectors) by RerankNeighbors",
            file=out,
        )


def _runs(args, methods, data):
    """Yield every row: a hasher's, then its asymmetric ones (``--asymmetric``),
    then its re-ranked ones (``--rerank``)."""
    n_runs = len(args.methods) * len(args.nbits)
    pairs = [(name, nbits) for name in args.methods for nbits in args.nbits]
    for run, (name, nbits) in enumerate(pairs, 1):
        _progress(args, f"[{run}/{n_runs}] {name}, {nbits} bits ...")
        hasher = methods[name][1](nbits, args.seed)
        row = evaluate_hasher(
            hasher,
            data,
            args.k,
            args.n_jobs,
            with_map=args.map,
            keep_for_plot=bool(args.plot),
        )
        yield {"method": name, "nbits": nbits, **row}
        for query_bits in args.asymmetric:
            row = evaluate_asymmetric(hasher, data, args.k, query_bits, args.n_jobs)
            yield {"method": _asym_label(name, query_bits), "nbits": nbits, **row}
        for n_candidates in args.rerank:
            row = evaluate_rerank(hasher, data, args.k, n_candidates, args.n_jobs)
            yield {"method": f"{name}+rr{n_candidates}", "nbits": nbits, **row}


def main(argv=None, out=None):
    """Run the main job and print its table; returns the rows as dicts."""
    out = out or sys.stdout
    methods = _method_factories()
    args = _parse_args(argv, methods)
    data = _load_data(args)
    _print_header(args, data, out)
    labels = [f"{m}+rr{n}" for m in args.methods for n in args.rerank] + [
        _asym_label(m, b) for m in args.methods for b in args.asymmetric
    ]
    label_width = max([14] + [len(label) + 2 for label in labels])
    columns = _table_columns(args.k, label_width, args.map)
    header = _format_line(columns)
    print(header, file=out)
    print("-" * len(header), file=out, flush=True)
    rows = []
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        for row in _runs(args, methods, data):
            rows.append(row)
            print(_format_line(columns, row), file=out, flush=True)
    if args.plot:
        # the one import of the plotting layer: only --plot draws
        from .plot._main_figure import write_main_job_figure

        write_main_job_figure(
            rows,
            data,
            args.plot,
            methods=args.methods,
            nbits=args.nbits,
            k=args.k,
            n_jobs=args.n_jobs,
        )
        print(f"figure written to {args.plot}", file=out)
    return rows
