"""The unlearning contract, once for both estimators: all-or-nothing requests and fits under threads,
interrupts, failures and worker processes; read-only inputs; huge values."""

import os
import pickle
import sys
import threading

import numpy as np
import pytest
from joblib import Parallel, delayed

import skunlearn
from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

ESTIMATORS = {
    "logistic": lambda: NoisyLogisticRegression(random_state=0, batch_size=32),
    "mlp": lambda: NoisyMLPClassifier(hidden_layer_sizes=(16,), max_iter=3, finetune_epochs=1, random_state=0),
}
PACKAGE = os.path.dirname(skunlearn.__file__)


@pytest.fixture(scope="module", params=sorted(ESTIMATORS))
def fitted(request, data):
    X, y = data
    return request.param, ESTIMATORS[request.param]().fit(X, y)


def copy_of(model):
    return pickle.loads(pickle.dumps(model))


def same_state(a, b):
    """Bit-identical published states (arrays, ledger, certificate, public attributes)."""
    for name in ("X_slots", "y_slots", "weight", "removed_mask", "params"):
        if not np.array_equal(getattr(a, name), getattr(b, name)):
            return False
    return (a.noise_counter == b.noise_counter and a.ledger == b.ledger
            and a.attributes["certificate_"] == b.attributes["certificate_"]
            and np.array_equal(a.attributes["removed_indices_"], b.attributes["removed_indices_"]))


# ---------------------------------------------------------------------------- threads


