r"""What the certificate owes to floating-point arithmetic.

The bounds of :mod:`~skunlearn.accounting.pnsgd` and
:mod:`~skunlearn.accounting.post_processing` are proofs about real numbers.
The kernels compute with IEEE-754 binary64 parameters (round to nearest, unit
roundoff ``u = 2⁻⁵³``); the data may be binary32, which converts to binary64
exactly. This module bounds the gap between one step as the kernel computes
it and the exact step, so that the gap can be charged to the certificate, and
sets the smallest noise the certificate accepts.

Derivation (the logistic kernel of ``skunlearn._backends.numba_cpu``)
======================================================================

Notation: ``γ_n = n u / (1 − n u)`` [Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., Lemma 3.1]; a sum of n products computed in
*any* order, with or without fused multiply-adds, is within ``γ_n Σ |a_i b_i|``
of the exact sum [Higham, eq. (3.5) and §3.1]. That covers every BLAS call and
every blocked or threaded accumulation, whatever order it picks. ``p = k d``
parameters (``k`` outputs, ``d`` columns with the intercept), batch of at
most ``b`` slots, rows ``‖x‖ ≤ D``, input parameters ``‖θ‖ ≤ R̄`` with
``R̄ = R (1 + γ_{p+T+3})`` (a float projection can leave the norm a few
roundings above R; T is the number of tasks of the kernel), generated normals
``|ξ| ≤ Ξ`` (a property of the generator), per-step noise scale ``s``.

The exact step from the same input θ and the same normals ξ is
``Π_R((1 − ηλ) θ − (η/b) Σ_i r_i(θ) x_iᵀ + s ξ)`` with the residual
``r_i = p(θ x_i) − e_{y_i}`` (softmax; ``σ(θ·x_i) − y_i`` for the binary loss).

A. *Logits.* ``|z̃_ik − z_ik| ≤ γ_d Σ_j |θ_kj||x_ij|``, so by Cauchy–Schwarz
   ``‖z̃_i − z_i‖ ≤ γ_d R̄ D``.
B. *Residuals.* The softmax is ½-Lipschitz (its Jacobian ``diag p − p pᵀ`` has
   norm ≤ ½; the sigmoid's derivative is ≤ ¼): the logit error moves the
   residual by ``L_r γ_d R̄ D``. Evaluating it at z̃ adds relative errors:
   ``z_k − max z`` (≤ ``2 Z u`` in the exponent, ``Z = (1 + γ_d) R̄ D``), ``exp``
   (assumed within 2u, true of glibc and of LLVM's libm calls), the sum of k
   terms (``γ_{k−1}``), the division and the subtraction of 1: in all
   ``ε_r = L_r γ_d R̄ D + γ_{⌈4Z⌉ + k + 8} + u`` (binary: ``γ_7``).

   *Row weights* (``sample_weight``, ``class_weight``; term B'). The kernel computes
   ``w r`` as ``w`` times the chain of B with one more rounding per entry
   (binary: the product ``w r̃``; softmax: ``w e^{z_k}`` before the division,
   then ``− w`` in place of ``− 1``), a relative error ≤ u on a term of
   magnitude ≤ ``w (M_r + ε_r)``; charging ``γ_2`` leaves room for a
   compiler's reassociation. For weights ``0 ≤ w ≤ W``:
   ``‖fl(w r) − w r‖ ≤ W (ε_r + γ_2 (M_r + ε_r))``. C–D below hold with ``M_r``
   and ``ε_r`` replaced by ``W M_r`` and that bound. Weights 0 and 1 (a
   forgotten and a retained row, the unweighted estimator) multiply exactly
   and need no B'.
C. *Gradient.* ``G = Σ_i r_i x_iᵀ`` over the batch: ``γ_{b+T}`` relative to
   ``Σ_i ‖r̃_i‖ ‖x_i‖ ≤ b (M_r + ε_r) D``, plus the residual error ``b ε_r D``;
   the scale ``η/b`` and its product add ``2u``. Times ``η/b``:
   ``e_G = η D (ε_r + (γ_{b+T} + 3u)(M_r + ε_r))``.
D. *Update.* ``(1 − ηλ) θ − g + s ξ`` rounds the shrink factor (2u), three
   products and two sums, and ``s`` itself differs from ``sqrt(2η) σ`` by at most
   3u (relative): ``e_U = γ_6 (R̄ + η M̄ + 2 s Ξ √p)`` with
   ``M̄ = (1 + γ_{b+T})(M_r + ε_r) D``.
E. *Projection.* The norm is a sum of p squares (``γ_{p+T}``) and a square
   root; the factor ``R/‖v‖`` and its products add 3u; when the rounded norm
   and the exact one fall on different sides of R the two results differ by at
   most the norm error. ``Π`` is 1-Lipschitz, so the errors before it pass
   through unchanged: ``e_P = γ_{p+T+4} R̄``.

The step error is ``e = e_G + e_U + e_P`` (:func:`logistic_step_rounding_error`).

The CSR kernel of ``skunlearn._backends._numba_sparse`` fits the same model,
so a sparse fit is charged the same ``e``: a logit sums the row's stored
entries only, at most d products (the others are exact zeros), as in A; a
gradient coordinate sums at most b row terms in row order, fewer than the
``b + T`` of C; the update and the projection (D, E) are the dense kernel's,
over the same T shares.

How the certificate charges it
==============================

Write ``φ̃`` for the step as computed and ``φ`` for the exact step; ``‖φ̃ − φ‖
≤ e`` everywhere on the ball. In privacy amplification by iteration [FMTT,
Lemma 21] the map applied to the first law need not be Lipschitz: for any
coupling of x ~ μ and x' ~ μ' with ``‖x − x'‖ ≤ z``,
``‖φ̃_U(x) − φ̃_A(x')‖ ≤ e + ‖φ_U(x) − φ_A(x')‖ + e ≤ c z + s_t + 2e``, and the
divergence term only uses data processing, which holds for every measurable
map. So the computed run and the computed certifying run obey the bound of
:mod:`~skunlearn.accounting.pnsgd` with an extra shift ``2e`` at *every* step,
before and after each request: the two runs' maps are no longer identical after
the last request, and ε has a floor that more unlearning cannot lower,
``ρ → (2e)² (1 + c) / (2 s² (1 − c))`` — calibration raises the noise above it.

What the certificate assumes (and the snapping it does not use)
===============================================================

The argument above still treats the *addition of the noise* as the addition of
an exact Gaussian draw: the generated normals are 52-bit ziggurat values (an
exact sampler up to that resolution, Marsaglia & Tsang 2000) from a
counter-based stream, and the sum is rounded to binary64. Strictly, two laws on
a grid of floats can have different supports, where every Rényi divergence is
infinite (Mironov 2012 showed how such supports leak the exact noise-free value
in the Laplace mechanism; Jin et al. 2022 carried the attack to DP libraries).
Two remedies exist in the literature:

* snapping (Mironov 2012) — release the parameters rounded to a coarse grid Λ
  and fold the coupling between the float run and an exact run into δ. The
  coupled runs stay within ``w = e/(1 − c)``; the snapped outputs differ only
  when a coordinate of the exact run falls within w of a cell boundary, which
  has probability at most ``2 w (1/Λ + 1/(s √(2π)))`` per coordinate, so
  ``δ_f ≈ 2 √p w (1/Λ + 1/(s√(2π)))``. At the 60,000 × 784 benchmark
  (``e ≈ 1.5·10⁻¹⁰``, ``1 − c ≈ 0.04``, ``p = 7850``) keeping ``δ_f`` below a
  tenth of δ = 1/n needs ``Λ ≳ 1`` and ``s ≳ 0.5``: a model of parameters of
  size 10⁻⁴…0.2 would be noise. We therefore do not snap;
* discrete noise on a lattice (Canonne, Kamath & Steinke 2020; Balcer & Vadhan
  2018 for finite computers) — changes the whole chain, not one step; left as
  future work.

Instead the certificate states its arithmetic model and keeps the noise far
above the float grid: the per-step noise standard deviation is at least
``2²⁰`` units in the last place of the largest parameter the ball allows
(:func:`minimum_step_noise`). Within Ξ standard deviations of the centre the
Gaussian density then changes by a factor at most ``1 + Ξ 2⁻²⁰`` across one
float cell, so the rounded law is the continuous law to that resolution — an
assumption written into every certificate, not a theorem.

References
----------
.. [FMTT] V. Feldman, I. Mironov, K. Talwar, A. Thakurta. Privacy
   Amplification by Iteration. FOCS 2018, arXiv:1808.06651.
.. [Higham] N. J. Higham. Accuracy and Stability of Numerical Algorithms,
   2nd ed., SIAM 2002, ch. 3.
.. [Mironov12] I. Mironov. On significance of the least significant bits for
   differential privacy. CCS 2012.
.. [JMRO22] J. Jin, E. McMurtry, B. Rubinstein, O. Ohrimenko. Are we there
   yet? Timing and floating-point attacks on differential privacy systems.
   IEEE S&P 2022.
.. [BV18] V. Balcer, S. Vadhan. Differential privacy on finite computers.
   ITCS 2018.
.. [CKS20] C. Canonne, G. Kamath, T. Steinke. The discrete Gaussian for
   differential privacy. NeurIPS 2020.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import non_negative as _non_negative
from ._checks import positive as _positive

__all__ = [
    "ARITHMETIC_MODEL",
    "NOISE_FLOOR_ULPS",
    "UNIT_ROUNDOFF",
    "clip_slack",
    "gamma",
    "logistic_step_rounding_error",
    "minimum_step_noise",
    "mlp_step_rounding_error",
]

#: Unit roundoff of binary64, round to nearest.
UNIT_ROUNDOFF = 2.0**-53

#: The per-step noise is at least this many units in the last place of the largest parameter.
NOISE_FLOOR_ULPS = 2**20

#: What every certificate states about the arithmetic it covers.
ARITHMETIC_MODEL = (
    "binary64 parameters, round to nearest; every kernel step's rounding (products, sums, exp, update, "
    "projection) bounded a priori and charged as a shift of 2e per step to both runs "
    "(skunlearn.accounting.floating_point); assumed: the addition of each generated normal acts as an exact "
    f"Gaussian draw (noise >= 2^{int(math.log2(NOISE_FLOOR_ULPS))} ulps of the largest parameter), libm exp and "
    "tanh within 2 ulps; not covered: the discreteness of the float output law (no snapping)"
)


def gamma(n: float, unit_roundoff: float = UNIT_ROUNDOFF) -> float:
    """Higham's ``γ_n = n u / (1 − n u)``: the relative error bound of n roundings.

    Parameters
    ----------
    n : int or float
        Number of roundings (≥ 0).
    unit_roundoff : float, default=2**-53

    Returns
    -------
    float

    Examples
    --------
    >>> gamma(0)
    0.0
    >>> gamma(1) > 2.0**-53
    True
    """
    n = _non_negative("n", n)
    if n * unit_roundoff >= 0.5:
        raise ValueError(f"gamma_n is only bounded for n u < 1/2, got n={n:g}")
    return n * unit_roundoff / (1.0 - n * unit_roundoff)


def logistic_step_rounding_error(
    n_features: int, n_outputs: int, batch_size: int, step_size: float, l2: float, radius: float, data_norm: float,
    noise_scale: float, *, softmax: bool, tasks: int = 4, noise_bound: float = 14.0, weight_bound: float | None = None,
) -> float:
    """Bound on ‖computed step − exact step‖ of the logistic kernel, from the same input and normals.

    Terms A–E of the module derivation, for binary64 parameters.

    Parameters
    ----------
    n_features : int
        d, columns including the intercept.
    n_outputs : int
        k, rows of the parameter matrix (1 for the binary loss).
    batch_size : int
        Largest batch slot count b.
    step_size, l2, radius, data_norm : float
        η, λ, R and D.
    noise_scale : float
        Per-step noise standard deviation s (0 for no noise).
    softmax : bool
        Softmax (True) or binary logistic loss.
    tasks : int, default=4
        Tasks T that split each step's sums.
    noise_bound : float, default=14.0
        Largest magnitude Ξ of a generated normal.
    weight_bound : float or None, default=None
        None: every row's weight is 0 or 1, so multiplying a residual by it
        is exact. A float W: rows carry weights ``0 ≤ w ≤ W``; the weighted
        residual ``w r`` (one more rounding per entry) then errs by at most
        ``W (err_r + γ_2 (‖r‖ + err_r))`` (term B'), and the terms after it
        scale with W.

    Returns
    -------
    float
        e, in the Euclidean norm of all parameters.

    Examples
    --------
    A digits-sized softmax model (785 × 10, batch 64, R = √2/0.01):

    >>> e = logistic_step_rounding_error(65, 10, 64, 3.8, 0.01, 141.4, 1.0, 1e-6, softmax=True)
    >>> 1e-13 < e < 1e-10
    True
    """
    d = int(n_features)
    k = int(n_outputs)
    b = int(batch_size)
    if d < 1 or k < 1 or b < 1 or int(tasks) < 1:
        raise ValueError("n_features, n_outputs, batch_size and tasks must be integers >= 1")
    step_size = _positive("step_size", step_size)
    l2 = _non_negative("l2", l2)
    radius = _positive("radius", radius)
    data_norm = _positive("data_norm", data_norm)
    noise_scale = _non_negative("noise_scale", noise_scale)
    if step_size * l2 > 1:
        raise ValueError("the bound assumes step_size * l2 <= 1")
    u = UNIT_ROUNDOFF
    p = k * d
    tasks = int(tasks)
    radius_bar = radius * (1.0 + gamma(p + tasks + 3))
    # A, B: logits and residuals.
    logit_error = gamma(d) * radius_bar * data_norm
    if softmax:
        residual_lipschitz, residual_norm = 0.5, math.sqrt(2.0)
        logit_bound = (1.0 + gamma(d)) * radius_bar * data_norm
        evaluation = gamma(math.ceil(4.0 * logit_bound) + k + 8) + u
    else:
        residual_lipschitz, residual_norm = 0.25, 1.0
        evaluation = gamma(7)
    residual_error = residual_lipschitz * logit_error + evaluation
    if weight_bound is not None:
        # B': the weighted residual w r, computed from r with at most two more roundings.
        weight_bound = _non_negative("weight_bound", weight_bound)
        residual_error = weight_bound * (residual_error + gamma(2) * (residual_norm + residual_error))
        residual_norm = weight_bound * residual_norm
    # C: the batch gradient and its scale η/b.
    gradient_error = step_size * data_norm * (
        residual_error + (gamma(b + tasks) + 3.0 * u) * (residual_norm + residual_error))
    # D: the update; E: the projection.
    gradient_bound = (1.0 + gamma(b + tasks)) * (residual_norm + residual_error) * data_norm
    update_error = gamma(6) * (radius_bar + step_size * gradient_bound
                               + 2.0 * noise_scale * float(noise_bound) * math.sqrt(p))
    projection_error = gamma(p + tasks + 4) * radius_bar
    return float(gradient_error + update_error + projection_error)


def mlp_step_rounding_error(
    n_params: int, parameter_bound: float, step_size: float, gradient_bound: float, noise_std: float, *,
    noise_bound: float = 14.0,
) -> float:
    """Bound on the rounding of one MLP update outside its (clipped) gradient.

    For gradient clipping ``x ← (1 − γλ) x − γ clip_{C₁}(g) + σξ`` the gradient
    may be *any* vector of norm ≤ C₁ for the bound of Koloskova et al. to hold,
    so its rounding costs nothing beyond the clip's own (see
    :func:`clip_slack`); what remains is the update of term D of the module
    derivation: ``γ_6 (B + γ C₁ + 2 σ Ξ √p)`` with B a bound on ‖x‖.

    Parameters
    ----------
    n_params : int
        p.
    parameter_bound : float
        B ≥ ‖x‖ on the steps bounded.
    step_size, gradient_bound : float
        γ and C₁ (the norm of the clipped gradient).
    noise_std : float
        σ.
    noise_bound : float, default=14.0
        Ξ.

    Returns
    -------
    float

    Examples
    --------
    >>> mlp_step_rounding_error(1000, 10.0, 0.1, 1.0, 0.01) < 1e-13
    True
    """
    p = int(n_params)
    if p < 1:
        raise ValueError(f"n_params must be >= 1, got {n_params}")
    bound = _non_negative("parameter_bound", parameter_bound)
    step = _positive("step_size", step_size)
    clip = _non_negative("gradient_bound", gradient_bound)
    noise = _non_negative("noise_std", noise_std)
    return float(gamma(6) * (bound + step * clip + 2.0 * noise * float(noise_bound) * math.sqrt(p)))


def clip_slack(n_params: int, tasks: int = 1) -> float:
    """Relative amount by which a computed clip or projection can exceed its radius.

    The norm is a sum of p squares (``γ_{p+T}``) and a square root, the factor
    ``C/‖v‖`` and the products add 3u: ``‖clip_C(v)‖ ≤ C (1 + γ_{p+T+4})``.

    Examples
    --------
    >>> 0 < clip_slack(10) < 1e-14
    True
    """
    return gamma(int(n_params) + int(tasks) + 4)


def minimum_step_noise(parameter_bound: float, ulps: int = NOISE_FLOOR_ULPS) -> float:
    """Smallest per-step noise standard deviation the certificate accepts.

    ``ulps`` units in the last place of ``parameter_bound`` (the largest value a
    parameter can take: the ball's radius); see the last section of the module
    docstring for why.

    Parameters
    ----------
    parameter_bound : float
        > 0.
    ulps : int, default=2**20

    Returns
    -------
    float

    Examples
    --------
    >>> minimum_step_noise(1.0) == 2.0**20 * 2.0**-52
    True
    """
    parameter_bound = _positive("parameter_bound", parameter_bound)
    return float(ulps) * float(np.spacing(parameter_bound))
