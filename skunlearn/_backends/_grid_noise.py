r"""Gaussian noise on a grid: ``Λ · RN(σ' ξ)`` with ξ an *exact* N(0, 1) draw, up to a charged failure.

Why not a float normal
======================
A noisy step that outputs ``fl(v + s ξ̂)``, with ξ̂ a float from a generator,
is not a function of an exact Gaussian: ξ̂ lives on the generator's lattice,
and a coordinate that is exactly 0 before the noise lands on that lattice
while any other value spreads over all floats. An attacker can test for it
(issue 19). The kernels therefore compute each noisy coordinate as

    ``RN_Λ(v) + Λ K``,   ``K = RN(σ' ξ)``,   ``σ' = s / Λ``,

with Λ a power of two (the grid), ``RN_Λ`` rounding to the nearest multiple of
Λ (exact in binary64 while ``|v| < 2⁵³ Λ``) and the sum exact (both terms are
multiples of Λ). Since ``RN_Λ(v)`` lies on the grid, ``RN_Λ(v) + Λ K =
RN_Λ(RN_Λ(v) + s ξ)``: the output is a deterministic function of an exactly
Gaussian-smoothed value, and the rounding ``RN_Λ`` (twice ``√p Λ / 2`` per
step) is charged with the kernel's other rounding
(:mod:`skunlearn.accounting.floating_point`). All that is needed from the
generator is the integer K with the law of ``RN(σ' ξ)``.

The sampler: a ziggurat run on exact uniforms, decided lazily
=============================================================
The *ideal* sampler is Marsaglia & Tsang's 256-layer ziggurat (J. Stat.
Softw. 5(8), 2000) on exact real uniforms, with the tail method of Marsaglia
(1964) looping inside the tail; with exact tables (``r`` solved to 80 digits
so that the 256 boxes have equal areas, :mod:`._noise_tables`) it returns an
exact N(0, 1) variable ξ. The machine runs the same algorithm on the *same*
uniforms, read as bit strings from the ChaCha20 keystream
(:mod:`._chacha20`): a uniform ``U = 0.b₁b₂…`` is read 53 bits at a time,
only as far as needed. Every decision of the ideal sampler — the layer's
fast-accept test, a wedge's or the tail's acceptance test, and the final
``RN(σ' ξ)`` — is a comparison of two real numbers; the machine encloses both
in intervals (exact integer compares for the fast-accept thresholds, binary64
or double-double arithmetic with proven relative error bounds otherwise) and
decides only when the intervals do not overlap. Then its decision *is* the
ideal one. When they overlap after the last bit it reads, the draw is a
*failure*: it returns a value anyway, and the probability τ of that event per
draw is bounded below, to be charged to δ. Off the failure event the
machine's K equals the ideal ``RN(σ' ξ)``, so the law of the machine's output
is within total variation τ · (draws) of the ideal one, and an (ε, δ)
statement about the ideal chain holds for the machine with
``δ + (1 + e^ε) τ · draws`` (both runs are charged).

The kernels of :mod:`skunlearn._backends.numba.logistic_dense` and
:mod:`skunlearn._backends.numba.logistic_sparse` draw all their noise here; the grid Λ
comes from public bounds (:func:`skunlearn.accounting.noise_grid`) and τ is
charged to δ by the ledgers
(:func:`skunlearn.accounting.grid_noise_failure_probability`, whose
docstring carries the terms below).

Fast path (about 98.8 % of draws: the ziggurat's fast-accept rate, less the rare undecided roundings): one 64-bit keystream word
gives the layer (8 bits), the sign (1 bit) and 53 bits ``J`` of U; ``J``
below the layer's integer threshold accepts (exactly: ``⌊k_L 2⁵³⌋``); then
``σ' ξ ∈ [J, J + 1] · A_L 2⁻⁵³`` with ``A_L = σ' x_L``, and when that interval,
widened by 2⁻⁴⁹ of its size, lies inside one rounding cell, K is decided.
Everything else takes the slow path: a second 53-bit slice of U (106 bits in
all), the wedge's uniform at 106 bits, ``exp`` and ``log`` in double-double
(:func:`dd_exp`, :func:`dd_log`, bounds below), the tail.

The failure probability per draw (σ' = s / Λ; derivation sketch, each term a
union bound over the attempts, at most :data:`MAX_ATTEMPTS`):

* fast-accept threshold undecided after 106 bits: ``2⁻¹⁰⁶`` per attempt;
* the final rounding: off the earlier failures the machine's x *is* the ideal
  ξ, an exact N(0, 1) draw, and its enclosing interval for ``σ' ξ`` has
  half-width ``w ≤ σ' (2⁻¹⁰⁶ x_L + 2⁻¹⁰⁰ |ξ|)``. The draw fails only if a
  half-integer lies within 2w of ``σ' ξ``; for a unimodal density the sum over
  unit cells of its supremum is at most ``1 + max density``, so this has
  probability ``≤ 4 w_max (1 + 1/(σ'√(2π))) + P(|ξ| > 20)`` with ``w_max`` at
  ``|ξ| = 20``: about ``2⁻⁹³ σ'``;
* a wedge test undecided: the uniform V makes the left side uniform over an
  interval of length ``f_{L−1} − f_L ≥ 1.3·10⁻³``, and the enclosures of both
  sides are within ``2⁻⁹⁰`` of the exact values, so ``≤ 2⁻⁸⁰`` per wedge visit;
* the tail: U₁ or U₂ zero (``2⁻¹⁰⁵``), the acceptance test undecided (−2 log U₂
  has density ≤ ½, enclosure ``2⁻⁸⁶``), the rounding of ``σ'(r + t)``
  (``≤ σ' (20 · 2⁻¹⁰⁶ + 2⁻⁸⁵)`` per visit: the 106-bit cells of U₁ map to
  intervals of t that tile the line), and more than :data:`MAX_TAIL_ROUNDS`
  rounds (``0.08^24``);
* more than :data:`MAX_ATTEMPTS` attempts (``0.0056^12``) or
  :data:`MAX_EXTRA_WORDS` words.

At the kernels' ``σ' < 2²⁵`` the sum is about 2⁻⁶⁷ per draw: 7·10⁻¹¹ over
10¹⁰ draws.

Error bounds used (u = 2⁻⁵³; Joldes, Muller & Popescu, ACM TOMS 44(2), 2017):
the double-double sum of :func:`dd_add` (their Algorithm 6) errs by at most
``3u² + 13u³`` relative, the products :func:`dd_mul` (Algorithm 10) and
:func:`dd_mul_fp` (Algorithm 7) by at most ``7u²`` and ``2u²``; we charge
``8u² = 2⁻¹⁰³`` per operation. :func:`dd_exp` (range reduction by ln 2 in
double-double, Taylor of degree 14 on ``r/8``, three squarings) is within
:data:`EXP_RELATIVE_ERROR` = 2⁻⁹² of ``e^t`` on [−8, 80]; :func:`dd_log`
uses no libm either (Newton steps on :func:`dd_exp` from an exponent-based
start, see its docstring) and is within :data:`LOG_ABSOLUTE_ERROR` = 2⁻⁹⁰
absolute. The tests check both
against mpmath on dense samples and at the range ends.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

from . import _noise_tables as _tables
from ._chacha20 import chacha20_block, key_words
from ._elementary import exp_nonpositive

__all__ = [
    "EXP_RELATIVE_ERROR",
    "FAST_MARGIN",
    "LOG_ABSOLUTE_ERROR",
    "MAX_ATTEMPTS",
    "MAX_EXTRA_WORDS",
    "MAX_TAIL_ROUNDS",
    "Y_RELATIVE_ERROR",
    "NOISE_CORES",
    "fill_grid_noise",
    "grid_normal",
    "kernel_key",
]

#: Ziggurat attempts before a draw is a failure (each rejects with probability < 0.0056).
MAX_ATTEMPTS = 12
#: Tail rounds before a draw is a failure (each rejects with probability < 0.08).
MAX_TAIL_ROUNDS = 24
#: 64-bit words of a normal's private refinement stream (8 ChaCha20 blocks).
MAX_EXTRA_WORDS = 64
#: Relative widening of the fast path's binary64 interval (it errs by < 2⁻⁵⁰ relative).
FAST_MARGIN = 2.0**-49
#: Relative widening of a double-double σ'ξ (two products of 8u² each plus the tables' 2⁻¹⁰⁶).
Y_RELATIVE_ERROR = 2.0**-100
EXP_RELATIVE_ERROR = 2.0**-92
LOG_ABSOLUTE_ERROR = 2.0**-90

_TWO_M53 = 2.0**-53
_TWO_M106 = 2.0**-106
_SPLITTER = 134217729.0  # 2**27 + 1 (Dekker)


def _pairs(values):
    hi = np.array([float.fromhex(h) for h, _ in values])
    lo = np.array([float.fromhex(l) for _, l in values])
    return hi, lo


WIDTH_HI, WIDTH_LO = _pairs(_tables.WIDTH)
DENSITY_HI, DENSITY_LO = _pairs(_tables.DENSITY)
THRESHOLD_1 = np.array(_tables.THRESHOLD_1, dtype=np.int64)
THRESHOLD_2 = np.array(_tables.THRESHOLD_2, dtype=np.int64)
R_HI, R_LO = (float.fromhex(v) for v in _tables.R)
#: ln 2 in double-double (mpmath, 60 digits; checked by the tests).
LN2_HI, LN2_LO = float.fromhex("0x1.62e42fefa39efp-1"), float.fromhex("0x1.abc9e3b39803fp-56")


def _dd_of(fraction):
    hi = float(fraction)
    return hi, float(fraction - Fraction(hi))


#: 1/n! for n = 0 … 14 in double-double, rounded from exact fractions.
_TAYLOR = [_dd_of(Fraction(1, math.factorial(n))) for n in range(15)]
TAYLOR_HI = np.array([h for h, _ in _TAYLOR])
TAYLOR_LO = np.array([l for _, l in _TAYLOR])


# ---------------------------------------------------------------- the keystream cores

#: The cores that can feed the sampler, by name: the kernel key's word 8. ChaCha20 is the default and the only
#: cryptographic one; SplitMix64 (Steele, Lea & Flood 2014) is a statistical mixer whose outputs reveal its
#: 64-bit state, kept for comparison and only when asked for by name.
NOISE_CORES = {"chacha20": 0, "splitmix64": 1}
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def kernel_key(key: int, core: str = "chacha20") -> np.ndarray:
    """The kernels' key array: the eight 32-bit words of a 256-bit key, then the core's code (word 8).

    Examples
    --------
    >>> kernel_key(1).tolist()
    [1, 0, 0, 0, 0, 0, 0, 0, 0]
    >>> int(kernel_key(1, "splitmix64")[8])
    1
    """
    if core not in NOISE_CORES:
        raise ValueError(f"noise core must be one of {sorted(NOISE_CORES)}, got {core!r}")
    return np.append(key_words(key), np.uint64(NOISE_CORES[core]))


@njit(cache=True, inline="always")
def _splitmix_word(seed, position):
    """SplitMix64's output at ``position`` of the Weyl sequence from ``seed``."""
    z = seed + _GOLDEN * (position + np.uint64(1))
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _block(key, counter, nonce, out):
    """Block ``counter`` of stream ``nonce`` (8 words) from the key's core."""
    if key[8] == np.uint64(1):
        seed = key[0] | (key[1] << np.uint64(32))
        base = (nonce << np.uint64(56)) ^ (counter * np.uint64(8))
        for j in range(8):
            out[j] = _splitmix_word(seed, base + np.uint64(j))
    else:
        chacha20_block(key, counter, nonce, out)


