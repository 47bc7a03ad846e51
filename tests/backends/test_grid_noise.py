"""The grid-noise generator: ChaCha20 against RFC 8439 and OpenSSL, the tables and dd_exp/dd_log
against mpmath, and the law of RN(σ' ξ) against the exact rounded-Gaussian probabilities."""

import importlib.util
import pathlib

import numpy as np
import pytest
from scipy import stats

from skunlearn._backends import _grid_noise as g
from skunlearn._backends._chacha20 import chacha20_block, key_words

mp = pytest.importorskip("mpmath")
KEY = g.kernel_key(0x0123456789ABCDEF_FEDCBA9876543210_0F1E2D3C4B5A6978_8796A5B4C3D2E1F0)


def _block(key, counter, nonce):
    out = np.empty(8, dtype=np.uint64)
    chacha20_block(key, np.uint64(counter), np.uint64(nonce), out)
    return out.tobytes()


def test_chacha20_rfc8439_block_vector():
    # RFC 8439 §2.3.2: key 00..1f, block counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00.
    nonce = bytes.fromhex("000000090000004a00000000")
    words = [int.from_bytes(nonce[i:i + 4], "little") for i in (0, 4, 8)]
    got = _block(key_words(int.from_bytes(bytes(range(32)), "little")), 1 | (words[0] << 32),
                 words[1] | (words[2] << 32))
    assert got == bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")


def test_chacha20_matches_openssl():
    cryptography = pytest.importorskip("cryptography.hazmat.primitives.ciphers")
    key = 0x0123456789ABCDEF_FEDCBA9876543210_0F1E2D3C4B5A6978_8796A5B4C3D2E1F0
    for counter, nonce in [(0, 0), (5, 1), (123456, 7), (2**31 + 3, 2**63 + 11)]:
        iv = counter.to_bytes(8, "little") + nonce.to_bytes(8, "little")
        cipher = cryptography.Cipher(cryptography.algorithms.ChaCha20(key.to_bytes(32, "little"), iv), None)
        assert _block(KEY, counter, nonce) == cipher.encryptor().update(bytes(64))


def test_key_words_rejects_out_of_range():
    with pytest.raises(ValueError, match="2\\*\\*256"):
        key_words(2**256)


