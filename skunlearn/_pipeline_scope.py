"""Which pipeline fitted an estimator, and the warning when a request bypasses it.

Below :mod:`skunlearn._unlearning` (which records the pipeline at ``fit`` and
warns at a request) and :mod:`skunlearn.pipeline` (which forwards checked
requests), so neither imports the other for it.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref

from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from ._validation import check_is_fitted

__all__ = ["PrivacyLeakWarning", "remember_pipeline", "warn_if_pipeline_leaks"]


class PrivacyLeakWarning(UserWarning):
    """A choice the estimator can see leaks the rows its certificate says were forgotten.

    Named as diffprivlib names its own: raised, for instance, by a request on the
    final step of a ``Pipeline`` whose earlier steps were fitted on the training
    rows (``pipe[-1].unlearn(...)``): the certificate covers that step's input
    rows as given, and the fitted steps before it still depend on the rows.
    """

    __module__ = "skunlearn.pipeline"  # its public home (re-exported there)


#: Set while :func:`unlearn_pipeline` forwards a request it has checked (per thread).
_CHECKED = threading.local()

_PIPELINE_FILE = os.path.join("sklearn", "pipeline.py")


def enclosing_pipeline(estimator):
    """The ``Pipeline`` whose ``fit`` is fitting ``estimator`` as its final step, or None (read from the stack).

    scikit-learn's ``Pipeline.fit`` calls the final step's ``fit`` with the
    transformed rows; the step cannot otherwise know what came before it.
    """
    frame = sys._getframe(1)
    for _ in range(16):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_filename.endswith(_PIPELINE_FILE) and code.co_name in ("fit", "fit_transform", "fit_predict"):
            pipeline = frame.f_locals.get("self")
            if isinstance(pipeline, Pipeline) and pipeline.steps and pipeline.steps[-1][1] is estimator:
                return pipeline
        frame = frame.f_back
    return None


def remember_pipeline(estimator):
    """Record (weakly) the Pipeline fitting ``estimator``, if any: :func:`warn_if_pipeline_leaks` reads it."""
    pipeline = enclosing_pipeline(estimator)
    estimator.__dict__["_pipeline"] = None if pipeline is None else weakref.ref(pipeline)


def warn_if_pipeline_leaks(estimator):
    """Raise :class:`PrivacyLeakWarning` on a direct request to a pipeline's final step after fitted steps."""
    if getattr(_CHECKED, "active", False):
        return
    reference = estimator.__dict__.get("_pipeline")
    pipeline = None if reference is None else reference()
    if pipeline is None or not pipeline.steps or pipeline.steps[-1][1] is not estimator:
        return
    fitted = [name for name, step in pipeline.steps[:-1] if _fitted_on_rows(step)]
    if fitted:
        warnings.warn(
            f"this estimator is the final step of a Pipeline whose step(s) {fitted!r} were fitted on the training "
            "rows: a request here forgets the rows from this step only, and the certificate covers its input rows "
            "as given, not the pipeline. Use unlearn_pipeline(pipeline, ...) or UnlearningPipeline.unlearn, which "
            "refuse such steps unless declared public.",
            PrivacyLeakWarning, stacklevel=4,
        )


def _fitted_on_rows(step):
    """Whether a pipeline step holds state fitted on the training rows.

    ``None`` and ``"passthrough"`` hold nothing; nor does a transformer that
    scikit-learn tags as needing no fit (``FunctionTransformer``: its ``fit``
    records only the number and names of the columns, public). Any other
    fitted step (a scaler, an encoder, a feature selector, a nested pipeline)
    is a function of the rows it saw.
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return False
    try:
        if not get_tags(step).requires_fit:
            return False
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - objects without tags
        pass
    try:
        check_is_fitted(step)
    except NotFittedError:
        return False
    except TypeError:  # pragma: no cover - not an estimator: assume the worst
        return True
    return True
