"""The backend protocol: what the estimators call on a compute backend, and nothing else.

:func:`skunlearn._backends.get_backend` returns a module that has these
functions; ``tests/backends/test_backends.py`` checks every backend's signatures
against this class with :func:`inspect.signature` (the CuPy module's from its
source, so the check needs no CuPy).
"""

from __future__ import annotations

from typing import Protocol

from .codes import KernelConfig, MLPConfig, NoiseStream, Slots

__all__ = ["Backend"]


class Backend(Protocol):
    """One call runs a phase's epochs; ``warm_up`` compiles ahead; ``mlp_loss_gradient`` is the tests' reference."""

    def run(self, params, slots: Slots, config: KernelConfig | MLPConfig, n_epochs: int, stream: NoiseStream, *,
            n_threads=None, losses=None):
        """``n_epochs`` cyclic epochs of the phase ``config`` over ``slots`` from ``stream``: ``(params, stream)``.

        ``params`` (float64) is updated in place and returned; the stream
        returned is the one after the last normal drawn. ``n_threads`` may
        change the speed, never the result.
        """

    def warm_up(self):
        """Compile (or load) the backend's kernels, once per process."""

    def mlp_loss_gradient(self, params, layer_sizes, X, y, weight, activation):
        """``(mean cross-entropy over the retained rows, its gradient)`` at ``params``."""