def test_tables_are_the_mpmath_ziggurat():
    path = pathlib.Path(__file__).resolve().parents[2] / "tools" / "make_noise_tables.py"
    spec = importlib.util.spec_from_file_location("make_noise_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tables = module.shipped_tables()
    assert (g.R_HI, g.R_LO) == tables["R"]
    assert list(zip(g.WIDTH_HI, g.WIDTH_LO)) == tables["WIDTH"]
    assert list(zip(g.DENSITY_HI, g.DENSITY_LO)) == tables["DENSITY"]
    assert g.THRESHOLD_1.tolist() == tables["THRESHOLD_1"]
    assert g.THRESHOLD_2.tolist() == tables["THRESHOLD_2"]
    exact = module.exact_tables()
    with mp.workdps(80):
        # Equal areas: the top layer's box has the area v of every other (the r equation).
        top = exact["area"] / exact["edges"][1] + mp.exp(-exact["edges"][1] ** 2 / 2) - 1
        assert abs(top) < mp.mpf(10) ** -70
        assert float(mp.log(2) - mp.mpf(g.LN2_HI) - mp.mpf(g.LN2_LO)) == 0.0 or \
            abs(mp.log(2) - mp.mpf(g.LN2_HI) - mp.mpf(g.LN2_LO)) < mp.mpf(2) ** -107


def test_dd_exp_within_its_bound():
    worst = mp.mpf(0)
    with mp.workdps(50):
        for t in list(np.linspace(-8, 80, 2001)) + [-8.0, 80.0, 0.0, -0.34657359027997264, 0.34657359027997264]:
            h, low = g.dd_exp(float(t), 0.0)
            worst = max(worst, abs((mp.mpf(h) + mp.mpf(low)) / mp.exp(mp.mpf(float(t))) - 1))
    assert worst < g.EXP_RELATIVE_ERROR / 16


def test_dd_log_within_its_bound_and_needs_no_libm():
    rng = np.random.default_rng(0)
    values = list(rng.random(500)) + list(2.0 ** -rng.uniform(0, 106, 500)) + [1.0, 2.0**-106, 0.5, 1 - 2.0**-53]
    worst = mp.mpf(0)
    with mp.workdps(50):
        for u in values:
            low = float(rng.integers(0, 2**53)) * 2.0**-106 if u > 2.0**-50 else 0.0
            uh, ul = g.fast_two_sum(float(u), low)
            h, l, ok = g.dd_log(uh, ul)
            assert ok
            worst = max(worst, abs(mp.mpf(h) + mp.mpf(l) - mp.log(mp.mpf(uh) + mp.mpf(ul))))
    assert worst < g.LOG_ABSOLUTE_ERROR / 16


def _draw(scale, count, first=0, grid=1.0):
    out = np.empty(count)
    hi, lo = g.scaled_widths(scale)
    failures = g.fill_grid_noise(out, 0, count, KEY, np.uint64(first), scale, grid, hi, lo)
    return out, failures


@pytest.mark.parametrize("scale", [0.6, 2.5, 11.3])
def test_law_is_the_rounded_gaussian(scale):
    # K = RN(σ' ξ) has P(K = k) = Φ((k + ½)/σ') − Φ((k − ½)/σ') exactly; 2·10⁶ draws (wedges: ~3·10⁴, tail: ~500).
    out, failures = _draw(scale, 2_000_000, first=10**9)
    assert failures == 0
    assert np.array_equal(out, np.round(out))
    ks = np.arange(-int(9 * scale) - 3, int(9 * scale) + 4)
    p = stats.norm.cdf((ks + 0.5) / scale) - stats.norm.cdf((ks - 0.5) / scale)
    counts = np.array([(out == k).sum() for k in ks])
    assert counts.sum() == out.size
    keep = p * out.size > 20
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(p[keep], 1 - p[keep].sum()) * out.size
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_large_scale_is_gaussian_and_on_the_grid():
    scale, grid = 2.0**32 * 1.37, 2.0**-40
    out, failures = _draw(scale, 400_000, grid=grid)
    assert failures == 0
    assert np.array_equal(out / grid, np.round(out / grid))  # exact multiples of the grid
    assert stats.kstest(out / (grid * scale), "norm").pvalue > 1e-4


def test_draws_are_a_function_of_their_index():
    whole, _ = _draw(2.0**33, 5000, first=77)
    hi, lo = g.scaled_widths(2.0**33)
    parts = np.empty(5000)
    for start, stop in [(0, 13), (13, 2048), (2048, 5000)]:
        g.fill_grid_noise(parts, start, stop, KEY, np.uint64(77), 2.0**33, 1.0, hi, lo)
    assert np.array_equal(whole, parts)
    other, _ = _draw(2.0**33, 5000, first=78)
    assert np.array_equal(whole[1:], other[:-1])


def test_keystream_lanes_are_the_chacha20_blocks():
    words = np.empty(8 * g.LANES, dtype=np.uint64)
    counters = np.array([0, 1, 7, 2**32 + 5, 12345] + list(range(100, 100 + g.LANES - 5)), dtype=np.uint64)
    for nonce in (0, 1, 2**40 + 3):
        g._keystream(KEY, counters, np.uint64(nonce), words)
        for lane, counter in enumerate(counters):
            assert words[8 * lane:8 * lane + 8].tobytes() == _block(KEY, int(counter), nonce)


def test_splitmix64_core_only_by_name_and_same_law():
    with pytest.raises(ValueError, match="noise core"):
        g.kernel_key(5, "xorshift")
    key = g.kernel_key(5, "splitmix64")
    out = np.empty(300_000)
    hi, lo = g.scaled_widths(3.7)
    assert g.fill_grid_noise(out, 0, out.size, key, np.uint64(0), 3.7, 1.0, hi, lo) == 0
    ks = np.arange(-40, 41)
    p = stats.norm.cdf((ks + 0.5) / 3.7) - stats.norm.cdf((ks - 0.5) / 3.7)
    counts = np.array([(out == k).sum() for k in ks])
    keep = p * out.size > 20
    observed = np.append(counts[keep], out.size - counts[keep].sum())
    expected = np.append(p[keep], 1 - p[keep].sum()) * out.size
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    chacha, _ = _draw(3.7, 1000)
    assert not np.array_equal(out[:1000], chacha)


def test_one_draw_at_a_time_is_the_bulk_draw():
    # grid_normal (one normal, the fast path then the full sampler) and fill_grid_noise (the bulk passes) share
    # the fast path: the same K for every index, slow draws included.
    scale = 1.5 * 2.0**24
    bulk, _ = _draw(scale, 4000, first=123)
    hi, lo = g.scaled_widths(scale)
    block = np.empty(9, dtype=np.uint64)
    one = np.array([g.grid_normal(KEY, np.uint64(123 + i), scale, hi, lo, block)[0] for i in range(4000)])
    assert np.array_equal(one, bulk)
