"""Descent-to-Delete as a baseline: the noise each method needs, and the accuracy after one single-row request.

In the style of the comparisons of Chien et al. (Langevin unlearning, NeurIPS 2024,
arXiv:2401.10371; PNSGD, arXiv:2403.17105): for ε in {0.5, 1, 2, 5} and δ = 1/n, on
digits (X / 16: the pixel range is public) and breast cancer (MaxAbsScaler fitted
on the training split, as a user would; a scaler fitted on the private rows is not
covered by any of the three certificates, see the README), three certified ways to
forget one row of an L2-regularised logistic regression:

* **D2D** [Neel, Roth, Sharifi-Malvajerdi, ALT 2021]: full-batch projected gradient
  descent trained to convergence; the request runs ``I`` gradient steps on the
  retained rows from the previous (unperturbed, secret) iterate and publishes it
  plus N(0, σ² I), σ from :func:`skunlearn.accounting.descent_to_delete.d2d_noise`
  (constants as Chien et al. restate them; see that module). The loss, the row
  scaling (rows with the intercept column scaled to norm ≤ 1), λ and the ball are
  those of our default model; as D2D's analysis puts the regulariser in every row's
  loss, m = λ, L = L_loss + λ, M = M_loss + λR. ``I = 6``: the passes over the
  retained rows our default request makes (3 noisy + 3 noise-free epochs), so equal
  compute; the σ D2D would need with ``I = 30`` (the training's epochs, a
  retraining's compute) is printed too.
* **ours, default**: ``NoisyLogisticRegression(epsilon=ε)`` (the coupled bound).
* **ours, published**: the same with ``bound="published"`` (the papers' form).

Noise columns: D2D's σ is the standard deviation of the noise in the published model,
per coordinate. Ours adds ``s = sqrt(2η) σ`` at each of the N noisy steps of the
request; ``noisy`` is the noise those steps leave in the model, per coordinate,
``s sqrt(Σ_{j<N} c^{2j})`` with ``c = 1 − ηλ`` (what the noise-free fine-tuning then
contracts further), the quantity to set against D2D's σ. The parameters lie in a
ball of radius R = M/λ, printed for scale. Accuracies: test accuracy after the
request, the mean over 5 fits (ours) or 20 noise draws (D2D); ``exact`` is the
noise-free regularised optimum on the retained rows (the bias of λ alone).

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_d2d.py [--quick]``. A measurement:
the exit status is 0 unless something fails.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings

import numpy as np
from scipy.special import expit, softmax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from skunlearn import NoisyLogisticRegression  # noqa: E402
from skunlearn._constants import logistic_constants, scale_rows  # noqa: E402
from skunlearn.accounting.descent_to_delete import d2d_noise, d2d_step_size  # noqa: E402

EPSILONS = (0.5, 1.0, 2.0, 5.0)
REQUEST_PASSES = 6  # our default request: unlearning_epochs=3 noisy + finetune_epochs=3 noise-free
RETRAIN_PASSES = 30  # max_iter: the training's epochs
D2D_L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)  # λ searched for D2D's best accuracy


def _datasets():
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MaxAbsScaler

    X, y = load_digits(return_X_y=True)
    yield ("digits", "X / 16", *train_test_split(X / 16.0, y, random_state=0, stratify=y))
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = MaxAbsScaler().fit(X_train)  # fitted on the private training rows, as a user would
    yield ("breast cancer", "MaxAbsScaler fitted on the training split: not covered by the certificates",
           scaler.transform(X_train), scaler.transform(X_test), y_train, y_test)


class _Logistic:
    """The estimator's loss, full batch, in numpy: mean logistic (or softmax) loss + (λ/2)‖θ‖², ball of radius R."""

    def __init__(self, X, codes, n_classes, l2, radius):
        self.X = scale_rows(np.asarray(X, dtype=np.float64), 1.0)
        self.binary = n_classes == 2
        self.targets = codes[:, None].astype(float) if self.binary else np.eye(n_classes)[codes]
        self.l2, self.radius = l2, radius
        self.shape = (1 if self.binary else n_classes, self.X.shape[1])

    def step(self, theta, rows, step_size):
        X = self.X[rows]
        scores = X @ theta.T
        probabilities = expit(scores) if self.binary else softmax(scores, axis=1)
        gradient = (probabilities - self.targets[rows]).T @ X / rows.size + self.l2 * theta
        theta = theta - step_size * gradient
        norm = np.linalg.norm(theta)
        return theta * (self.radius / norm) if norm > self.radius else theta


