"""Requests through a Pipeline, and the predict-only export (issue 13, item 6)."""

import pickle

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from skunlearn import CertifiedPredictor, NoisyLogisticRegression, NoisyMLPClassifier, unlearn_pipeline

from ..helpers import assert_unchanged, snapshot

ESTIMATORS = {
    "logistic": lambda: NoisyLogisticRegression(random_state=0, max_iter=5),
    "mlp": lambda: NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=3, finetune_epochs=1, random_state=0),
}


def _tanh(X):
    return np.tanh(X)


# ---------------------------------------------------------------------------- pipelines


def test_a_step_fitted_on_the_rows_is_refused(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), NoisyLogisticRegression(random_state=0, max_iter=3)).fit(X, y)
    before = snapshot(pipeline[-1])
    with pytest.raises(ValueError, match=r"'standardscaler' \(StandardScaler\) was fitted on the training rows.*"
                                         r"public_steps=\['standardscaler'\]"):
        unlearn_pipeline(pipeline, positions=[0, 1])
    assert_unchanged(before, pipeline[-1])


@pytest.mark.parametrize("step", [PCA(n_components=5), ColumnTransformer([("s", StandardScaler(), [0, 1])],
                                                                          remainder="passthrough"),
                                  make_pipeline(FunctionTransformer(_tanh), StandardScaler())])
def test_any_fitted_step_is_refused(data, step):
    X, y = data
    pipeline = Pipeline([("pre", step), ("model", NoisyLogisticRegression(random_state=0, max_iter=3))]).fit(X, y)
    with pytest.raises(ValueError, match="'pre'.*was fitted on the training rows"):
        unlearn_pipeline(pipeline, positions=[0])
    assert pipeline[-1].n_retained_ == X.shape[0]


def test_stateless_steps_pass_and_forward_the_request(data):
    X, y = data
    pipeline = Pipeline([("scale", FunctionTransformer(_tanh)), ("skip", "passthrough"), ("norm", Normalizer()),
                         ("model", NoisyLogisticRegression(random_state=0, max_iter=3))]).fit(X, y)
    assert unlearn_pipeline(pipeline, [3, 1]) is pipeline
    assert pipeline[-1].removed_indices_.tolist() == [1, 3] and pipeline[-1].certificate_.satisfied
    unlearn_pipeline(pipeline, positions=[7], max_epochs=0)  # partial_unlearn
    assert pipeline[-1].removed_indices_.tolist() == [1, 3, 7] and pipeline[-1].certificate_.requests == 2


def test_public_steps_are_the_callers_claim(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), PCA(n_components=5),
                             NoisyLogisticRegression(random_state=0, max_iter=3)).fit(X, y)
    with pytest.raises(ValueError, match="'pca'"):
        unlearn_pipeline(pipeline, positions=[0], public_steps=["standardscaler"])
    unlearn_pipeline(pipeline, positions=[0], public_steps=["standardscaler", "pca"])
    assert pipeline[-1].removed_indices_.tolist() == [0]
    with pytest.raises(ValueError, match="names no earlier step"):
        unlearn_pipeline(pipeline, positions=[1], public_steps=["scaler"])


def test_labels_reach_the_final_step_through_frame_preserving_steps(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])], index=np.arange(X.shape[0]) * 7 + 100)
    pipeline = make_pipeline(FunctionTransformer(_tanh), NoisyLogisticRegression(random_state=0, max_iter=3))
    pipeline.fit(frame, y)
    unlearn_pipeline(pipeline, frame.index[[0, 2]])
    assert pipeline[-1].removed_indices_.tolist() == [0, 2]
    with pytest.raises(ValueError, match="ambiguous request"):
        unlearn_pipeline(pipeline, [5])


def test_not_a_pipeline_or_a_final_step_that_cannot_unlearn(data):
    X, y = data
    with pytest.raises(TypeError, match="must be a sklearn.pipeline.Pipeline"):
        unlearn_pipeline(NoisyLogisticRegression(), positions=[0])
    pipeline = make_pipeline(FunctionTransformer(_tanh), LogisticRegression()).fit(X[:100], y[:100])
    with pytest.raises(TypeError, match="cannot unlearn"):
        unlearn_pipeline(pipeline, positions=[0])


# ---------------------------------------------------------------------------- export


