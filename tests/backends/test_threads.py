"""The thread count (``n_jobs``) changes the speed, never the model, the noise or the certificate."""

import numba
import numpy as np
import pytest
from sklearn.datasets import make_classification

from skunlearn import NoisyLogisticRegression
from skunlearn._backends.numba import logistic_dense


@pytest.fixture(scope="module")
def wide():
    # batch 256 x 10 x 101 parameters: above the kernel's threshold for running its tasks in parallel.
    X, y = make_classification(n_samples=3000, n_features=100, n_informative=20, n_classes=10, random_state=0)
    return X / np.abs(X).max(), y


@pytest.mark.parametrize("batch_size", [256, 1000])  # 8 and 32 tasks per step (skunlearn._constants.step_tasks)
def test_models_are_bitwise_identical_for_any_thread_count(wide, monkeypatch, batch_size):
    X, y = wide
    seen = []
    kernel = logistic_dense._logistic_epochs

    def recording(*args):
        seen.append(numba.get_num_threads())
        return kernel(*args)

    monkeypatch.setattr(logistic_dense, "_logistic_epochs", recording)
    models = {}
    for n_jobs in (1, 2, -1):
        seen.clear()
        model = NoisyLogisticRegression(batch_size=batch_size, max_iter=3, private_training=True, n_jobs=n_jobs,
                                        random_state=0).fit(X, y)
        model.unlearn([0, 17, 2999])
        expected = 1 if n_jobs == 1 else min(2, numba.config.NUMBA_NUM_THREADS) if n_jobs == 2 else \
            numba.config.NUMBA_NUM_THREADS
        assert set(seen) == {expected}
        models[n_jobs] = model
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # restored after each call
    reference = models[1]
    for model in models.values():
        assert np.array_equal(model.coef_, reference.coef_)
        assert np.array_equal(model.intercept_, reference.intercept_)
        assert model.certificate_ == reference.certificate_


def test_n_jobs_zero_is_refused(wide):
    X, y = wide
    with pytest.raises(ValueError, match="n_jobs"):
        NoisyLogisticRegression(n_jobs=0).fit(X, y)


def test_mlp_noise_drawn_on_any_number_of_threads_gives_the_same_parameters():
    from skunlearn._backends import ACTIVATIONS, MODEL_CLIPPING, MLPConfig
    from skunlearn._backends.numba import run_mlp_epochs
    from skunlearn._constants import cyclic_batch_bounds

    rng = np.random.default_rng(0)
    sizes = np.array([7, 5, 3])
    n_params = 7 * 5 + 5 + 5 * 3 + 3  # 58: shares of 29 or 19-20 coordinates
    X, y, weight = rng.standard_normal((40, 7)), rng.integers(0, 3, 40), np.ones(40)
    config = MLPConfig(ACTIVATIONS["relu"], MODEL_CLIPPING, 0.1, 1e-4, 1e-2, 10.0, np.inf, grid=2.0**-40)
    start = 0.1 * rng.standard_normal(n_params)
    results = {}
    for n_threads in (1, 2):
        params, counter = run_mlp_epochs(start.copy(), sizes, X, y, weight, cyclic_batch_bounds(40, 8), config,
                                         12345, 7, 2, n_threads=n_threads)
        results[n_threads] = params, counter
    assert results[1][1] == results[2][1] == 7 + 2 * 5 * n_params
    np.testing.assert_array_equal(results[1][0], results[2][0])


def test_overlapping_kernels_restore_blas_threads_once_the_last_one_leaves():
    import threading

    from skunlearn._backends.numba.common import blas_controller, single_blas_thread

    def blas_threads():
        return [info["num_threads"] for info in blas_controller().info() if info["user_api"] == "blas"]

    before = blas_threads()
    inside, release = threading.Barrier(2), threading.Event()

    def kernel():
        with single_blas_thread():
            inside.wait()
            release.wait(10)

    # Two kernels overlapping in the order that broke save-and-restore: A in, B in, A out, B out.
    first = threading.Thread(target=kernel)
    first.start()
    with single_blas_thread():
        inside.wait()
        assert set(blas_threads()) == {1}
        release.set()
        first.join(10)
        assert set(blas_threads()) == {1}  # the other kernel left; this one still runs on one BLAS thread
    assert blas_threads() == before
