"""Tanimoto search over MOSES fingerprints: HammingNeighbors(metric="jaccard")
against FPSim2, RDKit's BulkTanimotoSimilarity and NumPy, side by side (issue 24).

The database is the MOSES training set (1,584,663 SMILES in the molsets 0.3.1
wheel) as RDKit Morgan fingerprints (radius 2, 2048 bits, packed little bit
order, as ``../shared/data/moses-morgan``); the queries are the 1,000 shared
scaffold-test molecules (or, without the shared data, 1,000 drawn from
``test_scaffolds`` with seed 0). Every engine searches the same queries in the
same run, one thread unless said: FPSim2 (``top_k`` and ``similarity`` with
``n_workers=1``, one SMILES per call), RDKit and NumPy on the first
``--n-queries-slow`` queries, ours with all queries in one call (and one
query per call for k=10). Per row: ms per query, queries/s, the ratio to
FPSim2 at the same k or threshold, and the database bytes the search covers
per second (n_base * 256 bytes per query / time per query) against this
machine's single-thread read bandwidth (``np.sum`` over a 1 GiB uint64 array).
Times are medians of ``--repeats`` runs (wall clock; the CPU/wall column shows
whether other jobs took the core). Checks printed: our fingerprints against the
shared ``base.npy``, ours against the NumPy reference (indices and distances
exactly, ties by smaller index), against the shared top 100 (at
``--n-base 250000``), across our algorithms and thread counts, and FPSim2's and
RDKit's similarities against ours by molecule id.

    python benchmarks/bench_tanimoto.py \\
        --molsets-wheel /tmp/wheels/molsets-0.3.1-py3-none-any.whl \\
        --n-base 250000                                  # quick run
    python benchmarks/bench_tanimoto.py \\
        --molsets-wheel /tmp/wheels/molsets-0.3.1-py3-none-any.whl  # full set

``--prepare-only`` builds the cache and stops (to build it apart from the
timed run).

Without ``--molsets-wheel`` the wheel is fetched with ``pip download
molsets==0.3.1 --no-deps`` into ``--cache`` (default ``benchmarks/.cache``,
git-ignored), where the fingerprints (.npy) and FPSim2's database (.h5) are
cached too: building the full set takes about 20 CPU-minutes, split over
``--n-procs`` processes. ``SKLEARN_HASH_TANIMOTO_PATH`` or ``--paths`` force
kernel paths (by default the AVX2 path is also run forced when the chosen
path is another, e.g. AVX-512), and the layout the estimators did not choose
at fit (dense or sparse) is run forced too, both at k=10 and t=0.7.

Needs RDKit and FPSim2 (``pip install rdkit fpsim2``).
"""

import argparse
import gzip
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
N_BYTES = 256  # 2048 bits
TRAIN_MEMBER = "moses/dataset/data/train.csv.gz"
SCAFFOLDS_MEMBER = "moses/dataset/data/test_scaffolds.csv.gz"
MORGAN = {"radius": 2, "fpSize": 2048}
CHUNK_SMILES = 10_000
CPU_FLAGS = ("popcnt", "avx2", "avx512f", "avx512_vpopcntdq")


# -- machine -------------------------------------------------------------------
def cpu_info():
    """CPU model name and which of CPU_FLAGS /proc/cpuinfo lists."""
    model, flags = platform.processor() or "?", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, {}
    ids = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name":
            model = value.strip()
        elif key in ("cpu family", "model", "stepping"):
            ids[key] = value.strip()
        elif key == "flags":
            flags = set(value.split())
            break
    # a virtual machine may name only the brand ("AMD EPYC"): family 25
    # model 1 is Zen 3 (Milan)
    model += " (" + ", ".join(f"{k} {v}" for k, v in ids.items()) + ")"
    return model, {f: f in flags for f in CPU_FLAGS}


def load_average():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def git_state():
    """HEAD of the sklearn_hash copy that runs, and whether it is modified."""
    import sklearn_hash

    root = Path(sklearn_hash.__file__).resolve().parents[1]

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "sklearn_hash")
        return f"{head}{' (sklearn_hash/ modified)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"


