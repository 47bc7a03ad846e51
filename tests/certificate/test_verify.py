"""The three levels of ``UnlearningCertificate.verify``: the record, the model, a replay (issue 19, item 6)."""

import dataclasses
import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, UnlearningCertificate
from skunlearn._ledgers import ledger_from_record
from skunlearn.certificate import CertificateVerificationError, ReplayData, parameter_hash


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the noise-dominates warning of small problems
        yield


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture
def logistic(iris):
    X, y = iris
    return NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([0, 60]).unlearn([5])


def _plain(value):
    return json.loads(json.dumps(value, default=UnlearningCertificate.json_default))


def forge(certificate, history_changes=None, **record_changes):
    """What a forger does: change record fields, then recompute every claim with the library's own ledger.

    The claims (ε, δ, the history's past ε, the constants, the steps) are those the accountant gives for the
    changed record, so replaying the accounting alone agrees with them.
    """
    record = {**_plain(dict(certificate.record)), **record_changes}
    history = [dict(entry) for entry in certificate.history]
    for number, changes in (history_changes or {}).items():
        history[number].update(changes)
    ledger = ledger_from_record(record, history)
    epochs = sum(int(e["epochs"]) + int(e.get("finetune_epochs", 0)) for e in history)
    state, recomputed, taken = ledger._before_requests(epochs), [], 0
    for entry in history:
        rows, run, quiet = int(entry["rows"]), int(entry["epochs"]), int(entry.get("finetune_epochs", 0))
        state = ledger._replay_request(state, taken, rows).advanced(run)
        taken += rows
        epsilon, delta = state.guarantee()
        new = {"rows": rows, "epochs": run, "epsilon": epsilon, "delta": delta}
        if "finetune_epochs" in entry:
            state = state.post_processed(quiet)
            new["finetune_epochs"] = quiet
        recomputed.append(new)
    return UnlearningCertificate(**state.with_history(recomputed).certificate_fields(certificate.noise_secrecy,
                                                                                   certificate.parameter_hash))


def forge_with_fewer_epochs(certificate, **record_changes):
    """A thorough forger: record fields changed, and every request rerun through the library's own ledger with
    them, so each runs only the epochs the forged record needs (the steps and slots follow)."""
    ledger = ledger_from_record(_plain(dict(certificate.record)), [dict(e) for e in certificate.history])
    epochs = sum(int(e["epochs"]) + int(e.get("finetune_epochs", 0)) for e in ledger.history)
    state = dataclasses.replace(ledger._before_requests(epochs), **record_changes)
    history, taken = [], 0
    for entry in ledger.history:
        state = state.with_removed(ledger.removed_slots[taken:taken + int(entry["rows"])])
        taken += int(entry["rows"])
        run = state.epochs_to_target(10_000, 1)
        state = state.advanced(run)
        epsilon, delta = state.guarantee()
        history.append({"rows": int(entry["rows"]), "epochs": run, "epsilon": epsilon, "delta": delta,
                        "finetune_epochs": int(entry["finetune_epochs"])})
        state = state.post_processed(int(entry["finetune_epochs"]))
    return UnlearningCertificate(**state.with_history(history).certificate_fields(certificate.noise_secrecy,
                                                                                certificate.parameter_hash))


# ---------------------------------------------------------------------------- level 1: the record


def test_noise_times_ten_with_recomputed_claims_is_rejected_by_the_record(logistic):
    honest = logistic.certificate_
    assert all(entry["epochs"] >= 3 for entry in honest.history)  # unlearning_epochs=3: one row needs 3
    forged = forge(honest, noise_std=honest.noise * 10)
    # The forgery is self-consistent for the accountant: a much smaller ε, every claim recomputed.
    assert forged.noise == 10 * honest.noise and forged.epsilon < honest.epsilon / 10
    assert forged.constants["rounding_shift"] != honest.constants["rounding_shift"]  # recomputed too
    with pytest.raises(CertificateVerificationError, match=r"certificate field noise: .*meets the target after"):
        forged.verify()
    with pytest.raises(CertificateVerificationError, match="certificate field noise"):
        UnlearningCertificate.from_json(forged.to_json()).verify()


