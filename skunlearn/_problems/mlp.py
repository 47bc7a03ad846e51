"""The MLP set-up: layer sizes → batches → ledger → noise → request budget → training config.

Reads only public quantities (the shape, the class count, the parameters):
nothing here may depend on the rows to forget. The request budget's "auto" is
one noisy epoch and ten noise-free ones (measured in ``benchmarks/bench_mlp_long.py``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import accounting
from .._backends.codes import ACTIVATIONS, MODEL_CLIPPING, MLPConfig
from .._constants import cyclic_batch_bounds
from .._defaults import resolve_delta
from .._ledgers import PostProcessingLedger
from . import CalibratedSetup

__all__ = ["MLPSetup", "mlp_setup"]

#: The MLP's "auto" request budget: noisy epochs, then noise-free ones.
AUTO_MLP_BUDGET = (1, 10)


@dataclasses.dataclass(frozen=True)
class MLPSetup(CalibratedSetup):
    """What an MLP fit decides before it reads a row; ``ledger`` carries the requests' noise."""

    layer_sizes: np.ndarray
    delta: float
    batch_size: int
    ledger: PostProcessingLedger
    unlearning_epochs: int
    finetune_epochs: int
    training_config: MLPConfig


def mlp_setup(*, n_samples: int, n_features: int, n_classes: int, hidden_layer_sizes=(100,), activation="relu",
              alpha=1e-4, batch_size=64, learning_rate_init=0.1, max_iter=30, noise=1e-3, radius=10.0, epsilon=1.0,
              delta=None, unlearn_method="model_clipping", unlearning_epochs="auto", unlearning_noise=None,
              gradient_clip=1.0, clip_radius=None, finetune_epochs="auto") -> MLPSetup:
    """The set-up of ``NoisyMLPClassifier(**parameters)`` on ``n_samples × n_features`` rows of ``n_classes``.

    The keyword arguments are the estimator's parameters of the same names.
    Raises ValueError, with the estimator's message, for hidden sizes that are
    not positive integers, a gradient-clipping step with ``γλ ≥ 1``, or an
    unlearning noise below the floor.
    """
    hidden = np.atleast_1d(np.asarray(hidden_layer_sizes))
    if hidden.ndim != 1 or not np.issubdtype(hidden.dtype, np.integer) or np.any(hidden < 1):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes!r}")
    if unlearn_method == "gradient_clipping" and learning_rate_init * alpha >= 1:
        raise ValueError("gradient clipping needs learning_rate_init * alpha < 1")
    layer_sizes = np.array([n_features, *hidden.tolist(), n_classes], dtype=np.int64)
    n_params = int(np.sum(layer_sizes[:-1] * layer_sizes[1:] + layer_sizes[1:]))
    batch_size = min(int(batch_size), n_samples)
    steps_per_epoch = cyclic_batch_bounds(n_samples, batch_size).size - 1
    delta = resolve_delta(delta, n_samples)
    unlearning_epochs = AUTO_MLP_BUDGET[0] if unlearning_epochs == "auto" else int(unlearning_epochs)
    finetune_epochs = AUTO_MLP_BUDGET[1] if finetune_epochs == "auto" else int(finetune_epochs)
    ledger = PostProcessingLedger(
        method=unlearn_method, initial_radius=float(radius),
        clip_radius=float(radius if clip_radius is None else clip_radius),
        gradient_clip=float(gradient_clip), step_size=float(learning_rate_init), l2=float(alpha),
        noise_std=0.0, steps_per_epoch=steps_per_epoch, target_epsilon=float(epsilon),
        target_delta=delta, n_params=n_params, training_steps=int(max_iter) * steps_per_epoch,
        training_noise=float(noise),
    )
    if unlearning_noise is None:
        unlearning_noise = ledger.calibrated_noise(unlearning_epochs)
    else:
        unlearning_noise = float(unlearning_noise)
        if unlearning_noise < ledger.minimum_noise():
            raise ValueError(
                f"unlearning_noise={unlearning_noise:.3g} is below {accounting.NOISE_FLOOR_ULPS} ulps of the largest "
                "clip radius: the parameters' own rounding would be a sizeable part of it, and a certificate could "
                "not be met at any useful epsilon. Use "
                f"unlearning_noise >= {ledger.minimum_noise():.3g} or None (calibrated)."
            )
    training_config = MLPConfig(
        activation=ACTIVATIONS[activation], update=MODEL_CLIPPING, step_size=float(learning_rate_init),
        l2=float(alpha), noise_std=float(noise), radius=float(radius), gradient_clip=math.inf,
        # The training is not certified (the requests' bounds hold from any model), so its grid needs only
        # the exactness of the sum: |x| <= radius before the noise.
        grid=accounting.noise_grid(1.01 * float(radius) + 21.0 * float(noise), float(noise)) if noise > 0 else 0.0,
        layer_sizes=tuple(int(size) for size in layer_sizes),
    )
    return MLPSetup(layer_sizes=layer_sizes, delta=delta, batch_size=batch_size,
                    ledger=dataclasses.replace(ledger, noise_std=unlearning_noise),
                    unlearning_epochs=unlearning_epochs, finetune_epochs=finetune_epochs,
                    training_config=training_config)
