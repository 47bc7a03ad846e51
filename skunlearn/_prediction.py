"""Labels and probabilities from a classifier's scores: written once for both estimators.

An estimator gives ``_class_scores(X, state)``: one column (binary: the margin
of the second class over the first) or one column per class. The published
state is read once per call, so a request published meanwhile cannot mix two
models in one answer.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_expit, log_softmax, softmax

__all__ = ["ScoreClassifierMixin"]


def _takes_rows(returned):
    """Append the shared Parameters and Returns sections (numpydoc) to a prediction method's docstring."""

    def document(method):
        method.__doc__ = method.__doc__.rstrip() + f"""

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            As ``fit`` takes it (sparse CSR for the logistic model only).

        Returns
        -------
        ndarray of shape {returned}
        """
        return method

    return document


class ScoreClassifierMixin:
    """``predict``, ``predict_proba`` and ``predict_log_proba`` over the hook ``_class_scores(X, state)``."""

    @_takes_rows("(n_samples, n_classes)")
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        """
        scores = self._class_scores(X, self._published())
        if scores.shape[1] == 1:
            positive = expit(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    @_takes_rows("(n_samples, n_classes)")
    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably.

        """
        scores = self._class_scores(X, self._published())
        if scores.shape[1] == 1:
            return np.column_stack([log_expit(-scores[:, 0]), log_expit(scores[:, 0])])
        return log_softmax(scores, axis=1)

    @_takes_rows("(n_samples,)")
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class.

        """
        state = self._published()  # one state for the scores and the labels
        scores = self._class_scores(X, state)
        codes = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
        return state.attributes["classes_"][codes]
