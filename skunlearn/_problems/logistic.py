"""The logistic set-up: constants → step → radius → ledger → noise → request budget → kernel config.

Reads only public quantities (the shape, the class count, the parameters, the
weight bound): nothing here may depend on the rows to forget.
"""

from __future__ import annotations

import dataclasses
import math

import scipy.sparse as sp

from .. import accounting
from .._backends.codes import BINARY_LOGISTIC, SOFTMAX, KernelConfig
from .._constants import (
    LogisticConstants,
    logistic_constants,
    scale_rows,
    scale_sparse_rows,
)
from .._defaults import auto_request_budget, auto_score_tolerance, default_batching, default_l2, resolve_delta
from .._ledgers import StronglyConvexLedger
from .._state import is_cluster_store, to_cluster
from . import CalibratedSetup

__all__ = ["LogisticSetup", "cluster_slot_rows", "logistic_setup", "scale_slot_rows"]


@dataclasses.dataclass(frozen=True)
class LogisticSetup(CalibratedSetup):
    """What a fit decides before it reads a row.

    ``ledger`` carries the noise (``noise_std``); ``max_iter`` (training
    epochs), ``unlearning_epochs`` and ``finetune_epochs`` have ``"auto"``
    resolved.
    """

    constants: LogisticConstants
    alpha: float
    delta: float
    step_size: float
    batch_size: int
    max_iter: int
    radius: float
    ledger: StronglyConvexLedger
    unlearning_epochs: int
    finetune_epochs: int

    def kernel_config(self, n_classes: int) -> KernelConfig:
        """The noisy update's settings (requests); training runs it with ``noise_scale=0`` unless private."""
        return KernelConfig(loss=BINARY_LOGISTIC if n_classes == 2 else SOFTMAX, step_size=self.step_size,
                            l2=self.constants.strong_convexity, noise_scale=self.ledger.kernel_noise_scale,
                            radius=self.radius, grid=self.ledger.noise_grid)


def logistic_setup(*, n_samples: int, n_features: int, n_classes: int, epsilon: float, delta=None, alpha=None,
                   data_norm: float = 1.0, weight_bound=None, learning_rate_init=None, batch_size="auto",
                   radius=None, max_iter="auto", bound: str = "coupled", private_training: bool = False,
                   noise=None, unlearning_epochs="auto", finetune_epochs="auto") -> LogisticSetup:
    """The set-up of ``NoisyLogisticRegression(**parameters)`` on ``n_samples × n_features`` rows of ``n_classes``.

    The keyword arguments are the estimator's parameters of the same names
    (``weight_bound``: the bound W the weights imply, None when unweighted).
    Raises ValueError for a step above ``2 / (L + 2λ)`` or a fixed noise below
    the floor, with the message the estimator gives.
    """
    n_outputs = 1 if n_classes == 2 else n_classes
    delta = resolve_delta(delta, n_samples)
    batch_size, max_iter = default_batching(n_samples, batch_size, max_iter)
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    alpha = (default_l2(n_samples, n_outputs * (n_features + 1), float(epsilon), delta,
                        full_batch=batch_size == n_samples)
             if alpha is None else float(alpha))
    constants = logistic_constants(n_classes, float(data_norm), alpha)
    if weight_bound is not None:
        constants = constants.weighted(weight_bound)
    step_limit = accounting.max_step_size(constants.smoothness, constants.strong_convexity)
    step_size = step_limit if learning_rate_init is None else float(learning_rate_init)
    if step_size > step_limit:
        raise ValueError(
            f"learning_rate_init={step_size:g} exceeds 2/(L + 2*alpha)={step_limit:g} (L of the "
            f"{'weighted ' if weight_bound is not None else ''}loss), the largest step for which the "
            "certificate holds"
        )
    radius = constants.default_radius() if radius is None else float(radius)
    ledger = StronglyConvexLedger(
        step_size=step_size, lipschitz=constants.lipschitz, smoothness=constants.smoothness,
        strong_convexity=constants.strong_convexity, radius=radius, noise_std=0.0, n_slots=n_samples,
        batch_size=batch_size, train_epochs=int(max_iter), target_epsilon=float(epsilon),
        target_delta=delta, n_features=n_features + 1, n_outputs=n_outputs, data_norm=constants.data_norm,
        bound=bound, weight_bound=weight_bound, private_training=bool(private_training),
    )
    unlearning_epochs, finetune_epochs = request_budget(ledger, noise, unlearning_epochs, finetune_epochs)
    if noise is None:
        noise = ledger.calibrated_noise(unlearning_epochs)
    else:
        noise = float(noise)
        if 0 < noise < ledger.minimum_noise():
            raise ValueError(
                f"noise={noise:.3g} gives a per-step noise below {accounting.NOISE_FLOOR_ULPS} ulps of the "
                f"radius R={radius:.4g}: the parameters' own rounding (to a grid of at least R * 2^-52) would "
                f"be a sizeable part of it, a certificate could not be met at any useful epsilon. Use noise >= "
                f"{ledger.minimum_noise():.3g}, noise=None (calibrated), or noise=0 (no certificate)."
            )
    return LogisticSetup(constants=constants, alpha=alpha, delta=delta, step_size=step_size, batch_size=batch_size,
                         max_iter=max_iter, radius=radius, ledger=dataclasses.replace(ledger, noise_std=noise),
                         unlearning_epochs=unlearning_epochs, finetune_epochs=finetune_epochs)


