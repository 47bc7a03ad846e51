"""What the estimators hand a backend: the integer codes and the frozen configs of one phase.

The kernels branch on these integer codes (a jitted function passed as an
argument would defeat numba's cache); every module names them from here, never
as bare numbers. This module imports nothing of the package, so the kernels
below it and the estimators above it both depend on it and on nothing else
for their shared vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIVATIONS",
    "BINARY_LOGISTIC",
    "GRADIENT_CLIPPING",
    "LOGISTIC_ACTIVATION",
    "MODEL_CLIPPING",
    "RELU",
    "SOFTMAX",
    "TANH",
    "KernelConfig",
    "MLPConfig",
    "NoiseStream",
    "Slots",
    "is_dask_array",
    "is_block_read_array",
]

#: Loss codes of the logistic kernels.
BINARY_LOGISTIC = 0
SOFTMAX = 1

#: Activation codes of the MLP kernels, and the map from the estimator's names.
RELU = 0
TANH = 1
LOGISTIC_ACTIVATION = 2
ACTIVATIONS = {"relu": RELU, "tanh": TANH, "logistic": LOGISTIC_ACTIVATION}

#: MLP update rules [Koloskova et al. 2025]: model clipping (projected SGD) and gradient clipping.
MODEL_CLIPPING = 0
GRADIENT_CLIPPING = 1


@dataclass(frozen=True)
class KernelConfig:
    """Scalar settings of the noisy update, unpacked into the kernel in one place.

    Each step is ``θ ← Π_R((1 − η λ) θ − (η / b_j) Σ_{i ∈ B_j} w_i ∇ℓ_i(θ) + noise_scale · ξ)``
    with ``noise_scale`` ≥ ``sqrt(2 η) σ`` (:func:`skunlearn.accounting.kernel_noise_scale`) and
    ``b_j`` the slot count of batch j. A noisy step adds its noise on the grid ``grid`` (Λ, a power of
    two from :func:`skunlearn.accounting.noise_grid`): ``RN_Λ(v) + Λ RN(noise_scale ξ / Λ)``, its
    bits from ``noise_core`` (``"chacha20"``; ``"splitmix64"`` only by name, see
    :data:`skunlearn._backends._grid_noise.NOISE_CORES`). ``as_args`` gives the kernels' scalars.
    """

    loss: int
    step_size: float
    l2: float
    noise_scale: float
    radius: float
    grid: float = 0.0
    noise_core: str = "chacha20"

    def __post_init__(self):
        if self.noise_scale > 0 and not self.grid > 0:
            raise ValueError("a noisy KernelConfig needs its grid (skunlearn.accounting.noise_grid)")

    def as_args(self):
        return (self.loss, self.step_size, self.l2, self.noise_scale, self.radius, self.grid)


@dataclass(frozen=True)
class MLPConfig:
    """Scalar settings of one MLP phase (training, noisy unlearning or noise-free fine-tuning).

    ``update == MODEL_CLIPPING``: ``θ ← clip_R(θ − γ (g + λ θ)) + σ ξ``;
    ``update == GRADIENT_CLIPPING``: ``θ ← (1 − γλ) θ − γ clip_{C₁}(g) + σ ξ``;
    ``g`` is the mean gradient over the batch's retained rows, clipping is by
    the global L2 norm, ``ξ ~ N(0, I)``; the noise is added on the grid ``grid`` as in
    :class:`KernelConfig`. ``as_args`` gives the kernels' scalars (``layer_sizes`` is not one).
    """

    activation: int
    update: int
    step_size: float
    l2: float
    noise_std: float
    radius: float
    gradient_clip: float
    grid: float = 0.0
    noise_core: str = "chacha20"
    #: The network's widths ``(n_features, hidden..., n_classes)``; a backend's ``run`` needs them.
    layer_sizes: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.noise_std > 0 and not self.grid > 0:
            raise ValueError("a noisy MLPConfig needs its grid (skunlearn.accounting.noise_grid)")

    def as_args(self):
        return (self.activation, self.update, self.step_size, self.l2, self.noise_std, self.radius,
                self.gradient_clip, self.grid)


@dataclass(frozen=True)
class Slots:
    """The rows a phase runs over, in cyclic slot order.

    ``X`` (dense, C-contiguous, float32 or float64; or CSR for the logistic
    kernels) and ``y`` (int64 class codes) hold one row per slot; ``weight``
    (float64) is a retained row's weight and 0 for a removed slot; batch j is
    slots ``batch_bounds[j]:batch_bounds[j + 1]``.
    """

    X: Any
    y: Any
    weight: Any
    batch_bounds: Any


@dataclass(frozen=True)
class NoiseStream:
    """Where a phase's noise comes from: normal ``i`` of the generator keyed by ``key`` (256 bits), from ``counter``.

    Normal ``i`` is a pure function of ``(key, i)``, so a phase that draws
    ``m`` normals hands the next one ``advanced(m)``.
    """

    key: int
    counter: int = 0

    def advanced(self, drawn: int) -> NoiseStream:
        """The stream after ``drawn`` more normals."""
        return NoiseStream(self.key, self.counter + int(drawn))


def is_dask_array(rows) -> bool:
    """Whether ``rows`` is a Dask array (read from its type's module: Dask need not be installed)."""
    return type(rows).__module__.startswith("dask.")


def is_block_read_array(rows) -> bool:
    """Whether ``rows`` is an on-disk array that fit reads a block of rows at a time: a zarr array or an h5py dataset.

    Read from its type's module (neither package need be installed). Such an
    array is never converted to NumPy as a whole.
    """
    return type(rows).__module__.split(".")[0] in ("zarr", "h5py")
