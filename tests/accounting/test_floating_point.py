"""Rounding charged as a shift at every step: closed forms against explicit events, brute force and recursion."""

import math

import numpy as np
import pytest

from skunlearn.accounting import (
    coupled_distance,
    minimum_step_noise,
    pabi_rdp_coefficient,
    removal_rdp_coefficient,
    unlearning_rdp_coefficient,
)
from skunlearn.accounting.floating_point import gamma, logistic_step_rounding_error

from .test_pnsgd import brute_force_pabi


@pytest.mark.parametrize("seed", range(10))
def test_per_step_shift_equals_a_shift_event_at_every_step(seed):
    # The hull over the reduced corner set must equal the hull over every step's corner.
    rng = np.random.default_rng(seed)
    n_steps = int(rng.integers(1, 60))
    k = int(rng.integers(0, 5))
    steps = rng.integers(0, n_steps, k)
    shifts = rng.uniform(0.01, 1.0, k)
    contraction = float(rng.choice([1.0, rng.uniform(0.5, 1.0)]))
    per_step = float(rng.uniform(0.0, 0.3))
    initial = float(rng.choice([0.0, rng.uniform(0, 1)]))
    every_step = np.concatenate([steps, np.arange(n_steps)])
    every_shift = np.concatenate([shifts, np.full(n_steps, per_step)])
    explicit = pabi_rdp_coefficient(every_step, every_shift, n_steps, contraction, 0.7, initial)
    reduced = pabi_rdp_coefficient(steps, shifts, n_steps, contraction, 0.7, initial, per_step_shift=per_step)
    assert reduced == pytest.approx(explicit, rel=1e-10, abs=1e-15)


