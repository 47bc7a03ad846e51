"""Scale-out on a Dask cluster (the ``dask`` extra): the audit and a grid search through joblib's Dask backend, and
full-batch fits and requests with the rows on the workers (``store="dask"``)."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier
from skunlearn.audit import audit_unlearning, make_canary

pytestmark = pytest.mark.slow

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: pip install 'skunlearn[dask]' to run the Dask tests")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as dask_client:
            yield dask_client


@pytest.fixture(scope="module")
def canary_data():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), np.arange(40) % 2
    return make_canary(X, y)


def test_audit_runs_on_the_cluster_and_agrees_with_a_local_run(client, canary_data):
    X, y, canary = canary_data

    def audit():
        return audit_unlearning(NoisyLogisticRegression(max_iter=5), X, y, target_index=canary, n_trials=8,
                                random_state=0)

    local = audit()
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        remote = audit()
    assert len(tasks.data) > 0  # the trials ran on the cluster
    np.testing.assert_array_equal(remote.unlearned_statistics, local.unlearned_statistics)
    np.testing.assert_array_equal(remote.certifying_statistics, local.certifying_statistics)
    assert remote.epsilon_lower_bound == local.epsilon_lower_bound and remote.consistent


@pytest.mark.parametrize("estimator, grid", [
    (NoisyLogisticRegression(max_iter=3, random_state=0), {"alpha": [1e-2, 1e-1], "batch_size": [8, 16]}),
    (NoisyMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, finetune_epochs=1, random_state=0),
     {"alpha": [1e-4, 1e-2]}),
])
def test_grid_search_over_our_estimators_runs_on_the_cluster(client, canary_data, estimator, grid):
    X, y, _ = canary_data
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        search = GridSearchCV(estimator, grid, cv=2).fit(X, y)
    assert len(tasks.data) > 0
    local = GridSearchCV(estimator, grid, cv=2).fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    search.best_estimator_.unlearn([0])
    assert search.best_estimator_.certificate_.satisfied


def test_full_batch_fit_and_request_on_a_cluster_match_the_local_run_to_the_rounding_bound(client):
    """store="dask": each step's gradient summed over the workers' chunks, the noise drawn on the client."""
    import pickle

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 10))
    y = (X[:, 0] + 0.5 * rng.standard_normal(3000) > 0).astype(int) + (X[:, 1] > 1)
    parameters = dict(batch_size=None, max_iter=40, random_state=0)
    local = NoisyLogisticRegression(**parameters).fit(X, y)
    with distributed.get_task_stream(client) as tasks:
        remote = NoisyLogisticRegression(store="dask", **parameters).fit(X, y)
    assert len(tasks.data) > 0 and type(remote._state.X_slots).__module__.startswith("dask.")

    def within_bound(a, b):
        # Both runs' steps are within e of the exact step, which contracts: after S steps ‖Δθ‖ ≤ S · 2e.
        distance = np.linalg.norm(np.column_stack([a.coef_, a.intercept_]) - np.column_stack([b.coef_, b.intercept_]))
        return distance <= a._state.ledger.steps_run * a.certificate_.constants["rounding_shift"]

    assert within_bound(local, remote)
    for model in (local, remote):
        model.unlearn([5, 70])
    assert within_bound(local, remote)
    drop_hash = lambda certificate: {k: v for k, v in certificate.to_dict().items() if k != "parameter_hash"}
    assert drop_hash(local.certificate_) == drop_hash(remote.certificate_) and remote.certificate_.satisfied
    forgotten = remote._state.X_slots[remote._state.slot_of[[5, 70]]].compute()
    assert not forgotten.view(np.uint8).any()  # the rows on the cluster are zero bytes
    with pytest.raises(TypeError, match="Dask cluster"):
        pickle.dumps(remote)
    pickle.loads(pickle.dumps(remote.export()))  # the predictor carries no rows
    with pytest.raises(ValueError, match="full-batch"):
        NoisyLogisticRegression(store="dask", batch_size=64, random_state=0).fit(X, y)


def test_a_dask_array_stays_on_the_cluster_and_gives_the_same_rows(client):
    """fit(X) with X a Dask array: checked, laid out and scaled by the workers; the same slot rows, bit for bit."""
    import dask.array as da

    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 6)) * 3.0
    y = (X[:, 0] > 0).astype(int)
    parameters = dict(batch_size=None, max_iter=20, random_state=0)
    from_numpy = NoisyLogisticRegression(store="dask", **parameters).fit(X, y)
    from_dask = NoisyLogisticRegression(store="dask", **parameters).fit(da.from_array(X, chunks=(300, 6)), y)
    np.testing.assert_array_equal(from_numpy._state.X_slots.compute(), from_dask._state.X_slots.compute())
    distance = np.linalg.norm(from_numpy.coef_ - from_dask.coef_)
    assert distance <= from_numpy._state.ledger.steps_run * from_numpy.certificate_.constants["rounding_shift"]
    assert from_dask.n_features_in_ == 6 and from_dask.unlearn([3]).certificate_.satisfied
    with pytest.raises(ValueError, match='store="dask"'):
        NoisyLogisticRegression(**parameters).fit(da.from_array(X, chunks=(300, 6)), y)
    with pytest.raises(ValueError, match="NaN or infinity"):
        NoisyLogisticRegression(store="dask", **parameters).fit(da.from_array(np.where(X > 5, np.nan, X)), y)
    with pytest.raises(ValueError, match="NoisyMLPClassifier trains in memory"):
        NoisyMLPClassifier(random_state=0).fit(da.from_array(X, chunks=(300, 6)), y)


def test_a_refused_dask_x_is_refused_before_it_is_read(client, monkeypatch):
    import dask.array as da

    import skunlearn._unlearning as engine

    def never(*args):
        raise AssertionError("the rows were read before the refusal")

    monkeypatch.setattr(engine, "_validated_cluster_rows", never)
    X = da.from_array(np.random.default_rng(0).standard_normal((100, 3)), chunks=(50, 3))
    with pytest.raises(ValueError, match='store="dask"'):
        NoisyLogisticRegression(random_state=0).fit(X, np.arange(100) % 2)
    with pytest.raises(ValueError, match="trains in memory"):
        NoisyMLPClassifier(random_state=0).fit(X, np.arange(100) % 2)
