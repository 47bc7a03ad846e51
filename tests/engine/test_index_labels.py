"""Requests name rows by index label or by position, never leaving a doubt which (issue 13, item 5)."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

from ..helpers import assert_unchanged, snapshot

pd = pytest.importorskip("pandas")

ESTIMATORS = {
    "logistic": lambda: NoisyLogisticRegression(random_state=0, max_iter=5),
    "mlp": lambda: NoisyMLPClassifier(hidden_layer_sizes=(8,), max_iter=2, finetune_epochs=1, random_state=0),
}


@pytest.fixture(scope="module")
def split():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X / X.max(axis=0)  # the features' public ranges
    return train_test_split(X, y, random_state=0)


@pytest.fixture(params=sorted(ESTIMATORS))
def fitted(request, split):
    X_train, _, y_train, _ = split
    return ESTIMATORS[request.param]().fit(X_train, y_train)


def _slot_rows(model, positions):
    return model._X_slots[model._slot_of[np.asarray(positions)]]


def test_labels_from_train_test_split_forget_the_right_rows(fitted, split):
    X_train = split[0]
    model = fitted
    labels = X_train.index[[0, 1]]
    assert labels.tolist() == [293, 332]  # the labels that used to be read as positions
    model.unlearn(labels)
    assert model.removed_indices_.tolist() == [0, 1]  # the rows those labels name
    assert model.training_index_[model.removed_indices_].tolist() == [293, 332]
    assert not np.any(_slot_rows(model, [0, 1]))  # scrubbed
    assert np.all(np.any(_slot_rows(model, [293, 332]) != 0, axis=1))  # the wrong people kept
    assert model.certificate_.satisfied


def test_training_index_holds_labels_only(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    assert isinstance(model.training_index_, pd.Index) and model.training_index_.equals(X_train.index)
    with pytest.raises(AttributeError):
        model.training_index_ = X_train.index
    plain = ESTIMATORS["logistic"]().fit(X_train.to_numpy(), y_train.to_numpy())
    assert not hasattr(plain, "training_index_")


def test_series_and_boolean_series_are_labels(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    model.partial_unlearn(pd.Series(X_train.index[[3]]), max_epochs=0)
    assert model.removed_indices_.tolist() == [3]
    mask = pd.Series(False, index=X_train.index)
    mask.iloc[[7, 9]] = True
    model.partial_unlearn(mask.sample(frac=1.0, random_state=0), max_epochs=0)  # aligned by label, not order
    assert model.removed_indices_.tolist() == [3, 7, 9]


def test_positions_stay_available_explicitly(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    model.unlearn(positions=[293, 332])
    assert model.removed_indices_.tolist() == [293, 332]
    model.partial_unlearn(positions=np.arange(X_train.shape[0]) == 5, max_epochs=0)  # a positional mask
    assert model.removed_indices_.tolist() == [5, 293, 332]
    # A plain boolean mask can only be positions.
    model.partial_unlearn(np.arange(X_train.shape[0]) == 6, max_epochs=0)
    assert model.removed_indices_.tolist() == [5, 6, 293, 332]


def test_default_index_accepts_plain_integers(split):
    X_train, _, y_train, _ = split
    X, y = X_train.reset_index(drop=True), y_train.reset_index(drop=True)
    model = ESTIMATORS["logistic"]().fit(X, y)
    model.unlearn([4, 2])  # labels are the positions: no doubt
    assert model.removed_indices_.tolist() == [2, 4]
    model.unlearn(pd.Index([10]))
    assert model.removed_indices_.tolist() == [2, 4, 10]


@pytest.mark.parametrize("request_, error, message", [
    ([0, 1], ValueError, r"ambiguous request.*positions=\[\.\.\.\]"),
    (np.array([293]), ValueError, "ambiguous request"),
    (5, ValueError, "ambiguous request"),
    (pd.Index([293, 10**6, -4]), ValueError, r"labels not in the index .*\[1000000, -4\]"),
    (pd.Index(["a"]), ValueError, "labels not in the index"),
    (pd.Index([293, 293]), ValueError, "labels repeat within the request"),
])
def test_ambiguous_or_unknown_requests_are_refused(split, request_, error, message):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    before = snapshot(model)
    with pytest.raises(error, match=message):
        model.unlearn(request_)
    with pytest.raises(error, match=message):
        model.partial_unlearn(request_, max_epochs=0)
    assert_unchanged(before, model)


def test_labels_are_refused_when_fit_saw_a_plain_array(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train.to_numpy(), y_train.to_numpy())
    before = snapshot(model)
    with pytest.raises(TypeError, match=r"fit saw a plain array.*positions="):
        model.unlearn(X_train.index[[0, 1]])
    assert_unchanged(before, model)
    model.unlearn([0, 1])  # plain positions as before
    assert model.removed_indices_.tolist() == [0, 1]


def test_repeated_fit_labels_refuse_label_requests(split):
    X_train, _, y_train, _ = split
    X = X_train.iloc[:100].copy()
    X.index = np.arange(100) % 50  # every label names two rows
    model = ESTIMATORS["logistic"]().fit(X, y_train.iloc[:100].to_numpy())
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"repeats labels.*positions="):
        model.unlearn(pd.Index([3]))
    with pytest.raises(ValueError, match="ambiguous request"):
        model.unlearn([3])
    assert_unchanged(before, model)
    model.unlearn(positions=[3])
    assert model.removed_indices_.tolist() == [3]


def test_both_forms_at_once_are_refused(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    with pytest.raises(TypeError, match="not both"):
        model.unlearn(X_train.index[[0]], positions=[0])
    with pytest.raises(TypeError, match="indices is required"):
        model.unlearn()


def test_already_forgotten_labels_are_named_by_label(split):
    X_train, _, y_train, _ = split
    model = ESTIMATORS["logistic"]().fit(X_train, y_train)
    model.unlearn(X_train.index[[0]])
    with pytest.raises(ValueError, match=r"already forgotten: labels \[293\]"):
        model.unlearn(X_train.index[[0]])