def _accuracy(theta, X_test, codes_test):
    scores = scale_rows(np.asarray(X_test, dtype=np.float64), 1.0) @ theta.T
    predicted = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
    return float(np.mean(predicted == codes_test))


class _D2D:
    """D2D on one data set after forgetting row 0, for any λ (trained once per λ)."""

    def __init__(self, X_train, codes, X_test, codes_test, n_classes, rng, draws=20):
        self.data = (X_train, codes, X_test, codes_test, n_classes)
        self.rng, self.draws, self.cache = rng, draws, {}

    def _runs(self, l2):
        if l2 not in self.cache:
            X_train, codes, X_test, codes_test, n_classes = self.data
            constants = logistic_constants(n_classes, 1.0, l2)
            radius = constants.default_radius()  # M/λ, the ball our estimator uses
            smoothness = constants.smoothness + l2  # the regulariser inside each row's loss, as in D2D
            lipschitz = constants.lipschitz + l2 * radius
            step_size = d2d_step_size(smoothness, l2)
            problem = _Logistic(X_train, codes, n_classes, l2, radius)
            n = X_train.shape[0]
            every, retained = np.arange(n), np.arange(1, n)
            theta = _converge(problem, np.zeros(problem.shape), every, step_size)  # training, to the minimiser
            secret, current = {}, theta
            for passes in range(1, max(REQUEST_PASSES, RETRAIN_PASSES) + 1):  # the request, from the secret iterate
                current = problem.step(current, retained, step_size)
                secret[passes] = current
            exact = _converge(problem, theta, retained, step_size)
            self.cache[l2] = (secret, (lipschitz, smoothness, n - 1), _accuracy(exact, X_test, codes_test))
        return self.cache[l2]

    def exact(self, l2):
        """Test accuracy of the noise-free regularised optimum on the retained rows."""
        return self._runs(l2)[2]

    def __call__(self, epsilon, delta, l2, passes):
        """(σ, mean test accuracy over noise draws) of the published model after the request."""
        secret, (lipschitz, smoothness, n_retained), _ = self._runs(l2)
        X_test, codes_test = self.data[2], self.data[3]
        sigma = d2d_noise(epsilon, delta, lipschitz, smoothness, l2, n_retained, passes)
        theta = secret[passes]
        accuracies = [_accuracy(theta + sigma * self.rng.standard_normal(theta.shape), X_test, codes_test)
                      for _ in range(self.draws)]
        return sigma, float(np.mean(accuracies))

    def best(self, epsilon, delta, passes, grid=D2D_L2_GRID):
        """The λ of ``grid`` with the best mean accuracy (an oracle choice on the test set, in D2D's favour)."""
        results = [(l2, *self(epsilon, delta, l2, passes)) for l2 in grid]
        return max(results, key=lambda result: result[2])


def _converge(problem, theta, rows, step_size, max_steps=50_000):
    """Projected gradient descent until the step no longer moves the iterate (float precision)."""
    for _ in range(max_steps):
        new = problem.step(theta, rows, step_size)
        if np.linalg.norm(new - theta) <= 1e-12 * max(1.0, np.linalg.norm(theta)):
            return new
        theta = new
    return theta


