"""The unlearning certificate: an immutable, JSON-serialisable record."""

from __future__ import annotations

import dataclasses
import html
import json
import math
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["UnlearningCertificate"]


def _plain(value):
    """JSON-friendly copy: numpy scalars to Python, tuples and mappings recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _frozen(value):
    """Read-only copy of nested mappings and sequences."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


@dataclasses.dataclass(frozen=True, eq=True)
class UnlearningCertificate:
    """What a model's privacy guarantee is, and the proof it rests on.

    An estimator replaces (never mutates) its ``certificate_`` after ``fit``
    and after every (partial) unlearning request.

    Parameters
    ----------
    epsilon, delta : float
        The (ε, δ) guarantee certified now.
    target_epsilon, target_delta : float
        What the user asked for.
    order : float or None
        The Rényi order α behind ε (None for bounds not stated in Rényi form).
    renyi_divergence : float or None
        The Rényi bound ε_α at that order.
    method : str
        Which bound: for example ``"pnsgd-coupled"`` or ``"model-clipping"``.
    reference : str
        The paper and theorem followed.
    neighbouring : str
        The neighbouring relation certified.
    noise : float
        The noise parameter σ of the noisy steps.
    steps : int
        Noisy steps behind the guarantee (since the last request for unlearning).
    rows_forgotten, requests : int
        How many rows and requests have been forgotten so far.
    constants : mapping
        The constants the bound assumed (L, m, M, R, η, b, n, ...).
    history : tuple of mappings
        One entry per request.

    Attributes
    ----------
    satisfied : bool
        ``epsilon <= target_epsilon`` and ``delta <= target_delta``.

    Examples
    --------
    >>> cert = UnlearningCertificate(
    ...     epsilon=0.8, delta=1e-5, target_epsilon=1.0, target_delta=1e-5,
    ...     order=12.0, renyi_divergence=0.3, method="pnsgd-coupled",
    ...     reference="Chien et al. 2024", neighbouring="removal",
    ...     noise=0.1, steps=50, rows_forgotten=1, requests=1)
    >>> cert.satisfied
    True
    >>> UnlearningCertificate.from_json(cert.to_json()) == cert
    True
    """

    epsilon: float
    delta: float
    target_epsilon: float
    target_delta: float
    order: float | None
    renyi_divergence: float | None
    method: str
    reference: str
    neighbouring: str
    noise: float
    steps: int
    rows_forgotten: int = 0
    requests: int = 0
    constants: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    history: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "constants", _frozen(self.constants))
        object.__setattr__(self, "history", _frozen(self.history))

    def __reduce__(self):
        # Read-only mappings do not pickle; the dict form round-trips exactly.
        return (_from_dict, (self.to_dict(),))

    @property
    def satisfied(self) -> bool:
        """Whether the certified (ε, δ) meets the target."""
        return bool(self.epsilon <= self.target_epsilon and self.delta <= self.target_delta)

    def to_dict(self) -> dict:
        """A plain dict of builtins (``json.dumps``-ready); includes ``satisfied``."""
        data = {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}
        data["history"] = [dict(entry) for entry in data["history"]]
        data["satisfied"] = self.satisfied
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> "UnlearningCertificate":
        """Rebuild a certificate from :meth:`to_dict` output."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - names - {"satisfied"}
        if unknown:
            raise ValueError(f"unknown certificate fields: {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> "UnlearningCertificate":
        """Rebuild a certificate from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def __str__(self) -> str:
        status = "satisfied" if self.satisfied else "NOT satisfied"
        order = "" if self.order is None else f" (Rényi order {self.order:.3g})"
        return (
            f"({_fmt(self.epsilon)}, {self.delta:.3g})-{self.method} certificate{order}: {status} "
            f"for target ({_fmt(self.target_epsilon)}, {self.target_delta:.3g}); "
            f"{self.rows_forgotten} rows in {self.requests} requests forgotten, "
            f"{self.steps} noisy steps at noise {self.noise:.4g}"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("certified (ε, δ)", f"({_fmt(self.epsilon)}, {self.delta:.3g})"),
            ("target (ε, δ)", f"({_fmt(self.target_epsilon)}, {self.target_delta:.3g})"),
            ("satisfied", "yes" if self.satisfied else "no"),
            ("method", f"{self.method} — {self.reference}"),
            ("neighbouring relation", self.neighbouring),
            ("noise, steps", f"{self.noise:.4g}, {self.steps}"),
            ("forgotten", f"{self.rows_forgotten} rows in {self.requests} requests"),
        ]
        rows += [(f"constant {k}", f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in self.constants.items()]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        return f"<table><caption>UnlearningCertificate</caption>{body}</table>"


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4g}"


def _from_dict(data):
    return UnlearningCertificate.from_dict(data)
