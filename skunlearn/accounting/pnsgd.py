r"""Certified unlearning for strongly convex losses trained by projected noisy SGD.

The update (cyclic mini-batches fixed once from ``random_state``; one batch
holding all rows is full-batch PNGD, the Langevin case) is::

    θ ← Π_R( θ − η ∇F_B(θ) + sqrt(2 η σ²) ξ ),      ξ ~ N(0, I)

with ``F_B`` the batch's summed per-row loss divided by the batch's slot count
``b`` plus ``(λ/2)‖θ‖²``, and ``Π_R`` the projection on the L2 ball of radius R.

Derivation of the default bound
===============================

Assumptions: every per-row loss is convex, L-smooth and twice differentiable,
with gradient norm at most M on the ball; λ > 0 (λ = 0 is allowed, c = 1).

1. **Contraction.** ``G(θ) = θ − η ∇F_B(θ)`` has Jacobian ``I − η ∇²F_B``
   whose eigenvalues lie in ``[1 − η(L + λ), 1 − ηλ]``. By the mean value
   theorem G is c-Lipschitz with ``c = max(1 − ηλ, η(L + λ) − 1)``, and
   ``c = 1 − ηλ`` exactly when ``η ≤ 2 / (L + 2λ)``. ``Π_R`` is
   1-Lipschitz, so every step map (gradient step, then noise, then projection)
   is c-Lipschitz in its input. See :func:`step_contraction`.

2. **Removal as a zero-gradient slot.** The certifying procedure Ā trains on
   the retained rows only, with the *same* initial point, the same cyclic
   slots and the same noise; a removed row keeps its slot with zero gradient
   and the batch sum is still divided by b. Ā sees the positions of the
   removed rows (which any observer of the request knows) but not their
   content. At a step whose batch holds removed rows, the two step maps differ
   by at most ``η M / b`` per removed row (``2 η M / b`` for a replacement),
   everywhere. See :func:`per_row_shift`.

3. **Coupled distance.** Run both chains with identical noise. Their distance
   obeys ``d_t ≤ c d_{t−1} + s_t`` (step 1 and 2), and ``d_t ≤ 2R`` because
   both iterates lie in the ball. So the ∞-Wasserstein distance between the
   laws of the two models is at most the deterministic ``Z`` of
   :func:`coupled_distance`.

4. **Privacy amplification by iteration** [FMTT, Thm 22] bounds the Rényi
   divergence of the two final laws through the *shifted* divergence
   ``D_α^{(z)}(μ‖ν) = inf {D_α(μ'‖ν) : W∞(μ, μ') ≤ z}``:

   * a c-Lipschitz map φ with ``sup ‖φ − φ'‖ ≤ s`` gives
     ``D_α^{(cz+s)}(φ#μ ‖ φ'#ν) ≤ D_α^{(z)}(μ‖ν)`` [FMTT, Lemma 21];
   * Gaussian noise of variance ``s² = 2ησ²`` gives
     ``D_α^{(z−a)}(μ*N ‖ ν*N) ≤ D_α^{(z)}(μ‖ν) + α a² / (2 s²)``
     [FMTT, Lemma 20];
   * projection is post-processing.

   With shifts ``s_t`` incurred at steps ``t = 0 … E−1``, an initial distance
   ``z₀`` and amounts ``a_t ≥ 0`` spent from the noise of each step, the shift
   after step t is ``z_t = c z_{t−1} + s_t − a_t`` and must stay ``≥ 0`` and end
   at 0, so ``D_α ≤ α Σ a_t² / (2 s²)``. Contracting every quantity to the
   final step (``U'_t = Σ_{i≤t} c^{E−1−i} a_i``,
   ``S'_t = z₀ c^E + Σ_{i≤t} c^{E−1−i} s_i``, ``Δτ'_i = c^{2(E−1−i)}``), the
   cost is the energy ``Σ (ΔU'_i)² / Δτ'_i`` of a path from ``(0, 0)`` to
   ``(τ'_E, S'_{E−1})`` that stays below the non-decreasing staircase S'. The
   least-energy such path is the greatest convex minorant of the staircase's
   corners (taut string); :func:`pabi_rdp_coefficient` computes it exactly.

5. **The unlearning closed form.** After the last request the two runs apply
   *identical* maps, so the only shift is the initial ``Z`` of step 3. The
   minorant is a single segment and

       ε_α ≤ α Z² c^{2N} (1 − c²) / (2 s² (1 − c^{2N})),     s² = 2ησ²

   for N noisy steps (``→ α Z² / (2 s² N)`` as c → 1). For a *linear* loss
   under removal (the two runs' maps differ by a constant, the gradient of the
   removed row's term, and share the linear part ``(1 − ηλ) θ``) the two laws
   are Gaussians with equal covariance and this holds with equality. A
   quadratic loss does not give equality under removal: the removed row's
   Hessian term makes the two runs' linear maps, hence their covariances,
   differ. See :func:`unlearning_rdp_coefficient`.

6. **Rounding.** The kernels compute each step in floating point; the gap to
   the exact step is at most e (:mod:`skunlearn.accounting.floating_point`),
   which enters every bound above as a further shift ``2e`` at every step, for
   both runs, before and after the last request (argument ``per_step_shift``).

The default certificate (the estimators' ``certificate_``, computed by their
ledger) uses one bound, which is valid alone: (a) step 3 up to the last
request (the coupled distance, capped at 2R), then step 5 over the noisy
steps since. Step 4 over the whole history, (b), is valid too (no 2R cap,
but the learning-phase noise counts as well), so the minimum of (a) and (b)
is also a valid bound: :func:`removal_rdp_coefficient` returns that minimum,
and callers without a radius (exact arithmetic) may use it. The
certificate does not compute (b): its ledger keeps the forgotten rows' shifts
as one contracted distance, not their history, and (b) as stated assumes
noise at every step, which the default noise-free training
(``private_training=False``) does not add.

The same argument with ``z₀ = 0`` and the differing row's shifts gives the
*learning-phase* DP guarantee of the noisy training itself
(:func:`learning_rdp_coefficient`).

References
----------
.. [PNSGD] E. Chien, H. Wang, Z. Chen, P. Li. Certified Machine Unlearning via
   Noisy Stochastic Gradient Descent. NeurIPS 2024, arXiv:2403.17105.
.. [FMTT] V. Feldman, I. Mironov, K. Talwar, A. Thakurta. Privacy
   Amplification by Iteration. FOCS 2018, arXiv:1808.06651.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._checks import non_negative as _non_negative
from ._checks import positive as _positive

__all__ = [
    "coupled_distance",
    "cyclic_removal_distance",
    "learning_rdp_coefficient",
    "max_step_size",
    "pabi_rdp_coefficient",
    "per_row_shift",
    "published_pnsgd_distance",
    "published_pnsgd_rdp",
    "removal_rdp_coefficient",
    "single_removal_rdp_coefficient",
    "step_contraction",
    "unlearning_rdp_coefficient",
]

NEIGHBOURING_RELATIONS = ("removal", "replacement")


def _contraction(value):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"contraction must lie in [0, 1], got {value}")
    return value


def _steps(name, value):
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


def max_step_size(smoothness: float, strong_convexity: float) -> float:
    """Largest step η for which the gradient step contracts by ``1 − ηλ``.

    Step 1 of the module derivation: with per-row losses L-smooth and the
    objective λ-strongly convex, ``c = 1 − ηλ`` iff ``η ≤ 2 / (L + 2λ)``
    ([PNSGD], Lemma 2.6 uses the same condition).

    Parameters
    ----------
    smoothness : float
        L > 0, smoothness of the per-row loss (without the L2 term).
    strong_convexity : float
        λ ≥ 0, the L2 penalty.

    Returns
    -------
    float

    Examples
    --------
    >>> max_step_size(0.25, 0.125)
    4.0
    """
    smoothness = _positive("smoothness", smoothness)
    strong_convexity = _non_negative("strong_convexity", strong_convexity)
    return 2.0 / (smoothness + 2.0 * strong_convexity)


def step_contraction(step_size: float, smoothness: float, strong_convexity: float) -> float:
    """Lipschitz constant ``c = 1 − ηλ`` of one projected gradient step.

    Step 1 of the module derivation. Refuses step sizes above
    ``2 / (L + 2λ)``, where the constant would be ``η(L + λ) − 1`` instead.

    Parameters
    ----------
    step_size : float
        η > 0.
    smoothness : float
        L > 0.
    strong_convexity : float
        λ ≥ 0.

    Returns
    -------
    float
        c in (0, 1].

    Examples
    --------
    >>> step_contraction(1.0, 0.25, 0.1)
    0.9
    """
    step_size = _positive("step_size", step_size)
    limit = max_step_size(smoothness, strong_convexity)
    if step_size > limit * (1 + 1e-12):
        raise ValueError(
            f"step_size={step_size:.6g} is above 2/(L + 2*lambda)={limit:.6g}: "
            "the gradient step is then not (1 - step_size*lambda)-contractive"
        )
    return 1.0 - step_size * float(strong_convexity)


def per_row_shift(step_size: float, lipschitz: float, batch_size: int, relation: str = "removal") -> float:
    """Sup-distance between the step maps of two datasets differing in one row.

    Step 2 of the module derivation: one row's term in the batch gradient is
    ``∇ℓ(θ; x)/b`` with norm ≤ M/b, so removing it (zero-gradient slot) moves
    the step map by at most ``η M / b``; replacing it by at most ``2 η M / b``.

    Parameters
    ----------
    step_size : float
        η > 0.
    lipschitz : float
        M > 0, bound on a per-row loss gradient.
    batch_size : int
        Slot count b of the batch that holds the row.
    relation : {"removal", "replacement"}

    Returns
    -------
    float

    Examples
    --------
    >>> per_row_shift(2.0, 1.0, 4)
    0.5
    >>> per_row_shift(2.0, 1.0, 4, relation="replacement")
    1.0
    """
    if relation not in NEIGHBOURING_RELATIONS:
        raise ValueError(f"relation must be one of {NEIGHBOURING_RELATIONS}, got {relation!r}")
    step_size = _positive("step_size", step_size)
    lipschitz = _positive("lipschitz", lipschitz)
    batch_size = _steps("batch_size", batch_size)
    factor = 2.0 if relation == "replacement" else 1.0
    return factor * step_size * lipschitz / batch_size


def _event_arrays(shift_steps, shifts, n_steps):
    """Sorted unique steps with their summed shifts; validated."""
    steps = np.asarray(shift_steps, dtype=np.int64).ravel()
    amounts = np.broadcast_to(np.asarray(shifts, dtype=float), steps.shape).ravel()
    if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
        raise ValueError(f"shift steps must lie in [0, {n_steps}), got range [{steps.min()}, {steps.max()}]")
    if np.any(~np.isfinite(amounts)) or np.any(amounts < 0):
        raise ValueError("shifts must be finite and >= 0")
    unique, inverse = np.unique(steps, return_inverse=True)
    return unique, np.bincount(inverse, weights=amounts, minlength=unique.size)


def coupled_distance(
    shift_steps: ArrayLike, shifts: ArrayLike, n_steps: int, contraction: float, diameter: float = math.inf,
    initial_distance: float = 0.0, per_step_shift: float = 0.0,
) -> float:
    """Distance between two coupled projected noisy-SGD runs after ``n_steps``.

    Step 3 of the module derivation: ``d_t = min(c d_{t−1} + s_t, diameter)``
    with ``s_t`` the summed shifts of step t (0-based) and ``d_{−1}`` the
    initial distance.

    Parameters
    ----------
    shift_steps : array-like of int
        Step of each shift, in ``[0, n_steps)``; repeats add up.
    shifts : float or array-like of float
        Size of each shift (broadcast against ``shift_steps``).
    n_steps : int
        Steps run.
    contraction : float
        c in [0, 1].
    diameter : float, default=inf
        Cap on the distance (2R for two points in a ball of radius R).
    initial_distance : float, default=0
    per_step_shift : float, default=0
        A further shift incurred at every step (the rounding of both runs,
        :mod:`skunlearn.accounting.floating_point`).

    Returns
    -------
    float

    Examples
    --------
    Two shifts of 1, the first contracted twice by 0.5:

    >>> coupled_distance([0, 2], 1.0, 3, 0.5)
    1.25
    """
    n_steps = int(n_steps)
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    contraction = _contraction(contraction)
    steps, amounts = _event_arrays(shift_steps, shifts, max(n_steps, 1))
    initial_distance = min(_non_negative("initial_distance", initial_distance), diameter)
    per_step_shift = _non_negative("per_step_shift", per_step_shift)
    if n_steps == 0:
        return float(initial_distance)
    if contraction == 0.0:
        return float(min(amounts[steps == n_steps - 1].sum() + per_step_shift, diameter))
    # Work in units contracted to the end (multiply a distance after step t by c^(E-1-t)):
    # the capped recursion d = min(c d + s, D) then has the closed form
    #   d_end = U_last + min(0, min_t (D c^(E-1-t) - U_t)),  U = cumulative contracted shifts,
    # because the min commutes with the increasing affine maps that follow it. Between two
    # event steps the slack D c^(E-1-t) - U_t changes by c^(E-2-t) (D (1 - c) - f) >= 0 when the
    # per-step shift f <= D (1 - c), so its minimum lies at an event step; otherwise the cap is
    # dropped (a larger, still valid, distance).
    log_c = np.log(contraction)
    last = n_steps - 1
    contracted = amounts * np.exp((last - steps) * log_c)
    start = initial_distance * np.exp(n_steps * log_c)
    cumulative = start + np.cumsum(contracted) + per_step_shift * _contracted_count(steps, last, contraction, log_c)
    total = start + contracted.sum() + per_step_shift * _contracted_count(last, last, contraction, log_c)
    cap_holds = per_step_shift <= diameter * (1.0 - contraction)
    if np.isfinite(diameter) and cumulative.size and cap_holds:
        slack = np.min(diameter * np.exp((last - steps) * log_c) - cumulative)
        total += min(0.0, float(slack))
    elif np.isfinite(diameter) and cap_holds:
        total = min(total, diameter)
    return float(total)


def cyclic_removal_distance(
    batches: ArrayLike, shifts: ArrayLike, n_batches: int, n_steps: int, contraction: float,
) -> float:
    """Summed contracted shifts of rows that sat in cyclic batches until step ``n_steps``.

    Step 3 of the module derivation without the cap, in closed form: a row in
    batch j (0-based) of a cycle of P batches shifts the two runs by h at the
    steps ``j, j + P, …`` before ``n_steps``; contracted to the end that is
    ``h c^{E−1−t_last} (1 − c^{mP}) / (1 − c^P)`` for its m steps. O(1) per row,
    whatever the history's length, so a ledger can keep one number: after a
    request the forgotten rows are inert in both runs and their sum only
    contracts, ``Z ← Z c^{Δ} + (new rows)``.

    Parameters
    ----------
    batches : array-like of int
        Batch index of each row, in ``[0, n_batches)``.
    shifts : float or array-like of float
        Shift h of each row (``η M / b_j``).
    n_batches : int
        P, batches per epoch.
    n_steps : int
        E, steps run (the rows are active before it).
    contraction : float
        c in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    One row in batch 1 of 2, four steps (active at steps 1 and 3), c = 0.5:

    >>> cyclic_removal_distance([1], 1.0, 2, 4, 0.5)  # 0.5**2 + 1
    1.25
    """
    batches = np.asarray(batches, dtype=np.int64).ravel()
    shifts = np.broadcast_to(np.asarray(shifts, dtype=float), batches.shape)
    n_batches, n_steps = int(n_batches), int(n_steps)
    contraction = _contraction(contraction)
    if batches.size and (batches.min() < 0 or batches.max() >= n_batches):
        raise ValueError(f"batches must lie in [0, {n_batches})")
    counts = np.maximum(0, -(-(n_steps - batches) // n_batches))  # ceil((E - j) / P), 0 when E <= j
    active = counts > 0
    if not np.any(active):
        return 0.0
    counts, batches, shifts = counts[active], batches[active], shifts[active]
    last = batches + (counts - 1) * n_batches
    if contraction == 1.0:
        return float(np.sum(shifts * counts))
    if contraction == 0.0:
        return float(np.sum(shifts[last == n_steps - 1]))
    log_c = np.log(contraction)
    series = np.expm1(counts * n_batches * log_c) / np.expm1(n_batches * log_c)
    return float(np.sum(shifts * np.exp((n_steps - 1 - last) * log_c) * series))


def _contracted_count(knots, last, contraction, log_c):
    """``Σ_{i=0}^{k} c^{E−1−i}`` for each knot k (−1 gives 0): a unit shift at every step up to k, contracted."""
    knots = np.asarray(knots, dtype=float)
    if contraction == 1.0:
        return knots + 1.0
    return np.exp((last - knots) * log_c) * np.expm1((knots + 1) * log_c) / np.expm1(log_c)


def _contracted_time(knots, last, contraction, log_c):
    """τ'_k = Σ_{i≤k} c^{2(E−1−i)} = (c^{2(E−1−k)} − c^{2E}) / (1 − c²), vectorised over knots."""
    knots = np.asarray(knots, dtype=float)
    if contraction == 1.0:
        return knots + 1.0
    return np.exp(2.0 * (last - knots) * log_c) * np.expm1(2.0 * (knots + 1) * log_c) / np.expm1(2.0 * log_c)


