"""Every example runs, on small sizes (and the notebook executes); the figures show what the examples computed."""

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name, attribute="main"):
    return runpy.run_path(str(EXAMPLES / name), run_name="example")[attribute]


def test_quickstart():
    model = example("quickstart.py")()
    assert model.certificate_.satisfied and model.removed_indices_.tolist() == [3, 14, 15]


def test_pipeline_grid_search():
    search = example("pipeline_grid_search.py")(n_jobs=2)
    assert search.best_estimator_[-1].certificate_.rows_forgotten == 20


def test_deletion_stream_drives_epsilon_down():
    epsilons = example("deletion_stream.py")(n_requests=2)
    for line in epsilons:
        assert line == sorted(line, reverse=True) and line[-1] <= 1.0


def test_deletion_stream_plots_the_epsilons_the_stream_saw():
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.close("all")
    try:
        epsilons = example("deletion_stream.py")(n_requests=2, plot=True)
        (curve,) = [line for line in plt.gcf().axes[0].get_lines() if line.get_label() == "certified epsilon"]
        np.testing.assert_allclose(curve.get_ydata(), [e for line in epsilons for e in line], rtol=1e-12)
    finally:
        plt.close("all")


def test_tradeoff_figures_are_written_into_the_named_directory(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    paths = example("tradeoff_figures.py")(output_dir=tmp_path / "figures", small=True)
    for path in paths:
        assert path.parent == tmp_path / "figures" and path.stat().st_size > 10_000
    assert list(cwd.iterdir()) == []  # nothing lands in the current directory


def test_tradeoff_figures_default_to_examples_output():
    parse_args = example("tradeoff_figures.py", "parse_args")
    assert parse_args([]).output_dir == EXAMPLES / "output"
    assert example("tradeoff_figures.py", "OUTPUT_DIR") == EXAMPLES / "output"
    assert parse_args(["--output-dir", "somewhere"]).output_dir == Path("somewhere")
    assert parse_args(["--out", "elsewhere"]).output_dir == Path("elsewhere")  # the former option still works


def test_examples_output_is_ignored_by_git():
    ignored = (EXAMPLES.parent / ".gitignore").read_text().split()
    assert "examples/output/" in ignored


def test_audit_example_catches_the_broken_unlearning():
    correct, broken = example("audit_certificates.py")(trials=60)
    assert correct.consistent
    assert broken.epsilon_lower_bound > 1.0
    if importlib.util.find_spec("matplotlib") is None:
        return
    import matplotlib.pyplot as plt

    figure = example("audit_certificates.py", "plot_statistics")(correct, broken)
    try:  # each panel draws every trial of both arms, and the threshold of the test the audit chose
        for ax, result in zip(figure.axes, (correct, broken), strict=True):
            unlearned, certifying = ax.containers
            assert sum(bar.get_height() for bar in unlearned) == result.unlearned_statistics.size == 60
            assert sum(bar.get_height() for bar in certifying) == result.certifying_statistics.size == 60
            assert [line.get_xdata()[0] for line in ax.get_lines()] == [result.threshold]
    finally:
        plt.close(figure)


@pytest.mark.slow
def test_notebook_executes():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    html = notebook.cells[2].outputs[0]["data"]["text/html"]
    assert "UnlearningCertificate" in html
