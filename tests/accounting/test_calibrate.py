"""Calibration always lands on the private side, and is the smallest that does."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skunlearn.accounting import (
    CalibrationError,
    calibrate_noise,
    calibrate_steps,
    linear_rdp,
    rdp_to_dp,
    unlearning_rdp_coefficient,
)


def unlearning_epsilon(noise, steps, distance=0.5, contraction=0.98, step_size=1.0, delta=1e-5):
    rho = unlearning_rdp_coefficient(distance, contraction, 2 * step_size * noise**2, steps)
    return rdp_to_dp(linear_rdp(rho), delta, warn_at_edge=False).epsilon


def test_gaussian_closed_form():
    # Classic conversion of a linear curve: eps = rho + 2 sqrt(rho log 1/delta), rho = 1/(2 sigma^2).
    delta, target = 1e-5, 1.0
    log_term = np.log(1 / delta)
    sqrt_rho = -np.sqrt(log_term) + np.sqrt(log_term + target)
    expected = 1 / np.sqrt(2 * sqrt_rho**2)
    got = calibrate_noise(
        lambda s: rdp_to_dp(linear_rdp(1 / (2 * s**2)), delta, conversion="classic").epsilon, target
    )
    assert got == pytest.approx(expected, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(0.05, 20.0),
    steps=st.integers(1, 300),
    distance=st.floats(0.01, 2.0),
    contraction=st.floats(0.8, 1.0),
)
def test_calibrated_noise_meets_target_and_a_little_less_does_not(target, steps, distance, contraction):
    def eps(noise):
        return unlearning_epsilon(noise, steps, distance, contraction)

    noise = calibrate_noise(eps, target)
    assert eps(noise) <= target
    assert eps(noise * (1 - 1e-3)) > target


@settings(max_examples=40, deadline=None)
@given(target=st.floats(0.1, 10.0), noise=st.floats(0.05, 1.0))
def test_calibrated_steps_meet_target_and_one_fewer_does_not(target, noise):
    def eps(steps):
        return unlearning_epsilon(noise, steps)

    try:
        steps = calibrate_steps(eps, target, max_steps=10**6)
    except CalibrationError:
        assert eps(10**6) > target
        return
    assert eps(steps) <= target
    assert steps == 1 or eps(steps - 1) > target


@settings(max_examples=30, deadline=None)
@given(noise=st.floats(0.01, 3.0), steps=st.integers(1, 500), more=st.integers(1, 100))
def test_epsilon_never_increases_with_steps_or_noise(noise, steps, more):
    base = unlearning_epsilon(noise, steps)
    assert unlearning_epsilon(noise, steps + more) <= base + 1e-12
    assert unlearning_epsilon(noise * 1.1, steps) <= base + 1e-12


def test_calibration_errors():
    with pytest.raises(CalibrationError, match="no noise"):
        calibrate_noise(lambda s: 5.0, 1.0, max_noise=1e3)
    with pytest.raises(CalibrationError, match="steps do not reach"):
        calibrate_steps(lambda k: 5.0, 1.0, max_steps=100)
    with pytest.raises(ValueError, match="target_epsilon"):
        calibrate_noise(lambda s: 1.0, 0.0)


@pytest.mark.parametrize("min_steps, max_steps, needed, expected", [
    (0, 50, 0, 0), (0, 50, 1, 1), (0, 50, 37, 37), (3, 50, 50, 50), (1, 50, 51, None), (5, 5, 5, 5), (5, 5, 6, None),
])
def test_calibrate_steps_never_returns_more_than_max_steps(min_steps, max_steps, needed, expected):
    from skunlearn.accounting import CalibrationError, calibrate_steps

    def epsilon(k):
        return 0.5 if k >= needed else 2.0

    if expected is None:
        with pytest.raises(CalibrationError):
            calibrate_steps(epsilon, 1.0, max_steps=max_steps, min_steps=min_steps)
    else:
        assert calibrate_steps(epsilon, 1.0, max_steps=max_steps, min_steps=min_steps) == expected
