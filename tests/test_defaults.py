"""Useful by default: the rule reads only public quantities, user parameters win, the bundled sets meet their goals."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MaxAbsScaler

from skunlearn import NoisyLogisticRegression
from skunlearn._defaults import default_l2, rho_for

GOALS = {"digits": (load_digits, 0.90), "breast cancer": (load_breast_cancer, 0.90), "wine": (load_wine, 0.85),
         "iris": (load_iris, 0.80)}


def split(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = MaxAbsScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("name", sorted(GOALS))
def test_defaults_meet_the_goal_on_the_bundled_sets(name):
    """The issue's protocol: MaxAbs fitted on the training split, eps = 1, mean over random_state 0-2."""
    loader, goal = GOALS[name]
    X_train, X_test, y_train, y_test = split(loader)
    after_fit, after_request = [], []
    for seed in range(3):
        model = NoisyLogisticRegression(random_state=seed).fit(X_train, y_train)
        after_fit.append(model.score(X_test, y_test))
        model.unlearn([seed])
        assert model.certificate_.satisfied and model.certificate_.epsilon <= 1.0
        entry = model.certificate_.history[0]
        assert (entry["epochs"] + entry["finetune_epochs"]) <= 0.2 * model.max_iter  # <= 20% of retraining
        after_request.append(model.score(X_test, y_test))
    assert np.mean(after_request) >= goal, (name, after_request)
    assert np.mean(after_fit) >= goal - 0.05, (name, after_fit)


def test_the_rule_reads_no_data_values():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 6))
    y = np.arange(400) % 3
    first = NoisyLogisticRegression(random_state=0).fit(X, y)
    second = NoisyLogisticRegression(random_state=0).fit(100 * rng.standard_normal((400, 6)), y[::-1])
    assert first.alpha_ == second.alpha_ == default_l2(400, 3 * 7, 1.0, 1 / 400)
    # ... but it follows the public quantities: more rows, a looser target, fewer parameters -> less penalty.
    assert default_l2(4000, 21, 1.0, 1 / 4000) < first.alpha_
    assert default_l2(400, 21, 4.0, 1 / 400) < first.alpha_
    assert default_l2(400, 7, 1.0, 1 / 400) < first.alpha_


def test_parameters_the_user_sets_win():
    X, y = load_iris(return_X_y=True)
    model = NoisyLogisticRegression(alpha=0.02, unlearning_epochs=2, finetune_epochs=0, random_state=0).fit(X, y)
    assert model.alpha_ == 0.02 and model._ledger.strong_convexity == 0.02
    model.unlearn([0])
    assert "finetune_epochs" not in model.certificate_.history[0] or model.certificate_.history[0]["finetune_epochs"] == 0


def test_rho_for_inverts_the_classic_conversion():
    for epsilon, delta in [(1.0, 1e-5), (0.1, 1e-3), (8.0, 1e-9)]:
        rho = rho_for(epsilon, delta)
        assert rho + 2 * np.sqrt(rho * np.log(1 / delta)) == pytest.approx(epsilon, rel=1e-12)


def test_a_warning_tells_when_the_noise_will_dominate():
    X_train, _, y_train, _ = split(load_iris)
    with pytest.warns(UserWarning, match="will dominate the model.*unlearning_epochs.*epsilon"):
        NoisyLogisticRegression(epsilon=0.1, random_state=0).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NoisyLogisticRegression(epsilon=1.0, random_state=0).fit(X_train, y_train)
