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
