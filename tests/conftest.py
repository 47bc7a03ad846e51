import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def warm_numba_kernels():
    """Compile (or load from numba's cache) every kernel once, before any test forks workers."""
    from skunlearn._backends.numba_cpu import warm_up

    for dtype in (np.float32, np.float64):
        warm_up(dtype)
