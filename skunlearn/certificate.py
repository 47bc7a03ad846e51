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
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._history import FrozenHistory, _history_from_dicts, frozen  # noqa: F401 (old pickles name them here)

__all__ = ["CertificateVerificationError", "ReplayData", "UnlearningCertificate", "parameter_hash"]


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



#: The released parameter attributes, by the record's ledger, in the order :func:`parameter_hash` reads them.
_PARAMETER_ATTRIBUTES = {"strongly-convex": ("coef_", "intercept_"), "post-processing": ("coefs_", "intercepts_")}

_HASH_PREFIX = "sha256:"


def parameter_hash(parameters: Mapping[str, ArrayLike | Sequence[ArrayLike]]) -> str:
    """SHA-256 fingerprint of a model's released parameter arrays, as certificates record it.

    Canonical form: the names in sorted order; each value an array or a list
    of arrays (``coefs_``); every array as little-endian float64 in C order,
    preceded by its name, position and shape. One bit changed in any
    parameter (a sign of zero included) changes the hash.

    Parameters
    ----------
    parameters : mapping of str to array-like or list of array-like
        For example ``{"coef_": model.coef_, "intercept_": model.intercept_}``
        (NoisyLogisticRegression) or ``{"coefs_": model.coefs_,
        "intercepts_": model.intercepts_}`` (NoisyMLPClassifier).

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hexadecimal digits.

    Examples
    --------
    >>> import numpy as np
    >>> a = parameter_hash({"coef_": np.array([[1.0, 2.0]]), "intercept_": np.array([0.5])})
    >>> a.startswith("sha256:") and len(a) == 71
    True
    >>> a == parameter_hash({"coef_": np.array([[1.0, np.nextafter(2.0, 3.0)]]), "intercept_": np.array([0.5])})
    False
    """
    digest = hashlib.sha256(b"skunlearn parameters v1\0")
    for name in sorted(parameters):
        value = parameters[name]
        arrays = list(value) if isinstance(value, (list, tuple)) else [value]
        digest.update(f"{name}\0{len(arrays)}\0".encode())
        for position, array in enumerate(arrays):
            canonical = np.ascontiguousarray(np.asarray(array), dtype="<f8")
            digest.update(f"{position}\0{canonical.shape}\0".encode())
            digest.update(canonical.tobytes())
    return _HASH_PREFIX + digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class ReplayData:
    """What a replay audit needs to rerun a model's fit and every request (:meth:`UnlearningCertificate.verify`).

    Parameters
    ----------
    X, y : array-like
        The whole training data given to ``fit``, forgotten rows included,
        in the same order (the audit reruns the training bit for bit).
    sample_weight : array-like or None, default=None
        The ``sample_weight`` given to ``fit``.
    requests : sequence of array-like of int, or None, default=None
        The rows each request forgot, as positions in ``X``, one entry per
        request of the certificate's history. None derives them: from the
        record's forgotten batch slots for NoisyLogisticRegression (its record
        holds the slot of every forgotten row, in request order), from the
        model's ``removed_indices_`` for a NoisyMLPClassifier with one request.
        The MLP's record holds only counts, so with more than one request the
        rows of each must be given.
    noise_key : int or None, default=None
        The noise generator's key. None derives it from the estimator's
        ``random_state`` (an int); a fit with ``random_state=None`` drew it
        from the operating system, and only its owner can hand it over (see
        :meth:`secrets_of`).
    slot_order : array-like of int or None, default=None
        The batch order: row ``slot_order[s]`` sat in slot s. Derived from an
        int ``random_state`` when None.
    estimator : estimator or None, default=None
        An unfitted estimator with the hyper-parameters the model was fitted
        with; None clones the model (its current ``get_params()``). Needed to
        replay a :class:`~skunlearn.CertifiedPredictor`, which keeps no
        hyper-parameters.

    Notes
    -----
    Handing the noise key to an auditor hands over the noise: the guarantee
    then no longer holds against that auditor (who holds the data anyway).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn import NoisyLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([3])
    >>> model.certificate_.verify(model, replay=ReplayData(X, y)) is model.certificate_
    True
    """

    X: Any
    y: Any
    sample_weight: Any = None
    requests: Sequence[Any] | None = None
    noise_key: int | None = None
    slot_order: Any = None
    estimator: Any = None

    @classmethod
    def secrets_of(cls, model: Any, X: ArrayLike, y: ArrayLike, *, sample_weight: ArrayLike | None = None,
                   requests: Sequence[ArrayLike] | None = None) -> ReplayData:
        """Replay data with the noise key and batch order that ``model`` (a fitted estimator) drew.

        For a model fitted with ``random_state=None``: its owner hands these
        secrets to an auditor. A NoisyMLPClassifier fitted that way also drew
        its initial weights from the operating system, which it does not
        keep: it cannot be replayed.

        Parameters
        ----------
        model : NoisyLogisticRegression or NoisyMLPClassifier
            Fitted.
        X, y, sample_weight, requests
            As in :class:`ReplayData`.

        Returns
        -------
        ReplayData
        """
        state = model._published()
        return cls(X, y, sample_weight=sample_weight, requests=requests, noise_key=int(state.noise_key),
                   slot_order=np.argsort(state.slot_of, kind="stable"))

