"""A predict-only export of a fitted estimator, for deployment: no training rows inside."""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import Tags

from ._state import FittedState

__all__ = ["CertifiedPredictor"]

#: Fitted attributes that describe training rows (their positions or labels), never exported.
_ROW_ATTRIBUTES = frozenset({"training_index_", "removed_indices_"})


class CertifiedPredictor:
    """Predict-only copy of a fitted NoisyLogisticRegression or NoisyMLPClassifier.

    Made by the estimator's ``export()``. It holds the parameters, the class
    set, the feature names and the certificate at the time of export, and
    nothing that describes a training row: not the retained rows (the
    estimator keeps them to serve later requests), not their labels or
    positions, not the noise key or the seed. Its pickle is of the size of the
    parameters. It cannot unlearn: after a request, export the estimator again
    and replace the deployed copy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    certificate_ : UnlearningCertificate
        The estimator's certificate when it was exported.
    n_features_in_ : int
    feature_names_in_ : ndarray
        Only when the estimator saw string column names.
    estimator_name : str
        The class name of the exported estimator.

    The estimator's parameter attributes (``coef_``, ``intercept_`` or
    ``coefs_``, ``intercepts_``) are available too.

    Examples
    --------
    >>> import pickle
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn import NoisyLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([0, 1])
    >>> predictor = model.export()
    >>> bool((predictor.predict(X) == model.predict(X)).all())
    True
    >>> predictor.certificate_ == model.certificate_
    True
    >>> len(pickle.dumps(predictor)) < 10 * X.nbytes
    True
    """

    def __init__(self, estimator: BaseEstimator) -> None:
        state = estimator._published()
        # A bare instance of the estimator's class (its prediction code, no duplicate), with default
        # parameters but the public class set, and a state whose row arrays are empty.
        shell = type(estimator).__new__(type(estimator))
        shell.__dict__.update(type(estimator)().get_params(deep=False))
        shell.__dict__["classes"] = estimator.classes
        empty = np.empty(0, dtype=np.int64)
        shell.__dict__["_state"] = FittedState(
            X_slots=np.empty((0, 0)), y_slots=empty, weight=np.empty(0), slot_of=empty,
            removed_mask=np.empty(0, dtype=bool), batch_bounds=empty, params=np.array(state.params, copy=True),
            noise_key=0, noise_counter=0, noise_secrecy=state.noise_secrecy, ledger=None, config=state.config,
            attributes={name: value for name, value in state.attributes.items() if name not in _ROW_ATTRIBUTES},
        )
        self._estimator = shell
        self.estimator_name = type(estimator).__name__

    # Fitted attributes -------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set on the predictor: the exported fitted attributes.
        if name.startswith("__") or name == "_estimator":
            raise AttributeError(name)
        attributes = self.__dict__["_estimator"].__dict__["_state"].attributes
        if name.endswith("_") and not name.startswith("_") and name in attributes:
            return attributes[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        attributes = self._estimator.__dict__["_state"].attributes
        return sorted(set(super().__dir__()) | set(attributes))

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self) -> Tags:
        return self._estimator.__sklearn_tags__()

    def fit(self, X: Any = None, y: Any = None, **params: Any) -> NoReturn:
        """Refused: a predictor is exported from a fitted estimator and never trained.

        Present so that scikit-learn treats it as a fitted estimator, e.g. as
        the last step of a deployed ``Pipeline``.
        """
        raise TypeError(f"a {type(self).__name__} cannot be fitted: fit the estimator, then export() it")

    def __repr__(self) -> str:
        certificate = self.certificate_
        return (f"{type(self).__name__}({self.estimator_name}, {len(self.classes_)} classes, "
                f"{self._estimator.__dict__['_state'].params.size} parameters, certificate: "
                f"epsilon={certificate.epsilon:.4g}, delta={certificate.delta:.4g}, "
                f"requests={certificate.requests})")

    # Prediction: the estimator's own code --------------------------------------------

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class (as the estimator's ``predict``)."""
        return self._estimator.predict(X)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._estimator.predict_proba(X)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log of :meth:`predict_proba`."""
        return self._estimator.predict_log_proba(X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Scores, as the estimator's ``decision_function``."""
        return self._estimator.decision_function(X)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy on ``(X, y)``."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
