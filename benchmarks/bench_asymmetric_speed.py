"""Speed of the asymmetric search against faiss's RaBitQ and the Hamming scans.

For each code length (= dimension: sign codes of random Gaussian vectors, so
our codes and faiss's RaBitQ codes have the same number of bits), on
``--n-database`` random vectors and ``--n-queries`` queries, k nearest, the
same run times in turn, round after round (the median of ``--repeats``):

- ours, Hamming: ``HammingNeighbors(algorithm="brute")`` on the packed codes
  (the query codes given);
- ours, asymmetric: ``AsymmetricNeighbors(SignHashing(), query_bits=B,
  query_quantizer=Q)`` (query quantization included) for each
  ``--query-bits`` and ``--quantizers``, and the float
  query (``query_bits=None``) on ``--float-queries`` queries;
- faiss ``IndexBinaryFlat`` on the same codes;
- faiss ``IndexRaBitQ`` (``qb=4``) and ``IndexRaBitQFastScan`` (``qb=4`` and
  its default 8) on the float vectors, trained on 50,000 of them.

Reported: ns per database code per query, queries per second, and the ratios
asymmetric / RaBitQFastScan (q/s) and asymmetric / our Hamming scan (time).
CPU model and SIMD flags, our kernels' chosen path and faiss's SIMD level are
printed with the table. Run from the repository root, e.g.::

    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    python benchmarks/bench_asymmetric_speed.py --nbits 128 384 --clock cpu
"""

import argparse
import time

import numpy as np
from sklearn.frozen import FrozenEstimator

from sklearn_hash import AsymmetricNeighbors, HammingNeighbors, SignHashing
from sklearn_hash._show_versions import cpu_description
from sklearn_hash.neighbors import _asym_kernels


def faiss_engines(base, queries, k, train_size, seed):
    """{name: (search function, queries it searches)} of faiss's indexes."""
    import faiss

    d = base.shape[1]
    engines = {}
    codes = np.packbits(base > 0, axis=1, bitorder="little")
    query_codes = np.packbits(queries > 0, axis=1, bitorder="little")
    flat = faiss.IndexBinaryFlat(d)
    flat.add(codes)
    engines["faiss IndexBinaryFlat"] = (lambda q: flat.search(q, k), query_codes)
    train = base[np.random.default_rng(seed).permutation(len(base))[:train_size]]
    rabitq = faiss.index_factory(d, "RaBitQ")
    rabitq.train(train)
    rabitq.add(base)
    params = faiss.RaBitQSearchParameters()
    params.qb = 4
    engines["faiss IndexRaBitQ qb=4"] = (
        lambda q: rabitq.search(q, k, params=params),
        queries,
    )
    for qb in (4, 8):
        fast = faiss.index_factory(d, "RaBitQfs")
        fast.train(train)
        fast.add(base)
        fast.qb = qb
        engines[f"faiss IndexRaBitQFastScan qb={qb}"] = (
            lambda q, fast=fast: fast.search(q, k),
            queries,
        )
    return engines


def our_engines(base, queries, args):
    hasher = SignHashing().fit(base[:10])
    codes = hasher.transform(base)
    hamming = HammingNeighbors(
        n_neighbors=args.k, algorithm="brute", n_jobs=args.threads
    ).fit(codes)
    engines = {
        "ours Hamming": (
            lambda q: hamming.kneighbors(q, return_distance=False),
            hasher.transform(queries),
        )
    }
    for query_bits in args.query_bits:
        for quantizer in args.quantizers:
            search = AsymmetricNeighbors(
                FrozenEstimator(hasher),
                n_neighbors=args.k,
                query_bits=query_bits,
                query_quantizer=quantizer,
                n_jobs=args.threads,
            ).fit(base)
            engines[_asym_name(query_bits, quantizer)] = (
                lambda q, search=search: search.kneighbors(q, return_distance=False),
                queries,
            )
    if args.float_queries:
        search = AsymmetricNeighbors(
            FrozenEstimator(hasher),
            n_neighbors=args.k,
            query_bits=None,
            n_jobs=args.threads,
        ).fit(base)
        engines["ours asymmetric float"] = (
            lambda q: search.kneighbors(q, return_distance=False),
            queries[: args.float_queries],
        )
    return engines


