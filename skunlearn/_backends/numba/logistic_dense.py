"""The logistic update for dense rows: one fused kernel a step, its tasks fixed by the problem.

Parameters are binary64, and so is every product (its rounding is charged to
the certificate); the data may stay float32 (it is converted, exactly, a block
of :data:`ROW_BLOCK` rows at a time, so no float64 copy of X is ever made).

Each step is split into ``step_tasks(b)`` tasks (:func:`skunlearn._constants.step_tasks`:
4 up to 128-row batches, one per 32 rows beyond, at most 64), a number fixed by the
problem, never by the machine. Task t computes the
gradient of the t-th contiguous share of the batch's rows (blocks of rows,
two single-threaded BLAS products each, ``np.dot``, accumulated in a fixed
order) and draws the t-th contiguous share of the step's Gaussian noise. Large batches run the tasks in parallel, small
ones in a plain loop; the decomposition is the same either way, so the model
does not depend on the number of threads.

The noise is the grid noise of :mod:`skunlearn._backends._grid_noise`: normal
``i`` is ``Λ · RN(σ' ξ_i)``, a pure function of the 256-bit key and ``i``
(ChaCha20 in counter mode), so tasks draw disjoint ranges with no shared state
and the numpy reference draws the very same numbers. A noisy coordinate is
``RN_Λ(v) + Λ K``, exact in binary64
(:mod:`skunlearn.accounting.floating_point`, "The float output law").
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._constants import step_tasks
from .._grid_noise import fill_grid_noise, kernel_key
from ..codes import KernelConfig
from .common import (check_arrays, grid_widths, numba_threads, on_grid, project, residuals,
                     serial_and_parallel, single_blas_thread, total_weight)

__all__ = ["run_dense_logistic_epochs"]

#: Multiply-adds per step below which the tasks run serially (threads do not pay there).
_PARALLEL_WORK = 200_000

#: Rows converted to float64 and multiplied at a time inside a task.
ROW_BLOCK = 64


@njit(cache=True)
def _task(t, n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise, noise_scale,
          key, counter, grid, scale_hi, scale_lo, loss_parts):
    """Task t of a step: gradient of the t-th share of the rows, and the t-th share of the noise.

    The rows go through a float64 block ``rows64[t]`` of :data:`ROW_BLOCK` rows;
    the blocks' products are added to ``partial[t]`` in row order.
    """
    lo = start + (stop - start) * t // n_tasks
    hi = start + (stop - start) * (t + 1) // n_tasks
    n_features = X.shape[1]
    if hi == lo:
        partial[t] = 0.0
    loss_parts[t] = 0.0
    for first in range(lo, hi, ROW_BLOCK):
        n_rows = min(ROW_BLOCK, hi - first)
        rows = rows64[t, :n_rows]
        for i in range(n_rows):
            for j in range(n_features):
                rows[i, j] = X[first + i, j]
        block_scores = scores[t, :n_rows]
        np.dot(rows, params.T, block_scores)
        loss_parts[t] += residuals(block_scores, y, weight, first, loss)
        # The first block's product goes straight into the task's partial (no zeroing, no extra pass);
        # BLAS reads the transposed scores in place.
        if first == lo:
            np.dot(block_scores.T, rows, partial[t])
        else:
            np.dot(block_scores.T, rows, product[t])
            partial[t] += product[t]
    if noise_scale > 0.0:
        fill_grid_noise(noise, noise.size * t // n_tasks, noise.size * (t + 1) // n_tasks, key, counter,
                        noise_scale / grid, grid, scale_hi, scale_lo)


def _tasks(n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise, noise_scale,
           key, counter, grid, scale_hi, scale_lo, loss_parts):
    for t in prange(n_tasks):
        _task(t, n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
              noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts)


_tasks_serial, _tasks_parallel = serial_and_parallel(_tasks)


@njit(cache=True)
def _update_share(t, n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares):
    """Share t of ``θ ← RN_Λ(shrink θ − scale Σ_tasks g) + Λ K`` (noisy) or without the grid; squared norm to squares[t]."""
    flat = params.reshape(-1)
    gradients = partial.reshape(n_tasks, -1)
    total = 0.0
    inverse_grid = 1.0 / grid if noise_scale > 0.0 else 0.0
    for i in range(flat.size * t // n_tasks, flat.size * (t + 1) // n_tasks):
        gradient = gradients[0, i]
        for u in range(1, n_tasks):
            gradient += gradients[u, i]
        value = shrink * flat[i] - gradient_scale * gradient
        if noise_scale > 0.0:
            value = on_grid(value, grid, inverse_grid, noise[i])
        flat[i] = value
        stored = flat[i]
        total += stored * stored
    squares[t] = total


def _update(n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares):
    for t in prange(n_tasks):
        _update_share(t, n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares)


_update_serial, _update_parallel = serial_and_parallel(_update)


@njit(cache=True)
def _logistic_epochs(params, X, y, weight, batch_bounds, loss, step_size, l2, noise_scale, radius, grid, key, counter,
                     n_epochs, n_tasks, parallel, losses):
    n_outputs, n_features = params.shape
    shrink = 1.0 - step_size * l2
    partial = np.zeros((n_tasks, n_outputs, n_features))
    product = np.zeros((n_tasks, n_outputs, n_features))
    rows64 = np.zeros((n_tasks, ROW_BLOCK, n_features))
    scores = np.zeros((n_tasks, ROW_BLOCK, n_outputs))
    noise = np.zeros(n_outputs * n_features, dtype=np.float64)
    squares = np.zeros(n_tasks)
    scale_hi, scale_lo = grid_widths(noise_scale, grid)
    loss_parts = np.zeros(n_tasks)
    retained = total_weight(weight)
    for epoch in range(n_epochs):
        epoch_loss = 0.0
        for j in range(batch_bounds.size - 1):
            start, stop = batch_bounds[j], batch_bounds[j + 1]
            gradient_scale = step_size / (stop - start)
            if parallel:
                _tasks_parallel(n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product,
                                noise, noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts)
                _update_parallel(n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares)
            else:
                _tasks_serial(n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
                              noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts)
                _update_serial(n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares)
            if noise_scale > 0.0:
                counter += np.uint64(noise.size)
            project(params, squares, radius)
            for t in range(n_tasks):
                epoch_loss += loss_parts[t]
        # The epoch's mean weighted loss over its batches (the L2 term left out), as for the MLP.
        losses[epoch] = epoch_loss / retained if retained > 0 else np.nan
    return params


def run_dense_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter,
                              n_epochs, n_threads=None, losses=None):
    """Run ``n_epochs`` cyclic epochs of projected noisy SGD for logistic regression.

    Parameters
    ----------
    params : ndarray of shape (n_outputs, n_features), float64
        Updated in place and returned.
    X : ndarray of shape (n_slots, n_features)
        Rows in slot order, float32 or float64, C-contiguous.
    y : ndarray of shape (n_slots,), int64
        Class codes (0/1 for the binary loss).
    weight : ndarray of shape (n_slots,), float64
        The row's weight for a retained row (1 unless weighted), 0 for a removed slot.
    batch_bounds : ndarray of int64
        Batch j holds slots ``batch_bounds[j]:batch_bounds[j + 1]``.
    config : KernelConfig
    noise_key : int
        256-bit key of the grid-noise generator (ChaCha20).
    noise_counter : int
        Index of the first normal to draw; each noisy step draws ``params.size``.
    n_epochs : int
    n_threads : int or None, default=None
        Threads for this call, in scikit-learn's ``n_jobs`` convention (-1:
        all; None: numba's default, all cores unless ``NUMBA_NUM_THREADS``
        says otherwise). The result does not depend on it: the tasks are fixed.
    losses : ndarray of shape (n_epochs,), float64, optional
        Filled with each epoch's mean weighted log-loss over its batches (the
        L2 term left out), each batch at the parameters it was computed at.

    Returns
    -------
    params : ndarray
    noise_counter : int
        The counter after the last normal drawn.
    """
    if n_epochs <= 0:
        return params, noise_counter
    check_arrays(params, X, weight)
    losses = np.empty(int(n_epochs)) if losses is None else losses
    largest_batch = int(np.max(np.diff(batch_bounds)))
    parallel = largest_batch * params.size >= _PARALLEL_WORK
    # BLAS runs single-threaded inside the kernel: the tasks are the parallelism, and a
    # multi-threaded BLAS called from a numba thread oversubscribes the cores badly.
    with single_blas_thread(), numba_threads(n_threads):
        params = _logistic_epochs(params, X, y, weight, batch_bounds, *config.as_args(),
                                  kernel_key(noise_key, config.noise_core), np.uint64(noise_counter), int(n_epochs),
                                  step_tasks(largest_batch), parallel, losses)
    drawn = n_epochs * (batch_bounds.size - 1) * params.size if config.noise_scale > 0 else 0
    return params, noise_counter + drawn
