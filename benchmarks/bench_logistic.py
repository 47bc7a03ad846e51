"""NoisyLogisticRegression speed on 60,000 x 784 float32, 10 classes, batch 128.

Goals (ratios measured side by side in this run):
* one noisy epoch within 1.5x of its floor: reading X once, plus the epoch's normals
  spread over the threads, plus the two products of every step at the binary64 GEMM rate
  measured here for the kernel's own shapes (single-threaded BLAS, times the threads);
* two threads take <= 0.6x the time of one (on a machine with two cores or more);
* one noisy epoch >= 2.5x faster than a straightforward numpy version of the same update
  (noise from numpy's default Generator);
* one noisy epoch >= 10x faster than one epoch of SGDClassifier(loss="log_loss").

The parameters and every product are binary64 (the certificate's rounding bound
needs them, see skunlearn.accounting.floating_point), so the products' floor is set
by the float64 GEMM rate; the table prints what 30x SGDClassifier and 6x numpy would
need next to that floor. On the 2-core development machine the floor (45 ms) caps the
ratios at about 3.5x numpy and 14x SGDClassifier, so the last two goals sit below those
caps by a margin for the machine's noise; the floor goal is the one that measures the
kernel.
* unlearning one row at epsilon = 1 costs <= 25% of retraining from scratch (>= 4x cheaper): by
  default a request runs 3 noisy and 3 noise-free epochs of the 30 that training runs (20%);
* peak memory of fit <= 3x the size of X.

Run: ``python benchmarks/bench_logistic.py [--quick]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.dirname(__file__)))

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


def numpy_epoch(params, X, y, bounds, step_size, l2, noise_scale, radius, rng):
    """A straightforward numpy epoch of the same update, noise from numpy's default Generator."""
    shrink = 1.0 - step_size * l2
    for start, stop in zip(bounds[:-1], bounds[1:]):
        batch = X[start:stop]
        scores = batch @ params.T
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities[np.arange(stop - start), y[start:stop]] -= 1.0
        gradient = probabilities.T @ batch
        params = shrink * params - (step_size / (stop - start)) * gradient
        params += noise_scale * rng.standard_normal(params.shape, dtype=params.dtype)
        norm = np.linalg.norm(params)
        if norm > radius:
            params *= radius / norm
    return params


def _step_gemm_rate(X_slots, params, bounds, rounds=3):
    """Single-threaded binary64 GEMM rate (flop/s) on one epoch's step shapes, and the epoch's product flops.

    Each step's two products, as the kernel runs them: logits ``(b x d) @ (d x k)``
    and gradient ``(k x b) @ (b x d)``, on a float64 batch (the kernel converts
    blocks of rows once, outside the rate measured here).
    """
    from threadpoolctl import threadpool_limits

    batch = np.ascontiguousarray(X_slots[bounds[0]:bounds[1]], dtype=np.float64)
    theta_t = np.ascontiguousarray(params.T)
    residual = np.ones((params.shape[0], batch.shape[0]))
    steps = bounds.size - 1
    flops = 0.0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        flops += 4.0 * (stop - start) * params.size
    with threadpool_limits(limits=1, user_api="blas"):
        def epoch_of_products():
            for _ in range(steps):
                batch @ theta_t
                residual @ batch
        epoch_of_products()
        seconds = best_time(epoch_of_products, rounds)
    return flops / seconds, flops