@pytest.mark.filterwarnings("ignore:Singular Jacobian")
@pytest.mark.parametrize("seed", range(6))
def test_per_step_shift_matches_a_generic_optimiser(seed):
    rng = np.random.default_rng(100 + seed)
    n_steps = int(rng.integers(2, 12))
    steps = rng.integers(0, n_steps, 2)
    shifts = rng.uniform(0.05, 1.0, 2)
    contraction = float(rng.uniform(0.4, 1.0))
    per_step = float(rng.uniform(0.01, 0.2))
    ours = pabi_rdp_coefficient(steps, shifts, n_steps, contraction, 1.0, per_step_shift=per_step)
    oracle = brute_force_pabi(np.concatenate([steps, np.arange(n_steps)]),
                              np.concatenate([shifts, np.full(n_steps, per_step)]), n_steps, contraction)
    assert ours == pytest.approx(oracle, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("contraction", [0.0, 0.6, 0.97, 1.0])
@pytest.mark.parametrize("n_steps", [1, 7, 300])
def test_unlearning_closed_form_with_per_step_shift(contraction, n_steps):
    distance, per_step, variance = 0.8, 0.05, 0.3
    closed = unlearning_rdp_coefficient(distance, contraction, variance, n_steps, per_step_shift=per_step)
    explicit = pabi_rdp_coefficient(np.arange(n_steps), per_step, n_steps, contraction, variance, distance)
    assert closed == pytest.approx(explicit, rel=1e-9)


def test_per_step_shift_sets_a_floor_that_more_steps_cannot_lower():
    c, f, variance = 0.96, 1e-3, 1e-4
    floor = f**2 * (1 + c) / (2 * variance * (1 - c))
    values = [unlearning_rdp_coefficient(1.0, c, variance, n, per_step_shift=f) for n in (10, 100, 1000, 10_000)]
    assert values[-1] == pytest.approx(floor, rel=1e-9)
    assert all(v >= floor * (1 - 1e-12) for v in values)
    # Without the shift the bound would go to zero.
    assert unlearning_rdp_coefficient(1.0, c, variance, 10_000) < 1e-100


@pytest.mark.parametrize("seed", range(8))
def test_coupled_distance_with_per_step_shift_follows_the_capped_recursion(seed):
    rng = np.random.default_rng(seed)
    n_steps = int(rng.integers(1, 40))
    steps = rng.integers(0, n_steps, 3)
    shifts = rng.uniform(0.0, 1.0, 3)
    c = float(rng.uniform(0.5, 1.0))
    diameter = float(rng.uniform(0.5, 3.0))
    per_step = float(rng.uniform(0, diameter * (1 - c)))
    d = 0.0
    for t in range(n_steps):
        d = min(c * d + shifts[steps == t].sum() + per_step, diameter)
    ours = coupled_distance(steps, shifts, n_steps, c, diameter, per_step_shift=per_step)
    assert ours == pytest.approx(d, rel=1e-10, abs=1e-14)
    # The cap dropped when the shift is too large to keep the slack monotone: still an upper bound.
    assert coupled_distance(steps, shifts, n_steps, c, diameter, per_step_shift=2 * diameter) >= min(diameter, d)


def test_removal_bound_with_rounding_never_below_exact_arithmetic():
    args = ([3, 13, 23], 0.01, 25, 60, 0.97, 1e-4, 4.0)
    exact = removal_rdp_coefficient(*args)
    rounded = removal_rdp_coefficient(*args, per_step_shift=1e-5)
    assert rounded > exact
    assert removal_rdp_coefficient(*args, per_step_shift=0.0) == exact


def test_gamma_and_noise_floor_values():
    assert gamma(3) == pytest.approx(3 * 2.0**-53, rel=1e-15)
    with pytest.raises(ValueError, match="n u < 1/2"):
        gamma(2.0**52)
    assert minimum_step_noise(141.4) == 2**20 * np.spacing(141.4)
    assert minimum_step_noise(0.5) == 2**20 * 2.0**-53


def test_step_error_bound_scales_with_the_problem():
    base = dict(n_features=785, n_outputs=10, batch_size=64, step_size=3.8, l2=0.01, radius=141.0, data_norm=1.0,
                noise_scale=1e-8, softmax=True)
    e = logistic_step_rounding_error(**base)
    assert 1e-12 < e < 1e-9
    assert logistic_step_rounding_error(**dict(base, radius=1410.0)) > 5 * e
    assert logistic_step_rounding_error(**dict(base, batch_size=6400)) > e
    binary = logistic_step_rounding_error(**dict(base, n_outputs=1, softmax=False))
    assert binary < e


@pytest.mark.parametrize("seed", range(8))
def test_cyclic_removal_distance_is_the_uncapped_coupled_distance(seed):
    from skunlearn.accounting import cyclic_removal_distance

    rng = np.random.default_rng(seed)
    n_batches = int(rng.integers(1, 6))
    n_steps = int(rng.integers(0, 40))
    batches = rng.integers(0, n_batches, 4)
    shifts = rng.uniform(0.1, 1.0, 4)
    c = float(rng.choice([0.0, 1.0, rng.uniform(0.3, 1.0)]))
    steps = np.concatenate([np.arange(b, n_steps, n_batches) for b in batches])
    amounts = np.concatenate([np.full(np.arange(b, n_steps, n_batches).size, h) for b, h in zip(batches, shifts)])
    expected = coupled_distance(steps, amounts, n_steps, c) if n_steps else 0.0
    assert cyclic_removal_distance(batches, shifts, n_batches, n_steps, c) == pytest.approx(expected, rel=1e-12,
                                                                                           abs=1e-15)


# ---------------------------------------------------------------------------- the noise grid (issue 19)

from fractions import Fraction  # noqa: E402

from skunlearn.accounting import (  # noqa: E402
    GRID_NOISE_BITS,
    grid_failure_delta,
    grid_noise_failure_probability,
    kernel_noise_scale,
    noise_grid,
)


def test_noise_grid_makes_the_grid_sum_exact():
    # For |v| + 21 s <= B and |K Λ| <= 20 s + Λ/2, RN_Λ(v) + Λ K is computed without rounding: checked in exact
    # rational arithmetic on random cases at the edges of the bound.
    rng = np.random.default_rng(0)
    for _ in range(300):
        bound = float(10.0 ** rng.uniform(-3, 6))
        scale = float(bound * 10.0 ** rng.uniform(-14, -1.4))
        grid = noise_grid(bound, scale)
        mantissa, _ = math.frexp(grid)
        assert mantissa == 0.5  # a power of two
        assert 2.0**52 * grid >= bound and grid <= bound
        assert scale / grid < 2.0 ** (GRID_NOISE_BITS + 1)
        v = float((bound - 21 * scale) * rng.uniform(-1, 1))
        k = float(np.round(rng.uniform(-20, 20) * scale / grid))
        on_grid = np.rint(v / grid) * grid
        exact = Fraction(round(Fraction(v) / Fraction(grid))) * Fraction(grid) + Fraction(k) * Fraction(grid)
        assert Fraction(on_grid) == Fraction(round(Fraction(v) / Fraction(grid))) * Fraction(grid)
        assert Fraction(on_grid + k * grid) == exact


def test_kernel_noise_scale_is_never_below_the_theory():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        step, sigma = float(10.0 ** rng.uniform(-6, 2)), float(10.0 ** rng.uniform(-8, 3))
        # s_f^2 >= 2 eta sigma^2, exactly (rationals).
        assert Fraction(kernel_noise_scale(step, sigma)) ** 2 >= 2 * Fraction(step) * Fraction(sigma) ** 2


def test_failure_probability_limits_and_the_samplers_constants():
    from skunlearn._backends import _grid_noise

    # Defaults are the sampler's own limits.
    assert (_grid_noise.MAX_ATTEMPTS, _grid_noise.MAX_TAIL_ROUNDS) == (12, 24)
    # Large sigma': the two roundings dominate; the slope is 4 (2^-106 x_max + 20 2^-100) plus the tail's
    # rounding, (20 2^-106 + 2^-85) / 256 per expected attempt (derived by hand from the docstring's terms).
    attempts = sum(0.0056**a for a in range(12))
    slope = 4 * (2.0**-106 * 4.0 + 20 * 2.0**-100) + attempts * (20 * 2.0**-106 + 2.0**-85) / 256
    for scale in (2.0**40, 2.0**50):
        assert grid_noise_failure_probability(scale) / scale == pytest.approx(slope, rel=1e-6)
    # Small sigma': a floor from the attempts' own terms (the wedge's 2^-80 dominates).
    assert grid_noise_failure_probability(1.0) == pytest.approx(attempts * 2.0**-80, rel=0.01)
    assert grid_noise_failure_probability(2.0**25) < 2.0**-66


def test_failure_delta_counts_both_runs():
    tau = grid_noise_failure_probability(2.0**25)
    assert grid_failure_delta(0.0, 1e9, 2.0**25) == pytest.approx(2 * 1e9 * tau)
    assert grid_failure_delta(2.0, 1e9, 2.0**25) == pytest.approx((1 + math.exp(2)) * 1e9 * tau)
