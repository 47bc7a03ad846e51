"""The privacy-utility-compute trade-off, as figures.

Against the target epsilon: test accuracy after forgetting 10% of rows, the noise the
estimator calibrates, and the unlearning epochs a 10-row request costs; against the
noise sigma (logistic regression, epsilon = 1): accuracy and unlearning epochs. Both
estimators, digits. Saves two PNG files into the output directory (default:
``examples/output/``, next to this script; never the current directory).

Run: ``python examples/tradeoff_figures.py [--output-dir DIR] [--small]`` (needs matplotlib).
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

# Next to this script; sphinx-gallery runs it without __file__, from its own directory.
OUTPUT_DIR = (Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()) / "output"


def _data():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X - 8.0) / 8.0, y, random_state=0, stratify=y)


def _forget_and_score(model, X_test, y_test, forget):
    model.unlearn(forget[: forget.size // 2])
    start = model.certificate_.history[-1]["epochs"]
    model.unlearn(forget[forget.size // 2:forget.size // 2 + 10])  # a 10-row request
    return model.score(X_test, y_test), model.certificate_.history[-1]["epochs"], start


def sweep_epsilon(epsilons, seeds):
    X_train, X_test, y_train, y_test = _data()
    forget = np.random.default_rng(0).permutation(X_train.shape[0])[: X_train.shape[0] // 10]
    rows = {"logistic": [], "mlp": []}
    for epsilon in epsilons:
        for name, make in (("logistic", lambda s: NoisyLogisticRegression(epsilon=epsilon, random_state=s)),
                           ("mlp", lambda s: NoisyMLPClassifier(hidden_layer_sizes=(64,), max_iter=20,
                                                                epsilon=epsilon, random_state=s))):
            runs = []
            for seed in seeds:
                model = make(seed).fit(X_train, y_train)
                noise = getattr(model, "noise_", None) or model.unlearning_noise_
                accuracy, epochs, _ = _forget_and_score(model, X_test, y_test, forget)
                runs.append((accuracy, epochs, noise))
            rows[name].append(np.mean(runs, axis=0))
    return {k: np.array(v) for k, v in rows.items()}


def sweep_noise(noises, seeds):
    X_train, X_test, y_train, y_test = _data()
    forget = np.random.default_rng(0).permutation(X_train.shape[0])[: X_train.shape[0] // 10]
    rows = []
    for noise in noises:
        runs = []
        for seed in seeds:
            model = NoisyLogisticRegression(noise=noise, random_state=seed).fit(X_train, y_train)
            accuracy, epochs, _ = _forget_and_score(model, X_test, y_test, forget)
            runs.append((accuracy, epochs))
        rows.append(np.mean(runs, axis=0))
    return np.array(rows)


def main(output_dir=OUTPUT_DIR, small=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    epsilons = [0.5, 2.0] if small else [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    noises = [0.01, 0.05] if small else [0.003, 0.01, 0.02, 0.05, 0.1, 0.2]
    seeds = [0] if small else [0, 1, 2]
    by_epsilon = sweep_epsilon(epsilons, seeds)
    by_noise = sweep_noise(noises, seeds)

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, label in (("logistic", "NoisyLogisticRegression"), ("mlp", "NoisyMLPClassifier (64 hidden)")):
        axes[0].plot(epsilons, by_epsilon[name][:, 0], "o-", label=label)
        axes[2].plot(epsilons, by_epsilon[name][:, 2], "o-", label=label)
    axes[1].plot(epsilons, by_epsilon["logistic"][:, 1], "o-", label="NoisyLogisticRegression")
    axes[1].plot(epsilons, by_epsilon["mlp"][:, 1], "o-", label="NoisyMLPClassifier (noisy epochs)")
    axes[0].set(title="test accuracy after forgetting", xlabel="target epsilon", ylabel="accuracy")
    axes[1].set(title="epochs a 10-row request costs", xlabel="target epsilon", ylabel="noisy epochs")
    axes[2].set(title="calibrated noise sigma", xlabel="target epsilon", ylabel="sigma", yscale="log")
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("digits, delta = 1/n: the privacy-utility-compute trade-off")
    figure.tight_layout()
    epsilon_path = out / "tradeoff_epsilon.png"
    figure.savefig(epsilon_path, dpi=110)

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    axes[0].plot(noises, by_noise[:, 0], "o-")
    axes[0].set(title="test accuracy after forgetting", xlabel="noise sigma", ylabel="accuracy", xscale="log")
    axes[1].plot(noises, by_noise[:, 1], "o-")
    axes[1].set(title="epochs a 10-row request costs (epsilon = 1)", xlabel="noise sigma", ylabel="noisy epochs",
                xscale="log")
    for axis in axes:
        axis.grid(alpha=0.3)
    figure.suptitle("NoisyLogisticRegression on digits: more noise, less accuracy, cheaper unlearning")
    figure.tight_layout()
    noise_path = out / "tradeoff_noise.png"
    figure.savefig(noise_path, dpi=110)
    print(f"saved {epsilon_path} and {noise_path}")
    return epsilon_path, noise_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output-dir", "--out", dest="output_dir", type=Path, default=OUTPUT_DIR,
                        help=f"directory the figures are written to (default: {OUTPUT_DIR})")
    parser.add_argument("--small", action="store_true", help="a quick run on fewer settings")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(args.output_dir, args.small)
