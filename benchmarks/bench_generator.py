"""What a cryptographic core would cost the noise generator: ChaCha20 words against SplitMix64 words.

The noise key is secret (operating-system entropy), but the generator's core,
SplitMix64, is a statistical mixer, not a pseudorandom function: the
certificate assumes an observer cannot predict the stream without the key.
A counter-based generator with a cryptographic core (ChaCha20, RFC 8439)
would make that assumption standard. This script measures, in one process and
interleaved, the cost of the 64-bit words each core produces in numba on one
thread, next to the cost of the normals the kernels draw (one word per normal
on the ziggurat's fast path, about 98.8% of draws).

Usage: ``python benchmarks/bench_generator.py``. A measurement, not a goal:
it exits 0.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numba import njit, uint32, uint64

from skunlearn._backends._ziggurat import GOLDEN, MIX_1, MIX_2
from skunlearn._backends.numba_cpu import fill_normals


@njit(cache=True, inline="always")
def _rotl(value, shift):
    return uint32((value << uint32(shift)) | (value >> uint32(32 - shift)))


@njit(cache=True, inline="always")
def _quarter(state, a, b, c, d):
    state[a] = uint32(state[a] + state[b]); state[d] = _rotl(state[d] ^ state[a], 16)  # noqa: E702
    state[c] = uint32(state[c] + state[d]); state[b] = _rotl(state[b] ^ state[c], 12)  # noqa: E702
    state[a] = uint32(state[a] + state[b]); state[d] = _rotl(state[d] ^ state[a], 8)  # noqa: E702
    state[c] = uint32(state[c] + state[d]); state[b] = _rotl(state[b] ^ state[c], 7)  # noqa: E702


@njit(cache=True)
def chacha20_words(out, key, counter):
    """ChaCha20 blocks (RFC 8439 §2.3) for block counters ``counter, counter + 1, ...``: 8 words of 64 bits each."""
    initial = np.empty(16, dtype=np.uint32)
    state = np.empty(16, dtype=np.uint32)
    initial[0], initial[1], initial[2], initial[3] = 0x61707865, 0x3320646E, 0x79622D32, 0x6B206574
    for i in range(8):
        initial[4 + i] = key[i]
    initial[14] = 0
    initial[15] = 0
    for block in range(out.size // 8):
        position = counter + block
        initial[12] = uint32(position & 0xFFFFFFFF)
        initial[13] = uint32(position >> 32)
        state[:] = initial
        for _ in range(10):
            _quarter(state, 0, 4, 8, 12)
            _quarter(state, 1, 5, 9, 13)
            _quarter(state, 2, 6, 10, 14)
            _quarter(state, 3, 7, 11, 15)
            _quarter(state, 0, 5, 10, 15)
            _quarter(state, 1, 6, 11, 12)
            _quarter(state, 2, 7, 8, 13)
            _quarter(state, 3, 4, 9, 14)
        for i in range(8):
            low = uint64(uint32(state[2 * i] + initial[2 * i]))
            high = uint64(uint32(state[2 * i + 1] + initial[2 * i + 1]))
            out[8 * block + i] = low | (high << uint64(32))


@njit(cache=True)
def splitmix_words(out, key, first):
    """The words of the current generator (``skunlearn._backends._ziggurat``)."""
    for i in range(out.size):
        z = key + GOLDEN * uint64(first + i)
        z = (z ^ (z >> uint64(30))) * MIX_1
        z = (z ^ (z >> uint64(27))) * MIX_2
        out[i] = z ^ (z >> uint64(31))


def _rfc8439_test_vector():
    """RFC 8439 §2.3.2: key 00..1f, nonce 000000090000004a00000000, counter 1 — checked on the first word."""
    key = np.frombuffer(bytes(range(32)), dtype="<u4").copy()
    # The test vector's nonce is not zero; emulate it by the same state words (12..15) through a one-off run.
    initial = np.array([0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *key, 1, 0x09000000, 0x4A000000, 0],
                       dtype=np.uint32)
    state = initial.copy()
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            _quarter(state, a, b, c, d)
    return int((state[0] + initial[0]) & 0xFFFFFFFF) == 0xE4E7F110


def main():
    n_words = 3_700_000  # the normals of one epoch at 60,000 x 784 x 10 classes, batch 128
    words = np.empty(n_words, dtype=np.uint64)
    key = np.arange(8, dtype=np.uint32) * np.uint32(0x9E3779B9)
    normals = np.empty(n_words)
    chacha20_words(words[:8], key, 0)
    splitmix_words(words[:8], uint64(12345), 0)
    fill_normals(normals[:8], np.uint64(12345), 0)
    assert _rfc8439_test_vector(), "ChaCha20 does not reproduce the RFC 8439 test vector"
    best = {"splitmix": np.inf, "chacha20": np.inf, "normals": np.inf}
    for _ in range(5):
        for name, call in (("splitmix", lambda: splitmix_words(words, uint64(12345), 0)),
                           ("chacha20", lambda: chacha20_words(words, key, 0)),
                           ("normals", lambda: fill_normals(normals, np.uint64(12345), 0))):
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"{n_words / 1e6:.1f} M words, one thread, best of 5 interleaved rounds")
    print(f"  SplitMix64 words (current core)       {best['splitmix'] * 1e3:7.1f} ms")
    print(f"  ChaCha20 words (cryptographic core)   {best['chacha20'] * 1e3:7.1f} ms  "
          f"({best['chacha20'] / best['splitmix']:.1f}x)")
    print(f"  ziggurat normals from SplitMix64      {best['normals'] * 1e3:7.1f} ms  "
          f"(with ChaCha20 words about {(best['normals'] + best['chacha20'] - best['splitmix']) * 1e3:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
