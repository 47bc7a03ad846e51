"""Compute backends: one module per device, the same small interface.

A backend runs epochs of the noisy update on arrays it is given and returns the
new parameters; validation, bookkeeping and certificates stay in the
estimators. Modules are imported on first use, so ``import skunlearn`` loads
neither numba kernels nor cupy.

Interface::

    run_logistic_epochs(params, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs,
                        n_threads=None) -> (params, noise_counter)
    run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config, noise_key, noise_counter, n_epochs)
        -> (params, noise_counter)
    mlp_loss_gradient(params, layer_sizes, X, y, weight, activation) -> (loss, gradient)

``X`` holds the rows in cyclic slot order (a removed row is a zero row of
weight 0), batch j is ``X[batch_bounds[j]:batch_bounds[j + 1]]``, ``config``
is a :class:`KernelConfig`. The CPU backend's ``run_logistic_epochs`` also
takes a scipy.sparse CSR ``X`` (a removed row then has no stored entries) and
runs it through :mod:`skunlearn._backends._numba_sparse`; the GPU backend
takes dense rows only (the certified estimators run on the CPU).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = [
    "ACTIVATIONS",
    "BINARY_LOGISTIC",
    "GRADIENT_CLIPPING",
    "MODEL_CLIPPING",
    "SOFTMAX",
    "KernelConfig",
    "MLPConfig",
    "get_backend",
]

#: Loss codes: integers, because a jitted function passed as an argument defeats numba's cache.
BINARY_LOGISTIC = 0
SOFTMAX = 1

#: Activation codes of the MLP kernels.
ACTIVATIONS = {"relu": 0, "tanh": 1, "logistic": 2}

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
    :class:`KernelConfig`.
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

    def __post_init__(self):
        if self.noise_std > 0 and not self.grid > 0:
            raise ValueError("a noisy MLPConfig needs its grid (skunlearn.accounting.noise_grid)")

    def as_args(self):
        return (self.activation, self.update, self.step_size, self.l2, self.noise_std, self.radius,
                self.gradient_clip, self.grid)


def get_backend(device):
    """The backend module for ``device``, imported on first use.

    ``"cpu"``: numba. ``"cuda"``: CuPy, which must be installed and see a GPU
    (else a RuntimeError says what is missing). ``"auto"``: CuPy when it sees
    a GPU, numba otherwise.
    """
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be one of ['auto', 'cpu', 'cuda'], got {device!r}")
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
    return importlib.import_module("skunlearn._backends.numba_cpu")
