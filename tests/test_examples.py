"""Every example runs, on small sizes."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_audit_example_catches_the_broken_unlearning():
    namespace = runpy.run_path(str(EXAMPLES / "audit_certificates.py"), run_name="example")
    correct, broken = namespace["main"](trials=60)
    assert correct.consistent
    assert broken.epsilon_lower_bound > 1.0
