"""sample_weight and class_weight: the model they train and the certificate they cost.

A row of weight w contributes ``w ∇ℓ`` to its batch's gradient, so forgetting it
moves a step by up to ``η w M / b``: the certificate charges the largest weight W
(``max_sample_weight``, or the largest weight seen, whose rows a request may then
not all take).
"""

import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, UnlearningCertificate
from skunlearn._backends import SOFTMAX, KernelConfig, get_backend
from skunlearn._ledgers import StronglyConvexLedger
from skunlearn._testing import reference_logistic_epochs
from skunlearn.accounting import noise_grid

from ..helpers import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X / X.max(axis=0), y


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the noise-dominates warning of small problems
        yield


def test_unit_weights_are_the_unweighted_estimator(cancer):
    X, y = cancer
    plain = NoisyLogisticRegression(private_training=True, random_state=0).fit(X, y)
    ones = NoisyLogisticRegression(private_training=True, random_state=0).fit(X, y, sample_weight=np.ones(len(y)))
    assert np.array_equal(plain.coef_, ones.coef_)
    assert plain.certificate_.record == ones.certificate_.record
    plain.unlearn([0, 1])
    ones.unlearn([0, 1])
    assert np.array_equal(plain.coef_, ones.coef_)
    assert plain.certificate_ == ones.certificate_


def test_zero_weight_rows_are_the_certifying_procedures_inert_rows(cancer):
    """Weights are laid out with their rows: weight 0 on rows S trains exactly as S made inert."""
    X, y = cancer
    rows = [3, 100, 400]
    weights = np.ones(len(y))
    weights[rows] = 0
    zeroed = NoisyLogisticRegression(random_state=0)._fit(X, y, sample_weight=weights)
    inert = NoisyLogisticRegression(random_state=0)._certifying_fit(X, y, rows)
    assert np.array_equal(zeroed.coef_, inert.coef_)


def test_class_weight_weighs_the_rows_of_each_label(cancer):
    X, y = cancer
    by_class = NoisyLogisticRegression(class_weight={0: 2.5}, random_state=0).fit(X, y)
    by_row = NoisyLogisticRegression(random_state=0).fit(X, y, sample_weight=np.where(y == 0, 2.5, 1.0))
    assert np.array_equal(by_class.coef_, by_row.coef_)
    assert by_class.noise_ == by_row.noise_
    assert by_class.certificate_.constants["W"] == 2.5
    # The weighted class gains recall, as with scikit-learn's class_weight.
    plain = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert np.mean(by_class.predict(X)[y == 0] == 0) > np.mean(plain.predict(X)[y == 0] == 0)


def test_kernel_weights_each_rows_gradient_as_the_reference_does():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.integers(0, 3, size=40)
    weight = rng.uniform(0, 4, size=40)
    bounds = np.array([0, 14, 27, 40])
    config = KernelConfig(SOFTMAX, 0.3, 0.05, 0.01, 5.0, grid=noise_grid(10.0 * 5.0 + 21.0 * 0.01, 0.01))
    kernel = get_backend("cpu").run_logistic_epochs
    out, counter = kernel(np.zeros((3, 6)), X, y.astype(np.int64), weight, bounds, config, 11, 0, 3)
    expected, expected_counter = reference_logistic_epochs(np.zeros((3, 6)), X, y, weight, bounds, config, 11, 0, 3)
    assert counter == expected_counter
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    unweighted, _ = kernel(np.zeros((3, 6)), X, y.astype(np.int64), np.ones(40), bounds, config, 11, 0, 3)
    assert not np.allclose(out, unweighted)


def test_forgetting_a_heavy_row_moves_the_model_by_its_weight_and_the_ledger_charges_it(cancer):
    """Brute force: the noise-free runs with and without the row differ by at most the ledger's distance.

    One epoch from θ = 0, the row of weight W in the last slot: it changes that
    step by ``η W |r| ‖x‖ / b`` with ``|r| = 1/2`` at θ = 0, so the runs differ
    by about half the ledger's bound — more than W times less, which is what a
    certificate that ignored the weight would have charged.
    """
    X, y = cancer
    target, heavy = 7, 8.0
    weights = np.ones(len(y))
    weights[target] = heavy
    order = np.r_[np.delete(np.arange(len(y)), target), target]  # the target in the last slot
    options = dict(max_iter=1, max_sample_weight=heavy, random_state=0)
    with_row = NoisyLogisticRegression(**options)._fit(X, y, sample_weight=weights, slot_order=order, noise_key=1)
    without = NoisyLogisticRegression(**options)._fit(
        X, y, sample_weight=np.where(np.arange(len(y)) == target, 0.0, weights), slot_order=order, noise_key=1)
    gap = np.linalg.norm(with_row._params - without._params)
    ledger = with_row._ledger
    bound = ledger.with_removed([len(y) - 1]).removal_distance
    assert ledger.weight_bound == heavy and ledger.lipschitz == heavy * 1.0
    assert gap <= bound * (1 + 1e-9)
    assert gap > bound / heavy


