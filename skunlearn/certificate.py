"""The unlearning certificate: an immutable, JSON-serialisable record.

``str(certificate)`` is a sentence saying what it guarantees, ``repr`` one
short line, ``_repr_html_`` a table for notebooks. For JSON:
``certificate.to_json()`` (strict: an infinite ε is written ``"inf"``, never
``Infinity``), or ``json.dumps(payload, default=UnlearningCertificate.json_default)``
for a certificate inside a larger structure (the ``__json__`` protocol).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["CertificateVerificationError", "UnlearningCertificate"]


class CertificateVerificationError(ValueError):
    """A certificate's claims differ from what its own record recomputes to."""


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _strict(value):
    """Copy for strict JSON: non-finite floats become the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _number(name, value, *, low=None, high=None, low_open=False, optional=False):
    """A float field, validated: a real number (or "inf"), within its range."""
    if value is None and optional:
        return None
    if isinstance(value, str) and value in _NON_FINITE:
        value = _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"certificate field {name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"certificate field {name} must not be NaN")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"certificate field {name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"certificate field {name} must be <= {high}, got {value}")
    return value


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) and not (hasattr(value, "__index__")):
        raise ValueError(f"certificate field {name} must be an integer, got {value!r}")
    value = int(value)
    if value < 0:
        raise ValueError(f"certificate field {name} must be >= 0, got {value}")
    return value


def _plain(value):
    """JSON-friendly copy: numpy scalars to Python, tuples and mappings recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


_SCALARS = frozenset({int, float, str, bool, type(None)})

#: What a certificate issued by ``fit`` (before any request) says, by method.
_BEFORE_REQUESTS = {
    "pnsgd-learning-dp": "the training's own DP guarantee, before any request",
    "pnsgd-training": "no guarantee before a request",
    "mlp-training": "no guarantee before a request",
}


class FrozenHistory(tuple):
    """A history whose entries are read-only mappings of scalars, checked once when each was added.

    Ledgers extend it one entry per request, so certificates take it as it is
    instead of re-freezing and re-validating every past entry (a request's cost
    must not grow with the history).
    """

    __slots__ = ()

    def extended(self, entries):
        """A new history: this one with ``entries`` (mappings) frozen and appended."""
        return FrozenHistory(tuple(self) + tuple(_frozen_entry(entry) for entry in entries))

    def __reduce__(self):
        # Read-only mappings do not pickle: rebuild from plain dicts.
        return (_history_from_dicts, ([dict(entry) for entry in self],))


def _history_from_dicts(entries):
    return FrozenHistory().extended(entries)


def _frozen_entry(entry):
    frozen = _frozen(entry)
    if type(frozen) is not MappingProxyType or not all(type(v) in _SCALARS for v in frozen.values()):
        raise ValueError(f"a history entry must be a flat mapping of numbers and strings, got {entry!r}")
    return frozen


def _frozen(value):
    """Read-only copy of nested mappings and sequences.

    Flat read-only mappings of scalars and flat sequences of scalars take a
    fast path (exact type checks): a long history of requests is frozen once
    per entry, not again by every later certificate.
    """
    kind = type(value)
    if kind in _SCALARS or kind is FrozenHistory:
        return value
    if kind is MappingProxyType and all(type(v) in _SCALARS for v in value.values()):
        return value
    if kind in (list, tuple) and all(type(v) in _SCALARS for v in value):
        return tuple(value)
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


