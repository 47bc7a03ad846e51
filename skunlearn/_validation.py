"""The one module that touches scikit-learn's private helpers."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "Integral",
    "Interval",
    "Real",
    "StrOptions",
    "check_classification_targets",
    "check_is_fitted",
    "fit_context",
    "validate_data",
]

#: ``@fit_context`` validates ``_parameter_constraints`` before ``fit`` runs.
fit_context = _fit_context(prefer_skip_nested_validation=True)
