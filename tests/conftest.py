import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def warm_numba_kernels():
    """Compile (or load from numba's cache) every kernel specialisation once per session."""
    from skunlearn._backends import BINARY_LOGISTIC, SOFTMAX, KernelConfig
    from skunlearn._backends.numba_cpu import run_logistic_epochs

    for dtype in (np.float32, np.float64):
        for loss, outputs in ((BINARY_LOGISTIC, 1), (SOFTMAX, 3)):
            X = np.ones((4, 3), dtype=dtype)
            config = KernelConfig(loss, 0.1, 0.01, 0.1, 10.0)
            run_logistic_epochs(np.zeros((outputs, 3), dtype), X, np.zeros(4, np.int64), np.ones(4, dtype),
                                np.array([0, 2, 4]), config, 0, 0, 1)
