"""skunlearn: scikit-learn compatible estimators that certifiably forget rows."""

from .certificate import UnlearningCertificate
from .linear_model import NoisyLogisticRegression
from .neural_network import NoisyMLPClassifier

__version__ = "0.1.0.dev0"
__all__ = ["NoisyLogisticRegression", "NoisyMLPClassifier", "UnlearningCertificate", "__version__"]
