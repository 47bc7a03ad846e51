r"""numba kernels of the logistic update for CSR data: products over the non-zeros, dense noise.

The same step as :func:`skunlearn._backends.numba.logistic_dense.run_dense_logistic_epochs`,

    θ ← Π_R((1 − ηλ) θ − (η/b_j) Σ_{i ∈ B_j} w_i ∇ℓ_i(θ) + s ξ),

with the rows held as CSR (``indptr``, ``indices``, ``data``; the intercept an
explicit entry of every row). A row's logits and its term of the gradient touch
only its non-zeros. The noise stays dense — every parameter receives
``normal(key, counter + i)`` at every noisy step, the very numbers the dense
kernel draws — so a sparse and a dense fit of the same rows give the same model
to rounding, and the certificate is the same: the rounding bound of
:func:`skunlearn.accounting.logistic_step_rounding_error` holds as it is (a
logit sums at most d products, a gradient coordinate at most b rows, in row
order; the update and the projection are the dense kernel's, over
``step_tasks(b)`` fixed shares).

Why the noise is not lazy
=========================

On wide data (d = 2¹⁸ hashed features, 0.1 % dense) the dense noise, not the data,
sets the cost of a step: ``k d`` normals and a pass over all parameters. A lazy
form would leave a coordinate j that no row of the batch touches alone and, when
it is next needed t steps later, add the one Gaussian its t steps amount to.
Without the projection that is exact: the untouched coordinate evolves as
``x ← a x + s ξ`` with ``a = 1 − ηλ``, and t steps give
``a^t x + s √((1 − a^{2t}) / (1 − a²)) ξ`` — one Gaussian of known variance.

With the projection it is not. Every step multiplies *all* coordinates by
``min(1, R / ‖v‖)``, where ``v`` is the updated vector including every
untouched coordinate's fresh noise. So (i) the step cannot be computed without
``‖v‖``, whose law — a non-central χ² in all k d coordinates — depends on the
untouched coordinates' current values, and (ii) once the projection factors are
known, the untouched coordinates' noises are no longer independent Gaussians:
conditioned on ``‖v‖`` the block of untouched coordinates lies on a sphere.
Materialising a coordinate later would need the conditional law of the whole
untouched block given the history of norms; that law is spherically symmetric
(and then cheap to sample) only while the block started symmetric, e.g. all
zero, and stops being so as soon as a coordinate with a value rejoins it — which
on text data happens at every step. A lazy form that ignored this would sample
another law than the chain the certificate is about (its projection factors
would differ whenever the projection is active), and the certificate, a
statement about the law of the exact chain, would not cover its output. Nor can
a lazy run fall back to dense noise when the projection turns active: whether
it is active at a step is a function of ``‖v‖``, hence of every coordinate's
fresh noise at that step. (Nor is it idle by construction: the noise alone
drives ``‖θ‖`` towards ``s √(k d / (1 − a²))``, which grows with the width and
may reach R.) We therefore keep the noise dense and exact;
``benchmarks/bench_sparse.py`` prints the cost of that noise beside each epoch.

``tests/estimators/test_sparse.py`` checks both halves by Monte Carlo on two coordinates,
one pushed by a gradient at every step, one never touched: with ``R = ∞`` the
lazy coordinate (one Gaussian of the variance above) and the exact one have the
same law (a KS test does not tell them apart); with an active projection the
lazy form — factors taken from the norm it can see, the final Gaussian scaled
by them — gives another law (KS p-value below 10⁻⁶), and even leaves the ball.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._constants import step_tasks
from .._grid_noise import fill_grid_noise, kernel_key
from .common import (check_arrays, grid_widths, numba_threads, on_grid, project, residuals, serial_and_parallel,
                     total_weight)

__all__ = ["run_sparse_logistic_epochs"]

#: Parameters per noisy step above which the update's shares run in parallel. Noise-free steps stay serial:
#: their update is a light pass that two threads made slower, not faster (15 -> 43 ms an epoch at 20,000 x 2^16),
#: the parameters' cache lines moving between the cores at every step.
_PARALLEL_PARAMETERS = 16_384

#: Normals drawn at a time inside a share, then added at once (no parameter-sized noise buffer pass).
_NOISE_CHUNK = 512


@njit(cache=True)
def _sparse_batch_gradient(params, indptr, indices, data, y, weight, start, stop, loss, scores, gradient):
    """Logits, residuals and ``Σ_i r_i x_iᵀ`` of rows [start, stop) into ``gradient`` (all zero on entry).

    Touches only the rows' non-zeros; float32 values are converted exactly.
    """
    n_outputs = params.shape[0]
    n_rows = stop - start
    block = scores[:n_rows]
    for i in range(n_rows):
        row = start + i
        for k in range(n_outputs):
            total = 0.0
            for entry in range(indptr[row], indptr[row + 1]):
                total += params[k, indices[entry]] * np.float64(data[entry])
            block[i, k] = total
    batch_loss = residuals(block, y, weight, start, loss)
    for i in range(n_rows):
        row = start + i
        for entry in range(indptr[row], indptr[row + 1]):
            column = indices[entry]
            value = np.float64(data[entry])
            for k in range(n_outputs):
                gradient[k, column] += block[i, k] * value
    return batch_loss


@njit(cache=True)
def _update_share(t, n_shares, params, gradient, noise, shrink, gradient_scale, noise_scale, key, counter, squares,
                  grid, scale_hi, scale_lo):
    """Share t of ``θ ← RN_Λ(shrink θ − scale g) + Λ K`` (noisy; the dense kernel's order and grid).

    Zeroes g on the share and writes the share's squared norm into ``squares[t]``.
    """
    flat = params.reshape(-1)
    flat_gradient = gradient.reshape(-1)
    lo = flat.size * t // n_shares
    hi = flat.size * (t + 1) // n_shares
    chunk = noise[t]
    total = 0.0
    inverse_grid = 1.0 / grid if noise_scale > 0.0 else 0.0
    for first in range(lo, hi, _NOISE_CHUNK):
        last = min(hi, first + _NOISE_CHUNK)
        if noise_scale > 0.0:  # chunk[i - first] = normal(key, counter + i)
            fill_grid_noise(chunk, 0, last - first, key, counter + np.uint64(first), noise_scale / grid, grid,
                            scale_hi, scale_lo)
        for i in range(first, last):
            value = shrink * flat[i] - gradient_scale * flat_gradient[i]
            flat_gradient[i] = 0.0
            if noise_scale > 0.0:
                value = on_grid(value, grid, inverse_grid, chunk[i - first])
            flat[i] = value
            stored = flat[i]
            total += stored * stored
    squares[t] = total


def _update(n_shares, params, gradient, noise, shrink, gradient_scale, noise_scale, key, counter, squares, grid,
            scale_hi, scale_lo):
    for t in prange(n_shares):
        _update_share(t, n_shares, params, gradient, noise, shrink, gradient_scale, noise_scale, key, counter,
                      squares, grid, scale_hi, scale_lo)


_update_serial, _update_parallel = serial_and_parallel(_update)


@njit(cache=True)
def _sparse_logistic_epochs(params, indptr, indices, data, y, weight, batch_bounds, loss, step_size, l2, noise_scale,
                            radius, grid, key, counter, n_epochs, n_shares, parallel, losses):
    n_outputs = params.shape[0]
    shrink = 1.0 - step_size * l2
    largest = 0
    for j in range(batch_bounds.size - 1):
        largest = max(largest, batch_bounds[j + 1] - batch_bounds[j])
    scores = np.zeros((largest, n_outputs))
    gradient = np.zeros_like(params)
    noise = np.zeros((n_shares, _NOISE_CHUNK))  # each share's chunk of normals
    squares = np.zeros(n_shares)
    scale_hi, scale_lo = grid_widths(noise_scale, grid)
    retained = total_weight(weight)
    for epoch in range(n_epochs):
        epoch_loss = 0.0
        for j in range(batch_bounds.size - 1):
            start, stop = batch_bounds[j], batch_bounds[j + 1]
            epoch_loss += _sparse_batch_gradient(params, indptr, indices, data, y, weight, start, stop, loss, scores,
                                                 gradient)
            gradient_scale = step_size / (stop - start)
            if parallel:
                _update_parallel(n_shares, params, gradient, noise, shrink, gradient_scale, noise_scale, key, counter,
                                 squares, grid, scale_hi, scale_lo)
            else:
                _update_serial(n_shares, params, gradient, noise, shrink, gradient_scale, noise_scale, key, counter,
                               squares, grid, scale_hi, scale_lo)
            if noise_scale > 0.0:
                counter += np.uint64(params.size)
            project(params, squares, radius)
        losses[epoch] = epoch_loss / retained if retained > 0 else np.nan
    return params


def run_sparse_logistic_epochs(params, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs,
                               n_threads=None, losses=None):
    """The dense kernel's run for a CSR ``X``: the same arguments and result.

    See :func:`skunlearn._backends.numba.logistic_dense.run_dense_logistic_epochs`.
    """
    if n_epochs <= 0:
        return params, noise_counter
    check_arrays(params, X, weight)
    # One index type (int64) for every kernel variant (the warm-up compiles int64 only).
    indptr, indices = X.indptr.astype(np.int64, copy=False), X.indices.astype(np.int64, copy=False)
    n_shares = step_tasks(int(np.max(np.diff(batch_bounds))))
    with numba_threads(n_threads):
        params = _sparse_logistic_epochs(params, indptr, indices, X.data, y, weight, batch_bounds, *config.as_args(),
                                         kernel_key(noise_key, config.noise_core), np.uint64(noise_counter),
                                         int(n_epochs), n_shares,
                                         config.noise_scale > 0 and params.size >= _PARALLEL_PARAMETERS,
                                         np.empty(int(n_epochs)) if losses is None else losses)
    drawn = n_epochs * (batch_bounds.size - 1) * params.size if config.noise_scale > 0 else 0
    return params, noise_counter + drawn
