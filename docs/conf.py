"""Sphinx configuration for the skunlearn documentation.

Build (from the repository root)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The build executes the examples: sphinx-gallery runs every script of ``examples/``,
with the options ``gallery_argv.py`` names (``--plot``, smaller sizes), and shows its
output and the figures matplotlib left open; myst-nb executes the notebook
``examples/quickstart.ipynb`` (the stored copy carries no outputs) and renders its
outputs, the certificate as a table. A clean build took 40 to 65 s on a shared
2-core machine (the examples 20 to 50 s of it, the notebook 5 s), once numba's
kernels are compiled (a fresh installation adds about a minute). A failing example
or notebook cell fails the build. The build needs no network.

To build the pages without running anything (seconds; no outputs, no figures), as
``tests/project/test_docs.py`` does::

    sphinx-build -W --keep-going -b html -D plot_gallery=0 -D nb_execution_mode=off \\
        docs docs/_build/html

Generated sources (all ignored by git, rebuilt by every build): ``api/generated/``
(autosummary), ``_gallery_src/`` (the examples, staged with a gallery header; the
trade-off example also writes its PNG files into ``_gallery_src/output/``),
``auto_examples/`` (sphinx-gallery's output) and ``notebooks/`` (the staged
notebook). The repository root defaults to this directory's parent; the
environment variable ``SKUNLEARN_ROOT`` overrides it (tests build a copy of
``docs/`` in a temporary directory).
"""

import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("SKUNLEARN_ROOT", DOCS.parent)).resolve()
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))  # gallery_argv, which sphinx-gallery imports by name

import skunlearn  # noqa: E402
from gallery_argv import GALLERY_ARGV  # noqa: E402

project = "skunlearn"
author = "the skunlearn developers"
copyright = "2026, the skunlearn developers"
release = skunlearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_gallery_src",
    "notebooks/CHANGELOG.md",
    "auto_examples/*.ipynb",  # sphinx-gallery's download copies, not pages
    "**.ipynb_checkpoints",
]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}
root_doc = "index"
default_role = "obj"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()
# The module docstrings list their sources under References and cite them in
# prose ("[FMTT, Lemma 21]"), not as ``[FMTT]_`` links; numpydoc then renames the
# labels, and Sphinx would flag each as unreferenced.
suppress_warnings = ["ref.citation"]

# -- sphinx-gallery ------------------------------------------------------------
# The scripts in examples/ are plain scripts with a main() and a command line;
# sphinx-gallery runs each staged copy as a script (``__name__ == "__main__"``, from
# docs/_gallery_src/) with the options of gallery_argv.GALLERY_ARGV (--plot, smaller
# sizes), and its matplotlib scraper keeps every figure left open, the first as the
# card's thumbnail. ``-D plot_gallery=0`` builds the pages without running them.
sphinx_gallery_conf = {
    "examples_dirs": ["_gallery_src"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r".*\.py$",  # run every example (all take seconds at these sizes)
    "plot_gallery": "True",  # a string like sphinx-gallery's default, so -D plot_gallery=0 raises no type warning
    "reset_argv": "gallery_argv.reset_argv",
    "abort_on_example_error": False,  # run them all, then fail the build listing every failure
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "default_thumb_file": None,  # set below: the card of an example that prints and draws no figure
    "show_signature": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),  # no figure leaks from one example into the next
    "write_computation_times": False,  # each page states its own running time
}

GALLERY_HEADER = """\
Examples
========

The scripts of the repository's ``examples/`` directory, with the output and figures
of running them: the documentation build runs each, some with options (stated on its
page: the figures, smaller sizes). Each has a ``main()`` and runs from the repository
root, for example ``python examples/quickstart.py``; the test suite runs each on
small sizes. The notebook version of the quickstart is :doc:`/notebooks/quickstart`.
"""


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _gallery_source(text, name=None):
    """The script with the first line of its docstring underlined, as sphinx-gallery wants a title.

    When the gallery runs the script with options (``GALLERY_ARGV``), a line after the
    title says which, so the output below reads with the right sizes.
    """
    match = re.match(r'(\s*[rRbBuU]{0,2}(?:"""|\'\'\'))([^\n]*)\n', text)
    if match is None:
        raise RuntimeError("an example script has no module docstring")
    title = match.group(2).strip()
    rest = text[match.end():]
    if re.match(r"([=\-~^#*])\1{2,}\n", rest):  # already a title
        return text
    argv = GALLERY_ARGV.get(name)
    command = " ".join(["python", f"examples/{name}", *(argv or ())])
    note = f"\n*The documentation build runs this script as* ``{command}``.\n" if argv else ""
    # sphinx-gallery's per-file setting (stripped from the page): every figure at full width, one under another
    config = '\n# sphinx_gallery_multi_image = "single"\n'
    return f"{match.group(1)}{title}\n{'=' * len(title)}\n{note}{rest}{config}"


def _stage_sources():
    staged = DOCS / "_gallery_src"
    _write_if_changed(staged / "GALLERY_HEADER.rst", GALLERY_HEADER)
    names = set()
    for script in sorted(EXAMPLES.glob("*.py")):
        names.add(script.name)
        _write_if_changed(staged / script.name, _gallery_source(script.read_text(encoding="utf-8"), script.name))
    for stale in staged.glob("*.py"):
        if stale.name not in names:
            stale.unlink()
    notebook = EXAMPLES / "quickstart.ipynb"
    _write_if_changed(DOCS / "notebooks" / "quickstart.ipynb", notebook.read_text(encoding="utf-8"))
    # The changelog page includes the repository's CHANGELOG.md, staged here (the docs may be built from a copy).
    _write_if_changed(DOCS / "notebooks" / "CHANGELOG.md", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))


def _text_thumbnail(path):
    """A console drawn with matplotlib: the card of an example whose output is text only (no figure to show)."""
    try:
        import matplotlib
    except ImportError:  # -D plot_gallery=0 needs no matplotlib; sphinx-gallery's own placeholder then
        return None
    matplotlib.use("agg")  # what sphinx-gallery sets; pyplot is not imported here
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    figure = Figure(figsize=(4, 2.8), dpi=100)
    ax = figure.add_axes((0, 0, 1, 1), xlim=(0, 1), ylim=(0, 1))
    ax.set_axis_off()
    ax.add_patch(FancyBboxPatch((0.06, 0.1), 0.88, 0.8, boxstyle="round,pad=0,rounding_size=0.04",
                                facecolor="#2b2f36", edgecolor="none"))
    ax.text(0.11, 0.78, "$ python examples/….py", family="monospace", fontsize=12, color="#9fd39f", va="center")
    for row, width in enumerate((0.62, 0.74, 0.48, 0.68, 0.36)):
        ax.plot([0.11, 0.11 + width], [0.64 - 0.085 * row] * 2, color="#8a919c", linewidth=5, solid_capstyle="round")
    ax.text(0.5, 0.2, "text output", fontsize=12, color="white", ha="center", va="center")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return str(path)


_stage_sources()
sphinx_gallery_conf["default_thumb_file"] = _text_thumbnail(DOCS / "_gallery_src" / "text_output.png")
# autosummary never deletes a page whose object left the reference; start afresh.
shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)

# -- myst-nb: execute the notebook (it is stored without outputs), render the outputs --
# ``-D nb_execution_mode=off`` renders it as stored instead. A cell that raises fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 300  # seconds per cell; the first fit of a fresh install compiles numba's kernels
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = []

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skunlearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = ["_static"]
html_css_files = ["skunlearn.css"]
html_last_updated_fmt = None
html_copy_source = False