# ---------------------------------------------------------------- double-double arithmetic

@njit(cache=True, inline="always")
def two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@njit(cache=True, inline="always")
def fast_two_sum(a, b):
    s = a + b
    return s, b - (s - a)


@njit(cache=True, inline="always")
def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


@njit(cache=True, inline="always")
def two_prod(a, b):
    """``a b = p + e`` exactly (Dekker 1971), no fused multiply-add needed."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, inline="always")
def dd_add(ah, al, bh, bl):
    """Double-double sum [JMP17, Algorithm 6]."""
    sh, sl = two_sum(ah, bh)
    th, tl = two_sum(al, bl)
    sl += th
    sh, sl = fast_two_sum(sh, sl)
    sl += tl
    return fast_two_sum(sh, sl)


@njit(cache=True, inline="always")
def dd_mul(ah, al, bh, bl):
    """Double-double product [JMP17, Algorithm 10]."""
    ch, cl1 = two_prod(ah, bh)
    cl2 = ah * bl + al * bh
    cl3 = cl1 + cl2
    return fast_two_sum(ch, cl3)


@njit(cache=True, inline="always")
def dd_mul_fp(ah, al, b):
    """Double-double times binary64 [JMP17, Algorithm 7]."""
    ch, cl1 = two_prod(ah, b)
    cl3 = al * b + cl1
    return fast_two_sum(ch, cl3)


@njit(cache=True, inline="always")
def _positive(h, l):
    return h > 0.0 or (h == 0.0 and l > 0.0)


@njit(cache=True)
def dd_exp(th, tl):
    """``e^t`` for t in [−8, 80] in double-double, within 2⁻⁹² relative (module docstring)."""
    k = np.floor(th / LN2_HI + 0.5)
    ph, pl = two_prod(k, LN2_HI)
    rh, rl = dd_add(th, tl, -ph, -pl)
    rh, rl = dd_add(rh, rl, -k * LN2_LO, 0.0)
    rh, rl = rh * 0.125, rl * 0.125  # |r/8| <= 0.044
    sh, sl = TAYLOR_HI[14], TAYLOR_LO[14]
    for n in range(13, -1, -1):
        sh, sl = dd_mul(sh, sl, rh, rl)
        sh, sl = dd_add(sh, sl, TAYLOR_HI[n], TAYLOR_LO[n])
    for _ in range(3):
        sh, sl = dd_mul(sh, sl, sh, sl)
    scale = int(k)
    return math.ldexp(sh, scale), math.ldexp(sl, scale)


@njit(cache=True)
def dd_log(uh, ul):
    """``log u`` for u in (0, 1] in double-double, within 2⁻⁹⁰ absolute; ``ok`` False if it did not converge.

    No libm: from ``u = m 2^e`` (m in [½, 1)) start at ``y = e ln 2 − 0.35``
    and take Newton steps ``y ← y + z − z²/2`` with ``z = u e^{−y} − 1``
    (:func:`dd_exp`) until ``|z| < 2⁻⁴⁰`` (at most four from that start);
    then ``log u = y + log1p(z)``, ``log1p(z) = z − z²/2 + z³/3`` with a
    remainder below ``z⁴/3 < 2⁻¹⁶¹``. Five binary64 steps first bring y within
    about 10⁻¹⁵ (so one or two double-double steps remain); whatever they do,
    the result is accepted only through the double-double test.
    """
    mantissa, exponent = math.frexp(uh)
    y = exponent * LN2_HI - 0.35
    # A warm start in binary64 (exp_nonpositive, no libm): the same iteration, cheap; it only moves the
    # start, the double-double steps below still decide when the result is accurate.
    for _ in range(5):
        z = uh / exp_nonpositive(y) - 1.0
        y = min(y + z - 0.5 * z * z, 0.0)
    for _ in range(12):
        eh, el = dd_exp(-y, 0.0)
        zh, zl = dd_mul(uh, ul, eh, el)
        zh, zl = dd_add(zh, zl, -1.0, 0.0)
        if abs(zh) < 2.0**-40:
            qh, ql = dd_mul(zh, zl, zh, zl)
            ch, cl = dd_mul(qh, ql, zh, zl)
            sh, sl = dd_add(zh, zl, -0.5 * qh, -0.5 * ql)
            sh, sl = dd_add(sh, sl, ch / 3.0, 0.0)
            sh, sl = dd_add(y, 0.0, sh, sl)
            return sh, sl, True
        y = y + zh - 0.5 * zh * zh
    return y, 0.0, False


@njit(cache=True)
def _cell(lo_h, lo_l, hi_h, hi_l):
    """The integer k with ``lo > k − ½`` and ``hi < k + ½`` (exact signs), or (0, False)."""
    guess = np.floor(lo_h + 0.5)
    for k in (guess, guess + 1.0, guess - 1.0):
        below_h, below_l = dd_add(lo_h, lo_l, -(k - 0.5), 0.0)
        above_h, above_l = dd_add(k + 0.5, 0.0, -hi_h, -hi_l)
        if _positive(below_h, below_l) and _positive(above_h, above_l):
            return k, True
    return 0.0, False


@njit(cache=True)
def _round_scaled(u_h, u_l, width, scale_h, scale_l):
    """RN(σ' x) for x = U · width_L with U ∈ [u, u + width): decided in double-double, or not.

    First in binary64 with a wide margin (u_h is within 2⁻⁵³ relative of u,
    scale_h of σ' x_L, each product rounds once: 2⁻⁴⁹ of the value covers
    them), which decides all but about 2⁻²⁰ of the draws at σ' < 2²⁵.
    """
    low = u_h * scale_h
    high = (u_h + width) * scale_h
    margin = 2.0**-49 * (abs(high) + abs(low)) + 2.0**-1000
    k = np.floor(low - margin + 0.5)
    if k == np.floor(high + margin + 0.5):
        return k, True
    lo_h, lo_l = dd_mul(u_h, u_l, scale_h, scale_l)
    hi_h, hi_l = dd_add(u_h, u_l, width, 0.0)
    hi_h, hi_l = dd_mul(hi_h, hi_l, scale_h, scale_l)
    lo_h, lo_l = dd_add(lo_h, lo_l, -Y_RELATIVE_ERROR * abs(lo_h) - 2.0**-1000, 0.0)
    hi_h, hi_l = dd_add(hi_h, hi_l, Y_RELATIVE_ERROR * abs(hi_h) + 2.0**-1000, 0.0)
    return _cell(lo_h, lo_l, hi_h, hi_l)


@njit(cache=True)
def _extra(key, index, j, block):
    """Word j of normal ``index``'s refinement stream: word j % 8 of block ``index`` of stream 1 + j // 8.

    ``block`` (9 words) caches one block: words 0–7, and in word 8 the stream it holds.
    """
    stream = np.uint64(1 + j // 8)
    if block[8] != stream:
        _block(key, index, stream, block)
        block[8] = stream
    return block[j % 8]


@njit(cache=True)
def _slice(word):
    """A word's top 53 bits as an exactly represented float in [0, 2⁵³)."""
    return np.float64(np.int64(word >> np.uint64(11)))


@njit(cache=True)
def _slow_normal(key, index, word, scale, scale_hi, scale_lo, block):
    """The full sampler for the draws the fast path could not decide: (K as a float, ok)."""
    j = 0
    for _attempt in range(MAX_ATTEMPTS):
        layer = np.intp(word & np.uint64(255))
        negative = (word >> np.uint64(8)) & np.uint64(1)
        first = np.int64(word >> np.uint64(11))
        if j + 6 > MAX_EXTRA_WORDS:
            return 0.0, False
        second = np.int64(_extra(key, index, j, block) >> np.uint64(11))
        j += 1
        # Fast-accept test U < k_L, on the first then the second 53 bits of U (exact integer compares).
        if first != THRESHOLD_1[layer]:
            inside = first < THRESHOLD_1[layer]
        elif second != THRESHOLD_2[layer]:
            inside = second < THRESHOLD_2[layer]
        else:
            return 0.0, False
        # U in double-double: first 2^-53 + second 2^-106 (exact), U* in [U, U + 2^-106).
        u_h, u_l = fast_two_sum(np.float64(first) * _TWO_M53, np.float64(second) * _TWO_M106)
        if inside:
            k, ok = _round_scaled(u_h, u_l, _TWO_M106, scale_hi[layer], scale_lo[layer])
            return (-k if negative else k), ok
        if layer == 0:
            k, ok = _tail(key, index, j, scale, block)
            return (-k if negative else k), ok
        # Wedge of layer L: accept iff f_L + V (f_{L-1} − f_L) < exp(−x²/2), x = U x_L.
        v1 = _slice(_extra(key, index, j, block))
        v2 = _slice(_extra(key, index, j + 1, block))
        j += 2
        v_h, v_l = fast_two_sum(v1 * _TWO_M53, v2 * _TWO_M106)
        decided, accept = _wedge_binary64(layer, u_h, v_h)
        if not decided:
            decided, accept = _wedge(layer, u_h, u_l, v_h, v_l)
        if not decided:
            return 0.0, False
        if accept:
            k, ok = _round_scaled(u_h, u_l, _TWO_M106, scale_hi[layer], scale_lo[layer])
            return (-k if negative else k), ok
        word = _extra(key, index, j, block)
        j += 1
    return 0.0, False


#: Relative margin of :func:`_wedge_binary64`: each of its quantities is within 16 u of the exact one.
WEDGE_MARGIN = 2.0**-45


@njit(cache=True)
def _wedge_binary64(layer, u, v):
    """(decided, accept) for the wedge test in binary64, from U ∈ [u, u + 2⁻⁵²], V ∈ [v, v + 2⁻⁵²].

    The same test as :func:`_wedge` with wider enclosures: x = U x_L squared,
    ``exp(−x²/2)`` by :func:`~skunlearn._backends._elementary.exp_nonpositive`
    (within 8u), ``f_L + V (f_{L−1} − f_L)``: a few binary64 operations on
    table values within u of the exact ones, so every quantity is within 16 u
    relative; :data:`WEDGE_MARGIN` (256 u) encloses them with room. Decides
    all but about 10⁻¹² of the wedge visits; the rest go to the double-double
    test. A decision here is the ideal sampler's: both intervals contain the
    exact values for every U and V the bits read so far allow.
    """
    width = WIDTH_HI[layer]
    x_lo = u * width * (1.0 - WEDGE_MARGIN)
    x_hi = (u + 2.0**-52) * width * (1.0 + WEDGE_MARGIN)
    lower = exp_nonpositive(-0.5 * x_hi * x_hi * (1.0 + WEDGE_MARGIN)) * (1.0 - WEDGE_MARGIN)
    upper = exp_nonpositive(-0.5 * x_lo * x_lo * (1.0 - WEDGE_MARGIN)) * (1.0 + WEDGE_MARGIN)
    gap = DENSITY_HI[layer - 1] - DENSITY_HI[layer]
    left_lo = (DENSITY_HI[layer] + v * gap) * (1.0 - WEDGE_MARGIN)
    left_hi = (DENSITY_HI[layer] + (v + 2.0**-52) * gap) * (1.0 + WEDGE_MARGIN)
    if left_hi < lower:
        return True, True
    if left_lo > upper:
        return True, False
    return False, False


@njit(cache=True)
def _wedge(layer, u_h, u_l, v_h, v_l):
    """(decided, accept) for the wedge test of ``layer`` with U ∈ [u, u + 2⁻¹⁰⁶), V ∈ [v, v + 2⁻¹⁰⁶)."""
    width_h, width_l = WIDTH_HI[layer], WIDTH_LO[layer]
    x_lo_h, x_lo_l = dd_mul(u_h, u_l, width_h, width_l)
    x_hi_h, x_hi_l = dd_add(u_h, u_l, _TWO_M106, 0.0)
    x_hi_h, x_hi_l = dd_mul(x_hi_h, x_hi_l, width_h, width_l)
    # exp(−x²/2) is decreasing in x ≥ 0: its interval from the far ends, x² widened by 2^-97 relative (the
    # tables' 2^-106 and three products' 8u² each, doubled by the square), then by dd_exp's own error.
    sq_h, sq_l = dd_mul(x_hi_h, x_hi_l, x_hi_h, x_hi_l)
    sq_h, sq_l = dd_add(sq_h, sq_l, 2.0**-97 * sq_h, 0.0)
    lower_h, lower_l = dd_exp(-0.5 * sq_h, -0.5 * sq_l)
    sq_h, sq_l = dd_mul(x_lo_h, x_lo_l, x_lo_h, x_lo_l)
    sq_h, sq_l = dd_add(sq_h, sq_l, -2.0**-97 * sq_h, 0.0)
    upper_h, upper_l = dd_exp(-0.5 * sq_h, -0.5 * sq_l)
    lower_h, lower_l = dd_add(lower_h, lower_l, -EXP_RELATIVE_ERROR * lower_h, 0.0)
    upper_h, upper_l = dd_add(upper_h, upper_l, EXP_RELATIVE_ERROR * upper_h, 0.0)
    # f_L + V (f_{L-1} − f_L), with V at its two ends; the tables err by 2^-106 relative (2^-105 charged).
    gap_h, gap_l = dd_add(DENSITY_HI[layer - 1], DENSITY_LO[layer - 1], -DENSITY_HI[layer], -DENSITY_LO[layer])
    left_lo_h, left_lo_l = dd_mul(v_h, v_l, gap_h, gap_l)
    left_lo_h, left_lo_l = dd_add(left_lo_h, left_lo_l, DENSITY_HI[layer], DENSITY_LO[layer])
    left_hi_h, left_hi_l = dd_add(v_h, v_l, _TWO_M106, 0.0)
    left_hi_h, left_hi_l = dd_mul(left_hi_h, left_hi_l, gap_h, gap_l)
    left_hi_h, left_hi_l = dd_add(left_hi_h, left_hi_l, DENSITY_HI[layer], DENSITY_LO[layer])
    left_lo_h, left_lo_l = dd_add(left_lo_h, left_lo_l, -2.0**-100, 0.0)
    left_hi_h, left_hi_l = dd_add(left_hi_h, left_hi_l, 2.0**-100, 0.0)
    accept_h, accept_l = dd_add(lower_h, lower_l, -left_hi_h, -left_hi_l)
    if _positive(accept_h, accept_l):
        return True, True
    reject_h, reject_l = dd_add(left_lo_h, left_lo_l, -upper_h, -upper_l)
    if _positive(reject_h, reject_l):
        return True, False
    return False, False


@njit(cache=True)
def _uniform_106(key, index, j, block):
    a = _slice(_extra(key, index, j, block))
    b = _slice(_extra(key, index, j + 1, block))
    return fast_two_sum(a * _TWO_M53, b * _TWO_M106)


@njit(cache=True)
def _tail(key, index, j, scale, block):
    """RN(σ' x) for x from the tail beyond r [Marsaglia 1964]: t = −log(U₁)/r, accept iff −2 log U₂ > t²."""
    for _ in range(MAX_TAIL_ROUNDS):
        if j + 4 > MAX_EXTRA_WORDS:
            return 0.0, False
        a_h, a_l = _uniform_106(key, index, j, block)
        b_h, b_l = _uniform_106(key, index, j + 2, block)
        j += 4
        if a_h == 0.0 or b_h == 0.0:
            return 0.0, False
        # −log is decreasing: U₁ ∈ [a, a + 2^-106) gives t ∈ [−log(a + 2^-106)/r, −log(a)/r].
        top_h, top_l = dd_add(a_h, a_l, _TWO_M106, 0.0)
        la_h, la_l, ok_a = dd_log(a_h, a_l)
        lt_h, lt_l, ok_t = dd_log(min(top_h, 1.0), top_l if top_h < 1.0 else 0.0)
        lb_h, lb_l, ok_b = dd_log(b_h, b_l)
        bt_h, bt_l = dd_add(b_h, b_l, _TWO_M106, 0.0)
        lbt_h, lbt_l, ok_bt = dd_log(min(bt_h, 1.0), bt_l if bt_h < 1.0 else 0.0)
        if not (ok_a and ok_t and ok_b and ok_bt):
            return 0.0, False
        # t = −log(U₁) / r, with 1/r in dd: division by r done as a dd product with 1/r.
        inv_h, inv_l = _reciprocal(R_HI, R_LO)
        t_lo_h, t_lo_l = dd_mul(-lt_h, -lt_l, inv_h, inv_l)
        t_hi_h, t_hi_l = dd_mul(-la_h, -la_l, inv_h, inv_l)
        t_lo_h, t_lo_l = dd_add(t_lo_h, t_lo_l, -2.0**-88, 0.0)
        t_hi_h, t_hi_l = dd_add(t_hi_h, t_hi_l, 2.0**-88, 0.0)
        if t_lo_h < 0.0:
            t_lo_h, t_lo_l = 0.0, 0.0
        # Accept iff −2 log U₂ > t²: decided when the intervals do not overlap.
        e_lo_h, e_lo_l = -2.0 * lbt_h, -2.0 * lbt_l  # −2 log(b + 2^-106): the smallest −2 log U₂
        e_hi_h, e_hi_l = -2.0 * lb_h, -2.0 * lb_l
        e_lo_h, e_lo_l = dd_add(e_lo_h, e_lo_l, -2.0**-87, 0.0)
        e_hi_h, e_hi_l = dd_add(e_hi_h, e_hi_l, 2.0**-87, 0.0)
        sq_lo_h, sq_lo_l = dd_mul(t_lo_h, t_lo_l, t_lo_h, t_lo_l)
        sq_hi_h, sq_hi_l = dd_mul(t_hi_h, t_hi_l, t_hi_h, t_hi_l)
        sq_lo_h, sq_lo_l = dd_add(sq_lo_h, sq_lo_l, -2.0**-100 * sq_lo_h, 0.0)
        sq_hi_h, sq_hi_l = dd_add(sq_hi_h, sq_hi_l, 2.0**-100 * sq_hi_h, 0.0)
        accept_h, accept_l = dd_add(e_lo_h, e_lo_l, -sq_hi_h, -sq_hi_l)
        reject_h, reject_l = dd_add(sq_lo_h, sq_lo_l, -e_hi_h, -e_hi_l)
        if _positive(accept_h, accept_l):
            # x = r + t; σ' x in dd, widened.
            x_lo_h, x_lo_l = dd_add(t_lo_h, t_lo_l, R_HI, R_LO)
            x_hi_h, x_hi_l = dd_add(t_hi_h, t_hi_l, R_HI, R_LO)
            y_lo_h, y_lo_l = dd_mul_fp(x_lo_h, x_lo_l, scale)
            y_hi_h, y_hi_l = dd_mul_fp(x_hi_h, x_hi_l, scale)
            y_lo_h, y_lo_l = dd_add(y_lo_h, y_lo_l, -Y_RELATIVE_ERROR * y_lo_h, 0.0)
            y_hi_h, y_hi_l = dd_add(y_hi_h, y_hi_l, Y_RELATIVE_ERROR * y_hi_h, 0.0)
            return _cell(y_lo_h, y_lo_l, y_hi_h, y_hi_l)
        if not _positive(reject_h, reject_l):
            return 0.0, False
    return 0.0, False


@njit(cache=True)
def _reciprocal(h, l):
    """1 / (h + l) in double-double: one Newton step from the binary64 quotient."""
    q = 1.0 / h
    # residual 1 − q (h + l), exact product parts
    ph, pl = two_prod(q, h)
    rh, rl = dd_add(1.0, 0.0, -ph, -pl)
    rh, rl = dd_add(rh, rl, -q * l, 0.0)
    return fast_two_sum(q, q * rh)


@njit(cache=True)
def grid_normal(key, index, scale, scale_hi, scale_lo, block):
    """``(K, ok)``: K = RN(σ' ξ) as a float for normal ``index`` of ``key``; ok False on a failure.

    ``key`` is a :func:`kernel_key`; ``scale`` is σ'; ``scale_hi/lo[L]`` the double-double ``σ' x_L``
    (see :func:`scaled_widths`);
    ``block`` a uint64 scratch array of 9 words.
    """
    _block(key, index >> np.uint64(3), np.uint64(0), block)
    block[8] = np.uint64(0)  # the cache holds stream 0, no refinement block
    word = block[np.intp(index & np.uint64(7))]
    return _decide(key, index, word, scale, scale_hi, scale_lo, block)


@njit(cache=True, inline="always")
def _fast_draw(word, scale_hi):
    """The fast path on one keystream word: ``(K, decided)``, K signed, meaningful only when decided.

    The layer (8 bits), the sign (bit 8) and 53 bits ``J`` of U; ``J`` below
    the layer's integer threshold accepts, and ``σ' ξ ∈ [J, J + 1] · σ' x_L 2⁻⁵³``
    widened by :data:`FAST_MARGIN` must lie in one rounding cell.
    """
    layer = np.intp(word & np.uint64(255))
    magnitude = np.int64(word >> np.uint64(11))
    a = scale_hi[layer] * _TWO_M53
    low = np.float64(magnitude) * a
    high = (np.float64(magnitude) + 1.0) * a
    margin = FAST_MARGIN * (high + 1.0)
    k = np.floor(low - margin + 0.5)
    decided = (magnitude < THRESHOLD_1[layer]) and (k == np.floor(high + margin + 0.5))
    sign = 1.0 - 2.0 * np.float64(np.int64((word >> np.uint64(8)) & np.uint64(1)))
    return sign * k, decided


@njit(cache=True, inline="always")
def _decide(key, index, word, scale, scale_hi, scale_lo, block):
    k, decided = _fast_draw(word, scale_hi)
    if decided:
        return k, True
    return _slow_normal(key, index, word, scale, scale_hi, scale_lo, block)


@njit(cache=True)
def scaled_widths(scale):
    """``σ' x_L`` for every layer in double-double (the fast path reads the high parts)."""
    hi = np.empty(WIDTH_HI.size)
    lo = np.empty(WIDTH_HI.size)
    for layer in range(WIDTH_HI.size):
        hi[layer], lo[layer] = dd_mul_fp(WIDTH_HI[layer], WIDTH_LO[layer], scale)
    return hi, lo


#: ChaCha20 blocks computed side by side by :func:`_keystream` (16 × 32-bit lanes: SIMD on AVX2/AVX-512).
LANES = 16


@njit(cache=True, inline="always")
def _lane_quarter(x, a, b, c, d):
    """The ChaCha quarter round [RFC 8439 §2.1] on rows a, b, c, d of ``x``, in every lane (uint32 wraps)."""
    for lane in range(LANES):
        xa = np.uint32(x[a, lane] + x[b, lane])
        xd = x[d, lane] ^ xa
        xd = np.uint32((xd << np.uint32(16)) | (xd >> np.uint32(16)))
        xc = np.uint32(x[c, lane] + xd)
        xb = x[b, lane] ^ xc
        xb = np.uint32((xb << np.uint32(12)) | (xb >> np.uint32(20)))
        xa = np.uint32(xa + xb)
        xd = xd ^ xa
        xd = np.uint32((xd << np.uint32(8)) | (xd >> np.uint32(24)))
        xc = np.uint32(xc + xd)
        xb = xb ^ xc
        xb = np.uint32((xb << np.uint32(7)) | (xb >> np.uint32(25)))
        x[a, lane] = xa
        x[b, lane] = xb
        x[c, lane] = xc
        x[d, lane] = xd


@njit(cache=True)
def _keystream(key, counters, nonce, out):
    """Blocks ``counters[l]`` of stream ``nonce``, l < LANES: ``out[8 l + j]`` is word j of lane l's block.

    The same words as :func:`chacha20_block` (the tests compare them), computed
    a lane per block so that the compiler vectorises the rounds. The state is
    allocated here, not passed in: two array arguments may alias, and that
    alone made the rounds 2.5 times slower (the compiler no longer vectorised
    them).
    """
    if key[8] == np.uint64(1):  # SplitMix64, by name only: the words of _block, written in place
        seed = key[0] | (key[1] << np.uint64(32))
        for lane in range(LANES):
            base = (nonce << np.uint64(56)) ^ (counters[lane] * np.uint64(8))
            for j in range(8):
                out[8 * lane + j] = _splitmix_word(seed, base + np.uint64(j))
        return
    initial = np.empty((16, LANES), dtype=np.uint32)
    for lane in range(LANES):
        counter = counters[lane]
        initial[0, lane] = np.uint32(0x61707865)
        initial[1, lane] = np.uint32(0x3320646E)
        initial[2, lane] = np.uint32(0x79622D32)
        initial[3, lane] = np.uint32(0x6B206574)
        for i in range(8):
            initial[4 + i, lane] = np.uint32(key[i])
        initial[12, lane] = np.uint32(counter & np.uint64(0xFFFFFFFF))
        initial[13, lane] = np.uint32(counter >> np.uint64(32))
        initial[14, lane] = np.uint32(nonce & np.uint64(0xFFFFFFFF))
        initial[15, lane] = np.uint32(nonce >> np.uint64(32))
    state = initial.copy()
    for _ in range(10):
        _lane_quarter(state, 0, 4, 8, 12)
        _lane_quarter(state, 1, 5, 9, 13)
        _lane_quarter(state, 2, 6, 10, 14)
        _lane_quarter(state, 3, 7, 11, 15)
        _lane_quarter(state, 0, 5, 10, 15)
        _lane_quarter(state, 1, 6, 11, 12)
        _lane_quarter(state, 2, 7, 8, 13)
        _lane_quarter(state, 3, 4, 9, 14)
    for lane in range(LANES):
        for j in range(8):
            low = np.uint64(np.uint32(state[2 * j, lane] + initial[2 * j, lane]))
            high = np.uint64(np.uint32(state[2 * j + 1, lane] + initial[2 * j + 1, lane]))
            out[8 * lane + j] = low | (high << np.uint64(32))


@njit(cache=True)
def fill_grid_noise(out, lo, hi, key, first, scale, grid, scale_hi, scale_lo):
    """``out[i] = grid · RN(σ' ξ_{first+i})`` for i in [lo, hi); returns the number of failed draws.

    ``scale`` = σ' = s / Λ, ``grid`` = Λ; each value is an exact multiple of Λ.
    Normal ``index`` starts from word ``index % 8`` of block ``index // 8`` of
    stream 0. Two passes: the keystream a ``LANES``-block chunk at a time and
    the fast path of :func:`_decide` on each of its words (about 98.8 % of
    draws), then the undecided draws through the full sampler, their first
    refinement blocks computed ``LANES`` at a time.
    """
    if hi <= lo:
        return 0
    words = np.empty(8 * LANES, dtype=np.uint64)
    counters = np.empty(LANES, dtype=np.uint64)
    offset = np.int64(first)
    start = offset + lo
    stop = offset + hi
    capacity = (hi - lo) // 16 + LANES
    pending_index = np.empty(capacity, dtype=np.int64)
    pending_word = np.empty(capacity, dtype=np.uint64)
    n_slow = 0
    failures = 0
    block = np.empty(9, dtype=np.uint64)
    base = (start // 8) * 8
    while base < stop:
        for lane in range(LANES):
            counters[lane] = np.uint64(base // 8 + lane)
        _keystream(key, counters, np.uint64(0), words)
        for index in range(max(base, start), min(base + 8 * LANES, stop)):
            word = words[index - base]
            k, fast = _fast_draw(word, scale_hi)
            out[index - offset] = k * grid
            if not fast:
                if n_slow < capacity:
                    pending_index[n_slow] = index
                    pending_word[n_slow] = word
                    n_slow += 1
                else:  # more undecided draws than expected: the full sampler at once
                    block[8] = np.uint64(0)
                    k, ok = _slow_normal(key, np.uint64(index), word, scale, scale_hi, scale_lo, block)
                    failures += not ok
                    out[index - offset] = k * grid
        base += 8 * LANES
    for first_pending in range(0, n_slow, LANES):
        count = min(LANES, n_slow - first_pending)
        for lane in range(LANES):
            counters[lane] = np.uint64(pending_index[first_pending + min(lane, count - 1)])
        _keystream(key, counters, np.uint64(1), words)  # each draw's first refinement block
        for lane in range(count):
            index = pending_index[first_pending + lane]
            for j in range(8):
                block[j] = words[8 * lane + j]
            block[8] = np.uint64(1)
            k, ok = _slow_normal(key, np.uint64(index), pending_word[first_pending + lane], scale, scale_hi,
                                 scale_lo, block)
            failures += not ok
            out[index - offset] = k * grid
    return failures
