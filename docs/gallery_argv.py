"""The command line each example of the gallery runs with when the documentation build executes it.

sphinx-gallery runs each staged script (``docs/_gallery_src/<name>.py``, from that
directory, as ``__main__``) and sets ``sys.argv[1:]`` with ``reset_argv``, named in
``conf.py`` by its import path so that the configuration stays picklable. The options
below ask for the figures and keep the build short; an example not listed runs with
none. The scripts' own defaults are unchanged when they run on their own, and the test
suite runs them smaller still (``tests/project/test_examples.py``).
"""

from pathlib import Path

GALLERY_ARGV = {
    # The full sweep (six settings of epsilon and of sigma, three seeds: about 10 s on 2 cores), whose curves
    # say something; --small (two and two, one seed) would draw straight lines. The PNG files the script saves
    # land in docs/_gallery_src/output/; the page shows the same figures, kept by sphinx-gallery's scraper.
    "tradeoff_figures.py": ["--output-dir", "output"],
    # The default five requests; --plot draws certificate_.plot().
    "deletion_stream.py": ["--plot"],
    # 60 trials per arm instead of 100 (enough to catch the broken unlearning); --plot draws the histograms.
    "audit_certificates.py": ["--trials", "60", "--plot"],
}


def reset_argv(gallery_conf, script_vars):
    """sphinx-gallery's hook: the arguments after the script's name."""
    return list(GALLERY_ARGV.get(Path(script_vars["src_file"]).name, []))
