"""Seconds per NPhash training step: our NumPy network against PyTorch on the CPU.

Same model (2 x [Dense(1024)-BN-ReLU], Dense(nbits)-BN-L2norm-tanh(sqrt(nbits) z)),
same batch of queries, same proxies, same loss (KL over the k nearest proxies,
gradient through the proxies), Adam, same number of threads. A step is:
sample proxies, find each query's k nearest proxies by cosine, forward the
queries and proxies as one batch, loss, backward, Adam update.

    python benchmarks/bench_train.py --threads 1 --nbits 64 128 --proxies 2000 10000

torch is imported only here and is optional (``pip install torch==2.13.0``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_hash._neural._layers import build_network
from sklearn_hash._neural._loss import proxy_targets, sample_proxies
from sklearn_hash._neural._nphash import _l2_normalize, network_loss
from sklearn_hash._neural._optim import Adam

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sift-images"


def load_training_set():
    if (DATA / "learn.npy").exists():
        return np.load(DATA / "learn.npy").astype(np.float32)
    from sklearn_hash.datasets import load_sift_skimage

    return load_sift_skimage().base


def numpy_steps(X, nbits, n_proxies, batch, k, n_steps, seed):
    rng = np.random.RandomState(seed)
    net = build_network(
        X.shape[1],
        (1024, 1024),
        nbits,
        np.sqrt(nbits),
        dtype=np.float32,
        random_state=rng,
    )
    opt = Adam(net.params, 1e-3)
    times = []
    for _ in range(n_steps):
        t0 = time.perf_counter()
        q = rng.choice(X.shape[0], batch, replace=False)
        pidx = sample_proxies(X.shape[0], n_proxies, rng)
        Xq, Xp = X[q], X[pidx]
        nb, p = proxy_targets(Xq, Xp, k, 1.0, q, pidx)
        network_loss(net, Xq, Xp, nb, p, 1.0)
        opt.step(net.grads)
        times.append(time.perf_counter() - t0)
    return times


def torch_steps(X, nbits, n_proxies, batch, k, n_steps, seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    d = X.shape[1]
    net = nn.Sequential(
        nn.Linear(d, 1024),
        nn.BatchNorm1d(1024),
        nn.ReLU(),
        nn.Linear(1024, 1024),
        nn.BatchNorm1d(1024),
        nn.ReLU(),
        nn.Linear(1024, nbits),
        nn.BatchNorm1d(nbits),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    beta = float(np.sqrt(nbits))
    Xt = torch.from_numpy(X)
    times = []
    for _ in range(n_steps):
        t0 = time.perf_counter()
        q = torch.from_numpy(rng.choice(X.shape[0], batch, replace=False))
        pidx = torch.from_numpy(sample_proxies(X.shape[0], n_proxies, rng))
        Xq, Xp = Xt[q], Xt[pidx]
        with torch.no_grad():
            cos = Xq @ Xp.T
            cos[(q[:, None] == pidx[None, :])] = -float("inf")
            top, nb = cos.topk(k, dim=1)
            p = torch.softmax(top, dim=1)
        z = net(torch.cat([Xq, Xp]))
        f = torch.tanh(beta * nn.functional.normalize(z, dim=1))
        fq, fp = f[:batch], f[batch:]
        sh = (fq[:, None, :] * fp[nb]).sum(-1) / (2 * nbits) + 0.5
        loss = nn.functional.kl_div(
            torch.log_softmax(sh, dim=1), p, reduction="batchmean"
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--nbits", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--proxies", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument(
        "--steps", type=int, default=7, help="steps timed; median of the last steps-2"
    )
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    from sklearn_hash._show_versions import cpu_description

    print(f"# cpu: {cpu_description()}")

    X = _l2_normalize(load_training_set())
    torch_ok = not args.no_torch
    if torch_ok:
        try:
            import torch
        except ImportError:
            torch_ok = False
            print("torch not installed: NumPy timings only")
        else:
            torch.set_num_threads(args.threads)
    print(
        f"threads={args.threads} batch={args.batch_size} k={args.k} "
        f"training set {X.shape}, cpu_count={os.cpu_count()}"
    )
    print("| nbits | proxies | ours s/step | torch s/step | ours / torch |")
    print("|---|---|---|---|---|")
    with threadpool_limits(limits=args.threads):
        for nbits in args.nbits:
            for n_proxies in args.proxies:
                ours = np.median(
                    numpy_steps(
                        X, nbits, n_proxies, args.batch_size, args.k, args.steps, 0
                    )[2:]
                )
                if torch_ok:
                    ref = np.median(
                        torch_steps(
                            X, nbits, n_proxies, args.batch_size, args.k, args.steps, 0
                        )[2:]
                    )
                    print(
                        f"| {nbits} | {n_proxies} | {ours:.3f} | {ref:.3f} "
                        f"| {ours / ref:.2f} |",
                        flush=True,
                    )
                else:
                    print(f"| {nbits} | {n_proxies} | {ours:.3f} | - | - |", flush=True)


if __name__ == "__main__":
    main()
