"""The numba kernel matches the plain-numpy reference to rounding, noise included."""

import numpy as np
import pytest

from skunlearn._backends import BINARY_LOGISTIC, SOFTMAX, KernelConfig, get_backend
from skunlearn._constants import cyclic_batch_bounds
from skunlearn._testing import reference_logistic_epochs
from skunlearn.accounting import noise_grid


def grid(noise, radius):
    """The kernels' grid for a test's noise (the estimators take it from their ledger)."""
    return noise_grid(10.0 * min(radius, 1e3) + 21.0 * noise, noise) if noise > 0 else 0.0


def problem(dtype, n_outputs, n=203, d=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.integers(0, max(n_outputs, 2), n).astype(np.int64)
    weight = np.ones(n)
    weight[[3, 50, 51]] = 0  # removed slots
    X[[3, 50, 51]] = 0
    return X, y, weight


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, n_outputs", [(BINARY_LOGISTIC, 1), (SOFTMAX, 4)])
@pytest.mark.parametrize("batch_size", [16, 203])
@pytest.mark.parametrize("radius", [100.0, 0.3])
def test_kernel_matches_numpy_reference(dtype, loss, n_outputs, batch_size, radius):
    # Parameters are binary64 whatever the data's type, so float32 data matches as tightly as float64.
    X, y, weight = problem(dtype, n_outputs)
    bounds = cyclic_batch_bounds(X.shape[0], batch_size)
    config = KernelConfig(loss, 1.3, 0.02, 0.07, radius, grid=grid(0.07, radius))
    backend = get_backend("cpu")
    ours, counter = backend.run_logistic_epochs(np.zeros((n_outputs, 9)), X, y, weight, bounds, config, 11, 5, 3)
    reference, reference_counter = reference_logistic_epochs(np.zeros((n_outputs, 9)), X, y, weight, bounds,
                                                             config, 11, 5, 3)
    assert counter == reference_counter == 5 + 3 * (bounds.size - 1) * n_outputs * 9
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12 * max(1.0, np.abs(reference).max()))
    assert np.linalg.norm(ours) <= radius * (1 + 1e-12)


def test_kernel_refuses_parameters_that_are_not_binary64():
    X, y, weight = problem(np.float32, 4)
    config = KernelConfig(SOFTMAX, 1.0, 0.01, 0.1, 10.0, grid=grid(0.1, 10.0))
    with pytest.raises(TypeError, match="float64"):
        get_backend("cpu").run_logistic_epochs(np.zeros((4, 9), np.float32), X, y, weight,
                                               cyclic_batch_bounds(203, 16), config, 1, 0, 1)


def test_noise_does_not_depend_on_how_epochs_are_split_across_calls():
    X, y, weight = problem(np.float32, 4)
    bounds = cyclic_batch_bounds(203, 16)
    config = KernelConfig(SOFTMAX, 1.0, 0.01, 0.1, 10.0, grid=grid(0.1, 10.0))
    run = get_backend("cpu").run_logistic_epochs
    once, _ = run(np.zeros((4, 9)), X, y, weight, bounds, config, 2, 0, 3)
    stepwise, counter = np.zeros((4, 9)), 0
    for _ in range(3):
        stepwise, counter = run(stepwise, X, y, weight, bounds, config, 2, counter, 1)
    np.testing.assert_array_equal(once, stepwise)


def test_parallel_and_serial_tasks_give_the_same_model(monkeypatch):
    from skunlearn._backends.numba import logistic_dense, run_logistic_epochs

    X, y, weight = problem(np.float64, 4, n=400)
    bounds = cyclic_batch_bounds(400, 200)
    config = KernelConfig(SOFTMAX, 1.0, 0.01, 0.1, 10.0, grid=grid(0.1, 10.0))
    monkeypatch.setattr(logistic_dense, "_PARALLEL_WORK", 10**12)
    serial, _ = run_logistic_epochs(np.zeros((4, 9)), X, y, weight, bounds, config, 3, 0, 2)
    monkeypatch.setattr(logistic_dense, "_PARALLEL_WORK", 1)
    parallel, _ = run_logistic_epochs(np.zeros((4, 9)), X, y, weight, bounds, config, 3, 0, 2)
    np.testing.assert_array_equal(serial, parallel)


