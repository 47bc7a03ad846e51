"""A long stream of deletion requests: per-request time and stored state must stay bounded.

1,000 single-row ``unlearn`` requests on a model fitted on 5,000 rows, for
both estimators. Prints the median time of the first and the last 100
requests, the resident memory, and the pickle size after fit and after the
stream, and exits non-zero when

* the last 100 requests' median exceeds 1.5× the first 100's, or
* the pickle grew by more than the retained data plus 400 bytes per request
  (the history and the record of forgotten slots that ``verify()`` needs).

Usage: ``python benchmarks/bench_stream.py [--requests 1000] [--rows 5000]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import sys
import time

import numpy as np

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

BYTES_PER_REQUEST = 400
SLOWDOWN_LIMIT = 1.5


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stream(name, model, X, y, n_requests):
    model.fit(X, y)
    model.unlearn([X.shape[0] - 1])  # warm-up: the first request compiles nothing afterwards
    start_size = len(pickle.dumps(model))
    retained = model._X_slots.nbytes + model._y_slots.nbytes + model._weight.nbytes
    order = np.random.default_rng(1).permutation(X.shape[0] - 1)[:n_requests]
    times = []
    for row in order:
        start = time.perf_counter()
        model.unlearn([int(row)])
        times.append(time.perf_counter() - start)
    end_size = len(pickle.dumps(model))
    times = np.array(times)
    first, last = np.median(times[:100]), np.median(times[-100:])
    growth = (end_size - start_size) / n_requests
    model.certificate_.verify()
    print(f"{name:<26} {first * 1e3:>9.2f} {last * 1e3:>9.2f} {last / first:>7.2f} {start_size / 1e6:>9.3f} "
          f"{end_size / 1e6:>9.3f} {growth:>9.0f} {retained / 1e6:>9.3f} {_rss_mb():>8.0f}")
    return last / first <= SLOWDOWN_LIMIT and growth <= BYTES_PER_REQUEST


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks._common import blas_line

    print(blas_line())
    print(f"{args.requests} single-row requests on {args.rows} x 20 rows, 3 classes")
    print(f"{'estimator':<26} {'first ms':>9} {'last ms':>9} {'ratio':>7} {'pickle MB':>9} {'after MB':>9} "
          f"{'B/request':>9} {'data MB':>9} {'RSS MB':>8}")
    ok = _stream("NoisyLogisticRegression", NoisyLogisticRegression(random_state=0), X, y, args.requests)
    ok &= _stream("NoisyMLPClassifier", NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=5,
                                                            finetune_epochs=1, random_state=0), X, y, args.requests)
    print(f"\ngoals: last-100 median within {SLOWDOWN_LIMIT}x of the first 100; pickle growth <= "
          f"{BYTES_PER_REQUEST} B per request: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
