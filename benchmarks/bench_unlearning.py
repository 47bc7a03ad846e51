"""Unlearning vs retraining at the same (epsilon, delta): compute and accuracy.

For batch sizes 32 / 128 / 512 / full, on digits and on a synthetic MNIST-sized set
(60,000 x 784 float32 plus 10,000 test rows): wall time and gradient evaluations
(rows whose gradient was computed) of one single-row request and of 100 sequential
single-row requests, against retraining from scratch on the retained rows (once per
request), with the test accuracy of each.

Goal: at b = 128, one request costs <= 20% of retraining's gradient evaluations (the
defaults' budget: 3 noisy and 3 noise-free epochs of 30) and its
accuracy is within 1 point of retraining's (on both datasets).

Run: ``python benchmarks/bench_unlearning.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import machine_line, synthetic_mnist  # noqa: E402


def _datasets(quick):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    yield ("digits", None, *train_test_split((X - 8.0) / 8.0, y, random_state=0, stratify=y))
    n = 10_000 if quick else 60_000
    X, y = synthetic_mnist(n + n // 6, separation=0.3)  # about 85% accurate: differences can show
    X /= np.float32(np.abs(X).max())
    # With mini-batches the largest step the theory allows (3.85) makes the last iterate oscillate
    # by several accuracy points from epoch to epoch; a step of 1 still contracts an epoch by 1e-2
    # and compares unlearning with retraining rather than two noisy iterates. Full batch keeps
    # the default step: gradient descent does not oscillate.
    yield (f"synthetic {n}x784", 1.0, X[:n], X[n:], y[:n], y[n:])


def _row(dataset, batch, requests, unlearn_seconds, unlearn_rows, unlearn_accuracy, retrain_seconds, retrain_rows,
         retrain_accuracy):
    return (f"{dataset:<18} {batch:>5} {requests:>8} {unlearn_seconds:>9.3f} {unlearn_rows:>12.3g} "
            f"{unlearn_accuracy:>7.3f} {retrain_seconds:>9.3f} {retrain_rows:>12.3g} {retrain_accuracy:>7.3f} "
            f"{unlearn_rows / retrain_rows:>7.2%}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 synthetic rows and 10 sequential requests")
    args = parser.parse_args(argv)
    n_sequential = 10 if args.quick else 100

    from skunlearn import NoisyLogisticRegression

    print(machine_line())
    print("NoisyLogisticRegression at (1, default delta = min(1e-6, n^-1.5)), 30 training epochs, default step on digits and full batch, step 1 "
          "on synthetic mini-batches;\ngradient evaluations = rows whose gradient was computed; 100-request retraining = once per request\n")
    header = (f"{'dataset':<18} {'batch':>5} {'requests':>8} {'unlearn s':>9} {'unlearn grads':>12} {'acc':>7} "
              f"{'retrain s':>9} {'retrain grads':>12} {'acc':>7} {'ratio':>7}")
    print(header)
    print("-" * len(header))
    status = 0
    for dataset, step_size, X_train, X_test, y_train, y_test in _datasets(args.quick):
        n = X_train.shape[0]
        rng = np.random.default_rng(0)
        order = rng.permutation(n)
        for batch in (32, 128, 512, None):
            params = dict(batch_size=batch, learning_rate_init=step_size if batch else None, random_state=0)
            model = NoisyLogisticRegression(**params).fit(X_train, y_train)
            # One request: the row in the last batch, the worst slot.
            target = int(np.argmax(model._slot_of))
            start = time.perf_counter()
            model.unlearn([target])
            one_seconds = time.perf_counter() - start
            entry = model.certificate_.history[-1]
            one_rows = (entry["epochs"] + entry.get("finetune_epochs", 0)) * (n - 1)  # noisy + noise-free epochs
            one_accuracy = model.score(X_test, y_test)
            keep = np.setdiff1d(np.arange(n), [target])
            start = time.perf_counter()
            retrained = NoisyLogisticRegression(**params).fit(X_train[keep], y_train[keep])
            retrain_seconds = time.perf_counter() - start
            retrain_rows = retrained.n_iter_ * keep.size
            retrain_accuracy = retrained.score(X_test, y_test)
            label = "full" if batch is None else batch
            print(_row(dataset, label, 1, one_seconds, one_rows, one_accuracy, retrain_seconds, retrain_rows,
                       retrain_accuracy))
            if batch == 128:
                # The defaults spend 3 noisy + 3 noise-free epochs of 30 on a request: 20% of retraining.
                ok = one_rows <= 0.2 * retrain_rows + 1e-9 and one_accuracy >= retrain_accuracy - 0.01
                status |= not ok
            # Sequential single-row requests, against retraining once per request.
            # Full batch on 60,000 rows contracts once an epoch: 100 requests took 21 minutes (13x retraining) in
            # the report of 2026-11-24; 10 show the same ratio.
            sequential = 10 if (batch is None and n > 10_000) else n_sequential
            rows = order[order != target][:sequential]
            start = time.perf_counter()
            total_epochs = 0
            for row in rows:
                model.unlearn([int(row)])
                total_epochs += model.certificate_.history[-1]["epochs"]
            many_seconds = time.perf_counter() - start
            remaining = n - 1 - np.arange(1, sequential + 1)
            epochs = [entry["epochs"] + entry.get("finetune_epochs", 0) for entry in model.certificate_.history[1:]]
            many_rows = float(np.dot(epochs, remaining))
            keep = np.setdiff1d(np.arange(n), np.append(rows, target))
            start = time.perf_counter()
            final = NoisyLogisticRegression(**params).fit(X_train[keep], y_train[keep])
            one_retrain = time.perf_counter() - start
            print(_row(dataset, label, sequential, many_seconds, many_rows, model.score(X_test, y_test),
                       one_retrain * sequential, float(final.n_iter_ * np.sum(remaining)),
                       final.score(X_test, y_test)))
    print("\n[{}] at b = 128 one request costs <= 20% of retraining with accuracy within 1 point".format(
        "ok" if status == 0 else "MISSED"))
    return status


if __name__ == "__main__":
    sys.exit(main())
