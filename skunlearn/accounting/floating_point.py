r"""What the certificate owes to floating-point arithmetic.

The bounds of :mod:`~skunlearn.accounting.pnsgd` and
:mod:`~skunlearn.accounting.post_processing` are proofs about real numbers.
The kernels compute with IEEE-754 binary64 parameters (round to nearest, unit
roundoff ``u = 2⁻⁵³``); the data may be binary32, which converts to binary64
exactly. This module bounds the gap between one step as the kernel computes
it and the exact step, so that the gap can be charged to the certificate, and
sets the smallest noise the certificate accepts.

Derivation (the logistic kernel of ``skunlearn._backends.numba.logistic_dense``)
================================================================================

Notation: ``γ_n = n u / (1 − n u)`` [Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., Lemma 3.1]; a sum of n products computed in
*any* order, with or without fused multiply-adds, is within ``γ_n Σ |a_i b_i|``
of the exact sum [Higham, eq. (3.5) and §3.1]. That covers every BLAS call and
every blocked or threaded accumulation, whatever order it picks. ``p = k d``
parameters (``k`` outputs, ``d`` columns with the intercept), batch of at
most ``b`` slots, rows ``‖x‖ ≤ D``, input parameters ``‖θ‖ ≤ R̄`` with
``R̄ = R (1 + γ_{p+T+3})`` (a float projection can leave the norm a few
roundings above R; T is the number of tasks of the kernel), per-step noise
scale ``s`` and exact N(0, 1) normals ξ (the section on the float output law
says how the kernels realise them).

The exact step from the same input θ and the same normals ξ is
``Π_R((1 − ηλ) θ − (η/b) Σ_i r_i(θ) x_iᵀ + s ξ)`` with the residual
``r_i = p(θ x_i) − e_{y_i}`` (softmax; ``σ(θ·x_i) − y_i`` for the binary loss).

A. *Logits.* ``|z̃_ik − z_ik| ≤ γ_d Σ_j |θ_kj||x_ij|``, so by Cauchy–Schwarz
   ``‖z̃_i − z_i‖ ≤ γ_d R̄ D``.
B. *Residuals.* The softmax is ½-Lipschitz (its Jacobian ``diag p − p pᵀ`` has
   norm ≤ ½; the sigmoid's derivative is ≤ ¼): the logit error moves the
   residual by ``L_r γ_d R̄ D``. Evaluating it at z̃ adds relative errors:
   ``z_k − max z`` (≤ ``2 Z u`` in the exponent, ``Z = (1 + γ_d) R̄ D``), ``exp``
   (the kernels' own ``exp_nonpositive`` of ``skunlearn._backends._elementary``,
   +, × and ``ldexp`` only, within :data:`EXP_ERROR_ULPS` = 8 u relative, its
   bound derived in its docstring and checked against mpmath, plus 2⁻¹⁰⁷⁵
   absolute for a subnormal result), the sum of k terms (``γ_{k−1}``), the
   division and the subtraction of 1: in all
   ``ε_r = L_r γ_d R̄ D + γ_{⌈4Z⌉ + k + 14} + u + k 2⁻¹⁰⁷⁰`` (binary:
   ``γ_13 + 2⁻¹⁰⁷⁰``).

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
D. *Update.* ``(1 − ηλ) θ − g`` rounds the shrink factor (2u), two products
   and a sum: ``e_U = γ_6 (R̄ + η M̄)`` with ``M̄ = (1 + γ_{b+T})(M_r + ε_r) D``
   (γ_6 keeps room). The noise is then added on the grid Λ, exactly, between
   two roundings to Λ of ``√p Λ / 2`` each (the float output law below): with
   them ``e_U = γ_6 (R̄ + η M̄) + √p Λ`` (``grid=Λ``). Without the grid (a float
   noise ``s Ξ``-bounded, ``grid=0``, kept for comparison only) the sum would
   add ``γ_6 · 2 s Ξ √p``.
E. *Projection.* The norm is a sum of p squares (``γ_{p+T}``) and a square
   root; the factor ``R/‖v‖`` and its products add 3u; when the rounded norm
   and the exact one fall on different sides of R the two results differ by at
   most the norm error. ``Π`` is 1-Lipschitz, so the errors before it pass
   through unchanged: ``e_P = γ_{p+T+4} R̄``.

The step error is ``e = e_G + e_U + e_P`` (:func:`logistic_step_rounding_error`).

The CSR kernel of ``skunlearn._backends.numba.logistic_sparse`` fits the same model,
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

The float output law: noise on a grid
=====================================

The argument above treats the addition of the noise as the addition of an
exact Gaussian draw. A float kernel that computes ``fl(v + s ξ̂)``, with ξ̂ a
generator's float, does not: ξ̂ lives on a lattice, a coordinate that is
exactly 0 before the noise lands on that lattice while any other value spreads
over all floats, and a test on the output's bits tells the two apart (issue
19; Mironov 2012 showed the same leak for the Laplace mechanism, Jin et al.
2022 carried it to DP libraries). The kernels therefore add the noise on a
grid: every noisy coordinate is computed as

    ``x = RN_Λ(ṽ) + Λ K``,  ``K = RN(σ' ξ)``,  ``σ' = s_f / Λ``,

where ṽ is the computed pre-noise value, Λ a power of two (:func:`noise_grid`),
``RN_Λ`` the rounding to the nearest multiple of Λ, s_f the kernel's noise
scale (:func:`kernel_noise_scale`, never below the s of the theory) and K an
integer drawn by the sampler of ``skunlearn._backends._grid_noise``. That
sampler returns exactly ``RN(σ' ξ)`` for an exact N(0, 1) variable ξ except on
a failure event of probability at most τ per draw
(:func:`grid_noise_failure_probability`). Off the failure event:

1. *The output is a function of an exactly smoothed value.* ``RN_Λ(ṽ)`` is a
   multiple of Λ, so ``RN_Λ(ṽ) + Λ RN(σ' ξ) = RN_Λ(RN_Λ(ṽ) + s_f ξ)``; every
   operation is exact in binary64 as long as ``|RN_Λ(ṽ)| + |Λ K| ≤ 2⁵³ Λ``,
   which :func:`noise_grid` guarantees from a public bound B on ``|ṽ|`` when
   ``|ξ| ≤ 20`` (the event ``|ξ| > 20`` is part of the failure event).
2. *The step is the exact step up to a charged shift.* Write
   ``s_f ξ = s ξ₁ + (s_f² − s²)^{1/2} ξ₂`` in law with ξ₁, ξ₂ independent. The
   step is then: the deterministic map ``θ ↦ RN_Λ(ṽ(θ))``, within
   ``e_G + e_U + √p Λ / 2`` of the exact pre-noise map (terms C, D and the
   grid rounding); the exact Gaussian smoothing ``+ s ξ₁``; and a random map
   ``y ↦ Π̃(RN_Λ(y + (s_f² − s²)^{1/2} ξ₂))`` that is the same for both runs
   and moves any two points by at most their distance plus ``√p Λ / 2 + e_P``
   (the same ξ₂ couples the runs; data processing holds for any Markov kernel).
   So the computed runs obey the shifted-divergence recursion with the shift
   ``2e`` per step, ``e = e_G + e_U + √p Λ + e_P``
   (:func:`logistic_step_rounding_error` with ``grid=Λ``), exactly as in real
   arithmetic: no assumption on the output's bits is left.
3. *The failure event.* If each run's law is within total variation β of its
   ideal (the chain with exact draws), an (ε, δ) bound between the ideal runs
   gives ``P(M ∈ S) ≤ e^ε P(M' ∈ S) + δ + (1 + e^ε) β`` between the machines,
   in both directions. With D noisy draws in a run, ``β ≤ D τ``
   (:func:`grid_failure_delta`).

The cost: Λ is at most ``s · 2⁻²⁴`` (or ``B · 2⁻⁵²`` when the noise is smaller
than that), so the grid adds ``√p Λ ≤ √p s 2⁻²⁴`` to e, and τ ≈ 2⁻⁶⁸ per draw
at ``σ' ≈ 2²⁵``: at 2,000 × 20 (10⁷ draws in a fit and a request) β ≈ 10⁻¹³;
at 60,000 × 784 with 10 classes (7.4·10⁸ draws for 100 epochs) β ≈ 3·10⁻¹²,
both far below δ. The MLP kernels use the same grid (their bounds of
:mod:`~skunlearn.accounting.post_processing` allow any map before the clip, so
``RN_Λ`` enters C₁ or C₂ as in :func:`mlp_grid_radius`).

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

import functools
import math

import numpy as np

from ._checks import non_negative as _non_negative
from ._checks import positive as _positive

__all__ = [
    "ARITHMETIC_MODEL",
    "EXP_ERROR_ULPS",
    "GRID_NOISE_BITS",
    "NOISE_FLOOR_ULPS",
    "UNIT_ROUNDOFF",
    "clip_slack",
    "failure_epsilon_cap",
    "gamma",
    "grid_failure_delta",
    "grid_noise_failure_probability",
    "kernel_noise_scale",
    "logistic_step_rounding_error",
    "minimum_step_noise",
    "mlp_step_rounding_error",
    "noise_grid",
]

#: Unit roundoff of binary64, round to nearest.
UNIT_ROUNDOFF = 2.0**-53

#: The per-step noise is at least this many units in the last place of the largest parameter.
NOISE_FLOOR_ULPS = 2**20

#: Relative error bound, in units of u, of the kernels' exp (``skunlearn._backends._elementary.exp_nonpositive``).
EXP_ERROR_ULPS = 8

#: log₂ of the smallest noise-to-grid ratio ``σ' = s / Λ`` the kernels aim for (:func:`noise_grid`).
GRID_NOISE_BITS = 24

#: What every certificate states about the arithmetic it covers.
ARITHMETIC_MODEL = (
    "binary64 parameters, round to nearest; every kernel step's rounding (products, sums, the kernels' own exp "
    "within 8 ulps, update, projection, the noise grid) bounded a priori and charged as a shift of 2e per step to both runs; each noisy "
    "coordinate is RN_grid(v) + grid * RN(s xi / grid) with xi an exact N(0, 1) draw of a ziggurat decided in "
    "interval arithmetic on ChaCha20 bits, its failure probability charged to delta "
    "(skunlearn.accounting.floating_point)"
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
    grid: float = 0.0,
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
    grid : float, default=0.0
        Λ > 0: the noise is added on the grid (module docstring, "The float
        output law"), exactly, after rounding the pre-noise value to Λ and
        before rounding the sum to Λ: the update term D loses its noise part
        and gains ``√p Λ``. 0: the noise ``s ξ`` is added in binary64 (the
        term D as written).

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
        # exp within EXP_ERROR_ULPS = 8 u (6 more roundings than a correctly rounded exp's 2).
        evaluation = gamma(math.ceil(4.0 * logit_bound) + k + 8 + EXP_ERROR_ULPS - 2) + u + k * 2.0**-1070
    else:
        residual_lipschitz, residual_norm = 0.25, 1.0
        evaluation = gamma(7 + EXP_ERROR_ULPS - 2) + 2.0**-1070
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
    grid = _non_negative("grid", grid)
    if grid > 0:  # the noise is added exactly on the grid; the two roundings to it cost √p Λ / 2 each
        update_error = gamma(6) * (radius_bar + step_size * gradient_bound) + math.sqrt(p) * grid
    else:
        update_error = gamma(6) * (radius_bar + step_size * gradient_bound
                                   + 2.0 * noise_scale * float(noise_bound) * math.sqrt(p))
    projection_error = gamma(p + tasks + 4) * radius_bar
    return float(gradient_error + update_error + projection_error)


def mlp_step_rounding_error(
    n_params: int, parameter_bound: float, step_size: float, gradient_bound: float, noise_std: float, *,
    noise_bound: float = 14.0, grid: float = 0.0,
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
    grid : float, default=0.0
        Λ > 0: the noise is added exactly on the grid; the noise term is then
        replaced by the two roundings to Λ, ``√p Λ`` (see
        :func:`logistic_step_rounding_error`).

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
    grid = _non_negative("grid", grid)
    if grid > 0:
        return float(gamma(6) * (bound + step * clip) + math.sqrt(p) * grid)
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
    """Smallest per-step noise standard deviation the estimators accept: a usefulness floor.

    ``ulps`` units in the last place of ``parameter_bound`` (the largest value a
    parameter can take: the ball's radius). Soundness does not need it — every
    rounding, the grid's included, is charged — but below it the grid is set
    by the parameters' range (``Λ ≥ B 2⁻⁵²``, :func:`noise_grid`), not by the
    noise, and the rounding it charges is a sizeable part of the noise: the ε
    floor it sets would defeat any useful target.

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


def _ceil_log2(value):
    """⌈log₂ value⌉ for a float > 0, exactly (from its binary exponent)."""
    mantissa, exponent = math.frexp(value)
    return exponent - 1 if mantissa == 0.5 else exponent


def _floor_log2(value):
    """⌊log₂ value⌋ for a float > 0, exactly."""
    return math.frexp(value)[1] - 1


def noise_grid(value_bound: float, noise_scale: float) -> float:
    r"""The grid Λ of the noisy kernels: a power of two chosen from public bounds.

    ``Λ = max(2^(⌈log₂ B⌉ − 52), 2^(⌊log₂ s⌋ − 24))`` (:data:`GRID_NOISE_BITS`
    = 24), with B a bound on every pre-noise coordinate plus ``21 s``. Then
    ``2⁵² Λ ≥ B`` and ``Λ ≤ B``, so ``|RN_Λ(ṽ)| + |Λ K| ≤ 2⁵³ Λ`` for
    ``|ṽ| + 21 s ≤ B`` and ``|ξ| ≤ 20``: the grid sum of the module docstring
    (item 1) is exact. The second term keeps ``σ' = s / Λ`` below 2²⁵, where
    the sampler's failure probability is about 2⁻⁶⁸ per draw, while the grid
    costs at most ``√p s 2⁻²⁴`` of rounding.

    Parameters
    ----------
    value_bound : float
        B > 0: ``max |ṽ_i| + 21 s`` or more.
    noise_scale : float
        s > 0, the per-step noise standard deviation.

    Returns
    -------
    float
        Λ.

    Examples
    --------
    >>> noise_grid(200.0, 1e-3) == 2.0**-34    # 2^-10 * 2^-24 beats 2^(8 - 52)
    True
    >>> noise_grid(2.0**40, 1.0) == 2.0**-12   # the range decides
    True
    """
    value_bound = _positive("value_bound", value_bound)
    noise_scale = _positive("noise_scale", noise_scale)
    if not math.isfinite(value_bound):
        raise ValueError("value_bound must be finite")
    return max(2.0 ** (_ceil_log2(value_bound) - 52), 2.0 ** (_floor_log2(noise_scale) - GRID_NOISE_BITS))


def kernel_noise_scale(step_size: float, noise_std: float) -> float:
    """The kernel's per-step noise scale s_f ≥ ``sqrt(2η) σ`` (exactly), as item 2 of the module docstring needs.

    ``fl(fl(sqrt(2η)) σ)`` is within ``(1 + u)²`` of ``sqrt(2η) σ`` (2η is
    exact); multiplying by ``1 + 2⁻⁵⁰`` (one more rounding) puts the result
    above it: ``(1 − u)³ (1 + 8u) > 1``.

    Examples
    --------
    >>> import math
    >>> kernel_noise_scale(0.5, 0.1) > 0.1
    True
    >>> kernel_noise_scale(0.5, 0.1) / 0.1 - 1 < 2.0**-49
    True
    """
    step_size = _positive("step_size", step_size)
    noise_std = _non_negative("noise_std", noise_std)
    return math.sqrt(2.0 * step_size) * noise_std * (1.0 + 2.0**-50)


@functools.lru_cache(maxsize=256)  # a pure function of its floats; a request reads it several times
def grid_noise_failure_probability(
    scale: float, *, max_attempts: int = 12, max_tail_rounds: int = 24, rejection: float = 0.0056,
    tail_rejection: float = 0.08, widest_layer: float = 4.0,
) -> float:
    r"""τ: the probability that one grid-noise draw is a *failure* (its K may differ from ``RN(σ' ξ)``).

    The sampler of ``skunlearn._backends._grid_noise`` decides every test of
    the ideal ziggurat (Marsaglia & Tsang 2000, 256 layers, exact uniforms)
    from enclosing intervals and fails only when an enclosure cannot decide.
    A union bound over its attempts (attempt a is reached with probability
    at most ``q^a``, q = ``rejection`` the ziggurat's rejection rate) of:

    * the fast-accept threshold undecided after 106 bits of U: ``2⁻¹⁰⁶``;
    * a wedge test undecided: the left side is uniform over an interval of
      length ≥ 1.3·10⁻³ and both sides are enclosed within 2⁻⁹⁰, so ``2⁻⁸⁰``;
    * the tail (layer 0, probability 1/256 per attempt), per round: U₁ or U₂
      zero after 106 bits (``2⁻¹⁰⁵``), the acceptance test undecided
      (``2⁻⁸⁶``); at most ``max_tail_rounds`` rounds
      (``tail_rejection^max_tail_rounds`` to exceed them); its final rounding
      ``≤ σ' (20 · 2⁻¹⁰⁶ + 2⁻⁸⁵)``;

    plus the final rounding of an accepted layer value, which fails only when a
    half-integer lies within 2w of ``σ' ξ``, ``w ≤ σ' (2⁻¹⁰⁶ x_max + 2⁻¹⁰⁰ · 20)``
    for ``|ξ| ≤ 20``: at most ``4 w (1 + 1/(σ'√(2π)))`` (a unimodal density
    summed over unit cells), plus ``P(|ξ| > 20)``; and more than
    ``max_attempts`` attempts, ``q^max_attempts``.

    Parameters
    ----------
    scale : float
        σ' = s / Λ > 0.
    max_attempts, max_tail_rounds : int
        The sampler's limits (``MAX_ATTEMPTS``, ``MAX_TAIL_ROUNDS``).
    rejection, tail_rejection : float
        Upper bounds on the ziggurat's rejection rate per attempt (0.0054 for
        256 layers) and the tail method's per round (0.073 at r = 3.6542).
    widest_layer : float
        Bound on the layers' widths x_L (x₀ = v / f(r) ≈ 3.91).

    Returns
    -------
    float

    Examples
    --------
    >>> tau = grid_noise_failure_probability(2.0**25)
    >>> 2.0**-72 < tau < 2.0**-64
    True
    """
    scale = _positive("scale", scale)
    from scipy import special

    reached = sum(float(rejection) ** a for a in range(int(max_attempts)))  # expected attempts, bounded
    tail_round = 2.0**-105 + 2.0**-86
    tail = (int(max_tail_rounds) * tail_round + float(tail_rejection) ** int(max_tail_rounds)
            + scale * (20.0 * 2.0**-106 + 2.0**-85)) / 256.0
    per_attempt = 2.0**-106 + 2.0**-80 + tail
    width = scale * (2.0**-106 * float(widest_layer) + 2.0**-100 * 20.0)
    rounding = 4.0 * width * (1.0 + 1.0 / (scale * math.sqrt(2.0 * math.pi))) + float(special.erfc(20.0 / math.sqrt(2.0)))
    return float(reached * per_attempt + rounding + float(rejection) ** int(max_attempts))


def grid_failure_delta(epsilon: float, draws: float, scale: float) -> float:
    """``(1 + e^ε) τ D``: what D grid-noise draws per run add to δ (item 3 of the module docstring).

    Examples
    --------
    >>> grid_failure_delta(1.0, 1e9, 2.0**25) < 1e-10
    True
    >>> grid_failure_delta(1.0, 0, 2.0**25)
    0.0
    """
    draws = _non_negative("draws", draws)
    if draws == 0:
        return 0.0
    epsilon = _non_negative("epsilon", epsilon)
    return float((1.0 + math.exp(min(epsilon, 700.0))) * draws * grid_noise_failure_probability(scale))


def failure_epsilon_cap(delta: float, draws: float, scale: float, *, share: float = 0.25) -> float:
    """The largest ε at which D draws' failure share ``(1 + e^ε) τ D`` stays within ``share · δ``.

    The failure share grows like ``e^ε``: a target ε near ``log(δ / (τ D))``
    (about 11 at δ = 1e-6, 10⁹ draws and σ' ≈ 2²⁵; 21 at 10⁵ draws) cannot be
    met at δ. A certificate
    may claim a *smaller* ε than its target — a stronger statement — so the
    ledgers certify ``min(ε_target, cap)`` instead of refusing a large target.

    Examples
    --------
    >>> import math
    >>> cap = failure_epsilon_cap(1e-6, 1e9, 2.0**25)
    >>> 9 < cap < 13
    True
    >>> grid_failure_delta(cap, 1e9, 2.0**25) <= 0.25e-6 * (1 + 1e-12)
    True
    >>> failure_epsilon_cap(1e-6, 0, 2.0**25)
    inf
    """
    delta = _positive("delta", delta)
    draws = _non_negative("draws", draws)
    if draws == 0:
        return math.inf
    ratio = float(share) * delta / (draws * grid_noise_failure_probability(scale))
    return math.log(ratio - 1.0) if ratio > 2.0 else 0.0
