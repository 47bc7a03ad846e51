import subprocess
import sys

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
