"""NeuralProxyHash trained for asymmetric scoring (issue 22): does it win?

``AsymmetricNeighbors`` ranks database codes ``b`` by the asymmetric inner
product ``w . (2 b - 1)`` with the query's real values
``w = hasher.decision_function(query)`` (for NeuralProxyHash, the
BatchNorm output ``z`` before L2Normalize and tanh). The package's loss
instead treats both sides as relaxed codes ``tanh(beta u)``, ``u = z / ||z||``,
in the Hamming logits ``Fq . Fp / (2 nbits tau_h)``. The variants below train
for the asymmetric score; all keep every other default (linear network, ITQ
initialisation, early stopping on a held-out validation set):

- ``default``: the package as is (``Fq = Fp = tanh(beta u)``; the validation
  recall that picks the weights and stops training is the Hamming one);
- ``default+asym-val``: the same loss, validation by the asymmetric ranking
  (a control: how much the selection criterion alone changes);
- ``ste``: proxies binarized by a straight-through estimator: forward
  ``Fp = sign(u)``, backward the gradient of ``tanh(beta u)`` (the relaxed
  STE); queries un-binarized ``Fq = tanh(beta u)``; asymmetric validation;
- ``ste-identity``: ``ste`` with the identity STE (backward ``beta``, the
  slope of ``tanh(beta u)`` at 0, without its saturation);
- ``ste-linear``: ``ste`` with the real query ``Fq = sqrt(nbits) u`` (entries
  of root mean square 1, the scale the Hamming temperature assumes): its
  logits rank proxies exactly as ``w . (2 b - 1)`` does;
- ``itq``: a reference, not a training variant: ``ITQ(nbits)`` fitted on
  ``learn`` (unit-norm vectors here), the codes NeuralProxyHash starts from.

The asymmetric validation recall ranks the validation database by
``z_q . sign(z_b)`` in float (exact); the evaluation uses
``AsymmetricNeighbors(FrozenEstimator(fitted), query_bits=4)``. The variants
are defined here by replacing ``sklearn_hash._neural._nphash.network_loss``
(queries and proxies still go through the network as one batch).

1-recall@10: the fraction of queries whose true nearest neighbour
(``gt_l2_100.npy[:, 0]``) is among the 10 returned. Trained on ``learn``,
database ``base``, queries ``query``. Mean (std) over seeds. Run from the
repository root on one core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_nphash_asymmetric.py --seeds 0 1 2 3 4
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn_hash._neural._nphash as nphash_module
from sklearn_hash import ITQ, AsymmetricNeighbors, HammingNeighbors, NeuralProxyHash
from sklearn_hash._neural._loss import kl_proxy_loss
from sklearn_hash._show_versions import cpu_description
from sklearn_hash.metrics import one_recall_at_r

# variant: (query side, proxy side, validation ranking); None: the ITQ reference
VARIANTS = {
    "default": ("tanh", "tanh", "hamming"),
    "default+asym-val": ("tanh", "tanh", "asymmetric"),
    "ste": ("tanh", "sign-ste-tanh", "asymmetric"),
    "ste-identity": ("tanh", "sign-ste-identity", "asymmetric"),
    "ste-linear": ("linear", "sign-ste-tanh", "asymmetric"),
    "itq": None,
}
PACKAGE_NETWORK_LOSS = nphash_module.network_loss
# the variant of the fit under way (read by network_loss and the validation)
CURRENT = {"variant": "default"}


def variant_network_loss(
    network, Xq, Xp, neighbors, p, hamming_temperature, backward=True
):
    """``network_loss`` of the current variant: one forward pass, then the
    relaxations of each side written out, and the backward pass by hand."""
    query_side, proxy_side, _ = VARIANTS[CURRENT["variant"]]
    if query_side == proxy_side == "tanh":
        return PACKAGE_NETWORK_LOSS(
            network, Xq, Xp, neighbors, p, hamming_temperature, backward
        )
    layers = network.layers
    beta = layers[-1].beta
    n_queries = Xq.shape[0]
    # up to L2Normalize: u = z / ||z||
    U = network.forward(
        np.concatenate([Xq, Xp]), training=True, n_layers=len(layers) - 1
    )
    Uq, Up = U[:n_queries], U[n_queries:]
    nbits = U.shape[1]
    if query_side == "linear":
        Fq = Uq * U.dtype.type(np.sqrt(nbits))
    else:
        Fq = np.tanh(beta * Uq)
    Fp = np.where(Up > 0, 1, -1).astype(U.dtype)
    loss, dFq, dFp = kl_proxy_loss(Fq, Fp, neighbors, p, hamming_temperature)
    if not backward:
        return loss
    if query_side == "linear":
        dUq = dFq * U.dtype.type(np.sqrt(nbits))
    else:
        dUq = dFq * (beta * (1 - Fq * Fq))
    if proxy_side == "sign-ste-tanh":
        Tp = np.tanh(beta * Up)
        dUp = dFp * (beta * (1 - Tp * Tp))
    else:
        dUp = dFp * U.dtype.type(beta)
    grad = np.concatenate([dUq, dUp])
    for i in range(len(layers) - 2, -1, -1):
        grad = layers[i].backward(grad, need_input_grad=i > 0)
    return loss


nphash_module.network_loss = variant_network_loss


class VariantNeuralProxyHash(NeuralProxyHash):
    """NeuralProxyHash whose early stopping may use the asymmetric ranking."""

    def _validation_recall(self, Xtrain, validation):
        if VARIANTS[CURRENT["variant"]][2] == "hamming":
            return super()._validation_recall(Xtrain, validation)
        queries, db_pos, true_nn = validation
        db = np.where(self._encode_normalized(Xtrain[db_pos]) > 0, 1.0, -1.0)
        scores = self._encode_normalized(queries) @ db.T.astype(np.float32)
        r = min(10, db_pos.size)
        retrieved = np.argpartition(-scores, r - 1, axis=1)[:, :r]
        return one_recall_at_r(true_nn, retrieved, r)


def run_one(variant, nbits, seed, learn, base, query, gt, temperature_factor):
    CURRENT["variant"] = variant
    if variant == "itq":
        hasher = ITQ(nbits, random_state=seed)
    else:
        hasher = VariantNeuralProxyHash(
            nbits,
            random_state=seed,
            hamming_temperature=temperature_factor * 2 / nbits,
        )
    wall, cpu = time.perf_counter(), time.process_time()
    hasher.fit(learn)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    hamming = (
        HammingNeighbors(n_neighbors=10)
        .fit(hasher.transform(base))
        .score(hasher.transform(query), gt)
    )
    asymmetric = (
        AsymmetricNeighbors(FrozenEstimator(hasher), n_neighbors=10, query_bits=4)
        .fit(base)
        .score(query, gt)
    )
    return {
        "hamming": hamming,
        "asymmetric": asymmetric,
        "fit_cpu_s": cpu,
        "fit_wall_s": wall,
        "steps": getattr(hasher, "t_", 0),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = (
        Path(__file__).resolve().parents[2] / "shared" / "data" / "debian-minilm"
    )
    parser.add_argument("--data", default=str(default_data))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--nbits", type=int, nargs="+", default=[64, 128])
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS)
    )
    parser.add_argument(
        "--hamming-temperature-factor",
        type=float,
        default=1.0,
        help="hamming_temperature of every variant, in units of the default 2 / nbits",
    )
    args = parser.parse_args(argv)

    data = Path(args.data)
    learn, base, query = (
        np.load(data / f"{name}.npy").astype(np.float32)
        for name in ("learn", "base", "query")
    )
    gt = np.load(data / "gt_l2_100.npy")[:, :1]
    print(f"# cpu: {cpu_description()}")
    print(
        f"# {data.name}: learn {learn.shape}, base {base.shape}, query "
        f"{query.shape}; seeds {args.seeds}; hamming_temperature "
        f"{args.hamming_temperature_factor} * 2 / nbits",
        flush=True,
    )
    results = {}
    for nbits in args.nbits:
        for seed in args.seeds:
            for variant in args.variants:
                row = run_one(
                    variant,
                    nbits,
                    seed,
                    learn,
                    base,
                    query,
                    gt,
                    args.hamming_temperature_factor,
                )
                results.setdefault((nbits, variant), []).append(row)
                print(f"nbits={nbits} seed={seed} {variant}: {row}", flush=True)

    print(
        "\n| nbits | variant | Hamming | asymmetric (query_bits=4) "
        "| asymmetric - default | steps | fit CPU s |"
    )
    print("|---" * 7 + "|")
    for nbits in args.nbits:
        reference = [r["asymmetric"] for r in results.get((nbits, "default"), [])]
        for variant in args.variants:
            rows = results[nbits, variant]

            def cell(key, rows=rows, fmt=".3f"):
                values = [r[key] for r in rows]
                return f"{np.mean(values):{fmt}} ({np.std(values):{fmt}})"

            gain = "-"
            if reference and variant not in ("default", "itq"):
                # paired by seed: same queries, same split, same ITQ start
                diff = np.array([r["asymmetric"] for r in rows]) - reference
                gain = f"{diff.mean():+.3f} ({diff.std():.3f})"
            print(
                f"| {nbits} | {variant} | {cell('hamming')} | {cell('asymmetric')} "
                f"| {gain} | {cell('steps', fmt='.0f')} "
                f"| {cell('fit_cpu_s', fmt='.1f')} |"
            )
    print(
        f"\n1-recall@10, mean (std) over seeds {args.seeds}; the gain is paired by seed"
    )


if __name__ == "__main__":
    main()
