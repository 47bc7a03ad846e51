"""skunlearn: scikit-learn compatible estimators that certifiably forget rows."""

from .certificate import UnlearningCertificate

__version__ = "0.1.0.dev0"
__all__ = ["UnlearningCertificate", "__version__"]
