"""The Descent-to-Delete noise against values computed independently (by hand, exactly, or forwards)."""

import math
from fractions import Fraction

import numpy as np
import pytest

from skunlearn.accounting.descent_to_delete import d2d_contraction, d2d_noise, d2d_step_size


def test_hand_computed_values():
    # L = 3, m = 1: γ = 1/2, η = 1/2. log(1/δ) = 4, ε = 5: √9 − √4 = 1. M = 1, n = 10.
    assert d2d_step_size(3.0, 1.0) == 0.5
    assert d2d_contraction(3.0, 1.0) == 0.5
    delta = math.exp(-4.0)
    # I = 1: γ/(1 − γ) = 1, σ = 4√2 / 10.
    assert d2d_noise(5.0, delta, 1.0, 3.0, 1.0, 10, 1) == pytest.approx(0.4 * math.sqrt(2.0), rel=1e-12)
    # I = 2: γ²/(1 − γ²) = 1/3.
    assert d2d_noise(5.0, delta, 1.0, 3.0, 1.0, 10, 2) == pytest.approx(0.4 * math.sqrt(2.0) / 3.0, rel=1e-12)
    # M, n and m enter as M / (m n): doubling M doubles σ, doubling n halves it.
    assert d2d_noise(5.0, delta, 2.0, 3.0, 1.0, 20, 1) == pytest.approx(0.4 * math.sqrt(2.0), rel=1e-12)


@pytest.mark.parametrize("epsilon, delta", [(0.5, 1e-5), (1.0, 1 / 1347), (5.0, 1e-3)])
def test_gaussian_mechanism_read_forwards(epsilon, delta):
    """σ is the zCDP Gaussian mechanism with sensitivity 8Mγ^I/(mn(1 − γ^I)): forwards, it gives ε back."""
    lipschitz, smoothness, strong, n, iterations = 2.8, 0.503, 0.003, 1347, 6
    sigma = d2d_noise(epsilon, delta, lipschitz, smoothness, strong, n, iterations)
    gamma = (smoothness - strong) / (smoothness + strong)
    sensitivity = 8.0 * lipschitz * gamma**iterations / (strong * n * (1.0 - gamma**iterations))
    rho = sensitivity**2 / (2.0 * sigma**2)
    assert rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta)) == pytest.approx(epsilon, rel=1e-10)


def test_contraction_is_the_gradient_step_on_a_quadratic():
    """On a quadratic with Hessian eigenvalues in [m, L], a step 2/(L + m) contracts by exactly γ."""
    smoothness, strong = 2.0, 0.1
    hessian = np.diag(np.linspace(strong, smoothness, 7))
    step = np.eye(7) - d2d_step_size(smoothness, strong) * hessian
    assert np.linalg.norm(step, 2) == pytest.approx(d2d_contraction(smoothness, strong), rel=1e-12)


def test_fixed_point_of_the_distance_recursion():
    """d ← γ^I (d + 2M/(mn)) settles at 2Mγ^I/(mn(1 − γ^I)), a quarter of the sensitivity σ is set from."""
    lipschitz, smoothness, strong, n, iterations = 1.0, 3.0, 1.0, 10, 2
    gamma_i = d2d_contraction(smoothness, strong) ** iterations
    distance = 0.0
    for _ in range(200):
        distance = gamma_i * (distance + 2.0 * lipschitz / (strong * n))
    delta = math.exp(-4.0)  # root gap 1 at ε = 5
    assert d2d_noise(5.0, delta, lipschitz, smoothness, strong, n, iterations) == pytest.approx(
        4.0 * distance / math.sqrt(2.0), rel=1e-12)


def test_weak_contraction_is_computed_without_cancellation():
    """γ close to 1 (m ≪ L): γ^I / (1 − γ^I) against exact rational arithmetic."""
    smoothness, strong, iterations = Fraction(1), Fraction(1, 10**7), 3
    gamma = (smoothness - strong) / (smoothness + strong)
    exact_ratio = gamma**iterations / (1 - gamma**iterations)
    delta = math.exp(-4.0)
    expected = 4.0 * math.sqrt(2.0) * float(exact_ratio) / (float(strong) * 100)
    assert d2d_noise(5.0, delta, 1.0, float(smoothness), float(strong), 100, iterations) == pytest.approx(
        expected, rel=1e-9)


def test_more_iterations_and_larger_epsilon_need_less_noise():
    values = [d2d_noise(1.0, 1e-5, 1.0, 0.5, 0.01, 1000, i) for i in (1, 2, 5, 20)]
    assert values == sorted(values, reverse=True)
    values = [d2d_noise(e, 1e-5, 1.0, 0.5, 0.01, 1000, 3) for e in (0.5, 1.0, 2.0, 5.0)]
    assert values == sorted(values, reverse=True)


def test_one_step_lands_on_the_minimiser_when_l_equals_m():
    assert d2d_contraction(1.0, 1.0) == 0.0
    assert d2d_noise(1.0, 1e-5, 1.0, 1.0, 1.0, 10, 1) == 0.0


@pytest.mark.parametrize("kwargs", [
    dict(epsilon=0.0), dict(delta=0.0), dict(delta=1.0), dict(lipschitz=-1.0), dict(smoothness=0.1),
    dict(strong_convexity=0.0), dict(n_samples=0), dict(n_samples=2.5), dict(iterations=0),
])
def test_refuses_invalid_arguments(kwargs):
    arguments = dict(epsilon=1.0, delta=1e-5, lipschitz=1.0, smoothness=0.5, strong_convexity=0.2, n_samples=10,
                     iterations=1)
    arguments.update(kwargs)
    with pytest.raises(ValueError):
        d2d_noise(**arguments)
