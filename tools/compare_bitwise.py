"""Print a fingerprint of every model and certificate a fixed seed produces, for before/after comparisons.

A refactor that claims "same behaviour" runs this on both commits and diffs the output::

    python tools/compare_bitwise.py > before.txt   # on the old commit
    python tools/compare_bitwise.py > after.txt    # on the new one
    diff before.txt after.txt && echo identical

Each line is one setting (estimator x dense/sparse x default/private/full-batch, then a request and a
partial request): the SHA-256 of the released parameters' bytes and of the certificate's JSON.
"""

import hashlib
import json
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_classification

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()[:16]


def certificate_digest(model):
    text = json.dumps(model.certificate_.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parameters(model):
    if isinstance(model, NoisyMLPClassifier):
        return [*model.coefs_, *model.intercepts_]
    return [model.coef_, model.intercept_]


def settings():
    X, y = make_classification(n_samples=600, n_features=12, n_informative=6, n_classes=3, random_state=0)
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float64)
    X2, y2 = X[:, :8], (y > 0).astype(int)
    sparse = sp.csr_matrix(np.where(np.abs(X) > 0.25, X, 0.0))
    logistic = {"default": {}, "private": {"private_training": True}, "full-batch": {"batch_size": None}}
    for name, extra in logistic.items():
        for data_name, data in (("dense", X), ("sparse", sparse)):
            yield f"logistic/{data_name}/{name}", NoisyLogisticRegression(random_state=3, max_iter=8, **extra), data, y
        yield f"logistic-binary/dense/{name}", NoisyLogisticRegression(random_state=4, max_iter=8, **extra), X2, y2
    mlp = {"default": {}, "gradient-clipping": {"unlearn_method": "gradient_clipping"},
           "tanh-float32": {"activation": "tanh"}}
    for name, extra in mlp.items():
        data = X.astype(np.float32) if "float32" in name else X
        yield f"mlp/dense/{name}", NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=6, random_state=5,
                                                       **extra), data, y


def main():
    for name, model, X, y in settings():
        model.fit(X, y)
        line = [name, "fit", digest(*parameters(model)), certificate_digest(model)]
        model.unlearn([1, 7])
        line += ["unlearn", digest(*parameters(model)), certificate_digest(model)]
        model.partial_unlearn([11], max_epochs=1)
        line += ["partial", digest(*parameters(model)), certificate_digest(model)]
        print(" ".join(line))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