def test_removed_slot_contributes_nothing():
    X, y, weight = problem(np.float64, 4)
    bounds = cyclic_batch_bounds(203, 32)
    config = KernelConfig(SOFTMAX, 1.0, 0.01, 0.0, 10.0, grid=grid(0.0, 10.0))
    run = get_backend("cpu").run_logistic_epochs
    base, _ = run(np.zeros((4, 9)), X, y, weight, bounds, config, 0, 0, 2)
    y_changed = y.copy()
    y_changed[[3, 50]] = (y[[3, 50]] + 1) % 4
    assert np.array_equal(run(np.zeros((4, 9)), X, y_changed, weight, bounds, config, 0, 0, 2)[0], base)


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device"):
        get_backend("tpu")


def test_batches_are_even():
    bounds = cyclic_batch_bounds(1347, 32)
    sizes = np.diff(bounds)
    assert bounds[-1] == 1347 and sizes.max() - sizes.min() <= 1 and sizes[-1] == sizes.min()


# ---------------------------------------------------------------------------- MLP kernels

from skunlearn._backends import ACTIVATIONS, GRADIENT_CLIPPING, MODEL_CLIPPING, MLPConfig  # noqa: E402
from skunlearn._testing import reference_mlp_epochs, reference_mlp_loss_gradient  # noqa: E402


def mlp_problem(dtype, sizes=(6, 8, 5, 3), n=57, seed=1):
    rng = np.random.default_rng(seed)
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n).astype(np.int64)
    weight = np.ones(n)
    weight[[2, 9]] = 0
    X[[2, 9]] = 0
    return np.array(sizes), 0.4 * rng.standard_normal(n_params), X, y, weight


@pytest.mark.parametrize("activation", list(ACTIVATIONS.values()))
def test_mlp_gradient_matches_finite_differences(activation):
    sizes, params, X, y, weight = mlp_problem(np.float64)
    loss, gradient = get_backend("cpu").mlp_loss_gradient(params, sizes, X, y, weight, activation)
    numeric = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = 1e-6
        plus = get_backend("cpu").mlp_loss_gradient(params + step, sizes, X, y, weight, activation)[0]
        minus = get_backend("cpu").mlp_loss_gradient(params - step, sizes, X, y, weight, activation)[0]
        numeric[i] = (plus - minus) / 2e-6
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)
    reference_loss, reference_gradient = reference_mlp_loss_gradient(params, sizes, X, y, weight, activation)
    assert loss == pytest.approx(reference_loss, rel=1e-12)
    np.testing.assert_allclose(gradient, reference_gradient, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", list(ACTIVATIONS.values()))
@pytest.mark.parametrize("update, radius, clip", [(MODEL_CLIPPING, 100.0, np.inf), (MODEL_CLIPPING, 1.0, np.inf),
                                                  (GRADIENT_CLIPPING, np.inf, 0.05)])
def test_mlp_kernel_matches_numpy_reference(dtype, activation, update, radius, clip):
    sizes, params, X, y, weight = mlp_problem(dtype)
    bounds = cyclic_batch_bounds(X.shape[0], 10)
    config = MLPConfig(activation, update, 0.3, 0.01, 0.02, radius, clip, grid=grid(0.02, radius))
    ours, counter = get_backend("cpu").run_mlp_epochs(params.copy(), sizes, X, y, weight, bounds, config, 9, 4, 2)
    reference, reference_counter = reference_mlp_epochs(params, sizes, X, y, weight, bounds, config, 9, 4, 2)
    assert counter == reference_counter == 4 + 2 * (bounds.size - 1) * params.size
    assert ours.dtype == np.float64
    # The gradient is computed in X's type (float32 sums in another order than numpy's): float32 agrees to its
    # own resolution, float64 to rounding.
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ours, reference, rtol=0, atol=tolerance * max(1.0, np.abs(reference).max()))


def test_mlp_removed_rows_do_not_matter():
    sizes, params, X, y, weight = mlp_problem(np.float64)
    bounds = cyclic_batch_bounds(X.shape[0], 10)
    config = MLPConfig(0, MODEL_CLIPPING, 0.3, 0.01, 0.0, 100.0, np.inf, grid=grid(0.0, 100.0))
    run = get_backend("cpu").run_mlp_epochs
    base, _ = run(params.copy(), sizes, X, y, weight, bounds, config, 0, 0, 2)
    X_changed = X.copy()
    X_changed[[2, 9]] = 5.0
    np.testing.assert_array_equal(run(params.copy(), sizes, X_changed, y, weight, bounds, config, 0, 0, 2)[0], base)


