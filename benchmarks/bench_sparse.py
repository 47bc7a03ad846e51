"""NoisyLogisticRegression on sparse text-like data: one noisy epoch vs SGDClassifier, beside the noise floor.

A synthetic hashed-text matrix (default 100,000 x 2^18, 0.1 % dense: 262 non-zeros a row,
positive tf-like values, binary labels from a sparse linear rule; generated, no
download), batch 128. The products touch only the non-zeros, but the noise is dense:
every noisy step draws a normal for each of the 2^18 + 1 parameters and updates all of
them (skunlearn._backends.numba.logistic_sparse says why the noise cannot be lazy), so on wide
data the noise, not the data, sets the cost.

Floor of one epoch: reading the non-zeros once, plus the epoch's normals (one per
parameter per step, our generator, spread over the threads), plus one read and one
write of the parameters per step at the measured memory bandwidth. Goal: one noisy epoch
within 1.5x of that floor. SGDClassifier(loss="log_loss") is timed beside it (one epoch);
it adds no noise, so it does not pay the floor.

Run: ``python benchmarks/bench_sparse.py [--quick]`` (--quick: 20,000 x 2^16).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import (  # noqa: E402
    best_time, draw_normals, grid_for, interleaved_best_times, machine_line, memory_bandwidth, report)


def hashed_text(n_samples, n_features, density, seed=0):
    """A CSR matrix shaped like hashed term frequencies, and labels from a sparse linear rule."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    per_row = max(1, int(round(density * n_features)))
    # Zipf-like column popularity, as words have: a few frequent columns, a long tail.
    popularity = 1.0 / np.arange(1, n_features + 1) ** 0.8
    popularity /= popularity.sum()
    columns = rng.choice(n_features, size=(n_samples, per_row), p=popularity)
    columns.sort(axis=1)
    values = rng.exponential(1.0, size=(n_samples, per_row)).astype(np.float32)
    indptr = np.arange(0, n_samples * per_row + 1, per_row, dtype=np.int32)  # 32-bit, as SGDClassifier needs
    X = sp.csr_array((values.ravel(), columns.ravel().astype(np.int32), indptr), shape=(n_samples, n_features))
    X.sum_duplicates()
    rule = np.zeros(n_features)
    informative = rng.choice(n_features, 2000, replace=False)
    rule[informative] = rng.standard_normal(2000)
    y = (X @ rule > np.median(X @ rule)).astype(int)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 x 2^16 instead of 100,000 x 2^18")
    args = parser.parse_args(argv)
    n_samples, n_features = (20_000, 2**16) if args.quick else (100_000, 2**18)

    import numba
    from sklearn.linear_model import SGDClassifier

    from skunlearn._backends import BINARY_LOGISTIC, KernelConfig
    from skunlearn._backends.numba import run_logistic_epochs
    from skunlearn._constants import cyclic_batch_bounds, scale_sparse_rows

    print(machine_line())
    X, y = hashed_text(n_samples, n_features, 0.001)
    print(f"data: {n_samples:,} x {n_features:,} CSR float32, {X.nnz / n_samples:.0f} non-zeros a row "
          f"({X.nnz / (n_samples * n_features):.2%} dense), binary labels, batch 128\n")
    rows = scale_sparse_rows(X, 1.0)
    y_slots = y.astype(np.int64)
    weight = np.ones(n_samples)
    bounds = cyclic_batch_bounds(n_samples, 128)
    config = KernelConfig(BINARY_LOGISTIC, 1.0, 1e-4, 0.01, 1e4, grid=grid_for(0.01, 1e4))
    params = np.zeros((1, n_features + 1))
    run_logistic_epochs(params.copy(), rows, y_slots, weight, bounds, config, 1, 0, 1)  # compile / warm

    def sgd_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one epoch does not converge, by design
            SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0).fit(X, y)

    ours, sgd = interleaved_best_times([
        lambda: run_logistic_epochs(params.copy(), rows, y_slots, weight, bounds, config, 1, 0, 1),
        sgd_epoch,
    ], rounds=5)
    threads = numba.get_num_threads()
    steps = bounds.size - 1
    normals = np.empty(4_000_000)
    draw_normals(normals)
    noise_time = best_time(lambda: draw_normals(normals)) * steps * params.size / normals.size
    bandwidth = memory_bandwidth()
    read_time = (rows.data.nbytes + rows.indices.nbytes) / bandwidth
    parameter_passes = 2 * params.nbytes * steps / bandwidth
    floor = read_time + noise_time / threads + parameter_passes
    rows_table = [
        (f"one noisy epoch, skunlearn (numba, {threads} threads)", f"{ours * 1e3:8.1f} ms"),
        ("one epoch, SGDClassifier(log_loss), no noise", f"{sgd * 1e3:8.1f} ms  (ours / SGDClassifier: "
                                                          f"{ours / sgd:.2f}x)"),
        ("floor: read the non-zeros once", f"{read_time * 1e3:8.1f} ms"),
        (f"floor: {steps * params.size / 1e6:.0f} M normals (one per parameter per step)",
         f"{noise_time * 1e3:8.1f} ms on one thread, {noise_time / threads * 1e3:.1f} ms on {threads}"),
        ("floor: read + write the parameters every step", f"{parameter_passes * 1e3:8.1f} ms"),
        ("floor in all", f"{floor * 1e3:8.1f} ms  (the noise part: "
                         f"{(noise_time / threads + parameter_passes) / floor:.0%})"),
    ]
    goals = [("floor x 1.5 / epoch", 1.5 * floor / ours, 1.0)]
    return report(rows_table, goals)


if __name__ == "__main__":
    sys.exit(main())
