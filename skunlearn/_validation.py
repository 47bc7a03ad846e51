"""The one module that touches scikit-learn's private helpers."""

from __future__ import annotations

import os
import sys
from numbers import Integral, Real

import sklearn
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
    "user_stacklevel",
    "validate_data",
]

#: Non-negative float64 weights of shape (n_samples,); refuses all-zero weights.
check_sample_weight = _check_sample_weight

#: ``@fit_context`` validates ``_parameter_constraints`` before ``fit`` runs.
fit_context = _fit_context(prefer_skip_nested_validation=True)

#: The package directories whose frames a warning skips to reach the caller's code.
_INTERNAL_DIRECTORIES = tuple(os.path.dirname(os.path.abspath(module.__file__)) + os.sep
                              for module in (sys.modules[__package__], sklearn))


def user_stacklevel():
    """The ``stacklevel`` that points a warning, issued by this function's caller, at the first frame outside
    skunlearn and scikit-learn: the user's line that called ``fit``, whichever path led there."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL_DIRECTORIES):
        frame, level = frame.f_back, level + 1
    return level
