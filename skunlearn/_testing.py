"""Plain-numpy references of each kernel: the oracle for kernel tests and the
numpy column of the benchmarks. They draw noise in the same order, with the same
generator algorithm, as the numba backend."""

from __future__ import annotations

import numpy as np

from ._backends import BINARY_LOGISTIC, KernelConfig
from ._backends._ziggurat import reference_normals

__all__ = ["reference_logistic_epochs", "reference_normals"]


def _sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def reference_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter,
                              n_epochs):
    """Straightforward numpy version of ``numba_cpu.run_logistic_epochs``.

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
    params = np.array(params, copy=True)
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
                update += config.noise_scale * reference_normals(noise_key, noise_counter, params.size).reshape(
                    params.shape)
                noise_counter += params.size
            params = update.astype(dtype)
            norm = np.sqrt(np.sum(params.astype(np.float64) ** 2))
            if norm > config.radius:
                params = (params * (config.radius / norm)).astype(dtype)
    return params, noise_counter
