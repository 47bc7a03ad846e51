"""A counter-based Gaussian generator: SplitMix64 words and a 256-layer ziggurat.

At the benchmark's scale (3.7 M normals an epoch) the noise costs as much as
reading X, so the generator is part of the kernel's design. It must be

* exact: the certificate is a statement about Gaussian noise. The ziggurat of
  Marsaglia & Tsang (J. Stat. Softw. 5(8), 2000) samples N(0, 1) exactly, up
  to the 52-bit resolution of its words, like numpy's own ``standard_normal``;
* fast and parallel: normal number ``i`` of a key is a pure function of
  ``(key, i)``, so threads draw disjoint index ranges with no shared state, and
  the kernel's result does not depend on the number of threads;
* reproducible outside the kernel: :func:`reference_normals` draws the very
  same numbers with numpy, vectorised, for the tests and the reference.

Words. ``word(key, i, j) = mix(key + φ · (64 i + j))`` with ``mix`` the
SplitMix64 finaliser and φ the 64-bit golden ratio: SplitMix64 (Steele, Lea &
Flood, OOPSLA 2014) evaluated at position ``64 i + j`` of its Weyl sequence.
Normal ``i`` uses words ``j = 3a, 3a + 1, 3a + 2`` in its attempt ``a``.

Ziggurat (numpy's 52-bit layout). From word ``u``: layer ``k = u & 255``, sign
bit, 52-bit magnitude ``m``; ``x = m · w_k``; accept at once when
``m < k_k`` (about 98.8% of draws). Otherwise layer 0 samples the tail beyond
``r`` by Marsaglia's method, and other layers accept ``x`` when a uniform
point of the wedge lies under the density; else the next attempt starts.
Attempts stop after :data:`MAX_ATTEMPTS` (probability below 1e-40).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_ABS_NORMAL", "MAX_ATTEMPTS", "ZIGGURAT_R", "reference_normals", "ziggurat_tables"]

#: Right edge of the outermost rectangle for 256 layers [Marsaglia & Tsang 2000, Table 1].
ZIGGURAT_R = 3.6541528853610088

#: Attempts per normal (each fails with probability about 1.2e-2).
MAX_ATTEMPTS = 21

#: Largest magnitude a generated normal can take: the tail sample ``r − log(1 − u)/r`` with the
#: largest 53-bit uniform, ``u = 1 − 2⁻⁵³``; every other branch stays below the base strip's width (< 4).
#: The rounding bound of :mod:`skunlearn.accounting.floating_point` uses it.
MAX_ABS_NORMAL = ZIGGURAT_R + 53.0 * math.log(2.0) / ZIGGURAT_R + 1e-9

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
MIX_2 = np.uint64(0x94D049BB133111EB)
MANTISSA = 2.0**52


def ziggurat_tables():
    """Tables ``(k, w, f)`` of the 256-layer ziggurat for the density ``exp(−x²/2)``.

    Marsaglia & Tsang's construction: every layer has the area
    ``v = r f(r) + ∫_r^∞ f``; layer 255 has right edge r, and
    ``x_{i−1} = sqrt(−2 log(v / x_i + f(x_i)))``. Layer 0 is the base strip of
    width ``v / f(r)``, which holds the tail. ``k_i = 2^52 x_{i−1} / x_i`` is
    the fast-accept threshold, ``w_i = x_i / 2^52`` the scale, ``f_i = f(x_i)``.
    """
    r = ZIGGURAT_R
    density = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    area = r * density(r) + math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))
    edges = np.empty(256)
    edges[255] = r
    for i in range(255, 1, -1):
        edges[i - 1] = math.sqrt(-2.0 * math.log(area / edges[i] + density(edges[i])))
    base_width = area / density(r)
    k = np.empty(256, dtype=np.uint64)
    w = np.empty(256)
    f = np.empty(256)
    k[0] = np.uint64(int(r / base_width * MANTISSA))
    w[0] = base_width / MANTISSA
    f[0] = 1.0
    k[1] = np.uint64(0)
    for i in range(1, 256):
        w[i] = edges[i] / MANTISSA
        f[i] = density(edges[i])
        if i >= 2:
            k[i] = np.uint64(int(edges[i - 1] / edges[i] * MANTISSA))
    return k, w, f


K_TABLE, W_TABLE, F_TABLE = ziggurat_tables()


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * MIX_1
    z = (z ^ (z >> np.uint64(27))) * MIX_2
    return z ^ (z >> np.uint64(31))


def _words(key, index, j):
    with np.errstate(over="ignore"):
        return _mix(np.uint64(key) + GOLDEN * (np.asarray(index, dtype=np.uint64) * np.uint64(64) + np.uint64(j)))


def _uniform(word):
    """A double in [0, 1) from the top 53 bits."""
    return (word >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _attempt(key, index, attempt):
    """One ziggurat attempt for each index: (value, accepted)."""
    word = _words(key, index, 3 * attempt)
    layer = (word & np.uint64(255)).astype(np.intp)
    word = word >> np.uint64(8)
    negative = (word & np.uint64(1)).astype(bool)
    magnitude = (word >> np.uint64(1)) & np.uint64((1 << 52) - 1)
    value = magnitude.astype(np.float64) * W_TABLE[layer]
    accepted = magnitude < K_TABLE[layer]
    slow = np.flatnonzero(~accepted)
    if slow.size:
        u1 = _uniform(_words(key, index[slow], 3 * attempt + 1))
        u2 = _uniform(_words(key, index[slow], 3 * attempt + 2))
        tail = layer[slow] == 0
        # Tail beyond r (Marsaglia 1964): x = -log(1-u1)/r, accept when -2 log(1-u2) > x^2.
        tail_x = -np.log1p(-u1) / ZIGGURAT_R
        tail_ok = tail & (-2.0 * np.log1p(-u2) > tail_x * tail_x)
        wedge = ~tail
        lower = F_TABLE[layer[slow]]
        upper = F_TABLE[np.maximum(layer[slow] - 1, 0)]
        wedge_ok = wedge & (lower + u1 * (upper - lower) < np.exp(-0.5 * value[slow] ** 2))
        value[slow] = np.where(tail, ZIGGURAT_R + tail_x, value[slow])
        accepted[slow] = tail_ok | wedge_ok
    return np.where(negative, -value, value), accepted


def reference_normals(key, start, count):
    """Normals ``start … start + count − 1`` of ``key``, with numpy.

    The same numbers the numba kernels draw (see the module docstring).

    Examples
    --------
    >>> values = reference_normals(12345, 0, 100_000)
    >>> bool(abs(values.mean()) < 0.01 and abs(values.std() - 1) < 0.01)
    True
    """
    index = np.arange(start, start + count, dtype=np.uint64)
    out = np.empty(count)
    pending = np.arange(count)
    for attempt in range(MAX_ATTEMPTS):
        value, accepted = _attempt(key, index[pending], attempt)
        out[pending[accepted]] = value[accepted]
        if attempt == MAX_ATTEMPTS - 1:
            out[pending[~accepted]] = value[~accepted]
        pending = pending[~accepted]
        if pending.size == 0:
            break
    return out
