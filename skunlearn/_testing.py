"""Plain-numpy references of each kernel: the oracle for kernel tests and the
numpy column of the benchmarks. They draw the same grid noise, in the same order,
as the numba backend (its generator is checked on its own, against the exact
law, in ``tests/backends/test_grid_noise.py``), and add it on the grid as the kernels do."""

from __future__ import annotations

import numpy as np

from ._backends import BINARY_LOGISTIC, KernelConfig

__all__ = ["reference_grid_noise", "reference_logistic_epochs", "reference_mlp_epochs", "reference_mlp_loss_gradient"]


def reference_grid_noise(noise_key, counter, size, noise_scale, grid, core="chacha20"):
    """Normals ``counter … counter + size − 1`` of ``noise_key``, as ``Λ RN(s ξ / Λ)`` (the kernels' noise)."""
    from ._backends._grid_noise import kernel_key
    from ._backends.numba import fill_normals

    out = np.empty(size)
    fill_normals(out, kernel_key(noise_key, core), counter, noise_scale / grid, grid)
    return out


def _add_on_grid(values, noise, grid):
    """``RN_Λ(values) + noise`` (numpy's rint rounds half to even, as the kernels' ``np.rint``)."""
    return np.rint(values / grid) * grid + noise


def _sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def reference_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter,
                              n_epochs):
    """Straightforward numpy version of ``skunlearn._backends.numba.run_logistic_epochs``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn._backends import KernelConfig, SOFTMAX
    >>> config = KernelConfig(SOFTMAX, 0.5, 0.1, 0.0, 10.0)
    >>> X = np.eye(3)
    >>> bounds = np.array([0, 2, 3])
    >>> out, counter = reference_logistic_epochs(np.zeros((3, 3)), X, np.arange(3), np.ones(3), bounds, config, 7, 0, 1)
    >>> out.shape, counter
    ((3, 3), 0)
    """
    params = np.array(params, dtype=np.float64, copy=True)  # parameters are binary64 whatever X is
    dtype = params.dtype
    shrink = 1.0 - config.step_size * config.l2
    for _ in range(n_epochs):
        for start, stop in zip(batch_bounds[:-1], batch_bounds[1:]):
            batch, labels, w = X[start:stop], y[start:stop], weight[start:stop]
            scores = batch @ params.T
            if config.loss == BINARY_LOGISTIC:
                residual = (w * (_sigmoid(scores[:, 0]) - labels))[:, None]
            else:
                probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
                probabilities /= probabilities.sum(axis=1, keepdims=True)
                probabilities[np.arange(stop - start), labels] -= 1.0
                residual = w[:, None] * probabilities
            gradient = residual.T.astype(dtype) @ batch
            update = shrink * params.astype(np.float64) - config.step_size / (stop - start) * gradient
            if config.noise_scale > 0:
                noise = reference_grid_noise(noise_key, noise_counter, params.size, config.noise_scale, config.grid,
                                             config.noise_core)
                update = _add_on_grid(update, noise.reshape(params.shape), config.grid)
                noise_counter += params.size
            params = update.astype(dtype)
            norm = np.sqrt(np.sum(params.astype(np.float64) ** 2))
            if norm > config.radius:
                params = (params * (config.radius / norm)).astype(dtype)
    return params, noise_counter


def _activate(values, activation):
    if activation == 0:
        return np.maximum(values, 0)
    if activation == 1:
        return np.tanh(values)
    return _sigmoid(values)


def _activation_derivative(activations, activation):
    if activation == 0:
        return (activations > 0).astype(activations.dtype)
    if activation == 1:
        return 1 - activations**2
    return activations * (1 - activations)


def reference_mlp_loss_gradient(params, layer_sizes, X, y, weight, activation):
    """Mean cross-entropy over the retained rows and its gradient, by plain numpy backpropagation.

    Examples
    --------
    >>> import numpy as np
    >>> sizes = [2, 3, 2]
    >>> params = np.zeros(2 * 3 + 3 + 3 * 2 + 2)
    >>> loss, gradient = reference_mlp_loss_gradient(params, sizes, np.ones((4, 2)), np.array([0, 1, 0, 1]),
    ...                                              np.ones(4), 0)
    >>> round(loss, 6), gradient.shape
    (0.693147, (17,))
    """
    retained = weight.sum()
    gradient = np.zeros_like(params)
    if retained == 0:
        return 0.0, gradient
    weights, biases, offsets, offset = [], [], [], 0
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        weights.append(params[offset:offset + n_in * n_out].reshape(n_in, n_out))
        biases.append(params[offset + n_in * n_out:offset + n_in * n_out + n_out])
        offsets.append(offset)
        offset += n_in * n_out + n_out
    activations = [X]
    for i, (W, b) in enumerate(zip(weights, biases)):
        z = activations[-1] @ W + b
        activations.append(z if i == len(weights) - 1 else _activate(z, activation))
    logits = activations[-1].astype(np.float64)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    rows = np.arange(X.shape[0])
    loss = -(weight * log_p[rows, y]).sum() / retained
    delta = np.exp(log_p)
    delta[rows, y] -= 1
    delta = (weight[:, None] * delta / retained).astype(params.dtype)
    for i in range(len(weights) - 1, -1, -1):
        n_in, n_out = weights[i].shape
        gradient[offsets[i]:offsets[i] + n_in * n_out] = (activations[i].T @ delta).ravel()
        gradient[offsets[i] + n_in * n_out:offsets[i] + n_in * n_out + n_out] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ weights[i].T) * _activation_derivative(activations[i], activation)
    return float(loss), gradient


def reference_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config, noise_key, noise_counter,
                         n_epochs):
    """Straightforward numpy version of ``skunlearn._backends.numba.run_mlp_epochs`` (same noise).

    As the kernel does, the gradient is computed in X's type from the binary64
    parameters cast to it; the update is binary64.
    """
    from ._backends import GRADIENT_CLIPPING

    params = np.array(params, dtype=np.float64, copy=True)
    for _ in range(n_epochs):
        for start, stop in zip(batch_bounds[:-1], batch_bounds[1:]):
            _, gradient = reference_mlp_loss_gradient(params.astype(X.dtype), layer_sizes, X[start:stop],
                                                      y[start:stop], weight[start:stop], config.activation)
            gradient = gradient.astype(np.float64)
            if config.update == GRADIENT_CLIPPING:
                norm = np.linalg.norm(gradient)
                scale = config.step_size * (min(1.0, config.gradient_clip / norm) if norm > 0 else 1.0)
                params = (1 - config.step_size * config.l2) * params - scale * gradient
            else:
                params = params - config.step_size * (gradient + config.l2 * params)
                norm = np.linalg.norm(params)
                if norm > config.radius:
                    params = params * (config.radius / norm)
            if config.noise_std > 0:
                noise = reference_grid_noise(noise_key, noise_counter, params.size, config.noise_std, config.grid,
                                             config.noise_core)
                params = _add_on_grid(params, noise, config.grid)
                noise_counter += params.size
    return params, noise_counter
