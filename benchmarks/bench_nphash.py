"""1-recall@10 of NeuralProxyHash next to LSH, ITQ and faiss IndexLSH, mean over seeds.

Protocol of the ANN literature and of ``bench_recall.py``: every hasher is
trained on ``learn.npy`` (``base.npy`` where there is no learn set), encodes
``base.npy`` and ``query.npy``; codes are searched exactly with
``HammingNeighbors`` (ties by smaller index, the same for every method, faiss
included: its codes come from ``sa_encode``), and 1-recall@10 is the fraction
of queries whose true Euclidean nearest neighbour (``gt_l2_100.npy``) is among
the 10 retrieved. Baselines are recomputed in the same run, per seed. Each
NeuralProxyHash fit also reports its wall and CPU time, steps (``t_``) and
stopping reason.

Recall table (several sets, e.g. the text set and SIFT)::

    python benchmarks/bench_nphash.py --data ../shared/data/debian-minilm \\
        ../shared/data/sift-images --seeds 0 1 2 --nbits 64 128 --threads 1

Step-budget / time table (one set, one nbits, NeuralProxyHash only)::

    python benchmarks/bench_nphash.py --data ../shared/data/debian-minilm \\
        --nbits 64 --seeds 0 --max-steps 50 200 1000 --methods nphash

Extra ``--set NAME=VALUE`` options override NeuralProxyHash parameters (e.g.
``--set n_proxies=2000 --set cosine_temperature=1.0``).
"""

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_hash import ITQ, LSH, HammingNeighbors, NeuralProxyHash
from sklearn_hash.metrics import one_recall_at_r

NPHASH = "NeuralProxyHash"
OURS = ("LSH(rotate, thresholds)", "ITQ")


def faiss_lsh_codes(learn, base, query, nbits, seed):
    import faiss

    rot = faiss.RandomRotationMatrix(learn.shape[1], nbits)
    rot.init(seed)
    index = faiss.IndexPreTransform(rot, faiss.IndexLSH(nbits, nbits, False, True))
    index.train(learn)
    return index.sa_encode(base), index.sa_encode(query)


def recall(base_codes, query_codes, gt, r=10):
    index = HammingNeighbors(n_neighbors=r).fit(np.ascontiguousarray(base_codes))
    retrieved = index.kneighbors(
        np.ascontiguousarray(query_codes), return_distance=False
    )
    return one_recall_at_r(gt, retrieved, r)


def methods(nbits, seed, nphash_params, names):
    out = {}
    if "nphash" in names:
        out[NPHASH] = lambda: NeuralProxyHash(
            nbits=nbits, random_state=seed, **nphash_params
        )
    if "lsh" in names:
        out[OURS[0]] = lambda: LSH(
            nbits=nbits, rotate=True, train_thresholds=True, random_state=seed
        )
    if "itq" in names:
        out[OURS[1]] = lambda: ITQ(nbits=nbits, random_state=seed)
    if "faiss" in names:
        out["faiss IndexLSH(rotate, thresholds)"] = "faiss"
    return out


def load(data, train):
    base = np.load(data / "base.npy").astype(np.float32)
    query = np.load(data / "query.npy").astype(np.float32)
    gt = np.load(data / "gt_l2_100.npy")
    learn_path = data / "learn.npy"
    use_learn = train == "learn" and learn_path.exists()
    learn = np.load(learn_path).astype(np.float32) if use_learn else base
    return learn, base, query, gt


def run_one(make, learn, base, query, gt, nbits, seed):
    """(recall, fit facts) of one method; facts are empty for the baselines."""
    if make == "faiss":
        bc, qc = faiss_lsh_codes(learn, base, query, nbits, seed)
        return recall(bc, qc, gt), {}
    hasher = make()
    wall, cpu = time.perf_counter(), time.process_time()
    hasher.fit(learn)
    facts = {
        "fit_s": time.perf_counter() - wall,
        "fit_cpu_s": time.process_time() - cpu,
    }
    if isinstance(hasher, NeuralProxyHash):
        facts.update(steps=hasher.t_, stop=hasher.stopping_reason_)
    return recall(hasher.transform(base), hasher.transform(query), gt), facts