def test_cuda_without_a_gpu_is_a_clear_error_and_auto_falls_back(monkeypatch):
    import importlib

    real_import = importlib.import_module

    def no_cupy(name, *args):
        if name == "skunlearn._backends.cupy_gpu":
            raise ImportError('device="cuda" needs CuPy and an NVIDIA GPU')
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_cupy)
    with pytest.raises(RuntimeError, match="device=\"cuda\" is unavailable"):
        get_backend("cuda")
    assert get_backend("auto").__name__ == "skunlearn._backends.numba"


def _protocol_signatures():
    import inspect

    from skunlearn._backends.interface import Backend

    def without_self(function):
        signature = inspect.signature(function)
        return [(p.name, p.kind) for p in list(signature.parameters.values())[1:]]

    return {name: without_self(getattr(Backend, name)) for name in ("run", "warm_up", "mlp_loss_gradient")}


def test_every_backend_has_the_protocols_signatures():
    """The numba backend by inspect.signature, the CuPy module from its source (no CuPy needed)."""
    import ast
    import inspect
    from pathlib import Path

    import skunlearn._backends as backends
    from skunlearn._backends import dask_cluster
    from skunlearn._backends import numba as numba_backend

    expected = _protocol_signatures()
    for backend in (numba_backend, dask_cluster):
        for name, parameters in expected.items():
            signature = inspect.signature(getattr(backend, name))
            assert [(p.name, p.kind) for p in signature.parameters.values()] == parameters, (backend, name)
    kinds = {"posonlyargs": inspect.Parameter.POSITIONAL_ONLY, "args": inspect.Parameter.POSITIONAL_OR_KEYWORD,
             "kwonlyargs": inspect.Parameter.KEYWORD_ONLY}
    tree = ast.parse((Path(backends.__file__).parent / "cupy_gpu.py").read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    for name, parameters in expected.items():
        arguments = functions[name].args
        found = [(a.arg, kinds[field]) for field in kinds for a in getattr(arguments, field)]
        assert found == parameters, name


def test_run_is_the_kernels_call_with_its_stream():
    """``run`` gives the kernel's model and hands on the stream by the normals it drew."""
    from skunlearn._backends import NoiseStream, Slots
    from skunlearn._backends.numba import run, run_logistic_epochs

    X, y, weight = problem(np.float64, 4, n=60)
    bounds = cyclic_batch_bounds(60, 16)
    config = KernelConfig(SOFTMAX, 1.0, 0.01, 0.1, 10.0, grid=grid(0.1, 10.0))
    direct, counter = run_logistic_epochs(np.zeros((4, 9)), X, y, weight, bounds, config, 5, 7, 2)
    losses = np.empty(2)
    through, stream = run(np.zeros((4, 9)), Slots(X, y, weight, bounds), config, 2, NoiseStream(5, 7), losses=losses)
    np.testing.assert_array_equal(direct, through)
    assert stream == NoiseStream(5, counter) and counter == 7 + 2 * (bounds.size - 1) * 36
    assert np.all(np.isfinite(losses))
    with pytest.raises(ValueError, match="layer_sizes"):
        run(np.zeros(10), Slots(X, y, weight, bounds), MLPConfig(0, MODEL_CLIPPING, 0.1, 0.0, 0.0, 1.0, 1.0), 1,
            NoiseStream(5))


def test_import_skunlearn_loads_neither_numba_kernels_nor_cupy():
    import subprocess
    import sys

    code = ("import sys, skunlearn; "
            "print('skunlearn._backends.numba' in sys.modules, 'cupy' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]


# ---------------------------------------------------------------------------- rounding bound


def _exact_step(params, X, y, weight, config, noise):
    """One step of the update in 80-bit extended precision (u = 2**-64): the exact step, to ~1e-19."""
    long = np.longdouble
    theta = params.astype(long)
    rows = X.astype(long)
    scores = rows @ theta.T
    if config.loss == BINARY_LOGISTIC:
        residual = (1 / (1 + np.exp(-scores[:, 0])) - y)[:, None]
    else:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        residual = shifted / shifted.sum(axis=1, keepdims=True)
        residual[np.arange(len(y)), y] -= 1
    gradient = (weight.astype(long)[:, None] * residual).T @ rows
    step = long(config.step_size)
    value = (1 - step * long(config.l2)) * theta - step / len(y) * gradient
    value += noise.reshape(params.shape).astype(long)  # the grid noise Λ K, a draw of s ξ rounded to the grid
    norm = np.sqrt(np.sum(value * value))
    return value * (long(config.radius) / norm) if norm > config.radius else value


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= 1e-18, reason="needs 80-bit long double")
@pytest.mark.parametrize("loss, n_outputs", [(BINARY_LOGISTIC, 1), (SOFTMAX, 10)])
@pytest.mark.parametrize("radius", [300.0, 2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_bound", [None, 3.0])
def test_one_step_stays_within_the_a_priori_rounding_bound(loss, n_outputs, radius, dtype, weight_bound):
    from skunlearn.accounting import logistic_step_rounding_error
    from skunlearn._testing import reference_grid_noise
    from skunlearn._constants import step_tasks

    rng = np.random.default_rng(7)
    n, d = 300, 200
    X = rng.standard_normal((n, d))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(dtype)  # rows of norm <= 1 in X's own type
    X = X / np.maximum(1.0, np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)).astype(dtype)
    y = rng.integers(0, max(2, n_outputs), n).astype(np.int64)
    weight = np.ones(n) if weight_bound is None else rng.uniform(0, weight_bound, n)
    bounds = np.array([0, n])
    params = rng.standard_normal((n_outputs, d))
    params *= 0.99 * radius / np.linalg.norm(params)  # large logits: the hardest case for the bound
    config = KernelConfig(loss, 1.9, 0.01, 1e-3, radius, grid=grid(1e-3, radius))
    computed, _ = get_backend("cpu").run_logistic_epochs(params.copy(), X, y, weight, bounds, config, 5, 0, 1)
    exact = _exact_step(params, X, y, weight, config, reference_grid_noise(5, 0, params.size, 1e-3, config.grid))
    gap = float(np.sqrt(np.sum((computed.astype(np.longdouble) - exact) ** 2)))
    bound = logistic_step_rounding_error(d, n_outputs, n, 1.9, 0.01, radius, 1.0, 1e-3, softmax=loss == SOFTMAX,
                                         tasks=step_tasks(n), weight_bound=weight_bound, grid=config.grid)
    assert 0 < gap <= bound


@pytest.mark.parametrize("n, b", [(10, 4), (1347, 32), (150, 64), (64, 64), (7, 1), (100_000, 64)])
def test_ledger_batch_sizes_are_those_of_the_layout(n, b):
    # The ledger derives its largest and last batch from n and b; the kernels run on cyclic_batch_bounds.
    from skunlearn._ledgers import StronglyConvexLedger

    ledger = StronglyConvexLedger(
        step_size=1.0, lipschitz=1.0, smoothness=0.25, strong_convexity=0.01, radius=100.0, noise_std=1.0,
        n_slots=n, batch_size=b, train_epochs=1, target_epsilon=1.0, target_delta=1e-5, n_features=3,
        n_outputs=1, data_norm=1.0)
    sizes = np.diff(cyclic_batch_bounds(n, b))
    assert (ledger.largest_batch_size, ledger.last_batch_size, ledger.n_batches) == (sizes.max(), sizes[-1], sizes.size)


def test_kernel_exp_is_within_its_proven_bound():
    """The kernels' exp (no libm) against mpmath: dense on [-745.2, 0], at the reduction's cell edges and the ends."""
    mp = pytest.importorskip("mpmath")
    from numba import njit

    from skunlearn._backends._elementary import exp_nonpositive
    from skunlearn.accounting import EXP_ERROR_ULPS

    evaluate = njit(lambda values: np.array([exp_nonpositive(v) for v in values]))
    rng = np.random.default_rng(3)
    edges = (np.arange(0, 1076) + 0.5) * np.log(2)  # where k = rint(x / ln 2) changes: |r| at its largest
    values = np.concatenate([-rng.uniform(0, 745.2, 40_000), -rng.uniform(0, 1, 20_000) ** 4, -edges,
                             -np.nextafter(edges, 0), [0.0, -5e-324, -1e-300, -708.3, -708.4, -745.13, -745.2]])
    got = evaluate(values)
    worst = 0.0
    with mp.workdps(40):
        for x, value in zip(values, got):
            exact = mp.exp(mp.mpf(float(x)))
            error = abs(mp.mpf(float(value)) - exact)
            if exact > mp.mpf(2) ** -1022:
                worst = max(worst, float(error / exact))
            else:  # subnormal range: absolute
                assert error <= mp.mpf(2) ** -1074
    assert worst <= EXP_ERROR_ULPS * 2.0**-53
    assert worst <= 2 * 2.0**-53  # in practice a couple of roundings: the proven 8u has room
    assert evaluate(np.array([-746.0, -1e4]))[0] == 0.0
