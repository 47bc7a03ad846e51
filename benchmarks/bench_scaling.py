"""NoisyLogisticRegression epoch time against n, d and the thread count, each beside its floor.

One noisy epoch of the logistic kernel (10 classes, batch 128, float32 data, binary64
parameters) on synthetic data:

* n = 10^4, 10^5, 10^6 rows at d = 784;
* d = 16, 64, 256, 1,024, 4,096 features at n = 10^5;
* 1, 2 and all threads for each.

The floor of each epoch is reading X once, plus, spread over the threads, the epoch's
normals, the softmax's n x 10 exponentials (numpy's rate) and the two products of every
step at the binary64 GEMM rate measured here on that step's shapes (single-threaded
BLAS). Goal: with all threads, every epoch with d >= 256 within 2x of its floor. Below
that the epoch is bound by the fixed cost of each of the n / 128 steps (BLAS calls on
tiny matrices, task bookkeeping), which no floor term counts; their ratios are printed
all the same.

Run: ``python benchmarks/bench_scaling.py [--quick]`` (--quick: n = 10^4 and 10^5 only,
d up to 1,024).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import best_time, draw_normals, grid_for, machine_line, memory_bandwidth, synthetic_mnist  # noqa: E402,E501
from benchmarks.bench_logistic import _step_gemm_rate  # noqa: E402

GOAL = 2.0
GOAL_FROM_FEATURES = 256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller n and d (smoke test)")
    args = parser.parse_args(argv)

    import numba

    from skunlearn._backends import SOFTMAX, KernelConfig
    from skunlearn._backends.numba import run_logistic_epochs
    from skunlearn._constants import cyclic_batch_bounds, scale_rows

    print(machine_line())
    all_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = sorted({1, min(2, all_threads), all_threads})
    bandwidth = memory_bandwidth()
    shapes = [(10_000, 784), (100_000, 784)] + ([] if args.quick else [(1_000_000, 784)])
    shapes += [(100_000, d) for d in (16, 64, 256, 1024) + (() if args.quick else (4096,))]
    print(f"10 classes, batch 128, float32 X, binary64 parameters; threads {thread_counts}\n")
    header = f"  {'n':>9} {'d':>6} " + " ".join(f"{f'{t} thr':>9}" for t in thread_counts)
    header += f" {'floor':>9} {'epoch/floor':>12} {'speed-up':>9}"
    print(header)
    status = 0
    for n_samples, n_features in shapes:
        X, y = synthetic_mnist(n_samples, n_features=n_features)
        X_slots = scale_rows(X, 1.0)
        del X
        y_slots = y.astype(np.int64)
        weight = np.ones(n_samples)
        bounds = cyclic_batch_bounds(n_samples, 128)
        config = KernelConfig(SOFTMAX, 1.0, 1e-3, 0.05, 1e3, grid=grid_for(0.05, 1e3))
        params = np.zeros((10, n_features + 1))
        run_logistic_epochs(params.copy(), X_slots, y_slots, weight, bounds, config, 1, 0, 1)  # warm-up
        times = {}
        for _ in range(3):  # interleaved rounds: every thread count sees the same load
            for threads in thread_counts:
                elapsed = best_time(lambda: run_logistic_epochs(params.copy(), X_slots, y_slots, weight, bounds,
                                                                config, 1, 0, 1, n_threads=threads), 1)
                times[threads] = min(times.get(threads, np.inf), elapsed)
        normals = np.empty(min(params.size * (bounds.size - 1), 4_000_000))
        noise_time = best_time(lambda: draw_normals(normals)) * (
            params.size * (bounds.size - 1) / normals.size)
        gemm_rate, flops = _step_gemm_rate(X_slots, params, bounds)
        logits = np.random.default_rng(0).standard_normal(min(n_samples, 100_000) * 10)
        exp_time = best_time(lambda: np.exp(logits)) * n_samples * 10 / logits.size
        floor = X_slots.nbytes / bandwidth + (noise_time + exp_time + flops / gemm_rate) / all_threads
        ratio = times[all_threads] / floor
        checked = n_features >= GOAL_FROM_FEATURES
        status |= checked and ratio > GOAL
        row = f"  {n_samples:>9,} {n_features:>6} " + " ".join(f"{times[t] * 1e3:7.1f}ms" for t in thread_counts)
        row += f" {floor * 1e3:7.1f}ms {ratio:11.2f}x {times[1] / times[all_threads]:8.2f}x"
        print(row + ("" if not checked else "  [ok]" if ratio <= GOAL else "  [MISSED]"))
        sys.stdout.flush()
    print(f"\n  goal: every all-thread epoch with d >= {GOAL_FROM_FEATURES} within {GOAL:g}x of its floor: "
          f"{'ok' if not status else 'MISSED'}")
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