def test_lipschitz_over_100_with_recomputed_claims_is_rejected(logistic):
    honest = logistic.certificate_
    forged = forge(honest, lipschitz=honest.record["lipschitz"] / 100)
    assert forged.epsilon < honest.epsilon and forged.constants["M"] == honest.constants["M"] / 100
    with pytest.raises(CertificateVerificationError, match=r"lipschitz \(M\).*softmax loss over 3 classes"):
        forged.verify()


@pytest.mark.parametrize("change, field", [
    (lambda r: {"smoothness": r["smoothness"] / 100}, r"smoothness \(L\)"),
    (lambda r: {"noise_std": r["noise_std"] * 1e-9}, "noise_std.*below the noise floor"),
    (lambda r: {"weight_bound": 0.5}, r"lipschitz \(M\).*weights up to W=0.5"),
    (lambda r: {"n_outputs": 2}, "n_outputs"),
])
def test_other_derivable_constants_are_rechecked(logistic, change, field):
    honest = logistic.certificate_
    forged = forge(honest, **change(honest.record))
    with pytest.raises(CertificateVerificationError, match=field):
        forged.verify()


def test_a_step_above_the_contraction_limit_is_named(logistic):
    # The accountant itself refuses to compute claims for it; verify names the field before replaying.
    data = json.loads(logistic.certificate_.to_json())
    data["record"]["step_size"] *= 1.5
    with pytest.raises(CertificateVerificationError, match=r"step_size \(eta\).*exceeds 2/\(L \+ 2 lambda\)"):
        UnlearningCertificate.from_dict(data).verify()


