"""numba CPU backend: fused per-batch kernels, compiled lazily with ``cache=True``.

One jit policy for every kernel: ``nopython``, ``cache=True``, no
``fastmath`` (so the numpy reference of :mod:`skunlearn._testing` matches to
rounding), no eager signatures (they slow imports); float32 inputs stay
float32.

Each step is split into :data:`TASKS` fixed tasks. Task t computes the
gradient of the t-th contiguous quarter of the batch's rows (two
single-threaded BLAS products, ``np.dot``) and draws the t-th contiguous share
of the step's Gaussian noise from its own ``numpy.random.Generator`` stream, in
float64. Large batches run the tasks in parallel, small ones in a plain loop;
the decomposition is the same either way, so the model does not depend on the
number of threads, and the reference can draw the very same numbers. At the
benchmark's scale the noise costs about as much as reading X, so drawing it in
parallel with the gradients matters.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from threadpoolctl import threadpool_limits

from . import BINARY_LOGISTIC, KernelConfig

__all__ = ["NOISE_STREAMS", "TASKS", "run_logistic_epochs"]

#: Tasks per step: row parts of the gradient, and independent noise streams (fixed, machine-independent).
TASKS = NOISE_STREAMS = 4

#: Multiply-adds per step below which the tasks run serially (threads do not pay there).
_PARALLEL_WORK = 200_000


@njit(cache=True)
def _residuals(scores, y, weight, start, loss):
    """Turn the rows' logits into ``w_i ∂ℓ_i/∂logits`` in place."""
    n_rows, n_outputs = scores.shape
    for i in range(n_rows):
        row_weight = weight[start + i]
        if loss == BINARY_LOGISTIC:
            z = scores[i, 0]
            if z >= 0:
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                p = e / (1.0 + e)
            scores[i, 0] = row_weight * (p - y[start + i])
        else:
            top = scores[i, 0]
            for k in range(1, n_outputs):
                top = max(top, scores[i, k])
            total = 0.0
            for k in range(n_outputs):
                e = math.exp(scores[i, k] - top)
                scores[i, k] = e
                total += e
            for k in range(n_outputs):
                scores[i, k] = row_weight * scores[i, k] / total
            scores[i, y[start + i]] -= row_weight


@njit(cache=True)
def _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs):
    """Task t of a step: gradient of the t-th quarter of rows, and the t-th share of the noise."""
    lo = start + (stop - start) * t // TASKS
    hi = start + (stop - start) * (t + 1) // TASKS
    if hi > lo:
        rows = X[lo:hi]
        scores = np.dot(rows, params.T)
        _residuals(scores, y, weight, lo, loss)
        partial[t] = np.dot(np.ascontiguousarray(scores.T), rows)
    else:
        partial[t] = 0
    if noise_scale > 0.0:
        rng = rngs[t]
        for i in range(noise.size * t // TASKS, noise.size * (t + 1) // TASKS):
            noise[i] = rng.standard_normal()


@njit(cache=True, parallel=True)
def _tasks_parallel(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs):
    for t in prange(TASKS):
        _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs)


@njit(cache=True)
def _tasks_serial(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs):
    for t in range(TASKS):
        _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs)


@njit(cache=True)
def _logistic_epochs(params, X, y, weight, batch_bounds, loss, step_size, l2, noise_scale, radius, rngs,
                     n_epochs, parallel):
    n_outputs, n_features = params.shape
    shrink = 1.0 - step_size * l2
    partial = np.zeros((TASKS, n_outputs, n_features), dtype=params.dtype)
    noise = np.zeros(n_outputs * n_features, dtype=np.float64)
    for _ in range(n_epochs):
        for j in range(batch_bounds.size - 1):
            start, stop = batch_bounds[j], batch_bounds[j + 1]
            if parallel:
                _tasks_parallel(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs)
            else:
                _tasks_serial(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, rngs)
            gradient_scale = step_size / (stop - start)
            squared_norm = 0.0
            for k in range(n_outputs):
                for f in range(n_features):
                    gradient = partial[0, k, f]
                    for t in range(1, TASKS):
                        gradient += partial[t, k, f]
                    value = shrink * params[k, f] - gradient_scale * gradient
                    if noise_scale > 0.0:
                        value += noise_scale * noise[k * n_features + f]
                    params[k, f] = value
                    stored = params[k, f]
                    squared_norm += stored * stored
            norm = math.sqrt(squared_norm)
            if norm > radius:
                factor = radius / norm
                for k in range(n_outputs):
                    for f in range(n_features):
                        params[k, f] *= factor
    return params


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, rngs, n_epochs):
    """Run ``n_epochs`` cyclic epochs of projected noisy SGD for logistic regression.

    Parameters
    ----------
    params : ndarray of shape (n_outputs, n_features)
        Updated in place and returned; same dtype as ``X``.
    X : ndarray of shape (n_slots, n_features)
        Rows in slot order, C-contiguous, float32 or float64.
    y : ndarray of shape (n_slots,), int64
        Class codes (0/1 for the binary loss).
    weight : ndarray of shape (n_slots,)
        1 for a retained row, 0 for a removed slot.
    batch_bounds : ndarray of int64
        Batch j holds slots ``batch_bounds[j]:batch_bounds[j + 1]``.
    config : KernelConfig
    rngs : tuple of NOISE_STREAMS numpy.random.Generator
        Noise streams; their states advance.
    n_epochs : int

    Returns
    -------
    ndarray
    """
    if n_epochs <= 0:
        return params
    if len(rngs) != NOISE_STREAMS:
        raise ValueError(f"need {NOISE_STREAMS} noise generators, got {len(rngs)}")
    parallel = int(np.max(np.diff(batch_bounds))) * params.size >= _PARALLEL_WORK
    # BLAS runs single-threaded inside the kernel: the tasks are the parallelism, and a
    # multi-threaded BLAS called from a numba thread oversubscribes the cores badly.
    with threadpool_limits(1, user_api="blas"):
        return _logistic_epochs(params, X, y, weight, batch_bounds, *config.as_args(), tuple(rngs), int(n_epochs),
                                parallel)
