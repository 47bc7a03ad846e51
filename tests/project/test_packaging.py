"""Files a user or a packager expects: licence, changelog, PEP 561 marker."""

from pathlib import Path

import pytest

import skunlearn

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_bsd_3_clause():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, the skunlearn developers" in text
    assert "Neither the name of the copyright holder" in text


def test_changelog_has_an_unreleased_section_with_entries():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    entries = [line for line in unreleased.splitlines() if line.startswith("- ")]
    assert entries and all(len(line) > 3 for line in entries)


def test_py_typed_marker_is_shipped():
    assert (Path(skunlearn.__file__).parent / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["skunlearn"]


def test_dask_extra_brings_the_distributed_scheduler():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("dask[distributed]") for requirement in extras["dask"])
    # tests/tools/test_dask.py runs in the test suite (it takes seconds), so the test extra installs the scheduler too.
    assert {"dask", "distributed"} <= {requirement.split(">")[0].split("[")[0] for requirement in extras["test"]}


def test_ci_runs_the_readmes_test_command_quick_part_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("Run the tests:", 1)[1]
    command = section.split("```bash\n", 1)[1].split("\n```", 1)[0].strip()
    assert command.endswith('python -m pytest -m "not slow" && python -m pytest -m slow')
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith(command)
