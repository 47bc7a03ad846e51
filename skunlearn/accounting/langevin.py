"""Published Langevin-unlearning bound for full-batch projected noisy GD.

[LU] Theorem 3.2 / Corollary 3.3 (strongly convex, full batch): after learning
to the stationary law, removing S of n rows gives an initial Rényi divergence
``ε₀(α) = 4 α S² M² / (m σ² n²)``, and K noisy gradient steps on the retained
rows shrink it to ``exp(−K m η / α) ε₀(α)``.

This bound assumes the learning chain *has reached* its stationary law (it is
never certified that it has) and is offered only as ``bound="published"`` to
compare with the paper; the default certificate uses
:mod:`skunlearn.accounting.pnsgd`, which needs no convergence assumption.

References
----------
.. [LU] E. Chien, H. Wang, Z. Chen, P. Li. Langevin Unlearning: A New
   Perspective of Noisy Gradient Descent for Machine Unlearning. NeurIPS 2024,
   arXiv:2401.10371.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["published_langevin_rdp"]


def published_langevin_rdp(
    n_removed: int, n_samples: int, lipschitz: float, strong_convexity: float, noise_std: float, step_size: float,
    n_steps: int,
) -> Callable[[ArrayLike], np.ndarray]:
    """The published [LU] Rényi curve after K full-batch unlearning steps.

    Implements ``ε_α ≤ exp(−K m η / α) · 4 α S² M² / (m σ² n²)`` ([LU],
    Theorem 3.2 with the stationary initial bound of Corollary 3.3).

    Parameters
    ----------
    n_removed : int
        S, rows removed.
    n_samples : int
        n, rows trained on.
    lipschitz : float
        M, bound on a per-row gradient.
    strong_convexity : float
        m > 0.
    noise_std : float
        σ > 0 (per-step noise ``sqrt(2 η σ²)``).
    step_size : float
        η > 0.
    n_steps : int
        K ≥ 0 unlearning steps.

    Returns
    -------
    callable
        Vectorised ``α ↦ ε_α``.

    Examples
    --------
    With no unlearning step the curve is linear in α:

    >>> curve = published_langevin_rdp(1, 10, 1.0, 0.5, 1.0, 0.1, 0)
    >>> float(curve(2.0))  # 4·2·1·1/(0.5·1·100)
    0.16
    """
    for name, value in (("lipschitz", lipschitz), ("strong_convexity", strong_convexity),
                        ("noise_std", noise_std), ("step_size", step_size)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    if n_removed < 0 or n_samples < 1 or n_removed > n_samples:
        raise ValueError(f"need 0 <= n_removed <= n_samples, got {n_removed} and {n_samples}")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    initial = 4.0 * n_removed**2 * lipschitz**2 / (strong_convexity * noise_std**2 * n_samples**2)
    decay_rate = n_steps * strong_convexity * step_size

    def curve(orders):
        orders = np.asarray(orders, dtype=float)
        return np.exp(-decay_rate / orders) * orders * initial

    return curve
