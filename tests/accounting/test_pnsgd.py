"""Strongly convex PNSGD bounds: brute-force optimisation, closed forms and limits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, minimize

from skunlearn.accounting import (
    coupled_distance,
    learning_rdp_coefficient,
    max_step_size,
    pabi_rdp_coefficient,
    per_row_shift,
    published_langevin_rdp,
    published_pnsgd_distance,
    published_pnsgd_rdp,
    step_contraction,
    unlearning_rdp_coefficient,
)


def brute_force_pabi(steps, shifts, n_steps, contraction, initial=0.0):
    """min sum(a^2)/2 s.t. z_t = c z_{t-1} + s_t - a_t >= 0, z_last = 0: a QP for trust-constr.

    z = d - L a with L[t, j] = c^(t - j) for j <= t and d the shift trajectory without spending.
    """
    incurred = np.zeros(n_steps)
    np.add.at(incurred, steps, shifts)
    t = np.arange(n_steps)
    lower = np.tril(contraction ** (t[:, None] - t[None, :]).clip(0))
    free = lower @ incurred + initial * contraction ** (t + 1)
    upper = free.copy()
    low = np.full(n_steps, -np.inf)
    low[-1] = free[-1]  # the last shift must be exactly zero: L a = d there
    result = minimize(
        lambda a: 0.5 * np.sum(a**2),
        np.zeros(n_steps),
        jac=lambda a: a,
        hess=lambda a: np.eye(n_steps),
        constraints=[LinearConstraint(lower, low, upper)],
        bounds=Bounds(0, np.inf),
        method="trust-constr",
        options={"gtol": 1e-13, "xtol": 1e-15, "maxiter": 20000},
    )
    return result.fun


@pytest.mark.filterwarnings("ignore:Singular Jacobian")
@pytest.mark.parametrize("seed", range(12))
def test_shift_allocation_matches_a_generic_optimiser(seed):
    rng = np.random.default_rng(seed)
    n_steps = int(rng.integers(2, 14))
    k = int(rng.integers(1, 5))
    steps = rng.integers(0, n_steps, k)
    shifts = rng.uniform(0.05, 1.0, k)
    contraction = float(rng.uniform(0.3, 1.0))
    initial = float(rng.choice([0.0, rng.uniform(0, 1)]))
    ours = pabi_rdp_coefficient(steps, shifts, n_steps, contraction, 1.0, initial)
    # The generic optimiser stops within its tolerance of the optimum (how close depends on the
    # scipy version); the closed form is the optimum itself.
    assert ours == pytest.approx(brute_force_pabi(steps, shifts, n_steps, contraction, initial), rel=1e-5, abs=1e-12)


def gaussian_chain_renyi(distance, contraction, noise_variance, n_steps, order):
    """Exact D_alpha of x <- c x + N(0, s^2) started at 0 and at Z: equal-covariance Gaussians."""
    mean_gap = distance * contraction**n_steps
    variance = 0.0
    for _ in range(n_steps):
        variance = contraction**2 * variance + noise_variance
    return order * mean_gap**2 / (2 * variance)


@pytest.mark.parametrize("contraction", [0.5, 0.9, 0.999, 1.0])
@pytest.mark.parametrize("n_steps", [1, 7, 60])
def test_unlearning_bound_is_exact_for_linear_maps(contraction, n_steps):
    rho = unlearning_rdp_coefficient(1.7, contraction, 0.3, n_steps)
    assert 5.0 * rho == pytest.approx(gaussian_chain_renyi(1.7, contraction, 0.3, n_steps, 5.0), rel=1e-10)


def test_unlearning_bound_equals_the_optimal_allocation_from_an_initial_distance():
    for contraction in (0.6, 0.95):
        closed = unlearning_rdp_coefficient(0.8, contraction, 2.0, 9)
        assert closed == pytest.approx(pabi_rdp_coefficient([], [], 9, contraction, 2.0, initial_distance=0.8), rel=1e-12)


def test_unlearning_bound_limits():
    # c -> 1: the shift is spread evenly, rho -> Z^2 / (2 s^2 N).
    assert unlearning_rdp_coefficient(2.0, 1 - 1e-12, 0.5, 10) == pytest.approx(4 / (2 * 0.5 * 10), rel=1e-9)
    # N -> infinity with c < 1: everything is forgotten.
    assert unlearning_rdp_coefficient(2.0, 0.9, 0.5, 10_000) < 1e-300
    # One step: the Gaussian mechanism with sensitivity c Z.
    assert unlearning_rdp_coefficient(2.0, 0.9, 0.5, 1) == pytest.approx((0.9 * 2.0) ** 2 / (2 * 0.5))
    # Below the published form by about (1 - c^2)/2 when c^{2N} is small.
    c, n = 0.95, 400
    published = 2.0**2 * c ** (2 * n) / (2 * 0.5)
    assert unlearning_rdp_coefficient(2.0, c, 0.5, n) / published == pytest.approx((1 - c**2), rel=1e-6)


def test_learning_bound_closed_form_without_contraction():
    # c = 1, the row in the last batch of each of T epochs of P batches: the minorant
    # waits until the first touch, then spreads (T-1) shifts over (T-1)P steps and
    # pays the last one with the last step: rho = s^2 (1 + (T-1)/P) / (2 v).
    eta, m_lip, b, sigma = 0.5, 1.0, 8, 0.7
    shift, variance = eta * m_lip / b, 2 * eta * sigma**2
    for epochs, batches in [(1, 1), (1, 5), (4, 3), (10, 20)]:
        expected = shift**2 * (1 + (epochs - 1) / batches) / (2 * variance)
        got = learning_rdp_coefficient(epochs, batches, eta, m_lip, b, 1.0, sigma)
        assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("contraction", [0.8, 0.99, 1.0])
def test_learning_bound_takes_the_worst_slot(contraction):
    epochs, batches, shift = 3, 6, 0.1
    per_slot = [
        pabi_rdp_coefficient(np.arange(epochs) * batches + slot, shift, epochs * batches, contraction, 1.0)
        for slot in range(batches)
    ]
    assert np.all(np.diff(per_slot) >= -1e-15)  # a later slot never costs less
    ours = learning_rdp_coefficient(epochs, batches, 1.0, shift * 4, 4, contraction, np.sqrt(0.5))
    assert ours == pytest.approx(max(per_slot), rel=1e-12)


def test_coupled_distance_closed_form_and_cap():
    c, shift, period, epochs = 0.9, 0.3, 5, 7
    steps = np.arange(epochs) * period + 2
    n_steps = epochs * period
    expected = sum(shift * c ** (n_steps - 1 - t) for t in steps)
    assert coupled_distance(steps, shift, n_steps, c) == pytest.approx(expected, rel=1e-12)
    assert coupled_distance(steps, shift, n_steps, c, diameter=0.35) <= 0.35
    # The cap applies at every step, not only at the end.
    assert coupled_distance([0, 0, 1], 1.0, 2, 1.0, diameter=1.5) == pytest.approx(1.5)
    assert coupled_distance([0], 1.0, 3, 1.0, initial_distance=0.5) == pytest.approx(1.5)


def test_step_size_limit_and_contraction():
    assert max_step_size(0.25, 0.0) == pytest.approx(8.0)
    assert step_contraction(8.0, 0.25, 0.0) == 1.0  # lambda -> 0: no contraction
    assert step_contraction(2.0, 0.25, 0.1) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="2/\\(L \\+ 2\\*lambda\\)"):
        step_contraction(3.0, 0.5, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        step_contraction(0.0, 0.5, 0.1)


def test_shift_per_row():
    assert per_row_shift(1.0, np.sqrt(2), 10) == pytest.approx(np.sqrt(2) / 10)
    with pytest.raises(ValueError, match="relation"):
        per_row_shift(1.0, 1.0, 10, relation="swap")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: unlearning_rdp_coefficient(1.0, 0.9, 0.0, 3), "step_noise_variance"),
        (lambda: unlearning_rdp_coefficient(1.0, 1.1, 1.0, 3), "contraction"),
        (lambda: unlearning_rdp_coefficient(1.0, 0.9, 1.0, 0), "n_steps"),
        (lambda: pabi_rdp_coefficient([5], 1.0, 3, 0.9, 1.0), "shift steps"),
        (lambda: pabi_rdp_coefficient([1], -1.0, 3, 0.9, 1.0), "shifts"),
        (lambda: learning_rdp_coefficient(1, 1, 1.0, 1.0, 1, 0.9, -1.0), "noise_std"),
        (lambda: published_pnsgd_distance(1.0, 1.0, 1, 1, 1.0), "contraction < 1"),
        (lambda: published_langevin_rdp(1, 10, 1.0, 0.0, 1.0, 0.1, 1), "strong_convexity"),
    ],
)
def test_bounds_refuse_inputs_outside_their_theorem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_published_pnsgd_forms():
    # Full batch (b = n): Z_B = 2 eta M / (n (1 - c)) = 2M / (n lambda).
    eta, lam, n = 0.5, 0.1, 50
    c = 1 - eta * lam
    assert published_pnsgd_distance(eta, 1.0, n, n, c) == pytest.approx(2 / (n * lam))
    # Sequential: Z_2 = Z_1 c^{K n/b} + Z_B.
    z1 = published_pnsgd_distance(eta, 1.0, 10, n, c)
    z2 = published_pnsgd_distance(eta, 1.0, 10, n, c, previous=z1, previous_epochs=2)
    assert z2 == pytest.approx(z1 * c**10 + z1)
    # Without finite-training terms the curve is linear in alpha.
    curve = published_pnsgd_rdp(z1, eta, 0.3, c, n, 10, 2)
    assert curve(10.0) / curve(2.0) == pytest.approx(5.0)
    # The released-code form exceeds it (weak triangle inequality, 2 alpha).
    finite = published_pnsgd_rdp(z1, eta, 0.3, c, n, 10, 2, radius=1.0, train_epochs=3)
    assert np.all(finite(np.array([2.0, 5.0, 50.0])) > curve(np.array([2.0, 5.0, 50.0])))


def test_published_langevin_decays_exponentially():
    curve0 = published_langevin_rdp(2, 100, 1.0, 0.1, 0.5, 1.0, 0)
    curve = published_langevin_rdp(2, 100, 1.0, 0.1, 0.5, 1.0, 30)
    assert float(curve0(3.0)) == pytest.approx(4 * 3.0 * 4 / (0.1 * 0.25 * 100**2))
    assert float(curve(3.0)) == pytest.approx(np.exp(-30 * 0.1 * 1.0 / 3.0) * float(curve0(3.0)))


@settings(max_examples=60, deadline=None)
@given(
    contraction=st.floats(0.5, 1.0),
    noise=st.floats(0.05, 5.0),
    n_steps=st.integers(1, 400),
    extra=st.integers(1, 50),
    distance=st.floats(0.01, 3.0),
)
def test_unlearning_bound_never_grows_with_steps_or_noise(contraction, noise, n_steps, extra, distance):
    base = unlearning_rdp_coefficient(distance, contraction, noise, n_steps)
    assert unlearning_rdp_coefficient(distance, contraction, noise, n_steps + extra) <= base * (1 + 1e-12)
    assert unlearning_rdp_coefficient(distance, contraction, noise * 1.5, n_steps) <= base


@settings(max_examples=40, deadline=None)
@given(
    contraction=st.floats(0.5, 1.0),
    n_steps=st.integers(2, 60),
    extra=st.integers(1, 30),
    data=st.data(),
)
def test_pabi_never_grows_with_more_noisy_steps(contraction, n_steps, extra, data):
    steps = data.draw(st.lists(st.integers(0, n_steps - 1), min_size=1, max_size=5))
    base = pabi_rdp_coefficient(steps, 0.2, n_steps, contraction, 1.0)
    assert pabi_rdp_coefficient(steps, 0.2, n_steps + extra, contraction, 1.0) <= base * (1 + 1e-12)


def test_removal_bound_is_the_better_of_coupling_and_whole_history():
    from skunlearn.accounting import removal_rdp_coefficient, single_removal_rdp_coefficient

    steps, shift, c, var = np.array([2, 7]), 0.3, 0.9, 0.5
    whole = pabi_rdp_coefficient(steps, shift, 20, c, var)
    coupled = unlearning_rdp_coefficient(coupled_distance(steps, shift, 10, c, 1.0), c, var, 10)
    assert removal_rdp_coefficient(steps, shift, 10, 20, c, var, 1.0) == pytest.approx(min(whole, coupled))
    # A tight cap (small projection radius) makes the coupling bound win.
    capped = removal_rdp_coefficient(steps, 5.0, 10, 20, c, var, diameter=0.01)
    assert capped == pytest.approx(unlearning_rdp_coefficient(0.01 * c**2, c, var, 10))
    # Worst-case single row: its shifts are in the last batch of every epoch.
    single = single_removal_rdp_coefficient(3, 2, 4, 1.0, 1.0, 8, 0.95, 0.3)
    explicit = removal_rdp_coefficient([3, 7, 11], 1.0 / 8, 12, 20, 0.95, 2 * 0.3**2, np.inf)
    assert single == pytest.approx(explicit)
    with pytest.raises(ValueError, match="before request_step"):
        removal_rdp_coefficient([12], 0.1, 12, 20, 0.9, 1.0, 1.0)
