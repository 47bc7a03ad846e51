"""Sphinx configuration for the skunlearn documentation.

Build (from the repository root)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing is executed at build time: the gallery shows the scripts of
``examples/`` without running them (``plot_gallery`` is off; each script has a
``main()`` and several take minutes), and the notebook
``examples/quickstart.ipynb`` is rendered as stored (``nb_execution_mode =
"off"``). The build needs no network.

Generated sources (all ignored by git, rebuilt by every build): ``api/generated/``
(autosummary), ``_gallery_src/`` (the examples, staged with a gallery header),
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

import skunlearn  # noqa: E402

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
# The scripts in examples/ are plain scripts with a main(); the gallery shows them
# and does not run them: plot_gallery is off, and filename_pattern matches no file
# as a second guard. Running them would take minutes and write files (the test
# suite runs each on small sizes: tests/project/test_examples.py); not running them keeps
# the build fast, offline and deterministic.
sphinx_gallery_conf = {
    "examples_dirs": ["_gallery_src"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"^$",
    "plot_gallery": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "default_thumb_file": None,
    "show_signature": False,
    "matplotlib_animations": False,
    "image_scrapers": (),
    "reset_modules": (),
    "write_computation_times": False,  # nothing runs, so no timing page
}

GALLERY_HEADER = """\
Examples
========

The scripts of the repository's ``examples/`` directory, shown as they are (the
documentation build does not run them). Each has a ``main()`` and runs from the
repository root, for example ``python examples/quickstart.py``; the test suite
runs each on small sizes. The notebook version of the quickstart is
:doc:`/notebooks/quickstart`.
"""


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _gallery_source(text):
    """The script with the first line of its docstring underlined, as sphinx-gallery wants a title."""
    match = re.match(r'(\s*[rRbBuU]{0,2}(?:"""|\'\'\'))([^\n]*)\n', text)
    if match is None:
        raise RuntimeError("an example script has no module docstring")
    title = match.group(2).strip()
    rest = text[match.end():]
    if re.match(r"([=\-~^#*])\1{2,}\n", rest):  # already a title
        return text
    return f"{match.group(1)}{title}\n{'=' * len(title)}\n{rest}"


def _stage_sources():
    staged = DOCS / "_gallery_src"
    _write_if_changed(staged / "GALLERY_HEADER.rst", GALLERY_HEADER)
    names = set()
    for script in sorted(EXAMPLES.glob("*.py")):
        names.add(script.name)
        _write_if_changed(staged / script.name, _gallery_source(script.read_text(encoding="utf-8")))
    for stale in staged.glob("*.py"):
        if stale.name not in names:
            stale.unlink()
    notebook = EXAMPLES / "quickstart.ipynb"
    _write_if_changed(DOCS / "notebooks" / "quickstart.ipynb", notebook.read_text(encoding="utf-8"))
    # The changelog page includes the repository's CHANGELOG.md, staged here (the docs may be built from a copy).
    _write_if_changed(DOCS / "notebooks" / "CHANGELOG.md", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))


_stage_sources()
# autosummary never deletes a page whose object left the reference; start afresh.
shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)

# -- myst-nb: render the stored notebook, never execute it ---------------------
nb_execution_mode = "off"
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
html_static_path = []
html_last_updated_fmt = None
html_copy_source = False
