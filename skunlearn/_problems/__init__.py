"""Each estimator's set-up from public quantities: the one place a fit and the command line decide the constants,
the step, the radius, the ledger, the noise and the request budget before any row is read.

:func:`~skunlearn._problems.logistic.logistic_setup` is what
``NoisyLogisticRegression.fit`` and ``python -m skunlearn calibrate`` both
call, so the calculator prints the σ the estimator picks by construction.
"""


class CalibratedSetup:
    """What every set-up gives: the ledger (with the requests' noise), the request budget and the batch size."""

    @property
    def noise(self) -> float:
        """The requests' calibrated (or given) noise, as the ledger holds it."""
        return self.ledger.noise_std
