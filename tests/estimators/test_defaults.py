"""Useful by default: the rule reads only public quantities, user parameters win, the bundled sets meet their goals."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MaxAbsScaler

from skunlearn import NoisyLogisticRegression
from skunlearn import NoisyMLPClassifier
from skunlearn._defaults import default_delta, default_l2, resolve_delta, rho_for

# Accuracy after one single-row request (mean of random_state 0-2), at the default delta = min(1e-6, n^-1.5).
# Issue 19 moved the default delta below 1/n; on the two smallest sets that costs accuracy the theory cannot give
# back (delta enters through log(1/delta): at n ~ 100 the request's noise variance grows 2.8x from delta = 1/n).
# Measured, 3 seeds, delta = 1/n -> default: digits 0.919 -> 0.913, breast cancer 0.902 -> 0.900,
# wine 0.919 -> 0.881 (after fit 0.852 -> 0.785), iris 0.807 -> 0.684. Iris (n = 112) now gets the warning that
# the noise will dominate (test below) instead of an accuracy goal; the others keep a goal with 1 point of slack
# for breast cancer and a looser after-fit bound for wine.
# Issue 19 then drew the noise on a grid from ChaCha20 (same law, other realizations). Wine's 0.881 was a lucky
# realization: over random_state 0-19 the mean after a request is 0.73 +- 0.04 with the old generator and
# 0.63 +- 0.03 with the new one (0.70 at delta = n^-1.5), against 0.88 after fit. Its goal is what 3 seeds of a
# 133-row set can promise (the README's "where theory forbids more"); digits and breast cancer keep theirs.
GOALS = {"digits": (load_digits, 0.90, 0.85), "breast cancer": (load_breast_cancer, 0.89, 0.85),
         "wine": (load_wine, 0.60, 0.75)}


def split(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = MaxAbsScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("name", sorted(GOALS))
def test_defaults_meet_the_goal_on_the_bundled_sets(name):
    """The issue's protocol: MaxAbs fitted on the training split, eps = 1, mean over random_state 0-2."""
    loader, goal, fit_goal = GOALS[name]
    X_train, X_test, y_train, y_test = split(loader)
    after_fit, after_request = [], []
    for seed in range(3):
        model = NoisyLogisticRegression(random_state=seed).fit(X_train, y_train)
        after_fit.append(model.score(X_test, y_test))
        model.unlearn([seed])
        assert model.certificate_.satisfied and model.certificate_.epsilon <= 1.0
        entry = model.certificate_.history[0]
        assert (entry["epochs"] + entry["finetune_epochs"]) <= 0.2 * model.n_iter_  # <= 20% of retraining
        after_request.append(model.score(X_test, y_test))
    assert np.mean(after_request) >= goal, (name, after_request)
    assert np.mean(after_fit) >= fit_goal, (name, after_fit)


def test_the_smallest_bundled_set_warns_with_mini_batches_at_the_default_delta():
    """Iris (112 training rows) in 64-row batches at (1, 1e-6): the estimator says the noise will dominate, and
    still certifies; at delta = 1/n it did not warn, and the default full-batch training does not either."""
    X_train, _, y_train, _ = split(load_iris)
    with pytest.warns(UserWarning, match="will dominate the model"):
        model = NoisyLogisticRegression(batch_size=64, random_state=0).fit(X_train, y_train)
    assert model.unlearn([0]).certificate_.satisfied
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cost is the smaller delta's
        NoisyLogisticRegression(batch_size=64, delta=1 / X_train.shape[0], random_state=0).fit(X_train, y_train)
        default = NoisyLogisticRegression(random_state=0).fit(X_train, y_train)  # 300 full-batch steps
    assert default.batch_size == "auto" and default.n_iter_ == 300 and default.unlearn([0]).certificate_.satisfied


def test_the_rule_reads_no_data_values():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 6))
    y = np.arange(400) % 3
    first = NoisyLogisticRegression(random_state=0).fit(X, y)
    second = NoisyLogisticRegression(random_state=0).fit(100 * rng.standard_normal((400, 6)), y[::-1])
    assert first.alpha_ == second.alpha_ == default_l2(400, 3 * 7, 1.0, default_delta(400), full_batch=True)
    # ... but it follows the public quantities: more rows, a looser target, fewer parameters -> less penalty.
    assert default_l2(4000, 21, 1.0, default_delta(4000), full_batch=True) < first.alpha_
    assert default_l2(400, 21, 4.0, default_delta(400), full_batch=True) < first.alpha_
    assert default_l2(400, 7, 1.0, default_delta(400), full_batch=True) < first.alpha_
    # The batching is public too: mini-batches on the same rows take the mini-batch constant.
    batched = NoisyLogisticRegression(batch_size=64, random_state=0).fit(X, y)
    assert batched.alpha_ == default_l2(400, 3 * 7, 1.0, default_delta(400), full_batch=False) < first.alpha_


@pytest.mark.parametrize("n", [1, 2, 10, 400, 1347, 10_000, 60_000, 10**7])
def test_the_default_delta_is_strictly_below_one_over_n(n):
    # "Publish one random row" is (0, 1/n)-DP: a default delta >= 1/n would admit it.
    assert default_delta(n) == min(1e-6, n**-1.5) < 1 / n
    assert resolve_delta(None, n) == resolve_delta("auto", n) == default_delta(n)
    assert resolve_delta(1e-3, n) == 1e-3


def test_both_estimators_and_the_cli_share_the_default_delta(capsys):
    from skunlearn.__main__ import main

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 4)), np.arange(300) % 2
    for delta in (None, "auto"):
        logistic = NoisyLogisticRegression(delta=delta, max_iter=2, random_state=0).fit(X, y)
        assert logistic.delta_ == default_delta(300) == logistic.certificate_.to_dict()["target_delta"]
    mlp = NoisyMLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    assert mlp.delta_ == default_delta(300)
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "300", "--n-features", "4", "--l2", "0.1", "--unlearn-epochs", "1"]) == 0
    assert f"{default_delta(300):.3g})" in capsys.readouterr().out
    with pytest.raises(ValueError):
        NoisyLogisticRegression(delta="1/n").fit(X, y)


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
        NoisyLogisticRegression(epsilon=0.1, batch_size=64, random_state=0).fit(X_train, y_train)
    X_train, _, y_train, _ = split(load_wine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NoisyLogisticRegression(epsilon=1.0, random_state=0).fit(X_train, y_train)
