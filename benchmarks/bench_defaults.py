"""Useful by default: NoisyLogisticRegression() at ε = 1 against LogisticRegression(), as a new user runs it.

Protocol (the issue's): MaxAbs scaling fitted on the training split, a 25%
stratified test split with ``random_state=0``, ε = 1, the default δ = min(1e-6, n^-1.5), the
mean over ``random_state`` 0, 1, 2. Accuracy is measured after ``fit`` and
after one single-row request; a request's cost is its epochs (noisy plus
noise-free) against retraining's, and its wall time against a refit's.

Goals (exit status 1 when missed):

* the bundled sets: digits ≥ 0.90, breast cancer ≥ 0.90, wine ≥ 0.85,
  iris ≥ 0.80 after the request, a request ≤ 20% of retraining's epochs;
* synthetic sets (``make_classification``, 2–10 classes, 20 or 100
  features): within 3 points of ``LogisticRegression()`` from n = 3,000 up
  with 20 features, and from n = 100 d up in general. Below that the noise a
  single-row request needs at ε = 1 costs more (n = 3,000 with 100 features:
  3–7 points; the rows are printed, marked "below the goal's range"), which
  is what the theory allows: the noise a request leaves scales like
  ``sqrt(p) / (λ n)``.

Usage: ``python benchmarks/bench_defaults.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MaxAbsScaler

from skunlearn import NoisyLogisticRegression

GOALS = {"digits": 0.90, "breast cancer": 0.90, "wine": 0.85, "iris": 0.80}
SEEDS = (0, 1, 2)


def split(X, y):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = MaxAbsScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def measure(X_train, X_test, y_train, y_test):
    """(LogisticRegression accuracy, ours after fit, ours after a request, request/refit epochs, time ratio)."""
    reference = LogisticRegression(max_iter=5000).fit(X_train, y_train).score(X_test, y_test)
    fitted, unlearned, times = [], [], []
    for seed in SEEDS:
        start = time.perf_counter()
        model = NoisyLogisticRegression(random_state=seed).fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        fitted.append(model.score(X_test, y_test))
        start = time.perf_counter()
        model.unlearn([seed])
        times.append((time.perf_counter() - start) / fit_time)
        unlearned.append(model.score(X_test, y_test))
        entry = model.certificate_.history[0]
        epochs = (entry["epochs"] + entry.get("finetune_epochs", 0)) / model.n_iter_
    return reference, np.mean(fitted), np.mean(unlearned), epochs, np.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bundled sets and the smaller synthetic shapes only")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # the noise warning is measured, not the subject here
    ok = True
    print("bundled data sets, epsilon = 1, default delta = min(1e-6, n^-1.5), mean of 3 seeds")
    print(f"{'data':<16} {'LogReg()':>9} {'ours, fit':>10} {'after request':>14} {'goal':>6} "
          f"{'request/retrain epochs':>23} {'time ratio':>11}")
    for name, loader in [("digits", load_digits), ("breast cancer", load_breast_cancer), ("wine", load_wine),
                         ("iris", load_iris)]:
        reference, fitted, unlearned, epochs, times = measure(*split(*loader(return_X_y=True)))
        met = unlearned >= GOALS[name] and epochs <= 0.2 + 1e-12
        ok &= met
        print(f"{name:<16} {reference:>9.3f} {fitted:>10.3f} {unlearned:>14.3f} {GOALS[name]:>6.2f} "
              f"{epochs:>23.2f} {times:>11.2f} {'' if met else 'MISSED'}")
    print("\nsynthetic (make_classification, 10 informative features), epsilon = 1; goal from n = max(3,000, 100 d): "
          "gap to LogisticRegression() <= 0.03")
    print(f"{'n':>7} {'d':>4} {'classes':>8} {'LogReg()':>9} {'ours, fit':>10} {'after request':>14} {'gap':>6}")
    sizes = [500, 3000, 10_000] + ([] if args.quick else [60_000])
    for n in sizes:
        for d in (20, 100):
            for k in (2, 5, 10):
                X, y = make_classification(n_samples=n, n_features=d, n_informative=10, n_classes=k,
                                           n_clusters_per_class=1, random_state=0)
                reference, fitted, unlearned, _, _ = measure(*split(X, y))
                gap = reference - unlearned
                in_range = n >= max(3000, 100 * d)
                met = not in_range or gap <= 0.03
                ok &= met
                note = "" if met and in_range else "MISSED" if not met else "below the goal's range"
                print(f"{n:>7} {d:>4} {k:>8} {reference:>9.3f} {fitted:>10.3f} {unlearned:>14.3f} {gap:>6.3f} {note}")
    print(f"\ngoals: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
