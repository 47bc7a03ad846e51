"""Calibration: the noise for a target ε and step budget, or the steps for a noise.

Every certificate in :mod:`skunlearn.accounting` is a function ``ε(σ)`` that
decreases in the noise σ and a function ``ε(K)`` that does not increase in the
number of noisy steps K. Calibration inverts them the way
``dp_accounting.mechanism_calibration`` does: bracket, root-find, then
*recompute ε at the answer* and step to the private side, so the value
returned always meets the target.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.optimize import brentq

__all__ = ["CalibrationError", "calibrate_noise", "calibrate_steps"]


class CalibrationError(ValueError):
    """No value within the search limits meets the target."""


def calibrate_noise(
    epsilon_of_noise: Callable[[float], float], target_epsilon: float, *, initial: float = 1.0, rtol: float = 1e-6,
    max_noise: float = 1e12,
) -> float:
    """Smallest noise σ with ``epsilon_of_noise(σ) ≤ target_epsilon``.

    ``epsilon_of_noise`` must be non-increasing in σ. The root of
    ``log ε(σ) − log ε*`` is bracketed by doubling/halving from ``initial``,
    found by :func:`scipy.optimize.brentq` on ``log σ``, and the answer is
    then checked: while ``ε(σ) > ε*`` it is raised by ``rtol``. The returned σ
    therefore always meets the target, and ``σ (1 − 2·rtol)`` misses it unless
    ε is flat there.

    Parameters
    ----------
    epsilon_of_noise : callable
        ``σ ↦ ε``, non-increasing.
    target_epsilon : float
        ε* > 0.
    initial : float, default=1.0
        Where the bracket search starts.
    rtol : float, default=1e-6
        Relative resolution of σ.
    max_noise : float, default=1e12
        Give up above this σ.

    Returns
    -------
    float

    Raises
    ------
    CalibrationError
        When even ``max_noise`` misses the target.

    Examples
    --------
    The Gaussian mechanism at α = 2: ε(σ) = 2·1/(2σ²) = 1/σ², so ε* = 0.25
    needs σ = 2.

    >>> round(calibrate_noise(lambda s: 1 / s**2, 0.25), 5)
    2.0
    """
    target_epsilon = float(target_epsilon)
    if not (np.isfinite(target_epsilon) and target_epsilon > 0):
        raise ValueError(f"target_epsilon must be a finite number > 0, got {target_epsilon}")

    def meets(noise):
        return epsilon_of_noise(noise) <= target_epsilon

    lo = hi = float(initial)
    if meets(hi):
        while meets(lo):
            hi, lo = lo, lo / 2.0
            if lo < 1e-300:
                return hi
    else:
        while not meets(hi):
            lo, hi = hi, hi * 2.0
            if hi > max_noise:
                raise CalibrationError(f"no noise up to {max_noise:g} reaches epsilon={target_epsilon:g}")

    def gap(log_noise):
        value = epsilon_of_noise(math.exp(log_noise))
        return (math.log(value) if value > 0 else -math.inf) - math.log(target_epsilon)

    try:
        noise = math.exp(brentq(gap, math.log(lo), math.log(hi), rtol=rtol / 4, xtol=rtol / 4))
    except ValueError:  # a flat or discontinuous ε(σ): fall back to the bracket
        noise = hi
    while not meets(noise):
        noise *= 1.0 + rtol
    return noise


def calibrate_steps(
    epsilon_of_steps: Callable[[int], float], target_epsilon: float, *, max_steps: int = 10_000_000,
    min_steps: int = 1,
) -> int:
    """Fewest steps K with ``epsilon_of_steps(K) ≤ target_epsilon``.

    ``epsilon_of_steps`` must be non-increasing in K. Exponential search, then
    bisection over integers; ``K − 1`` misses the target (or K = ``min_steps``).

    Parameters
    ----------
    epsilon_of_steps : callable
        ``K ↦ ε``, non-increasing.
    target_epsilon : float
        ε* > 0.
    max_steps : int, default=10**7
        Never returns more; raises instead.
    min_steps : int, default=1
        ≥ 0.

    Returns
    -------
    int

    Raises
    ------
    CalibrationError
        When ``max_steps`` steps miss the target.

    Examples
    --------
    >>> calibrate_steps(lambda k: 10 / k, 0.5)
    20
    """
    target_epsilon = float(target_epsilon)
    if not (np.isfinite(target_epsilon) and target_epsilon > 0):
        raise ValueError(f"target_epsilon must be a finite number > 0, got {target_epsilon}")

    def meets(steps):
        return epsilon_of_steps(steps) <= target_epsilon

    min_steps, max_steps = int(min_steps), int(max_steps)
    if min_steps < 0 or max_steps < min_steps:
        raise ValueError(f"need 0 <= min_steps <= max_steps, got {min_steps} and {max_steps}")
    if meets(min_steps):
        return min_steps
    lo, hi = min_steps, max(1, 2 * min_steps)
    while True:  # exponential search, never past max_steps
        if hi >= max_steps:
            hi = max_steps
            if hi == lo or not meets(hi):
                raise CalibrationError(f"{max_steps} steps do not reach epsilon={target_epsilon:g}; raise the noise")
            break
        if meets(hi):
            break
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # invariant: lo misses, hi meets
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi
