"""The process-wide cache of calibrations: a fit with the same public settings reuses the calibrated noise."""

import numpy as np
from sklearn.datasets import load_iris

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, _ledgers


def _counting(monkeypatch):
    calls = []
    calibrate = _ledgers.accounting.calibrate_noise

    def counted(*args, **kwargs):
        calls.append(1)
        return calibrate(*args, **kwargs)

    monkeypatch.setattr(_ledgers.accounting, "calibrate_noise", counted)
    return calls


def test_a_second_fit_with_the_same_settings_calibrates_nothing(monkeypatch):
    X, y = load_iris(return_X_y=True)
    X = X / 8.0
    _ledgers._CALIBRATIONS.clear()
    calls = _counting(monkeypatch)
    first = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert calls  # the first fit calibrates
    calls.clear()
    second = NoisyLogisticRegression(random_state=1).fit(X, y)
    assert not calls and second.noise_ == first.noise_
    NoisyLogisticRegression(epsilon=2.0, random_state=0).fit(X, y)  # other public settings: a new calibration
    assert calls
    calls.clear()
    mlp = [NoisyMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=s).fit(X, y) for s in (0, 1)]
    assert len(calls) == 1 and mlp[0].unlearning_noise_ == mlp[1].unlearning_noise_
    _ledgers._CALIBRATIONS.clear()
    calls.clear()
    again = NoisyLogisticRegression(random_state=0).fit(X, y)
    assert calls and again.noise_ == first.noise_  # computed afresh: the same value


def test_the_cache_keeps_the_most_recent_entries():
    cache = _ledgers._CalibrationCache(size=2)
    computed = []
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, lambda k: computed.append(k) or k.upper())
    assert computed == ["a", "b", "c", "b"]  # "b" was the least recent when "c" came in
    assert cache.get("a", lambda k: "recomputed") == "A"
