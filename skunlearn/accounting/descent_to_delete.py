r"""The Descent-to-Delete baseline: perturbed gradient descent with output noise [D2D].

A baseline for comparison only; no estimator uses it.

The algorithm (perturbed gradient descent for a strongly convex, smooth loss)
------------------------------------------------------------------------------

``f_D(θ) = (1/n) Σ_i f(θ, z_i)`` with every per-row loss ``f(·, z)``
m-strongly convex, L-smooth and M-Lipschitz on the convex domain Θ (for
L2-regularised logistic regression on the ball of radius R: the regulariser
is inside each row's loss, so m = λ, L = L_loss + λ and M = M_loss + λR).
Training runs projected gradient descent with step ``η = 2 / (L + m)`` until
the iterate is close to the minimiser. Each update (a deletion) runs
``I`` projected gradient steps on the new data set starting from the
previous *unperturbed* iterate, which stays secret, and publishes that
iterate plus ``N(0, σ² I_d)``.

The noise
---------

With ``γ = (L − m) / (L + m)``, the step's contraction towards the minimiser
at ``η = 2 / (L + m)``::

    σ = 4√2 M γ^I / ( m n (1 − γ^I) (√(log(1/δ) + ε) − √(log(1/δ))) )

is the noise of [D2D]'s unlearning guarantee for perturbed gradient descent
(Section 3 of [D2D]; one deletion per update, published output only), in
the form Chien et al. use for their D2D baseline. Its shape: if the secret
iterate starts within d of the old minimiser, I steps leave it within
``γ^I (d + 2M/(mn))`` of the new one (one row moves the minimiser of an
m-strongly convex mean by at most ``2M/(mn)``), so it stays within the fixed
point ``d = 2M γ^I / (mn (1 − γ^I))`` however many deletions come;
``√(log(1/δ) + ε) − √(log(1/δ))`` is ``√ρ`` of the Gaussian mechanism's
ρ-zCDP that reaches (ε, δ) through ``ε = ρ + 2 √(ρ log(1/δ))``. (Two
iterates within d of the same minimiser are 2d apart, and the Gaussian
mechanism with sensitivity 2d needs ``2d / √(2ρ)``, which is half the
constant above; the restatement's ``4√2`` is kept as published, so D2D is
never given less noise than its authors' bound asks for.)

Source of the constants. The arXiv text of [D2D] could not be read from this
project's sources, so the constant ``4√2`` and the form above are taken from
how Chien et al. restate and run the bound for their D2D baseline in the
Langevin-unlearning experiments ([LU]; released code
``Graph-COM/Langevin_unlearning``, ``baseline.py``,
``calculate_baseline_sigma``: ``4√2 M γ^I / (m n (1 − γ^I)(√(log(1/δ) + ε) −
√(log(1/δ))))`` with ``γ = (L − m)/(L + m)``, step ``2/(L + m)``), which an
independent implementation of [D2D] Algorithm 1 (``DescDel.set_sigma``) writes
identically. Their ``calculate_baseline_sigma2`` (``8 M γ^I`` over
``√(2 log(2/δ) + 3ε) − √(2 log(2/δ) + 2ε)``, with a lower bound on I), used
in their sequential experiments, is another variant and is not implemented
here. Before quoting a theorem number, check it against the paper.

References
----------
.. [D2D] S. Neel, A. Roth, S. Sharifi-Malvajerdi. Descent-to-Delete:
   Gradient-Based Methods for Machine Unlearning. ALT 2021, arXiv:2007.02923.
.. [LU] E. Chien, H. Wang, Z. Chen, P. Li. Langevin Unlearning: A New
   Perspective of Noisy Gradient Descent for Machine Unlearning. NeurIPS 2024,
   arXiv:2401.10371 (D2D is their baseline; also in arXiv:2403.17105).
"""

from __future__ import annotations

import math

from ._checks import positive as _positive

