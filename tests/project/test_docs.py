"""The documentation builds with warnings as errors, and holds the pages it promises.

Builds a copy of ``docs/`` into a temporary directory (so the checkout's ``docs/`` is
never written), with the command of ``docs/install.md`` and ``docs/conf.py``,
``sphinx-build -W --keep-going -b html docs docs/_build/html``, plus
``-D plot_gallery=0 -D nb_execution_mode=off``: a real build runs the gallery's
examples and executes the notebook (40 to 65 s on 2 cores), this one runs nothing
and takes seconds. No test runs the real build: ``tests/project/test_examples.py``
runs the examples and the notebook, and checks what the examples' figures draw.
"""

import importlib.util
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GENERATED = ("_build", "api/generated", "auto_examples", "_gallery_src", "notebooks", "sg_execution_times.rst")
REQUIREMENTS = {  # importable module: distribution
    "sphinx": "sphinx",
    "numpydoc": "numpydoc",
    "sphinx_gallery": "sphinx-gallery",
    "myst_nb": "myst-nb",
    "pydata_sphinx_theme": "pydata-sphinx-theme",
}

missing = [dist for module, dist in REQUIREMENTS.items() if importlib.util.find_spec(module) is None]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    bool(missing),
    reason=f"documentation requirements not installed ({', '.join(missing)}): pip install -e '.[docs]'",
)]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    """The HTML output directory of one -W build of a copy of docs/, executing nothing."""
    tmp = tmp_path_factory.mktemp("docs")
    source = tmp / "docs"
    shutil.copytree(DOCS, source, ignore=lambda directory, names: [
        name for name in names if (Path(directory) / name).relative_to(DOCS).as_posix() in GENERATED])
    out = tmp / "html"
    env = dict(os.environ, SKUNLEARN_ROOT=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(tmp / "doctrees"),
         "-D", "plot_gallery=0", "-D", "nb_execution_mode=off",  # run no example, execute no notebook
         str(source), str(out)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"sphinx-build -W failed:\n{result.stdout}\n{result.stderr}"
    return out


def page(html, name):
    path = html / name
    assert path.is_file(), f"{name} was not built"
    return path.read_text(encoding="utf-8")


def plain(text):
    return re.sub(r"<[^>]+>", "", text)


def anchors(text):
    return set(re.findall(r'\bid="([^"]+)"', text))


def test_estimator_pages_document_the_unlearning_methods(html):
    for name in ("NoisyLogisticRegression", "NoisyMLPClassifier"):
        ids = anchors(page(html, f"api/generated/skunlearn.{name}.html"))
        for member in ("", ".fit", ".predict", ".unlearn", ".partial_unlearn"):
            assert f"skunlearn.{name}{member}" in ids
        # scikit-learn's metadata-routing plumbing is not part of this API
        assert f"skunlearn.{name}.set_score_request" not in ids


def test_certificate_pages(html):
    ids = anchors(page(html, "api/generated/skunlearn.UnlearningCertificate.html"))
    assert {"skunlearn.UnlearningCertificate.verify", "skunlearn.UnlearningCertificate.to_json"} <= ids
    ids = anchors(page(html, "api/generated/skunlearn.certificate.CertificateVerificationError.html"))
    assert "skunlearn.certificate.CertificateVerificationError" in ids


def test_accounting_and_audit_functions_have_pages(html):
    import skunlearn.accounting
    import skunlearn.audit

    api = page(html, "api.html")
    constants = {"DEFAULT_ORDERS": "renyi.", "ARITHMETIC_MODEL": "floating_point.", "NOISE_FLOOR_ULPS": "floating_point.",
                 "GRID_NOISE_BITS": "floating_point.", "EXP_ERROR_ULPS": "floating_point."}
    for module in (skunlearn.accounting, skunlearn.audit):
        for name in module.__all__:
            qualified = f"{module.__name__}.{constants.get(name, '')}{name}"
            assert qualified in anchors(page(html, f"api/generated/{qualified}.html"))
            assert f"api/generated/{qualified}.html" in api


def test_gallery_lists_every_example_and_the_command_it_runs(html):
    GALLERY_ARGV = runpy.run_path(str(DOCS / "gallery_argv.py"))["GALLERY_ARGV"]  # noqa: N806
    scripts = sorted((ROOT / "examples").glob("*.py"))
    assert set(GALLERY_ARGV) <= {script.name for script in scripts}  # no option for an example that left
    index = page(html, "auto_examples/index.html")
    for script in scripts:
        assert f'href="{script.stem}.html' in index, script.name
        text = plain(page(html, f"auto_examples/{script.stem}.html"))
        assert "def main(" in text and f"Download Python source code: {script.name}" in text
        assert "Total running time" not in text  # -D plot_gallery=0: shown, not executed
        if script.name in GALLERY_ARGV:  # the page says with which options a real build runs it
            command = " ".join(["python", f"examples/{script.name}", *GALLERY_ARGV[script.name]])
            assert f"The documentation build runs this script as {command}." in text, script.name


def test_notebook_is_rendered(html):
    text = plain(page(html, "notebooks/quickstart.html"))  # as stored: -D nb_execution_mode=off
    assert "skunlearn quickstart" in text and "model.partial_unlearn(" in text


def test_user_guide_and_mathematics(html):
    for name in ("certificates", "epsilon_delta", "preprocessing", "services"):
        page(html, f"user_guide/{name}.html")
    assert "StandardScaler" in page(html, "user_guide/preprocessing.html")
    maths = page(html, "mathematics.html")
    for module in ("pnsgd", "floating_point", "post_processing", "renyi", "calibrate", "langevin"):
        assert f'id="module-skunlearn.accounting.{module}"' in maths
    for module in ("skunlearn._defaults", "skunlearn._backends._grid_noise", "skunlearn._backends._chacha20"):
        assert f'id="module-{module}"' in maths
    assert "Privacy amplification by iteration" in maths


def test_readme_is_short_and_the_rest_lives_in_the_docs(html):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "X.max(axis=0)" not in readme  # statistics of the private rows do not keep the guarantee
    for name, text in (("guide", "How the noise is set"), ("results", "bench_unlearning"),
                       ("install", "Building these pages"), ("changelog", "Unreleased")):
        assert text in page(html, f"{name}.html"), name