def _peak_memory_ratio(n_samples):
    """Peak RSS growth during fit over X's size, in a fresh process (kernels warmed first).

    The high-water mark is reset through /proc/self/clear_refs just before fit
    (ru_maxrss would carry the parent's peak across fork and exec).
    """
    code = f"""
import numpy as np, sys
sys.path.insert(0, '.')
from benchmarks._common import synthetic_mnist
from skunlearn import NoisyLogisticRegression

def status(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))

NoisyLogisticRegression(batch_size=128, max_iter=1, random_state=0).fit(*synthetic_mnist(512))
X, y = synthetic_mnist({n_samples})
before = status('VmRSS:')
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')
NoisyLogisticRegression(batch_size=128, max_iter=2, random_state=0).fit(X, y)
print((status('VmHWM:') - before) / X.nbytes)
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(output.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 60,000 (smoke test)")
    args = parser.parse_args(argv)
    n_samples = 10_000 if args.quick else 60_000

    from sklearn.linear_model import SGDClassifier

    from skunlearn import NoisyLogisticRegression
    from skunlearn._backends import SOFTMAX, KernelConfig
    from skunlearn._backends.numba import run_logistic_epochs
    from skunlearn._constants import cyclic_batch_bounds, scale_rows, step_tasks

    print(machine_line())
    X, y = synthetic_mnist(n_samples)
    print(f"data: {X.shape[0]} x {X.shape[1]} {X.dtype}, 10 classes, batch 128\n")

    # The kernel on the estimator's own slot arrays.
    X_slots = scale_rows(X, 1.0)
    y_slots = y.astype(np.int64)
    weight = np.ones(n_samples)
    bounds = cyclic_batch_bounds(n_samples, 128)
    config = KernelConfig(SOFTMAX, 3.0, 1e-3, 0.05, 1e3, grid=grid_for(0.05, 1e3))
    params = np.zeros((10, X_slots.shape[1]))  # binary64 parameters, as the estimator keeps them
    run_logistic_epochs(params.copy(), X_slots, y_slots, weight, bounds, config, 1, 0, 1)  # warm-up
    rng = np.random.default_rng(0)

    def sgd_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one epoch does not converge, by design
            SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0).fit(X, y)

    import numba
    threads = numba.get_num_threads()
    ours, ours_one_thread, numpy_time, sgd = interleaved_best_times([
        lambda: run_logistic_epochs(params.copy(), X_slots, y_slots, weight, bounds, config, 1, 0, 1),
        lambda: run_logistic_epochs(params.copy(), X_slots, y_slots, weight, bounds, config, 1, 0, 1, n_threads=1),
        lambda: numpy_epoch(params, X_slots, y_slots, bounds, 3.0, 1e-3, config.noise_scale, 1e3, rng),
        sgd_epoch,
    ], rounds=5)
    n_normals = (bounds.size - 1) * params.size
    noise_buffer = np.empty(n_normals)
    draw_normals(noise_buffer)
    noise_time = best_time(lambda: draw_normals(noise_buffer))
    numpy_noise_time = best_time(lambda: rng.standard_normal(n_normals))
    read_floor = X_slots.nbytes / memory_bandwidth()
    gemm_rate, product_flops = _step_gemm_rate(X_slots, params, bounds)
    products_floor = product_flops / (gemm_rate * threads)
    floor = read_floor + noise_time / threads + products_floor

    # Unlearning one row vs retraining at the same certificate (estimator end to end).
    model = NoisyLogisticRegression(batch_size=128, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    model.unlearn([int(np.argmax(model._slot_of))])  # the worst slot
    unlearn_time = time.perf_counter() - start
    keep = np.arange(1, n_samples)
    start = time.perf_counter()
    NoisyLogisticRegression(batch_size=128, random_state=0).fit(X[keep], y[keep])
    retrain_time = time.perf_counter() - start
    memory_ratio = _peak_memory_ratio(n_samples)

    rows = [
        (f"one noisy epoch, skunlearn (numba, {threads} threads)", f"{ours * 1e3:8.1f} ms  "
         f"({product_flops / ours / 1e9:.1f} GFLOP/s: {products_floor / ours:.0%} of {threads} x the GEMM rate)"),
        ("one noisy epoch, skunlearn, 1 thread", f"{ours_one_thread * 1e3:8.1f} ms"),
        ("one noisy epoch, straightforward numpy", f"{numpy_time * 1e3:8.1f} ms"),
        ("one epoch, SGDClassifier(log_loss)", f"{sgd * 1e3:8.1f} ms"),
        ("floor: read X once", f"{read_floor * 1e3:8.1f} ms  ({X_slots.nbytes / 1e6:.0f} MB)"),
        (f"floor: draw {n_normals / 1e6:.1f} M normals, one thread", f"{noise_time * 1e3:8.1f} ms  "
         f"(spread over {step_tasks(128)} tasks per step; numpy's Generator: {numpy_noise_time * 1e3:.1f} ms)"),
        ("binary64 GEMM rate, the step's shapes, 1 thread", f"{gemm_rate / 1e9:8.1f} GFLOP/s  "
         f"({product_flops / 1e9:.2f} GFLOP per epoch: {products_floor * 1e3:.1f} ms on {threads} threads)"),
        (f"floor: read X + noise / {threads} + products", f"{floor * 1e3:8.1f} ms"),
        ("30x SGDClassifier / 6x numpy would need", f"{sgd / 30 * 1e3:8.1f} ms / {numpy_time / 6 * 1e3:.1f} ms  "
         f"(below the binary64 floor: {'yes' if min(sgd / 30, numpy_time / 6) < floor else 'no'})"),
        ("fit (calibrate + 30 epochs)", f"{fit_time:8.2f} s   noise sigma {model.noise_:.3g}"),
        ("unlearn one row", f"{unlearn_time:8.2f} s   {model.certificate_.history[-1]['epochs']} noisy + "
                            f"{model.certificate_.history[-1].get('finetune_epochs', 0)} noise-free epoch(s), "
                            f"epsilon {model.certificate_.epsilon:.3f}"),
        ("retrain from scratch", f"{retrain_time:8.2f} s"),
        ("peak memory of fit / size of X", f"{memory_ratio + 1:8.2f}  (X itself plus what fit allocates)"),
    ]
    goals = [
        ("floor x 1.5 / epoch", 1.5 * floor / ours, 1.0),
        *([("0.6 x 1-thread epoch / 2-or-more-thread epoch", 0.6 * ours_one_thread / ours, 1.0)]
          if threads >= 2 else []),
        ("epoch vs straightforward numpy", numpy_time / ours, 2.5),
        ("epoch vs SGDClassifier", sgd / ours, 10.0),
        ("retraining / unlearning one row", retrain_time / unlearn_time, 4.0),
        ("3 x size of X / peak memory", 3.0 / (memory_ratio + 1), 1.0),
    ]
    return report(rows, goals)


if __name__ == "__main__":
    sys.exit(main())
