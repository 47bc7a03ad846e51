"""NoisyLogisticRegression: scikit-learn contract, convergence, unlearning, errors that change nothing."""

import pickle

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import NoisyLogisticRegression, UnlearningCertificate
from skunlearn._constants import scale_rows
from skunlearn._defaults import default_batching
from skunlearn.pipeline import PrivacyLeakWarning

from ..helpers import assert_unchanged, expected_failed_checks, snapshot


@parametrize_with_checks(
    [NoisyLogisticRegression(random_state=0), NoisyLogisticRegression(batch_size=None, random_state=0)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(StandardScaler().fit_transform(X), y, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(StandardScaler().fit_transform(X), y, random_state=0, stratify=y)


# ---------------------------------------------------------------------------- sklearn surface


def test_clone_pickle_and_unlearn_after_loading(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(random_state=3).fit(X, y)
    assert clone(model).get_params() == model.get_params()
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    assert loaded.certificate_ == model.certificate_
    loaded.unlearn([1, 2])
    model.unlearn([1, 2])
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    assert loaded.certificate_ == model.certificate_


def test_pipeline_and_grid_search_in_parallel(cancer):
    X, X_test, y, y_test = cancer
    pipe = make_pipeline(StandardScaler(), NoisyLogisticRegression(random_state=0))
    search = GridSearchCV(pipe, {"noisylogisticregression__alpha": [1e-2, 3e-2]}, cv=3, n_jobs=2).fit(X, y)
    assert search.best_estimator_.score(X_test, y_test) > 0.85
    best = search.best_estimator_[-1]
    with pytest.warns(PrivacyLeakWarning, match="standardscaler"):  # the scaler still holds the row
        best.unlearn([0])
    assert best.certificate_.satisfied


def test_binary_surface(cancer):
    X, _, y, _ = cancer
    labels = np.where(y == 1, "benign", "malignant")
    model = NoisyLogisticRegression(random_state=0).fit(X, labels)
    assert list(model.classes_) == ["benign", "malignant"]
    assert model.coef_.shape == (1, X.shape[1]) and model.intercept_.shape == (1,)
    scores = model.decision_function(X)
    assert scores.shape == (X.shape[0],)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(scores > 0).astype(int)])
    assert model.n_iter_ == default_batching(X.shape[0])[1] and model.n_features_in_ == X.shape[1]


def test_multiclass_surface_and_score(digits):
    X, X_test, y, y_test = digits
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert model.coef_.shape == (10, X.shape[1]) and model.intercept_.shape == (10,)
    proba = model.predict_proba(X_test)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X_test))
    assert model.score(X_test, y_test) > 0.8


def test_feature_names_are_recorded():
    pytest.importorskip("pandas")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)


def test_float32_data_stays_float32_and_parameters_are_binary64(digits):
    # The data is never copied to float64; the parameters always are binary64, the arithmetic the
    # certificate accounts for (the noise must be representable at the parameters' resolution).
    X, _, y, _ = digits
    model = NoisyLogisticRegression(random_state=0).fit(X.astype(np.float32), y)
    assert model._X_slots.dtype == np.float32
    assert model.coef_.dtype == np.float64 and model._params.dtype == np.float64
    assert model.decision_function(X.astype(np.float32)).dtype == np.float32


def test_verbose_reports_epochs(cancer, capsys):
    X, _, y, _ = cancer
    NoisyLogisticRegression(max_iter=3, verbose=1, random_state=0).fit(X, y).unlearn([0])
    out = capsys.readouterr().out
    assert "training epoch 3/3" in out and "unlearning epoch 1/" in out