def request_budget(ledger, noise, unlearning_epochs, finetune_epochs):
    """(unlearning_epochs, finetune_epochs) with "auto" resolved (:func:`skunlearn._defaults.auto_request_budget`).

    Reads the ledger before its noise is set: only public quantities. A fixed
    noise or a fixed noisy budget keeps the former defaults (3 and 3).
    """
    if unlearning_epochs == "auto" or finetune_epochs == "auto":
        if noise is None and unlearning_epochs == "auto":
            auto_noisy, auto_quiet = auto_request_budget(
                lambda epochs: math.sqrt(2.0 * ledger.step_size) * ledger.calibrated_noise(epochs),
                ledger.contraction, ledger.n_batches, ledger.radius, ledger.train_epochs,
                tolerance=auto_score_tolerance(ledger.n_outputs))
        else:
            auto_noisy, auto_quiet = 3, 3
        unlearning_epochs = auto_noisy if unlearning_epochs == "auto" else unlearning_epochs
        finetune_epochs = auto_quiet if finetune_epochs == "auto" else finetune_epochs
    return int(unlearning_epochs), int(finetune_epochs)


#: Rows scaled at a time: a disk store's rows are never all in anonymous memory at once.
SCALE_CHUNK_ROWS = 65_536


def scale_slot_rows(X_slots, *, data_norm, n_features):
    """The slot-ordered rows as the kernels read them, scaled in place: rows of norm at most ``data_norm``.

    Dense: the first ``n_features`` columns, the last one the intercept (set
    by :func:`skunlearn._constants.scale_rows`), a block of
    :data:`SCALE_CHUNK_ROWS` rows at a time (the map is row-wise, so blocks
    change nothing but the memory: a memory-mapped store is read and written
    once, in order); CSR: the intercept an entry of every row
    (:func:`skunlearn._constants.scale_sparse_rows`).
    """
    if sp.issparse(X_slots):
        return scale_sparse_rows(X_slots, data_norm, copy=False)
    for start in range(0, X_slots.shape[0], SCALE_CHUNK_ROWS):
        block = X_slots[start:start + SCALE_CHUNK_ROWS]
        scale_rows(block[:, :n_features], data_norm, out=block)
    return X_slots


def cluster_slot_rows(X_slots, *, data_norm, n_features):
    """``store="dask"``: the prepared rows as a persisted Dask array on the cluster.

    A NumPy layout is scaled in place (:func:`scale_slot_rows`) and moved; a
    Dask layout (X was a Dask array: ``n_features`` columns, no intercept yet)
    is scaled by the workers, block by block, with the same row-wise map, so the
    rows are those of the in-memory fit bit for bit.
    """
    if not is_cluster_store(X_slots):
        return to_cluster(scale_slot_rows(X_slots, data_norm=data_norm, n_features=n_features))
    columns = (n_features + 1,)
    return X_slots.map_blocks(scale_rows, data_norm, chunks=(X_slots.chunks[0], columns),
                              dtype=X_slots.dtype).persist()
