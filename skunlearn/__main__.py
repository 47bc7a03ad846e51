"""Command line: ``python -m skunlearn demo`` and ``python -m skunlearn calibrate``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from ._defaults import default_delta
from .accounting import CalibrationError, calibrate_steps


def _calibration_parser(subparsers):
    parser = subparsers.add_parser(
        "calibrate",
        help="the noise NoisyLogisticRegression would pick, per unlearning-epoch budget, and epochs per noise",
        description=(
            "Privacy calculator for NoisyLogisticRegression: the set-up its fit would make for the given shape and "
            "parameters (the same function, so the same constants, noise and budget), then the noise each "
            "unlearning-epoch budget needs for one request forgetting one row, and the epochs each given noise "
            "needs. Unset parameters take the estimator's defaults."
        ),
    )
    parser.add_argument("--epsilon", type=float, required=True, help="target epsilon")
    parser.add_argument("--n-samples", type=int, required=True, help="rows trained on, n")
    parser.add_argument("--n-features", type=int, required=True,
                        help="columns of X (the intercept is added); sets the parameter count and the rounding bound")
    parser.add_argument("--n-classes", type=int, default=2, help="classes: 2 binary, more softmax (default 2)")
    parser.add_argument("--delta", type=float, default=None,
                        help="target delta (default min(1e-6, n^-1.5), below 1/n)")
    parser.add_argument("--alpha", "--l2", dest="alpha", type=float, default=None,
                        help="L2 penalty (strong convexity; default: the estimator's rule from n, p, epsilon, delta)")
    batching = parser.add_mutually_exclusive_group()
    batching.add_argument("--batch-size", type=int, default=None,
                          help="b (default: the estimator's, full batch up to 1,000 rows, else 64)")
    batching.add_argument("--full-batch", action="store_true", help="batch_size=None: full-batch steps")
    parser.add_argument("--data-norm", type=float, default=1.0, help="row norm bound D, as the estimator's data_norm")
    parser.add_argument("--radius", type=float, default=None, help="projection radius R (default M / alpha)")
    parser.add_argument("--learning-rate", "--step-size", dest="learning_rate", type=float, default=None,
                        help="learning_rate_init, eta (default: the largest the certificate allows)")
    parser.add_argument("--max-iter", "--train-epochs", dest="max_iter", type=int, default=None,
                        help="training epochs T (default: the estimator's, 300 full-batch or 30 mini-batch)")
    parser.add_argument("--private-training", action="store_true", help="train with the noise too")
    parser.add_argument("--unlearn-epochs", type=int, nargs="+", default=[1, 2, 3, 5, 10],
                        help="noisy-epoch budgets K to tabulate")
    parser.add_argument("--noise", type=float, nargs="*", default=[], help="noise values sigma for the reverse table")
    return parser


def _estimator_parameters(args, **overrides):
    """The NoisyLogisticRegression parameters the arguments stand for, checked by the estimator's own constraints."""
    from .linear_model import NoisyLogisticRegression

    parameters = {"epsilon": args.epsilon, "delta": args.delta, "alpha": args.alpha,
                  "batch_size": None if args.full_batch else "auto" if args.batch_size is None else args.batch_size,
                  "data_norm": args.data_norm, "radius": args.radius, "learning_rate_init": args.learning_rate,
                  "max_iter": "auto" if args.max_iter is None else args.max_iter,
                  "private_training": args.private_training, **overrides}
    NoisyLogisticRegression(**parameters)._validate_params()  # the estimator's messages, before any output
    return parameters


