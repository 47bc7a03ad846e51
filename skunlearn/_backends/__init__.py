"""Compute backends: one module per device, one small protocol.

A backend runs epochs of the noisy update on the arrays it is given and
returns the new parameters; validation, bookkeeping and certificates stay in
the estimators. Modules are imported on first use, so ``import skunlearn``
loads neither numba kernels nor cupy. The protocol
(:class:`skunlearn._backends.interface.Backend`) is one call::

    run(params, slots, config, n_epochs, stream, *, n_threads=None, losses=None) -> (params, stream)

``slots`` is a :class:`~skunlearn._backends.codes.Slots` (the rows in cyclic
slot order, a removed row is a zero row of weight 0), ``config`` a
:class:`KernelConfig` (the logistic kernel; the CPU backend also takes CSR rows)
or an :class:`MLPConfig` (the MLP kernel), ``stream`` a
:class:`~skunlearn._backends.codes.NoiseStream`. Besides ``run``, a backend
gives ``warm_up()`` and ``mlp_loss_gradient`` (a reference for the tests). The CPU backend is :mod:`skunlearn._backends.numba`; the CuPy
module is experimental and unreachable from the estimators (they certify the
CPU kernels only).
"""

from __future__ import annotations

import importlib

from . import codes
from .codes import *  # noqa: F403 - the vocabulary every backend and estimator shares
from .codes import is_dask_array

__all__ = [*codes.__all__, "get_backend"]


def get_backend(device, rows=None):
    """The backend module for ``device`` (and the ``rows`` it will run over), imported on first use.

    Rows held as a Dask array (``store="dask"``) run on the cluster:
    :mod:`skunlearn._backends.dask_cluster`, whatever the device. ``"cpu"``: numba. ``"cuda"``: CuPy, which must be installed and see a GPU
    (else a RuntimeError says what is missing). ``"auto"``: CuPy when it sees
    a GPU, numba otherwise.
    """
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be one of ['auto', 'cpu', 'cuda'], got {device!r}")
    if rows is not None and is_dask_array(rows):
        return importlib.import_module("skunlearn._backends.dask_cluster")
    if device in ("cuda", "auto"):
        try:
            module = importlib.import_module("skunlearn._backends.cupy_gpu")
            if module.is_available():
                return module
            problem = "CuPy sees no CUDA GPU"
        except ImportError as error:
            problem = str(error)
        if device == "cuda":
            raise RuntimeError(f'device="cuda" is unavailable: {problem}. Use device="cpu" or "auto".')
    return importlib.import_module("skunlearn._backends.numba")
