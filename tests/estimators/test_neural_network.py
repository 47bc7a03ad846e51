"""NoisyMLPClassifier: scikit-learn contract, training quality, certified unlearning, atomic errors."""

import pickle
import time
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn import NoisyMLPClassifier
from skunlearn.accounting import output_perturbation_noise



@parametrize_with_checks([
    NoisyMLPClassifier(hidden_layer_sizes=(16,), random_state=0),
    NoisyMLPClassifier(hidden_layer_sizes=(8, 8), activation="tanh", unlearn_method="gradient_clipping",
                       random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X - 8.0) / 8.0, y, random_state=0, stratify=y)


def test_clone_pickle_pipeline_and_grid_search(digits):
    X, X_test, y, y_test = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, y)
    assert clone(model).get_params() == model.get_params()
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    loaded.unlearn([4])
    model.unlearn([4])
    np.testing.assert_array_equal(loaded.coefs_[0], model.coefs_[0])
    pipe = make_pipeline(FunctionTransformer(), NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=5,
                                                                  random_state=0))
    search = GridSearchCV(pipe, {"noisymlpclassifier__alpha": [1e-4, 1e-3]}, cv=3, n_jobs=2).fit(X, y)
    assert search.best_estimator_.score(X_test, y_test) > 0.85
    search.best_estimator_[-1].unlearn([0, 1])
    assert search.best_estimator_[-1].certificate_.satisfied


def test_surface_and_same_random_state(digits):
    X, X_test, y, _ = digits
    labels = np.array(["d%d" % v for v in y])
    a = NoisyMLPClassifier(hidden_layer_sizes=(20, 10), max_iter=3, random_state=5).fit(X, labels)
    b = NoisyMLPClassifier(hidden_layer_sizes=(20, 10), max_iter=3, random_state=5).fit(X, labels)
    assert [c.shape for c in a.coefs_] == [(64, 20), (20, 10), (10, 10)] and a.n_layers_ == 4
    np.testing.assert_array_equal(a.coefs_[1], b.coefs_[1])
    a.unlearn([1, 2]).partial_unlearn([3], max_epochs=1)
    b.unlearn([1, 2]).partial_unlearn([3], max_epochs=1)
    np.testing.assert_array_equal(a.coefs_[2], b.coefs_[2])
    assert a.certificate_ == b.certificate_
    np.testing.assert_allclose(a.predict_proba(X_test).sum(axis=1), 1)
    np.testing.assert_allclose(np.exp(a.predict_log_proba(X_test)), a.predict_proba(X_test), rtol=1e-10)
    assert set(a.predict(X_test)) <= set(labels)


def test_binary_decision_function_is_one_dimensional(digits):
    X, _, y, _ = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y % 2)
    scores = model.decision_function(X)
    assert scores.shape == (X.shape[0],)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(scores > 0).astype(int)])


