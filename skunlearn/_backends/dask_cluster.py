"""Full-batch noisy gradient descent over a Dask cluster: the backend protocol's ``run`` for rows held as a Dask array.

Mini-batch noisy SGD is sequential and a step is small, so one fit cannot be
spread over machines; a full-batch step (``batch_size=None``, the Langevin
setting of Chien et al.) is a sum over all rows, which the cluster computes
chunk by chunk. Each step:

1. every chunk of the slot-ordered rows (``slots.X``, a Dask array chunked by
   rows, the intercept column included and the rows scaled, as the CPU kernels
   read them) gives ``Σ_i w_i ∇ℓ_i(θ)`` over its rows, in binary64, with the
   kernels' own residual (:func:`skunlearn._backends.numba.common.residuals`,
   the proven exp);
2. the client adds the chunks' sums in chunk order and applies the update
   ``θ ← Π_R(RN_Λ((1 − ηλ) θ − (η / n) g) + Λ K)``, its noise drawn on the client
   from the same generator as the CPU kernels (normal ``counter + i`` of the
   key, :func:`skunlearn._backends.numba.fill_normals`).

The certificate needs nothing new: the rounding bound
(:func:`skunlearn.accounting.logistic_step_rounding_error`) bounds a gradient
summed in any order, so a step here is within the same ``e`` of the exact step
as the CPU kernel's, and the noise is the same. ``tests/tools/test_dask.py``
checks a fit and a request on a ``distributed.LocalCluster`` against the local
full-batch run, to that bound.

Imported only when ``store="dask"`` is used; never at ``import skunlearn``.
"""

from __future__ import annotations

import math

import numpy as np

from ._grid_noise import kernel_key
from .codes import KernelConfig, MLPConfig, NoiseStream, Slots
from .numba import fill_normals
from .numba.common import residuals

__all__ = ["chunk_gradient", "mlp_loss_gradient", "run", "warm_up"]


#: Rows converted to binary64 and multiplied at a time inside a chunk (cache-sized, as the CPU kernels' blocks).
ROW_BLOCK = 2048


def chunk_gradient(block, y, weight, params, loss):
    """``(Σ_i w_i ∇ℓ_i(θ), Σ_i w_i ℓ_i)`` over the rows of one chunk, in binary64 (the kernels' residual).

    The rows go through binary64 a block of :data:`ROW_BLOCK` at a time (float32
    rows convert exactly), so no binary64 copy of the chunk is made.
    """
    # Chunks that arrive over the network may be unaligned buffers: aligned copies of the small arrays keep the
    # compiled residual on its fast, cached specialisation.
    y = np.require(y, dtype=np.int64, requirements=["C", "A"])
    weight = np.require(weight, dtype=np.float64, requirements=["C", "A"])
    gradient = np.zeros_like(params)
    chunk_loss = 0.0
    for start in range(0, block.shape[0], ROW_BLOCK):
        rows = np.asarray(block[start:start + ROW_BLOCK], dtype=np.float64)
        scores = rows @ params.T
        chunk_loss += residuals(scores, y, weight, start, loss)
        gradient += scores.T @ rows
    return gradient, chunk_loss


def run(params, slots: Slots, config: KernelConfig | MLPConfig, n_epochs: int, stream: NoiseStream, *,
        n_threads=None, losses=None):
    """Full-batch epochs (one step each) over a Dask array of rows; the protocol's call.

    ``n_threads`` is the CPU kernels' and ignored (the cluster's workers
    decide); ``losses`` receives each step's mean weighted loss.
    """
    import dask

    if not isinstance(config, KernelConfig):
        raise TypeError("the Dask backend runs the logistic model only (the MLP trains in mini-batches)")
    n_slots = slots.X.shape[0]
    if list(np.asarray(slots.batch_bounds)) != [0, n_slots]:
        raise ValueError("the Dask backend runs full-batch steps only: use batch_size=None")
    import dask.array as da

    chunk_rows = slots.X.chunks[0]
    blocks = slots.X.to_delayed().ravel()
    weight = np.asarray(slots.weight, dtype=np.float64)
    # The labels and weights go to the workers once per call, chunked as the rows, not once per step (the
    # persisted arrays are kept here: they hold the workers' copies).
    on_workers = [da.from_array(np.asarray(values), chunks=(chunk_rows,)).persist() for values in (slots.y, weight)]
    y_blocks, weight_blocks = (array.to_delayed().ravel() for array in on_workers)
    retained = float(weight.sum())
    shrink = 1.0 - config.step_size * config.l2
    gradient_scale = config.step_size / n_slots
    noisy = config.noise_scale > 0
    key = kernel_key(stream.key, config.noise_core)
    noise = np.empty(params.size)
    counter = stream.counter
    flat = params.reshape(-1)
    for epoch in range(int(n_epochs)):
        parts = dask.compute(*[dask.delayed(chunk_gradient)(block, labels, weights, params, config.loss)
                               for block, labels, weights in zip(blocks, y_blocks, weight_blocks)])
        gradient = parts[0][0].copy()
        for part, _ in parts[1:]:
            gradient += part  # in chunk order
        value = (shrink * params - gradient_scale * gradient).reshape(-1)
        if noisy:
            fill_normals(noise, key, counter, config.noise_scale / config.grid, config.grid)
            counter += params.size
            value = np.rint(value * (1.0 / config.grid)) * config.grid + noise  # RN_Λ(v) + Λ K, exact
        flat[:] = value
        norm = math.sqrt(float(np.dot(flat, flat)))
        if norm > config.radius:
            params *= config.radius / norm
        if losses is not None:
            losses[epoch] = sum(part_loss for _, part_loss in parts) / retained if retained > 0 else np.nan
    return params, NoiseStream(stream.key, int(counter))


def warm_up():
    """The CPU pieces it calls (the residual and the generator) compile with the numba backend."""
    from .numba import warm_up as numba_warm_up

    numba_warm_up()


def mlp_loss_gradient(params, layer_sizes, X, y, weight, activation):
    """Not on the cluster: the MLP trains in mini-batches (a TypeError says so)."""
    raise TypeError("the Dask backend runs the logistic model only")
