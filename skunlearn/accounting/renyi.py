"""Rényi differential privacy of the Gaussian mechanism and its conversion to (ε, δ).

Every bound in :mod:`skunlearn.accounting` ends as a Rényi curve ``α ↦ ε_α``
(for α > 1). A user asks for (ε, δ); this module turns the curve into the
smallest ε at the user's δ by searching the order α:

* tight conversion [BBGHS, Theorem 21]::

      ε(δ) = min_{α>1}  ε_α + log((α − 1)/α) − (log δ + log α) / (α − 1)

* classic conversion [Mironov 2017, Proposition 3]::

      ε(δ) = min_{α>1}  ε_α + log(1/δ) / (α − 1)

The tight form is never larger than the classic one, because
``log((α−1)/α) − log(α)/(α−1) ≤ 0`` for every α > 1.

References
----------
.. [BBGHS] Balle, Barthe, Gaboardi, Hsu, Sato. Hypothesis testing
   interpretations and Rényi differential privacy. AISTATS 2020,
   arXiv:1905.09982.
.. [Mironov] I. Mironov. Rényi differential privacy. CSF 2017,
   arXiv:1702.07476.
"""

from __future__ import annotations

import warnings
from typing import Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

__all__ = [
    "DEFAULT_ORDERS",
    "DPConversion",
    "OrderAtGridEdgeWarning",
    "gaussian_rdp_coefficient",
    "linear_rdp",
    "rdp_to_dp",
]

#: Rényi orders searched by default: α − 1 log-spaced from 1e-2 to 1e5, dense
#: enough that a local refinement only moves ε in the fourth digit.
DEFAULT_ORDERS = 1.0 + np.logspace(-2.0, 5.0, 3501)

CONVERSIONS = ("tight", "classic")


class DPConversion(NamedTuple):
    """An (ε, δ) guarantee and the Rényi order α that produced it."""

    epsilon: float
    order: float


class OrderAtGridEdgeWarning(UserWarning):
    """The best Rényi order sits at the edge of the searched grid.

    The reported ε is still valid (it is the value at a real order), but a
    wider grid could give a smaller one.
    """


def gaussian_rdp_coefficient(sensitivity: float, noise_std: float) -> float:
    """Rényi coefficient ρ of the Gaussian mechanism: ``ε_α = α ρ``.

    Implements [Mironov 2017, Proposition 7]: for two Gaussians with the same
    covariance ``σ² I`` whose means are ``Δ`` apart,
    ``D_α = α Δ² / (2 σ²)`` for every α > 1.

    Parameters
    ----------
    sensitivity : float
        Distance ``Δ ≥ 0`` between the means.
    noise_std : float
        Standard deviation ``σ > 0`` of the noise.

    Returns
    -------
    float
        ``ρ = Δ² / (2 σ²)``.

    Examples
    --------
    >>> gaussian_rdp_coefficient(1.0, 2.0)
    0.125
    """
    sensitivity = float(sensitivity)
    noise_std = float(noise_std)
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0, got {noise_std}")
    if not sensitivity >= 0:
        raise ValueError(f"sensitivity must be >= 0, got {sensitivity}")
    return sensitivity**2 / (2.0 * noise_std**2)


def linear_rdp(coefficient: float) -> Callable[[ArrayLike], np.ndarray]:
    """The Rényi curve ``α ↦ α ρ`` of a zCDP-like (Gaussian) bound.

    Parameters
    ----------
    coefficient : float
        ``ρ ≥ 0``.

    Returns
    -------
    callable
        Vectorised ``α ↦ α ρ``.

    Examples
    --------
    >>> float(linear_rdp(0.5)(4.0))
    2.0
    """
    coefficient = float(coefficient)
    if not coefficient >= 0:
        raise ValueError(f"Rényi coefficient must be >= 0, got {coefficient}")
    return lambda orders: np.asarray(orders, dtype=float) * coefficient


