"""A stream of deletion requests, served with the anytime ``partial_unlearn``.

Each request registers rows and runs one noisy epoch; the certificate says where
epsilon stands, and further epochs drive it down until the target is met.

Run: ``python examples/deletion_stream.py``.
"""

import numpy as np
from sklearn.datasets import load_digits

from skunlearn import NoisyLogisticRegression


def main(n_requests=5, rows_per_request=10):
    X, y = load_digits(return_X_y=True)
    X = (X - 8.0) / 8.0
    # random_state=0 makes this example reproducible; it also lets anyone who knows the seed
    # recompute the noise, so leave it unset (noise from the OS) for a model you deploy.
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    pending = rng.permutation(X.shape[0])
    epsilons = []
    for request in range(n_requests):
        rows = pending[request * rows_per_request:(request + 1) * rows_per_request]
        model.partial_unlearn(rows, max_epochs=1)
        line = [model.certificate_.epsilon]
        while not model.certificate_.satisfied:
            model.partial_unlearn(max_epochs=1)
            line.append(model.certificate_.epsilon)
        epsilons.append(line)
        print(f"request {request + 1}: {len(rows)} rows; epsilon after each epoch: "
              + " -> ".join(f"{e:.3g}" for e in line))
    print(model.certificate_)
    return epsilons


if __name__ == "__main__":
    main()
