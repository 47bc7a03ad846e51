"""What every numba kernel shares: the residual, the grid step, the projection, threads and compilation.

One jit policy for every kernel: ``nopython``, ``cache=True``, no
``fastmath`` (so the numpy reference of :mod:`skunlearn._testing` matches to
rounding, and the a priori rounding bound of
:mod:`skunlearn.accounting.floating_point` describes the arithmetic), no eager
signatures (they slow imports). A loop that runs either on numba's threads or
in the calling thread is written once and compiled both ways
(:func:`serial_and_parallel`). Compilation happens in one place,
:func:`skunlearn._backends.numba.warm_up`, under the inter-process lock of
:func:`compile_lock`.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
import types

import numba
import numpy as np
import scipy.sparse
from numba import njit
from threadpoolctl import ThreadpoolController

from .._elementary import exp_nonpositive
from .._grid_noise import scaled_widths
from ..codes import BINARY_LOGISTIC

__all__ = ["CACHE_DIRECTORY", "blas_controller", "check_arrays", "compile_lock", "grid_widths", "numba_threads",
           "on_grid", "project", "residuals", "serial_and_parallel", "single_blas_thread", "total_weight"]

#: Where numba keeps the kernels' cache (beside the modules), and the compile lock when it is writable.
CACHE_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")


def serial_and_parallel(loop):
    """``(serial, parallel)``: one loop body, written with ``prange``, compiled as a plain loop and on numba's threads.

    The serial twin is a copy of the function under its own name, so numba's
    cache keeps the two compilations in separate files (the cache's file name
    comes from the qualified name; its index does not record ``parallel``).
    """
    serial = types.FunctionType(loop.__code__, loop.__globals__, loop.__name__ + "_serial", loop.__defaults__,
                                loop.__closure__)
    serial.__qualname__ = loop.__qualname__ + "_serial"
    serial.__doc__ = loop.__doc__
    return njit(cache=True)(serial), njit(cache=True, parallel=True)(loop)


@njit(cache=True)
def residuals(scores, y, weight, start, loss):
    """Turn the rows' logits into ``w_i ∂ℓ_i/∂logits`` in place; returns ``Σ_i w_i ℓ_i`` (the reported loss).

    The loss is reported only (``loss_curve_``): it never enters the
    parameters, so its ``log`` is libm's; the residuals use the kernels' own
    exp (:mod:`skunlearn._backends._elementary`) as the rounding bound charges.
    """
    n_rows, n_outputs = scores.shape
    total_loss = 0.0
    for i in range(n_rows):
        row_weight = weight[start + i]
        if loss == BINARY_LOGISTIC:
            z = scores[i, 0]
            if z >= 0:
                e = exp_nonpositive(-z)
                p = 1.0 / (1.0 + e)
            else:
                e = exp_nonpositive(z)
                p = e / (1.0 + e)
            scores[i, 0] = row_weight * (p - y[start + i])
            if row_weight > 0.0:
                total_loss += row_weight * (math.log1p(e) + max(z, 0.0) - y[start + i] * z)
        else:
            top = scores[i, 0]
            for k in range(1, n_outputs):
                top = max(top, scores[i, k])
            label_logit = scores[i, y[start + i]]
            total = 0.0
            for k in range(n_outputs):
                e = exp_nonpositive(scores[i, k] - top)
                scores[i, k] = e
                total += e
            for k in range(n_outputs):
                scores[i, k] = row_weight * scores[i, k] / total
            scores[i, y[start + i]] -= row_weight
            if row_weight > 0.0:
                total_loss += row_weight * (math.log(total) + top - label_logit)
    return total_loss


@njit(cache=True, inline="always")
def on_grid(value, grid, inverse_grid, noise):
    """``RN_Λ(value) + noise``: exact in binary64 for the bounds of ``noise_grid`` (Λ a power of two)."""
    return np.rint(value * inverse_grid) * grid + noise


@njit(cache=True)
def total_weight(weight):
    """``Σ_i w_i`` in slot order: the retained rows' weight (a removed slot's is 0)."""
    total = 0.0
    for i in range(weight.size):
        total += weight[i]
    return total


@njit(cache=True)
def grid_widths(noise_scale, grid):
    """The grid sampler's widths for ``σ' = noise_scale / Λ`` (a valid pair, unused, for a noise-free phase)."""
    return scaled_widths(noise_scale / grid if noise_scale > 0.0 else 1.0)


@njit(cache=True)
def project(params, squares, radius):
    """The ball projection Π_R, from the squared norms of the update's shares (added in share order)."""
    norm = math.sqrt(squares.sum())
    if norm > radius:
        params *= radius / norm


@contextlib.contextmanager
def numba_threads(n_jobs):
    """numba's thread count for the calling thread (``set_num_threads`` is thread-local), restored after."""
    if n_jobs is None:
        yield
        return
    available = numba.config.NUMBA_NUM_THREADS
    threads = min(int(n_jobs), available) if n_jobs > 0 else max(1, available + 1 + int(n_jobs))
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


_CONTROLLER = []


def blas_controller():
    """One threadpoolctl controller per process: building one scans the loaded libraries (milliseconds)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


_BLAS_LIMIT_LOCK = threading.Lock()
_BLAS_LIMIT = {"depth": 0, "context": None}


@contextlib.contextmanager
def single_blas_thread():
    """BLAS on one thread while the block runs, for every thread of the process at once.

    threadpoolctl's limit is process-wide: two kernels that each saved and
    restored it around their own run could interleave and leave the process
    at one thread (the second restores the first's limit). The first kernel
    in sets the limit and the last one out restores it.
    """
    with _BLAS_LIMIT_LOCK:
        if _BLAS_LIMIT["depth"] == 0:
            context = blas_controller().limit(limits=1, user_api="blas")
            context.__enter__()
            _BLAS_LIMIT["context"] = context
        _BLAS_LIMIT["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LIMIT_LOCK:
            _BLAS_LIMIT["depth"] -= 1
            if _BLAS_LIMIT["depth"] == 0:
                context, _BLAS_LIMIT["context"] = _BLAS_LIMIT["context"], None
                context.__exit__(None, None, None)


def check_arrays(params, X, weight):
    """Parameters and weights in float64, data in float32 or float64, all C-contiguous (X: or sparse)."""
    if params.dtype != np.float64 or weight.dtype != np.float64:
        raise TypeError(f"params and weight must be float64, got {params.dtype} and {weight.dtype}")
    if X.dtype not in (np.float32, np.float64):
        raise TypeError(f"X must be float32 or float64, got {X.dtype}")
    if not (params.flags.c_contiguous and (scipy.sparse.issparse(X) or X.flags.c_contiguous)):
        raise ValueError("params and X must be C-contiguous")


@contextlib.contextmanager
def compile_lock():
    """An inter-process lock around compilation.

    numba's cache is not safe when two processes compile the same parallel
    kernel at once (numba issue #10128: mismatched cache files, then segfaults
    on load), as joblib workers of a fresh install would. Compiling under a
    file lock makes the second process load what the first one wrote.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock
        yield
        return
    directory = CACHE_DIRECTORY
    if not os.access(directory if os.path.isdir(directory) else os.path.dirname(directory), os.W_OK):
        directory = tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "skunlearn-numba-compile.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
