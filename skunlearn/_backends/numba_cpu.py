"""numba CPU backend: fused per-batch kernels, compiled lazily with ``cache=True``.

One jit policy for every kernel: ``nopython``, ``cache=True``, ``fastmath`` off
(so the numpy reference of :mod:`skunlearn._testing` matches to rounding), no
eager signatures (they slow imports); float32 inputs stay float32. The batch's
two matrix products go to BLAS through ``np.dot``; logits, residuals, noise,
update and projection are fused loops. Noise comes from the
``numpy.random.Generator`` passed in, whose state advances in place, drawn in
float64 in the parameters' C order and cast to their dtype, exactly as the
reference draws it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import BINARY_LOGISTIC, KernelConfig

__all__ = ["run_logistic_epochs"]


@njit(cache=True)
def _residuals(scores, y, weight, start, loss):
    """Turn the batch's logits into ``w_i ∂ℓ_i/∂logits`` in place."""
    n_rows, n_outputs = scores.shape
    for i in range(n_rows):
        row_weight = weight[start + i]
        if loss == BINARY_LOGISTIC:
            z = scores[i, 0]
            # Numerically stable sigmoid.
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
def _noisy_projected_update(params, gradient, shrink, gradient_scale, noise_scale, radius, rng):
    """``θ ← Π_R(shrink θ − gradient_scale g + noise_scale ξ)``, noise in C order."""
    n_outputs, n_features = params.shape
    squared_norm = 0.0
    for k in range(n_outputs):
        for j in range(n_features):
            value = shrink * params[k, j] - gradient_scale * gradient[k, j]
            if noise_scale > 0.0:
                value += noise_scale * rng.standard_normal()
            params[k, j] = value
            stored = params[k, j]
            squared_norm += stored * stored
    norm = math.sqrt(squared_norm)
    if norm > radius:
        factor = radius / norm
        for k in range(n_outputs):
            for j in range(n_features):
                params[k, j] *= factor


@njit(cache=True)
def _logistic_epochs(params, X, y, weight, batch_bounds, loss, step_size, l2, noise_scale, radius, rng, n_epochs):
    shrink = 1.0 - step_size * l2
    for _ in range(n_epochs):
        for j in range(batch_bounds.size - 1):
            start, stop = batch_bounds[j], batch_bounds[j + 1]
            batch = X[start:stop]
            scores = np.dot(batch, params.T)
            _residuals(scores, y, weight, start, loss)
            gradient = np.dot(np.ascontiguousarray(scores.T), batch)
            _noisy_projected_update(params, gradient, shrink, step_size / (stop - start), noise_scale, radius, rng)
    return params


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, rng, n_epochs):
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
    rng : numpy.random.Generator
        Noise source; its state advances.
    n_epochs : int

    Returns
    -------
    ndarray
    """
    if n_epochs <= 0:
        return params
    return _logistic_epochs(params, X, y, weight, batch_bounds, *config.as_args(), rng, int(n_epochs))
