"""Audit the certificates from the outside: empirical epsilon lower bounds next to the certified epsilon.

For each estimator and unlearning method: n trials of (fit on all rows + unlearn the
canary) against n trials of the certifying procedure, the loss of the canary as the
statistic, a 95% Clopper-Pearson lower bound on epsilon. A broken control (noise
scaled down 100x, or the noisy phase skipped) must exceed the claimed epsilon: that
is the audit's power. Exits non-zero when a correct procedure's bound exceeds its
certificate or a broken one goes undetected.

Run: ``python benchmarks/bench_audit.py [--trials N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _problem(n_rows, seed=0):
    """Digits 0 vs 1 ... 9, a random subset, with a canary in an unused direction."""
    from sklearn.datasets import load_digits

    from skunlearn.audit import make_canary

    X, y = load_digits(return_X_y=True)
    rows = np.random.default_rng(seed).permutation(len(y))[:n_rows]
    X = (X[rows] - 8.0) / 8.0
    return make_canary(X, y[rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500, help="trials per arm (default 500)")
    parser.add_argument("--rows", type=int, default=300, help="training rows before the canary (default 300)")
    parser.add_argument("--quick", action="store_true", help="40 trials, 120 rows (smoke test)")
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args(argv)
    trials, rows = (40, 120) if args.quick else (args.trials, args.rows)

    from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier
    from skunlearn.audit import audit_unlearning, membership_inference_auc

    X, y, canary = _problem(rows)
    print(f"digits subset: {X.shape[0]} rows incl. a canary (row {canary}), {X.shape[1]} features; "
          f"{trials} + {trials} trials per line, statistic: loss of the canary, 95% confidence\n")

    def one_epoch(model, rows):
        model.partial_unlearn(np.atleast_1d(rows), max_epochs=1)

    def skipped(model, rows):
        model.partial_unlearn(np.atleast_1d(rows), max_epochs=0)

    logistic = NoisyLogisticRegression(batch_size=32, max_iter=20)
    noise = logistic.set_params(random_state=0).fit(X, y).noise_
    mlp = dict(hidden_layer_sizes=(32,), max_iter=40, batch_size=32, finetune_epochs=5)
    cases = [
        ("NoisyLogisticRegression, batch 32", NoisyLogisticRegression(batch_size=32, max_iter=20), None, False),
        ("NoisyLogisticRegression, full batch", NoisyLogisticRegression(batch_size=None, max_iter=20), None, False),
        ("NoisyMLPClassifier, model clipping", NoisyMLPClassifier(**mlp), None, False),
        ("NoisyMLPClassifier, gradient clipping", NoisyMLPClassifier(unlearn_method="gradient_clipping", **mlp),
         None, False),
        ("broken: logistic, noise / 100", NoisyLogisticRegression(batch_size=32, max_iter=20, noise=noise / 100),
         one_epoch, True),
        ("broken: MLP, noisy phase skipped", NoisyMLPClassifier(**mlp), skipped, True),
    ]
    status = 0
    header = f"{'procedure':<40} {'certified eps':>13} {'lower bound':>12} {'point est.':>10} " \
             f"{'TPR CI':>15} {'FPR CI':>15} {'MIA AUC':>8} {'time':>7}"
    print(header)
    print("-" * len(header))
    for name, estimator, unlearn, broken in cases:
        start = time.perf_counter()
        result = audit_unlearning(estimator, X, y, target_index=canary, n_trials=trials, random_state=0,
                                  n_jobs=args.n_jobs, unlearn=unlearn)
        seconds = time.perf_counter() - start
        claimed = estimator.epsilon
        # Membership inference: 30 rows forgotten by the same procedure vs 30 never seen, one model.
        model = estimator.set_params(random_state=0).fit(X[:-31], y[:-31])
        (unlearn or (lambda m, rows: m.unlearn(rows)))(model, np.arange(30))
        auc = membership_inference_auc(model, X[:30], y[:30], X[-31:-1], y[-31:-1])
        certified = f"{claimed:g} (claimed)" if broken else f"{result.certified_epsilon:.3g}"
        print(f"{name:<40} {certified:>13} {result.epsilon_lower_bound:>12.3g} {result.epsilon_point_estimate:>10.3g} "
              f"{'[%.2f, %.2f]' % result.tpr_interval:>15} {'[%.2f, %.2f]' % result.fpr_interval:>15} "
              f"{auc:>8.3f} {seconds:>6.1f}s")
        if broken:
            status |= not result.epsilon_lower_bound > claimed
        else:
            status |= not result.consistent
    print("\nlower bound <= certified on every correct line, and > claimed on every broken line:",
          "yes" if status == 0 else "NO")
    return status


if __name__ == "__main__":
    sys.exit(main())
