"""A stream of deletion requests, served with the anytime ``partial_unlearn``.

Each request registers rows and runs one noisy epoch; the certificate says where
epsilon stands, and further epochs drive it down until the target is met. With
``--plot`` (needs matplotlib), ``certificate_.plot()`` draws epsilon after every
noisy epoch of the stream, each request marked, against the target.

Run: ``python examples/deletion_stream.py [--requests N] [--plot]``.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits

from skunlearn import NoisyLogisticRegression


def main(n_requests=5, rows_per_request=10, plot=False):
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
    if plot:
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(10, 4))
        model.certificate_.plot(ax=ax)  # the same epsilons, replayed from the certificate's record
        ax.set_ylim(top=ax.get_ylim()[1] * 5)  # room above the curve for the requests' labels
        ax.legend(loc="center right", fontsize=8)
        ax.set_title(f"digits: {n_requests} requests of {rows_per_request} rows, one noisy epoch at a time")
        figure.tight_layout()
    return epsilons


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--requests", type=int, default=5, help="number of requests (default: 5)")
    parser.add_argument("--plot", action="store_true", help="draw epsilon against the epochs (needs matplotlib)")
    args = parser.parse_args()
    main(args.requests, plot=args.plot)
    if args.plot:
        import matplotlib.pyplot as plt

        plt.show()