__all__ = ["d2d_contraction", "d2d_noise", "d2d_step_size"]


def _smooth_and_strong(smoothness, strong_convexity):
    smoothness = _positive("smoothness", smoothness)
    strong_convexity = _positive("strong_convexity", strong_convexity)
    if strong_convexity > smoothness:
        raise ValueError(f"strong_convexity m={strong_convexity} cannot exceed smoothness L={smoothness}")
    return smoothness, strong_convexity


def d2d_step_size(smoothness: float, strong_convexity: float) -> float:
    """The step ``η = 2 / (L + m)`` of [D2D]'s gradient descent.

    Parameters
    ----------
    smoothness : float
        L > 0 of the per-row loss (regulariser included).
    strong_convexity : float
        m, with ``0 < m ≤ L``.

    Returns
    -------
    float

    Examples
    --------
    >>> d2d_step_size(3.0, 1.0)
    0.5
    """
    smoothness, strong_convexity = _smooth_and_strong(smoothness, strong_convexity)
    return 2.0 / (smoothness + strong_convexity)


def d2d_contraction(smoothness: float, strong_convexity: float) -> float:
    """``γ = (L − m) / (L + m)``: one step at ``η = 2/(L + m)`` contracts the distance to the minimiser by γ.

    Examples
    --------
    >>> d2d_contraction(3.0, 1.0)
    0.5
    """
    smoothness, strong_convexity = _smooth_and_strong(smoothness, strong_convexity)
    return (smoothness - strong_convexity) / (smoothness + strong_convexity)


def d2d_noise(
    epsilon: float, delta: float, lipschitz: float, smoothness: float, strong_convexity: float, n_samples: int,
    iterations: int,
) -> float:
    r"""σ of the output noise [D2D] perturbed gradient descent publishes after each deletion.

    ``σ = 4√2 M γ^I / (m n (1 − γ^I) (√(log(1/δ) + ε) − √(log(1/δ))))``,
    ``γ = (L − m)/(L + m)`` (module docstring: the source of the constants).

    Parameters
    ----------
    epsilon, delta : float
        The target, ε > 0 and 0 < δ < 1.
    lipschitz : float
        M, bound on the gradient norm of each row's loss (regulariser
        included) on the domain.
    smoothness : float
        L of each row's loss.
    strong_convexity : float
        m of each row's loss, ``0 < m ≤ L``.
    n_samples : int
        n, rows of the data set (after the deletion, as in the experiments
        of [LU]: the difference is one row).
    iterations : int
        I ≥ 1, gradient steps per deletion.

    Returns
    -------
    float
        The standard deviation of the Gaussian noise added to every
        coordinate of the published model.

    Examples
    --------
    L = 3, m = 1 (γ = 1/2), I = 1, log(1/δ) = 4, ε = 5 (the root difference is
    3 − 2 = 1), M = 1, n = 10: σ = 4√2 / 10.

    >>> round(d2d_noise(5.0, math.exp(-4.0), 1.0, 3.0, 1.0, 10, 1), 12) == round(0.4 * math.sqrt(2.0), 12)
    True
    """
    epsilon = _positive("epsilon", epsilon)
    delta = float(delta)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    lipschitz = _positive("lipschitz", lipschitz)
    gamma = d2d_contraction(smoothness, strong_convexity)
    strong_convexity = float(strong_convexity)
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples}")
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations}")
    if gamma == 0.0:
        return 0.0  # L = m: one step lands on the minimiser, nothing to hide
    log_inverse = math.log(1.0 / delta)
    root_gap = math.sqrt(log_inverse + epsilon) - math.sqrt(log_inverse)
    decay = gamma ** int(iterations)
    # γ^I / (1 − γ^I), computed without cancellation for γ^I close to 1.
    ratio = decay / -math.expm1(int(iterations) * math.log(gamma))
    return 4.0 * math.sqrt(2.0) * lipschitz * ratio / (strong_convexity * int(n_samples) * root_gap)