def test_two_threads_never_lose_an_update(fitted):
    _, model = fitted
    for trial in range(8):
        target = copy_of(model)
        barrier = threading.Barrier(2)
        errors = []

        def request(rows):
            barrier.wait()
            try:
                target.unlearn(rows)
            except Exception as error:  # pragma: no cover - the failure this test looks for
                errors.append(error)

        threads = [threading.Thread(target=request, args=(rows,)) for rows in (range(0, 5), range(1000, 1005))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert target.removed_indices_.tolist() == [*range(0, 5), *range(1000, 1005)], trial
        assert target.certificate_.rows_forgotten == 10 and target.certificate_.requests == 2
        assert np.count_nonzero(target._weight == 0) == 10
        target.certificate_.verify()


def test_predict_during_requests_always_sees_one_state(fitted, data):
    _, model = fitted
    X, _ = data
    target = copy_of(model)
    stop = threading.Event()
    failures, calls = [], [0]

    def predict_forever():
        while not stop.is_set():
            try:
                assert target.predict_proba(X[:50]).shape[0] == 50
                calls[0] += 1
            except Exception as error:  # pragma: no cover - the failure this test looks for
                failures.append(error)

    reader = threading.Thread(target=predict_forever)
    reader.start()
    try:
        for start in range(0, 60, 6):
            target.unlearn(range(start, start + 6))
    finally:
        stop.set()
        reader.join()
    assert not failures and calls[0] > 0


# ---------------------------------------------------------------------------- interrupts


class _Interrupt:
    """A tracer raising KeyboardInterrupt at the k-th line executed in the package (0: only record them)."""

    def __init__(self, at):
        self.at, self.lines, self.seen = at, 0, []

    def __call__(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None
        if event == "line":
            self.lines += 1
            if self.at == 0:
                self.seen.append((frame.f_code.co_filename, frame.f_lineno))
            elif self.lines == self.at:
                raise KeyboardInterrupt(f"injected at line event {self.at}")
        return self


def _run_traced(function, at):
    tracer = _Interrupt(at)
    sys.settrace(tracer)
    try:
        function()
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sys.settrace(None)
    return tracer, interrupted


def _injection_points(tracer, tail=40):
    """The first execution of every distinct line of the package's code, and each of the last line events
    (where the new state is published)."""
    first = {}
    for index, line in enumerate(tracer.seen, start=1):
        first.setdefault(line, index)
    total = len(tracer.seen)
    return sorted(set(first.values()) | set(range(max(1, total - tail), total + 1)))


def test_an_interrupt_anywhere_in_a_request_leaves_it_before_or_after(fitted):
    _, model = fitted
    after = copy_of(model).unlearn([3, 70, 2000])
    target = copy_of(model)
    tracer, interrupted = _run_traced(lambda: target.unlearn([3, 70, 2000]), at=0)
    assert not interrupted and tracer.lines > 100
    outcomes = set()
    for at in _injection_points(tracer):
        target = copy_of(model)
        before = target._state
        _, interrupted = _run_traced(lambda: target.unlearn([3, 70, 2000]), at)
        if target._state is before:
            assert same_state(before, model._state), at  # and not written in place
            outcomes.add("before")
        else:
            assert same_state(target._state, after._state), at
            outcomes.add("after")
        assert target._request_lock.acquire(blocking=False)  # never left held
        target._request_lock.release()
    assert outcomes == {"before", "after"}


def test_an_interrupt_anywhere_in_a_refit_leaves_the_old_or_the_new_model(fitted, data):
    name, model = fitted
    X, y = data
    X_new, y_new = X[:400] * 2, y[:400]
    refitted = copy_of(model).fit(X_new, y_new)
    target = copy_of(model)
    tracer, _ = _run_traced(lambda: target.fit(X_new, y_new), at=0)
    for at in _injection_points(tracer, tail=20):
        target = copy_of(model)
        before = target._state
        _run_traced(lambda: target.fit(X_new, y_new), at)
        if target._state is before:
            assert same_state(before, model._state), at
        else:
            assert same_state(target._state, refitted._state), at
        assert target.n_features_in_ == 20 and target.predict(X[:5]).shape == (5,)


def test_ctrl_c_inside_a_kernel_stays_a_keyboard_interrupt(fitted, monkeypatch):
    from skunlearn._backends import numba as numba_backend

    name, model = fitted
    target = copy_of(model)
    before = target._state

    def interrupted_kernel(*args, **kwargs):
        # What CPython reports when a signal arrives while compiled code runs.
        raise SystemError("<built-in function> returned a result with an exception set") from KeyboardInterrupt()

    monkeypatch.setattr(numba_backend, "run", interrupted_kernel)
    with pytest.raises(KeyboardInterrupt):
        target.unlearn([1, 2])
    assert target._state is before


def test_a_failed_refit_changes_nothing(fitted, data, monkeypatch):
    name, model = fitted
    X, y = data
    target = copy_of(model)
    before = target._state
    with pytest.raises(ValueError, match="at least 2 classes"):
        target.fit(X[:50], np.zeros(50))
    assert target._state is before and target.classes_.tolist() == [0, 1, 2]
    assert target.predict(X[:10]).shape == (10,)
    # A failure after training: nothing is published either.
    def broken(*args, **kwargs):
        raise RuntimeError("failure after training")
    monkeypatch.setattr(type(target), "_parameter_attributes", staticmethod(broken))
    with pytest.raises(RuntimeError, match="after training"):
        target.fit(X[:300], y[:300])
    assert target._state is before and target.n_retained_ == 3000 and target.certificate_ == model.certificate_


# ---------------------------------------------------------------------------- processes, inputs, values


def _unlearn_in_worker(model, rows):
    return model.unlearn(rows).certificate_.rows_forgotten, model._X_slots.flags.writeable


def test_unlearn_in_a_joblib_worker_on_a_memory_mapped_estimator(fitted):
    _, model = fitted
    results = Parallel(n_jobs=2, max_nbytes="1K", mmap_mode="r")(
        delayed(_unlearn_in_worker)(model, [i, i + 1]) for i in (0, 10))
    assert [count for count, _ in results] == [2, 2]


def test_fit_and_requests_never_write_into_the_callers_arrays(fitted, data):
    name, _ = fitted
    X, y = data
    X_ro, y_ro = X.copy(), y.copy()
    X_ro.setflags(write=False)
    y_ro.setflags(write=False)
    model = ESTIMATORS[name]().fit(X_ro, y_ro).unlearn([5])
    assert np.array_equal(X_ro, X) and np.array_equal(y_ro, y)
    assert model.predict(X_ro[:3]).shape == (3,)


def test_rows_too_large_to_square_are_scaled_not_zeroed(data):
    X, y = data
    X = X[:300].copy()
    X[7] *= 1e200
    model = NoisyLogisticRegression(random_state=0).fit(X, y[:300])
    stored = model._X_slots[model._slot_of[7]].astype(np.float64)
    assert np.isfinite(stored).all() and np.linalg.norm(stored) == pytest.approx(1.0, rel=1e-6)
    assert np.abs(stored[:-1]).max() > 0.1  # the direction survives, not just the intercept column
    assert np.isfinite(model.decision_function(X[7:8])).all()


def test_unsigned_indices_are_reported_as_given(fitted):
    _, model = fitted
    with pytest.raises(ValueError, match="index 9223372036854775808 is out of range"):
        copy_of(model).unlearn(np.array([2**63], dtype=np.uint64))
    assert copy_of(model).unlearn(np.array([4], dtype=np.uint8)).removed_indices_.tolist() == [4]


def test_pickle_and_clone_drop_the_lock(fitted):
    from sklearn.base import clone

    _, model = fitted
    with model._request_lock:
        copy = pickle.loads(pickle.dumps(model))  # a held lock is not carried over
    assert "_lock" not in copy.__dict__ and copy._request_lock.acquire(blocking=False)
    copy._request_lock.release()
    assert clone(model).get_params() == model.get_params()


# ---------------------------------------------------------------------------- requests that are refused


@pytest.mark.parametrize(
    "indices, error, message",
    [
        ([10_000], ValueError, "out of range"),
        ([-1], ValueError, ">= 0"),
        ([1.0, 2.0], TypeError, "integers"),
        ([3, 3], ValueError, "repeat"),
        ([0], ValueError, "already forgotten"),
        (np.ones(5, dtype=bool), ValueError, "length"),
        ("all", ValueError, "every training row"),
        (None, TypeError, "required"),
        ([[1, 2]], ValueError, "one-dimensional"),
    ],
)
def test_a_refused_request_changes_nothing(fitted, indices, error, message):
    from ..helpers import assert_unchanged, snapshot

    _, model = fitted
    target = copy_of(model).unlearn([0])
    if isinstance(indices, str):
        indices = np.arange(1, target._removed_mask.size)
    before = snapshot(target)
    with pytest.raises(error, match=message):
        target.unlearn(indices)
    assert_unchanged(before, target)


def test_an_empty_request_is_a_no_op(fitted):
    from ..helpers import assert_unchanged, snapshot

    _, model = fitted
    target = copy_of(model)
    before = snapshot(target)
    target.unlearn([])
    target.unlearn(np.zeros(target._removed_mask.size, dtype=bool))
    assert_unchanged(before, target)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_unlearn_before_fit_is_refused(name):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ESTIMATORS[name]().unlearn([0])
    with pytest.raises(NotFittedError):
        ESTIMATORS[name]().partial_unlearn([0])


def test_partial_unlearn_rejects_a_bad_budget(fitted):
    from ..helpers import assert_unchanged, snapshot

    _, model = fitted
    target = copy_of(model)
    before = snapshot(target)
    for budget in (-1, 1.5, True):
        with pytest.raises(ValueError, match="max_epochs"):
            target.partial_unlearn([1], max_epochs=budget)
    assert_unchanged(before, target)


def test_fits_and_requests_are_logged(caplog):
    import logging

    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    with caplog.at_level(logging.INFO, logger="skunlearn"):
        NoisyLogisticRegression(max_iter=2, random_state=0).fit(X, y).unlearn([3])
    messages = [record.getMessage() for record in caplog.records if record.name == "skunlearn"]
    assert any("fitted on 150 rows" in message for message in messages)
    assert any("forgot 1 row(s)" in message and "satisfied" in message for message in messages)
