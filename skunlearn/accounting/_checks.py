"""Argument checks shared by the accounting modules: every bound refuses inputs outside its theorem."""

from __future__ import annotations

import numpy as np

__all__ = ["non_negative", "positive"]


def positive(name, value):
    """``value`` as a float, or a ValueError naming ``name`` unless it is finite and > 0."""
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def non_negative(name, value):
    """``value`` as a float, or a ValueError naming ``name`` unless it is finite and >= 0."""
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value
