"""The one module that touches scikit-learn's private helpers."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

__all__ = [
    "Integral",
    "Interval",
    "Real",
    "StrOptions",
    "check_classification_targets",
    "check_is_fitted",
    "check_sample_weight",
    "fit_context",
    "validate_data",
]

#: Non-negative float64 weights of shape (n_samples,); refuses all-zero weights.
check_sample_weight = _check_sample_weight

#: ``@fit_context`` validates ``_parameter_constraints`` before ``fit`` runs.
fit_context = _fit_context(prefer_skip_nested_validation=True)