def _geometric_sum(ratio, count):
    """``Σ_{k=0}^{count−1} ratio^k`` computed stably for ratio near 1."""
    if count <= 0:
        return 0.0
    if ratio == 1.0:
        return float(count)
    if ratio == 0.0:
        return 1.0
    return float(np.expm1(count * np.log(ratio)) / np.expm1(np.log(ratio)))


def unlearning_rdp_coefficient(
    distance: float, contraction: float, step_noise_variance: float, n_steps: int, per_step_shift: float = 0.0,
) -> float:
    """Rényi coefficient of N noisy c-Lipschitz steps from distance Z.

    Step 5 of the module derivation ([FMTT] Thm 22 with the shift spread
    optimally): ``ε_α ≤ α ρ`` with

        ρ = Z² c^{2N} (1 − c²) / (2 s² (1 − c^{2N}))  =  Z² / (2 s² Σ_{j=1}^{N} c^{−2j})

    With a shift f at every step as well (maps within f of each other, such as
    the rounding of both runs), the staircase of step 4 is concave after its
    first corner, so its convex minorant is still one segment, to the end level
    ``Z c^N + f (1 − c^N)/(1 − c)``:

        ρ = (Z c^N + f (1 − c^N)/(1 − c))² (1 − c²) / (2 s² (1 − c^{2N})),

    which tends to ``f² (1 + c) / (2 s² (1 − c))`` as N grows.

    Parameters
    ----------
    distance : float
        Z ≥ 0, ∞-Wasserstein distance between the two starting laws.
    contraction : float
        c in [0, 1].
    step_noise_variance : float
        s² > 0, variance of the Gaussian noise per step per coordinate
        (``2 η σ²`` for the update of this module).
    n_steps : int
        N ≥ 1.
    per_step_shift : float, default=0
        f ≥ 0.

    Returns
    -------
    float
        ρ.

    Examples
    --------
    With c = 1 the shift is spread evenly over the N steps, Z²/(2s²N), and a
    per-step shift adds to the distance, (Z + fN)²/(2s²N):

    >>> unlearning_rdp_coefficient(2.0, 1.0, 1.0, 4)
    0.5
    >>> unlearning_rdp_coefficient(2.0, 1.0, 1.0, 4, per_step_shift=0.5)
    2.0
    """
    distance = _non_negative("distance", distance)
    contraction = _contraction(contraction)
    step_noise_variance = _positive("step_noise_variance", step_noise_variance)
    n_steps = _steps("n_steps", n_steps)
    per_step_shift = _non_negative("per_step_shift", per_step_shift)
    if contraction == 0.0:
        return float(per_step_shift**2 / (2.0 * step_noise_variance))
    # Σ_{j=1}^{N} c^{-2j} = c^{-2N} Σ_{k=0}^{N-1} c^{2k}; in logs to avoid overflow.
    log_sum = -2.0 * n_steps * np.log(contraction) + np.log(_geometric_sum(contraction**2, n_steps))
    # ρ = (Z + f Σ_{j=1}^{N} c^{-j})² / (2 s² Σ_{j=1}^{N} c^{-2j}), each term scaled in logs.
    level = distance * np.exp(-0.5 * log_sum)
    if per_step_shift:
        level += per_step_shift * np.exp(
            -n_steps * np.log(contraction) + np.log(_geometric_sum(contraction, n_steps)) - 0.5 * log_sum)
    return float(level**2 / (2.0 * step_noise_variance))