def test_float32_data_stays_float32_and_parameters_are_binary64(digits):
    X, _, y, _ = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X.astype(np.float32), y)
    assert model._X_slots.dtype == np.float32 and model._params.dtype == np.float64
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_noise_free_training_is_comparable_to_sklearn(digits, activation):
    """Noise 0, no projection: the same SGD as MLPClassifier(solver="sgd") without momentum."""
    X, X_test, y, y_test = digits
    params = dict(hidden_layer_sizes=(64,), activation=activation, alpha=1e-4, batch_size=64,
                  learning_rate_init=0.1, max_iter=20)
    ours = NoisyMLPClassifier(noise=0.0, radius=1e9, random_state=0, **params).fit(X, y).score(X_test, y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.mean([
            MLPClassifier(solver="sgd", momentum=0.0, learning_rate="constant", random_state=seed, tol=0,
                          n_iter_no_change=10**6, **params).fit(X, y).score(X_test, y_test)
            for seed in range(3)
        ])
    assert ours >= theirs - 0.02, (ours, theirs)


@pytest.mark.parametrize("method", ["model_clipping", "gradient_clipping"])
def test_unlearning_matches_retraining_with_less_compute(digits, method, capsys):
    """Digits at (1, 1e-5), 10% of rows forgotten: within 3 points of retraining, in fewer epochs."""
    X, X_test, y, y_test = digits
    params = dict(epsilon=1.0, delta=1e-5, unlearn_method=method, max_iter=30, finetune_epochs=10)
    rng = np.random.default_rng(0)
    forget = rng.permutation(X.shape[0])[: X.shape[0] // 10]
    keep = np.setdiff1d(np.arange(X.shape[0]), forget)
    unlearned, retrained, unlearn_seconds, retrain_seconds = [], [], 0.0, 0.0
    for seed in range(3):
        model = NoisyMLPClassifier(random_state=seed, **params).fit(X, y)
        start = time.perf_counter()
        model.unlearn(forget)
        unlearn_seconds += time.perf_counter() - start
        assert model.certificate_.satisfied and model.certificate_.rows_forgotten == forget.size
        unlearned.append(model.score(X_test, y_test))
        start = time.perf_counter()
        retrained.append(NoisyMLPClassifier(random_state=seed, **params).fit(X[keep], y[keep]).score(X_test, y_test))
        retrain_seconds += time.perf_counter() - start
    epochs = model.certificate_.history[-1]["epochs"] + model.finetune_epochs
    with capsys.disabled():
        print(f"\n  {method}: unlearn {np.mean(unlearned):.3f} in {epochs} epochs ({unlearn_seconds:.2f} s) | "
              f"retrain {np.mean(retrained):.3f} in {model.max_iter} epochs ({retrain_seconds:.2f} s)")
    assert np.mean(unlearned) >= np.mean(retrained) - 0.03
    assert epochs < model.max_iter


def test_output_perturbation_needs_more_noise_than_either_method(digits):
    X, _, y, _ = digits
    for method in ("model_clipping", "gradient_clipping"):
        model = NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=2, delta=1e-5, unlearn_method=method,
                                   random_state=0).fit(X, y)
        baseline = output_perturbation_noise(model.epsilon, model.delta_, model.radius)
        assert baseline > model.unlearning_noise_, (method, baseline, model.unlearning_noise_)


def test_certificate_is_sound_and_independent_of_request_size(digits):
    X, _, y, _ = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=2, unlearn_method="gradient_clipping",
                               random_state=0).fit(X, y)
    assert model.certificate_.epsilon == np.inf and model.certificate_.method == "mlp-training"
    model.unlearn([0])
    one = model.certificate_
    model.unlearn(np.arange(1, 200))
    many = model.certificate_
    assert one.epsilon == pytest.approx(many.epsilon) and many.rows_forgotten == 200 and many.requests == 2
    # The Rényi curve grows with alpha: epsilon is the tight conversion, not the alpha-free rho_R.
    assert many.order is not None and many.renyi_divergence / many.order < many.epsilon
    model.partial_unlearn([500], max_epochs=0)
    assert model.certificate_.epsilon == np.inf and not model.certificate_.satisfied


def test_partial_unlearn_continues_the_noisy_phase(digits):
    X, _, y, _ = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=2, unlearning_epochs=3, random_state=0).fit(X, y)
    model.partial_unlearn([7, 8], max_epochs=1)
    deltas = [model.certificate_.delta]
    for _ in range(2):
        model.partial_unlearn(max_epochs=1)
        deltas.append(model.certificate_.delta)
    assert deltas[0] > deltas[1] > deltas[2]
    assert model.certificate_.satisfied and model.certificate_.history[0]["epochs"] == 3


@pytest.mark.parametrize(
    "make_input, error, message",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (X[:1], y[:1]), ValueError, "minimum of 2"),
        (lambda X, y: (X, np.zeros_like(y)), ValueError, "one class"),
        (lambda X, y: (sparse.csr_matrix(X), y), TypeError, "[Ss]parse"),
    ],
)
def test_fit_rejects_bad_input(digits, make_input, error, message):
    X, _, y, _ = digits
    with pytest.raises(error, match=message):
        NoisyMLPClassifier(max_iter=1).fit(*make_input(X, y))


def test_predict_checks_feature_count(digits):
    X, _, y, _ = digits
    model = NoisyMLPClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :10])


def test_loss_curve_records_each_training_epoch_and_falls():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    model = NoisyMLPClassifier(hidden_layer_sizes=(32,), max_iter=8, random_state=0).fit(X / 16.0, y)
    curve = model.loss_curve_
    assert len(curve) == 8 and model.loss_ == curve[-1]
    assert curve[-1] < 0.5 * curve[0] and all(np.isfinite(curve))
    # The same loss as the kernel's own routine at the start: log(10) for a near-uniform output.
    assert abs(curve[0] - np.log(10)) < 1.0


def test_a_model_pickled_before_configs_carried_layer_sizes_still_serves_requests():
    import dataclasses

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 5)), np.arange(200) % 3
    model = NoisyMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    config = dict(model._state.config)
    config["training_config"] = dataclasses.replace(config["training_config"], layer_sizes=None)  # the old form
    model._state = model._state.replace(config=config)
    assert model.unlearn([1]).certificate_.satisfied
