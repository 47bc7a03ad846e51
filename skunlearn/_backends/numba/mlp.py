"""The MLP update of Koloskova et al. (2025): model or gradient clipping, noise on the grid.

Parameters live in one flat vector: for each layer l, W_l (n_in x n_out, C
order) then b_l. Clipping, noise and norms then act on one array, and a layer's
weights are a reshaped view. The gradient is computed in X's own type from a
copy of the parameters in that type (float32 stays float32, at twice the GEMM
rate): the certificate holds for any gradient, so only the binary64 update,
clip and noise enter the rounding bound.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from numba import get_num_threads, njit, prange

from .._grid_noise import fill_grid_noise, kernel_key
from ..codes import GRADIENT_CLIPPING, RELU, TANH
from .common import check_arrays, grid_widths, numba_threads, on_grid, serial_and_parallel, single_blas_thread

__all__ = ["mlp_loss_gradient", "run_mlp_epochs"]


@njit(cache=True)
def _activate(values, activation):
    flat = values.reshape(-1)
    for i in range(flat.size):
        v = flat[i]
        if activation == RELU:
            flat[i] = v if v > 0 else 0.0
        elif activation == TANH:
            flat[i] = math.tanh(v)
        else:
            flat[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


@njit(cache=True)
def _activation_derivative(delta, activations, activation):
    """delta *= f'(z), written with the activations a = f(z)."""
    d = delta.reshape(-1)
    a = activations.reshape(-1)
    for i in range(d.size):
        if activation == RELU:
            if a[i] <= 0:
                d[i] = 0.0
        elif activation == TANH:
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


def _gradient_and_noise(n_tasks, working, sizes, X, y, weight, lo, hi, activation, buffer, gradient, batch_totals,
                        noise, key, counter, scale, grid, scale_hi, scale_lo):
    """A step's products and its noise side by side: task 0 the batch gradient, tasks 1.. shares of the noise.

    The noise does not depend on the gradient, so the draws run while the
    products do (on one BLAS thread each: the caller limits BLAS). The same
    draws for any n_tasks: each is its index's.
    """
    for t in prange(n_tasks):
        if t == 0:
            loss, retained = _mlp_batch_gradient(working, sizes, X, y, weight, lo, hi, activation, buffer, gradient)
            batch_totals[0] = loss
            batch_totals[1] = retained
        else:
            shares = n_tasks - 1
            u = t - 1
            fill_grid_noise(noise, noise.size * u // shares, noise.size * (u + 1) // shares, key, counter, scale,
                            grid, scale_hi, scale_lo)


_gradient_and_noise_serial, _gradient_and_noise_parallel = serial_and_parallel(_gradient_and_noise)


@njit(cache=True)
def _mlp_epochs(params, sizes, X, y, weight, batch_bounds, activation, update, step_size, l2, noise_std, radius,
                gradient_clip, grid, key, counter, n_epochs, n_tasks, losses):
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
    scale_hi, scale_lo = grid_widths(noise_std, grid)
    inverse_grid = 1.0 / grid if noise_std > 0.0 else 0.0
    batch_totals = np.zeros(2)
    for epoch in range(n_epochs):
        epoch_loss = 0.0
        epoch_rows = 0.0
        for j in range(batch_bounds.size - 1):
            for i in range(params.size):
                working[i] = params[i]
            if noise_std > 0.0:
                # The serial twin runs the two tasks one after the other.
                if n_tasks > 1:
                    _gradient_and_noise_parallel(n_tasks, working, sizes, X, y, weight, batch_bounds[j],
                                                 batch_bounds[j + 1], activation, buffer, gradient, batch_totals,
                                                 noise, key, counter, noise_ratio, grid, scale_hi, scale_lo)
                else:
                    _gradient_and_noise_serial(2, working, sizes, X, y, weight, batch_bounds[j],
                                               batch_bounds[j + 1], activation, buffer, gradient, batch_totals,
                                               noise, key, counter, noise_ratio, grid, scale_hi, scale_lo)
                counter += np.uint64(noise.size)
                batch_loss, retained = batch_totals[0], batch_totals[1]
            else:
                batch_loss, retained = _mlp_batch_gradient(working, sizes, X, y, weight, batch_bounds[j],
                                                           batch_bounds[j + 1], activation, buffer, gradient)
            epoch_loss += batch_loss
            epoch_rows += retained
            if update == GRADIENT_CLIPPING:
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
                    params[i] = on_grid(params[i], grid, inverse_grid, noise[i])
        # The epoch's mean loss over its batches, each at the parameters it was computed at (as MLPClassifier's
        # loss_curve_ records it).
        losses[epoch] = epoch_loss / epoch_rows if epoch_rows > 0 else np.nan
    return params, counter


def run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs,
                   losses=None, n_threads=None):
    """Run ``n_epochs`` cyclic epochs of one MLP phase (see ``MLPConfig``).

    Parameters
    ----------
    params : ndarray of shape (n_params,), float64
        Flat parameters, updated in place.
    layer_sizes : ndarray of int64
        ``[n_features, hidden..., n_classes]``.
    X, y, weight, batch_bounds
        As for :func:`skunlearn._backends.numba.logistic_dense.run_dense_logistic_epochs` (X dense).
    config : MLPConfig
    noise_key, noise_counter : int
        The grid-noise generator's 256-bit key and first index.
    n_epochs : int
    losses : ndarray of shape (n_epochs,), float64, optional
        Filled with each epoch's mean cross-entropy over its batches.
    n_threads : int or None, default=None
        numba threads (scikit-learn's ``n_jobs`` convention; None: numba's
        count); with two, a noisy step's products and draws run side by
        side. The result does not depend on it.

    Returns
    -------
    params : ndarray
    noise_counter : int
    """
    if n_epochs <= 0:
        return params, noise_counter
    check_arrays(params, X, weight)
    losses = np.empty(int(n_epochs)) if losses is None else losses
    with numba_threads(n_threads):
        # On two threads a noisy step runs its products on one BLAS thread beside its draws on the other
        # (measured on 2 cores: 1.9x the noise-free epoch; draws on numba's threads between products of a
        # two-thread BLAS made the two pools fight: 8x). On one thread, or on more, the products keep BLAS's
        # own threads and the draws follow them: one BLAS thread would starve the products on many cores
        # (not measured there: no such machine here).
        side_by_side = config.noise_std > 0.0 and get_num_threads() == 2
        with single_blas_thread() if side_by_side else contextlib.nullcontext():
            params, counter = _mlp_epochs(params, np.asarray(layer_sizes, dtype=np.int64), X, y, weight,
                                          batch_bounds, *config.as_args(), kernel_key(noise_key, config.noise_core),
                                          np.uint64(noise_counter), int(n_epochs), 2 if side_by_side else 1, losses)
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
