r"""Defaults chosen by a rule from public quantities, never from the data's values.

The free choices of :class:`~skunlearn.NoisyLogisticRegression` trade the bias
of the L2 penalty λ against the noise the certificate needs. Anything computed
from the training rows' *values* would be a function of the rows to forget, so
the rule reads only what is public: the number of rows n, the parameter count
p = k (d + 1) (k outputs, d features and the intercept), the target (ε, δ) and
the epoch budgets.

The trade-off (rows scaled to norm ≤ 1, so the loss is M-Lipschitz and
L-smooth with M, L ≤ √2, ½):

* **Noise.** A single-row request must be paid for by the Gaussian noise of the
  noisy epochs after it. The two coupled runs are at most ``Z ≈ M / (λ n)``
  apart when the request arrives (the sensitivity of λ-strongly convex ERM,
  step 3 of :mod:`skunlearn.accounting.pnsgd`), and spreading that shift over
  the noisy steps costs ``ρ = Z² / (2 s² N)`` (step 5), so the noise the model
  accumulates over those steps, ``s² N`` per coordinate, is ``Z² / (2ρ)``
  whatever the epoch budget. Its expected excess risk is about
  ``(L/2) p Z² / (2ρ) = L p M² / (4 ρ λ² n²)``.
* **Bias.** The penalty moves the optimum, at an excess risk of about
  ``(λ/2) ‖θ*‖²``.

Minimising the sum over λ gives ``λ³ ∝ L M² p / (ρ n² ‖θ*‖²)``. The norm of the
unregularised solution is not public, so it enters the constant, fitted on
scikit-learn's bundled data sets and on synthetic ones
(``benchmarks/bench_defaults.py``), one per batching regime:

    λ = C · (p / (ρ n²))^{1/3},  C = 0.0135 full batch, 0.0095 with mini-batches.

Why two: the full-batch constant was fitted on the bundled sets of at most
1,000 rows (wine, iris, breast cancer): at half of it wine and iris lose 9 and
16 points after a request, at 1.5 times it they move within 2 points; with
mini-batches (n > 1,000) 0.7 times it was as
good or better on every set measured (2026-12-04, mean of 3 seeds, accuracy
after a request at ε = 1): digits 0.914 against 0.905, ``make_classification``
3,000 × 20 with 10 classes 0.563 against 0.555, 10,000 × 100 with 10 classes
0.537 against 0.513 (the bias of the penalty costs more there than the noise
it saves), 60,000 × 100 with 10 classes 0.559 against 0.548.

with ρ the zCDP-style parameter that reaches (ε, δ) under the classic
conversion, ``ε = ρ + 2 √(ρ log 1/δ)`` (:func:`rho_for`). The step is the
largest the contraction allows. The batching (:func:`default_batching`)
depends on n alone: mini-batches of 64 for 30 epochs, except on small sets
(n ≤ 1,000) where an epoch of 64-row batches is a handful of steps: there the
model trains by 300 full-batch steps (Langevin unlearning's setting). On 1,000
rows or fewer, constant-step SGD at the largest stable step stays far from the
optimum (wine: 0.79 against 0.93 full-batch, noise-free), and 20% of 30
short epochs leaves a request too few steps to absorb the noise it needs
(wine after a request: 0.70 against 0.94); from a few thousand rows up the
mini-batches win (digits, 1,347 rows: 0.905 against 0.896 after a request;
``benchmarks/bench_defaults.py``). The request budget ("auto",
:func:`auto_request_budget`) is at most 20% of the training epochs.

The default target δ is ``min(1e-6, n^-1.5)``, strictly below ``1 / n``
(:func:`default_delta` says why); :func:`resolve_delta` is the one place the
estimators and the command line resolve it.

:func:`noise_dominates` is the criterion of the warning ``fit`` raises when the
calibrated noise will swamp the model.
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_DELTA_CAP", "FULL_BATCH_L2_CONSTANT", "FULL_BATCH_ROWS", "MINI_BATCH_L2_CONSTANT",
           "auto_score_tolerance", "default_batching", "default_delta", "default_l2", "noise_dominates",
           "resolve_delta", "rho_for"]

#: The constants of the rule for λ, full batch and mini-batches (fitted as the module docstring says).
FULL_BATCH_L2_CONSTANT, MINI_BATCH_L2_CONSTANT = 0.0135, 0.0095

#: The cap of the default δ: ``min(DEFAULT_DELTA_CAP, n^-1.5)`` (:func:`default_delta`).
DEFAULT_DELTA_CAP = 1e-6


#: Sets of at most this many rows train full-batch by default (:func:`default_batching`).
FULL_BATCH_ROWS = 1000

#: The default batching: (batch size, epochs) for mini-batches, and the epochs (= steps) of full-batch training.
MINI_BATCH_SIZE, MINI_BATCH_EPOCHS, FULL_BATCH_EPOCHS = 64, 30, 300


def default_batching(n_samples, batch_size="auto", max_iter="auto"):
    """``(batch_size, max_iter)`` with ``"auto"`` resolved from ``n_samples`` alone (public).

    ``batch_size="auto"``: None (full batch) for ``n_samples ≤ FULL_BATCH_ROWS``, else 64;
    ``max_iter="auto"``: 300 epochs of full-batch training (one step each), else 30.
    An explicit value is kept (None: full batch; the set-up clips a batch size to ``n_samples``, and one of at
    least ``n_samples`` counts as full batch here).

    >>> default_batching(133), default_batching(1347), default_batching(1347, None)
    ((None, 300), (64, 30), (None, 300))
    >>> default_batching(500, 32, "auto"), default_batching(100_000, "auto", 5)
    ((32, 30), (64, 5))
    """
    if batch_size == "auto":
        batch_size = None if n_samples <= FULL_BATCH_ROWS else MINI_BATCH_SIZE
    full_batch = batch_size is None or int(batch_size) >= n_samples
    if max_iter == "auto":
        max_iter = FULL_BATCH_EPOCHS if full_batch else MINI_BATCH_EPOCHS
    return (None if batch_size is None else int(batch_size)), int(max_iter)


def default_delta(n_samples):
    r"""The default target δ: ``min(1e-6, n^-1.5)``, strictly below ``1 / n``.

    n counts the training *slots* (the rows given to ``fit``), forgotten or
    not: the neighbouring relation compares with a retrain on the same n slots
    with the forgotten ones at zero weight, so n and the slot positions are
    public and a δ computed from n depends on no row's values.

    Why not ``1 / n``: the mechanism "publish one row chosen at random"
    satisfies (0, 1/n)-DP (a given row is published with probability 1/n and
    nothing else is revealed), yet it leaks a row in full. Any δ ≥ 1/n
    therefore admits a blatant leak; differential-privacy practice asks for
    δ ≪ 1/n. With ``n^-1.5`` the probability that *some* row is exposed by
    such a failure is at most ``n · δ = n^-0.5``, and the cap 1e-6 keeps small
    data sets (n < 10,000) at a conventional level. The cost is small: δ only
    enters through ``log(1/δ)`` (measured: at most 0.7 accuracy points on
    digits, nothing measurable on 20,000 × 50, against δ = 1/n).

    Parameters
    ----------
    n_samples : int
        n, training slots (public).

    Returns
    -------
    float

    Examples
    --------
    >>> default_delta(1347) == 1347 ** -1.5
    False
    >>> default_delta(1347)
    1e-06
    >>> default_delta(60000) == 60000 ** -1.5
    True
    >>> all(default_delta(n) < 1 / n for n in (1, 2, 10, 10**6))
    True
    """
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    return min(DEFAULT_DELTA_CAP, float(n_samples) ** -1.5)


def resolve_delta(delta, n_samples):
    """The δ a ``delta`` setting means for n training slots: None or ``"auto"`` give :func:`default_delta`.

    The one place where the estimators and the command line resolve the default.

    Examples
    --------
    >>> resolve_delta(None, 100) == resolve_delta("auto", 100) == default_delta(100)
    True
    >>> resolve_delta(1e-5, 100)
    1e-05
    """
    if delta is None or (isinstance(delta, str) and delta == "auto"):
        return default_delta(n_samples)
    if isinstance(delta, str):
        raise ValueError(f"delta must be a float in (0, 1), None or 'auto', got {delta!r}")
    return float(delta)


def rho_for(epsilon, delta):
    """ρ with ``ρ + 2 √(ρ log(1/δ)) = ε``: the Gaussian-mechanism budget behind (ε, δ).

    Examples
    --------
    >>> rho = rho_for(1.0, 1e-5)
    >>> round(rho + 2 * math.sqrt(rho * math.log(1e5)), 12)
    1.0
    """
    if not (epsilon > 0 and 0 < delta < 1):
        raise ValueError(f"need epsilon > 0 and 0 < delta < 1, got {epsilon}, {delta}")
    log_inverse = math.log(1.0 / delta)
    return (math.sqrt(log_inverse + epsilon) - math.sqrt(log_inverse)) ** 2


def default_l2(n_samples, n_params, epsilon, delta, *, full_batch):
    """The default L2 penalty: ``C (p / (ρ n²))^{1/3}``, C = 0.0135 full batch, else 0.0095 (module docstring).

    Parameters
    ----------
    n_samples : int
        n, training rows (public: the slots stay, forgotten or not).
    n_params : int
        p = k (d + 1).
    epsilon, delta : float
        The target.
    full_batch : bool
        Whether training runs full-batch steps (public: :func:`default_batching` decides it from n, or the
        caller's ``batch_size``).

    Returns
    -------
    float

    Examples
    --------
    The digits split of the README (1,347 rows, 10 classes, 64 features, mini-batches), at the default δ:

    >>> round(default_l2(1347, 650, 1.0, default_delta(1347), full_batch=False), 4)
    0.0026
    """
    if n_samples < 1 or n_params < 1:
        raise ValueError("n_samples and n_params must be >= 1")
    rho = rho_for(epsilon, delta)
    constant = FULL_BATCH_L2_CONSTANT if full_batch else MINI_BATCH_L2_CONSTANT
    return constant * (n_params / (rho * n_samples**2)) ** (1.0 / 3.0)


def score_noise_ratio(noise_scale, contraction, noisy_steps, quiet_steps, radius):
    """The noise one request leaves on a score, as a fraction of the largest score the model can reach.

    The noise accumulated over the noisy steps of one request, per coordinate,
    is ``s √(Σ_{j<N} c^{2j})``; the noise-free steps after it contract it by
    about ``c^{N_q}``. On a row of norm D it moves a score by about D times
    that, and the scores the model can reach are bounded by ``D R`` (the ball
    of radius R), so D cancels.

    Examples
    --------
    >>> round(score_noise_ratio(0.01, 0.0, 1, 0, 10.0), 6)
    0.001
    """
    if contraction >= 1.0:
        accumulated = noisy_steps
    else:
        accumulated = (1.0 - contraction ** (2 * noisy_steps)) / (1.0 - contraction**2)
    return noise_scale * math.sqrt(accumulated) * contraction**quiet_steps / radius


def noise_dominates(noise_scale, contraction, noisy_steps, quiet_steps, data_norm, radius, fraction=0.02):
    """Whether the noise a request leaves in the model will swamp it (the warning's criterion).

    True when :func:`score_noise_ratio` exceeds ``fraction``. On the bundled
    data sets at ε = 1 the ratio stays at or below 1%, and accuracy falls apart
    where it passes 2% (iris and wine at ε ≤ 0.3,
    ``benchmarks/bench_defaults.py``), hence the default 2%. ``data_norm``
    cancels (kept for the callers' clarity).

    Examples
    --------
    >>> noise_dominates(0.001, 0.99, 100, 0, 1.0, 100.0)
    False
    >>> noise_dominates(1.0, 0.99, 100, 0, 1.0, 100.0)
    True
    """
    return bool(score_noise_ratio(noise_scale, contraction, noisy_steps, quiet_steps, radius) > fraction)


#: Score noise (a fraction of the largest reachable score, :func:`score_noise_ratio`) that the budget "auto"
#: accepts with at most five classes: far below the warning's 2%, where the request's noise no longer shows
#: in the accuracy (``benchmarks/bench_budget.py``, five classes: 1 + 0 epochs at 4e-5 on 80,000 x 200 and
#: 2.2e-4 on 20,000 x 100, within 0.5 and 1 point of 3 + 3). More classes: :func:`auto_score_tolerance`.
AUTO_SCORE_TOLERANCE = 2.5e-4

#: At most this fraction of the training epochs goes to one request under "auto" (retraining costs them all).
AUTO_BUDGET_FRACTION = 0.2


def auto_score_tolerance(n_outputs):
    """The tolerance of the budget "auto" for a model of ``n_outputs`` scores (1: binary; public).

    ``AUTO_SCORE_TOLERANCE · min(1, (4 / (k − 1))²)``: unchanged up to five
    classes, 4.9e-5 with ten. A request's noise lands on every class's score,
    and a prediction flips when it closes the margin to any of the k − 1 other
    classes, which sit closer together the more classes share the scores. The
    power is measured, not derived (``benchmarks/bench_defaults.py``,
    2026-12-04, mean of 3 seeds, ten classes after a request): on
    ``make_classification`` 60,000 × 100, 1 + 0 epochs at a score noise of
    7.1e-5 cost 1.4 points and 1 + 1 at 3.0e-5 none; on 10,000 × 100, 1 + 1 at
    2.3e-4 cost 1.8 points (the former λ) and 1 + 2 at 2.0e-4 0.6, the whole
    budget none. Five classes keep the looser tolerance: 1 + 0 at 7.8e-5 on
    60,000 × 100 cost 0.9 points, and at 5e-5 the request on
    ``benchmarks/bench_budget.py``'s 20,000 × 100 would run 1 + 4 epochs,
    past its goal of 10% of a fit.

    Examples
    --------
    >>> auto_score_tolerance(1) == auto_score_tolerance(5) == AUTO_SCORE_TOLERANCE
    True
    >>> round(auto_score_tolerance(10) / AUTO_SCORE_TOLERANCE, 3)
    0.198
    """
    if n_outputs <= 1:
        return AUTO_SCORE_TOLERANCE
    return AUTO_SCORE_TOLERANCE * min(1.0, (4.0 / (n_outputs - 1)) ** 2)


def _whole_budget(cap):
    """``(E, Q)`` when no budget reaches the tolerance: all ``cap`` epochs, ``E = ⌈cap/3⌉`` of them noisy."""
    noisy = -(-cap // 3)
    return noisy, cap - noisy


def auto_request_budget(noise_scale_for, contraction, steps_per_epoch, radius, train_epochs,
                        tolerance=AUTO_SCORE_TOLERANCE):
    r"""``unlearning_epochs="auto"`` and ``finetune_epochs="auto"``: the cheapest request budget (E, Q).

    A request runs E noisy epochs, at the noise σ_E calibrated so that E
    suffice for one row at the target (ε, δ), then Q noise-free epochs. More
    noisy epochs need less noise (the bound decays with the steps since the
    request), and noise-free epochs contract what the noise left; either way
    the model's scores move by :func:`score_noise_ratio` of the largest score
    it can reach. The rule: the fewest epochs ``E + Q`` (at most
    ``AUTO_BUDGET_FRACTION`` of ``train_epochs``: 6 of 30 mini-batch epochs, 60 of 300 full-batch ones), and
    among those the fewest noisy ones, whose score noise is at most
    ``tolerance``; when none reaches it (small n: the noise a single row needs
    stays large), the whole budget with a third of it noisy (E = ⌈cap/3⌉).
    The score noise depends on ``E + Q`` alone to three digits there (the
    noise is calibrated to the same decay), but the model does not: noisy
    epochs also disturb the descent that quiet ones complete, and 2 + 4 beat
    3 + 3 by up to 1.2 points after a request (``make_classification``
    3,000 × 20, 10 classes; 2026-12-04), where 1 + 5 lost 0.9 points to
    2 + 4. ``E ≥ 1``: a request needs at least one noisy epoch to be certified.

    Everything it reads is public: σ_E comes from the ledger's calibration
    (n, p, ε, δ, the loss constants, R, η, b), the contraction, the steps per
    epoch and R from the same; nothing depends on the rows' values, so the
    budget reveals nothing about the forgotten rows.

    Parameters
    ----------
    noise_scale_for : callable
        ``E -> s_E``, the per-step noise a budget of E noisy epochs needs.
    contraction, steps_per_epoch, radius, train_epochs
        c, ⌈n/b⌉, R and T.
    tolerance : float, default=AUTO_SCORE_TOLERANCE

    Returns
    -------
    (int, int)
        E ≥ 1 and Q ≥ 0.

    Examples
    --------
    Large n: the first epoch leaves little noise.

    >>> auto_request_budget(lambda e: 1e-4 / e, 0.999, 1000, 100.0, 30)
    (1, 0)

    Small n: the whole budget, a third of it noisy.

    >>> auto_request_budget(lambda e: 0.5 / e, 0.99, 20, 100.0, 30)
    (2, 4)
    """
    cap = max(1, int(AUTO_BUDGET_FRACTION * int(train_epochs)))
    budgets = [(noisy, total - noisy) for total in range(1, cap + 1) for noisy in range(1, total + 1)]

    def within_tolerance(noise_scale, noisy, quiet):
        return score_noise_ratio(noise_scale, contraction, noisy * steps_per_epoch, quiet * steps_per_epoch,
                                 radius) <= tolerance

    # σ_E falls with E (more noisy epochs, less noise), and the score noise rises with σ: when even the least
    # noise of the cap leaves every budget above the tolerance, none can reach it. One calibration decides it
    # where the search below would run all cap of them (full-batch training: 60).
    least = noise_scale_for(cap)
    if not any(within_tolerance(least, noisy, quiet) for noisy, quiet in budgets):
        return _whole_budget(cap)
    noise = {}
    for noisy, quiet in budgets:
        if noisy not in noise:
            noise[noisy] = noise_scale_for(noisy)
        if within_tolerance(noise[noisy], noisy, quiet):
            return noisy, quiet
    return _whole_budget(cap)