def test_parameters_are_not_rewritten(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(random_state=0)
    params = model.get_params()
    model.fit(X, y)
    assert model.get_params() == params
    assert model.noise_ > 0 and model.step_size_ > 0 and model.delta_ == min(1e-6, X.shape[0] ** -1.5) < 1 / X.shape[0]


# ---------------------------------------------------------------------------- reproducibility


def test_same_random_state_same_model_after_fit_and_unlearn(digits):
    X, _, y, _ = digits
    a = NoisyLogisticRegression(random_state=7).fit(X, y)
    b = NoisyLogisticRegression(random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    a.unlearn([5, 9]).partial_unlearn([11], max_epochs=1)
    b.unlearn([5, 9]).partial_unlearn([11], max_epochs=1)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.certificate_ == b.certificate_
    c = NoisyLogisticRegression(random_state=8).fit(X, y)
    assert not np.array_equal(a.coef_, c.coef_)


# ---------------------------------------------------------------------------- the objective


@pytest.mark.parametrize("dataset, alpha", [("cancer", 1e-2), ("cancer", 1e-3), ("digits", 1e-2)])
def test_noise_free_full_batch_converges_to_sklearn(dataset, alpha, request):
    X, _, y, _ = request.getfixturevalue(dataset)
    n = X.shape[0]
    model = NoisyLogisticRegression(alpha=alpha, batch_size=None, noise=0.0, max_iter=6000, radius=1e6).fit(X, y)
    # Same objective: mean log-loss + alpha/2 ||theta||^2 on the scaled rows, intercept column included.
    reference = LogisticRegression(C=1 / (n * alpha), fit_intercept=False, tol=1e-12, max_iter=20000)
    reference.fit(scale_rows(X, 1.0), y)
    ours = np.hstack([model.coef_, model.intercept_[:, None]])
    assert np.linalg.norm(ours - reference.coef_) <= 1e-4 * np.linalg.norm(reference.coef_)
    assert model.certificate_.epsilon == np.inf and not model.certificate_.satisfied


# ---------------------------------------------------------------------------- certificates


def test_fit_certificate_is_learning_dp_with_private_training(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(private_training=True, random_state=0).fit(X, y)
    cert = model.certificate_
    assert isinstance(cert, UnlearningCertificate)
    assert cert.method == "pnsgd-learning-dp" and cert.requests == 0 and cert.rows_forgotten == 0
    batch_size, epochs = default_batching(X.shape[0])
    assert cert.steps == epochs * int(np.ceil(X.shape[0] / (batch_size or X.shape[0])))
    assert cert.constants["L"] == 0.25 and cert.constants["M"] == 1.0 and cert.noise == model.noise_
    assert np.isfinite(cert.epsilon)
    cert.verify()


def test_by_default_training_is_noise_free_and_says_so(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert model.certificate_.method == "pnsgd-training" and model.certificate_.epsilon == np.inf
    assert "no guarantee before a request" in model.certificate_.reference
    # Training drew no normal: the noise counter has not moved.
    assert model._noise_counter == 0
    # The same model as the noise-free fit: training noise is off, not merely small.
    noiseless = NoisyLogisticRegression(random_state=0, noise=0.0).fit(X, y)
    np.testing.assert_array_equal(model._params, noiseless._params)
    model.unlearn([5])
    assert model.certificate_.satisfied
    assert model.certificate_.history[0]["finetune_epochs"] == model.finetune_epochs_ > 0
    model.certificate_.verify()


def test_one_row_costs_the_calibrated_budget(cancer):
    X, _, y, _ = cancer
    for budget in (1, 3):
        model = NoisyLogisticRegression(unlearning_epochs=budget, random_state=0).fit(X, y)
        model.unlearn([int(np.argmax(model._slot_of))])  # the row in the last (worst) slot
        assert model.certificate_.satisfied
        assert model.certificate_.history[-1]["epochs"] <= budget


def test_batch_request_is_accounted_as_many_rows(digits):
    X, _, y, _ = digits
    one = NoisyLogisticRegression(random_state=0).fit(X, y).partial_unlearn([0], max_epochs=1)
    many = NoisyLogisticRegression(random_state=0).fit(X, y).partial_unlearn(np.arange(40), max_epochs=1)
    assert many.certificate_.epsilon > one.certificate_.epsilon
    assert many.certificate_.rows_forgotten == 40 and many.certificate_.requests == 1


def test_partial_unlearn_drives_epsilon_down(digits):
    X, _, y, _ = digits
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    model.partial_unlearn(np.arange(60), max_epochs=0)
    epsilons = [model.certificate_.epsilon]
    for _ in range(6):
        model.partial_unlearn(max_epochs=1)
        epsilons.append(model.certificate_.epsilon)
    assert all(b <= a for a, b in zip(epsilons, epsilons[1:]))
    assert epsilons[-1] < epsilons[0]
    assert model.certificate_.requests == 1 and model.certificate_.history[0]["epochs"] == 6


def test_sequential_requests_accumulate(digits):
    X, _, y, _ = digits
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    model.unlearn([1, 2]).unlearn([3]).unlearn(np.array([False] * 4 + [True] + [False] * (X.shape[0] - 5)))
    cert = model.certificate_
    assert cert.requests == 3 and cert.rows_forgotten == 4 and cert.satisfied
    assert [h["rows"] for h in cert.history] == [2, 1, 1]
    assert model.removed_indices_.tolist() == [1, 2, 3, 4] and model.n_retained_ == X.shape[0] - 4


def test_forgotten_rows_do_not_survive(digits):
    X, _, y, _ = digits
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    forgotten = [10, 20, 30]
    model.unlearn(forgotten)
    stored = model._X_slots[:, :-1]
    for row in forgotten:
        scaled = scale_rows(X[[row]], 1.0)[0, :-1]
        assert not np.any(np.all(np.isclose(stored, scaled), axis=1))
    blob = pickle.dumps(model)
    assert scale_rows(X[[10]], 1.0)[0, :-1].tobytes() not in blob


def test_published_bound_mode(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(bound="published", random_state=0).fit(X, y).unlearn([3])
    assert model.certificate_.method == "pnsgd-published" and model.certificate_.satisfied
    default = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert default.noise_ < model.noise_


@pytest.mark.parametrize("dataset", ["digits", "cancer"])
def test_unlearning_matches_retraining_accuracy(dataset, request):
    """10% of rows in 10 requests at (1, default delta): within 2 points of retraining, averaged over 6 seeds."""
    X, X_test, y, y_test = request.getfixturevalue(dataset)
    params = dict(epsilon=1.0, batch_size=16, unlearning_epochs=3)
    rng = np.random.default_rng(0)
    gaps = []
    for seed in range(6):  # noise moves single runs by a few points; the mean is what is compared
        forget = rng.permutation(X.shape[0])[: X.shape[0] // 10]
        model = NoisyLogisticRegression(random_state=seed, **params).fit(X, y)
        for chunk in np.array_split(forget, 10):
            model.unlearn(chunk)
        assert model.certificate_.satisfied and model.certificate_.requests == 10
        keep = np.setdiff1d(np.arange(X.shape[0]), forget)
        retrained = NoisyLogisticRegression(random_state=seed, **params).fit(X[keep], y[keep])
        gaps.append(retrained.score(X_test, y_test) - model.score(X_test, y_test))
    assert np.mean(gaps) <= 0.02, gaps


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make_input, error, message",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), y), ValueError, "infinity"),
        (lambda X, y: (X[:1], y[:1]), ValueError, "minimum of 2"),
        (lambda X, y: (X, np.zeros_like(y)), ValueError, "one class"),
        (lambda X, y: (sparse.csr_matrix(np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X)), y),
         ValueError, "NaN"),  # sparse input is accepted (tests/estimators/test_sparse.py); its values are checked alike
        (lambda X, y: (X, y + 0.5), ValueError, "Unknown label type"),
    ],
)
def test_fit_rejects_bad_input(cancer, make_input, error, message):
    X, _, y, _ = cancer
    with pytest.raises(error, match=message):
        NoisyLogisticRegression().fit(*make_input(X, y))


def test_bad_parameters_are_named(cancer):
    X, _, y, _ = cancer
    with pytest.raises(ValueError, match="alpha"):
        NoisyLogisticRegression(alpha=0).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate_init"):
        NoisyLogisticRegression(learning_rate_init=100.0).fit(X, y)


def test_predict_checks_feature_count(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :5])


def test_unreachable_target_changes_nothing(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(noise=1e-6, random_state=0).fit(X, y)
    model.max_unlearning_epochs = 3
    before = snapshot(model)
    with pytest.raises(ValueError, match="out of reach"):
        model.unlearn([1])
    assert_unchanged(before, model)


def test_partial_unlearn_rejects_bad_budget(cancer):
    X, _, y, _ = cancer
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        model.partial_unlearn([1], max_epochs=-1)


@pytest.mark.parametrize("sparse", [False, True])
def test_loss_curve_is_the_training_log_loss_and_falls(sparse):
    import scipy.sparse as sp
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = NoisyLogisticRegression(max_iter=6, random_state=0).fit(sp.csr_array(X) if sparse else X, y)
    curve = model.loss_curve_
    assert len(curve) == 6 and all(np.isfinite(curve)) and curve[-1] < curve[0]
    # The first epoch starts at zero parameters: its first batch's loss is exactly log(10), the rest lower.
    assert curve[0] < np.log(10)
    # The last epoch's loss is close to the fitted model's log-loss on the rows as it sees them.
    from sklearn.metrics import log_loss
    assert abs(curve[-1] - log_loss(y, model.predict_proba(X))) < 0.15
