import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

import skunlearn.__main__ as cli
from skunlearn import NoisyLogisticRegression
from skunlearn._constants import cyclic_batch_bounds, logistic_constants
from skunlearn.__main__ import main


def test_calibrate_prints_noise_that_meets_the_target(capsys):
    status = main(["calibrate", "--epsilon", "1", "--delta", "1e-5", "--n-samples", "1000", "--batch-size", "100",
                   "--l2", "0.01", "--unlearn-epochs", "1", "3", "--noise", "0.05"])
    out = capsys.readouterr().out
    assert status == 0
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    noises = {int(row[0]): float(row[1]) for row in rows}
    assert noises[1] > noises[3] > 0  # a longer budget needs less noise
    assert all(float(row[2]) <= 1.0 for row in rows)


def test_calibrate_reports_bad_constants():
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "100", "--l2", "0.1", "--step-size", "100"]) == 2


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "skunlearn", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "calibrate" in result.stdout


def test_demo_fits_unlearns_and_certifies(capsys):
    assert main(["demo", "--requests", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count(": satisfied for target") == 2  # both estimators meet the target after unlearning
    assert "retrain" in out and "NoisyMLPClassifier" in out


def test_demo_explains_itself_and_compares_with_scikit_learn(capsys):
    assert main(["demo", "--requests", "2"]) == 0
    out = capsys.readouterr().out
    assert "How to read it." in out and "what is guaranteed before anyone asks to forget a row" in out
    assert "NOT satisfied" not in out  # after fit there is no target to miss
    assert out.count("no guarantee before a request") == 2  # noise-free logistic training, and the MLP
    baselines = [line for line in out.splitlines()
                 if line.strip().startswith("sklearn ") and "test accuracy" in line]
    assert len(baselines) == 2
    assert "LogisticRegression()" in baselines[0] and "MLPClassifier(" in baselines[1]
    for line in baselines:
        assert 0.8 < float(line.split("test accuracy")[1].split()[0]) <= 1.0


def test_no_subcommand_prints_help_and_succeeds():
    result = subprocess.run([sys.executable, "-m", "skunlearn"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "calibrate" in result.stdout and "demo" in result.stdout


@pytest.mark.parametrize("command", [[], ["demo"], ["calibrate"]])
def test_help_shows_no_restructuredtext_markup(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "``" not in capsys.readouterr().out


def _spy_on_the_ledger(monkeypatch):
    """The ledgers the calculator builds: it must use the estimator's own accounting."""
    ledgers = []
    original = cli.StronglyConvexLedger

    def spy(**kwargs):
        ledgers.append(original(**kwargs))
        return ledgers[-1]

    monkeypatch.setattr(cli, "StronglyConvexLedger", spy)
    return ledgers


def _spy_on_the_bound(monkeypatch):
    calls = []
    original = cli.single_removal_rdp_coefficient

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(cli, "single_removal_rdp_coefficient", spy)
    return calls


def test_calibrate_uses_the_estimators_batches(monkeypatch, capsys):
    ledgers = _spy_on_the_ledger(monkeypatch)
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "10", "--batch-size", "4", "--l2", "0.01",
                 "--unlearn-epochs", "1"]) == 0
    bounds = cyclic_batch_bounds(10, 4)  # [0, 4, 7, 10]: the last batch holds 3 rows, not 10 - 2 * 4 = 2
    assert ledgers[0].batch_bounds.tolist() == bounds.tolist() and ledgers[0].last_batch_size == 3
    assert "last batch 3 rows" in capsys.readouterr().out


def test_calibrate_agrees_with_the_estimators_ledger(capsys):
    # The same problem through the estimator's own ledger gives the same noise.
    main(["calibrate", "--epsilon", "1", "--n-samples", "10", "--batch-size", "4", "--l2", "0.01",
          "--unlearn-epochs", "2", "--train-epochs", "5", "--n-features", "3"])
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.split()[:1] == ["2"])
    model = NoisyLogisticRegression(alpha=0.01, batch_size=4, max_iter=5, unlearning_epochs=2, epsilon=1.0,
                                    random_state=0)
    X = np.random.default_rng(0).normal(size=(10, 3))
    model.fit(X, np.arange(10) % 2)
    assert float(row[1]) == pytest.approx(model.noise_, rel=1e-4)


@pytest.mark.parametrize("n_classes, extra, radius", [
    (2, [], 1.0 / 0.01),
    (3, [], math.sqrt(2.0) / 0.01),
    (2, ["--data-norm", "2"], 2.0 / 0.01),
    (2, ["--lipschitz", "3"], 3.0 / 0.01),
])
def test_calibrate_default_radius_is_the_estimators(n_classes, extra, radius, monkeypatch, capsys):
    ledgers = _spy_on_the_ledger(monkeypatch)
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "100", "--l2", "0.01", "--unlearn-epochs", "1",
                 "--n-classes", str(n_classes), *extra]) == 0
    expected = dataclasses.replace(
        logistic_constants(n_classes, 2.0 if "--data-norm" in extra else 1.0, 0.01),
        **({"lipschitz": 3.0} if "--lipschitz" in extra else {}),
    ).default_radius()
    assert expected == pytest.approx(radius)
    assert ledgers[0].radius == pytest.approx(radius)
    assert f"R={radius:g}" in capsys.readouterr().out


def test_calibrate_radius_can_still_be_set(monkeypatch):
    calls = _spy_on_the_bound(monkeypatch)
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "100", "--l2", "0.01", "--unlearn-epochs", "1",
                 "--radius", "inf", "--smoothness", "0.25", "--lipschitz", "1"]) == 0
    assert calls[0][-1] == math.inf


def test_warmup_compiles_or_loads_every_kernel(capsys):
    from skunlearn.__main__ import main

    assert main(["warmup"]) == 0
    assert "kernels ready in" in capsys.readouterr().out
