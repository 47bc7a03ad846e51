"""Random features vs NoisyMLPClassifier: the certified nonlinear alternative, on digits at ε = 1.

``make_pipeline(RBFSampler(gamma=0.2, n_components=1000, random_state=0), NoisyLogisticRegression(...))``
is certified end to end (the sampler is a public map: its ``fit`` reads only X's shape;
see ``examples/random_features.py``). One line each, mean over seeds, digits with the
public pixel scaling X / 16, ε = 1, the default δ (min(1e-6, n^-1.5); the numbers below
were measured at the earlier default 1/n), forgetting one row:

* NoisyLogisticRegression on the pixels (linear, the defaults);
* random features + NoisyLogisticRegression with the default α rule;
* random features + NoisyLogisticRegression(alpha=2e-3, finetune_epochs=10), the
  example's settings (fixed by hand on digits, so optimistic);
* NoisyMLPClassifier with its defaults (100 hidden, model clipping) and with
  gradient clipping.

Columns: test accuracy after fit and after the request, the request's epochs (noisy +
noise-free passes over the retained rows) and its wall time (median), the fit's wall
time, and the certified ε after the request.

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_random_features.py [--quick]``. A
measurement: the exit status is 0 unless something fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.kernel_approximation import RBFSampler  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, unlearn_pipeline  # noqa: E402


def _contenders(n_components):
    def features(seed, **params):
        return make_pipeline(RBFSampler(gamma=0.2, n_components=n_components, random_state=seed),
                             NoisyLogisticRegression(random_state=seed, **params))

    return [
        ("NoisyLogisticRegression (linear)", lambda seed: NoisyLogisticRegression(random_state=seed)),
        (f"RBF {n_components} + NoisyLogReg (alpha rule)", lambda seed: features(seed)),
        (f"RBF {n_components} + NoisyLogReg (a=2e-3, ft 10)",
         lambda seed: features(seed, alpha=2e-3, finetune_epochs=10)),
        ("NoisyMLPClassifier (100, model clip)", lambda seed: NoisyMLPClassifier(random_state=seed)),
        ("NoisyMLPClassifier (100, grad clip)",
         lambda seed: NoisyMLPClassifier(unlearn_method="gradient_clipping", random_state=seed)),
    ]


def _request(model):
    """Forget row 0 (through the pipeline when there is one); the final estimator."""
    if hasattr(model, "steps"):
        unlearn_pipeline(model, positions=[0], public_steps=("rbfsampler",))
        return model[-1]
    model.unlearn([0])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 300 components (smoke test)")
    args = parser.parse_args(argv)
    seeds = range(1) if args.quick else range(5)
    n_components = 300 if args.quick else 1000
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0, stratify=y)
    started = time.perf_counter()
    print(f"digits, {X_train.shape[0]} training rows, X / 16, epsilon = 1, default delta = min(1e-6, n^-1.5); one single-row request; "
          f"mean over {len(seeds)} seeds\n")
    header = (f"  {'model':<42} {'acc fit':>7} {'acc after':>9} {'request epochs':>15} {'request s':>9} "
              f"{'fit s':>6} {'eps':>6}")
    print(header)
    for name, make in _contenders(n_components):
        before, after, request_s, fit_s, epochs, epsilons = [], [], [], [], [], []
        for seed in seeds:
            model = make(seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model.fit(X_train, y_train)
            fit_s.append(time.perf_counter() - start)
            before.append(model.score(X_test, y_test))
            start = time.perf_counter()
            final = _request(model)
            request_s.append(time.perf_counter() - start)
            after.append(model.score(X_test, y_test))
            entry = final.certificate_.history[-1]
            quiet = entry.get("finetune_epochs", final.finetune_epochs if final.certificate_.satisfied else 0)
            epochs.append(f"{entry['epochs']} + {quiet}")
            epsilons.append(final.certificate_.epsilon)
        print(f"  {name:<42} {np.mean(before):>7.3f} {np.mean(after):>9.3f} {epochs[0]:>15} "
              f"{np.median(request_s):>9.3f} {np.median(fit_s):>6.2f} {max(epsilons):>6.3g}")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
