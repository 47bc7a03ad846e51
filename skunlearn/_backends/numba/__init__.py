"""The numba CPU backend: the kernels of this package, behind the one call of :mod:`skunlearn._backends.interface`.

:func:`run` picks the kernel from the config's type (:class:`~skunlearn._backends.codes.KernelConfig`: the
logistic kernel, dense or CSR by the slots' ``X``; :class:`~skunlearn._backends.codes.MLPConfig`: the MLP
kernel). Every kernel is compiled (or loaded from numba's cache) in :func:`warm_up`, once per process, all
variants at once under the inter-process compile lock.
"""

from __future__ import annotations

import logging
import os
import time

import numba
import numpy as np
import scipy.sparse
from numba import njit

from .._grid_noise import fill_grid_noise, kernel_key, scaled_widths
from ..codes import KernelConfig, MLPConfig, NoiseStream, Slots
from .common import CACHE_DIRECTORY, compile_lock
from .logistic_dense import _logistic_epochs, run_dense_logistic_epochs
from .logistic_sparse import _sparse_logistic_epochs, run_sparse_logistic_epochs
from . import mlp
from .mlp import _mlp_epochs, mlp_loss_gradient

__all__ = ["fill_normals", "mlp_loss_gradient", "run", "run_logistic_epochs", "run_mlp_epochs", "warm_up"]

_LOGGER = logging.getLogger("skunlearn")


def run(params, slots: Slots, config: KernelConfig | MLPConfig, n_epochs: int, stream: NoiseStream, *,
        n_threads=None, losses=None):
    """Run ``n_epochs`` cyclic epochs of the phase ``config`` describes over ``slots``; the backend protocol's call.

    ``params`` (float64, C-contiguous; ``(n_outputs, n_features)`` for the
    logistic kernels, flat for the MLP) is updated in place and returned with
    the stream after the last normal drawn. ``n_threads`` (scikit-learn's
    ``n_jobs`` convention) never changes the result; ``losses`` (shape
    ``(n_epochs,)``) receives each epoch's mean loss over its batches.
    """
    if isinstance(config, MLPConfig):
        if config.layer_sizes is None:
            raise ValueError("an MLPConfig passed to run needs its layer_sizes")
        params, counter = run_mlp_epochs(params, config.layer_sizes, slots.X, slots.y, slots.weight,
                                         slots.batch_bounds, config, stream.key, stream.counter, n_epochs,
                                         losses=losses, n_threads=n_threads)
    else:
        params, counter = run_logistic_epochs(params, slots.X, slots.y, slots.weight, slots.batch_bounds, config,
                                              stream.key, stream.counter, n_epochs, n_threads=n_threads,
                                              losses=losses)
    return params, NoiseStream(stream.key, int(counter))


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter, n_epochs,
                        n_threads=None, losses=None):
    """The logistic kernel on dense or CSR rows (arguments and result of
    :func:`~skunlearn._backends.numba.logistic_dense.run_dense_logistic_epochs`)."""
    warm_up()
    kernel = run_sparse_logistic_epochs if scipy.sparse.issparse(X) else run_dense_logistic_epochs
    return kernel(params, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs, n_threads, losses)


def run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config: MLPConfig, noise_key, noise_counter,
                   n_epochs, losses=None, n_threads=None):
    """The MLP kernel (arguments and result of :func:`skunlearn._backends.numba.mlp.run_mlp_epochs`)."""
    warm_up()
    return mlp.run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config, noise_key, noise_counter,
                              n_epochs, losses, n_threads)


@njit(cache=True)
def fill_normals(out, key, start, scale, grid):
    """``out[i] = Λ RN(σ' ξ_{start+i})`` in one thread (:func:`skunlearn._backends._grid_noise.fill_grid_noise`)."""
    scale_hi, scale_lo = scaled_widths(scale)
    return fill_grid_noise(out, 0, out.size, key, np.uint64(start), scale, grid, scale_hi, scale_lo)


_WARM = []


def _kernels_cached():
    """Whether numba's cache already holds the dense kernel (an index file beside the modules or in NUMBA_CACHE_DIR)."""
    directories = [CACHE_DIRECTORY] + ([numba.config.CACHE_DIR] if numba.config.CACHE_DIR else [])
    for directory in directories:
        for _root, _dirs, files in os.walk(directory):
            if any(name.startswith("logistic_dense._logistic_epochs-") and name.endswith(".nbi") for name in files):
                return True
    return False


def warm_up():
    """Compile (or load from numba's cache) every kernel variant, both data types, once per process.

    All variants in one process, under the inter-process compile lock: a
    cache whose variants were written by different processes can be
    inconsistent for kernels that call parallel ones (numba issue #10128), and
    loading such a variant crashed the interpreter here once. Before a first
    compilation it says so through the ``skunlearn`` logger (at WARNING, so
    that it shows without any logging set-up).
    """
    if _WARM:
        return
    if not _kernels_cached():
        _LOGGER.warning("skunlearn: compiling the numba kernels (about a minute on 2 cores, once per installation; "
                        "`python -m skunlearn warmup` does it ahead of time)")
    start = time.perf_counter()
    key = kernel_key(0)
    weight, bounds = np.ones(8), np.array([0, 4, 8], dtype=np.int64)
    y = np.zeros(8, dtype=np.int64)
    indptr, indices = np.arange(9, dtype=np.int64), np.zeros(8, dtype=np.int64)
    with compile_lock():
        for dtype in (np.float64, np.float32):
            X = np.ones((8, 3), dtype=dtype)
            for parallel in (False, True):
                _logistic_epochs(np.zeros((2, 3)), X, y, weight, bounds, 1, 0.1, 0.01, 0.1, 10.0, 2.0**-30, key,
                                 np.uint64(0), 1, 4, parallel, np.empty(1))
                _sparse_logistic_epochs(np.zeros((1, 2)), indptr, indices, np.ones(8, dtype=dtype), y, weight, bounds,
                                        0, 0.1, 0.01, 0.1, 10.0, 2.0**-30, key, np.uint64(0), 1, 2, parallel,
                                        np.empty(1))
            _mlp_epochs(np.zeros(3 * 2 + 2 + 2 * 2 + 2), np.array([3, 2, 2], dtype=np.int64), X, y, weight, bounds,
                        0, 0, 0.1, 0.01, 0.1, 10.0, 1.0, 2.0**-30, key, np.uint64(0), 1, 2, np.empty(1))
        fill_normals(np.empty(4), key, 0, 2.0**25, 1.0)
    _WARM.append(True)
    _LOGGER.info("kernels ready in %.1f s", time.perf_counter() - start)
