import dataclasses
import json
import math

import numpy as np
import pytest

from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier, UnlearningCertificate


def make(**overrides):
    fields = dict(
        epsilon=0.7, delta=1e-5, target_epsilon=1.0, target_delta=1e-5, order=14.5, renyi_divergence=0.2,
        method="pnsgd-coupled", reference="Chien et al. 2024; skunlearn.accounting.pnsgd", neighbouring="removal (slot kept)",
        noise=0.05, steps=120, rows_forgotten=3, requests=2,
        constants={"L": 0.25, "m": 0.01, "n": 569},
        history=({"request": 1, "rows": 2, "epsilon": 0.9}, {"request": 2, "rows": 1, "epsilon": 0.7}),
    )
    fields.update(overrides)
    return UnlearningCertificate(**fields)


def test_json_round_trip():
    cert = make()
    text = json.dumps(cert.to_dict())
    assert UnlearningCertificate.from_dict(json.loads(text)) == cert
    assert UnlearningCertificate.from_json(cert.to_json()) == cert


def test_json_round_trip_with_infinite_epsilon_and_no_order():
    cert = make(epsilon=math.inf, order=None, renyi_divergence=None)
    back = UnlearningCertificate.from_json(cert.to_json())
    assert back == cert and not back.satisfied


def test_is_immutable_including_nested_constants():
    cert = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.epsilon = 0.0
    with pytest.raises(TypeError):
        cert.constants["L"] = 1.0
    with pytest.raises(TypeError):
        cert.history[0]["rows"] = 5


def test_satisfied_compares_both_epsilon_and_delta():
    assert make().satisfied
    assert not make(epsilon=1.01).satisfied
    assert not make(delta=2e-5).satisfied


def test_str_is_one_line_summary():
    text = str(make())
    assert "\n" not in text
    assert "0.7" in text and "satisfied" in text and "3 rows in 2 requests" in text
    assert "NOT satisfied" in str(make(epsilon=3.0))


def test_html_repr_escapes_and_lists_constants():
    page = make(method="<b>x</b>")._repr_html_()
    assert "&lt;b&gt;" in page and "constant L" in page


def test_from_dict_rejects_unknown_fields():
    data = make().to_dict()
    data["bogus"] = 1
    with pytest.raises(ValueError, match="bogus"):
        UnlearningCertificate.from_dict(data)


# ---------------------------------------------------------------- what people read (issue 13, item 7)


def test_repr_is_one_short_line_without_mappings():
    text = repr(make(constants={f"c{i}": float(i) for i in range(50)}))
    assert "\n" not in text and len(text) < 200
    assert "mappingproxy" not in text and "constants" not in text and "record" not in text
    assert text.startswith("UnlearningCertificate(method='pnsgd-coupled', epsilon=0.7")
    assert "satisfied=True" in text


def test_fit_certificates_say_what_they_are():
    from sklearn.datasets import load_iris

    from skunlearn import NoisyLogisticRegression, NoisyMLPClassifier

    X, y = load_iris(return_X_y=True)
    private = NoisyLogisticRegression(private_training=True, noise=0.5, random_state=0).fit(X, y).certificate_
    assert private.method == "pnsgd-learning-dp"
    assert str(private).startswith("the training's own DP guarantee")
    quiet = NoisyLogisticRegression(random_state=0).fit(X, y).certificate_
    mlp = NoisyMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y).certificate_
    for certificate in (private, quiet, mlp):
        text = str(certificate)
        assert "NOT satisfied" not in text and "\n" not in text
        assert "satisfied" not in text  # the target is for requests, not for the training
    for certificate in (quiet, mlp):
        assert str(certificate).startswith("no guarantee before a request")
    assert "no guarantee before a request" in mlp._repr_html_()
    # After a request the certificate is the unlearning one, satisfied or not.
    model = NoisyLogisticRegression(random_state=0).fit(X, y).partial_unlearn(positions=[0], max_epochs=0)
    assert "NOT satisfied" in str(model.certificate_)


def test_json_dumps_works_strictly_through_the_documented_helpers():
    cert = make(epsilon=math.inf, order=None, renyi_divergence=None)
    text = json.dumps({"release": 3, "certificate": cert}, default=UnlearningCertificate.json_default,
                      allow_nan=False)  # strict: would raise on Infinity
    assert "Infinity" not in text
    assert UnlearningCertificate.from_dict(json.loads(text)["certificate"]) == cert
    assert json.loads(cert.to_json()) == cert.__json__()
    assert cert.to_json(indent=2).count("\n") > 10
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps({"x": object()}, default=UnlearningCertificate.json_default)


@pytest.mark.parametrize("make", [
    lambda: NoisyLogisticRegression(max_iter=5, random_state=0),
    lambda: NoisyMLPClassifier(hidden_layer_sizes=(8,), max_iter=2, finetune_epochs=1, random_state=0),
])
def test_epsilon_curve_replays_every_request_and_plots(make):
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = make().fit(X, y).unlearn([0, 1])
    model.partial_unlearn([5], max_epochs=1)
    model.partial_unlearn(max_epochs=2)
    certificate = model.certificate_
    curve = certificate.epsilon_curve()
    epochs = [entry["epochs"] for entry in certificate.history]
    assert [point[0] for point in curve] == list(range(1, sum(epochs) + 1))
    ends = np.cumsum(epochs)
    for entry, end in zip(certificate.history, ends):  # each request's last point is its recorded epsilon
        assert curve[end - 1][1] == pytest.approx(entry["epsilon"], rel=1e-12)
    for first, last in zip(np.concatenate([[0], ends[:-1]]), ends):  # never rises within a request
        values = [value for _, value in curve[first:last]]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:]))
    ax = certificate.plot()
    assert ax.get_ylabel() == "epsilon" and len(ax.lines) >= 2
