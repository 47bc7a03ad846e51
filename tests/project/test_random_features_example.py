"""The random-features example runs on a small size, and its sampler is a public map."""

import runpy
from pathlib import Path

import numpy as np
from sklearn.kernel_approximation import RBFSampler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_random_features_example_forgets_a_row_with_a_certificate():
    main = runpy.run_path(str(EXAMPLES / "random_features.py"), run_name="example")["main"]
    result = main(n_components=100, n_rows=400)
    assert result["certificate"].satisfied
    assert result["removed"].tolist() == [0]
    assert 0.0 <= result["after"] <= 1.0 and result["seconds"] >= 0.0


def test_rbf_sampler_fit_reads_only_the_shape_of_x():
    """The docstring's claim: with a numeric gamma, any two data sets with as many columns give the same map."""
    rng = np.random.default_rng(0)
    first = RBFSampler(gamma=0.2, n_components=50, random_state=0).fit(rng.random((30, 8)))
    second = RBFSampler(gamma=0.2, n_components=50, random_state=0).fit(100.0 * rng.standard_normal((5, 8)))
    np.testing.assert_array_equal(first.random_weights_, second.random_weights_)
    np.testing.assert_array_equal(first.random_offset_, second.random_offset_)
