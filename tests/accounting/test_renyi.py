"""RDP -> (eps, delta): closed forms, a fine scan, and dp-accounting as an oracle."""

import warnings

import numpy as np
import pytest

from skunlearn.accounting import DEFAULT_ORDERS, OrderAtGridEdgeWarning, gaussian_rdp_coefficient, linear_rdp, rdp_to_dp


@pytest.mark.parametrize("rho", [1e-4, 1e-2, 0.3, 2.0])
@pytest.mark.parametrize("delta", [1e-3, 1e-5, 1e-9])
def test_classic_conversion_of_linear_curve_matches_closed_form(rho, delta):
    # min_a  a*rho + log(1/delta)/(a-1)  is attained at a = 1 + sqrt(log(1/delta)/rho).
    expected = rho + 2 * np.sqrt(rho * np.log(1 / delta))
    eps, order = rdp_to_dp(linear_rdp(rho), delta, conversion="classic")
    assert eps == pytest.approx(expected, rel=1e-9)
    assert order == pytest.approx(1 + np.sqrt(np.log(1 / delta) / rho), rel=1e-4)


@pytest.mark.parametrize("rho", [1e-3, 0.05, 1.0])
def test_tight_conversion_matches_a_fine_brute_force_scan(rho):
    delta = 1e-5
    orders = np.linspace(1.0001, 2000, 4_000_001)
    scan = rho * orders + np.log1p(-1 / orders) - (np.log(delta) + np.log(orders)) / (orders - 1)
    eps, order = rdp_to_dp(linear_rdp(rho), delta)
    assert eps == pytest.approx(scan.min(), rel=1e-7)
    assert order == pytest.approx(orders[scan.argmin()], rel=1e-3)


def test_tight_is_never_worse_than_classic():
    for rho in np.logspace(-5, 1, 25):
        tight = rdp_to_dp(linear_rdp(rho), 1e-6).epsilon
        classic = rdp_to_dp(linear_rdp(rho), 1e-6, conversion="classic").epsilon
        assert tight <= classic + 1e-12


@pytest.mark.parametrize("rho", [1e-3, 0.02, 0.5])
@pytest.mark.parametrize("delta", [1e-5, 1e-8])
def test_matches_google_dp_accounting(rho, delta):
    rdp_accountant = pytest.importorskip("dp_accounting.rdp.rdp_privacy_accountant")
    orders = np.concatenate([np.linspace(1.02, 10, 200), np.linspace(10.5, 1000, 400)])
    curve = np.sqrt(orders) * rho + orders * rho / 3  # not linear, to exercise the general path
    ours = rdp_to_dp(curve, delta, orders=orders)
    theirs_eps, theirs_order = rdp_accountant.compute_epsilon(orders, curve, delta)
    assert ours.epsilon == pytest.approx(theirs_eps, rel=1e-10)
    assert ours.order == pytest.approx(theirs_order)


def test_gaussian_rdp_coefficient_closed_form():
    assert gaussian_rdp_coefficient(3.0, 2.0) == pytest.approx(9 / 8)
    with pytest.raises(ValueError, match="noise_std"):
        gaussian_rdp_coefficient(1.0, 0.0)


def test_warns_when_best_order_is_at_grid_edge():
    with pytest.warns(OrderAtGridEdgeWarning, match="edge"):
        rdp_to_dp(linear_rdp(0.1), 1e-5, orders=[2.0, 3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rdp_to_dp(linear_rdp(0.1), 1e-5)  # interior optimum on the default grid


def test_default_grid_is_dense_and_wide():
    assert DEFAULT_ORDERS[0] == pytest.approx(1.01)
    assert DEFAULT_ORDERS[-1] >= 1e4
    assert np.max(np.diff(np.log(DEFAULT_ORDERS - 1))) < 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.5}, "delta"),
        ({"delta": 1e-5, "conversion": "loose"}, "conversion"),
        ({"delta": 1e-5, "orders": [0.5, 2.0]}, "orders"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rdp_to_dp(linear_rdp(0.1), **kwargs)


def test_rejects_negative_divergence():
    with pytest.raises(ValueError, match=">= 0"):
        rdp_to_dp([-1.0, 0.2], 1e-5, orders=[2.0, 3.0])


def test_infinite_curve_gives_infinite_epsilon():
    assert rdp_to_dp(lambda a: np.full_like(np.asarray(a, float), np.inf), 1e-5).epsilon == np.inf
