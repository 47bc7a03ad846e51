"""The CuPy backend against the numba backend. Skipped where no GPU is usable."""

import pickle

import numpy as np
import pytest

from skunlearn._backends import (
    ACTIVATIONS,
    BINARY_LOGISTIC,
    GRADIENT_CLIPPING,
    MODEL_CLIPPING,
    SOFTMAX,
    KernelConfig,
    MLPConfig,
    get_backend,
)
from skunlearn._backends._ziggurat import reference_normals
from skunlearn._constants import cyclic_batch_bounds

pytestmark = pytest.mark.gpu

# The CuPy kernels still keep parameters in the data's type and their rounding is not accounted for in
# the certificate, so the estimators refuse device="cuda"; the parity tests wait for the GPU issue
# (float64 parameters, accounted arithmetic) to be done on a machine with a GPU.
pytest.skip("the GPU backend awaits float64 parameters and accounted rounding; device='cuda' is refused",
            allow_module_level=True)
cupy = pytest.importorskip("cupy")
try:
    gpu = get_backend("cuda")
except RuntimeError as error:  # CuPy without a GPU
    pytest.skip(str(error), allow_module_level=True)
cpu = get_backend("cpu")


def test_device_normals_are_the_reference_normals():
    values = gpu.fill_normals(500_000, 2**64 - 3, 10**9)
    expected = reference_normals(2**64 - 3, 10**9, 500_000)
    np.testing.assert_allclose(values, expected, rtol=1e-13, atol=1e-13)
    assert np.mean(values == expected) > 0.999


def logistic_problem(dtype, n_outputs, n=1000, d=33, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.integers(0, max(n_outputs, 2), n).astype(np.int64)
    weight = np.ones(n, dtype)
    weight[::17] = 0
    X[::17] = 0
    return X, y, weight


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("loss, n_outputs", [(BINARY_LOGISTIC, 1), (SOFTMAX, 7)])
@pytest.mark.parametrize("batch_size", [64, None])
@pytest.mark.parametrize("noise", [0.0, 0.05])
@pytest.mark.parametrize("n_epochs", [1, 3])
def test_logistic_parity_with_numba(dtype, tol, loss, n_outputs, batch_size, noise, n_epochs):
    X, y, weight = logistic_problem(dtype, n_outputs)
    bounds = cyclic_batch_bounds(X.shape[0], batch_size or X.shape[0])
    config = KernelConfig(loss, 1.5, 0.01, noise, 2.0)
    start = np.zeros((n_outputs, X.shape[1]), dtype)
    ours, counter = gpu.run_logistic_epochs(start.copy(), X, y, weight, bounds, config, 21, 7, n_epochs)
    theirs, cpu_counter = cpu.run_logistic_epochs(start.copy(), X, y, weight, bounds, config, 21, 7, n_epochs)
    assert counter == cpu_counter and ours.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol * max(1.0, np.abs(theirs).max()))


def mlp_problem(dtype, sizes, n=600, seed=2):
    rng = np.random.default_rng(seed)
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n).astype(np.int64)
    weight = np.ones(n, dtype)
    weight[::13] = 0
    return np.array(sizes), (0.3 * rng.standard_normal(n_params)).astype(dtype), X, y, weight


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-8), (np.float32, 1e-3)])
@pytest.mark.parametrize("activation", list(ACTIVATIONS.values()))
@pytest.mark.parametrize("update, radius, clip", [(MODEL_CLIPPING, 1e6, np.inf), (MODEL_CLIPPING, 3.0, np.inf),
                                                  (GRADIENT_CLIPPING, np.inf, 0.5)])
@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("batch_size", [50, None])
def test_mlp_parity_with_numba(dtype, tol, activation, update, radius, clip, noise, batch_size):
    sizes, params, X, y, weight = mlp_problem(dtype, (12, 16, 9, 4))
    bounds = cyclic_batch_bounds(X.shape[0], batch_size or X.shape[0])
    config = MLPConfig(activation, update, 0.2, 1e-3, noise, radius, clip)
    ours, counter = gpu.run_mlp_epochs(params.copy(), sizes, X, y, weight, bounds, config, 5, 0, 2)
    theirs, cpu_counter = cpu.run_mlp_epochs(params.copy(), sizes, X, y, weight, bounds, config, 5, 0, 2)
    assert counter == cpu_counter
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol * max(1.0, np.abs(theirs).max()))


def test_mlp_gradient_parity():
    sizes, params, X, y, weight = mlp_problem(np.float64, (12, 16, 9, 4))
    for activation in ACTIVATIONS.values():
        _, ours = gpu.mlp_loss_gradient(params, sizes, X, y, weight, activation)
        _, theirs = cpu.mlp_loss_gradient(params, sizes, X, y, weight, activation)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_noise_statistics_on_the_device():
    """Statistical parity with noise: the update adds N(0, noise_scale^2) per coordinate."""
    X = np.zeros((4, 1000))  # zero rows: the update is pure shrinkage plus noise
    config = KernelConfig(SOFTMAX, 1.0, 0.0, 0.3, 1e9)
    out, _ = gpu.run_logistic_epochs(np.zeros((50, 1000)), X, np.zeros(4, np.int64), np.zeros(4),
                                     np.array([0, 4]), config, 3, 0, 1)
    assert abs(out.mean()) < 5 * 0.3 / np.sqrt(out.size)
    assert out.var() == pytest.approx(0.09, rel=0.02)


def test_estimators_on_the_device_match_cpu_and_unlearn_after_pickle():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split((X - 8) / 8, y, random_state=0, stratify=y)
    for make in (lambda device, seed: NoisyLogisticRegression(device=device, random_state=seed),
                 lambda device, seed: NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=10, device=device,
                                                         random_state=seed)):
        accuracies = {}
        for device in ("cpu", "cuda"):
            accuracies[device] = [make(device, seed).fit(X_train, y_train).score(X_test, y_test) for seed in range(3)]
        assert abs(np.mean(accuracies["cpu"]) - np.mean(accuracies["cuda"])) < 0.02, accuracies
        model = make("cuda", 0).fit(X_train, y_train)
        assert isinstance(model.certificate_.epsilon, float)
        loaded = pickle.loads(pickle.dumps(model))
        loaded.set_params(device="cpu").unlearn([0, 1])
        model.unlearn([0, 1])
        assert loaded.certificate_ == model.certificate_
        np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6)