def _calibrate(args) -> int:
    from ._problems.logistic import logistic_setup

    if args.n_samples < 2 or args.n_features < 1 or args.n_classes < 2:
        raise ValueError(f"need --n-samples >= 2, --n-features >= 1 and --n-classes >= 2, got {args.n_samples}, "
                         f"{args.n_features} and {args.n_classes}")
    if any(epochs < 1 for epochs in args.unlearn_epochs) or any(not noise > 0 for noise in args.noise):
        raise ValueError("--unlearn-epochs must be >= 1 and --noise values > 0")
    shape = {"n_samples": args.n_samples, "n_features": args.n_features, "n_classes": args.n_classes}
    parameters = _estimator_parameters(args)
    setup = logistic_setup(**shape, **parameters)  # what NoisyLogisticRegression(**parameters).fit would pick
    budgets = {epochs: logistic_setup(**shape, **_estimator_parameters(args, unlearning_epochs=epochs))
               for epochs in args.unlearn_epochs}
    ledger, constants = setup.ledger, setup.constants
    probe = ledger.advanced(ledger.train_epochs, noisy=ledger.private_training).with_removed([ledger.n_slots - 1])

    def request(noise, epochs):  # one row forgotten from the worst slot, as the calibration reads it
        return dataclasses.replace(probe, noise_std=noise).advanced(epochs)

    def epsilon(noise, epochs):
        return request(noise, epochs).epsilon()[0]

    def excess(noise, epochs):  # the calibration's criterion: epsilon over the epsilon the state can certify
        return epsilon(noise, epochs) / request(noise, epochs).certified_target_epsilon

    print(f"target (epsilon, delta) = ({args.epsilon:g}, {setup.delta:.3g}); n={args.n_samples}, "
          f"b={setup.batch_size}, alpha={setup.alpha:.4g}, L={constants.smoothness:g}, M={constants.lipschitz:g}, "
          f"R={setup.radius:g}")
    print(f"step size eta={setup.step_size:.6g}, contraction c={ledger.contraction:.6g}, {ledger.n_batches} steps "
          f"per epoch (last batch {ledger.last_batch_size} rows), {setup.max_iter} training epochs; noise per step "
          f"sqrt(2 eta) sigma; rounding charged for {args.n_features} features, noise floor "
          f"sigma={ledger.minimum_noise():.3g}")
    print(f"NoisyLogisticRegression would pick: unlearning_epochs_={setup.unlearning_epochs}, "
          f"finetune_epochs_={setup.finetune_epochs}, noise_={setup.noise:.6g}\n")
    print(f"{'unlearn epochs':>15} {'noise sigma':>14} {'epsilon':>10}")
    for epochs, budget in budgets.items():
        print(f"{epochs:>15d} {budget.noise:>14.6g} {epsilon(budget.noise, epochs):>10.5g}")
    if args.noise:
        print()
        print(f"{'noise sigma':>14} {'unlearn epochs':>15} {'epsilon':>10}")
        for noise in args.noise:
            try:
                epochs = calibrate_steps(lambda k, s=noise: excess(s, k), 1.0, max_steps=10**5)
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
    return unlearn_seconds / requests, retrain_seconds


def _demo(args) -> int:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from .linear_model import NoisyLogisticRegression
    from .neural_network import NoisyMLPClassifier

    if args.requests < 1:
        raise ValueError(f"--requests must be at least 1, got {args.requests}")
    NoisyLogisticRegression(epsilon=args.epsilon)._validate_params()  # a bad target fails before any output
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
    costs = {}
    costs["NoisyLogisticRegression"] = _demo_one("NoisyLogisticRegression",
              lambda: NoisyLogisticRegression(epsilon=args.epsilon, random_state=args.seed),
              lambda: LogisticRegression(),
              data, forget, args.requests)
    costs["NoisyMLPClassifier"] = _demo_one("NoisyMLPClassifier (one hidden layer of 100, model clipping)",
                                            lambda: NoisyMLPClassifier(epsilon=args.epsilon, random_state=args.seed),
                                            lambda: MLPClassifier(random_state=args.seed),
                                            data, forget, args.requests)
    print("Where a request pays off: one request against retraining from scratch, on these rows:")
    for name, (request, retrain) in costs.items():
        ratio = retrain / request
        print(f"  {name:<24} one request {request:.3f} s, retraining {retrain:.3f} s: "
              + (f"the request {ratio:.1f}x faster" if ratio >= 1 else f"retraining {1 / ratio:.1f}x faster"))
    print("On 1,347 rows either takes a fraction of a second; the gap grows with the data: on 10^7 x 100 rows from a\n"
          "disk store one request took 2.0 s against 47 s for retraining (benchmarks/bench_scale.py).")
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
