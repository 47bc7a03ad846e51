"""Any-loss bounds of Koloskova et al.: closed forms, PABI cross-checks, the theta values of the published Gaussian hockey-stick."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from skunlearn.accounting import (
    gaussian_hockey_stick,
    gradient_clipping_rdp_coefficient,
    gradient_clipping_rdp_coefficient_closed_form,
    model_clipping_deltas,
    model_clipping_steps,
    output_perturbation_noise,
    pabi_rdp_coefficient,
    rdp_to_dp,
    linear_rdp,
)


@pytest.mark.parametrize("l2", [0.0, 0.01, 0.5])
@pytest.mark.parametrize("n_steps", [1, 5, 200])
def test_gradient_clipping_closed_forms_match_the_general_form(l2, n_steps):
    general = gradient_clipping_rdp_coefficient(1.3, 0.7, 0.1, l2, np.full(n_steps, 0.4))
    closed = gradient_clipping_rdp_coefficient_closed_form(1.3, 0.7, 0.1, l2, 0.4, n_steps)
    assert general == pytest.approx(closed, rel=1e-10)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_clipping_is_pabi_with_a_shift_every_step(l2):
    # An independent algorithm (the exact minorant of the PABI allocation) agrees.
    c0, c1, gamma, sigma, steps = 0.8, 1.5, 0.2, 0.6, 25
    rho = 1 - gamma * l2
    pabi = pabi_rdp_coefficient(np.arange(steps), 2 * gamma * c1, steps, rho, sigma**2, initial_distance=2 * c0)
    assert gradient_clipping_rdp_coefficient(c0, c1, gamma, l2, np.full(steps, sigma)) == pytest.approx(pabi, rel=1e-9)


def test_gradient_clipping_with_varying_noise_matches_lagrange_by_brute_force():
    rng = np.random.default_rng(3)
    sigmas = rng.uniform(0.2, 1.0, 6)
    c0, c1, gamma, l2 = 1.0, 0.5, 0.1, 0.2
    rho = 1 - gamma * l2
    weights = rho ** np.arange(5, -1, -1)
    total = 2 * c0 * rho**6 + 2 * gamma * c1 * weights.sum()
    # Any feasible allocation costs more than the optimum; the optimum is a_t ∝ w_t σ_t².
    best = gradient_clipping_rdp_coefficient(c0, c1, gamma, l2, sigmas)
    for _ in range(200):
        a = rng.uniform(0, 1, 6)
        a *= total / np.dot(weights, a)
        assert np.sum(a**2 / (2 * sigmas**2)) >= best * (1 - 1e-12)


def test_sound_conversion_of_gradient_clipping_grows_with_alpha():
    # The authors' code treats alpha * rho_R as if it were rho_R: the sound epsilon is larger.
    rho_r = gradient_clipping_rdp_coefficient_closed_form(1.0, 1.0, 0.05, 0.0, 1.0, 100)
    sound = rdp_to_dp(linear_rdp(rho_r), 1e-5).epsilon
    alpha_free = rho_r + np.log(1 / 1e-5) / (10 - 1)  # what the alpha-free shortcut reports at alpha=10
    assert sound > rho_r
    assert np.isfinite(alpha_free)


@pytest.mark.parametrize(
    "epsilon, r, expected",
    [(1.0, 2.0, 0.5098617), (1.0, 1.0, 0.1269367), (0.0, 2.0, 2 * norm.cdf(1) - 1)],
)
def test_theta_values_of_the_gaussian_hockey_stick(epsilon, r, expected):
    assert gaussian_hockey_stick(epsilon, r) == pytest.approx(expected, abs=5e-8)


@pytest.mark.parametrize("epsilon, r", [(0.5, 1.0), (2.0, 3.0), (1.0, 0.3)])
def test_theta_is_the_hockey_stick_divergence_by_quadrature(epsilon, r):
    def integrand(x):
        return max(norm.pdf(x, loc=r) - np.exp(epsilon) * norm.pdf(x), 0.0)

    numeric, _ = quad(integrand, -20, 20, points=[epsilon / r + r / 2], limit=200)
    assert gaussian_hockey_stick(epsilon, r) == pytest.approx(numeric, abs=1e-9)


def test_theta_in_log_space_for_large_epsilon():
    # e^800 overflows a float; the log-space form does not.
    with np.errstate(over="raise", invalid="raise"):
        value = gaussian_hockey_stick(800.0, 10.0)
    assert 0.0 <= value < 1e-100
    assert gaussian_hockey_stick(800.0, 200.0) == pytest.approx(norm.cdf(100 - 4.0), abs=1e-12)


def test_model_clipping_recursion_needs_six_steps_at_r_2():
    steps, final = model_clipping_steps(1.0, 1e-5, clip_radius=1.0, noise_std=1.0)  # r = 2
    assert steps == 6
    deltas = model_clipping_deltas(1.0, 2.0, 6)
    assert deltas[-1] == pytest.approx(final)
    assert deltas[4] > 1e-5 >= deltas[5]
    assert np.all(np.diff(deltas) < 0)
    # First step by hand: delta_1 = theta_eps(r) since eps_tilde_0 = eps.
    assert deltas[0] == pytest.approx(gaussian_hockey_stick(1.0, 2.0))
    eps_tilde = np.log(1 + (np.e - 1) / deltas[0])
    assert deltas[1] == pytest.approx(deltas[0] * gaussian_hockey_stick(eps_tilde, 2.0))


def test_model_clipping_steps_grow_like_log_one_over_delta():
    counts = [model_clipping_steps(1.0, 10.0**-k, 1.0, 1.0)[0] for k in (3, 6, 12, 24)]
    assert counts == sorted(counts)
    assert counts[-1] <= 4 * counts[0] + 4


def test_model_clipping_refuses_hopeless_noise():
    with pytest.raises(ValueError, match="raise the noise"):
        model_clipping_steps(0.1, 1e-12, clip_radius=100.0, noise_std=0.01, max_steps=50)


def test_output_perturbation():
    classic = output_perturbation_noise(0.5, 1e-5, 2.0, method="classic")
    assert classic == pytest.approx(4.0 * np.sqrt(2 * np.log(1.25e5)) / 0.5)
    analytic = output_perturbation_noise(0.5, 1e-5, 2.0)
    assert analytic < classic
    assert gaussian_hockey_stick(0.5, 4.0 / analytic) <= 1e-5
    assert gaussian_hockey_stick(0.5, 4.0 / (analytic * (1 - 1e-6))) > 1e-5
    with pytest.raises(ValueError, match="epsilon < 1"):
        output_perturbation_noise(2.0, 1e-5, 1.0, method="classic")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gradient_clipping_rdp_coefficient(1.0, 1.0, 0.5, 2.0, [1.0]), "step_size \\* l2 < 1"),
        (lambda: gradient_clipping_rdp_coefficient(1.0, 1.0, 0.5, 0.0, [0.0]), "noise_stds"),
        (lambda: gradient_clipping_rdp_coefficient_closed_form(0.0, 1.0, 0.5, 0.0, 1.0, 3), "initial_radius"),
        (lambda: model_clipping_steps(1.0, 1e-5, 1.0, -1.0), "noise_std"),
        (lambda: gaussian_hockey_stick(-1.0, 1.0), "epsilon >= 0"),
    ],
)
def test_refuses_inputs_outside_the_theorem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_model_clipping_recursion_survives_delta_underflow():
    # delta_t falls below the smallest binary64 number long before 250 steps at r = 6.3, eps = 5: the recursion
    # must end at 0 (total contraction), not at NaN or an error.
    from skunlearn.accounting import gaussian_hockey_stick, model_clipping_deltas

    deltas = model_clipping_deltas(5.0, 6.3075, 250)
    assert np.all(np.isfinite(deltas)) and deltas[-1] == 0.0
    assert np.all(np.diff(deltas) <= 0)
    assert gaussian_hockey_stick(np.inf, 2.0) == 0.0
