"""Sparse (CSR) input to NoisyLogisticRegression: the same certificate as dense, the same model to rounding."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import make_pipeline

from skunlearn import NoisyLogisticRegression, unlearn_pipeline
from skunlearn._backends import BINARY_LOGISTIC, SOFTMAX, KernelConfig, get_backend
from skunlearn._constants import scale_rows
from skunlearn._testing import reference_logistic_epochs
from skunlearn.accounting import noise_grid


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y  # about half the entries are zero


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("options", [{}, {"private_training": True}, {"batch_size": None, "private_training": True}],
                         ids=["default", "private", "full-batch"])
def test_sparse_and_dense_fits_give_one_certificate_and_one_model(digits, dtype, binary, options):
    X, y = digits
    if binary:
        y = (y >= 5).astype(int)
    X = X.astype(dtype)
    dense = NoisyLogisticRegression(random_state=0, **options).fit(X, y)
    sparse = NoisyLogisticRegression(random_state=0, **options).fit(sp.csr_matrix(X), y)
    assert sparse.certificate_.record == dense.certificate_.record
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12 * np.abs(dense.coef_).max())
    for model in (dense, sparse):
        model.unlearn([0, 7, 100]).unlearn([5])
    assert sparse.certificate_ == dense.certificate_
    sparse.certificate_.verify()
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12 * np.abs(dense.coef_).max())
    # Dense float32 input is scored in float32 (float32 kept float32), sparse in float64.
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               rtol=1e-9 if dtype == np.float64 else 1e-5)
    assert np.array_equal(sparse.predict(X), dense.predict(X))


@pytest.mark.parametrize("loss, n_outputs", [(BINARY_LOGISTIC, 1), (SOFTMAX, 4)])
def test_sparse_kernel_matches_the_numpy_reference_on_the_dense_rows(loss, n_outputs):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 40))
    X[rng.random(X.shape) < 0.9] = 0.0
    X[11] = 0.0  # an empty row (but for its intercept)
    dense = scale_rows(X, 1.0)
    rows = sp.csr_array(dense)
    y = rng.integers(0, max(2, n_outputs), 90).astype(np.int64)
    weight = rng.uniform(0, 2, 90)
    bounds = np.array([0, 30, 60, 90])
    config = KernelConfig(loss, 0.4, 0.05, 0.02, 3.0, grid=noise_grid(10.0 * 3.0 + 21.0 * 0.02, 0.02))
    ours, counter = get_backend("cpu").run_logistic_epochs(np.zeros((n_outputs, 41)), rows, y, weight, bounds, config,
                                                           9, 5, 3)
    expected, expected_counter = reference_logistic_epochs(np.zeros((n_outputs, 41)), dense, y, weight, bounds,
                                                           config, 9, 5, 3)
    assert counter == expected_counter
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_a_forgotten_sparse_row_leaves_no_value_and_no_column(digits):
    X, y = digits
    X_sparse = sp.csr_matrix(X)
    before = X_sparse.copy()
    model = NoisyLogisticRegression(random_state=0).fit(X_sparse, y)
    slot = model._slot_of[42]
    row_nnz = X_sparse[42].nnz + 1  # its features and its intercept entry
    stored_before = model._X_slots.nnz
    model.unlearn([42])
    slots = model._X_slots
    assert slots.indptr[slot + 1] == slots.indptr[slot]
    assert slots.nnz == stored_before - row_nnz
    assert (X_sparse != before).nnz == 0  # the caller's matrix is never written
    assert np.array_equal(X_sparse.indices, before.indices)
    restored = pickle.loads(pickle.dumps(model))
    assert restored._X_slots.nnz == slots.nnz
    restored.unlearn([43])


def test_sparse_models_do_not_depend_on_the_thread_count():
    X, y = make_classification(n_samples=400, n_features=12_000, n_informative=30, n_classes=10, random_state=0)
    X[np.random.default_rng(0).random(X.shape) < 0.99] = 0.0
    X_sparse = sp.csr_matrix(X / np.abs(X).max())  # 10 x 12,001 parameters: the update runs in parallel shares
    models = [NoisyLogisticRegression(max_iter=2, private_training=True, n_jobs=n_jobs, random_state=0).fit(X_sparse, y)
              for n_jobs in (1, 2)]
    assert np.array_equal(models[0].coef_, models[1].coef_)


def test_hashed_text_trains_and_forgets_through_a_pipeline():
    """HashingVectorizer is row-wise and stateless: it keeps the certificate, so the pipeline may forward requests."""
    words = ["privacy", "model", "forget", "data", "noise", "train", "right", "law", "delete", "user"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    docs = [" ".join(rng.choice(words[:5] if label else words[5:], 6)) for label in y]
    pipe = make_pipeline(HashingVectorizer(n_features=2**12, alternate_sign=False),
                         NoisyLogisticRegression(random_state=0)).fit(docs, y)
    assert pipe.score(docs, y) > 0.9
    unlearn_pipeline(pipe, positions=[0, 1, 2], public_steps=["hashingvectorizer"])
    assert pipe[-1].certificate_.satisfied
    assert pipe[-1].removed_indices_.tolist() == [0, 1, 2]


@pytest.mark.parametrize("convert", [sp.csc_matrix, sp.coo_array, sp.lil_matrix, sp.csr_array],
                         ids=["csc", "coo", "lil", "csr_array"])
def test_other_sparse_formats_are_read_as_csr_and_float32_stays_float32(digits, convert):
    X, y = digits
    X = X.astype(np.float32)
    given = convert(X)
    reference = NoisyLogisticRegression(random_state=0, max_iter=3).fit(sp.csr_matrix(X), y)
    model = NoisyLogisticRegression(random_state=0, max_iter=3).fit(given, y)
    assert np.array_equal(model.coef_, reference.coef_)
    slots = model._X_slots
    assert sp.issparse(slots) and slots.format == "csr" and slots.dtype == np.float32
    assert slots.shape == (X.shape[0], X.shape[1] + 1)  # the intercept: one stored entry per row, in column d
    assert slots.nnz == np.count_nonzero(X) + X.shape[0]
    assert np.array_equal(model.predict(given), reference.predict(X))


def _exact_and_lazy_chains(radius, n_runs=20_000, steps=6, shrink=0.9, noise=0.5, pull=0.8, seed=0):
    """Final value of an untouched coordinate: the exact projected chain vs the lazy form of logistic_sparse's docstring.

    Two coordinates; a constant gradient pushes coordinate 0 at every step, coordinate 1 is never touched. The lazy
    form leaves coordinate 1 alone, takes the projection factors from the norm it can see (coordinate 0 and 1's
    noise-free value), and adds at the end the one Gaussian that its shrinks, noises and factors add up to.
    """
    rng = np.random.default_rng(seed)
    theta = np.zeros((n_runs, 2))
    for _ in range(steps):
        v = shrink * theta + noise * rng.standard_normal((n_runs, 2))
        v[:, 0] += pull
        theta = v * np.minimum(1.0, radius / np.linalg.norm(v, axis=1))[:, None]
    touched, mean, variance = np.zeros(n_runs), np.zeros(n_runs), np.zeros(n_runs)
    for _ in range(steps):
        v0 = shrink * touched + pull + noise * rng.standard_normal(n_runs)
        mean, variance = shrink * mean, shrink**2 * variance + noise**2
        factor = np.minimum(1.0, radius / np.hypot(v0, mean))
        touched, mean, variance = factor * v0, factor * mean, factor**2 * variance
    return theta[:, 1], mean + np.sqrt(variance) * rng.standard_normal(n_runs)


def test_lazy_noise_keeps_the_law_without_the_projection_and_changes_it_with_it():
    """The derivation in skunlearn._backends.numba.logistic_sparse, by Monte Carlo (fixed seeds, a KS test)."""
    from scipy.stats import ks_2samp

    exact, lazy = _exact_and_lazy_chains(radius=np.inf)
    assert ks_2samp(exact, lazy).pvalue > 0.01  # one Gaussian of variance s² (1 − a^{2t}) / (1 − a²): exact
    exact, lazy = _exact_and_lazy_chains(radius=1.0)
    assert ks_2samp(exact, lazy).pvalue < 1e-6  # an active projection: another law
    assert np.abs(exact).max() <= 1.0 < np.abs(lazy).max()  # the lazy output even leaves the ball


def test_weighted_sparse_and_dense_fits_give_one_certificate_and_one_model(digits):
    X, y = digits
    weights = np.random.default_rng(0).uniform(0, 3, y.size)  # arbitrary non-negative row weights
    models = [NoisyLogisticRegression(random_state=0, private_training=True, class_weight={0: 2.0})
              .fit(data, y, sample_weight=weights) for data in (X, sp.csr_matrix(X))]
    for model in models:
        model.unlearn([1, 2])
    dense, sparse = models
    assert sparse.certificate_ == dense.certificate_
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12 * np.abs(dense.coef_).max())


def test_the_export_of_a_sparse_fit_carries_no_stored_row(digits):
    # (Column indices are small integers that any int64 array, classes_ included, may hold; the values identify.)
    X, y = digits
    X_sparse = sp.csr_matrix(X)
    model = NoisyLogisticRegression(random_state=0).fit(X_sparse, y).unlearn([0])
    blob = pickle.dumps(model.export())
    back = pickle.loads(blob)
    assert np.array_equal(back.predict(X_sparse), model.predict(X_sparse))
    slots = model._X_slots
    for row in (5, 600, 1500):  # three consecutive stored values of a retained row (as laid out: scaled)
        start = slots.indptr[row]
        assert slots.data[start:start + 3].tobytes() not in blob
    assert slots.indptr.tobytes()[8:264] not in blob  # nor the rows' layout
    assert len(blob) * 20 < len(pickle.dumps(model))