def recall_table(results, sets, nbits_list, seeds):
    names = list(dict.fromkeys(name for _, _, name in results))
    print("\n| set | nbits | " + " | ".join(names) + " | NPhash - max(our LSH, ITQ) |")
    print("|---" * (len(names) + 3) + "|")
    for name_set in sets:
        for nbits in nbits_list:
            cells, means = [], {}
            for name in names:
                v = results.get((name_set, nbits, name))
                if v is not None:
                    means[name] = np.mean(v)
                cells.append(
                    "-" if v is None else f"{np.mean(v):.3f} ({np.std(v):.3f})"
                )
            ours = [means[n] for n in OURS if n in means]
            gap = (
                f"{means[NPHASH] - max(ours):+.3f}" if NPHASH in means and ours else "-"
            )
            print(f"| {name_set} | {nbits} | " + " | ".join(cells) + f" | {gap} |")
    print(f"\nmean (std) of 1-recall@10 over seeds {seeds}")


def fit_table(fits):
    print(
        "\n| set | nbits | seed | max_steps | steps | stop | fit wall s | fit CPU s "
        "| 1-recall@10 |"
    )
    print("|---" * 9 + "|")
    for (name_set, nbits, seed, budget), (r, facts) in fits.items():
        print(
            f"| {name_set} | {nbits} | {seed} | {budget} | {facts['steps']} | "
            f"{facts['stop']} | {facts['fit_s']:.1f} | {facts['fit_cpu_s']:.1f} | "
            f"{r:.3f} |"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = (
        Path(__file__).resolve().parents[2] / "shared" / "data" / "sift-images"
    )
    parser.add_argument("--data", nargs="+", default=[str(default_data)])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--nbits", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--train", choices=["learn", "base"], default="learn")
    parser.add_argument(
        "--methods", nargs="+", default=["nphash", "lsh", "itq", "faiss"]
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        nargs="+",
        default=None,
        help="step budgets of NeuralProxyHash (a fit per budget)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="NeuralProxyHash parameter override",
    )
    args = parser.parse_args(argv)

    nphash_params = {}
    for item in args.set:
        name, value = item.split("=", 1)
        nphash_params[name] = ast.literal_eval(value)
    budgets = args.max_steps or [nphash_params.get("max_steps", "default")]
    results, fits, sets = {}, {}, []
    with threadpool_limits(limits=args.threads):
        for data in map(Path, args.data):
            learn, base, query, gt = load(data, args.train)
            sets.append(data.name)
            print(
                f"# {data.name}: train {learn.shape}, base {base.shape}, query "
                f"{query.shape}; seeds {args.seeds}; threads {args.threads}; "
                f"NeuralProxyHash overrides {nphash_params or 'none (defaults)'}",
                flush=True,
            )
            for nbits in args.nbits:
                for seed in args.seeds:
                    for budget in budgets:
                        params = dict(nphash_params)
                        if budget != "default":
                            params["max_steps"] = budget
                        todo = methods(nbits, seed, params, args.methods)
                        if budget != budgets[0]:
                            todo = {NPHASH: todo[NPHASH]}
                        for name, make in todo.items():
                            r, facts = run_one(
                                make, learn, base, query, gt, nbits, seed
                            )
                            results.setdefault((data.name, nbits, name), []).append(r)
                            if name == NPHASH:
                                fits[data.name, nbits, seed, budget] = (r, facts)
                            print(
                                f"{data.name} nbits={nbits} seed={seed} {name}: "
                                f"1-recall@10 = {r:.3f} {facts}",
                                flush=True,
                            )
    if len(budgets) == 1:
        recall_table(results, sets, args.nbits, args.seeds)
    if fits:
        fit_table(fits)


if __name__ == "__main__":
    main()
