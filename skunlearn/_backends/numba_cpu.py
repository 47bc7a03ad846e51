"""numba CPU backend: fused per-batch kernels, compiled lazily with ``cache=True``.

One jit policy for every kernel: ``nopython``, ``cache=True``, no
``fastmath`` (so the numpy reference of :mod:`skunlearn._testing` matches to
rounding), no eager signatures (they slow imports); float32 inputs stay
float32.

Each step is split into :data:`TASKS` fixed tasks. Task t computes the
gradient of the t-th contiguous quarter of the batch's rows (two
single-threaded BLAS products, ``np.dot``) and draws the t-th contiguous share
of the step's Gaussian noise. Large batches run the tasks in parallel, small
ones in a plain loop; the decomposition is the same either way, so the model
does not depend on the number of threads.

The noise comes from the counter-based generator of
:mod:`skunlearn._backends._ziggurat`: normal ``i`` is a pure function of the
key and ``i``, so tasks draw disjoint ranges with no shared state and the
numpy reference draws the very same numbers. At the benchmark's scale the noise
costs as much as reading X; this generator takes about a third of the time of
``numpy.random.Generator.standard_normal`` called from numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from threadpoolctl import threadpool_limits

from . import BINARY_LOGISTIC, KernelConfig
from ._ziggurat import F_TABLE, GOLDEN, K_TABLE, MAX_ATTEMPTS, MIX_1, MIX_2, W_TABLE, ZIGGURAT_R

#: Fast-accept thresholds as int64 (they are below 2**52): signed compares and conversions are cheaper.
K_TABLE_SIGNED = K_TABLE.astype(np.int64)

__all__ = ["TASKS", "fill_normals", "run_logistic_epochs"]

#: Tasks per step: row parts of the gradient and shares of the noise (fixed, machine-independent).
TASKS = 4

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


@njit(cache=True, inline="always")
def _word(key, index, j):
    """SplitMix64 at position 64 i + j of its Weyl sequence from ``key`` (see _ziggurat)."""
    z = key + GOLDEN * (index * np.uint64(64) + np.uint64(j))
    z = (z ^ (z >> np.uint64(30))) * MIX_1
    z = (z ^ (z >> np.uint64(27))) * MIX_2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(word):
    return np.float64(np.int64(word >> np.uint64(11))) * 1.1102230246251565e-16  # 2**-53


@njit(cache=True)
def _normal_slow(key, index):
    """The ziggurat of _ziggurat.reference_normals, all attempts."""
    value = 0.0
    for attempt in range(MAX_ATTEMPTS):
        word = _word(key, index, 3 * attempt)
        layer = np.intp(word & np.uint64(255))
        word = word >> np.uint64(8)
        negative = (word & np.uint64(1)) != np.uint64(0)
        magnitude = np.int64((word >> np.uint64(1)) & np.uint64(0xFFFFFFFFFFFFF))
        value = np.float64(magnitude) * W_TABLE[layer]
        if magnitude < K_TABLE_SIGNED[layer]:
            return -value if negative else value
        u1 = _uniform(_word(key, index, 3 * attempt + 1))
        u2 = _uniform(_word(key, index, 3 * attempt + 2))
        if layer == 0:
            tail = -math.log1p(-u1) / ZIGGURAT_R
            value = ZIGGURAT_R + tail
            if -2.0 * math.log1p(-u2) > tail * tail:
                return -value if negative else value
        else:
            lower = F_TABLE[layer]
            if lower + u1 * (F_TABLE[layer - 1] - lower) < math.exp(-0.5 * value * value):
                return -value if negative else value
        if attempt == MAX_ATTEMPTS - 1:
            return -value if negative else value
    return value


@njit(cache=True)
def _fill_normals(out, lo, hi, key, first):
    """``out[i] = normal(key, first + i)`` for i in [lo, hi).

    Two passes: a branch-free fast path that the compiler can vectorise, then
    the rare (about 1.2%) rejected draws redone by the full ziggurat.
    """
    n_slow = 0
    for i in range(lo, hi):
        word = _word(key, first + np.uint64(i), 0)
        layer = np.intp(word & np.uint64(255))
        magnitude = np.int64((word >> np.uint64(9)) & np.uint64(0xFFFFFFFFFFFFF))
        sign = 1.0 - 2.0 * np.float64(np.int64((word >> np.uint64(8)) & np.uint64(1)))
        fast = magnitude < K_TABLE_SIGNED[layer]
        out[i] = sign * np.float64(magnitude) * W_TABLE[layer] if fast else np.nan  # NaN marks a rejection
        n_slow += not fast
    if n_slow:
        for i in range(lo, hi):
            if np.isnan(out[i]):
                out[i] = _normal_slow(key, first + np.uint64(i))


@njit(cache=True)
def fill_normals(out, key, start):
    """``out[i] = normal(key, start + i)``: the generator of _ziggurat, in one thread."""
    _fill_normals(out, 0, out.size, key, np.uint64(start))


@njit(cache=True)
def _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter):
    """Task t of a step: gradient of the t-th quarter of rows, and the t-th share of the noise."""
    lo = start + (stop - start) * t // TASKS
    hi = start + (stop - start) * (t + 1) // TASKS
    if hi > lo:
        rows = X[lo:hi]
        scores = np.dot(rows, params.T)
        _residuals(scores, y, weight, lo, loss)
        np.dot(np.ascontiguousarray(scores.T), rows, partial[t])
    else:
        partial[t] = 0
    if noise_scale > 0.0:
        _fill_normals(noise, noise.size * t // TASKS, noise.size * (t + 1) // TASKS, key, counter)


@njit(cache=True, parallel=True)
def _tasks_parallel(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter):
    for t in prange(TASKS):
        _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter)


@njit(cache=True)
def _tasks_serial(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter):
    for t in range(TASKS):
        _task(t, params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter)


@njit(cache=True)
def _update_share(t, params, partial, noise, shrink, gradient_scale, noise_scale, squares):
    """Share t of ``θ ← shrink θ − scale Σ_tasks g + noise_scale ξ``; its squared norm into squares[t]."""
    flat = params.reshape(-1)
    gradients = partial.reshape(TASKS, -1)
    total = 0.0
    for i in range(flat.size * t // TASKS, flat.size * (t + 1) // TASKS):
        gradient = gradients[0, i]
        for u in range(1, TASKS):
            gradient += gradients[u, i]
        value = shrink * flat[i] - gradient_scale * gradient
        if noise_scale > 0.0:
            value += noise_scale * noise[i]
        flat[i] = value
        stored = flat[i]
        total += stored * stored
    squares[t] = total


@njit(cache=True, parallel=True)
def _update_parallel(params, partial, noise, shrink, gradient_scale, noise_scale, squares):
    for t in prange(TASKS):
        _update_share(t, params, partial, noise, shrink, gradient_scale, noise_scale, squares)


@njit(cache=True)
def _update_serial(params, partial, noise, shrink, gradient_scale, noise_scale, squares):
    for t in range(TASKS):
        _update_share(t, params, partial, noise, shrink, gradient_scale, noise_scale, squares)


@njit(cache=True)
def _logistic_epochs(params, X, y, weight, batch_bounds, loss, step_size, l2, noise_scale, radius, key, counter,
                     n_epochs, parallel):
    n_outputs, n_features = params.shape
    shrink = 1.0 - step_size * l2
    partial = np.zeros((TASKS, n_outputs, n_features), dtype=params.dtype)
    noise = np.zeros(n_outputs * n_features, dtype=np.float64)
    squares = np.zeros(TASKS)
    for _ in range(n_epochs):
        for j in range(batch_bounds.size - 1):
            start, stop = batch_bounds[j], batch_bounds[j + 1]
            gradient_scale = step_size / (stop - start)
            if parallel:
                _tasks_parallel(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter)
                _update_parallel(params, partial, noise, shrink, gradient_scale, noise_scale, squares)
            else:
                _tasks_serial(params, X, y, weight, start, stop, loss, partial, noise, noise_scale, key, counter)
                _update_serial(params, partial, noise, shrink, gradient_scale, noise_scale, squares)
            if noise_scale > 0.0:
                counter += np.uint64(noise.size)
            norm = math.sqrt(squares.sum())
            if norm > radius:
                params *= radius / norm
    return params


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter, n_epochs):
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
    noise_key : int
        Key of the Gaussian generator (a uint64).
    noise_counter : int
        Index of the first normal to draw; each noisy step draws ``params.size``.
    n_epochs : int

    Returns
    -------
    params : ndarray
    noise_counter : int
        The counter after the last normal drawn.
    """
    if n_epochs <= 0:
        return params, noise_counter
    parallel = int(np.max(np.diff(batch_bounds))) * params.size >= _PARALLEL_WORK
    # BLAS runs single-threaded inside the kernel: the tasks are the parallelism, and a
    # multi-threaded BLAS called from a numba thread oversubscribes the cores badly.
    with threadpool_limits(1, user_api="blas"):
        params = _logistic_epochs(params, X, y, weight, batch_bounds, *config.as_args(), np.uint64(noise_key),
                                  np.uint64(noise_counter), int(n_epochs), parallel)
    drawn = n_epochs * (batch_bounds.size - 1) * params.size if config.noise_scale > 0 else 0
    return params, noise_counter + drawn