def _ours(X_train, y_train, X_test, y_test, epsilon, bound, seeds):
    """Mean accuracy after forgetting row 0, and the per-step and accumulated noise of the request."""
    accuracies, seconds = [], []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the noise-dominates warning: the table shows it
            model = NoisyLogisticRegression(epsilon=epsilon, bound=bound, random_state=seed).fit(X_train, y_train)
        start = time.perf_counter()
        model.unlearn([0])
        seconds.append(time.perf_counter() - start)
        accuracies.append(model.score(X_test, y_test))
    step_noise = math.sqrt(2.0 * model.step_size_) * model.noise_
    contraction = 1.0 - model.step_size_ * model.alpha_
    n_steps = model.certificate_.history[-1]["epochs"] * math.ceil(X_train.shape[0] / 64)
    accumulated = step_noise * math.sqrt((1.0 - contraction ** (2 * n_steps)) / (1.0 - contraction**2))
    return {"step": step_noise, "noisy": accumulated, "accuracy": float(np.mean(accuracies)), "model": model,
            "epochs": model.certificate_.history[-1]["epochs"], "seconds": float(np.median(seconds))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two values of epsilon and two seeds (smoke test)")
    args = parser.parse_args(argv)
    epsilons = (1.0, 5.0) if args.quick else EPSILONS
    seeds = range(2) if args.quick else range(5)
    started = time.perf_counter()
    print(f"one single-row request, delta = 1/n; D2D with I = {REQUEST_PASSES} gradient steps (our request's passes) "
          f"and I = {RETRAIN_PASSES} (a retraining's);\nnoise: D2D sigma per coordinate of the published model, ours "
          "per step and accumulated over the noisy steps; acc: test accuracy after the request\n")
    for name, scaling, X_train, X_test, y_train, y_test in _datasets():
        classes = np.unique(y_train)
        codes, codes_test = np.searchsorted(classes, y_train), np.searchsorted(classes, y_test)
        n = X_train.shape[0]
        delta = 1.0 / n
        d2d = _D2D(X_train, codes, X_test, codes_test, classes.size, np.random.default_rng(0))
        print(f"== {name}: {n} training rows, {classes.size} classes, delta = 1/{n} ({scaling})")
        print(f"  {'':>4}   {'':>7} {'':>5} | {'D2D, our lambda':^18} | {'D2D, its best lambda':^37} | "
              f"{'ours, default':^22} | {'ours, published':^22}")
        print(f"  {'eps':>4}   {'lambda':>7} {'exact':>5} | {'I=' + str(REQUEST_PASSES) + ' sigma':>11} {'acc':>6} | "
              f"{'lambda':>6} {'I=' + str(REQUEST_PASSES) + ' sigma':>9} {'acc':>5} {'I=' + str(RETRAIN_PASSES) + ' sigma':>9} "
              f"{'acc':>5} | {'step':>7} {'noisy':>7} {'acc':>6} | {'step':>7} {'noisy':>7} {'acc':>6}")
        for epsilon in epsilons:
            default = _ours(X_train, y_train, X_test, y_test, epsilon, "coupled", seeds)
            published = _ours(X_train, y_train, X_test, y_test, epsilon, "published", seeds)
            l2 = default["model"].alpha_
            sigma, accuracy = d2d(epsilon, delta, l2, REQUEST_PASSES)
            best_l2, best_sigma, best_accuracy = d2d.best(epsilon, delta, REQUEST_PASSES)
            _, long_sigma, long_accuracy = d2d.best(epsilon, delta, RETRAIN_PASSES)
            print(f"  {epsilon:>4g}   {l2:>7.2g} {d2d.exact(l2):>5.3f} | {sigma:>11.3g} {accuracy:>6.3f} | "
                  f"{best_l2:>6g} {best_sigma:>9.3g} {best_accuracy:>5.3f} {long_sigma:>9.3g} {long_accuracy:>5.3f} | "
                  f"{default['step']:>7.3g} {default['noisy']:>7.3g} {default['accuracy']:>6.3f} | "
                  f"{published['step']:>7.3g} {published['noisy']:>7.3g} {published['accuracy']:>6.3f}")
        print(f"  (our request: {default['epochs']} noisy + {default['model'].finetune_epochs} noise-free epochs, "
              f"{default['seconds'] * 1e3:.1f} ms; the ball's radius R = M/lambda, e.g. "
              f"{default['model'].radius_:.3g} at eps = {epsilons[-1]:g})\n")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
