import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def warm_numba_kernels():
    """Compile (or load from numba's cache) every kernel once, before any test forks workers."""
    from skunlearn._backends.numba import warm_up

    warm_up()


@pytest.fixture(scope="module")
def data():
    """3,000 x 20 rows, 3 classes: the contract tests' data (tests/engine/test_unlearning.py, tests/engine/test_pipeline_export.py)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y
