"""NoisyMLPClassifier speed on 60,000 x 784 float32, one hidden layer of 256, 10 classes, batch 128.

Goal (measured side by side in this run): one epoch of noisy training (noise on all
203,530 parameters at every step) within 2x of one epoch of scikit-learn's
MLPClassifier(solver="sgd"), which adds no noise. The table prints the machine's GEMM
rate on the step's own products (in X's type: the kernel computes the gradient in it)
and the fraction of it each epoch achieves, and what 0.65x MLPClassifier would need
next to the products-plus-noise floor. The normals are drawn on one thread: numba
threads beside OpenBLAS's spinning threads made the epoch 5x slower (measured). Opacus (DP-SGD with per-example
clipping in PyTorch) is timed too when it is installed.

Run: ``python benchmarks/bench_mlp.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import (  # noqa: E402
    draw_normals,
    grid_for,
    best_time,
    interleaved_best_times,
    machine_line,
    memory_bandwidth,
    report,
    synthetic_mnist,
)


def _opacus_epoch(X, y, hidden=256, batch_size=128):
    """One DP-SGD epoch with Opacus, or None when it is not installed."""
    try:
        import torch
        from opacus import PrivacyEngine
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))),
        batch_size=batch_size)
    model, optimizer, loader = PrivacyEngine().make_private(
        module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()

    return best_time(epoch, 1)


def _gemm_rate(X, sizes, batch_size=128, steps=100):
    """The machine's GEMM rate (flop/s) on one step's three products, in X's type, BLAS threads as configured."""
    rng = np.random.default_rng(0)
    batch = np.ascontiguousarray(X[:batch_size])
    layers = [rng.standard_normal((a, b)).astype(X.dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    activations = [batch]
    for W in layers:
        activations.append(activations[-1] @ W)
    flops = 0.0
    for W in layers:
        flops += 3 * 2.0 * batch_size * W.size

    def step_products():
        for _ in range(steps):
            inputs = batch
            for W in layers:  # forward
                inputs = inputs @ W
            delta = inputs
            for W, a in zip(reversed(layers), reversed(activations[:-1])):  # the two backward products
                a.T @ delta
                delta = delta @ W.T

    step_products()
    return steps * flops / best_time(step_products)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 60,000 (smoke test)")
    args = parser.parse_args(argv)
    n_samples = 10_000 if args.quick else 60_000

    from sklearn.neural_network import MLPClassifier

    from skunlearn._backends import ACTIVATIONS, MODEL_CLIPPING, MLPConfig
    from skunlearn._backends.numba import run_mlp_epochs
    from skunlearn._constants import cyclic_batch_bounds

    print(machine_line())
    X, y = synthetic_mnist(n_samples)
    X /= np.float32(np.abs(X).max())
    print(f"data: {X.shape[0]} x {X.shape[1]} {X.dtype}, 10 classes, hidden layer 256, batch 128\n")

    sizes = np.array([X.shape[1], 256, 10])
    n_params = int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    params = 0.05 * np.random.default_rng(0).standard_normal(n_params)  # binary64, as the estimator keeps them
    bounds = cyclic_batch_bounds(n_samples, 128)
    y_codes = y.astype(np.int64)
    weight = np.ones(n_samples)
    config = MLPConfig(ACTIVATIONS["relu"], MODEL_CLIPPING, 0.1, 1e-4, 1e-3, 100.0, np.inf,
                       grid=grid_for(1e-3, 100.0))
    noise_free = MLPConfig(ACTIVATIONS["relu"], MODEL_CLIPPING, 0.1, 1e-4, 0.0, 100.0, np.inf)
    run_mlp_epochs(params.copy(), sizes, X[:1024], y_codes[:1024], weight[:1024], cyclic_batch_bounds(1024, 128),
                   config, 1, 0, 1)  # compile / load the kernels
    def sklearn_one_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one epoch does not converge, by design
            MLPClassifier((256,), solver="sgd", batch_size=128, max_iter=1, shuffle=False, random_state=0).fit(X, y)

    ours, ours_free, sklearn_epoch = interleaved_best_times([
        lambda: run_mlp_epochs(params.copy(), sizes, X, y_codes, weight, bounds, config, 1, 0, 1),
        lambda: run_mlp_epochs(params.copy(), sizes, X, y_codes, weight, bounds, noise_free, 1, 0, 1),
        sklearn_one_epoch,
    ], rounds=2)
    n_normals = (bounds.size - 1) * n_params
    buffer = np.empty(n_params * 64)
    draw_normals(buffer)
    noise_floor = best_time(lambda: draw_normals(buffer)) * n_normals / buffer.size
    flops = 3 * 2 * n_samples * n_params  # forward, two backward products
    gemm_rate = _gemm_rate(X, sizes)
    opacus = _opacus_epoch(X, y)

    rows = [
        ("one noisy epoch, skunlearn (numba)", f"{ours:8.3f} s"),
        ("one epoch without noise, skunlearn", f"{ours_free:8.3f} s"),
        ("one epoch, MLPClassifier(sgd), no noise", f"{sklearn_epoch:8.3f} s"),
        ("Opacus DP-SGD epoch", "not installed" if opacus is None else f"{opacus:8.3f} s"),
        ("floor: read X once", f"{X.nbytes / memory_bandwidth():8.3f} s"),
        (f"floor: draw {n_normals / 1e6:.0f} M normals, one thread", f"{noise_floor:8.3f} s"),
        ("work: 3 matrix products per step", f"{flops / 1e9:8.1f} GFLOP  ({flops / ours / 1e9:.1f} GFLOP/s achieved)"),
        (f"GEMM rate, the step's products in {X.dtype}", f"{gemm_rate / 1e9:8.1f} GFLOP/s  (products alone: "
         f"{flops / gemm_rate:.3f} s; noisy epoch at {flops / gemm_rate / ours:.0%} of the rate, noise-free "
         f"{flops / gemm_rate / ours_free:.0%})"),
        ("0.65 x MLPClassifier would need", f"{0.65 * sklearn_epoch:8.3f} s  (products at the GEMM rate + the "
         f"normals on one thread: {flops / gemm_rate + noise_floor:.3f} s)"),
    ]
    goals = [("noisy epoch within 2x of MLPClassifier epoch (sklearn time x 2 / ours)", 2 * sklearn_epoch / ours, 1.0)]
    return report(rows, goals)


if __name__ == "__main__":
    sys.exit(main())