def pabi_rdp_coefficient(
    shift_steps: ArrayLike, shifts: ArrayLike, n_steps: int, contraction: float, step_noise_variance: float,
    initial_distance: float = 0.0, per_step_shift: float = 0.0,
) -> float:
    """Exact optimum of privacy amplification by iteration for given shifts.

    Step 4 of the module derivation ([FMTT] Thm 22 with the shift schedule
    optimised): the least ``Σ a_t² / (2 s²)`` over schedules ``a_t ≥ 0`` that keep
    ``z_t = c z_{t−1} + s_t − a_t ≥ 0`` and end at ``z_{E−1} = 0``. It is the
    energy of the greatest convex minorant of the contracted cumulative shifts,
    computed here by a lower convex hull over the staircase's corners.

    Parameters
    ----------
    shift_steps : array-like of int
        Step (0-based) at which each shift is incurred; repeats add up.
    shifts : float or array-like of float
        Size of each shift.
    n_steps : int
        Total steps E, each followed by noise of variance ``step_noise_variance``.
    contraction : float
        c in [0, 1].
    step_noise_variance : float
        s² > 0.
    initial_distance : float, default=0
        z₀, the ∞-Wasserstein distance before step 0.
    per_step_shift : float, default=0
        A further shift f at every step. Between two event steps its part of
        the staircase has slopes ``f c^{−(E−1−i)}`` that fall with i (concave),
        so only the corners just before an event step, the start and the end
        can touch the minorant: the hull runs over those corners alone, with
        their levels raised by ``f Σ_{i≤k} c^{E−1−i}``.

    Returns
    -------
    float
        ρ with ``ε_α ≤ α ρ``.

    Examples
    --------
    One shift of 1 at the last of 4 steps can only be paid by that step's
    noise; at the first step it can be spread over all 4 (with c = 1):

    >>> pabi_rdp_coefficient([3], 1.0, 4, 1.0, 1.0)
    0.5
    >>> pabi_rdp_coefficient([0], 1.0, 4, 1.0, 1.0)
    0.125
    """
    n_steps = _steps("n_steps", n_steps)
    contraction = _contraction(contraction)
    step_noise_variance = _positive("step_noise_variance", step_noise_variance)
    initial_distance = _non_negative("initial_distance", initial_distance)
    per_step_shift = _non_negative("per_step_shift", per_step_shift)
    steps, amounts = _event_arrays(shift_steps, shifts, n_steps)
    if contraction == 0.0:
        # Everything is forgotten by the last map except the last step's own shift.
        last = (amounts[steps == n_steps - 1].sum() if steps.size else 0.0) + per_step_shift
        return float(last**2 / (2.0 * step_noise_variance))

    log_c = np.log(contraction)
    last = n_steps - 1
    contracted = amounts * np.exp((last - steps) * log_c)
    start_level = initial_distance * np.exp(n_steps * log_c)
    # Corners of the staircase S': the knot just before each jump, at the level
    # reached so far, then the end point, which the path must reach.
    levels = start_level + np.concatenate([[0.0], np.cumsum(contracted)])
    knots = np.concatenate([steps - 1, [last]])
    if per_step_shift:
        levels = levels + per_step_shift * _contracted_count(knots, last, contraction, log_c)
    keep = knots >= 0
    corner_tau = _contracted_time(knots[keep], last, contraction, log_c)
    points = [(0.0, 0.0)] + list(zip(corner_tau.tolist(), levels[keep].tolist()))

    hull: list[tuple[float, float]] = []
    for point in points:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # Drop the middle point if it lies on or above the chord to the new point.
            if (y2 - y1) * (point[0] - x1) >= (point[1] - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        hull.append(point)

    energy = 0.0
    for (x1, y1), (x2, y2) in zip(hull[:-1], hull[1:]):
        rise, run = y2 - y1, x2 - x1
        if rise <= 0.0:
            continue
        if run <= 0.0:
            return np.inf
        energy += rise * rise / run
    return float(energy / (2.0 * step_noise_variance))


def learning_rdp_coefficient(
    n_epochs: int, n_batches: int, step_size: float, lipschitz: float, last_batch_size: int, contraction: float,
    noise_std: float, relation: str = "removal", per_step_shift: float = 0.0,
) -> float:
    """Rényi-DP coefficient of T epochs of cyclic projected noisy SGD.

    The learning-phase guarantee against datasets differing in one row
    ([FMTT] Thm 22 applied as in step 4 of the module derivation, with
    ``z₀ = 0``: both runs start from the same initial point). The differing
    row sits in one batch per epoch. Moving its batch one step later can only
    raise the cost (a schedule for the later slot, shifted one step earlier,
    is feasible for the earlier slot), so the last batch of the epoch, also
    the smallest, is the worst case; the bound holds for every row.

    Parameters
    ----------
    n_epochs : int
        T ≥ 1.
    n_batches : int
        Batches per epoch.
    step_size, lipschitz : float
        η and M.
    last_batch_size : int
        Slot count of the last batch of the epoch.
    contraction : float
        c.
    noise_std : float
        σ; the per-step noise variance is ``2 η σ²``.
    relation : {"removal", "replacement"}
    per_step_shift : float, default=0
        A further shift at every step (the rounding of both runs).

    Returns
    -------
    float
        ρ with ``ε_α ≤ α ρ``.

    Examples
    --------
    One epoch of one batch (full batch, one step): the Gaussian mechanism with
    sensitivity ``η M / n`` and noise ``sqrt(2 η) σ``.

    >>> learning_rdp_coefficient(1, 1, 0.5, 1.0, 10, 0.9, 1.0)  # (0.05)²/(2·1)
    0.00125
    """
    n_epochs = _steps("n_epochs", n_epochs)
    n_batches = _steps("n_batches", n_batches)
    noise_std = _positive("noise_std", noise_std)
    shift = per_row_shift(step_size, lipschitz, last_batch_size, relation)
    steps = np.arange(1, n_epochs + 1) * n_batches - 1
    return pabi_rdp_coefficient(steps, shift, n_epochs * n_batches, contraction, 2.0 * step_size * noise_std**2,
                                per_step_shift=per_step_shift)


def published_pnsgd_distance(
    step_size: float, lipschitz: float, batch_size: int, n_samples: int, contraction: float, previous: float = 0.0,
    previous_epochs: float = 0,
) -> float:
    """The W∞ bound ``Z_B`` of [PNSGD] between stationary laws, and its sequential form.

    [PNSGD] Lemma 3.3 / Corollary 3.7: ``Z_B = 2 η M / (b (1 − c^{n/b}))``;
    for sequential requests (Theorem 3.8) ``Z_s = Z_{s−1} c^{K_{s−1} n/b} + Z_B``.
    Assumes the learning chain reached its stationary law and treats a deletion
    as a replacement.

    Parameters
    ----------
    step_size, lipschitz : float
        η and M.
    batch_size, n_samples : int
        b and n.
    contraction : float
        c < 1.
    previous : float, default=0
        ``Z_{s−1}`` of the previous request (0 for the first).
    previous_epochs : int, default=0
        ``K_{s−1}``, unlearning epochs run after the previous request.

    Returns
    -------
    float

    Examples
    --------
    >>> round(published_pnsgd_distance(1.0, 1.0, 1, 1, 0.5), 6)
    4.0
    """
    contraction = _contraction(contraction)
    if contraction >= 1.0:
        raise ValueError("the published PNSGD bound needs contraction < 1 (strong convexity > 0)")
    period = n_samples / batch_size
    z_b = 2.0 * step_size * lipschitz / (batch_size * (1.0 - contraction**period))
    return float(previous * contraction ** (previous_epochs * period) + z_b)


def published_pnsgd_rdp(
    distance: float, step_size: float, noise_std: float, contraction: float, n_samples: int, batch_size: int,
    unlearn_epochs: float, *, radius: float | None = None, train_epochs: float | None = None,
    per_step_shift: float = 0.0,
) -> Callable[[ArrayLike], np.ndarray]:
    """The published [PNSGD] Rényi curve after K unlearning epochs.

    Without ``radius``: [PNSGD] Theorem 3.2 / Corollary 3.7,
    ``ε_α ≤ α Z² c^{2Kn/b} / (2 η σ²)``.
    With ``radius`` and ``train_epochs`` T (the finite-training form of the
    authors' released code): weak triangle inequality [Mironov 2017, Prop 11]
    ``ε_α ≤ ((α − ½)/(α − 1)) [ε₁(2α) + ε₂(2α)]`` with
    ``ε₁(α) = α (2R)² c^{2Tn/b} / (2ησ²)`` and
    ``ε₂(α) = α (Z + 2R c^{Tn/b})² c^{2Kn/b} / (2ησ²)``.

    With ``per_step_shift`` f (no ``radius``), the shift the K epochs' N steps
    add is carried to the end and paid, like Z, by the last step's noise:
    ``ε_α ≤ α (Z c^N + f (1 − c^N)/(1 − c))² / (2ησ²)``.

    Returns
    -------
    callable
        Vectorised ``α ↦ ε_α``.

    Examples
    --------
    >>> curve = published_pnsgd_rdp(1.0, 0.5, 1.0, 0.5, 4, 4, 1)
    >>> float(curve(2.0))  # 2·1·0.25/(2·0.5·1)
    0.5
    """
    step_size = _positive("step_size", step_size)
    noise_std = _positive("noise_std", noise_std)
    contraction = _contraction(contraction)
    period = n_samples / batch_size
    scale = 1.0 / (2.0 * step_size * noise_std**2)
    decay = contraction ** (2.0 * unlearn_epochs * period)
    if radius is None:
        n_steps = unlearn_epochs * period
        carried = per_step_shift * (n_steps if contraction == 1.0 else -np.expm1(n_steps * np.log(contraction))
                                    / (1.0 - contraction)) if per_step_shift else 0.0
        level = distance * np.sqrt(decay) + carried
        return lambda orders: np.asarray(orders, dtype=float) * level**2 * scale
    if per_step_shift:
        raise ValueError("per_step_shift is only supported without radius")
    if train_epochs is None:
        raise ValueError("train_epochs is needed with radius")
    train_decay = contraction ** (train_epochs * period)
    eps1 = (2.0 * radius) ** 2 * train_decay**2 * scale
    eps2 = (distance + 2.0 * radius * train_decay) ** 2 * decay * scale

    def curve(orders):
        orders = np.asarray(orders, dtype=float)
        return (orders - 0.5) / (orders - 1.0) * 2.0 * orders * (eps1 + eps2)

    return curve


def removal_rdp_coefficient(
    shift_steps: ArrayLike, shifts: ArrayLike, request_step: int, n_steps: int, contraction: float,
    step_noise_variance: float, diameter: float, per_step_shift: float = 0.0,
) -> float:
    """The better of two valid PABI bounds on forgetting rows: min((a), (b)).

    The module derivation: (a) the coupled distance ``Z`` of step 3
    (capped at the diameter 2R) up to ``request_step``, the first step after
    the last request, followed by the closed form of step 5 over the
    ``n_steps − request_step`` identical steps since; (b) the exact PABI of
    step 4 over the whole history (every step's noise counts, no cap). Both
    bound the same Rényi divergence, so their minimum does too. The
    estimators' certificate computes (a) alone, which is valid by itself
    (see the module docstring); this function, with (b) as well, serves the
    calculator and comparisons, and can only be smaller.

    Parameters
    ----------
    shift_steps : array-like of int
        Steps (0-based) at which a now-removed row was still in a batch.
    shifts : float or array-like of float
        The matching per-row shifts ``η M / b``.
    request_step : int
        Steps run before the unlearning phase of the last request began;
        every shift lies before it.
    n_steps : int
        Steps run in all (``> request_step`` for (a) to apply).
    contraction : float
        c.
    step_noise_variance : float
        s² = 2ησ².
    diameter : float
        2R.
    per_step_shift : float, default=0
        A further shift at every step, before and after the request (the
        rounding of both runs, :mod:`skunlearn.accounting.floating_point`).

    Returns
    -------
    float
        ρ with ``ε_α ≤ α ρ``.

    Examples
    --------
    A shift of 0.5 at step 0, then 4 identical steps with c = 1: the cap
    does not bind and both bounds spread 0.5 over the 5 steps.

    >>> removal_rdp_coefficient([0], 0.5, 1, 5, 1.0, 1.0, 10.0)
    0.025
    """
    n_steps = _steps("n_steps", n_steps)
    request_step = int(request_step)
    if not 0 <= request_step <= n_steps:
        raise ValueError(f"request_step must lie in [0, n_steps], got {request_step}")
    steps = np.asarray(shift_steps, dtype=np.int64).ravel()
    if steps.size and steps.max() >= request_step:
        raise ValueError("every shift must come before request_step")
    whole_history = pabi_rdp_coefficient(steps, shifts, n_steps, contraction, step_noise_variance,
                                         per_step_shift=per_step_shift)
    if request_step == n_steps:
        return whole_history
    distance = coupled_distance(steps, shifts, request_step, contraction, diameter,
                                per_step_shift=per_step_shift) if request_step else 0.0
    after_request = unlearning_rdp_coefficient(distance, contraction, step_noise_variance, n_steps - request_step,
                                               per_step_shift=per_step_shift)
    return min(whole_history, after_request)


def single_removal_rdp_coefficient(
    n_train_epochs: int, n_unlearn_epochs: int, n_batches: int, step_size: float, lipschitz: float,
    last_batch_size: int, contraction: float, noise_std: float, diameter: float = math.inf, per_step_shift: float = 0.0,
) -> float:
    """Worst-case ρ of forgetting one row after T epochs with K unlearning epochs.

    :func:`removal_rdp_coefficient` for a single removed row in the last batch
    of every epoch, the slot with the largest shift and the least noise after
    its last touch (the argument of :func:`learning_rdp_coefficient`): one
    request for one row, the case noise calibration targets. The estimators
    calibrate on the same probe row with their ledger's bound, (a) of the
    module docstring alone; this function takes min((a), (b)) (exact
    arithmetic, no radius: the rounding bound needs a finite R).

    Parameters
    ----------
    n_train_epochs, n_unlearn_epochs : int
        T ≥ 1 and K ≥ 1.
    n_batches : int
        Batches per epoch.
    step_size, lipschitz : float
        η and M.
    last_batch_size : int
        Slot count of the last batch.
    contraction : float
        c.
    noise_std : float
        σ; the per-step noise variance is ``2 η σ²``.
    diameter : float, default=inf
        2R.
    per_step_shift : float, default=0
        A further shift at every step (the rounding of both runs).

    Returns
    -------
    float

    Examples
    --------
    >>> single_removal_rdp_coefficient(1, 1, 1, 1.0, 1.0, 10, 1.0, 1.0)  # 0.1 over 2 steps
    0.00125
    """
    n_train_epochs = _steps("n_train_epochs", n_train_epochs)
    n_unlearn_epochs = _steps("n_unlearn_epochs", n_unlearn_epochs)
    n_batches = _steps("n_batches", n_batches)
    noise_std = _positive("noise_std", noise_std)
    shift = per_row_shift(step_size, lipschitz, last_batch_size)
    steps = np.arange(1, n_train_epochs + 1) * n_batches - 1
    return removal_rdp_coefficient(
        steps, shift, n_train_epochs * n_batches, (n_train_epochs + n_unlearn_epochs) * n_batches,
        contraction, 2.0 * step_size * noise_std**2, diameter, per_step_shift,
    )
