"""UnlearningRegistry: one request by row id to several models, an append-only SQLite log, all-or-nothing."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier
from skunlearn.registry import UnlearningRegistry

from ..helpers import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, random_state=0)
    return X / np.abs(X).max(), y, [f"user-{i:03d}" for i in range(len(y))]


def _models(data):
    X, y, _ = data
    return {
        "logistic": NoisyLogisticRegression(max_iter=5, random_state=0).fit(X, y),
        "pipeline": make_pipeline(FunctionTransformer(np.tanh),
                                  NoisyLogisticRegression(max_iter=5, random_state=1)).fit(X, y),
        "mlp": NoisyMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, finetune_epochs=1,
                                  random_state=2).fit(X, y),
    }


def test_a_request_by_id_reaches_three_models_and_a_reopened_log_keeps_every_certificate(data, tmp_path):
    _, _, ids = data
    models = _models(data)
    path = tmp_path / "requests.sqlite"
    registry = UnlearningRegistry(models, ids, log=path)
    first = registry.forget(["user-003", "user-120"])
    second = registry.forget("user-007")
    registry.close()
    for name, model in models.items():
        estimator = model.steps[-1][1] if name == "pipeline" else model
        assert sorted(estimator.removed_indices_.tolist()) == [3, 7, 120]
        assert estimator.certificate_ == second[name] and second[name].rows_forgotten == 3
    reopened = UnlearningRegistry(models, ids, log=path)
    log = reopened.requests()
    assert [entry["row_ids"] for entry in log] == [["user-003", "user-120"], ["user-007"]]
    assert log[0]["certificates"] == first and log[1]["certificates"] == second
    reopened.forget(["user-050"])
    assert len(reopened.requests()) == 3  # appended to, nothing lost
    reopened.close()


def test_bad_input_is_refused_and_changes_nothing(data):
    X, y, ids = data
    models = _models(data)
    registry = UnlearningRegistry(models, ids)
    before = {name: snapshot(m.steps[-1][1] if name == "pipeline" else m) for name, m in models.items()}
    with pytest.raises(ValueError, match="unknown row ids"):
        registry.forget(["user-003", "nobody"])
    with pytest.raises(ValueError, match="repeats"):
        registry.forget(["user-003", "user-003"])
    with pytest.raises(ValueError, match="no row ids"):
        registry.forget([])
    for name, model in models.items():
        assert_unchanged(before[name], model.steps[-1][1] if name == "pipeline" else model)
    assert registry.requests() == []
    with pytest.raises(ValueError, match="fitted on other rows"):
        UnlearningRegistry({"other": NoisyLogisticRegression(max_iter=2).fit(X[:100], y[:100])}, ids)
    with pytest.raises(ValueError, match="unique"):
        UnlearningRegistry(models, ids[:-1] + [ids[0]])


def test_a_refusing_model_rolls_the_others_back(data):
    X, y, ids = data
    models = _models(data)
    # A pipeline with a scaler fitted on the rows: unlearn_pipeline refuses it, after the first models ran.
    models["scaled"] = make_pipeline(StandardScaler(), NoisyLogisticRegression(max_iter=3, random_state=3)).fit(X, y)
    registry = UnlearningRegistry(models, ids)
    before = {name: snapshot(m.steps[-1][1] if isinstance(m, type(models["scaled"])) else m)
              for name, m in models.items()}
    with pytest.raises(ValueError, match="standardscaler"):
        registry.forget(["user-010"])
    for name, model in models.items():
        assert_unchanged(before[name], model.steps[-1][1] if hasattr(model, "steps") else model)
    assert registry.requests() == []


class _Interrupt:
    """Raise KeyboardInterrupt at the k-th line event in the package (0: count only)."""

    def __init__(self, at):
        self.at, self.lines = at, 0

    def __call__(self, frame, event, arg):
        if "skunlearn" not in frame.f_code.co_filename or "tests" in frame.f_code.co_filename:
            return None
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                raise KeyboardInterrupt(f"injected at line event {self.at}")
        return self


def test_an_interrupt_in_a_multi_model_request_leaves_all_before_or_all_after(data):
    _, _, ids = data
    counter = _Interrupt(0)
    models = _models(data)
    registry = UnlearningRegistry(models, ids)
    sys.settrace(counter)
    try:
        registry.forget(["user-011", "user-222"])
    finally:
        sys.settrace(None)
    total = counter.lines
    outcomes = set()
    for at in sorted(set(np.linspace(1, total, 25).astype(int))):
        models = _models(data)
        estimators = {name: (m.steps[-1][1] if hasattr(m, "steps") else m) for name, m in models.items()}
        before = {name: snapshot(e) for name, e in estimators.items()}
        registry = UnlearningRegistry(models, ids)
        sys.settrace(_Interrupt(at))
        try:
            registry.forget(["user-011", "user-222"])
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True
        finally:
            sys.settrace(None)
        done = [sorted(e.removed_indices_.tolist()) == [11, 222] for e in estimators.values()]
        logged = len(registry.requests())
        if all(done) and logged == 1:
            outcomes.add("after")
        else:
            assert interrupted and not any(done) and logged == 0, at
            for name, estimator in estimators.items():
                assert_unchanged(before[name], estimator)  # forgotten rows restored too
            outcomes.add("before")
    assert outcomes == {"before", "after"}