@dataclasses.dataclass(frozen=True, eq=True, repr=False)
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
        Before any request, ``fit`` issues ``"pnsgd-learning-dp"``
        (NoisyLogisticRegression with noisy training: the training's own
        differential-privacy guarantee for one row), ``"pnsgd-training"``
        (NoisyLogisticRegression trained without noise) or ``"mlp-training"``
        (NoisyMLPClassifier): the last two give no guarantee before a request
        (ε = inf).
    reference : str
        The paper and theorem followed.
    neighbouring : str
        The neighbouring relation certified.
    noise : float
        The noise parameter of the noisy steps, as the estimator's own
        parameter: NoisyLogisticRegression's σ (each step adds noise of
        standard deviation ``sqrt(2η) σ``), NoisyMLPClassifier's per-step
        standard deviation itself.
    steps : int
        Noisy steps behind the guarantee (since the last request for unlearning).
    rows_forgotten, requests : int
        How many rows and requests have been forgotten so far.
    constants : mapping
        The constants the bound assumed (L, m, M, R, η, b, n, ...).
    history : tuple of mappings
        One entry per request.
    arithmetic : str
        What the certificate covers of the machine's arithmetic and what it
        assumes (see :mod:`skunlearn.accounting.floating_point`).
    noise_secrecy : str
        Who the guarantee holds against: with a caller-supplied seed, only
        observers who do not know it.
    record : mapping
        The accounting state the numbers were computed from: enough for
        :meth:`verify` to recompute them.

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
    >>> cert
    UnlearningCertificate(method='pnsgd-coupled', epsilon=0.8, delta=1e-05, target=(1, 1e-05), satisfied=True, rows_forgotten=1, requests=1)

    Inside a larger JSON document:

    >>> import json
    >>> text = json.dumps({"model": "v3", "certificate": cert}, default=UnlearningCertificate.json_default)
    >>> UnlearningCertificate.from_dict(json.loads(text)["certificate"]) == cert
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
    history: tuple[Mapping[str, Any], ...] = ()
    arithmetic: str = ""
    noise_secrecy: str = ""
    record: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        # Validate every field, so neither a constructor call nor from_dict can build a nonsensical claim.
        set_ = functools.partial(object.__setattr__, self)
        set_("epsilon", _number("epsilon", self.epsilon, low=0))
        set_("delta", _number("delta", self.delta, low=0, high=1))
        set_("target_epsilon", _number("target_epsilon", self.target_epsilon, low=0, low_open=True))
        set_("target_delta", _number("target_delta", self.target_delta, low=0, high=1))
        set_("order", _number("order", self.order, low=1, low_open=True, optional=True))
        set_("renyi_divergence", _number("renyi_divergence", self.renyi_divergence, low=0, optional=True))
        set_("noise", _number("noise", self.noise, low=0))
        for name in ("steps", "rows_forgotten", "requests"):
            set_(name, _count(name, getattr(self, name)))
        for name in ("method", "reference", "neighbouring", "arithmetic", "noise_secrecy"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"certificate field {name} must be a string, got {getattr(self, name)!r}")
        for name in ("constants", "record"):
            if not isinstance(getattr(self, name), Mapping):
                raise ValueError(f"certificate field {name} must be a mapping, got {getattr(self, name)!r}")
        if type(self.history) is not FrozenHistory and (isinstance(self.history, (str, bytes, Mapping)) or not all(
                isinstance(entry, Mapping) for entry in self.history)):
            raise ValueError("certificate field history must be a sequence of mappings")
        set_("constants", _frozen(self.constants))
        set_("history", _frozen(self.history))
        set_("record", _frozen(self.record))

    def __reduce__(self):
        # Read-only mappings do not pickle; the dict form round-trips exactly.
        return (_from_dict, (self.to_dict(),))

    @property
    def satisfied(self) -> bool:
        """Whether the certified (ε, δ) meets the target."""
        return bool(self.epsilon <= self.target_epsilon and self.delta <= self.target_delta)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of builtins; includes ``satisfied``.

        Non-finite numbers stay floats (``math.inf``), so ``json.dumps`` of it
        would write the non-standard ``Infinity``: use :meth:`to_json` or
        :meth:`__json__` for strict JSON.
        """
        data = {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}
        data["history"] = [dict(entry) for entry in data["history"]]
        data["satisfied"] = self.satisfied
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnlearningCertificate:
        """Rebuild a certificate from :meth:`to_dict` output, validating every field.

        Non-finite numbers may be given as the strings ``"inf"``, ``"-inf"``
        (as :meth:`to_json` writes them). A ``satisfied`` entry must agree with
        the other fields.

        Raises
        ------
        ValueError
            For a missing, unknown, mistyped or out-of-range field.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a certificate is a mapping, got {type(data).__name__}")
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = set(data) - set(fields) - {"satisfied"}
        if unknown:
            raise ValueError(f"unknown certificate fields: {sorted(unknown)}")
        required = {name for name, field in fields.items()
                    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING}
        missing = required - set(data)
        if missing:
            raise ValueError(f"missing certificate fields: {sorted(missing)}")
        values = {k: v for k, v in data.items() if k in fields}
        for name in ("constants", "history", "record"):  # nested non-finite numbers, as to_json writes them
            if name in values:
                values[name] = _decoded(values[name])
        certificate = cls(**values)
        if "satisfied" in data and data["satisfied"] is not certificate.satisfied:
            raise ValueError(f"satisfied={data['satisfied']!r} contradicts epsilon and delta")
        return certificate

    def to_json(self, *, indent: int | str | None = None, sort_keys: bool = False) -> str:
        """Strict JSON text of :meth:`to_dict`: non-finite numbers are written as ``"inf"``, never ``Infinity``.

        :meth:`from_json` reads it back. ``indent`` and ``sort_keys`` are
        passed to :func:`json.dumps`.
        """
        return json.dumps(self.__json__(), allow_nan=False, indent=indent, sort_keys=sort_keys)

    def __json__(self, *args: Any) -> dict[str, Any]:
        """The strict JSON form as a dict of builtins (non-finite numbers as ``"inf"``); what :meth:`to_json` writes.

        The ``__json__`` protocol of web frameworks (extra arguments, such as
        a request, are ignored); with the standard library, pass
        :meth:`json_default` as ``default``.
        """
        return _strict(self.to_dict())

    @staticmethod
    def json_default(value: Any) -> Any:
        """``default=`` hook for :func:`json.dumps`: certificates (and any object with ``__json__``) as strict JSON.

        Examples
        --------
        ``json.dumps({"certificate": model.certificate_}, default=UnlearningCertificate.json_default)``
        """
        if hasattr(value, "__json__"):
            return value.__json__()
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    def verify(self, rtol: float = 1e-9) -> UnlearningCertificate:
        """Recompute ε and δ from the certificate's own record with the accountant.

        Rebuilds the accounting state from :attr:`record` and :attr:`history`
        (the forgotten slots and the step each was forgotten at, the steps
        run, the noise and the constants) and recomputes the certificate.

        Parameters
        ----------
        rtol : float, default=1e-9
            Relative tolerance on the recomputed numbers.

        Returns
        -------
        self
            When every claim matches.

        Raises
        ------
        CertificateVerificationError
            When the record is missing or a claim differs from the recomputation.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression().fit(X, y).unlearn([3])
        >>> model.certificate_.verify() is model.certificate_
        True
        """
        from ._ledgers import ledger_from_record

        if not self.record:
            raise CertificateVerificationError("the certificate has no record to recompute it from")
        try:
            ledger = ledger_from_record(_thawed(self.record), _thawed(self.history))
            replayed = ledger.replayed()
        except (TypeError, ValueError, KeyError) as error:
            raise CertificateVerificationError(f"the record does not describe a valid state: {error}") from error
        if not _matches(_thawed(self.record), replayed.record(), rtol):
            raise CertificateVerificationError("the record's state is not the one its history of requests leads to")
        recomputed = replayed.certificate(self.noise_secrecy)
        for name in ("epsilon", "delta", "order", "renyi_divergence", "noise", "steps", "rows_forgotten", "requests",
                     "method", "constants", "history", "arithmetic"):
            claimed, actual = getattr(self, name), getattr(recomputed, name)
            if not _matches(claimed, actual, rtol):
                raise CertificateVerificationError(
                    f"certificate field {name} claims {claimed!r} but its record recomputes to {actual!r}")
        return self

    @classmethod
    def from_json(cls, text: str) -> UnlearningCertificate:
        """Rebuild a certificate from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(method={self.method!r}, epsilon={self.epsilon:.4g}, delta={self.delta:.4g}, "
                f"target=({self.target_epsilon:.4g}, {self.target_delta:.4g}), satisfied={self.satisfied}, "
                f"rows_forgotten={self.rows_forgotten}, requests={self.requests})")

    def __str__(self) -> str:
        order = "" if self.order is None else f" (Rényi order {self.order:.3g})"
        before = _BEFORE_REQUESTS.get(self.method)
        target = f"({_fmt(self.target_epsilon)}, {self.target_delta:.3g})"
        if before is not None and self.requests == 0:
            if math.isinf(self.epsilon):
                claim = ("training ran without noise" if self.noise == 0 else
                         "the training of a non-convex model carries no (ε, δ) claim")
            else:
                claim = (f"({_fmt(self.epsilon)}, {self.delta:.3g})-differential privacy for any one training row"
                         f"{order}")
            noise = f"at noise {self.noise:.4g}" if self.noise > 0 else "without noise"
            return (f"{before}: {claim}; each unlearning request will be certified against the target {target}; "
                    f"{self.steps} training steps {noise}")
        status = "satisfied" if self.satisfied else "NOT satisfied"
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
            ("satisfied", "not applicable before a request" if self.method in _BEFORE_REQUESTS and self.requests == 0
             else "yes" if self.satisfied else "no"),
            ("method", f"{self.method} — {self.reference}"),
            ("neighbouring relation", self.neighbouring),
            ("noise, steps", f"{self.noise:.4g}, {self.steps}"),
            ("forgotten", f"{self.rows_forgotten} rows in {self.requests} requests"),
        ]
        rows += [(f"constant {k}", f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in self.constants.items()]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        caption = "UnlearningCertificate"
        if self.method in _BEFORE_REQUESTS and self.requests == 0:
            caption += f" — {_BEFORE_REQUESTS[self.method]}"
        return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def _decoded(value):
    """Nested copy with the strings "inf", "-inf", "nan" back to floats."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, Mapping):
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decoded(v) for v in value]
    return value


def _thawed(value):
    """Plain dicts and lists from the read-only copies."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thawed(v) for v in value]
    return value


def _matches(claimed, actual, rtol):
    if isinstance(claimed, Mapping) and isinstance(actual, Mapping):
        return set(claimed) == set(actual) and all(_matches(claimed[k], actual[k], rtol) for k in claimed)
    if isinstance(claimed, (list, tuple)) and isinstance(actual, (list, tuple)):
        return len(claimed) == len(actual) and all(_matches(a, b, rtol) for a, b in zip(claimed, actual))
    if isinstance(claimed, float) or isinstance(actual, float):
        if claimed is None or actual is None:
            return claimed is actual
        return math.isclose(float(claimed), float(actual), rel_tol=rtol, abs_tol=0.0) or claimed == actual
    return claimed == actual


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4g}"


def _from_dict(data):
    return UnlearningCertificate.from_dict(data)
