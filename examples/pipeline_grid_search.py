"""Preprocessing, GridSearchCV, then unlearning on the best estimator.

Which preprocessing keeps the guarantee? The certificate covers the estimator's
training on the rows it is given. A transformer *fitted on the private rows* (a
StandardScaler inside the pipeline) is itself a function of every row, the forgotten
ones too, and nothing forgets it: its means and variances still carry them. Keep the
guarantee with row-wise transforms (each row on its own: Normalizer, a fixed
FunctionTransformer) or with statistics fixed from public knowledge (known ranges, a
scaler fitted on public data). Model selection over the private rows leaks too, only
through which hyper-parameters won; treat it as part of the release.

Run: ``python examples/pipeline_grid_search.py``.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skunlearn import NoisyLogisticRegression, unlearn_pipeline


def public_scaling(X):
    """Digits pixels lie in 0..16: a range known before seeing any row."""
    return (X - 8.0) / 8.0


def main(n_jobs=2):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    # random_state=0 makes this example reproducible; it also lets anyone who knows the seed
    # recompute the noise, so leave it unset (noise from the OS) for a model you deploy.
    pipeline = make_pipeline(FunctionTransformer(public_scaling), NoisyLogisticRegression(random_state=0))
    grid = {"noisylogisticregression__alpha": [1e-2, 3e-2], "noisylogisticregression__batch_size": [32, 64]}
    search = GridSearchCV(pipeline, grid, cv=3, n_jobs=n_jobs).fit(X_train, y_train)
    print(f"best {search.best_params_}, test accuracy {search.score(X_test, y_test):.3f}")

    # The request goes through the refit pipeline to its final step; unlearn_pipeline refuses
    # a pipeline with a step fitted on the private rows (a StandardScaler here would be).
    unlearn_pipeline(search.best_estimator_, positions=np.arange(20))
    print(search.best_estimator_[-1].certificate_)
    print(f"test accuracy after forgetting 20 rows {search.best_estimator_.score(X_test, y_test):.3f}")
    # What to deploy: the pipeline with a predict-only export of the model, which holds no training row.
    deployed = make_pipeline(FunctionTransformer(public_scaling), search.best_estimator_[-1].export())
    print(f"deployed copy: test accuracy {deployed.score(X_test, y_test):.3f}")
    return search


if __name__ == "__main__":
    main()