def _windows(row, width=3):
    """Every run of ``width`` consecutive values of a row, as bytes."""
    return [row[i:i + width].tobytes() for i in range(row.size - width + 1)]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_export_predicts_alike_and_carries_no_training_data(data, name):
    X, y = data
    model = ESTIMATORS[name]().fit(X, y).unlearn(positions=[0, 1, 2])
    predictor = model.export()
    blob = pickle.dumps(predictor)
    back = pickle.loads(blob)
    assert isinstance(back, CertifiedPredictor)
    for exported in (predictor, back):
        np.testing.assert_array_equal(exported.predict(X), model.predict(X))
        np.testing.assert_array_equal(exported.predict_proba(X), model.predict_proba(X))
        np.testing.assert_array_equal(exported.decision_function(X), model.decision_function(X))
        np.testing.assert_array_equal(exported.classes_, model.classes_)
        assert exported.certificate_ == model.certificate_ and exported.score(X, y) == model.score(X, y)
    # No training row, raw or as laid out in the slots (scaled, with the intercept column), not even three
    # consecutive values of one; neither the retained rows' nor the forgotten rows' positions.
    retained_slots = model._X_slots[model._weight > 0]
    rows = [X[i] for i in (3, 500, 1234, 2999)] + [retained_slots[i] for i in (0, 700, 1500, -1)]
    for row in rows:
        for window in _windows(np.ascontiguousarray(row)):
            assert window not in blob
    assert model._X_slots.tobytes()[:256] not in blob and model._y_slots.tobytes()[:256] not in blob
    assert model._noise_key.to_bytes(32, "little") not in blob
    for attribute in ("removed_indices_", "training_index_", "unlearn", "partial_unlearn"):
        assert not hasattr(back, attribute)
    # O(parameters): the export is a small fraction of the estimator, which keeps the rows.
    parameters = model._params.nbytes
    assert len(blob) < 2 * parameters + 30_000
    assert len(blob) * 20 < len(pickle.dumps(model))


def test_export_is_a_snapshot_and_keeps_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])], index=np.arange(X.shape[0]) + 10**6)
    model = ESTIMATORS["logistic"]().fit(frame, y)
    predictor = model.export()
    assert list(predictor.feature_names_in_) == list(frame.columns) and predictor.n_features_in_ == 20
    np.testing.assert_array_equal(predictor.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        predictor.predict(frame.rename(columns={"f0": "other"}))
    blob = pickle.dumps(predictor)
    assert b"pandas" not in blob  # the fit index (the people's labels) stays home
    coef = predictor.coef_.copy()
    model.unlearn(frame.index[[0]])
    np.testing.assert_array_equal(predictor.coef_, coef)  # the deployed copy changes only by a new export
    assert predictor.certificate_.requests == 0 and model.export().certificate_.requests == 1
    assert "CertifiedPredictor(NoisyLogisticRegression, 3 classes" in repr(predictor)


def test_export_serves_as_the_last_step_of_a_deployed_pipeline(data):
    X, y = data
    pipeline = make_pipeline(FunctionTransformer(_tanh), ESTIMATORS["mlp"]()).fit(X, y)
    unlearn_pipeline(pipeline, positions=[4])
    deployed = make_pipeline(FunctionTransformer(_tanh), pipeline[-1].export())
    deployed = pickle.loads(pickle.dumps(deployed))
    np.testing.assert_array_equal(deployed.predict_proba(X), pipeline.predict_proba(X))
    assert deployed.score(X, y) == pipeline.score(X, y)
    assert deployed[-1].certificate_.rows_forgotten == 1
    with pytest.raises(TypeError, match="cannot be fitted"):
        deployed.fit(X, y)


def test_a_direct_request_to_a_pipelines_final_step_after_a_fitted_scaler_warns():
    import warnings

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skunlearn.pipeline import PrivacyLeakWarning, UnlearningPipeline

    X, y = load_digits(return_X_y=True)
    leaky = make_pipeline(StandardScaler(), NoisyLogisticRegression(max_iter=3, random_state=0)).fit(X, y)
    with pytest.warns(PrivacyLeakWarning, match="standardscaler"):
        leaky[-1].unlearn([1])
    public = make_pipeline(FunctionTransformer(lambda X: X / 16.0),
                           NoisyLogisticRegression(max_iter=3, random_state=0)).fit(X, y)
    alone = NoisyLogisticRegression(max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        public[-1].unlearn([1])  # stateless steps: no warning
        alone.unlearn([1])
        unlearn_pipeline(leaky, positions=[2], public_steps=["standardscaler"])  # declared public: checked path
    pipe = UnlearningPipeline([("scale", StandardScaler()),
                               ("model", NoisyLogisticRegression(max_iter=3, random_state=0))]).fit(X, y)
    with pytest.raises(ValueError, match="'scale'"):
        pipe.unlearn(positions=[0])
    assert pipe[-1].n_retained_ == len(y)
    pipe.set_params(public_steps=("scale",)).unlearn(positions=[0])
    assert pipe[-1].removed_indices_.tolist() == [0]
    assert pickle.loads(pickle.dumps(leaky))[-1].n_retained_ == leaky[-1].n_retained_  # the weak reference stays out