def read_bandwidth(repeats, n_bytes=1 << 30):
    """Single-thread read bandwidth in bytes/s: median time of np.sum and of
    np.bitwise_or.reduce over a 1 GiB uint64 array, the faster of the two."""
    a = np.ones(n_bytes // 8, dtype=np.uint64)
    out = {}
    for name, fn in (
        ("np.sum", np.sum),
        ("np.bitwise_or.reduce", np.bitwise_or.reduce),
    ):
        times = []
        for _ in range(max(repeats, 3)):
            t0 = time.perf_counter()
            fn(a)
            times.append(time.perf_counter() - t0)
        out[name] = a.nbytes / statistics.median(times)
    return out


# -- data ----------------------------------------------------------------------
def molsets_wheel(args):
    if args.molsets_wheel is not None:
        return Path(args.molsets_wheel)
    found = sorted(args.cache.glob("molsets-0.3.1-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "molsets==0.3.1"]
            + ["--no-deps", "-d", str(args.cache)],
            check=True,
        )
        found = sorted(args.cache.glob("molsets-0.3.1-*.whl"))
    return found[0]


def wheel_smiles(wheel, member):
    """The SMILES column of a MOSES csv.gz inside the wheel (header dropped)."""
    with zipfile.ZipFile(wheel) as z:
        lines = gzip.decompress(z.read(member)).decode().splitlines()
    assert lines[0] == "SMILES", lines[0]
    return lines[1:]


def morgan_generator():
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(**MORGAN)


def fingerprints(smiles):
    """(kept positions, packed uint8 (n_kept, 256) fingerprints, RDKit mols)
    of the parsable SMILES, as the shared moses-morgan set was made."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    gen = morgan_generator()
    kept, packed, mols = [], [], []
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        kept.append(i)
        packed.append(np.packbits(gen.GetFingerprintAsNumPy(mol), bitorder="little"))
        mols.append(mol)
    codes = np.array(packed, dtype=np.uint8).reshape(-1, N_BYTES)
    return np.array(kept, dtype=np.int64), codes, mols


def fingerprint_chunk(task):
    """Worker: fingerprints of SMILES rows [start, start + len) of train.csv,
    and FPSim2's (unsorted) database of the same molecules, ids = csv rows."""
    from FPSim2.io import create_db_file

    start, smiles, h5_path = task
    kept, codes, mols = fingerprints(smiles)
    rows = kept + start
    create_db_file(
        zip(mols, rows.tolist()),
        h5_path,
        mol_format="rdkit",
        fp_type="Morgan",
        fp_params=dict(MORGAN),
        sort_by_popcnt=False,
    )
    return rows, codes


def build_base(args, n_base, train, paths):
    """Fingerprints of the first n_base parsable train SMILES and FPSim2's
    .h5 of the same molecules, built with --n-procs processes."""
    from FPSim2.io.backends.pytables import merge_db_files, sort_db_file

    parts_dir = args.cache / f"parts_n{n_base}"
    parts_dir.mkdir(parents=True, exist_ok=True)
    rows, codes, h5_parts = [], [], []
    kept, next_row = 0, 0
    t0 = time.perf_counter()
    with multiprocessing.Pool(args.n_procs) as pool:
        while kept < n_base and next_row < len(train):
            # exactly the rows still needed if they all parse: never overshoot
            stop = min(next_row + n_base - kept, len(train))
            tasks = []
            for start in range(next_row, stop, CHUNK_SMILES):
                end = min(start + CHUNK_SMILES, stop)
                h5 = parts_dir / f"rows_{start}_{end}.h5"
                tasks.append((start, train[start:end], str(h5)))
                h5_parts.append(str(h5))
            for r, c in pool.imap(fingerprint_chunk, tasks):
                rows.append(r)
                codes.append(c)
                kept += len(r)
            next_row = stop
            print(
                f"  fingerprinted rows [0, {next_row}): {kept} parsable, "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )
    rows, codes = np.concatenate(rows), np.concatenate(codes)
    if len(h5_parts) == 1:
        sort_db_file(h5_parts[0])
        os.replace(h5_parts[0], paths["h5"])
    else:
        merge_db_files(h5_parts, str(paths["h5"]), sort_by_popcnt=True)
        for part in h5_parts:
            os.remove(part)
    parts_dir.rmdir()
    np.save(paths["rows"], rows)
    np.save(paths["codes"], codes)
    print(
        f"  built {len(codes)} fingerprints from {next_row} SMILES "
        f"({next_row - len(codes)} unparsable skipped) and {paths['h5'].name} in "
        f"{time.perf_counter() - t0:.0f} s with {args.n_procs} processes"
    )


def load_base(args, train):
    n_base = min(args.n_base or len(train), len(train))
    stem = args.cache / f"moses_train_morgan2_2048_n{n_base}"
    paths = {
        "codes": stem.with_suffix(".npy"),
        "rows": Path(f"{stem}_rows.npy"),
        "h5": Path(f"{stem}_fpsim2.h5"),
    }
    if not all(p.exists() for p in paths.values()):
        print(f"building the base of {n_base} fingerprints in {args.cache}")
        build_base(args, n_base, train, paths)
    codes, rows = np.load(paths["codes"]), np.load(paths["rows"])
    print(f"base: {len(codes)} fingerprints ({codes.nbytes / 1e6:.0f} MB), {stem}.*")
    return codes, rows, paths["h5"]


def check_against_shared(codes, shared_dir):
    base_path = shared_dir / "base.npy"
    if not base_path.exists():
        print("shared moses-morgan/base.npy absent: fingerprint check skipped")
        return None
    shared = np.load(base_path, mmap_mode="r")
    m = min(len(shared), len(codes))
    equal = bool(np.array_equal(codes[:m], shared[:m]))
    print(f"check: our first {m} fingerprints equal moses-morgan/base.npy: {equal}")
    return equal


def load_queries(args, wheel, shared_dir):
    """(query SMILES, packed fingerprints, source)."""
    if (shared_dir / "query.npy").exists():
        with gzip.open(shared_dir / "query_smiles.txt.gz", "rt") as f:
            smiles = f.read().split()
        codes = np.load(shared_dir / "query.npy")
        kept, ours, _ = fingerprints(smiles)
        same = len(kept) == len(smiles) and np.array_equal(ours, codes)
        print(
            f"check: fingerprints of query_smiles equal moses-morgan/query.npy: {same}"
        )
        return smiles, codes, "shared moses-morgan query.npy"
    scaffolds = wheel_smiles(wheel, SCAFFOLDS_MEMBER)
    order = np.random.default_rng(0).permutation(len(scaffolds))
    smiles, codes = [], []
    for start in range(0, len(order), 2 * args.n_queries):
        chunk = [scaffolds[i] for i in order[start : start + 2 * args.n_queries]]
        kept, c, _ = fingerprints(chunk)
        smiles += [chunk[i] for i in kept]
        codes.append(c)
        if len(smiles) >= args.n_queries:
            break
    codes = np.concatenate(codes)[: args.n_queries]
    return smiles[: args.n_queries], codes, "test_scaffolds, random (seed 0)"


# -- timing --------------------------------------------------------------------
class Row:
    """One measured configuration."""

    def __init__(self, engine, mode, n_queries, times, cpu, **extra):
        self.engine, self.mode, self.n_queries = engine, mode, n_queries
        self.seconds = statistics.median(times) / n_queries  # per query
        self.cpu_ratio = statistics.median(c / t for c, t in zip(cpu, times))
        self.load = load_average()
        self.extra = extra


def measure(fn, repeats):
    """(wall times, CPU times, last result) of `repeats` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, out


# -- NumPy reference -----------------------------------------------------------
def tanimoto_distance(c, u):
    """``(u - c) / u`` in float64, 0 where ``u == 0``: scikit-learn's jaccard
    formula, and the estimator's. Distinct fractions c / u with u <= 2048 differ
    by more than 2e-7, so the float64 values order them exactly."""
    c, u = np.asarray(c, np.float64), np.asarray(u, np.float64)
    return np.where(u == 0, 0.0, (u - c) / np.where(u == 0, 1.0, u))


def numpy_counts(db64, pop, q, block=32768):
    """(c, u) of one packed query against every database code."""
    q64 = q.view(np.uint64)
    qpop = int(np.bitwise_count(q64).sum())
    c = np.empty(len(db64), dtype=np.int32)
    for s in range(0, len(db64), block):
        c[s : s + block] = np.bitwise_count(db64[s : s + block] & q64).sum(
            axis=1, dtype=np.int32
        )
    return c, pop + qpop - c


def numpy_kneighbors(db64, pop, queries, k):
    dist = np.empty((len(queries), k))
    ind = np.empty((len(queries), k), dtype=np.int64)
    for i, q in enumerate(queries):
        d = tanimoto_distance(*numpy_counts(db64, pop, q))
        kth = np.partition(d, k - 1)[k - 1]
        cand = np.flatnonzero(d <= kth)  # all ties of the k-th distance
        best = cand[np.lexsort((cand, d[cand]))[:k]]
        dist[i], ind[i] = d[best], best
    return dist, ind


def numpy_radius(db64, pop, queries, radius):
    out = []
    for q in queries:
        d = tanimoto_distance(*numpy_counts(db64, pop, q))
        hits = np.flatnonzero(d <= radius)
        hits = hits[np.lexsort((hits, d[hits]))]
        out.append((d[hits], hits))
    return out


def exact_counts(db64, pop, queries, ids):
    """(c, u) of each query with the database codes ids[i] (any shape)."""
    q64 = queries.view(np.uint64)
    c = np.bitwise_count(db64[ids] & q64[:, None, :]).sum(axis=-1, dtype=np.int64)
    qpop = np.bitwise_count(q64).sum(axis=1, dtype=np.int64)
    return c, pop[ids] + qpop[:, None] - c


# -- engines -------------------------------------------------------------------
def run_fpsim2(args, h5, smiles, rows_to_index, ks, thresholds, log):
    from FPSim2 import FPSim2Engine

    t0 = time.perf_counter()
    engine = FPSim2Engine(str(h5))
    log(f"FPSim2: loaded {h5.name} in {time.perf_counter() - t0:.1f} s")
    repeats = args.fpsim2_repeats or args.repeats
    rows, results = [], {}

    def convert(res):
        # FPSim2 returns (mol_id, coeff); ids are train.csv rows
        return rows_to_index(res["mol_id"].astype(np.int64)), res["coeff"].copy()

    for k in ks:
        t, c, out = measure(
            lambda k=k: [
                engine.top_k(s, k=k, threshold=0.0, n_workers=1) for s in smiles
            ],
            repeats,
        )
        rows.append(Row("FPSim2 top_k", f"k={k}", len(smiles), t, c, threads=1))
        results[f"k={k}"] = [convert(r) for r in out]
        log(f"  k={k}: {rows[-1].seconds * 1e3:.2f} ms/query")
    for thr in thresholds:
        t, c, out = measure(
            lambda thr=thr: [engine.similarity(s, thr, n_workers=1) for s in smiles],
            repeats,
        )
        rows.append(Row("FPSim2 similarity", f"t={thr}", len(smiles), t, c, threads=1))
        results[f"t={thr}"] = [convert(r) for r in out]
        log(f"  t={thr}: {rows[-1].seconds * 1e3:.2f} ms/query")
    return rows, results


def run_rdkit(args, base, smiles, k, log):
    from rdkit import Chem, DataStructs

    t0 = time.perf_counter()
    fps = [DataStructs.CreateFromFPSText(row.tobytes().hex()) for row in base]
    log(f"RDKit: {len(fps)} ExplicitBitVect built in {time.perf_counter() - t0:.0f} s")
    gen = morgan_generator()
    queries = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    idx = np.arange(len(fps))

    def search():
        out = []
        for q in queries:
            sim = np.array(DataStructs.BulkTanimotoSimilarity(q, fps))
            kth = np.partition(-sim, k - 1)[k - 1]
            cand = idx[-sim <= kth]
            best = cand[np.lexsort((cand, -sim[cand]))[:k]]
            out.append((sim[best], best))
        return out

    t, c, out = measure(search, args.repeats)
    row = Row("RDKit BulkTanimotoSimilarity", f"k={k}", len(queries), t, c, threads=1)
    return row, out


def run_numpy(args, db64, pop, queries, ks, radii, log):
    rows, results = [], {}
    for k in ks:
        t, c, out = measure(
            lambda k=k: numpy_kneighbors(db64, pop, queries, k), args.repeats
        )
        rows.append(Row("NumPy", f"k={k}", len(queries), t, c, threads=1))
        results[f"k={k}"] = out
        log(f"  NumPy k={k}: {rows[-1].seconds * 1e3:.0f} ms/query")
    for thr, radius in radii.items():
        t, c, out = measure(
            lambda r=radius: numpy_radius(db64, pop, queries, r), args.repeats
        )
        rows.append(Row("NumPy", f"t={thr}", len(queries), t, c, threads=1))
        results[f"t={thr}"] = out
        log(f"  NumPy t={thr}: {rows[-1].seconds * 1e3:.0f} ms/query")
    return rows, results


def fit_ours(estimator, base, algorithm, log):
    """The fitted estimator and its layout ("dense" / "sparse", as chosen at
    fit; "-" where the package has no layouts)."""
    t0 = time.perf_counter()
    est = estimator(
        n_neighbors=10, metric="jaccard", algorithm=algorithm, n_jobs=1
    ).fit(base)
    seconds = time.perf_counter() - t0
    index = getattr(est, "_tanimoto", None)
    layout = getattr(index, "layout", "-")
    timed = getattr(index, "sample_seconds", {})
    log(
        f"ours algorithm={algorithm}: fit {seconds:.2f} s, layout {layout} "
        f"(sample k-NN at fit, ms: "
        + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in timed.items())
        + f"), index {getattr(est, 'index_nbytes_', 0) / 1e6:.0f} MB, "
        f"load {load_average()}"
    )
    return est, layout


def run_ours(est, queries, ks, radii, repeats, label, threads, log):
    rows, results = [], {}
    for k in ks:
        t, c, out = measure(lambda k=k: est.kneighbors(queries, n_neighbors=k), repeats)
        rows.append(Row(label, f"k={k}", len(queries), t, c, threads=threads))
        results[f"k={k}"] = out
        log(f"  {label} j={threads} k={k}: {rows[-1].seconds * 1e3:.3f} ms/query")
    for thr, radius in radii.items():
        t, c, out = measure(
            lambda r=radius: est.radius_neighbors(queries, radius=r, sort_results=True),
            repeats,
        )
        rows.append(Row(label, f"t={thr}", len(queries), t, c, threads=threads))
        results[f"t={thr}"] = list(zip(*out))
        log(f"  {label} j={threads} t={thr}: {rows[-1].seconds * 1e3:.3f} ms/query")
    return rows, results


def one_per_call(est, queries, k):
    out = [
        est.kneighbors(queries[i : i + 1], n_neighbors=k) for i in range(len(queries))
    ]
    return np.vstack([d for d, _ in out]), np.vstack([i for _, i in out])


# -- checks --------------------------------------------------------------------
def same_knn(a, b, n=None):
    (da, ia), (db, ib) = a, b
    n = len(da) if n is None else n
    return np.array_equal(ia[:n], ib[:n]) and np.array_equal(da[:n], db[:n])


def same_radius(a, b, n=None):
    n = len(a) if n is None else n
    return all(
        np.array_equal(da, db) and np.array_equal(ia, ib)
        for (da, ia), (db, ib) in zip(a[:n], b[:n])
    )


def compare_fpsim2(fp_res, ours, db64, pop, queries, thresholds, log):
    """FPSim2 against ours by molecule id, with FPSim2's float32 coefficient."""
    notes = []
    for key, fres in fp_res.items():
        if key.startswith("k="):
            dist, ind = ours[key]
            c, u = exact_counts(db64, pop, queries, ind)
            ours32 = (c.astype(np.float32) / u.astype(np.float32)).astype(np.float32)
            same_sims = sum(
                np.array_equal(np.sort(s)[::-1], o) for (_, s), o in zip(fres, ours32)
            )
            same_ids = sum(
                set(i.tolist()) == set(o.tolist()) for (i, _), o in zip(fres, ind)
            )
            # ids differing only inside a tie at the k-th similarity
            tie_only = sum(
                set(i.tolist()) != set(o.tolist())
                and np.array_equal(np.sort(s)[::-1], o32)
                and all(
                    s[j] == o32[-1] for j, x in enumerate(i) if x not in set(o.tolist())
                )
                for (i, s), o, o32 in zip(fres, ind, ours32)
            )
            line = (
                f"FPSim2 {key}: similarities equal ours (float32 c/u) for "
                f"{same_sims}/{len(fres)} queries; same ids for {same_ids}, "
                f"ids differing only within a tie at the k-th similarity for {tie_only}"
            )
        else:
            thr = float(key[2:])
            c_fp = np.array([len(i) for i, _ in fres])
            c_ours = np.array([len(i) for _, i in ours[key]])
            diff = np.flatnonzero(c_fp != c_ours)
            # pairs one engine returns and the other not: exact c/u of each
            only = {"FPSim2": [], "ours": []}
            for q in diff:
                fp_ids, our_ids = fres[q][0], ours[key][q][1]
                for name, ids in (
                    ("FPSim2", np.setdiff1d(fp_ids, our_ids)),
                    ("ours", np.setdiff1d(our_ids, fp_ids)),
                ):
                    cc, uu = exact_counts(db64, pop, queries[q : q + 1], ids[None, :])
                    only[name] += [f"{a}/{b}" for a, b in zip(cc[0], uu[0])]
            line = (
                f"FPSim2 t={thr}: hits {c_fp.sum()} (FPSim2) vs {c_ours.sum()} (ours), "
                f"mean {c_fp.mean():.2f} vs {c_ours.mean():.2f} a query; "
                f"{len(diff)} queries differ"
                + "".join(
                    f"; {len(v)} pairs only {name} returns, exact c/u "
                    f"{sorted(set(v))[:8]}"
                    for name, v in only.items()
                    if v
                )
            )
        log(line)
        notes.append(line)
    return notes


# -- report --------------------------------------------------------------------
def table(rows, reference, covered_bytes, bandwidth):
    head = (
        "| engine | threads | query | queries | ms/query | q/s | x FPSim2 | "
        "covered GB/s | / read BW | CPU/wall | load avg |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        ref = reference.get(r.mode)
        ratio = f"{ref / r.seconds:.1f}" if ref else "-"
        gbs = covered_bytes / r.seconds
        lines.append(
            f"| {r.engine} | {r.extra.get('threads', 1)} | {r.mode} | "
            f"{r.n_queries} | {r.seconds * 1e3:.3f} | {1 / r.seconds:,.0f} | "
            f"{ratio} | {gbs / 1e9:.1f} | {gbs / bandwidth:.2f} | "
            f"{r.cpu_ratio:.2f} | {r.load} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molsets-wheel", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / "benchmarks" / ".cache")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(
            os.environ.get("SKLEARN_HASH_DATA", REPO.parent / "shared" / "data")
        ),
    )
    parser.add_argument("--n-base", type=int, default=None, help="default: all")
    parser.add_argument("--n-queries", type=int, default=1000)
    parser.add_argument("--n-queries-slow", type=int, default=10)
    parser.add_argument("--n-queries-single", type=int, default=100)
    parser.add_argument("--n-procs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fpsim2-repeats", type=int, default=None)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--algorithms", nargs="+", default=["brute", "bitbound", "auto"]
    )
    parser.add_argument(
        "--engines", nargs="+", default=["fpsim2", "rdkit", "numpy", "ours"]
    )
    parser.add_argument(
        "--paths",
        nargs="*",
        default=None,
        help="kernel paths also run forced (k=10, t=0.7, 'auto' algorithm, "
        "1 thread); default: avx2 when the chosen path is another",
    )
    parser.add_argument("--json", type=Path, default=None, help="write rows here")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="build the cached fingerprints and FPSim2 database, then stop",
    )
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    shared_dir = args.data / "moses-morgan"

    def log(msg):
        print(msg, flush=True)

    import FPSim2
    import rdkit

    import sklearn_hash
    from sklearn_hash import HammingNeighbors
    from sklearn_hash.neighbors import _tanimoto_kernels as tk

    if args.prepare_only:
        wheel = molsets_wheel(args)
        check_against_shared(
            load_base(args, wheel_smiles(wheel, TRAIN_MEMBER))[0], shared_dir
        )
        return

    model, flags = cpu_info()
    log(f"CPU: {model}; {os.cpu_count()} CPUs; flags: {flags}")
    log(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"rdkit {rdkit.__version__}, FPSim2 {FPSim2.__version__}, "
        f"sklearn_hash {sklearn_hash.__version__} at "
        f"{Path(sklearn_hash.__file__).parent} ({git_state()})"
    )
    log(
        f"Tanimoto path for 256-byte codes: {tk.tanimoto_path(N_BYTES)} "
        f"(forced: {tk.forced_tanimoto_path()}); measured ns a code: "
        + ", ".join(
            f"{p} {ns:.1f}" for p, ns in tk.tanimoto_path_timings(N_BYTES).items()
        )
    )
    log(f"load average at start: {load_average()}")

    bw = read_bandwidth(args.repeats)
    bandwidth = max(bw.values())
    log(
        "single-thread read bandwidth (1 GiB uint64, median): "
        + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bw.items())
    )

    wheel = molsets_wheel(args)
    train = wheel_smiles(wheel, TRAIN_MEMBER)
    log(f"{wheel.name}: {len(train)} train SMILES")
    base, base_rows, h5 = load_base(args, train)
    check_against_shared(base, shared_dir)
    q_smiles, queries, q_source = load_queries(args, wheel, shared_dir)
    q_smiles, queries = q_smiles[: args.n_queries], queries[: args.n_queries]
    log(f"queries: {len(queries)} from {q_source}")

    db64 = base.view(np.uint64)
    pop = np.bitwise_count(db64).sum(axis=1, dtype=np.int64)
    qpop = np.bitwise_count(queries.view(np.uint64)).sum(axis=1)
    log(f"mean popcount: base {pop.mean():.1f}, queries {qpop.mean():.1f} of 2048")
    radii = {t: round(1.0 - t, 12) for t in args.thresholds}
    sorted_pop = np.sort(pop)
    for t in args.thresholds:
        lo = np.searchsorted(sorted_pop, np.ceil(t * qpop), side="left")
        hi = np.searchsorted(sorted_pop, np.floor(qpop / t), side="right")
        log(
            f"BitBound window at t={t} (radius {radii[t]}): "
            f"{np.mean(hi - lo) / len(base):.1%} of the base a query, mean"
        )
    n_slow = min(args.n_queries_slow, len(queries))
    rows, notes, checks = [], [], []

    # query fingerprinting: what FPSim2 pays per call on top of the search
    from rdkit import Chem

    gen = morgan_generator()
    t, c, _ = measure(
        lambda: [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in q_smiles], 1
    )
    per_query = statistics.median(t) / len(q_smiles)
    log(f"query SMILES -> fingerprint: {per_query * 1e3:.3f} ms")

    fp_res = {}
    if "fpsim2" in args.engines:
        log(f"FPSim2, {len(q_smiles)} queries, load {load_average()}")
        fp_rows, fp_res = run_fpsim2(
            args,
            h5,
            q_smiles,
            lambda ids: np.searchsorted(base_rows, ids),
            args.k,
            args.thresholds,
            log,
        )
        rows += fp_rows
    reference = {r.mode: r.seconds for r in rows if r.engine.startswith("FPSim2")}

    np_res = {}
    if "numpy" in args.engines:
        log(f"NumPy, {n_slow} queries, load {load_average()}")
        np_rows, np_res = run_numpy(
            args, db64, pop, queries[:n_slow], args.k, radii, log
        )
        rows += np_rows

    rd_res = None
    if "rdkit" in args.engines:
        log(f"RDKit, {n_slow} queries, load {load_average()}")
        rd_row, rd_res = run_rdkit(args, base, q_smiles[:n_slow], 10, log)
        rows.append(rd_row)
        log(f"  RDKit k=10: {rd_row.seconds * 1e3:.0f} ms/query")

    ours_all = {}
    if "ours" in args.engines:
        layouts = set()
        for algorithm in args.algorithms:
            est, layout = fit_ours(HammingNeighbors, base, algorithm, log)
            layouts.add(layout)
            for j in args.threads:
                est.set_params(n_jobs=j)
                label = f"ours {algorithm} ({layout})"
                r, res = run_ours(
                    est, queries, args.k, radii, args.repeats, label, j, log
                )
                rows += r
                ours_all[(algorithm, j)] = res
            if 10 in args.k and args.n_queries_single:
                est.set_params(n_jobs=1)
                nq = min(args.n_queries_single, len(queries))
                t, c, out = measure(
                    lambda est=est, nq=nq: one_per_call(est, queries[:nq], 10),
                    args.repeats,
                )
                rows.append(
                    Row(
                        f"ours {algorithm} ({layout}), one query a call",
                        "k=10",
                        nq,
                        t,
                        c,
                        threads=1,
                    )
                )
                log(f"  one query a call k=10: {rows[-1].seconds * 1e3:.3f} ms/query")
                ours_all[(algorithm, "single")] = {"k=10": out}
        chosen = tk.tanimoto_path(N_BYTES)
        paths = args.paths
        if paths is None:
            avx2 = tk.tanimoto_path_available("avx2")
            paths = ["avx2"] if chosen != "avx2" and avx2 else []
        extra = [("path", p) for p in paths]
        extra += [("layout", x) for x in ("dense", "sparse") if x not in layouts]
        for kind, value in extra:
            if kind == "path":
                tk.set_tanimoto_path(value)
                est, layout = fit_ours(HammingNeighbors, base, "auto", log)
            else:
                os.environ["SKLEARN_HASH_TANIMOTO_LAYOUT"] = value
                est, layout = fit_ours(HammingNeighbors, base, "auto", log)
                del os.environ["SKLEARN_HASH_TANIMOTO_LAYOUT"]
            label = f"ours auto ({layout}), {kind} {value} forced"
            log(label)
            r, res = run_ours(
                est,
                queries,
                [k for k in args.k if k == 10],
                {t: r for t, r in radii.items() if t == 0.7},
                args.repeats,
                label,
                1,
                log,
            )
            rows += r
            ours_all[(f"{kind} {value}", 1)] = res
            tk.set_tanimoto_path("auto")

    # -- checks
    if ours_all:
        first_key = next(iter(ours_all))
        first = ours_all[first_key]
        for key, res in ours_all.items():
            for mode, out in res.items():
                ok = (same_knn if mode.startswith("k=") else same_radius)(
                    out, first[mode], n=None if key[1] != "single" else len(out[0])
                )
                if not ok:
                    checks.append(
                        f"MISMATCH: ours {key} {mode} differs from {first_key}"
                    )
        checks.append(
            f"ours: {len(ours_all)} configurations (algorithms x threads, one query "
            f"a call, forced paths) identical on all their queries: "
            f"{not any(c.startswith('MISMATCH') for c in checks)}"
        )
        for mode, ref in np_res.items():
            fn = same_knn if mode.startswith("k=") else same_radius
            checks.append(
                f"ours {first_key} {mode} equals NumPy (indices and distances, "
                f"{n_slow} queries): {fn(first[mode], ref, n=n_slow)}"
            )
        gt_path = shared_dir / "gt_tanimoto_100.npy"
        if 100 in args.k and len(base) == 250_000 and gt_path.exists():
            gt = np.load(gt_path)
            ok = np.array_equal(first["k=100"][1], gt[: len(queries)])
            checks.append(
                f"ours k=100 indices equal moses-morgan gt_tanimoto_100: {ok}"
            )
        if rd_res is not None and "k=10" in first:
            d, i = first["k=10"]
            ok = all(
                # RDKit's similarity is c / u in double, ours (u - c) / u: one
                # rounding apart
                np.array_equal(ri, i[q])
                and np.allclose(rs, 1.0 - d[q], rtol=0, atol=1e-15)
                for q, (rs, ri) in enumerate(rd_res)
            )
            checks.append(
                f"RDKit BulkTanimotoSimilarity top 10 (ids; similarities to 1e-15) "
                "equals "
                f"ours on {len(rd_res)} queries: {ok}"
            )
        if fp_res:
            d, i = first.get("k=10", (None, None))
            if i is not None:
                fi, fs = fp_res["k=10"][0]
                c, u = exact_counts(db64, pop, queries[:1], i[:1])
                log("first query, top 10: id, FPSim2 (id, coeff), ours (id, c/u)")
                for r in range(10):
                    log(
                        f"  {r + 1:2d}: FPSim2 ({fi[r]}, {fs[r]:.6f})  ours "
                        f"({i[0, r]}, {c[0, r]}/{u[0, r]} = {c[0, r] / u[0, r]:.6f})"
                    )
            notes += compare_fpsim2(
                fp_res, first, db64, pop, queries, args.thresholds, log
            )
    for line in checks:
        log("check: " + line)

    covered = len(base) * N_BYTES
    log(
        f"\n{len(base)} fingerprints x 256 bytes = {covered / 1e6:.0f} MB covered a "
        f"query; read bandwidth {bandwidth / 1e9:.1f} GB/s; load at end "
        f"{load_average()}\n"
    )
    print(table(rows, reference, covered, bandwidth))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cpu": model,
                    "flags": flags,
                    "path": tk.tanimoto_path(N_BYTES),
                    "n_base": len(base),
                    "bandwidth": bw,
                    "checks": checks,
                    "notes": notes,
                    "rows": [
                        {
                            "engine": r.engine,
                            "mode": r.mode,
                            "n_queries": r.n_queries,
                            "ms": r.seconds * 1e3,
                            "cpu_ratio": r.cpu_ratio,
                            "load": r.load,
                            **r.extra,
                        }
                        for r in rows
                    ],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
