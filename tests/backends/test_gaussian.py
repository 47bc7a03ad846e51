"""The counter-based Gaussian generator behind the noise: exact N(0, 1), independent draws."""

import numpy as np
import pytest
from scipy import stats

from skunlearn._backends._ziggurat import ZIGGURAT_R, reference_normals, ziggurat_tables


@pytest.fixture(scope="module")
def sample():
    return reference_normals(2024, 0, 1_000_000)


def test_tables_close_the_ziggurat():
    k, w, f = ziggurat_tables()
    edges = w[1:] * 2.0**52
    assert edges[-1] == pytest.approx(ZIGGURAT_R)
    assert np.all(np.diff(edges) > 0) and edges[0] < 0.3  # layers shrink to the top
    assert np.all(np.diff(f[1:]) < 0) and f[0] == 1.0
    # Every layer has the same area: x_i (f(x_{i-1}) - f(x_i)) is constant.
    areas = edges[1:] * (f[1:-1] - f[2:])
    np.testing.assert_allclose(areas, areas[0], rtol=1e-9)


def test_matches_the_normal_law(sample):
    assert stats.kstest(sample, "norm").pvalue > 1e-3
    assert abs(sample.mean()) < 5 / np.sqrt(sample.size)
    assert sample.var() == pytest.approx(1.0, abs=5 * np.sqrt(2 / sample.size))


@pytest.mark.parametrize("threshold", [1.0, 2.5, ZIGGURAT_R, 4.5])
def test_tail_probabilities(sample, threshold):
    # Beyond r the tail sampler is used; its mass must be right too.
    expected = 2 * stats.norm.sf(threshold)
    observed = np.mean(np.abs(sample) > threshold)
    assert abs(observed - expected) < 5 * np.sqrt(expected / sample.size) + 1e-6


def test_draws_are_uncorrelated_and_keys_independent(sample):
    assert abs(np.corrcoef(sample[:-1], sample[1:])[0, 1]) < 5e-3
    other = reference_normals(2025, 0, 100_000)
    assert abs(np.corrcoef(sample[:100_000], other)[0, 1]) < 2e-2


def test_a_range_is_a_slice_of_the_sequence(sample):
    np.testing.assert_array_equal(reference_normals(2024, 1234, 1000), sample[1234:2234])
