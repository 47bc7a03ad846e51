"""Quickstart: fit, predict, forget a few rows, read the certificate.

Run: ``python examples/quickstart.py``.
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from skunlearn import NoisyLogisticRegression


def main():
    X, y = load_breast_cancer(return_X_y=True)
    # The per-feature maxima, which the dataset's documentation (DESCR) publishes: bounds known in
    # advance, so dividing by them keeps the guarantee. A maximum computed from private rows would not.
    X = X / X.max(axis=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

    # random_state=0 makes this example reproducible; it also lets anyone who knows the seed
    # recompute the noise, so leave it unset (noise from the OS) for a model you deploy.
    model = NoisyLogisticRegression(epsilon=1.0, random_state=0).fit(X_train, y_train)
    print(f"test accuracy {model.score(X_test, y_test):.3f}, noise sigma {model.noise_:.3g}")
    print("after fit:   ", model.certificate_)  # the DP guarantee of the noisy training itself

    model.unlearn([3, 14, 15])  # positions in X_train; they stay valid across requests
    print("after unlearn:", model.certificate_)
    print(f"test accuracy {model.score(X_test, y_test):.3f}; forgotten rows {model.removed_indices_.tolist()}")

    record = model.certificate_.to_dict()  # JSON-ready, for an audit trail
    print(f"certificate fields: {sorted(record)[:6]} ...")
    return model


if __name__ == "__main__":
    main()
