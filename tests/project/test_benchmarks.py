"""The cheapest benchmark script runs and meets its goal (the others are timed, so they stay out of the tests)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bound_comparison_script_meets_its_goal():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_bounds.py")], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "equals the predicted one" in result.stdout
