"""numba CPU backend: fused per-batch kernels, compiled lazily with ``cache=True``.

One jit policy for every kernel: ``nopython``, ``cache=True``, no
``fastmath`` (so the numpy reference of :mod:`skunlearn._testing` matches to
rounding, and the a priori rounding bound of
:mod:`skunlearn.accounting.floating_point` describes the arithmetic), no eager
signatures (they slow imports). Parameters are binary64. In the logistic
kernel so is every product (its rounding is charged to the certificate); the
data may stay float32 (it is converted, exactly, a block of
:data:`ROW_BLOCK` rows at a time, so no float64 copy of X is ever made). The
MLP's gradient is computed in X's own type from a copy of the parameters in
that type (float32 stays float32, at twice the GEMM rate): its certificate
holds for any gradient, so only the binary64 update, clip and noise count.

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

import contextlib
import logging
import math
import os
import tempfile
import time

import numba
import numpy as np
import scipy.sparse
from numba import njit, prange
from threadpoolctl import ThreadpoolController

from .._constants import step_tasks
from . import BINARY_LOGISTIC, KernelConfig
from ._elementary import exp_nonpositive
from ._grid_noise import fill_grid_noise, kernel_key, scaled_widths

__all__ = ["exp_nonpositive", "fill_normals", "mlp_loss_gradient", "run_logistic_epochs", "run_mlp_epochs", "warm_up"]

#: Multiply-adds per step below which the tasks run serially (threads do not pay there).
_PARALLEL_WORK = 200_000

#: Rows converted to float64 and multiplied at a time inside a task.
ROW_BLOCK = 64


@njit(cache=True)
def _residuals(scores, y, weight, start, loss):
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


@njit(cache=True)
def fill_normals(out, key, start, scale, grid):
    """``out[i] = Λ RN(σ' ξ_{start+i})`` in one thread (:func:`skunlearn._backends._grid_noise.fill_grid_noise`)."""
    scale_hi, scale_lo = scaled_widths(scale)
    return fill_grid_noise(out, 0, out.size, key, np.uint64(start), scale, grid, scale_hi, scale_lo)


@njit(cache=True, inline="always")
def _on_grid(value, grid, inverse_grid, noise):
    """``RN_Λ(value) + noise``: exact in binary64 for the bounds of ``noise_grid`` (Λ a power of two)."""
    return np.rint(value * inverse_grid) * grid + noise


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
        loss_parts[t] += _residuals(block_scores, y, weight, first, loss)
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


@njit(cache=True, parallel=True)
def _tasks_parallel(n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
                    noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts):
    for t in prange(n_tasks):
        _task(t, n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
              noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts)


@njit(cache=True)
def _tasks_serial(n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
                  noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts):
    for t in range(n_tasks):
        _task(t, n_tasks, params, X, y, weight, start, stop, loss, partial, rows64, scores, product, noise,
              noise_scale, key, counter, grid, scale_hi, scale_lo, loss_parts)


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
            value = _on_grid(value, grid, inverse_grid, noise[i])
        flat[i] = value
        stored = flat[i]
        total += stored * stored
    squares[t] = total


@njit(cache=True, parallel=True)
def _update_parallel(n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares):
    for t in prange(n_tasks):
        _update_share(t, n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares)


@njit(cache=True)
def _update_serial(n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares):
    for t in range(n_tasks):
        _update_share(t, n_tasks, params, partial, noise, shrink, gradient_scale, noise_scale, grid, squares)


@njit(cache=True)
def _project(params, squares, radius):
    """The ball projection Π_R, from the squared norms of the update's shares (added in share order)."""
    norm = math.sqrt(squares.sum())
    if norm > radius:
        params *= radius / norm


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
    scale_hi, scale_lo = scaled_widths(noise_scale / grid if noise_scale > 0.0 else 1.0)
    loss_parts = np.zeros(n_tasks)
    retained = 0.0
    for i in range(weight.size):
        retained += weight[i]
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
            _project(params, squares, radius)
            for t in range(n_tasks):
                epoch_loss += loss_parts[t]
        # The epoch's mean weighted loss over its batches (the L2 term left out), as for the MLP.
        losses[epoch] = epoch_loss / retained if retained > 0 else np.nan
    return params


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter, n_epochs,
                        n_threads=None, losses=None):
    """Run ``n_epochs`` cyclic epochs of projected noisy SGD for logistic regression.

    Parameters
    ----------
    params : ndarray of shape (n_outputs, n_features), float64
        Updated in place and returned.
    X : ndarray or scipy.sparse CSR array of shape (n_slots, n_features)
        Rows in slot order, float32 or float64; dense: C-contiguous; CSR: run by
        :mod:`skunlearn._backends._numba_sparse` (products over the non-zeros,
        the same dense noise).
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
    if scipy.sparse.issparse(X):
        from ._numba_sparse import run_sparse_logistic_epochs

        return run_sparse_logistic_epochs(params, X, y, weight, batch_bounds, config, noise_key, noise_counter,
                                          n_epochs, n_threads, losses)
    if n_epochs <= 0:
        return params, noise_counter
    _check_arrays(params, X, weight)
    warm_up(X.dtype)
    losses = np.empty(int(n_epochs)) if losses is None else losses
    largest_batch = int(np.max(np.diff(batch_bounds)))
    parallel = largest_batch * params.size >= _PARALLEL_WORK
    # BLAS runs single-threaded inside the kernel: the tasks are the parallelism, and a
    # multi-threaded BLAS called from a numba thread oversubscribes the cores badly.
    with _blas_controller().limit(limits=1, user_api="blas"), _numba_threads(n_threads):
        params = _logistic_epochs(params, X, y, weight, batch_bounds, *config.as_args(),
                                  kernel_key(noise_key, config.noise_core), np.uint64(noise_counter), int(n_epochs),
                                  step_tasks(largest_batch), parallel, losses)
    drawn = n_epochs * (batch_bounds.size - 1) * params.size if config.noise_scale > 0 else 0
    return params, noise_counter + drawn


@contextlib.contextmanager
def _numba_threads(n_jobs):
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


def _blas_controller():
    """One threadpoolctl controller per process: building one scans the loaded libraries (milliseconds)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def _check_arrays(params, X, weight):
    """Parameters and weights in float64, data in float32 or float64, all C-contiguous (X: or sparse)."""
    if params.dtype != np.float64 or weight.dtype != np.float64:
        raise TypeError(f"params and weight must be float64, got {params.dtype} and {weight.dtype}")
    if X.dtype not in (np.float32, np.float64):
        raise TypeError(f"X must be float32 or float64, got {X.dtype}")
    if not (params.flags.c_contiguous and (scipy.sparse.issparse(X) or X.flags.c_contiguous)):
        raise ValueError("params and X must be C-contiguous")