def test_step_counts_are_rechecked(logistic):
    honest = logistic.certificate_
    n_batches = -(-honest.record["n_slots"] // honest.record["batch_size"])
    # More training epochs claimed than the record's steps hold (the requests' steps shifted to match).
    record = _plain(dict(honest.record))
    forged = forge(honest, train_epochs=record["train_epochs"] + 1)
    with pytest.raises(CertificateVerificationError, match=r"steps_run.*T=\d+ training epochs"):
        forged.verify()
    shifted = forge(honest, steps_run=record["steps_run"] + n_batches,
                    removed_at=[at + n_batches for at in record["removed_at"]],
                    last_request_step=record["last_request_step"] + n_batches)
    with pytest.raises(CertificateVerificationError, match="steps_run"):
        shifted.verify()


def test_a_free_parameter_rewritten_everywhere_passes_the_record_but_not_the_model(logistic):
    """Level 1 cannot see the noise when the forger rewrites the epochs too; level 2 sees it in the model."""
    honest = logistic.certificate_
    forged = forge_with_fewer_epochs(honest, noise_std=honest.noise * 10)
    assert all(f["epochs"] < h["epochs"] for f, h in zip(forged.history, honest.history))
    assert forged.satisfied and forged.record["steps_run"] < honest.record["steps_run"]
    assert forged.verify() is forged  # documented: the record alone cannot know the noise
    with pytest.raises(CertificateVerificationError, match=r"certificate field noise: .*noise_ is"):
        forged.verify(logistic)


def test_a_fit_certificate_with_forged_noise_is_caught_by_the_model(iris):
    X, y = iris
    model = NoisyLogisticRegression(random_state=0, private_training=True).fit(X, y)
    honest = model.certificate_
    forged = forge(honest, noise_std=honest.noise * 10)
    assert forged.method == "pnsgd-learning-dp" and forged.epsilon < honest.epsilon
    forged.verify()  # before any request nothing in the record pins the noise down
    with pytest.raises(CertificateVerificationError, match="certificate field noise"):
        forged.verify(model)


def test_data_norm_rewritten_consistently_is_caught_by_the_model(logistic):
    honest = logistic.certificate_
    record = honest.record
    changes = dict(data_norm=record["data_norm"] / 100, lipschitz=record["lipschitz"] / 100,
                   smoothness=record["smoothness"] / 1e4)
    # Smaller shifts: the requests would have stopped earlier, which the record shows.
    with pytest.raises(CertificateVerificationError, match="certificate field noise.*other noise or constants"):
        forge(honest, **changes).verify()
    thorough = forge_with_fewer_epochs(honest, **changes)
    thorough.verify()  # D is a free parameter of the record
    with pytest.raises(CertificateVerificationError, match=r"data_norm \(D\)"):
        thorough.verify(logistic)


def test_claims_about_the_target_must_match_the_record(logistic):
    data = json.loads(logistic.certificate_.to_json())
    data["target_epsilon"] = 100.0
    data.pop("satisfied")
    with pytest.raises(CertificateVerificationError, match="target_epsilon"):
        UnlearningCertificate.from_dict(data).verify()


# ---------------------------------------------------------------------------- level 2: the model


def _hash_of(model):
    names = ("coef_", "intercept_") if hasattr(model, "coef_") else ("coefs_", "intercepts_")
    return parameter_hash({name: getattr(model, name) for name in names})


def test_the_hash_follows_every_replacement_of_the_certificate(iris):
    X, y = iris
    model = NoisyLogisticRegression(random_state=0).fit(X, y)
    seen = [model.certificate_.parameter_hash]
    for step in (lambda m: m.unlearn([1]), lambda m: m.partial_unlearn([2, 3], max_epochs=1),
                 lambda m: m.partial_unlearn(max_epochs=1), lambda m: m.fit(X[:100], y[:100])):
        step(model)
        assert model.certificate_.parameter_hash == _hash_of(model)
        assert model.certificate_.verify(model) is model.certificate_
        seen.append(model.certificate_.parameter_hash)
    assert len(set(seen)) == len(seen)  # every state's parameters differ, and so do their hashes


@pytest.mark.parametrize("estimator", [
    NoisyLogisticRegression(random_state=0),
    NoisyMLPClassifier(random_state=0, max_iter=3, hidden_layer_sizes=(8,)),
], ids=["logistic", "mlp"])
def test_verify_model_fails_on_a_one_ulp_change(iris, estimator):
    X, y = iris
    model = clone(estimator).fit(X, y).unlearn([4])
    certificate = model.certificate_
    assert certificate.verify(model) is certificate
    assert certificate.verify(model.export()) is certificate
    assert UnlearningCertificate.from_json(certificate.to_json()).verify(model).parameter_hash == _hash_of(model)
    released = model.coef_ if hasattr(model, "coef_") else model.coefs_[0]
    before = released[0, 0]
    released[0, 0] = np.nextafter(before, np.inf)  # the public array, one ulp
    with pytest.raises(CertificateVerificationError, match="parameter_hash"):
        certificate.verify(model)
    released[0, 0] = before
    certificate.verify(model)
    # The parameters the model predicts with, one ulp off while the public arrays stay.
    params = model._params.copy()
    params.flat[0] = np.nextafter(params.flat[0], -np.inf)
    model._state = model._state.replace(params=params)
    with pytest.raises(CertificateVerificationError, match="the parameters the model holds"):
        certificate.verify(model)


def test_verify_model_fails_for_another_model_and_for_unbound_certificates(iris, logistic):
    X, y = iris
    other = NoisyLogisticRegression(random_state=1).fit(X, y).unlearn([0, 60]).unlearn([5])
    with pytest.raises(CertificateVerificationError, match="parameter_hash"):
        logistic.certificate_.verify(other)
    unbound = dataclasses.replace(logistic.certificate_, parameter_hash="")
    assert unbound == logistic.certificate_  # the hash binds; it is not part of the guarantee
    unbound.verify()
    with pytest.raises(CertificateVerificationError, match="not bound to any model"):
        unbound.verify(logistic)
    with pytest.raises(ValueError, match="parameter_hash must be"):
        dataclasses.replace(logistic.certificate_, parameter_hash="md5:00")


def test_verify_model_checks_the_record_against_the_models_attributes(logistic):
    honest, published = logistic.certificate_, logistic._state
    for name, factor in (("noise_", 10.0), ("radius_", 2.0), ("alpha_", 0.5), ("step_size_", 0.5)):
        logistic._state = published.replace(attributes={name: getattr(logistic, name) * factor})
        with pytest.raises(CertificateVerificationError, match="the model's " + name):
            honest.verify(logistic)
    logistic._state = published
    assert honest.verify(logistic) is honest


# ---------------------------------------------------------------------------- level 3: a replay


def test_a_replay_reproduces_the_hash_bit_for_bit(iris):
    X, y = iris
    model = NoisyLogisticRegression(random_state=3, n_jobs=2).fit(X, y)
    model.certificate_.verify(model, replay=ReplayData(X, y))
    model.unlearn([0, 60]).partial_unlearn([7], max_epochs=1).partial_unlearn(max_epochs=1).unlearn([100])
    certificate = model.certificate_
    assert [entry["rows"] for entry in certificate.history] == [2, 1, 1]
    assert certificate.verify(model, replay=ReplayData(X, y)) is certificate
    # On one thread: the same bits.
    assert certificate.verify(model, replay=ReplayData(X, y, estimator=clone(model).set_params(n_jobs=1)))
    # The rows of every request, given explicitly, replay too.
    certificate.verify(model, replay=ReplayData(X, y, requests=[[0, 60], [7], [100]]))


def test_a_replay_with_wrong_data_or_requests_fails(iris, logistic):
    X, y = iris
    certificate = logistic.certificate_
    changed = X.copy()
    changed[10, 2] += 1e-9  # a retained row, barely moved
    with pytest.raises(CertificateVerificationError, match="parameter_hash.*data, the noise key or the requests"):
        certificate.verify(logistic, replay=ReplayData(changed, y))
    labels = y.copy()
    labels[20] = (labels[20] + 1) % 3
    with pytest.raises(CertificateVerificationError):
        certificate.verify(logistic, replay=ReplayData(X, labels))
    with pytest.raises(CertificateVerificationError):
        certificate.verify(logistic, replay=ReplayData(X, y, requests=[[0, 61], [5]]))
    with pytest.raises(CertificateVerificationError, match="history: 2 requests"):
        certificate.verify(logistic, replay=ReplayData(X, y, requests=[[0, 60, 5]]))
    with pytest.raises(CertificateVerificationError):
        certificate.verify(logistic, replay=ReplayData(X, y, noise_key=12345, slot_order=np.arange(len(y))))


def test_a_replay_catches_a_forger_who_also_rewrote_the_model(iris, logistic):
    """Level 2 trusts the model's attributes; a forger who writes them too is caught only by the replay."""
    X, y = iris
    honest = logistic.certificate_
    forged = forge_with_fewer_epochs(honest, noise_std=honest.noise * 10)
    assert forged.epsilon <= honest.target_epsilon and forged.verify() is forged
    logistic._state = logistic._state.replace(attributes={"noise_": logistic.noise_ * 10, "certificate_": forged})
    assert forged.verify(logistic) is forged
    with pytest.raises(CertificateVerificationError, match="certificate field"):
        forged.verify(logistic, replay=ReplayData(X, y))


def test_a_secret_key_replays_with_the_owners_secrets(iris):
    X, y = iris
    model = NoisyLogisticRegression().fit(X, y).unlearn([9])  # random_state=None: key from the OS
    with pytest.raises(CertificateVerificationError, match="does not determine the noise key"):
        model.certificate_.verify(model, replay=ReplayData(X, y))
    model.certificate_.verify(model, replay=ReplayData.secrets_of(model, X, y))


def test_the_mlp_replays_with_its_requests(iris):
    X, y = iris
    model = NoisyMLPClassifier(random_state=0, max_iter=3, hidden_layer_sizes=(8,)).fit(X, y)
    model.unlearn([0, 1])
    model.certificate_.verify(model, replay=ReplayData(X, y))  # one request: removed_indices_ says which rows
    model.unlearn([50])
    with pytest.raises(CertificateVerificationError, match="requests="):
        model.certificate_.verify(model, replay=ReplayData(X, y))
    model.certificate_.verify(model, replay=ReplayData(X, y, requests=[[0, 1], [50]]))
    with pytest.raises(CertificateVerificationError, match="parameter_hash"):
        model.certificate_.verify(model, replay=ReplayData(X, y, requests=[[0, 2], [50]]))
    unseeded = NoisyMLPClassifier(max_iter=2, hidden_layer_sizes=(4,)).fit(X, y)
    with pytest.raises(CertificateVerificationError, match="initial weights"):
        unseeded.certificate_.verify(unseeded, replay=ReplayData.secrets_of(unseeded, X, y))


def test_a_predictor_replays_with_its_estimator(iris, logistic):
    X, y = iris
    predictor = logistic.export()
    with pytest.raises(CertificateVerificationError, match="keeps no hyper-parameters"):
        predictor.certificate_.verify(predictor, replay=ReplayData(X, y))
    predictor.certificate_.verify(predictor, replay=ReplayData(X, y, estimator=NoisyLogisticRegression(random_state=0)))
