"""Audit a certificate from the outside.

Fit, forget a canary (the row hardest to forget), and compare many such models with
models from the certifying procedure that never trained on the canary. The audit
reports the smallest epsilon consistent with what it observed (a lower bound, with
95% confidence) next to the certified epsilon; a broken unlearning (here: the noisy
phase skipped) must be caught.

Run: ``python examples/audit_certificates.py [--trials N]``.
"""

import argparse

from sklearn.datasets import load_breast_cancer

from skunlearn import NoisyLogisticRegression
from skunlearn.audit import audit_unlearning, make_canary


def main(trials=100):
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:150] / X.max(axis=0)  # the maxima published in the dataset's DESCR: public bounds
    X, y, canary = make_canary(X, y[:150])

    estimator = NoisyLogisticRegression(batch_size=32, max_iter=20)
    correct = audit_unlearning(estimator, X, y, target_index=canary, n_trials=trials, random_state=0)
    print("correct unlearning:", correct)

    def skipped(model, target):  # forget the row but run no noisy epoch
        model.partial_unlearn([target], max_epochs=0)

    broken = audit_unlearning(estimator.set_params(noise=1e-4), X, y, target_index=canary, n_trials=trials,
                              random_state=0, unlearn=skipped)
    print("broken unlearning: ", broken)
    print(f"caught: {broken.epsilon_lower_bound > estimator.epsilon}")
    return correct, broken


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    main(parser.parse_args().trials)