# ---------------------------------------------------------------------------- MLP
#
# Parameters live in one flat vector: for each layer l, W_l (n_in x n_out, C order)
# then b_l. Clipping, noise and norms then act on one array, and a layer's weights
# are a reshaped view.

@njit(cache=True)
def _activate(values, activation):
    flat = values.reshape(-1)
    for i in range(flat.size):
        v = flat[i]
        if activation == 0:
            flat[i] = v if v > 0 else 0.0
        elif activation == 1:
            flat[i] = math.tanh(v)
        else:
            flat[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


@njit(cache=True)
def _activation_derivative(delta, activations, activation):
    """delta *= f'(z), written with the activations a = f(z)."""
    d = delta.reshape(-1)
    a = activations.reshape(-1)
    for i in range(d.size):
        if activation == 0:
            if a[i] <= 0:
                d[i] = 0.0
        elif activation == 1:
            d[i] *= 1.0 - a[i] * a[i]
        else:
            d[i] *= a[i] * (1.0 - a[i])


@njit(cache=True)
def _mlp_batch_gradient(params, sizes, X, y, weight, lo, hi, activation, buffer, gradient):
    """Mean loss and gradient over the retained rows of X[lo:hi]; gradient written in place.

    Computed in X's type: ``params``, ``buffer`` and ``gradient`` have it too.
    ``buffer`` holds every layer's activations then one delta scratch.
    Returns (summed loss, retained rows).
    """
    n_rows = hi - lo
    n_layers = sizes.size - 1
    retained = 0.0
    for i in range(lo, hi):
        retained += weight[i]
    gradient[:] = 0.0
    if retained == 0.0:
        return 0.0, 0.0
    rows = X[lo:hi]
    # Forward: layer l's activations at buffer[act_offset[l]:], rows x sizes[l + 1].
    act_offsets = np.zeros(n_layers + 1, dtype=np.int64)
    for l in range(n_layers):
        act_offsets[l + 1] = act_offsets[l] + n_rows * sizes[l + 1]
    offset = 0
    previous = rows
    for l in range(n_layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = params[offset:offset + n_in * n_out].reshape(n_in, n_out)
        b = params[offset + n_in * n_out:offset + n_in * n_out + n_out]
        out = buffer[act_offsets[l]:act_offsets[l + 1]].reshape(n_rows, n_out)
        np.dot(previous, W, out)
        out += b
        if l < n_layers - 1:
            _activate(out, activation)
        previous = out
        offset += n_in * n_out + n_out
    # Softmax cross-entropy: delta = w (p - e_y) / retained.
    n_classes = sizes[n_layers]
    logits = buffer[act_offsets[n_layers - 1]:act_offsets[n_layers]].reshape(n_rows, n_classes)
    loss = 0.0
    for i in range(n_rows):
        top = logits[i, 0]
        for k in range(1, n_classes):
            top = max(top, logits[i, k])
        total = 0.0
        for k in range(n_classes):
            total += math.exp(logits[i, k] - top)
        w = weight[lo + i]
        loss += w * (math.log(total) + top - logits[i, y[lo + i]])
        for k in range(n_classes):
            logits[i, k] = w * math.exp(logits[i, k] - top) / total / retained
        logits[i, y[lo + i]] -= w / retained
    # Backward.
    delta = logits
    for l in range(n_layers - 1, -1, -1):
        offset -= sizes[l] * sizes[l + 1] + sizes[l + 1]
        n_in, n_out = sizes[l], sizes[l + 1]
        inputs = rows if l == 0 else buffer[act_offsets[l - 1]:act_offsets[l]].reshape(n_rows, n_in)
        grad_W = gradient[offset:offset + n_in * n_out].reshape(n_in, n_out)
        np.dot(inputs.T, delta, grad_W)
        grad_b = gradient[offset + n_in * n_out:offset + n_in * n_out + n_out]
        for i in range(n_rows):
            for k in range(n_out):
                grad_b[k] += delta[i, k]
        if l > 0:
            W = params[offset:offset + n_in * n_out].reshape(n_in, n_out)
            scratch = buffer[act_offsets[n_layers]:act_offsets[n_layers] + n_rows * n_in].reshape(n_rows, n_in)
            np.dot(delta, W.T, scratch)
            _activation_derivative(scratch, inputs, activation)
            # Move the scratch into the layer's own activation slot (no longer needed) to free the scratch.
            own = buffer[act_offsets[l - 1]:act_offsets[l]].reshape(n_rows, n_in)
            own[:, :] = scratch
            delta = own
    return loss, retained


@njit(cache=True)
def _global_norm(values):
    total = 0.0
    for i in range(values.size):
        total += values[i] * values[i]
    return math.sqrt(total)


@njit(cache=True)
def _mlp_epochs(params, sizes, X, y, weight, batch_bounds, activation, update, step_size, l2, noise_std, radius,
                gradient_clip, grid, key, counter, n_epochs, losses):
    max_rows = 0
    for j in range(batch_bounds.size - 1):
        max_rows = max(max_rows, batch_bounds[j + 1] - batch_bounds[j])
    width = 0
    for l in range(1, sizes.size):
        width += sizes[l]
    widest = 0
    for l in range(sizes.size):
        widest = max(widest, sizes[l])
    # The gradient is computed in X's type from a copy of the binary64 parameters in that type: the
    # certificate holds for any gradient (Koloskova et al.: the clip bounds what it can do), so only the
    # update, the clip and the noise (binary64) enter the rounding bound.
    buffer = np.empty(max_rows * (width + widest), dtype=X.dtype)
    working = np.empty(params.size, dtype=X.dtype)
    gradient = np.empty(params.size, dtype=X.dtype)
    noise = np.empty(params.size if noise_std > 0.0 else 0, dtype=np.float64)
    noise_ratio = noise_std / grid if noise_std > 0.0 else 1.0  # σ' of the grid sampler
    scale_hi, scale_lo = scaled_widths(noise_ratio)
    inverse_grid = 1.0 / grid if noise_std > 0.0 else 0.0
    for epoch in range(n_epochs):
        epoch_loss = 0.0
        epoch_rows = 0.0
        for j in range(batch_bounds.size - 1):
            for i in range(params.size):
                working[i] = params[i]
            batch_loss, retained = _mlp_batch_gradient(working, sizes, X, y, weight, batch_bounds[j],
                                                       batch_bounds[j + 1], activation, buffer, gradient)
            epoch_loss += batch_loss
            epoch_rows += retained
            if noise_std > 0.0:
                # Serially: numba threads next to a multi-threaded BLAS would fight over the cores.
                fill_grid_noise(noise, 0, noise.size, key, counter, noise_ratio, grid, scale_hi, scale_lo)
                counter += np.uint64(noise.size)
            if update == 1:  # gradient clipping
                norm = _global_norm(gradient)
                scale = step_size * (min(1.0, gradient_clip / norm) if norm > 0 else 1.0)
                shrink = 1.0 - step_size * l2
                for i in range(params.size):
                    params[i] = shrink * params[i] - scale * gradient[i]
            else:  # model clipping / projected SGD
                for i in range(params.size):
                    params[i] = params[i] - step_size * (gradient[i] + l2 * params[i])
                norm = _global_norm(params)
                if norm > radius:
                    params *= radius / norm
            if noise_std > 0.0:
                for i in range(params.size):
                    params[i] = _on_grid(params[i], grid, inverse_grid, noise[i])
        # The epoch's mean loss over its batches, each at the parameters it was computed at (as MLPClassifier's
        # loss_curve_ records it).
        losses[epoch] = epoch_loss / epoch_rows if epoch_rows > 0 else np.nan
    return params, counter


def run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs,
                   losses=None):
    """Run ``n_epochs`` cyclic epochs of one MLP phase (see ``MLPConfig``).

    Parameters
    ----------
    params : ndarray of shape (n_params,), float64
        Flat parameters, updated in place.
    layer_sizes : ndarray of int64
        ``[n_features, hidden..., n_classes]``.
    X, y, weight, batch_bounds
        As for :func:`run_logistic_epochs`.
    config : MLPConfig
    noise_key, noise_counter : int
        The grid-noise generator's 256-bit key and first index.
    n_epochs : int
    losses : ndarray of shape (n_epochs,), float64, optional
        Filled with each epoch's mean cross-entropy over its batches.

    Returns
    -------
    params : ndarray
    noise_counter : int
    """
    if n_epochs <= 0:
        return params, noise_counter
    _check_arrays(params, X, weight)
    warm_up(X.dtype)
    losses = np.empty(int(n_epochs)) if losses is None else losses
    params, counter = _mlp_epochs(params, np.asarray(layer_sizes, dtype=np.int64), X, y, weight, batch_bounds,
                                  *config.as_args(), kernel_key(noise_key, config.noise_core),
                                  np.uint64(noise_counter), int(n_epochs), losses)
    return params, int(counter)


def mlp_loss_gradient(params, layer_sizes, X, y, weight, activation):
    """Mean cross-entropy over the retained rows and its gradient (the kernel's own routine).

    Returns
    -------
    loss : float
    gradient : ndarray of shape (n_params,)
    """
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    X = np.ascontiguousarray(X, dtype=params.dtype)  # in the parameters' type: a reference for gradient checks
    gradient = np.empty_like(params)
    buffer = np.empty(X.shape[0] * (int(sizes[1:].sum()) + int(sizes.max())), dtype=params.dtype)
    loss, retained = _mlp_batch_gradient(params, sizes, X, y, weight, 0, X.shape[0], activation, buffer, gradient)
    return loss / max(retained, 1.0), gradient


# ---------------------------------------------------------------------------- warm-up

_WARM_DTYPES = set()


@contextlib.contextmanager
def _compile_lock():
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
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if not os.access(directory if os.path.isdir(directory) else os.path.dirname(directory), os.W_OK):
        directory = tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "skunlearn-numba-compile.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_LOGGER = logging.getLogger("skunlearn")


def _kernels_cached():
    """Whether numba's cache already holds the dense kernel (an index file next to this module, or in NUMBA_CACHE_DIR)."""
    directories = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")]
    if numba.config.CACHE_DIR:
        directories.append(numba.config.CACHE_DIR)
    for directory in directories:
        for _root, _dirs, files in os.walk(directory):
            if any(name.startswith("numba_cpu._logistic_epochs-") and name.endswith(".nbi") for name in files):
                return True
    return False


def warm_up(dtype):
    """Compile (or load from numba's cache) every kernel for data of ``dtype``, once per process.

    Before a first compilation it says so through the ``skunlearn`` logger (at
    WARNING, so that it shows without any logging set-up): about a minute on
    2 cores, once per installation.
    """
    dtype = np.dtype(dtype)
    if dtype in _WARM_DTYPES:
        return
    if not _WARM_DTYPES and not _kernels_cached():
        _LOGGER.warning("skunlearn: compiling the numba kernels (about a minute on 2 cores, once per installation; "
                        "`python -m skunlearn warmup` does it ahead of time)")
    start = time.perf_counter()
    with _compile_lock():
        X = np.ones((8, 3), dtype=dtype)
        y = np.zeros(8, dtype=np.int64)
        weight = np.ones(8)
        bounds = np.array([0, 4, 8], dtype=np.int64)
        for parallel in (False, True):
            _logistic_epochs(np.zeros((2, 3)), X, y, weight, bounds, 1, 0.1, 0.01, 0.1, 10.0, 2.0**-30,
                             kernel_key(0), np.uint64(0), 1, 4, parallel, np.empty(1))
        _mlp_epochs(np.zeros(3 * 2 + 2 + 2 * 2 + 2), np.array([3, 2, 2], dtype=np.int64), X, y, weight,
                    bounds, 0, 0, 0.1, 0.01, 0.1, 10.0, 1.0, 2.0**-30, kernel_key(0), np.uint64(0), 1, np.empty(1))
        fill_normals(np.empty(4), kernel_key(0), 0, 2.0**25, 1.0)
    _WARM_DTYPES.add(dtype)
    _LOGGER.info("kernels for %s data ready in %.1f s", dtype, time.perf_counter() - start)