def test_the_weight_bound_scales_the_certificate_as_the_noise_would():
    """A limiting-case identity: the shifts scale by W and ρ by W²/σ², so (W, σ) certifies as (1, σ/W).

    Same step size for both (the weighted loss's smoothness is W L, so the step
    is set below both limits); only the rounding shift does not scale exactly:
    mostly the noise grid's ``√p Λ``, about 10⁻⁶ of the row's shift here.
    """
    common = dict(step_size=0.5, strong_convexity=0.01, radius=100.0, n_slots=600, batch_size=50, train_epochs=10,
                  target_epsilon=1.0, target_delta=1e-3, n_features=11, n_outputs=1, data_norm=1.0,
                  private_training=False)
    weight_bound, sigma = 3.0, 0.2
    plain = StronglyConvexLedger(lipschitz=1.0, smoothness=0.25, noise_std=sigma / weight_bound, **common)
    weighted = StronglyConvexLedger(lipschitz=weight_bound, smoothness=0.25 * weight_bound, noise_std=sigma,
                                    weight_bound=weight_bound, **common)
    for ledger in (plain, weighted):
        assert ledger.contraction == 1 - 0.5 * 0.01
    expected = plain.advanced(10, noisy=False).with_removed([17, 599]).advanced(2).rdp_coefficient()
    actual = weighted.advanced(10, noisy=False).with_removed([17, 599]).advanced(2).rdp_coefficient()
    np.testing.assert_allclose(actual, expected, rtol=1e-4)
    assert weighted.rounding_shift > plain.rounding_shift


def test_heavier_weights_need_proportionally_more_noise(cancer):
    X, y = cancer
    per_step = {}
    for bound in (1.0, 4.0):
        model = NoisyLogisticRegression(max_sample_weight=bound, random_state=0)
        model.fit(X, y, sample_weight=np.ones(len(y)))
        per_step[bound] = np.sqrt(2 * model.step_size_) * model.noise_
    assert 2.0 < per_step[4.0] / per_step[1.0] < 8.0


def test_an_inferred_bound_refuses_the_request_that_would_lower_it(cancer):
    X, y = cancer
    weights = np.ones(len(y))
    weights[[5, 9]] = 3.0
    model = NoisyLogisticRegression(random_state=0).fit(X, y, sample_weight=weights)
    assert model.certificate_.constants["W"] == 3.0
    model.unlearn([5])  # a row of weight 3 is still retained
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"largest sample weight \(3\).*max_sample_weight"):
        model.unlearn([9, 11])
    with pytest.raises(ValueError, match="largest sample weight"):
        model.partial_unlearn([9])
    assert_unchanged(before, model)
    declared = NoisyLogisticRegression(max_sample_weight=3.0, random_state=0).fit(X, y, sample_weight=weights)
    assert declared.unlearn([5, 9]).certificate_.satisfied


def test_weighted_certificates_replay_and_survive_json(cancer):
    X, y = cancer
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    model = NoisyLogisticRegression(max_sample_weight=2.0, class_weight={1: 1.5}, random_state=0)
    model.fit(X, y, sample_weight=weights)
    model.unlearn([1, 2]).unlearn([40])
    certificate = model.certificate_
    assert certificate.satisfied and certificate.constants["W"] == 3.0
    assert "W = 3" in certificate.neighbouring
    certificate.verify()
    UnlearningCertificate.from_json(json.dumps(certificate.to_dict())).verify()


@pytest.mark.parametrize("kwargs, fit_weight, message", [
    ({"class_weight": "balanced"}, None, "balanced.*counts"),
    ({}, -1.0, "[Nn]egative"),
    ({}, "short", "sample_weight"),
    ({}, 0.0, "weight.*zero"),
    ({"max_sample_weight": 1.5}, 2.0, "above max_sample_weight=1.5"),
    ({"class_weight": {7: 2.0}}, None, "label 7"),
    ({"class_weight": {0: -1.0}}, None, "finite number >= 0"),
    ({"max_sample_weight": 0.5}, None, "below the weight 1"),
])
def test_bad_weights_are_refused_and_change_nothing(cancer, kwargs, fit_weight, message):
    X, y = cancer
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    before = snapshot(model)
    if fit_weight is None:
        sample_weight = None
    elif fit_weight == "short":
        sample_weight = np.ones(len(y) - 1)
    else:
        sample_weight = np.ones(len(y))
        sample_weight[:5] = fit_weight
        if fit_weight == 0.0:
            sample_weight[:] = 0.0
    model.set_params(**kwargs)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, sample_weight=sample_weight)
    model.set_params(class_weight=None, max_sample_weight=None)
    assert_unchanged(before, model)


def test_mlp_sample_weight_trains_a_weighted_mean_and_keeps_the_certificate():
    X, y = load_iris(return_X_y=True)
    options = dict(hidden_layer_sizes=(8,), batch_size=32, max_iter=20, random_state=0)
    plain = NoisyMLPClassifier(**options).fit(X, y)
    ones = NoisyMLPClassifier(**options).fit(X, y, sample_weight=np.ones(len(y)))
    assert np.array_equal(plain._params, ones._params)
    weights = np.where(y == 2, 5.0, 1.0)
    weighted = NoisyMLPClassifier(**options).fit(X, y, sample_weight=weights)
    assert not np.allclose(weighted._params, plain._params)
    # The post-processing certificate holds for any loss: the same noise and record as unweighted.
    assert weighted.unlearning_noise_ == plain.unlearning_noise_
    assert weighted.certificate_.record == plain.certificate_.record
    weighted.unlearn([0, 149]).certificate_.verify()
