"""Audit a certificate from the outside.

Fit, forget a canary (the row hardest to forget), and compare many such models with
models from the certifying procedure that never trained on the canary. The audit
reports the smallest epsilon consistent with what it observed (a lower bound, with
95% confidence) next to the certified epsilon; a broken unlearning (here: the noisy
phase skipped) must be caught. With ``--plot`` (needs matplotlib), the two audits'
statistics as histograms: the canary's loss under the unlearned models against the
models that never saw it, with the test the audit chose.

Run: ``python examples/audit_certificates.py [--trials N] [--plot]``.
"""

import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer

from skunlearn import NoisyLogisticRegression
from skunlearn.audit import audit_unlearning, make_canary


def plot_statistics(correct, broken):
    """One panel per audit: both arms' statistics, and the chosen threshold. Returns the figure."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, result, title in ((axes[0], correct, "correct unlearning"), (axes[1], broken, "noisy phase skipped")):
        both = np.concatenate([result.unlearned_statistics, result.certifying_statistics])
        bins = np.geomspace(both.min(), both.max(), 25)
        ax.hist(result.unlearned_statistics, bins=bins, alpha=0.6, label="unlearned the canary")
        ax.hist(result.certifying_statistics, bins=bins, alpha=0.6, label="never saw the canary")
        ax.axvline(result.threshold, color="black", linestyle="--", linewidth=1,
                   label=f"test: {result.statistic} {'≥' if result.direction == 'above' else '≤'} threshold")
        bound = f"epsilon ≥ {result.epsilon_lower_bound:.3g} (certified {result.certified_epsilon:.3g})"
        ax.set(xscale="log", xlabel=f"{result.statistic} of the canary", ylabel="models", title=f"{title}: {bound}")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.5)  # room for the legend above the bars
        ax.legend(fontsize=8, loc="upper left")
    figure.suptitle(f"{correct.n_trials} + {correct.n_trials} trials per audit")
    figure.tight_layout()
    return figure


def main(trials=100, plot=False):
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
    if plot:
        plot_statistics(correct, broken)
    return correct, broken


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--plot", action="store_true", help="draw both audits' statistics (needs matplotlib)")
    args = parser.parse_args()
    main(args.trials, plot=args.plot)
    if args.plot:
        import matplotlib.pyplot as plt

        plt.show()
