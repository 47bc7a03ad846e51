"""skunlearn: scikit-learn compatible estimators that certifiably forget rows."""

from .certificate import UnlearningCertificate
from .linear_model import NoisyLogisticRegression
from .neural_network import NoisyMLPClassifier
from .pipeline import PrivacyLeakWarning, UnlearningPipeline, unlearn_pipeline
from .predictor import CertifiedPredictor

__version__ = "0.1.0.dev0"
__all__ = ["CertifiedPredictor", "NoisyLogisticRegression", "NoisyMLPClassifier", "PrivacyLeakWarning",
           "UnlearningCertificate", "UnlearningPipeline", "__version__", "unlearn_pipeline"]
