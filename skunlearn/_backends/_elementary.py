"""Elementary functions for the certified kernels, from +, × and ``rint`` only (no libm).

A libm's ``exp`` is accurate in practice, but its error is a property of the
library the process happens to load, not something the certificate can cite.
These functions carry their own error bounds, derived in their docstrings and
checked against mpmath in the tests; the rounding bound of
:mod:`skunlearn.accounting.floating_point` charges them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["exp_nonpositive"]

#: Cody–Waite split of ln 2 (fdlibm): ``LN2_HI`` has 32 trailing zero bits, so ``k LN2_HI`` is exact for |k| < 2²⁰.
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_INV_LN2 = 1.4426950408889634
#: ``1 / i!`` for i = 2 … 13, rounded to binary64: Q(r) = Σ r^(i−2) / i!, so that e^r = 1 + r + r² Q(r).
_Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9, _Q10, _Q11, _Q12, _Q13 = (1.0 / math.factorial(i) for i in range(2, 14))
#: 2^j for j = −1022 … 1023 (exact constants): the scaling without ``ldexp``.
_POWERS_OF_TWO = np.array([2.0**j for j in range(-1022, 1024)])


@njit(cache=True, inline="always")
def exp_nonpositive(x):
    """``e^x`` for x ≤ 0 with +, × and ``rint`` only: within ``EXP_ERROR_ULPS`` u relative (no libm).

    The error bound (:data:`skunlearn.accounting.floating_point.EXP_ERROR_ULPS`
    = 8 units of u = 2⁻⁵³, plus 2⁻¹⁰⁷⁵ absolute where the result is
    subnormal), derived term by term:

    * *reduction*: ``k = rint(x / ln 2)``, ``r = (x − k LN2_HI) − k LN2_LO``,
      ``|r| ≤ 0.3466 + 10⁻¹³``. ``k LN2_HI`` is exact (``|k| ≤ 1076 < 2²⁰``) and the
      subtraction is exact by Sterbenz's lemma (for k ≠ 0 its operands are
      within a factor 2); the product and the difference with ``k LN2_LO``
      round twice, and ``LN2_HI + LN2_LO`` misses ln 2 by 1.2·10⁻²⁶: r is
      within ``u |r| + 2·10⁻⁷ u + 1.3·10⁻²³ < 0.36 u`` of ``x − k ln 2``, a
      relative error of at most that on e^r;
    * *polynomial*: Taylor to degree 13, ``e^r = 1 + r + r² Q(r)``; the
      remainder is below ``|r|¹⁴/14! · e^|r| < 6·10⁻¹⁸ < 0.06 u``. Horner on
      Q (11 steps, coefficients rounded: ``γ₂₃`` relative to
      ``Q(|r|) ≤ 0.56``), the square and the product (2u), then two sums (u
      each) err by at most ``0.121·0.56·25u + 0.42u + 1.42u`` absolute on a
      value ≥ e^−0.347 = 0.707: 4.3 u relative;
    * *scaling* by 2^k, a product with an exact power of two: exact unless
      the result is subnormal (then scaled in two products, the first exact,
      the second rounding once: 2⁻¹⁰⁷⁵ absolute); below x = −745.2 the result
      is 0, within 2⁻¹⁰⁷⁵ of e^x.

    In all ``(1 + 0.36u)(1 + 4.4u) − 1 < 4.8u``, charged as 8u.
    ``tests/backends/test_backends.py`` checks it against mpmath on a dense sample and at
    the range ends.
    """
    if x < -745.2:
        return 0.0
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    q = _Q13
    q = q * r + _Q12
    q = q * r + _Q11
    q = q * r + _Q10
    q = q * r + _Q9
    q = q * r + _Q8
    q = q * r + _Q7
    q = q * r + _Q6
    q = q * r + _Q5
    q = q * r + _Q4
    q = q * r + _Q3
    q = q * r + _Q2
    value = 1.0 + (r + (r * r) * q)
    power = np.int64(k)
    if power >= -1022:
        return value * _POWERS_OF_TWO[power + 1022]
    return (value * _POWERS_OF_TWO[power + 1022 + 60]) * _POWERS_OF_TWO[-60 + 1022]