#: What a certificate issued by ``fit`` (before any request) says, by method.
_BEFORE_REQUESTS = {
    "pnsgd-learning-dp": "the training's own DP guarantee, before any request",
    "pnsgd-training": "no guarantee before a request",
    "mlp-training": "no guarantee before a request",
}


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
        The neighbouring relation certified, and the reference procedure the
        model is compared with, stated exactly: for the unlearning
        certificates, a retrain on D' (the retained rows) with the same n
        slots, the forgotten slots at zero weight, so n and the slot positions
        are public.
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
    parameter_hash : str, default=""
        :func:`parameter_hash` of the parameters released with this
        certificate (``coef_``, ``intercept_`` or ``coefs_``,
        ``intercepts_``), set by the estimator each time it replaces
        ``certificate_``; ``verify(model)`` checks it. Empty for a
        certificate built by hand. Not part of equality: two certificates of
        one guarantee compare equal whatever models they are bound to (a dense
        and a sparse fit of the same rows agree to rounding only).

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
    parameter_hash: str = dataclasses.field(default="", compare=False)

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
        for name in ("method", "reference", "neighbouring", "arithmetic", "noise_secrecy", "parameter_hash"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"certificate field {name} must be a string, got {getattr(self, name)!r}")
        for name in ("constants", "record"):
            if not isinstance(getattr(self, name), Mapping):
                raise ValueError(f"certificate field {name} must be a mapping, got {getattr(self, name)!r}")
        if type(self.history) is not FrozenHistory and (isinstance(self.history, (str, bytes, Mapping)) or not all(
                isinstance(entry, Mapping) for entry in self.history)):
            raise ValueError("certificate field history must be a sequence of mappings")
        set_("constants", frozen(self.constants))
        set_("history", frozen(self.history))
        set_("record", frozen(self.record))
        if self.parameter_hash and not (self.parameter_hash.startswith(_HASH_PREFIX) and len(self.parameter_hash) == 71
                                        and all(c in "0123456789abcdef" for c in self.parameter_hash[7:])):
            raise ValueError(f"certificate field parameter_hash must be 'sha256:' and 64 hexadecimal digits, got "
                             f"{self.parameter_hash!r}")

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

    def verify(self, model: Any = None, *, replay: ReplayData | None = None,
               rtol: float = 1e-9) -> UnlearningCertificate:
        """Check the certificate: against its own record, against a model, and by replaying the training.

        Three levels, each adding to the one before.

        **Record** (always). Rebuilds the accounting state from :attr:`record`
        and :attr:`history`, then

        * recomputes every constant the record determines and rejects a
          record that disagrees: M and L are those of the loss (binary
          logistic for one output row, softmax otherwise) on rows of norm ≤
          ``data_norm``, scaled by W when weighted; ``η ≤ 2 / (L + 2λ)`` with
          that L; the noise is 0 or at least the noise floor
          (:func:`skunlearn.accounting.minimum_step_noise`); the steps run
          are the training epochs plus every request's epochs of
          ``ceil(n / b)`` steps; radii, counts and sizes are in range;
        * replays every request with the accountant (the forgotten slots and
          the step each was forgotten at) and checks that each request ran no
          more noisy epochs than the target needed: ``unlearn`` and
          ``partial_unlearn`` stop at the first epoch that meets it;
        * recomputes ε, δ, the Rényi order and value, every past claim of the
          history, the constants and the other fields, and compares.

        It proves that the claims are what the library's accountant computes
        for the record's parameters, and that those parameters are consistent
        with one another. It does not prove that the record describes any
        real run: the free parameters (the noise σ above its floor, the radius
        R, λ, D, the targets, n and b) are only range-checked. A forger who
        multiplies σ by 10 and recomputes the claims is caught when a request
        then looks as if it ran more epochs than it needed (with the default
        ``unlearning_epochs=3`` it does), not if the forger also rewrites the
        epoch counts and steps, nor for a certificate issued by ``fit`` before
        any request.

        **Model** (``model`` given: the fitted estimator, or its
        :class:`~skunlearn.CertifiedPredictor`). Checks :attr:`parameter_hash`
        against :func:`parameter_hash` of the model's released parameters
        (``coef_`` and ``intercept_``, or ``coefs_`` and ``intercepts_``) and
        of the parameters it predicts with, bit for bit; then checks the
        record against the model's own fitted attributes: the noise
        (``noise_`` or ``unlearning_noise_``), η (``step_size_``), R
        (``radius_``), λ (``alpha_``), δ (``delta_``), the training epochs
        (``n_iter_``) and the shapes (class and feature counts, parameter
        count), and D (the row norm the model scales its inputs to). It
        proves that this certificate was issued for exactly these
        parameters and that its record uses the model's noise and constants:
        a record with σ × 10 fails here whatever else was rewritten. It does
        not prove that the parameters were trained as recorded (a forger who
        controls the model object can write its attributes too), nor that the
        data were the ones claimed.

        **Replay** (``replay`` given, with ``model``). Refits a clone of the
        model's estimator (or ``replay.estimator``) on ``replay.X, replay.y``
        with the same batch order and noise key, reruns every recorded request
        (each as ``partial_unlearn(rows, max_epochs=e)`` with e the epochs it
        recorded, which reproduces ``unlearn`` and any split of
        ``partial_unlearn`` calls exactly), and requires the resulting
        certificate to equal this one field by field, the parameter hash
        included. Results do not depend on the thread count, so the match is
        bit for bit. It proves that these parameters and this certificate are
        what the library computes from that data, that key and these
        requests: every field of the record, the noise included, is then the
        real one. It does not prove that the data given are the data really
        used by whoever released the model (only that they reproduce it), nor
        anything about the library's own soundness (the accounting theorems and
        their implementation).

        Parameters
        ----------
        model : estimator or CertifiedPredictor, optional
            The released model the certificate should describe.
        replay : ReplayData, optional
            The training data (and, when not derivable from ``random_state``,
            the noise key and batch order) to rerun. Needs ``model``.
        rtol : float, default=1e-9
            Relative tolerance on the recomputed numbers (the replay and the
            parameter hash are compared exactly).

        Returns
        -------
        self
            When every check passes.

        Raises
        ------
        CertificateVerificationError
            Naming the first field that fails: a record that is missing or
            inconsistent, a claim that differs from the recomputation, a model
            whose parameters or attributes differ, or a replay that does not
            reproduce the certificate.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(random_state=0).fit(X, y).unlearn([3])
        >>> model.certificate_.verify() is model.certificate_
        True
        >>> model.certificate_.verify(model) is model.certificate_
        True
        >>> model.certificate_.verify(model, replay=ReplayData(X, y)) is model.certificate_
        True
        """
        from ._ledgers import RecordInconsistency, ledger_from_record

        if not self.record:
            raise CertificateVerificationError("the certificate has no record to recompute it from")
        if replay is not None and model is None:
            raise CertificateVerificationError("a replay checks a model: pass verify(model, replay=...)")
        try:
            ledger = ledger_from_record(_thawed(self.record), _thawed(self.history))
            problems = ledger.derived_mismatches(rtol)
            if problems:
                raise CertificateVerificationError("; ".join(
                    f"record field {name} is inconsistent: {message}" for name, message in problems))
            replayed = ledger.replayed()
        except RecordInconsistency as error:
            raise CertificateVerificationError(f"certificate field {error}") from error
        except (TypeError, ValueError, KeyError) as error:
            if isinstance(error, CertificateVerificationError):
                raise
            raise CertificateVerificationError(f"the record does not describe a valid state: {error}") from error
        if not _matches(_thawed(self.record), replayed.record(), rtol):
            raise CertificateVerificationError("the record's state is not the one its history of requests leads to")
        recomputed = UnlearningCertificate(**replayed.certificate_fields(self.noise_secrecy))
        for name in ("epsilon", "delta", "target_epsilon", "target_delta", "order", "renyi_divergence", "noise",
                     "steps", "rows_forgotten", "requests", "method", "reference", "neighbouring", "constants",
                     "history", "arithmetic"):
            claimed, actual = getattr(self, name), getattr(recomputed, name)
            if not _matches(claimed, actual, rtol):
                raise CertificateVerificationError(
                    f"certificate field {name} claims {claimed!r} but its record recomputes to {actual!r}")
        if model is not None:
            self._verify_model(model)
        if replay is not None:
            self._verify_replay(model, replay)
        return self

    def _verify_model(self, model):
        """Level 2 of :meth:`verify`: the parameter hash and the record against the model's fitted attributes."""
        kind = self.record.get("ledger")
        if not self.parameter_hash:
            raise CertificateVerificationError("certificate field parameter_hash is empty: the certificate is not "
                                               "bound to any model")
        names = _PARAMETER_ATTRIBUTES[kind]
        try:
            released = {name: getattr(model, name) for name in names}
        except AttributeError as error:
            raise CertificateVerificationError(f"the model has no {' / '.join(names)}: {error}") from error
        actual = parameter_hash(released)
        if actual != self.parameter_hash:
            raise CertificateVerificationError(
                f"certificate field parameter_hash is {self.parameter_hash}, but the model's {' and '.join(names)} "
                f"hash to {actual}: these are not the parameters the certificate was issued for")
        predicting = _prediction_parameters(model)
        if predicting is not None and parameter_hash(predicting) != actual:
            raise CertificateVerificationError(
                f"certificate field parameter_hash: the parameters the model holds (it predicts with them or "
                f"trains on from them) differ from its {' and '.join(names)}")
        record = self.record
        if kind == "strongly-convex":
            fields = (("noise_", "noise_std", "noise"), ("step_size_", "step_size", "step_size (eta)"),
                      ("radius_", "radius", "radius (R)"), ("alpha_", "strong_convexity", "strong_convexity (m)"),
                      ("delta_", "target_delta", "target_delta"), ("n_iter_", "train_epochs", "train_epochs (T)"))
            coef = np.shape(released["coef_"])
            n_classes = len(getattr(model, "classes_", ()))
            shapes = [("n_outputs", record["n_outputs"], 1 if n_classes == 2 else n_classes, "classes_"),
                      ("n_features", record["n_features"], coef[-1] + 1 if coef else None, "coef_ columns + 1"),
                      ("n_outputs", record["n_outputs"], coef[0] if coef else None, "coef_ rows")]
        else:
            fields = (("unlearning_noise_", "noise_std", "noise"), ("delta_", "target_delta", "target_delta"))
            size = sum(np.size(array) for name in names for array in released[name])
            n_iter = getattr(model, "n_iter_", None)
            shapes = [("n_params", record["n_params"], size, "the size of coefs_ and intercepts_"),
                      ("training_steps", record["training_steps"],
                       None if n_iter is None else int(n_iter) * int(record["steps_per_epoch"]),
                       "n_iter_ epochs of steps_per_epoch steps")]
        for attribute, name, label in fields:
            if not hasattr(model, attribute):
                raise CertificateVerificationError(f"the model has no {attribute} to check {label} against")
            value = getattr(model, attribute)
            if float(value) != float(record[name]):
                raise CertificateVerificationError(
                    f"certificate field {label}: the record says {record[name]!r}, the model's {attribute} is "
                    f"{value!r}")
        _, state = _published_state(model)
        if kind == "strongly-convex" and state is not None and "data_norm" in state.config:
            # The row scaling applied at predict time: part of the released prediction function.
            if float(state.config["data_norm"]) != float(record["data_norm"]):
                raise CertificateVerificationError(
                    f"certificate field data_norm (D): the record says {record['data_norm']!r}, the model scales "
                    f"rows to {state.config['data_norm']!r}")
        for name, recorded, derived, source in shapes:
            if derived is None or int(recorded) != int(derived):
                raise CertificateVerificationError(
                    f"certificate field {name}: the record says {recorded!r}, the model's {source} give {derived!r}")

    def _verify_replay(self, model, replay):
        """Level 3 of :meth:`verify`: refit, rerun every request, and compare everything."""
        import warnings

        from sklearn.base import clone

        if not isinstance(replay, ReplayData):
            raise TypeError(f"replay must be a ReplayData, got {type(replay).__name__}")
        if replay.estimator is not None:
            estimator = clone(replay.estimator)
        elif hasattr(model, "get_params") and hasattr(model, "_fit"):
            estimator = clone(model)
        else:
            raise CertificateVerificationError(
                f"a {type(model).__name__} keeps no hyper-parameters to refit with: pass "
                "ReplayData(..., estimator=<the unfitted estimator>)")
        seed = estimator.get_params().get("random_state")
        if replay.noise_key is None and not isinstance(seed, Integral):
            raise CertificateVerificationError(
                f"random_state={seed!r} does not determine the noise key: pass ReplayData(noise_key=..., "
                "slot_order=...) (ReplayData.secrets_of(model, X, y) reads them from the fitted estimator)")
        if replay.slot_order is None and not isinstance(seed, Integral):
            raise CertificateVerificationError(f"random_state={seed!r} does not determine the batch order: pass "
                                               "ReplayData(slot_order=...)")
        if self.record.get("ledger") == "post-processing" and not isinstance(seed, Integral):
            raise CertificateVerificationError(
                "a NoisyMLPClassifier fitted without an int random_state drew its initial weights from the "
                "operating system and does not keep them: it cannot be replayed")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the fit's own warnings were given when it ran
            try:
                if replay.noise_key is None and replay.slot_order is None:
                    estimator.fit(replay.X, replay.y, sample_weight=replay.sample_weight)
                else:
                    estimator._validate_params()  # what fit's decorator does before the fit
                    estimator._fit(replay.X, replay.y, sample_weight=replay.sample_weight,
                                   slot_order=replay.slot_order, noise_key=replay.noise_key)
                requests = self._replay_requests(model, estimator, replay)
                for rows, entry in zip(requests, self.history):
                    estimator.partial_unlearn(positions=rows, max_epochs=int(entry["epochs"]))
            except (TypeError, ValueError) as error:
                raise CertificateVerificationError(f"the replay failed: {error}") from error
        rerun = estimator.certificate_
        for field in dataclasses.fields(self):
            claimed, actual = getattr(self, field.name), getattr(rerun, field.name)
            if claimed != actual:
                raise CertificateVerificationError(
                    f"certificate field {field.name}: the replay gives {actual!r}, the certificate claims "
                    f"{claimed!r}" + (" (the data, the noise key or the requests differ from the run that issued "
                                      "it)" if field.name == "parameter_hash" else ""))

    def _replay_requests(self, model, estimator, replay):
        """The rows of every recorded request, as positions in the training data."""
        if replay.requests is not None:
            requests = [np.asarray(rows, dtype=np.int64).ravel() for rows in replay.requests]
        elif self.record.get("ledger") == "strongly-convex":
            order = np.argsort(estimator._slot_of, kind="stable")  # slot -> training row of the replayed fit
            slots = np.asarray(self.record["removed_slots"], dtype=np.int64)
            if slots.size and (slots.min() < 0 or slots.max() >= order.size):
                raise CertificateVerificationError("certificate field record.removed_slots: a slot is out of range")
            bounds = np.cumsum([0] + [int(entry["rows"]) for entry in self.history])
            requests = [order[slots[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]
        elif len(self.history) <= 1 and hasattr(model, "removed_indices_"):
            requests = [np.asarray(model.removed_indices_, dtype=np.int64)] if self.history else []
        else:
            raise CertificateVerificationError(
                "the record holds only the number of rows each request forgot: pass ReplayData(requests=[rows of "
                "request 1, rows of request 2, ...])")
        if len(requests) != len(self.history) or any(
                rows.size != int(entry["rows"]) for rows, entry in zip(requests, self.history)):
            raise CertificateVerificationError(
                f"certificate field history: {len(self.history)} requests of "
                f"{[int(entry['rows']) for entry in self.history]} rows, but the replay was given "
                f"{[int(rows.size) for rows in requests]}")
        return requests

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
            f"{_plural(self.rows_forgotten, 'row')} in {_plural(self.requests, 'request')} forgotten, "
            f"{_plural(self.steps, 'noisy step')} at noise {self.noise:.4g}"
        )

    def epsilon_curve(self) -> list[tuple[int, float]]:
        """ε after each noisy epoch of every request, replayed from the record: ``[(epochs so far, ε), ...]``.

        The epochs are counted from the first request (noise-free fine-tuning,
        which does not change the bound, is not counted). Empty before any
        request.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(max_iter=5, random_state=0).fit(X, y).unlearn([0])
        >>> curve = model.certificate_.epsilon_curve()
        >>> curve[-1][1] == model.certificate_.epsilon and curve[-1][0] == model.certificate_.history[-1]["epochs"]
        True
        """
        from ._ledgers import ledger_from_record

        if not self.history:
            return []
        ledger = ledger_from_record(self.record, self.history)
        total = sum(int(entry["epochs"]) + int(entry.get("finetune_epochs", 0)) for entry in self.history)
        state = ledger._before_requests(total)
        curve, taken, epochs_so_far = [], 0, 0
        for entry in self.history:
            rows, run = int(entry["rows"]), int(entry["epochs"])
            state = ledger._replay_request(state, taken, rows)
            taken += rows
            for epoch in range(1, run + 1):
                curve.append((epochs_so_far + epoch, float(state.advanced(epoch).guarantee()[0])))
            state = state.advanced(run)
            epochs_so_far += run
            if "finetune_epochs" in entry:
                state = state.post_processed(int(entry["finetune_epochs"]))
        return curve

    def plot(self, ax: Any = None) -> Any:
        """ε against the noisy epochs since the first request, with the target and each request marked.

        Needs matplotlib (the ``plot`` extra). Returns the axes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(max_iter=5, random_state=0).fit(X, y).unlearn([0]).unlearn([1])
        >>> ax = model.certificate_.plot()
        >>> ax.get_ylabel()
        'epsilon'
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        curve = self.epsilon_curve()
        if curve:
            epochs, epsilons = zip(*curve)
            ax.plot(epochs, epsilons, marker="o", label="certified epsilon")
            ax.set_yscale("log")
        start = 0
        for number, entry in enumerate(self.history, start=1):
            ax.axvline(start + 0.5, color="0.8", linewidth=1, zorder=0)
            ax.annotate(f"request {number}: {entry['rows']} row{'s' if entry['rows'] != 1 else ''}",
                        (start + 0.6, 1.0), xycoords=("data", "axes fraction"), va="top", fontsize=8)
            start += int(entry["epochs"])
        ax.axhline(self.target_epsilon, color="tab:red", linestyle="--", label="target")
        ax.set_xlabel("noisy epochs since the first request")
        ax.set_ylabel("epsilon")
        ax.legend(loc="upper right", fontsize=8)
        return ax

    def _repr_html_(self) -> str:
        rows = [
            ("certified (ε, δ)", f"({_fmt(self.epsilon)}, {self.delta:.3g})"),
            ("target (ε, δ)", f"({_fmt(self.target_epsilon)}, {self.target_delta:.3g})"),
            ("satisfied", "not applicable before a request" if self.method in _BEFORE_REQUESTS and self.requests == 0
             else "yes" if self.satisfied else "no"),
            ("method", f"{self.method} — {self.reference}"),
            ("neighbouring relation", self.neighbouring),
            ("noise, steps", f"{self.noise:.4g}, {self.steps}"),
            ("forgotten", f"{_plural(self.rows_forgotten, 'row')} in {_plural(self.requests, 'request')}"),
        ]
        rows += [(f"constant {k}", f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in self.constants.items()]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        caption = "UnlearningCertificate"
        if self.method in _BEFORE_REQUESTS and self.requests == 0:
            caption += f" — {_BEFORE_REQUESTS[self.method]}"
        return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def _published_state(model):
    """(estimator, published state) of an estimator or of a CertifiedPredictor's shell; (model, None) otherwise."""
    holder = getattr(model, "__dict__", {}).get("_estimator", model)  # a CertifiedPredictor's shell
    return holder, getattr(holder, "__dict__", {}).get("_state")


def _prediction_parameters(model):
    """The parameter attributes rebuilt from the arrays the model predicts with, or None when it keeps none."""
    holder, state = _published_state(model)
    if state is None or not hasattr(holder, "_parameter_attributes"):
        return None
    return holder._parameter_attributes(state.params, state.config)


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


def _plural(number, noun):
    """``"1 row"``, ``"2 rows"``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4g}"


def _from_dict(data):
    return UnlearningCertificate.from_dict(data)
