"""Command line: ``python -m skunlearn demo`` and ``python -m skunlearn calibrate``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from ._constants import cyclic_batch_bounds, logistic_constants
from ._defaults import default_delta, resolve_delta
from ._ledgers import StronglyConvexLedger
from .accounting import (
    CalibrationError,
    calibrate_noise,
    calibrate_steps,
    linear_rdp,
    max_step_size,
    rdp_to_dp,
    single_removal_rdp_coefficient,
    step_contraction,
)


def _calibration_parser(subparsers):
    parser = subparsers.add_parser(
        "calibrate",
        help="noise needed per unlearning-epoch budget, and epochs needed per noise",
        description=(
            "Privacy calculator for projected noisy SGD on a strongly convex loss (the bound derived in skunlearn.accounting.pnsgd): "
            "one request forgetting one row after --train-epochs epochs, then K unlearning epochs."
        ),
    )
    parser.add_argument("--epsilon", type=float, required=True, help="target epsilon")
    parser.add_argument("--delta", type=float, default=None,
                        help="target delta (default min(1e-6, n^-1.5), below 1/n)")
    parser.add_argument("--n-samples", type=int, required=True, help="rows trained on, n")
    parser.add_argument("--batch-size", type=int, default=None, help="b (default: full batch)")
    parser.add_argument("--l2", type=float, required=True, help="L2 penalty lambda (strong convexity)")
    parser.add_argument("--n-classes", type=int, default=2,
                        help="classes of the logistic loss: 2 binary, more softmax (sets the defaults of L and M)")
    parser.add_argument("--data-norm", type=float, default=1.0, help="row norm bound D, as the estimator's data_norm")
    parser.add_argument("--n-features", type=int, default=10,
                        help="columns of X (the intercept is added); sets the kernels' rounding bound")
    parser.add_argument("--smoothness", type=float, default=None,
                        help="per-row smoothness L (default: the logistic loss's, D^2/4 binary, D^2/2 softmax)")
    parser.add_argument("--lipschitz", type=float, default=None,
                        help="per-row gradient bound M (default: the logistic loss's, D binary, sqrt(2) D softmax)")
    parser.add_argument("--radius", type=float, default=None,
                        help="projection radius R (default: M / lambda, as the estimator; inf: no projection)")
    parser.add_argument("--step-size", type=float, default=None, help="eta (default: the largest allowed)")
    parser.add_argument("--train-epochs", type=int, default=10, help="T")
    parser.add_argument("--unlearn-epochs", type=int, nargs="+", default=[1, 2, 5, 10, 20], help="budgets K")
    parser.add_argument("--noise", type=float, nargs="*", default=[], help="noise values sigma for the reverse table")
    parser.add_argument("--conversion", choices=("tight", "classic"), default="tight")
    return parser


def _calibrate(args) -> int:
    n = args.n_samples
    batch_size = n if args.batch_size is None else args.batch_size
    if not 1 <= batch_size <= n:
        raise SystemExit(f"--batch-size must lie in [1, {n}], got {batch_size}")
    delta = resolve_delta(args.delta, n)
    # The estimator's constants (NoisyLogisticRegression.fit), with L and M overridable.
    constants = logistic_constants(args.n_classes, args.data_norm, args.l2)
    constants = dataclasses.replace(
        constants,
        smoothness=constants.smoothness if args.smoothness is None else args.smoothness,
        lipschitz=constants.lipschitz if args.lipschitz is None else args.lipschitz,
    )
    smoothness, lipschitz = constants.smoothness, constants.lipschitz
    radius = constants.default_radius() if args.radius is None else args.radius
    step_size = args.step_size or max_step_size(smoothness, args.l2)
    contraction = step_contraction(step_size, smoothness, args.l2)
    # The estimator's batches: evenly split, the last one the smallest.
    bounds = cyclic_batch_bounds(n, batch_size)
    n_batches = bounds.size - 1
    last_batch = int(bounds[-1] - bounds[-2])

    n_outputs = 1 if args.n_classes == 2 else args.n_classes
    floor = 0.0
    if np.isfinite(radius):
        # The estimator's own ledger (one source of truth): its bound, with the kernels' rounding charged at
        # every step, and its noise floor of 2**20 ulps of R (skunlearn.accounting.floating_point).
        base = StronglyConvexLedger(
            step_size=step_size, lipschitz=lipschitz, smoothness=smoothness, strong_convexity=args.l2,
            radius=radius, noise_std=1.0, n_slots=n, batch_size=batch_size, train_epochs=args.train_epochs,
            target_epsilon=args.epsilon, target_delta=delta, n_features=args.n_features + 1, n_outputs=n_outputs,
            data_norm=args.data_norm,
        )
        probe = base.advanced(args.train_epochs).with_removed([n - 1])  # one row, in the last (worst) slot
        floor = base.minimum_noise()

        def rho_of(noise, epochs):
            return dataclasses.replace(probe, noise_std=noise).advanced(epochs).rdp_coefficient()
    else:
        # No radius: neither the rounding bound nor the noise floor exists; exact arithmetic only.
        def rho_of(noise, epochs):
            return single_removal_rdp_coefficient(
                args.train_epochs, epochs, n_batches, step_size, lipschitz, last_batch, contraction, noise, radius)

    def epsilon(noise, epochs):
        rho = rho_of(noise, epochs)
        if rho == 0 or not np.isfinite(rho):
            return float(rho)
        return rdp_to_dp(linear_rdp(rho), delta, conversion=args.conversion, warn_at_edge=False).epsilon

    print(f"target (epsilon, delta) = ({args.epsilon:g}, {delta:.3g}); n={n}, b={batch_size}, "
          f"lambda={args.l2:g}, L={smoothness:g}, M={lipschitz:g}, R={radius:g}")
    print(f"step size eta={step_size:.6g}, contraction c={contraction:.6g}, {n_batches} steps per epoch "
          f"(last batch {last_batch} rows), {args.train_epochs} training epochs; noise per step sqrt(2 eta) sigma")
    if np.isfinite(radius):
        print(f"rounding charged at every step for {args.n_features} features; noise floor sigma={floor:.3g}")
    else:
        print("no radius: exact arithmetic only (the rounding bound and the noise floor need a finite R)")
    print()
    print(f"{'unlearn epochs':>15} {'noise sigma':>14} {'epsilon':>10}")
    for epochs in args.unlearn_epochs:
        noise = max(calibrate_noise(lambda s, k=epochs: epsilon(s, k), args.epsilon), floor)
        print(f"{epochs:>15d} {noise:>14.6g} {epsilon(noise, epochs):>10.5g}")
    if args.noise:
        print()
        print(f"{'noise sigma':>14} {'unlearn epochs':>15} {'epsilon':>10}")
        for noise in args.noise:
            try:
                epochs = calibrate_steps(lambda k, s=noise: epsilon(s, k), args.epsilon, max_steps=10**5)
                print(f"{noise:>14.6g} {epochs:>15d} {epsilon(noise, epochs):>10.5g}")
            except CalibrationError:
                print(f"{noise:>14.6g} {'> 1e5':>15} {'':>10}")
    return 0


_DEMO_LEGEND = """\
How to read it. Each model is trained, then asked to forget 10% of its training rows.
  fit      seconds to train, and accuracy on held-out test rows. The line below it is the
           certificate after fit: what is guaranteed before anyone asks to forget a row.
  unlearn  seconds to forget the rows (noisy training epochs on the rows that remain),
           and the test accuracy after. The certificate below it is the promise: anyone
           comparing this model with one retrained without those rows cannot tell them
           apart beyond (epsilon, delta); "satisfied" means it meets the target.
  retrain  the exact but slow alternative: training from scratch without those rows.
  sklearn  scikit-learn's usual, noise-free model on the same rows, for comparison: the
           accuracy certified forgetting costs (it cannot forget anything itself).
