"""Certificates that hold for the machine: noise that acts, secret keys, a class set the forgotten
rows cannot change, certificates that recompute themselves."""

import json
import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, UnlearningCertificate
from skunlearn.certificate import CertificateVerificationError

from ..helpers import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def wide():
    """The 60,000 × 784 shape of the benchmark, where the old calibration gave σ ≈ 2e-33."""
    X, y = make_classification(n_samples=60_000, n_features=784, n_informative=50, n_classes=10, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X / X.max(axis=0), y


# ---------------------------------------------------------------------------- noise that acts


@pytest.mark.slow
def test_two_noise_keys_with_the_same_batch_order_give_different_models_at_scale(wide):
    X, y = wide
    order = np.random.default_rng(0).permutation(X.shape[0])
    # Training carries noise only with private_training=True (by default it is noise-free, and so is
    # the fitted model: the same for every key). Where there is noise, it must change the bits.
    private = [NoisyLogisticRegression(private_training=True)._fit(X, y, slot_order=order, noise_key=key)
               for key in (1, 2)]
    assert private[0].noise_ == private[1].noise_ > 0
    assert np.mean(private[0]._params != private[1]._params) > 0.99
    models = [NoisyLogisticRegression()._fit(X, y, slot_order=order, noise_key=key) for key in (1, 2)]
    np.testing.assert_array_equal(models[0]._params, models[1]._params)
    for model in models + private:
        model.unlearn([order[-1]])  # the row in the last slot, the worst case
        assert model.certificate_.satisfied
    assert np.mean(models[0]._params != models[1]._params) > 0.99
    assert np.mean(private[0]._params != private[1]._params) > 0.99
    # The per-step noise is at least 2**20 ulps of the largest parameter the ball allows.
    step_noise = math.sqrt(2 * models[0].step_size_) * models[0].noise_
    assert step_noise >= 2**20 * np.spacing(models[0].radius_)
    assert np.abs(models[0]._params).max() <= models[0].radius_


@pytest.mark.slow
@pytest.mark.parametrize("n_samples", [400_000, 2_000_000])
def test_defaults_fit_and_certify_requests_at_millions_of_rows(n_samples):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert model.noise_ > 0 and np.isfinite(model._params).all()
    assert model.score(X[:20_000], y[:20_000]) > 0.8
    model.unlearn([0, n_samples - 1])
    assert model.certificate_.satisfied
    model.certificate_.verify()


def test_noise_below_the_floor_is_refused_and_changes_nothing(iris):
    X, y = iris
    with pytest.raises(ValueError, match="ulps of the radius"):
        NoisyLogisticRegression(noise=1e-30).fit(X, y)
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    before = snapshot(model)
    with pytest.raises(ValueError, match="ulps of the radius"):
        model.set_params(noise=1e-30).fit(X, y)
    assert_unchanged(dict(before, params=model.get_params()), model)
    # noise=0 is allowed: it certifies nothing.
    noiseless = NoisyLogisticRegression(noise=0.0, random_state=0).fit(X, y)
    assert noiseless.partial_unlearn([0], max_epochs=1).certificate_.epsilon == math.inf
    with pytest.raises(ValueError, match="ulps of the largest clip radius"):
        NoisyMLPClassifier(unlearning_noise=1e-30, max_iter=1).fit(X, y)


def test_rounding_is_charged_to_the_certificate(iris):
    X, y = iris
    model = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([3])
    ledger = model._ledger
    assert model.certificate_.constants["rounding_shift"] == ledger.rounding_shift > 0
    import dataclasses
    exact = dataclasses.replace(ledger, n_features=1, n_outputs=1)  # a smaller rounding shift
    assert exact.rounding_shift < ledger.rounding_shift
    assert exact.rdp_coefficient() < ledger.rdp_coefficient()
    arithmetic = model.certificate_.arithmetic
    assert "binary64" in arithmetic and "grid" in arithmetic and "ChaCha20" in arithmetic
    assert "assumed" not in arithmetic and "not covered" not in arithmetic


def test_cuda_is_refused_until_its_arithmetic_is_accounted_for(iris):
    X, y = iris
    for estimator in (NoisyLogisticRegression(device="cuda"), NoisyMLPClassifier(device="cuda", max_iter=1)):
        with pytest.raises(ValueError, match='device="cuda" cannot certify'):
            estimator.fit(X, y)
    assert NoisyLogisticRegression(device="auto", random_state=0).fit(X, y).certificate_.arithmetic


# ---------------------------------------------------------------------------- secret noise


@pytest.mark.parametrize("Estimator", [NoisyLogisticRegression, NoisyMLPClassifier])
def test_unseeded_noise_comes_from_the_operating_system(Estimator, iris):
    X, y = iris
    kwargs = {"max_iter": 3} if Estimator is NoisyMLPClassifier else {}
    np.random.seed(0)
    first = Estimator(**kwargs).fit(X, y)
    np.random.seed(0)  # the global numpy state must not determine the key
    second = Estimator(**kwargs).fit(X, y)
    assert first._noise_key != second._noise_key
    assert not np.array_equal(first._params, second._params)
    assert "operating system" in first.certificate_.noise_secrecy
    seeded = Estimator(random_state=3, **kwargs).fit(X, y)
    assert seeded._noise_key == Estimator(random_state=3, **kwargs).fit(X, y)._noise_key
    assert "do not know that seed" in seeded.certificate_.noise_secrecy


# ---------------------------------------------------------------------------- class set


@pytest.mark.parametrize("Estimator, kwargs", [(NoisyLogisticRegression, {}),
                                               (NoisyMLPClassifier, {"max_iter": 3, "hidden_layer_sizes": (8,)})])
def test_the_class_set_cannot_depend_on_the_forgotten_rows(Estimator, kwargs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = np.array([0, 1] * 29 + [2, 0])  # row 58 is the only row of class 2
    model = Estimator(random_state=0, **kwargs).fit(X, y)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"every retained row of class \[2\].*classes=\[0, 1, 2\]"):
        model.unlearn([58, 3])
    assert_unchanged(before, model)
    # With the public class set the request is certified and the model keeps its three classes.
    public = Estimator(random_state=0, classes=[0, 1, 2], **kwargs).fit(X, y).unlearn([58, 3])
    assert public.certificate_.satisfied and public.classes_.tolist() == [0, 1, 2]
    assert public.predict_proba(X).shape == (60, 3)
    # A class absent from the training rows is still part of a public class set.
    assert Estimator(random_state=0, classes=[0, 1, 2, 7], **kwargs).fit(X, y).classes_.tolist() == [0, 1, 2, 7]
    with pytest.raises(ValueError, match="not in classes"):
        Estimator(classes=[0, 1], **kwargs).fit(X, y)


# ---------------------------------------------------------------------------- re-checkable certificates


@pytest.mark.parametrize("estimator", [
    NoisyLogisticRegression(random_state=0),
    NoisyLogisticRegression(random_state=0, batch_size=None),
    NoisyLogisticRegression(random_state=0, bound="published"),
    NoisyMLPClassifier(random_state=0, max_iter=3, hidden_layer_sizes=(8,)),
    NoisyMLPClassifier(random_state=0, max_iter=3, hidden_layer_sizes=(8,), unlearn_method="gradient_clipping"),
], ids=["logistic", "full-batch", "published", "model-clipping", "gradient-clipping"])
def test_honest_certificates_verify_at_every_stage(estimator, iris):
    X, y = iris
    model = estimator.fit(X, y)
    assert model.certificate_.verify() is model.certificate_
    model.unlearn([0, 60])
    model.certificate_.verify()
    model.partial_unlearn([7], max_epochs=0)
    model.certificate_.verify()
    model.partial_unlearn(max_epochs=2)
    model.unlearn([100])
    certificate = UnlearningCertificate.from_json(model.certificate_.to_json())
    assert certificate == model.certificate_
    certificate.verify()
    assert certificate.requests == 3 and certificate.rows_forgotten == 4


def _tampered(certificate, **changes):
    data = json.loads(certificate.to_json())
    for path, value in changes.items():
        target = data
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return UnlearningCertificate.from_dict(data)


def test_tampered_certificates_fail_verification(iris):
    X, y = iris
    model = NoisyLogisticRegression(batch_size=64, random_state=0).fit(X, y).unlearn([0, 60]).unlearn([5])
    honest = model.certificate_
    slot = honest.record["removed_slots"][0]
    cases = {
        "epsilon": {"epsilon": honest.epsilon / 2},
        "noise": {"noise": honest.noise * 10, "record.noise_std": honest.noise * 10},
        "a forgotten slot": {"record.removed_slots.0": (slot + 75) % 150},  # in another of the 3 batches
        "the step of a request": {"record.removed_at.2": honest.record["removed_at"][2] + 1},
        "a past epsilon": {"history.0.epsilon": 0.01},
        "the row count": {"rows_forgotten": 1},
        "the arithmetic": {"arithmetic": "exact"},
    }
    for name, change in cases.items():
        with pytest.raises(CertificateVerificationError):
            _tampered(honest, **change).verify()
    with pytest.raises(CertificateVerificationError, match="no record"):
        _tampered(honest, record={}).verify()


def test_the_next_certificate_comes_from_the_ledger_not_the_public_attribute(iris):
    X, y = iris
    model = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([0])
    honest = model.certificate_
    forged = _tampered(honest, **{"history.0.rows": 50, "rows_forgotten": 50})
    with pytest.raises(AttributeError, match="read-only"):
        model.certificate_ = forged
    # Even a certificate forged into the published state does not propagate: the ledger writes the next one.
    model._state = model._state.replace(attributes={"certificate_": forged})
    model.unlearn([1])
    assert model.certificate_.rows_forgotten == 2
    assert [entry["rows"] for entry in model.certificate_.history] == [1, 1]
    model.certificate_.verify()


@pytest.mark.parametrize("field, value, message", [
    ("epsilon", "abc", "epsilon must be a number"),
    ("epsilon", -0.5, "epsilon must be >= 0"),
    ("delta", 5, "delta must be <= 1"),
    ("target_epsilon", 0, "target_epsilon must be > 0"),
    ("order", 0.5, "order must be > 1"),
    ("steps", 2.5, "steps must be an integer"),
    ("requests", -1, "requests must be >= 0"),
    ("method", 3, "method must be a string"),
    ("history", "x", "history must be a sequence"),
    ("satisfied", False, "contradicts"),
    ("epsilon", float("nan"), "NaN"),
])
def test_from_dict_validates_types_and_ranges(field, value, message, iris):
    X, y = iris
    data = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([0]).certificate_.to_dict()
    data[field] = value
    with pytest.raises(ValueError, match=message):
        UnlearningCertificate.from_dict(data)
    del data[field]
    if field in ("epsilon", "method"):
        with pytest.raises(ValueError, match="missing"):
            UnlearningCertificate.from_dict(data)


def test_json_is_strict(iris):
    X, y = iris
    certificate = NoisyLogisticRegression(noise=0.0, random_state=0).fit(X, y).partial_unlearn([0]).certificate_
    assert certificate.epsilon == math.inf
    text = certificate.to_json()

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert data["epsilon"] == "inf"
    assert UnlearningCertificate.from_json(text) == certificate


# ---------------------------------------------------------------------------- the float output law (issue 19)


def _private_coordinate_problem(n=2000, d=20, seed=0):
    """Rows whose last column is 0 except for row 0: that coordinate is the forgotten row's alone."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, -1] = 0.0
    X[0, -1] = 3.0
    y = (X[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def test_one_noisy_step_lands_on_the_grid_in_both_runs():
    """The lattice attack of issue 19 on its own configuration: one noisy full-batch step per request.

    In the certifying run the private coordinate is exactly 0 before the
    noise, so with float noise its output was the generator's value itself,
    on a lattice sparse among the floats near 0, while the unlearned run's
    spread over all floats; testing "on the lattice" told the runs apart at
    δ ≥ 1.25e-3 against a certified 5e-4. Now both runs' noisy coordinates are
    exact multiples of the grid Λ (``RN_Λ(v) + Λ K``): every test on the bits
    below Λ has the same outcome in both runs, and above Λ the output is a
    function of an exactly Gaussian-smoothed value.
    """
    X, y = _private_coordinate_problem()
    estimator = NoisyLogisticRegression(batch_size=None, unlearning_epochs=1, finetune_epochs=0,
                                        private_training=False, max_iter=30)
    grids, on_grid, before_noise = set(), {"unlearned": [], "certifying": []}, []
    for seed in range(6):
        unlearned = clone(estimator).set_params(random_state=seed).fit(X, y)
        assert unlearned.coef_[0, -1] != 0  # the forgotten row moved its coordinate during training
        unlearned.unlearn([0])
        certifying = clone(estimator).set_params(random_state=seed)
        certifying._certifying_fit(X, y, [0])
        before_noise.append(certifying.coef_[0, -1])
        certifying.unlearn([0])
        for name, model in (("unlearned", unlearned), ("certifying", certifying)):
            assert model.certificate_.satisfied
            grid = model._ledger.noise_grid
            grids.add(grid)
            theta = model._params.ravel()
            # The one noisy step's projection is inactive here (the norm stays far below R), so what is
            # released is the grid value itself.
            assert np.linalg.norm(theta) < 0.5 * model._ledger.radius
            on_grid[name].append(bool(np.all(theta / grid == np.round(theta / grid))))
    assert before_noise == [0.0] * 6  # the attack's premise: the certifying run's coordinate is exactly 0
    assert len(grids) == 1  # Λ is a public function of the constants, the same for both runs
    assert on_grid == {"unlearned": [True] * 6, "certifying": [True] * 6}


@pytest.mark.parametrize("make", [
    lambda: NoisyLogisticRegression(epsilon=100.0, max_iter=5, random_state=0),
    lambda: NoisyMLPClassifier(epsilon=100.0, hidden_layer_sizes=(8,), max_iter=2, random_state=0),
    lambda: NoisyMLPClassifier(epsilon=100.0, hidden_layer_sizes=(8,), max_iter=2, random_state=0,
                               unlearn_method="gradient_clipping"),
])
def test_a_large_epsilon_target_is_met_below_the_failures_cap(make, iris):
    # The sampler's failure share in delta grows like e^eps: a target of 100 is certified at the cap (about 20
    # here), a stronger claim, instead of never meeting delta.
    from skunlearn.accounting import failure_epsilon_cap

    X, y = iris
    model = make().fit(X, y).unlearn([3])
    certificate = model.certificate_
    assert certificate.satisfied and certificate.delta <= certificate.target_delta
    assert 5.0 < certificate.epsilon < 40.0
    assert failure_epsilon_cap(1e-6, 1e9, 2.0**25) < 100.0
