"""GPU backend speed: one noisy epoch on the GPU vs the numba CPU backend and vs PyTorch.

* logistic regression, 1,000,000 x 784 float32, 10 classes, batch 1024;
* the 256-unit MLP, 200,000 x 784 float32, batch 1024.

Goals (measured side by side in one run on the GPU machine): the GPU epoch is at
least 10x faster than the numba backend on that machine's CPU, and at least 2x
faster than a straightforward PyTorch implementation of the same update on the
same GPU. Absolute times are printed next to the floor (bytes over the measured
device bandwidth).

Run: ``python benchmarks/bench_gpu.py [--quick]`` (needs CuPy and a GPU; PyTorch optional).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import best_time, report, synthetic_mnist  # noqa: E402


def _gpu_time(function, repeat=3):
    import cupy as cp

    function()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        cp.cuda.Device().synchronize()
        start = time.perf_counter()
        function()
        cp.cuda.Device().synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def _device_bandwidth():
    import cupy as cp

    data = cp.ones(2**28, dtype=cp.float32)  # 1 GiB
    out = cp.empty_like(data)
    seconds = _gpu_time(lambda: cp.copyto(out, data), 5)
    return 2 * data.nbytes / seconds


def _torch_logistic_epoch(X, y, bounds, step, l2, noise_scale, radius):
    import torch

    device = torch.device("cuda")
    X_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    W = torch.zeros((10, X.shape[1]), device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    shrink = 1 - step * l2

    def epoch():
        nonlocal W
        for start, stop in zip(bounds[:-1], bounds[1:]):
            batch = X_t[start:stop]
            residual = torch.softmax(batch @ W.T, dim=1)
            residual[torch.arange(stop - start, device=device), y_t[start:stop]] -= 1
            W = shrink * W - (step / (stop - start)) * (residual.T @ batch)
            W += noise_scale * torch.randn(W.shape, device=device, generator=generator)
            norm = torch.linalg.vector_norm(W)
            W = W * torch.clamp(radius / norm, max=1.0)
        torch.cuda.synchronize()

    epoch()
    return best_time(epoch, 3)


def _torch_mlp_epoch(X, y, bounds, hidden, step, l2, noise_std, radius):
    import torch

    device = torch.device("cuda")
    X_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    model.to(device)
    params = list(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for start, stop in zip(bounds[:-1], bounds[1:]):
            for p in params:
                p.grad = None
            loss_fn(model(X_t[start:stop]), y_t[start:stop]).backward()
            with torch.no_grad():
                for p in params:
                    p -= step * (p.grad + l2 * p)
                norm = torch.sqrt(sum((p * p).sum() for p in params))
                factor = torch.clamp(radius / norm, max=1.0)
                for p in params:
                    p *= factor
                    p += noise_std * torch.randn_like(p)
        torch.cuda.synchronize()

    epoch()
    return best_time(epoch, 3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer rows (smoke test)")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1

    from skunlearn._backends import ACTIVATIONS, MODEL_CLIPPING, SOFTMAX, KernelConfig, MLPConfig, get_backend
    from skunlearn._backends.numba import warm_up
    from skunlearn._constants import cyclic_batch_bounds, scale_rows

    gpu, cpu = get_backend("cuda"), get_backend("cpu")
    warm_up()
    bandwidth = _device_bandwidth()
    import cupy as cp

    print(f"GPU: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, measured bandwidth "
          f"{bandwidth / 1e12:.2f} TB/s; CPU: {os.cpu_count()} cores\n")
    rows, goals = [], []

    try:
        import torch  # noqa: F401

        have_torch = torch.cuda.is_available()
    except ImportError:
        have_torch = False

    # Logistic regression -------------------------------------------------------------
    n = 1_000_000 // scale
    X, y = synthetic_mnist(n)
    X_slots = scale_rows(X, 1.0)
    del X
    y_slots = y.astype(np.int64)
    weight = np.ones(n, np.float32)
    bounds = cyclic_batch_bounds(n, 1024)
    config = KernelConfig(SOFTMAX, 3.0, 1e-3, 0.05, 1e3)
    start = np.zeros((10, X_slots.shape[1]), np.float32)
    def logistic_call(epochs):
        return _gpu_time(lambda: gpu.run_logistic_epochs(start.copy(), X_slots, y_slots, weight, bounds, config,
                                                         1, 0, epochs), 2)

    gpu_time = logistic_call(1)
    # Steady state: the extra epochs of a longer call (data already on the GPU, graph replayed).
    gpu_epochs = (logistic_call(6) - gpu_time) / 5
    cpu_time = best_time(lambda: cpu.run_logistic_epochs(start.copy(), X_slots, y_slots, weight, bounds, config,
                                                         1, 0, 1), 2)
    floor = X_slots.nbytes / bandwidth
    rows += [
        (f"logistic {n}x784: GPU, a call of 1 epoch (host-to-GPU copy included)", f"{gpu_time * 1e3:9.1f} ms"),
        ("logistic: GPU, each further epoch of a call (graph replay)", f"{gpu_epochs * 1e3:9.1f} ms"),
        ("logistic: numba CPU backend, one epoch", f"{cpu_time * 1e3:9.1f} ms"),
        ("logistic: floor, read X once on the GPU", f"{floor * 1e3:9.2f} ms"),
    ]
    goals.append(("logistic GPU epoch vs numba CPU", cpu_time / gpu_epochs, 10.0))
    if have_torch:
        torch_time = _torch_logistic_epoch(X_slots, y_slots, bounds, 3.0, 1e-3, 0.05, 1e3)
        rows.append(("logistic: PyTorch, one epoch (data already on GPU)", f"{torch_time * 1e3:9.1f} ms"))
        goals.append(("logistic GPU epoch vs PyTorch", torch_time / gpu_epochs, 2.0))
    X_slots = None  # free the host copy before the MLP part

    # MLP --------------------------------------------------------------------------------
    n = 200_000 // scale
    X, y = synthetic_mnist(n, seed=1)
    X /= np.float32(np.abs(X).max())
    y_codes = y.astype(np.int64)
    weight = np.ones(n, np.float32)
    bounds = cyclic_batch_bounds(n, 1024)
    sizes = np.array([784, 256, 10])
    n_params = int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    params = (0.05 * np.random.default_rng(0).standard_normal(n_params)).astype(np.float32)
    mlp_config = MLPConfig(ACTIVATIONS["relu"], MODEL_CLIPPING, 0.1, 1e-4, 1e-3, 100.0, np.inf)
    def mlp_call(epochs):
        return _gpu_time(lambda: gpu.run_mlp_epochs(params.copy(), sizes, X, y_codes, weight, bounds, mlp_config,
                                                    1, 0, epochs), 2)

    mlp_one = mlp_call(1)
    gpu_epochs = (mlp_call(6) - mlp_one) / 5
    cpu_time = best_time(lambda: cpu.run_mlp_epochs(params.copy(), sizes, X, y_codes, weight, bounds, mlp_config,
                                                    1, 0, 1), 2)
    rows += [
        (f"MLP {n}x784-256-10: GPU, a call of 1 epoch (copy included)", f"{mlp_one * 1e3:9.1f} ms"),
        ("MLP: GPU, each further epoch of a call", f"{gpu_epochs * 1e3:9.1f} ms"),
        ("MLP: numba CPU backend, one epoch", f"{cpu_time * 1e3:9.1f} ms"),
        ("MLP: floor, read X once on the GPU", f"{X.nbytes / bandwidth * 1e3:9.2f} ms"),
    ]
    goals.append(("MLP GPU epoch vs numba CPU", cpu_time / gpu_epochs, 10.0))
    if have_torch:
        torch_time = _torch_mlp_epoch(X, y_codes, bounds, 256, 0.1, 1e-4, 1e-3, 100.0)
        rows.append(("MLP: PyTorch, one epoch (data already on GPU)", f"{torch_time * 1e3:9.1f} ms"))
        goals.append(("MLP GPU epoch vs PyTorch", torch_time / gpu_epochs, 2.0))
    return report(rows, goals)


if __name__ == "__main__":
    sys.exit(main())