def _asym_name(query_bits, quantizer):
    return f"ours asymmetric query_bits={query_bits} {quantizer}"


def time_in_turn(engines, repeats, clock):
    """Median seconds of each engine, engines timed in turn within each round."""
    times = {name: [] for name in engines}
    for _ in range(repeats):
        for name, (search, queries) in engines.items():
            start = clock()
            search(queries)
            times[name].append(clock() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def run(nbits, args, clock):
    rng = np.random.default_rng(args.seed)
    base = rng.standard_normal((args.n_database, nbits), dtype=np.float32)
    queries = rng.standard_normal((args.n_queries, nbits), dtype=np.float32)
    engines = our_engines(base, queries, args)
    if not args.no_faiss:
        engines.update(faiss_engines(base, queries, args.k, args.train_size, args.seed))
    for search, q in engines.values():  # warm-up: dispatch measured, pages touched
        search(q[:64])
    seconds = time_in_turn(engines, args.repeats, clock)
    nb = nbits // 8
    print(
        f"\n{nbits} bits ({nb} bytes a code), {args.n_database:,} codes, k = {args.k}, "
        f"{args.threads} thread(s); our asymmetric path: "
        f"{_asym_kernels.asym_path(nb)} "
        f"({_asym_kernels.asym_path_how(nb) or 'not measured'})"
    )
    header = f"{'engine':<40}{'queries':>8}{'ns/code':>10}{'q/s':>11}"
    print(header)
    print("-" * len(header))
    qps = {}
    for name, (_, q) in engines.items():
        per_query = seconds[name] / len(q)
        qps[name] = 1 / per_query
        ns = 1e9 * per_query / args.n_database
        print(f"{name:<40}{len(q):>8}{ns:>10.3f}{qps[name]:>11.1f}")
    for query_bits in args.query_bits:
        for quantizer in args.quantizers:
            ours = _asym_name(query_bits, quantizer)
            hamming = qps["ours Hamming"] / qps[ours]
            lines = [f"{ours} / ours Hamming, time: {hamming:.2f}"]
            for name in qps:
                if name.startswith("faiss IndexRaBitQ"):
                    lines.append(f"{ours} / {name}, q/s: {qps[ours] / qps[name]:.2f}x")
            print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nbits", nargs="+", type=int, default=[128, 384])
    parser.add_argument("--n-database", type=int, default=1_000_000)
    parser.add_argument("--n-queries", type=int, default=1000)
    parser.add_argument("--float-queries", type=int, default=20)
    parser.add_argument("--query-bits", nargs="+", type=int, default=[4])
    parser.add_argument(
        "--quantizers",
        nargs="+",
        choices=["lloyd", "uniform"],
        default=["lloyd", "uniform"],
        help="AsymmetricNeighbors' query_quantizer values to time",
    )
    parser.add_argument("-k", "--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--path",
        default="auto",
        help="force our asymmetric kernels' path (e.g. 'avx2 lut', 'avx2'); "
        "default: measured per width",
    )
    parser.add_argument("--no-faiss", action="store_true")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU time, for 1-thread runs on a shared machine",
    )
    args = parser.parse_args()
    if any(n % 8 for n in args.nbits):
        parser.error("--nbits must be multiples of 8 (faiss's binary indexes)")
    _asym_kernels.set_asym_path(args.path)
    print(f"# cpu: {cpu_description()}")
    if not args.no_faiss:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        print(f"# faiss {faiss.__version__}, SIMD level: {_faiss_simd(faiss)}")
    print(f"clock: {args.clock}; median of {args.repeats} rounds, engines in turn")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for nbits in args.nbits:
        run(nbits, args, clock)


def _faiss_simd(faiss):
    try:
        return faiss.SIMDConfig.get_level_name()
    except AttributeError:
        return faiss.get_compile_options()


if __name__ == "__main__":
    main()
