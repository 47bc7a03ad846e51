import subprocess
import sys

import numpy as np
import pytest

from skunlearn import NoisyLogisticRegression
from skunlearn._constants import cyclic_batch_bounds
from skunlearn.__main__ import main


def test_calibrate_prints_noise_that_meets_the_target(capsys):
    status = main(["calibrate", "--epsilon", "1", "--delta", "1e-5", "--n-samples", "1000", "--n-features", "10",
                   "--batch-size", "100", "--l2", "0.01", "--unlearn-epochs", "1", "3", "--noise", "0.05"])
    out = capsys.readouterr().out
    assert status == 0
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    noises = {int(row[0]): float(row[1]) for row in rows}
    assert noises[1] > noises[3] > 0  # a longer budget needs less noise
    assert all(float(row[2]) <= 1.0 for row in rows)


@pytest.mark.parametrize("arguments", [
    ["--epsilon", "1", "--n-samples", "100", "--n-features", "3", "--l2", "0.1", "--learning-rate", "100"],
    ["--epsilon", "1", "--n-samples", "100", "--n-features", "3", "--l2", "0"],
    ["--epsilon", "-1", "--n-samples", "100", "--n-features", "3"],
    ["--epsilon", "1", "--delta", "2", "--n-samples", "100", "--n-features", "3"],
    ["--epsilon", "1", "--n-samples", "1", "--n-features", "3"],
    ["--epsilon", "1", "--n-samples", "100", "--n-features", "3", "--noise", "0"],
])
def test_calibrate_edge_cases_are_one_clear_error_before_any_output(arguments, capsys):
    assert main(["calibrate", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and "Traceback" not in captured.err


def test_calibrate_needs_the_feature_count(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "--epsilon", "1", "--n-samples", "100"])
    assert exit_info.value.code == 2 and "--n-features" in capsys.readouterr().err


def test_demo_refuses_a_bad_target_before_any_output(capsys):
    assert main(["demo", "--epsilon", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "epsilon" in captured.err


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
    payoff = out.split("Where a request pays off", 1)[1].splitlines()
    for line, name in zip(payoff[1:3], ("NoisyLogisticRegression", "NoisyMLPClassifier")):
        request, retrain = (float(line.split(word)[1].split()[0]) for word in ("one request", "retraining"))
        assert line.strip().startswith(name) and request > 0 and retrain > 0 and "faster" in line
    assert "bench_scale.py" in out


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


def _picked(out):
    """The 'would pick' line of the calculator: {attribute: value}."""
    line = next(line for line in out.splitlines() if line.startswith("NoisyLogisticRegression would pick:"))
    return {key.strip(): float(value) for key, value in
            (item.split("=") for item in line.split(":", 1)[1].split(","))}


@pytest.mark.parametrize("arguments, parameters, n_samples, n_features, n_classes", [
    (["--batch-size", "4", "--l2", "0.01", "--max-iter", "5"], {"batch_size": 4, "alpha": 0.01, "max_iter": 5},
     10, 3, 2),
    ([], {}, 300, 8, 3),
    (["--full-batch", "--private-training", "--epsilon", "2"], {"batch_size": None, "private_training": True,
                                                                 "epsilon": 2.0}, 200, 5, 2),
    (["--data-norm", "2", "--radius", "50", "--delta", "1e-7"], {"data_norm": 2.0, "radius": 50.0, "delta": 1e-7},
     150, 4, 4),
])
def test_calibrate_prints_what_the_estimator_picks(arguments, parameters, n_samples, n_features, n_classes, capsys):
    """The calculator and fit share one set-up: the same noise, budget, batch and radius, on several settings."""
    base = ["calibrate", "--epsilon", "1", "--n-samples", str(n_samples), "--n-features", str(n_features),
            "--n-classes", str(n_classes), "--unlearn-epochs", "2"]
    assert main([*base, *arguments]) == 0
    out = capsys.readouterr().out
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n_samples, n_features)), np.arange(n_samples) % n_classes
    model = NoisyLogisticRegression(random_state=0, **{"epsilon": 1.0, **parameters}).fit(X, y)
    picked = _picked(out)
    assert picked["unlearning_epochs_"] == model.unlearning_epochs_
    assert picked["finetune_epochs_"] == model.finetune_epochs_
    assert picked["noise_"] == pytest.approx(model.noise_, rel=1e-5)
    assert f"R={model.radius_:g}" in out and f"alpha={model.alpha_:.4g}" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["2"])
    fixed = NoisyLogisticRegression(random_state=0, unlearning_epochs=2, **{"epsilon": 1.0, **parameters}).fit(X, y)
    assert float(row[1]) == pytest.approx(fixed.noise_, rel=1e-5)


def test_calibrate_uses_the_estimators_batches(capsys):
    assert main(["calibrate", "--epsilon", "1", "--n-samples", "10", "--n-features", "3", "--batch-size", "4",
                 "--l2", "0.01", "--unlearn-epochs", "1"]) == 0
    bounds = cyclic_batch_bounds(10, 4)  # [0, 4, 7, 10]: the last batch holds 3 rows, not 10 - 2 * 4 = 2
    assert bounds[-1] - bounds[-2] == 3 and "3 steps per epoch (last batch 3 rows)" in capsys.readouterr().out


def test_warmup_compiles_or_loads_every_kernel(capsys):
    from skunlearn.__main__ import main

    assert main(["warmup"]) == 0
    assert "kernels ready in" in capsys.readouterr().out


def test_calibrate_refuses_a_batch_size_with_full_batch(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "--epsilon", "1", "--n-samples", "100", "--n-features", "3", "--batch-size", "4",
              "--full-batch"])
    assert exit_info.value.code == 2 and "not allowed with" in capsys.readouterr().err