"""


def _demo_one(name, make_model, make_baseline, data, forget, requests):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    model = make_model().fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    print(f"{name}")
    print(f"  fit      {fit_seconds:7.3f} s   test accuracy {model.score(X_test, y_test):.3f}")
    print(f"           {model.certificate_}")
    start = time.perf_counter()
    for request in np.array_split(forget, requests):
        model.unlearn(positions=request)
    unlearn_seconds = time.perf_counter() - start
    print(f"  unlearn  {unlearn_seconds:7.3f} s   test accuracy {model.score(X_test, y_test):.3f}   "
          f"({forget.size} rows in {requests} requests)")
    print(f"           {model.certificate_}")
    keep = np.setdiff1d(np.arange(X_train.shape[0]), forget)
    start = time.perf_counter()
    retrained = make_model().fit(X_train[keep], y_train[keep])
    retrain_seconds = time.perf_counter() - start
    print(f"  retrain  {retrain_seconds:7.3f} s   test accuracy {retrained.score(X_test, y_test):.3f}   "
          "(from scratch on the retained rows)")
    baseline = make_baseline()
    start = time.perf_counter()
    # One BLAS thread: matrices this small only lose to thread start-up (and to numba's threads).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        baseline.fit(X_train, y_train)
    baseline_seconds = time.perf_counter() - start
    print(f"  sklearn  {baseline_seconds:7.3f} s   test accuracy {baseline.score(X_test, y_test):.3f}   "
          f"({baseline!r} on all training rows, no noise, cannot forget)\n")


def _demo(args) -> int:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from .linear_model import NoisyLogisticRegression
    from .neural_network import NoisyMLPClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    # Scaling by the known pixel range (0..16) keeps the guarantee; a scaler fitted on the
    # private rows would not (see the README).
    data = ((X_train - 8.0) / 8.0, (X_test - 8.0) / 8.0, y_train, y_test)
    n = X_train.shape[0]
    forget = np.random.default_rng(0).permutation(n)[: n // 10]
    from ._backends.numba import warm_up

    start = time.perf_counter()
    warm_up()  # compiles on the first run after installing, then loads numba's cache
    print(f"numba kernels ready in {time.perf_counter() - start:.1f} s (compiled once per installation)\n")
    print(f"skunlearn demo on load_digits (8x8 images of handwritten digits): {n} training rows, "
          f"{X_test.shape[0]} test rows, {X.shape[1]} features, 10 classes")
    print(f"target: ({args.epsilon:g}, {default_delta(n):.2g})-unlearning of {forget.size} rows (10%) in "
          f"{args.requests} requests; smaller epsilon and delta are stronger promises\n")
    print(_DEMO_LEGEND)
    _demo_one("NoisyLogisticRegression",
              lambda: NoisyLogisticRegression(epsilon=args.epsilon, random_state=args.seed),
              lambda: LogisticRegression(),
              data, forget, args.requests)
    _demo_one("NoisyMLPClassifier (one hidden layer of 100, model clipping)",
              lambda: NoisyMLPClassifier(epsilon=args.epsilon, random_state=args.seed),
              lambda: MLPClassifier(random_state=args.seed),
              data, forget, args.requests)
    return 0


def _warmup(args) -> int:
    """Compile (or load) every CPU kernel, for float32 and float64 data, dense and sparse."""
    import time

    from ._backends.numba import warm_up

    start = time.perf_counter()
    warm_up()
    print(f"kernels ready in {time.perf_counter() - start:.1f} s (cached by numba for later processes)")
    return 0


def main(argv=None) -> int:
    """Entry point of ``python -m skunlearn``."""
    parser = argparse.ArgumentParser(
        prog="python -m skunlearn",
        description="Command line of skunlearn: a demo of certified unlearning, a privacy calculator, and the "
                    "kernels' ahead-of-time compilation.",
    )
    subparsers = parser.add_subparsers(dest="command")
    demo = subparsers.add_parser("demo", help="fit, unlearn and certify on a dataset scikit-learn ships")
    demo.add_argument("--epsilon", type=float, default=1.0, help="target epsilon (default 1)")
    demo.add_argument("--requests", type=int, default=10, help="sequential requests forgetting 10%% of rows")
    demo.add_argument("--seed", type=int, default=None,
                      help="seed of the batch order and noise (reproducible, but then the guarantee holds only "
                           "against whoever does not know it; default: the operating system's entropy)")
    demo.set_defaults(handler=_demo)
    _calibration_parser(subparsers).set_defaults(handler=_calibrate)
    subparsers.add_parser("warmup", help="compile the numba kernels ahead of time (once per installation)") \
        .set_defaults(handler=_warmup)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    np.set_printoptions(precision=4)
    try:
        return args.handler(args)
    except (ValueError, CalibrationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
