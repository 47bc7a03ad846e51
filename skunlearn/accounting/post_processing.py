r"""Certified unlearning for any loss: noisy fine-tuning as post-processing [NN].

Both methods start from the trained model clipped to radius C₀ (so the model
to forget from and the certifying one start within 2C₀ of each other), then run
T noisy steps on the retained rows with step γ and the mean mini-batch gradient.

Gradient clipping, ``x ← (1 − γλ) x − γ clip_{C₁}(g(x)) + N(0, σ_t² I)``:
each step maps two points at distance z to points at distance ≤ ``ρ z + s``
with ``ρ = 1 − γλ``, ``s = 2γC₁``, whatever the loss. Privacy amplification by
iteration ([FMTT] Thm 22; [NN] Theorem 3) with the shift spread optimally:
minimise ``Σ a_t² / (2σ_t²)`` subject to ``Σ_t w_t a_t = W`` with
``w_t = ρ^{T−1−t}`` (the contraction still to come) and
``W = 2C₀ρ^T + s Σ_t w_t``. Lagrange gives ``a_t ∝ w_t σ_t²`` and

    ε_α ≤ α ρ_R,   ρ_R = ½ W² / Σ_t w_t² σ_t².

(The schedule keeps every intermediate shift ≥ 0 because ``w_t`` grows with t.)
The bound grows with α, so (ε, δ) comes from the conversion of
:mod:`skunlearn.accounting.renyi`, never from ρ_R alone.

Model clipping, ``x ← clip_{C₂}(x − γ(g(x) + λx)) + N(0, σ² I)``: every
noiseless image lies in a ball of diameter 2C₂, so the hockey-stick divergence
contracts by the Gaussian coefficient ``θ_ε(r)``, ``r = 2C₂/σ`` [ADC, Thm 3].
With δ₀ = 1: ``ε̃_t = log(1 + (e^ε − 1)/δ_t)``, ``δ_{t+1} = δ_t θ_{ε̃_t}(r)``.

References
----------
.. [NN] A. Koloskova, Y. Allouah, A. Jha, R. Guerraoui, S. Koyejo. Certified
   Unlearning for Neural Networks. ICML 2025, arXiv:2506.06985.
.. [ADC] S. Asoodeh, M. Diaz, F. Calmon. Contraction of E_γ-divergence and its
   applications to privacy. arXiv:2012.11035.
.. [BW] B. Balle, Y.-X. Wang. Improving the Gaussian mechanism for
   differential privacy. ICML 2018, arXiv:1805.06530.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import log_ndtr, ndtr

__all__ = [
    "gaussian_hockey_stick",
    "gradient_clipping_rdp_coefficient",
    "gradient_clipping_rdp_coefficient_closed_form",
    "model_clipping_deltas",
    "model_clipping_steps",
    "output_perturbation_noise",
]


def _check_positive(**values):
    for name, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")


def _check_contraction(step_size, l2):
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    if step_size * l2 >= 1.0:
        raise ValueError(f"need step_size * l2 < 1 for the contraction 1 - step_size*l2, got {step_size * l2}")
    return 1.0 - step_size * l2


def gradient_clipping_rdp_coefficient(
    initial_radius: float, clip_norm: float, step_size: float, l2: float, noise_stds: ArrayLike,
) -> float:
    """Rényi coefficient ρ_R of noisy fine-tuning with gradient clipping, any σ_t.

    [NN] Theorem 3 in its general time-varying form (module docstring):
    ``ρ_R = ½ [2C₀ρ^T + 2γC₁ Σ_t ρ^{T−1−t}]² / Σ_t ρ^{2(T−1−t)} σ_t²``,
    ``ε_α ≤ α ρ_R``.

    Parameters
    ----------
    initial_radius : float
        C₀ > 0, the model is clipped to this norm before fine-tuning.
    clip_norm : float
        C₁ > 0, gradient clipping norm.
    step_size : float
        γ > 0.
    l2 : float
        λ ≥ 0, weight decay; needs γλ < 1.
    noise_stds : array-like of float
        σ_t > 0 for each of the T steps.

    Returns
    -------
    float

    Examples
    --------
    >>> gradient_clipping_rdp_coefficient(1.0, 1.0, 0.1, 0.0, [1.0] * 10)  # 2(1 + 1)²/10
    0.8
    """
    _check_positive(initial_radius=initial_radius, clip_norm=clip_norm, step_size=step_size)
    noise_stds = np.asarray(noise_stds, dtype=float).ravel()
    if noise_stds.size == 0 or not np.all(np.isfinite(noise_stds) & (noise_stds > 0)):
        raise ValueError("noise_stds must be a non-empty array of finite values > 0")
    rho = _check_contraction(step_size, l2)
    n_steps = noise_stds.size
    weights = rho ** np.arange(n_steps - 1, -1, -1, dtype=float)
    total_shift = 2.0 * initial_radius * rho**n_steps + 2.0 * step_size * clip_norm * weights.sum()
    return float(0.5 * total_shift**2 / np.sum(weights**2 * noise_stds**2))


def gradient_clipping_rdp_coefficient_closed_form(
    initial_radius: float, clip_norm: float, step_size: float, l2: float, noise_std: float, n_steps: int,
) -> float:
    """Closed forms of :func:`gradient_clipping_rdp_coefficient` for constant σ.

    [NN] Corollary of Theorem 3 (module docstring): λ = 0 gives
    ``ρ_R = 2 (C₀ + γC₁T)² / (σ² T)``; λ > 0 gives
    ``ρ_R = Z² (1 − ρ²) / (2σ² (1 − ρ^{2T}))`` with
    ``Z = 2C₀ρ^T + (2C₁/λ)(1 − ρ^T)``, ``ρ = 1 − γλ``.

    Examples
    --------
    >>> gradient_clipping_rdp_coefficient_closed_form(1.0, 1.0, 0.1, 0.0, 1.0, 10)
    0.8
    """
    _check_positive(initial_radius=initial_radius, clip_norm=clip_norm, step_size=step_size, noise_std=noise_std)
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps}")
    rho = _check_contraction(step_size, l2)
    if l2 == 0:
        return float(2.0 * (initial_radius + step_size * clip_norm * n_steps) ** 2 / (noise_std**2 * n_steps))
    decay = rho**n_steps
    distance = 2.0 * initial_radius * decay + 2.0 * clip_norm / l2 * (1.0 - decay)
    return float(distance**2 * (1.0 - rho**2) / (2.0 * noise_std**2 * (1.0 - rho ** (2 * n_steps))))


def gaussian_hockey_stick(epsilon: float, r: float) -> float:
    """Hockey-stick divergence ``θ_ε(r)`` of two unit Gaussians r apart.

    ``θ_ε(r) = Q(ε/r − r/2) − e^ε Q(ε/r + r/2)`` [BW, Theorem 8]; it is the
    exact δ(ε) of a Gaussian mechanism with sensitivity/σ = r, and the
    E_{e^ε} contraction coefficient of a Gaussian kernel on a set of diameter
    rσ [ADC, Theorem 3]. ``e^ε Q(·)`` is evaluated in log space.

    Parameters
    ----------
    epsilon : float
        ε ≥ 0.
    r : float
        r ≥ 0.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> round(gaussian_hockey_stick(1.0, 2.0), 7)
    0.5098617
    """
    epsilon, r = float(epsilon), float(r)
    if not (epsilon >= 0 and r >= 0):
        raise ValueError(f"need epsilon >= 0 and r >= 0, got {epsilon} and {r}")
    if r == 0.0 or np.isinf(epsilon):
        return 0.0  # no shift, or an infinite ratio allowed: nothing exceeds e^ε times the other law
    if np.isinf(r):
        return 1.0
    first = ndtr(-(epsilon / r - r / 2.0))
    second = np.exp(epsilon + log_ndtr(-(epsilon / r + r / 2.0)))
    return float(min(max(first - second, 0.0), 1.0))


def model_clipping_deltas(epsilon: float, r: float, n_steps: int) -> np.ndarray:
    """δ_t after each of T noisy model-clipping steps, at a fixed ε.

    [ADC] Theorem 3 applied step by step as in [NN] Theorem 4 (module docstring):
    ``δ₀ = 1``, ``ε̃_t = log(1 + (e^ε − 1)/δ_t)``, ``δ_{t+1} = δ_t θ_{ε̃_t}(r)``.

    Parameters
    ----------
    epsilon : float
        ε > 0.
    r : float
        ``2C₂/σ``.
    n_steps : int
        T ≥ 0.

    Returns
    -------
    numpy.ndarray
        ``[δ₁, …, δ_T]``.

    Examples
    --------
    >>> model_clipping_deltas(1.0, 2.0, 1).round(7).tolist()
    [0.5098617]
    """
    epsilon = float(epsilon)
    _check_positive(epsilon=epsilon, r=r)
    deltas = []
    delta = 1.0
    for _ in range(int(n_steps)):
        if delta <= 0.0:
            deltas.append(0.0)
            continue
        # Once δ_t is below what binary64 can divide by, ε̃_t is infinite and the contraction is total (θ = 0).
        with np.errstate(over="ignore"):  # an infinite ratio is the intended limit (θ = 0 below)
            effective = np.log1p(np.expm1(epsilon) / delta)
        delta = delta * gaussian_hockey_stick(effective, r)
        deltas.append(delta)
    return np.asarray(deltas, dtype=float)


def model_clipping_steps(
    epsilon: float, delta: float, clip_radius: float, noise_std: float, max_steps: int = 10_000,
) -> tuple[int, float]:
    """Fewest noisy model-clipping steps that reach (ε, δ)-unlearning.

    Runs the recursion of :func:`model_clipping_deltas` with ``r = 2C₂/σ`` and
    stops at the first T with ``δ_T ≤ δ`` [NN, Theorem 4].

    Parameters
    ----------
    epsilon, delta : float
        Target.
    clip_radius : float
        C₂.
    noise_std : float
        σ.
    max_steps : int, default=10000

    Returns
    -------
    tuple of (int, float)
        ``(T, δ_T)``.

    Raises
    ------
    ValueError
        When ``max_steps`` steps do not reach δ.

    Examples
    --------
    >>> model_clipping_steps(1.0, 1e-5, 1.0, 1.0)[0]
    6
    """
    _check_positive(epsilon=epsilon, delta=delta, clip_radius=clip_radius, noise_std=noise_std)
    r = 2.0 * clip_radius / noise_std
    current = 1.0
    for step in range(1, int(max_steps) + 1):
        effective = np.log1p(np.expm1(epsilon) / current)
        current *= gaussian_hockey_stick(effective, r)
        if current <= delta:
            return step, float(current)
    raise ValueError(f"{max_steps} model-clipping steps at r={r:.4g} do not reach delta={delta}; raise the noise")


def output_perturbation_noise(epsilon: float, delta: float, radius: float, method: str = "analytic") -> float:
    """Noise σ that makes releasing ``clip_{C₀}(model) + N(0, σ² I)`` (ε, δ)-unlearning.

    Two models clipped to C₀ are at most 2C₀ apart, so this is the Gaussian
    mechanism with sensitivity 2C₀: ``method="classic"`` gives
    ``σ = 2C₀ sqrt(2 log(1.25/δ))/ε`` (Dwork & Roth, Theorem A.1; valid for
    ε < 1), ``method="analytic"`` the smallest σ with ``θ_ε(2C₀/σ) ≤ δ`` [BW,
    Theorem 8].

    Examples
    --------
    >>> round(output_perturbation_noise(0.5, 1e-5, 1.0, "classic"), 4)
    19.3792
    >>> output_perturbation_noise(0.5, 1e-5, 1.0) < 19.38
    True
    """
    _check_positive(epsilon=epsilon, delta=delta, radius=radius)
    sensitivity = 2.0 * radius
    if method == "classic":
        if epsilon >= 1:
            raise ValueError("the classic Gaussian mechanism bound needs epsilon < 1")
        return float(sensitivity * np.sqrt(2.0 * np.log(1.25 / delta)) / epsilon)
    if method != "analytic":
        raise ValueError(f"method must be 'analytic' or 'classic', got {method!r}")
    # θ_ε(r) increases in r: find the largest r with θ ≤ δ, then σ = 2C₀/r.
    def gap(log_r):
        return gaussian_hockey_stick(epsilon, np.exp(log_r)) - delta

    lo, hi = -30.0, 10.0
    log_r = brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)
    while gap(log_r) > 0:
        log_r -= 1e-12
    return float(sensitivity / np.exp(log_r))
