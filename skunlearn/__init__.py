"""skunlearn: scikit-learn compatible estimators that certifiably forget rows."""

from .certificate import UnlearningCertificate
from .linear_model import NoisyLogisticRegression

__version__ = "0.1.0.dev0"
__all__ = ["NoisyLogisticRegression", "UnlearningCertificate", "__version__"]
