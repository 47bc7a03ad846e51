"""ChaCha20 (Bernstein 2008; RFC 8439 §2.3) in numba: the noise's cryptographic counter-mode core.

The Gaussian noise of :mod:`skunlearn._backends._grid_noise` reads its uniform
bits from the ChaCha20 keystream under a 256-bit key. Block ``counter`` of
stream ``nonce`` is a pure function of ``(key, counter, nonce)``, so threads
draw disjoint blocks with no shared state and the result does not depend on
the number of threads. State layout: the four constants, the eight key words,
a 64-bit block counter (words 12–13) and a 64-bit nonce (words 14–15), as in
Bernstein's original ChaCha and in OpenSSL's ``EVP_chacha20`` with a 16-byte
IV (which ``tests/backends/test_grid_noise.py`` checks through the
``cryptography`` package, with RFC 8439's own test vector).

Why a cipher: whoever can predict the noise can subtract it. SplitMix64, the
previous core, is a statistical generator; its outputs reveal its state. A
keystream from a key drawn from the operating system cannot be told from
uniform bits by anyone without the key (the standard pseudo-random-function
assumption on ChaCha20), which is the model in which the certificate's noise
is exact (computational differential privacy, Mironov, Pandey, Reingold &
Vadhan, CRYPTO 2009).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["chacha20_block", "key_words"]

_MASK = np.uint64(0xFFFFFFFF)
#: "expand 32-byte k" as four little-endian words [RFC 8439 §2.3].
_C0, _C1, _C2, _C3 = (np.uint64(c) for c in (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574))


def key_words(key: int) -> np.ndarray:
    """The eight little-endian 32-bit words of a 256-bit key (an int in [0, 2²⁵⁶)), as uint64.

    Examples
    --------
    >>> key_words(1)[:2].tolist()
    [1, 0]
    """
    key = int(key)
    if not 0 <= key < 2**256:
        raise ValueError("the noise key must be an integer in [0, 2**256)")
    return np.array([(key >> (32 * i)) & 0xFFFFFFFF for i in range(8)], dtype=np.uint64)


@njit(cache=True, inline="always")
def _rotl(v, n):
    return ((v << np.uint64(n)) | (v >> np.uint64(32 - n))) & _MASK


@njit(cache=True, inline="always")
def _quarter(a, b, c, d):
    a = (a + b) & _MASK
    d = _rotl(d ^ a, 16)
    c = (c + d) & _MASK
    b = _rotl(b ^ c, 12)
    a = (a + b) & _MASK
    d = _rotl(d ^ a, 8)
    c = (c + d) & _MASK
    b = _rotl(b ^ c, 7)
    return a, b, c, d


@njit(cache=True)
def chacha20_block(key, counter, nonce, out):
    """Block ``counter`` of stream ``nonce`` as eight 64-bit words: ``out[j] = w[2j] | w[2j+1] << 32``.

    ``key``: eight 32-bit words (uint64 array, :func:`key_words`); ``counter``
    and ``nonce``: uint64; ``out``: uint64 array of length 8.
    """
    s0, s1, s2, s3 = _C0, _C1, _C2, _C3
    s4, s5, s6, s7 = key[0], key[1], key[2], key[3]
    s8, s9, s10, s11 = key[4], key[5], key[6], key[7]
    s12, s13 = counter & _MASK, counter >> np.uint64(32)
    s14, s15 = nonce & _MASK, nonce >> np.uint64(32)
    x0, x1, x2, x3, x4, x5, x6, x7 = s0, s1, s2, s3, s4, s5, s6, s7
    x8, x9, x10, x11, x12, x13, x14, x15 = s8, s9, s10, s11, s12, s13, s14, s15
    for _ in range(10):  # 20 rounds: a column round and a diagonal round each time
        x0, x4, x8, x12 = _quarter(x0, x4, x8, x12)
        x1, x5, x9, x13 = _quarter(x1, x5, x9, x13)
        x2, x6, x10, x14 = _quarter(x2, x6, x10, x14)
        x3, x7, x11, x15 = _quarter(x3, x7, x11, x15)
        x0, x5, x10, x15 = _quarter(x0, x5, x10, x15)
        x1, x6, x11, x12 = _quarter(x1, x6, x11, x12)
        x2, x7, x8, x13 = _quarter(x2, x7, x8, x13)
        x3, x4, x9, x14 = _quarter(x3, x4, x9, x14)
    shift = np.uint64(32)
    out[0] = ((x0 + s0) & _MASK) | (((x1 + s1) & _MASK) << shift)
    out[1] = ((x2 + s2) & _MASK) | (((x3 + s3) & _MASK) << shift)
    out[2] = ((x4 + s4) & _MASK) | (((x5 + s5) & _MASK) << shift)
    out[3] = ((x6 + s6) & _MASK) | (((x7 + s7) & _MASK) << shift)
    out[4] = ((x8 + s8) & _MASK) | (((x9 + s9) & _MASK) << shift)
    out[5] = ((x10 + s10) & _MASK) | (((x11 + s11) & _MASK) << shift)
    out[6] = ((x12 + s12) & _MASK) | (((x13 + s13) & _MASK) << shift)
    out[7] = ((x14 + s14) & _MASK) | (((x15 + s15) & _MASK) << shift)