def _epsilon_at_orders(rdp_values, orders, log_delta, conversion):
    """ε(δ) at each order, before minimisation (unclipped)."""
    orders = np.asarray(orders, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conversion == "tight":
            # [BBGHS, Thm 21], written with log1p for accuracy near α = 1.
            eps = rdp_values + np.log1p(-1.0 / orders) - (log_delta + np.log(orders)) / (orders - 1.0)
        else:
            # [Mironov 2017, Prop 3].
            eps = rdp_values - log_delta / (orders - 1.0)
    return np.where(np.isnan(eps), np.inf, eps)


def rdp_to_dp(
    rdp: Callable[[np.ndarray], ArrayLike], delta: float, *, orders: ArrayLike | None = None,
    conversion: str = "tight", refine: bool = True, warn_at_edge: bool = True,
) -> DPConversion:
    """Convert a Rényi-DP curve to the smallest (ε, δ) guarantee over α.

    Implements the tight conversion of [BBGHS, Theorem 21] (default) or the
    classic one of [Mironov 2017, Proposition 3] (``conversion="classic"``),
    both minimised over the Rényi order α; see the module docstring for the
    formulas. The grid minimum is refined by a bounded scalar search between
    its neighbours when ``rdp`` is a callable. Both conversions are valid for
    each α separately, so the reported ε is valid whatever order is chosen.

    Parameters
    ----------
    rdp : callable or array-like
        Either a vectorised function ``α ↦ ε_α`` or the values ``ε_α`` at
        ``orders``. Values must be ``≥ 0``; ``inf`` is allowed.
    delta : float
        Target δ in (0, 1).
    orders : array-like of float > 1, optional
        Orders searched. Defaults to :data:`DEFAULT_ORDERS` (1.01 … 1e5).
    conversion : {"tight", "classic"}, default="tight"
        Which conversion formula to minimise.
    refine : bool, default=True
        Refine the grid optimum with :func:`scipy.optimize.minimize_scalar`
        (only when ``rdp`` is callable).
    warn_at_edge : bool, default=True
        Emit :class:`OrderAtGridEdgeWarning` when the best order is the first
        or last of the grid and ε > 0.

    Returns
    -------
    DPConversion
        ``(epsilon, order)``; ε is clipped at 0.

    Examples
    --------
    The classic conversion of the linear curve ``α ρ`` has the closed form
    ``ρ + 2 sqrt(ρ log(1/δ))``:

    >>> import numpy as np
    >>> rho, delta = 0.01, 1e-5
    >>> eps, order = rdp_to_dp(linear_rdp(rho), delta, conversion="classic")
    >>> bool(np.isclose(eps, rho + 2 * np.sqrt(rho * np.log(1 / delta))))
    True
    >>> rdp_to_dp(linear_rdp(rho), delta).epsilon < eps
    True
    """
    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {CONVERSIONS}, got {conversion!r}")
    delta = float(delta)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    orders = DEFAULT_ORDERS if orders is None else np.asarray(orders, dtype=float)
    if orders.ndim != 1 or orders.size == 0 or not np.all(orders > 1.0):
        raise ValueError("orders must be a non-empty 1-D array of values > 1")
    curve: Callable | None = rdp if callable(rdp) else None
    values = np.asarray(curve(orders) if curve else rdp, dtype=float)
    if values.shape != orders.shape:
        raise ValueError(f"rdp has shape {values.shape}, orders have shape {orders.shape}")
    if np.any(np.isnan(values)) or np.any(values < 0):
        raise ValueError("Rényi divergences must be >= 0 (inf allowed), got negative or NaN values")

    log_delta = np.log(delta)
    eps = _epsilon_at_orders(values, orders, log_delta, conversion)
    best = int(np.argmin(eps))
    best_eps, best_order = float(eps[best]), float(orders[best])
    if not np.isfinite(best_eps):
        return DPConversion(np.inf, best_order)

    if curve is not None and refine and orders.size >= 3:
        lo = orders[max(best - 1, 0)]
        hi = orders[min(best + 1, orders.size - 1)]

        def objective(order):
            value = np.asarray(curve(np.array([order])), dtype=float)
            return float(_epsilon_at_orders(value, np.array([order]), log_delta, conversion)[0])

        result = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * hi})
        if result.success and result.fun < best_eps:
            best_eps, best_order = float(result.fun), float(result.x)

    if warn_at_edge and best_eps > 0 and best in (0, orders.size - 1):
        warnings.warn(
            f"the best Rényi order {best_order:.4g} is at the edge of the searched grid "
            f"[{orders[0]:.4g}, {orders[-1]:.4g}]; epsilon={best_eps:.4g} is valid but may not be the smallest",
            OrderAtGridEdgeWarning,
            stacklevel=2,
        )
    return DPConversion(max(best_eps, 0.0), best_order)
