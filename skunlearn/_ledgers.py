"""Accounting state of the estimators: immutable ledgers that turn a history into a certificate.

A ledger holds what the bound needs — constants, steps run, a compact summary
of the forgotten rows — and returns a new ledger at every change, so a failed
request cannot leave a half-updated one behind. Its :meth:`record` is written
into every certificate, and :func:`ledger_from_record` rebuilds it, so
:meth:`skunlearn.UnlearningCertificate.verify` can replay the requests.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading

import numpy as np

from . import accounting
from ._constants import cyclic_batch_bounds, logistic_constants, step_tasks
from ._history import FrozenHistory

__all__ = ["PostProcessingLedger", "RecordInconsistency", "StronglyConvexLedger", "ledger_from_record"]


class RecordInconsistency(ValueError):
    """A record field disagrees with what the rest of the record (or the library's protocol) implies.

    ``field`` names the certificate or record field at fault, so
    :meth:`skunlearn.UnlearningCertificate.verify` can say which.
    """

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


def _close(recorded, derived, rtol):
    return math.isclose(float(recorded), float(derived), rel_tol=rtol, abs_tol=0.0)


def _positive_finite(ledger, names):
    return [(name, f"must be a finite number > 0, got {getattr(ledger, name)!r}") for name in names
            if not (isinstance(getattr(ledger, name), (int, float)) and not isinstance(getattr(ledger, name), bool)
                    and math.isfinite(getattr(ledger, name)) and getattr(ledger, name) > 0)]


#: Cached derived values (functools.cached_property) that a change of the history alone, or noise-free
#: post-processing, leaves as they are: carried over so that a request computes its bound once.
_CARRIED_CACHES = ("_rdp_coefficient", "_epsilon", "conversion_delta", "certified_target_epsilon", "rounding_shift",
                   "noise_grid", "kernel_noise_scale", "_gradient_clipping_rho")


def _carry_caches(old, new):
    """``new`` with ``old``'s cached derived values (only where they cannot differ: see the callers)."""
    for name in _CARRIED_CACHES:
        if name in old.__dict__:
            new.__dict__[name] = old.__dict__[name]
    return new


class _Ledger:
    """What every ledger offers the request handling of :class:`UnlearningMixin`.

    Subclasses are frozen dataclasses with ``target_epsilon``, ``target_delta``,
    ``noise_std`` and ``history`` fields, name their ``KIND`` (the record's
    ``"ledger"`` entry), and implement ``guarantee``, ``with_removed``,
    ``advanced``, ``fit_certificate_fields`` (before any request) and
    ``unlearning_certificate_fields``.
    """

    KIND = ""

    def calibrated_noise(self, unlearning_epochs):
        """The calibrated σ for a budget of ``unlearning_epochs`` (the subclass's ``_calibrate``), computed once.

        Memoised on the ledger (the budget "auto" and fit ask for the same
        one) and in the process (:class:`_CalibrationCache`: every fit with
        the same public settings asks the same question).
        """
        memo = self.__dict__.setdefault("_calibrated", {})
        if unlearning_epochs not in memo:
            memo[unlearning_epochs] = _CALIBRATIONS.get((self, int(unlearning_epochs)),
                                                        lambda key: self._calibrate(key[1]))
        return memo[unlearning_epochs]

    def record(self):
        """Every field but the history: what :func:`ledger_from_record` needs to recompute the certificate."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "history"}
        return {"ledger": self.KIND, **data}

    def certificate_fields(self, noise_secrecy, parameter_hash=""):
        """The fields of this state's :class:`skunlearn.UnlearningCertificate`: the fit's own before any request,
        else the unlearning one.

        ``parameter_hash`` (:func:`skunlearn.certificate.parameter_hash` of the
        released parameters) binds it to the model; the record does not hold
        it (it cannot be recomputed from the accounting alone).
        """
        if not self.history:
            return self.fit_certificate_fields(noise_secrecy, parameter_hash)
        return self.unlearning_certificate_fields(noise_secrecy, parameter_hash)

    def derived_mismatches(self, rtol=1e-9):
        """``(field, message)`` for every record field that disagrees with what the other fields derive.

        Checks what the record alone determines (the loss constants, the
        step-size condition, the noise floor, the step counts); free
        parameters (the noise above its floor, the radius, the targets) are
        checked by :meth:`replayed` (the epochs each request ran) and, against
        a model or a replay, by :meth:`skunlearn.UnlearningCertificate.verify`.
        """
        raise NotImplementedError

    def guarantee(self):
        """The (ε, δ) certified in the current state."""
        raise NotImplementedError

    # The grid sampler's failures (skunlearn.accounting.floating_point, "The float output law"). Each ledger
    # says how many normals the certified run draws (_draws) and at which σ' = s / Λ (_noise_ratio).

    def _failure_delta(self, epsilon):
        """What the grid sampler's failures add to δ at ε (:func:`skunlearn.accounting.grid_failure_delta`)."""
        if self.noise_std == 0 or not math.isfinite(epsilon):  # an infinite ε claims nothing
            return 0.0
        return accounting.grid_failure_delta(epsilon, self._draws, self._noise_ratio)

    @functools.cached_property
    def certified_target_epsilon(self):
        """The ε the state aims for: the target, or less where the failures' share ``∝ e^ε`` would exceed δ / 4.

        A smaller ε than the target is a stronger claim, so a large target
        (beyond about 10–20, by the number of draws) is met with ε at the cap
        (:func:`skunlearn.accounting.failure_epsilon_cap`) instead of never.
        """
        if self.noise_std == 0:
            return self.target_epsilon
        return min(self.target_epsilon,
                   accounting.failure_epsilon_cap(self.target_delta, self._draws, self._noise_ratio))

    @functools.cached_property
    def conversion_delta(self):
        """The δ at which a Rényi bound is converted: the target less the failures' share at the aimed ε.

        Shrunk by 2⁻⁵⁰ relative, so that its sum with that share cannot round above the target.
        """
        return (self.target_delta - self._failure_delta(self.certified_target_epsilon)) * (1.0 - 2.0**-50)

    def guarantee_at(self, epsilon):
        """The δ that goes with ε: the conversion's plus the failures' share (the target when ε meets its aim)."""
        return _charged_delta(self.conversion_delta, self._failure_delta(epsilon), self.target_delta,
                              epsilon <= self.certified_target_epsilon)

    def with_history(self, history):
        """The same state with ``history`` (one entry per request); entries are frozen once, here."""
        history = tuple(history)
        kept = 0  # the longest prefix shared with the current history, whose entries are frozen already
        while kept < min(len(history), len(self.history)) and history[kept] is self.history[kept]:
            kept += 1
        if kept == len(self.history) and type(self.history) is FrozenHistory:
            return _carry_caches(self, dataclasses.replace(self, history=self.history.extended(history[kept:])))
        return _carry_caches(self, dataclasses.replace(self, history=FrozenHistory().extended(history)))

    def replayed(self):
        """This state recomputed request by request from the state before the first one.

        Each history entry (rows forgotten, epochs run, the (ε, δ) then) is
        replayed with :meth:`with_removed` and :meth:`advanced`; the returned
        ledger carries the recomputed history, so comparing it with this one
        checks every past claim and the consistency of the record.

        Raises
        ------
        ValueError
            When the record and the history cannot describe one run.
        """
        epochs = sum(int(entry["epochs"]) + int(entry.get("finetune_epochs", 0)) for entry in self.history)
        state = self._before_requests(epochs)
        history, taken = [], 0
        for number, entry in enumerate(self.history, start=1):
            rows, run, quiet = int(entry["rows"]), int(entry["epochs"]), int(entry.get("finetune_epochs", 0))
            if rows < 1 or run < 0 or quiet < 0:
                raise RecordInconsistency("history", f"request {number} has rows={rows}, epochs={run}, "
                                                     f"finetune_epochs={quiet}")
            state = self._replay_request(state, taken, rows)
            if run >= 1 and state.advanced(run - 1).meets_target():
                # unlearn and partial_unlearn stop at the first epoch that meets the target (the guarantee
                # never weakens with more epochs), so a request that ran past it was not run at this noise.
                raise RecordInconsistency(
                    "noise", f"the record's noise {self.noise_std!r} meets the target after {run - 1} of the "
                             f"{run} noisy epochs request {number} ran, but a request stops at the first epoch "
                             "that meets the target: the epochs were run with other noise or constants")
            state = state.advanced(run)
            taken += rows
            if "finetune_epochs" in entry:  # the entry's (ε, δ) is read after the fine-tuning, as in the request
                state = state.post_processed(quiet)
            epsilon, delta = state.guarantee()
            replayed = {"rows": rows, "epochs": run, "epsilon": epsilon, "delta": delta}
            if "finetune_epochs" in entry:
                replayed["finetune_epochs"] = quiet
            history.append(replayed)
        return state.with_history(history)

    def meets_target(self):
        epsilon, delta = self.guarantee()
        return epsilon <= self.target_epsilon and delta <= self.target_delta

    def epochs_to_target(self, max_epochs, minimum):
        """Fewest epochs (≥ ``minimum``) after which the target is met, or None past ``max_epochs``.

        The guarantee never weakens with more noisy epochs, so
        :func:`skunlearn.accounting.calibrate_steps` finds the first epoch
        count whose ε and δ are both within the target (their larger ratio to
        the target at most 1).
        """
        def excess(epochs):
            epsilon, delta = self.advanced(epochs).guarantee()
            return max(epsilon / self.target_epsilon, delta / self.target_delta)

        try:
            return accounting.calibrate_steps(excess, 1.0, max_steps=max(max_epochs, minimum), min_steps=minimum)
        except accounting.CalibrationError:
            return None


class _CalibrationCache:
    """The calibrated σ of recent ledgers, shared by every estimator in the process (least recently used out).

    A calibration is a function of the ledger's fields alone (public
    quantities: n, b, the constants, the targets), so every fit with the
    same settings asks the same question: the trials of an audit, the refits
    of a grid search, a pipeline fitted twice. It costs tens of
    milliseconds (several root searches of the accounting), most of a small
    fit. Keyed by the ledger itself (a frozen dataclass: equal fields, equal
    key) and the epochs.
    """

    def __init__(self, size=256):
        self._size = size
        self._values = {}
        self._lock = threading.Lock()

    def get(self, key, compute):
        with self._lock:
            if key in self._values:
                self._values[key] = self._values.pop(key)  # most recent last
                return self._values[key]
        value = compute(key)  # outside the lock: two threads may both compute it, and agree
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                del self._values[next(iter(self._values))]
        return value

    def clear(self):
        with self._lock:
            self._values.clear()


_CALIBRATIONS = _CalibrationCache()


@dataclasses.dataclass(frozen=True)
class StronglyConvexLedger(_Ledger):
    """Accounting state of projected noisy SGD on a strongly convex loss.

    Immutable: every change returns a new ledger, so a failed request cannot
    leave a half-updated one behind. ``bound="coupled"`` is the default bound
    derived in :mod:`skunlearn.accounting.pnsgd`; ``bound="published"`` is the
    [PNSGD] form, which assumes the learning chain converged and treats a
    deletion as a replacement (for comparison with the paper only).

    Both charge the kernel's rounding: a shift of ``2e`` at every step, with e
    from :func:`skunlearn.accounting.logistic_step_rounding_error` for this
    problem's shape (``n_features`` columns with the intercept, ``n_outputs``
    rows, rows of norm ≤ ``data_norm``). Its fields are everything the bound
    needs, so :func:`ledger_from_record` rebuilds it from a certificate.

    Row weights (``sample_weight``, ``class_weight``) up to ``weight_bound``
    W enter through the constants: ``lipschitz`` and ``smoothness`` are those
    of the weighted per-row loss (W M and W L), so a forgotten row shifts a
    step by at most ``η W M / b``; ``weight_bound`` itself is the W of the
    rounding bound (None: weights 0 and 1 only).
    """

    KIND = "strongly-convex"

    step_size: float
    lipschitz: float
    smoothness: float
    strong_convexity: float
    radius: float
    noise_std: float
    n_slots: int
    batch_size: int
    train_epochs: int
    target_epsilon: float
    target_delta: float
    n_features: int
    n_outputs: int
    data_norm: float
    bound: str = "coupled"
    weight_bound: float | None = None
    steps_run: int = 0
    last_request_step: int = 0
    removed_slots: tuple = ()
    removed_at: tuple = ()
    removal_distance: float = 0.0
    published_distance: float = 0.0
    noisy_steps: int = 0
    private_training: bool = True
    noise_free_steps: int = 0
    history: tuple = ()

    # Derived quantities ------------------------------------------------------------

    @property
    def contraction(self):
        return accounting.step_contraction(self.step_size, self.smoothness, self.strong_convexity)

    @property
    def batch_bounds(self):
        return cyclic_batch_bounds(self.n_slots, self.batch_size)

    @property
    def n_batches(self):
        return math.ceil(self.n_slots / self.batch_size)

    @property
    def largest_batch_size(self):
        """The first batches' slot count: the rows split evenly, ``ceil(n / batches)`` (``cyclic_batch_bounds``)."""
        return -(-self.n_slots // self.n_batches)

    @property
    def last_batch_size(self):
        """The last (and smallest) batch's slot count, ``floor(n / batches)``."""
        return self.n_slots // self.n_batches

    @property
    def noise_scale(self):
        """Per-step noise standard deviation ``sqrt(2η) σ``."""
        return math.sqrt(2.0 * self.step_size) * self.noise_std

    @functools.cached_property
    def kernel_noise_scale(self):
        """The kernels' per-step noise s_f ≥ ``sqrt(2η) σ`` (:func:`skunlearn.accounting.kernel_noise_scale`)."""
        return accounting.kernel_noise_scale(self.step_size, self.noise_std)

    @functools.cached_property
    def noise_grid(self):
        """Λ of the noisy steps (0 without noise), from public bounds only (:func:`skunlearn.accounting.noise_grid`).

        A pre-noise coordinate is at most ``‖(1 − ηλ) θ − η g‖ ≤ R + η M``
        (the weighted M; the computed value exceeds it by the rounding bound,
        far below the 1 % margin taken).
        """
        if self.noise_std == 0:
            return 0.0
        scale = self.kernel_noise_scale
        return accounting.noise_grid(1.01 * (self.radius + self.step_size * self.lipschitz) + 21.0 * scale, scale)

    @functools.cached_property
    def rounding_shift(self):
        """``2e``: the rounding of both runs' steps, the noise grid's included, charged at every step."""
        return 2.0 * accounting.logistic_step_rounding_error(
            self.n_features, self.n_outputs, self.largest_batch_size, self.step_size, self.strong_convexity, self.radius,
            self.data_norm, self.noise_scale, softmax=self.n_outputs > 1, weight_bound=self.weight_bound,
            tasks=step_tasks(self.largest_batch_size), grid=self.noise_grid,
        )

    @property
    def _draws(self):
        """Normals the run has drawn: every noisy step draws p."""
        return (self.steps_run - self.noise_free_steps) * self.n_features * self.n_outputs

    @property
    def _noise_ratio(self):
        """σ' = s_f / Λ of the grid sampler."""
        return self.kernel_noise_scale / self.noise_grid

    def minimum_noise(self):
        """Smallest σ whose per-step noise is ``NOISE_FLOOR_ULPS`` ulps of the largest parameter (R)."""
        return accounting.minimum_step_noise(self.radius) / math.sqrt(2.0 * self.step_size)

    # Rényi bounds ------------------------------------------------------------------

    def rdp_coefficient(self):
        """ρ of the current state: ``ε_α ≤ α ρ`` against retraining without the removed rows."""
        return self._rdp_coefficient

    @functools.cached_property
    def _rdp_coefficient(self):
        # Cached: the certificate, its history entry and the epoch search all read it, and each
        # evaluation runs the PABI minorant over every removal event.
        if not self.removed_slots:
            return 0.0
        if self.noise_std == 0:
            return math.inf
        contraction = self.contraction
        if self.bound == "published":
            epochs_since = self.noisy_steps / self.n_batches
            curve = accounting.published_pnsgd_rdp(
                self.published_distance, self.step_size, self.noise_std, contraction, self.n_slots,
                self.batch_size, epochs_since, per_step_shift=self.rounding_shift,
            )
            return float(curve(1.0))
        n_steps = self.noisy_steps
        if n_steps == 0:
            return math.inf  # no noisy step since the last request yet
        # Step 3 of the derivation up to the last request: the forgotten rows' contracted shifts (kept
        # as one number, see with_removed) plus the rounding of every step, capped at the diameter 2R;
        # then step 5 over the steps since, with the rounding shift at each of them.
        rounding = self.rounding_shift
        distance = min(self.removal_distance + accounting.coupled_distance(
            [], 0.0, self.last_request_step, contraction, per_step_shift=rounding), 2.0 * self.radius)
        return accounting.unlearning_rdp_coefficient(
            distance, contraction, 2.0 * self.step_size * self.noise_std**2, n_steps, per_step_shift=rounding)

    def learning_rdp_coefficient(self):
        """ρ of the training itself against datasets differing in one row ([FMTT] Thm 22)."""
        if self.noise_std == 0:
            return math.inf
        return accounting.learning_rdp_coefficient(
            self.train_epochs, self.n_batches, self.step_size, self.lipschitz, self.last_batch_size,
            self.contraction, self.noise_std, per_step_shift=self.rounding_shift,
        )

    def epsilon(self):
        """(ε, order) of the current state, converted at :attr:`conversion_delta`."""
        return self._epsilon

    @functools.cached_property
    def _epsilon(self):
        # Cached like ρ: a request reads it for the epoch search, the history entry and the certificate.
        return _to_dp(self.rdp_coefficient(), self.conversion_delta)

    def guarantee(self):
        """(ε, δ): δ is the conversion's plus the grid sampler's failures at that ε (the target when ε meets it)."""
        epsilon = self.epsilon()[0]
        return epsilon, self.guarantee_at(epsilon)

    # Transitions -------------------------------------------------------------------

    def with_removed(self, slots):
        """A ledger with a new request for ``slots``, registered at the current step.

        The forgotten rows enter the bound through one number: the sum of
        their shifts contracted to this step
        (:func:`skunlearn.accounting.cyclic_removal_distance`). Rows forgotten
        earlier are inert in both runs since, so their part only contracts;
        the cost of a request does not grow with the history.
        """
        slots = tuple(int(s) for s in slots)
        removal_distance = self.removal_distance
        if slots:
            bounds = self.batch_bounds
            batches = np.searchsorted(bounds, slots, side="right") - 1
            shifts = self.step_size * self.lipschitz / np.diff(bounds)[batches]
            removal_distance = (removal_distance * self.contraction ** (self.steps_run - self.last_request_step)
                                + accounting.cyclic_removal_distance(batches, shifts, bounds.size - 1,
                                                                     self.steps_run, self.contraction))
        distance = self.published_distance
        if self.bound == "published" and slots:
            epochs_since = (self.steps_run - self.last_request_step) / self.n_batches
            # The stationary distance of [PNSGD], plus the rounding gap the two chains accumulate,
            # 2e / (1 - c) (the stationary value of d <- c d + 2e).
            distance = (accounting.published_pnsgd_distance(
                self.step_size, self.lipschitz, self.batch_size, self.n_slots, self.contraction
            ) * len(slots) + self.rounding_shift / (1.0 - self.contraction)
                + distance * self.contraction ** (epochs_since * self.n_slots / self.batch_size))
        return dataclasses.replace(
            self,
            removed_slots=self.removed_slots + slots,
            removed_at=self.removed_at + (self.steps_run,) * len(slots),
            last_request_step=self.steps_run if slots else self.last_request_step,
            removal_distance=removal_distance,
            published_distance=distance,
            noisy_steps=0 if slots else self.noisy_steps,
        )

    def _before_requests(self, epochs_since):
        steps = self.train_epochs * self.n_batches
        return dataclasses.replace(self, steps_run=self.steps_run - epochs_since * self.n_batches,
                                   last_request_step=0, removed_slots=(), removed_at=(), removal_distance=0.0,
                                   published_distance=0.0, noisy_steps=steps if self.private_training else 0,
                                   noise_free_steps=0 if self.private_training else steps, history=())

    def _replay_request(self, state, first, rows):
        slots = self.removed_slots[first:first + rows]
        if len(slots) != rows or any(at != state.steps_run for at in self.removed_at[first:first + rows]):
            raise ValueError("the forgotten slots and their steps do not match the history")
        return state.with_removed(slots)

    def advanced(self, epochs, noisy=True):
        """The ledger after ``epochs`` more epochs, noisy unless ``noisy=False``.

        Noise-free epochs (training without noise, or fine-tuning on the
        retained rows once the target is met) contract the coupled distance but
        pay nothing: only the noisy steps since the last request enter ρ.
        """
        memo = self.__dict__.setdefault("_advanced", {})  # the epoch search and the request ask for the same one
        key = (int(epochs), bool(noisy))
        if key not in memo:
            steps = key[0] * self.n_batches
            memo[key] = dataclasses.replace(self, steps_run=self.steps_run + steps,
                                            noisy_steps=self.noisy_steps + (steps if noisy else 0),
                                            noise_free_steps=self.noise_free_steps + (0 if noisy else steps))
        return memo[key]

    def post_processed(self, epochs):
        """After ``epochs`` noise-free epochs on the retained rows: post-processing, the guarantee unchanged.

        ρ reads the noisy steps since the last request only, and the failure share the noisy draws only
        (``steps_run − noise_free_steps``), so the cached bound carries over.
        """
        return _carry_caches(self, self.advanced(epochs, noisy=False))

    def _calibrate(self, unlearning_epochs):
        """Smallest σ with which forgetting one row after training costs ``unlearning_epochs`` epochs.

        The probe row sits in the last batch, the worst slot (see
        :func:`skunlearn.accounting.single_removal_rdp_coefficient`). The
        rounding shift sets a floor on ε whatever the epochs, which calibration
        lifts by raising σ; σ is never below :meth:`minimum_noise`.
        """
        probe = self.advanced(self.train_epochs, noisy=self.private_training).with_removed([self.n_slots - 1])

        def excess(noise):  # ε over the ε the state can certify (the target, or the failures' cap)
            state = dataclasses.replace(probe, noise_std=noise).advanced(unlearning_epochs)
            return state.epsilon()[0] / state.certified_target_epsilon

        return max(accounting.calibrate_noise(excess, 1.0), self.minimum_noise())

    # Checks of the record ----------------------------------------------------------

    def derived_mismatches(self, rtol=1e-9):
        """Record fields that disagree with what the loss, the class count, D, W and the history derive.

        M and L are those of the logistic loss (binary for one output row,
        softmax otherwise) on rows of norm ≤ ``data_norm``, times W when
        weighted (:meth:`skunlearn._constants.LogisticConstants.weighted`);
        ``η ≤ 2 / (L + 2λ)`` with that L; σ is 0 or at least the noise floor;
        the steps run are the training epochs plus every request's epochs,
        ``ceil(n / b)`` steps each. Returns ``(field, message)`` pairs.
        """
        problems = _positive_finite(self, ("step_size", "lipschitz", "smoothness", "strong_convexity", "radius",
                                           "data_norm"))
        if not (math.isfinite(self.noise_std) and self.noise_std >= 0):
            problems.append(("noise_std", f"must be a finite number >= 0, got {self.noise_std!r}"))
        if self.weight_bound is not None and not (math.isfinite(self.weight_bound) and self.weight_bound > 0):
            problems.append(("weight_bound", f"must be None or a finite number > 0, got {self.weight_bound!r}"))
        if not 1 <= self.batch_size <= self.n_slots or self.n_slots < 2:
            problems.append(("batch_size", f"need 2 <= n and 1 <= b <= n, got n={self.n_slots}, b={self.batch_size}"))
        if self.n_outputs < 1 or self.n_outputs == 2:
            problems.append(("n_outputs", f"a binary model has one output row and a softmax one at least 3, got "
                                          f"{self.n_outputs}"))
        if self.n_features < 2:
            problems.append(("n_features", f"counts the intercept column: at least 2, got {self.n_features}"))
        if self.bound not in ("coupled", "published"):
            problems.append(("bound", f"must be 'coupled' or 'published', got {self.bound!r}"))
        if problems:
            return problems  # the derivations below need valid values
        n_classes = 2 if self.n_outputs == 1 else self.n_outputs
        loss = "binary logistic loss" if n_classes == 2 else f"softmax loss over {n_classes} classes"
        derived = logistic_constants(n_classes, self.data_norm, self.strong_convexity)
        weights = ""
        if self.weight_bound is not None:
            derived = derived.weighted(self.weight_bound)
            weights = f", weights up to W={self.weight_bound!r}"
        for name, symbol, value in (("lipschitz", "M", derived.lipschitz), ("smoothness", "L", derived.smoothness)):
            if not _close(getattr(self, name), value, rtol):
                problems.append((f"{name} ({symbol})", f"the record says {symbol}={getattr(self, name)!r}, but the "
                                                       f"{loss} on rows of norm <= data_norm={self.data_norm!r}"
                                                       f"{weights} gives {symbol}={value!r}"))
        limit = accounting.max_step_size(derived.smoothness, self.strong_convexity)
        if self.step_size > limit * (1.0 + rtol):
            problems.append(("step_size (eta)", f"eta={self.step_size!r} exceeds 2/(L + 2 lambda)={limit!r} with "
                                                f"the L={derived.smoothness!r} of the {loss}{weights}"))
        if self.noise_std != 0 and self.noise_std < self.minimum_noise() * (1.0 - rtol):
            problems.append(("noise_std", f"sigma={self.noise_std!r} is below the noise floor "
                                          f"{self.minimum_noise()!r} ({accounting.NOISE_FLOOR_ULPS} ulps of "
                                          f"R={self.radius!r} per step)"))
        try:
            epochs = sum(int(entry["epochs"]) + int(entry.get("finetune_epochs", 0)) for entry in self.history)
        except (KeyError, TypeError, ValueError):
            return problems + [("history", "an entry lacks its epochs")]
        expected = (self.train_epochs + epochs) * self.n_batches
        if self.train_epochs < 0 or self.steps_run != expected:
            problems.append(("steps_run", f"the record says {self.steps_run} steps, but T={self.train_epochs} "
                                          f"training epochs and the requests' {epochs} epochs of "
                                          f"ceil(n/b)={self.n_batches} steps make {expected}"))
        quiet = sum(int(entry.get("finetune_epochs", 0)) for entry in self.history)
        expected_quiet = (quiet + (0 if self.private_training else self.train_epochs)) * self.n_batches
        if self.noise_free_steps != expected_quiet:
            problems.append(("noise_free_steps", f"the record says {self.noise_free_steps}, but the noise-free "
                                                 f"training and fine-tuning epochs make {expected_quiet}"))
        return problems

    # Certificates ------------------------------------------------------------------

    def constants(self):
        return {
            "L": self.smoothness, "m": self.strong_convexity, "M": self.lipschitz, "R": self.radius,
            "eta": self.step_size, "b": self.batch_size, "n": self.n_slots, "c": self.contraction,
            "T": self.train_epochs, "bound": self.bound, "rounding_shift": self.rounding_shift,
            **({} if self.weight_bound is None else {"W": self.weight_bound}),
        }

    def fit_certificate_fields(self, noise_secrecy, parameter_hash=""):
        """The (ε, δ)-DP guarantee of the noisy training itself; none when training ran without noise."""
        if not self.private_training:
            return dict(
                epsilon=math.inf, delta=self.target_delta, target_epsilon=self.target_epsilon,
                target_delta=self.target_delta, order=None, renyi_divergence=None, method="pnsgd-training",
                reference="no guarantee before a request: training ran without noise (private_training=False); "
                          "each request is certified by the noisy epochs after it",
                neighbouring="none", noise=0.0, steps=self.steps_run, rows_forgotten=0, requests=0,
                constants=self.constants(), history=(), arithmetic=accounting.ARITHMETIC_MODEL,
                noise_secrecy=noise_secrecy, record=self.record(), parameter_hash=parameter_hash,
            )
        rho = self.learning_rdp_coefficient()
        epsilon, order = _to_dp(rho, self.conversion_delta)
        return dict(
            epsilon=epsilon, delta=self.guarantee_at(epsilon), target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=order, renyi_divergence=None if order is None else order * rho,
            method="pnsgd-learning-dp",
            reference="Feldman et al. 2018 Thm 22 (privacy amplification by iteration); skunlearn.accounting.pnsgd",
            neighbouring="add/remove one row: the same n slots, the row's slot at zero weight (zero gradient), "
                         "so n and the slot positions are public",
            noise=self.noise_std, steps=self.steps_run, rows_forgotten=0, requests=0,
            constants=self.constants(), history=(), arithmetic=accounting.ARITHMETIC_MODEL,
            noise_secrecy=noise_secrecy, record=self.record(), parameter_hash=parameter_hash,
        )

    def unlearning_certificate_fields(self, noise_secrecy, parameter_hash=""):
        """The (ε, δ)-unlearning guarantee of the current state."""
        epsilon, order = self.epsilon()
        published = self.bound == "published"
        return dict(
            epsilon=epsilon, delta=self.guarantee_at(epsilon), target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=order,
            renyi_divergence=None if order is None else order * self.rdp_coefficient(),
            method="pnsgd-published" if published else "pnsgd-coupled",
            reference=(
                "Chien et al. 2024 (PNSGD) Thm 3.2/Cor 3.7; assumes convergence" if published else
                "Chien et al. 2024 (PNSGD) with Feldman et al. 2018 Thm 22; derivation in skunlearn.accounting.pnsgd"
            ),
            neighbouring=(
                "replacement (published form)" if published else
                "removal; reference: a retrain on D' with the same n slots, the forgotten slots at zero weight, "
                "so n and the slot positions are public (same initial point, batch order and epochs)"
                + ("" if self.weight_bound is None else
                   f", the retained rows' weights; every row's weight at most W = {self.weight_bound:g}")
            ),
            noise=self.noise_std, steps=self.noisy_steps,
            rows_forgotten=len(self.removed_slots), requests=len(self.history),
            constants=self.constants(), history=self.history, arithmetic=accounting.ARITHMETIC_MODEL,
            noise_secrecy=noise_secrecy, record=self.record(), parameter_hash=parameter_hash,
        )


def _charged_delta(conversion, failures, target, within_target):
    """δ of the conversion plus the failures' share; at most the target when ε is within its target.

    With ε ≤ ε_target the exact sum is below the target (the conversion δ was
    set from the target ε's larger share), so rounding cannot put it above.
    """
    total = conversion + failures
    return min(total, target) if within_target else min(total, 1.0)


def _to_dp(rho, delta):
    if math.isinf(rho):
        return math.inf, None
    if rho == 0.0:
        return 0.0, None
    result = accounting.rdp_to_dp(accounting.linear_rdp(rho), delta, warn_at_edge=False)
    return result.epsilon, result.order


@dataclasses.dataclass(frozen=True)
class PostProcessingLedger(_Ledger):
    """Accounting state of noisy fine-tuning as post-processing [NN].

    A request clips the model to ``initial_radius`` (C₀) and starts a noisy
    phase on the retained rows; the certificate depends on the noisy steps of
    the current phase only, whatever the size or number of requests.

    ``method="gradient_clipping"``: ``ε_α ≤ α ρ_R`` with the closed form of
    :func:`skunlearn.accounting.gradient_clipping_rdp_coefficient_closed_form`,
    converted to (ε, δ) at the target δ. ``method="model_clipping"``: (ε, δ_T)
    with ε the target and δ_T from the recursion of
    :func:`skunlearn.accounting.model_clipping_deltas` at ``r = 2 C₂ / σ``.

    Rounding (:mod:`skunlearn.accounting.floating_point`): a computed clip can
    exceed its radius by the relative :func:`~skunlearn.accounting.clip_slack`,
    so C₀, C₁ and C₂ enter the bounds inflated by it, and the gradient-clipping
    shift per step grows by twice the update's rounding
    (:func:`~skunlearn.accounting.mlp_step_rounding_error`).
    """

    KIND = "post-processing"

    method: str
    initial_radius: float
    clip_radius: float
    gradient_clip: float
    step_size: float
    l2: float
    noise_std: float
    steps_per_epoch: int
    target_epsilon: float
    target_delta: float
    n_params: int
    training_steps: int = 0
    training_noise: float = 0.0
    phase_steps: int = 0
    rows_forgotten: int = 0
    finetuned: bool = False
    history: tuple = ()

    # Rounding ------------------------------------------------------------------------

    @property
    def _slack(self):
        return 1.0 + accounting.clip_slack(self.n_params)

    def _parameter_bound(self):
        """A bound on ‖x‖ over the current phase, its noise included (|ξ| ≤ 20 off the sampler's failures).

        Model clipping: the clipped value, ``C₂``. Gradient clipping: from the
        model clipped to C₀, each step adds at most ``γ C₁ + 20 σ √p``.
        """
        initial = self.initial_radius * self._slack
        if self.method == "model_clipping":
            return max(initial, self.clip_radius * self._slack)
        per_step = self.step_size * self.gradient_clip * self._slack + 20.0 * self.noise_std * math.sqrt(self.n_params)
        return initial + self.phase_steps * per_step

    @functools.cached_property
    def noise_grid(self):
        """Λ of the current noisy phase (0 without noise): :func:`skunlearn.accounting.noise_grid` of public bounds."""
        if self.noise_std == 0:
            return 0.0
        return accounting.noise_grid(1.01 * self._parameter_bound() + 21.0 * self.noise_std, self.noise_std)

    @property
    def _draws(self):
        """Normals the current phase draws (the bound holds from any model at the phase's start)."""
        return self.phase_steps * self.n_params

    @property
    def _noise_ratio(self):
        return self.noise_std / self.noise_grid

    def _effective_radii(self):
        """(C₀, C₁, C₂) as the computed steps can realise them.

        C₁ also carries the update's rounding, the two roundings to the grid
        included (:func:`~skunlearn.accounting.mlp_step_rounding_error`);
        C₂ the rounding of the clipped value to the grid, ``√p Λ / 2``.
        """
        initial = self.initial_radius * self._slack
        clip = self.gradient_clip * self._slack
        grid = self.noise_grid
        rounding = accounting.mlp_step_rounding_error(self.n_params, self._parameter_bound(), self.step_size, clip,
                                                      self.noise_std, grid=grid)
        return (initial, clip + rounding / self.step_size,
                self.clip_radius * self._slack + 0.5 * math.sqrt(self.n_params) * grid)

    def minimum_noise(self):
        """Smallest σ: ``NOISE_FLOOR_ULPS`` ulps of the largest parameter the clips allow."""
        return accounting.minimum_step_noise(max(self.initial_radius, self.clip_radius))

    # Bounds --------------------------------------------------------------------------

    def guarantee(self):
        if self.rows_forgotten == 0:
            return 0.0, 0.0
        if self.phase_steps == 0 or self.noise_std == 0:
            return math.inf, self.target_delta
        aim = self.certified_target_epsilon
        if self.method == "gradient_clipping":
            epsilon = _to_dp(self._gradient_clipping_rho, self.conversion_delta)[0]
            return epsilon, self.guarantee_at(epsilon)
        _, _, clip_radius = self._effective_radii()
        deltas = accounting.model_clipping_deltas(aim, 2.0 * clip_radius / self.noise_std, self.phase_steps)
        return aim, float(deltas[-1]) + self._failure_delta(aim)

    def with_removed(self, slots):
        if len(slots) == 0:
            return self
        return dataclasses.replace(self, phase_steps=0, rows_forgotten=self.rows_forgotten + len(slots),
                                   finetuned=False)

    def _before_requests(self, epochs_since):
        return dataclasses.replace(self, phase_steps=0, rows_forgotten=0, finetuned=False, history=())

    def _replay_request(self, state, first, rows):
        return state.with_removed(range(rows))

    def post_processed(self, epochs):
        """Noise-free fine-tuning does not enter this ledger (its bound restarts at each request)."""
        return self

    def advanced(self, epochs):
        """After ``epochs`` noisy epochs; fine-tuning follows once the target is met."""
        advanced = dataclasses.replace(self, phase_steps=self.phase_steps + int(epochs) * self.steps_per_epoch)
        return dataclasses.replace(advanced, finetuned=advanced.meets_target())

    def _calibrate(self, unlearning_epochs):
        """Smallest σ that meets the target within ``unlearning_epochs`` noisy epochs (never below the floor)."""
        probe = dataclasses.replace(self, rows_forgotten=1, phase_steps=unlearning_epochs * self.steps_per_epoch)
        if self.method == "gradient_clipping":
            def excess(noise):
                state = dataclasses.replace(probe, noise_std=noise)
                return state.guarantee()[0] / state.certified_target_epsilon

            noise = accounting.calibrate_noise(excess, 1.0)
        else:
            # Model clipping: δ_T falls as σ grows (r = 2C₂/σ shrinks); find where δ_T / δ crosses 1.
            noise = accounting.calibrate_noise(
                lambda noise: dataclasses.replace(probe, noise_std=noise).guarantee()[1] / self.target_delta, 1.0)
        return max(noise, self.minimum_noise())

    def rdp(self):
        """(order, Rényi value) behind ε for gradient clipping; (None, None) otherwise."""
        if self.method != "gradient_clipping" or not self.rows_forgotten or not self.phase_steps:
            return None, None
        rho = self._gradient_clipping_rho
        _, order = _to_dp(rho, self.conversion_delta)  # the order behind the ε that guarantee() reports
        return order, None if order is None else order * rho

    @functools.cached_property
    def _gradient_clipping_rho(self):
        """ρ_R of the current noisy phase ([NN] Thm 3 closed form), computed once per state."""
        initial, clip, _ = self._effective_radii()
        return accounting.gradient_clipping_rdp_coefficient_closed_form(
            initial, clip, self.step_size, self.l2, self.noise_std, self.phase_steps)

    # Checks of the record ------------------------------------------------------------

    def derived_mismatches(self, rtol=1e-9):
        """Record fields that disagree with each other: radii, the noise floor, the step counts, the method.

        What this ledger's record cannot derive (the parameter count, the
        steps per epoch: they need the model and n) is checked against the
        model by :meth:`skunlearn.UnlearningCertificate.verify`.
        Returns ``(field, message)`` pairs.
        """
        problems = _positive_finite(self, ("initial_radius", "clip_radius", "gradient_clip", "step_size",
                                           "noise_std"))
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            problems.append(("l2", f"must be a finite number >= 0, got {self.l2!r}"))
        if not (math.isfinite(self.training_noise) and self.training_noise >= 0):
            problems.append(("training_noise", f"must be a finite number >= 0, got {self.training_noise!r}"))
        if self.method not in ("gradient_clipping", "model_clipping"):
            problems.append(("method", f"must be 'gradient_clipping' or 'model_clipping', got {self.method!r}"))
        if self.n_params < 1 or self.steps_per_epoch < 1:
            problems.append(("n_params", f"need n_params >= 1 and steps_per_epoch >= 1, got {self.n_params} and "
                                         f"{self.steps_per_epoch}"))
        if problems:
            return problems
        if self.method == "gradient_clipping" and self.step_size * self.l2 >= 1:
            problems.append(("step_size (gamma)", f"gradient clipping needs gamma * lambda < 1, got "
                                                  f"{self.step_size!r} * {self.l2!r}"))
        if self.noise_std < self.minimum_noise() * (1.0 - rtol):
            problems.append(("noise_std", f"sigma={self.noise_std!r} is below the noise floor "
                                          f"{self.minimum_noise()!r} ({accounting.NOISE_FLOOR_ULPS} ulps of the "
                                          "largest clip radius)"))
        for name in ("training_steps", "phase_steps"):
            if getattr(self, name) < 0 or getattr(self, name) % self.steps_per_epoch:
                problems.append((name, f"{getattr(self, name)} is not a whole number of epochs of "
                                       f"{self.steps_per_epoch} steps"))
        return problems

    # Certificates ----------------------------------------------------------------------

    def constants(self):
        return {"C0": self.initial_radius, "C1": self.gradient_clip, "C2": self.clip_radius,
                "gamma": self.step_size, "lambda": self.l2, "steps_per_epoch": self.steps_per_epoch,
                "method": self.method, "clip_slack": self._slack - 1.0}

    def fit_certificate_fields(self, noise_secrecy, parameter_hash=""):
        """After fit: the noisy training of a non-convex model carries no (ε, δ) claim."""
        return dict(
            epsilon=math.inf, delta=self.target_delta, target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=None, renyi_divergence=None, method="mlp-training",
            reference="no (epsilon, delta) claim for the training of a non-convex model; "
                      "requests are certified by Koloskova et al. 2025",
            neighbouring="none", noise=self.training_noise, steps=self.training_steps, constants=self.constants(),
            arithmetic=accounting.ARITHMETIC_MODEL, noise_secrecy=noise_secrecy, record=self.record(),
            parameter_hash=parameter_hash,
        )

    def unlearning_certificate_fields(self, noise_secrecy, parameter_hash=""):
        epsilon, delta = self.guarantee()
        order, renyi = self.rdp()
        gradient = self.method == "gradient_clipping"
        return dict(
            epsilon=epsilon, delta=delta, target_epsilon=self.target_epsilon, target_delta=self.target_delta,
            order=order, renyi_divergence=renyi, method=self.method.replace("_", "-"),
            reference=("Koloskova et al. 2025 Thm 3 (PABI, optimal shift), tight RDP conversion" if gradient else
                       "Koloskova et al. 2025 Thm 4 with Asoodeh et al. contraction (delta recursion)"),
            neighbouring="removal of any set of rows; reference: the same noisy fine-tuning on D' with the same "
                         "n slots, the forgotten slots at zero weight, so n and the slot positions are public, "
                         "from any model clipped to C0 (a retrain on D' with the same slots included)",
            noise=self.noise_std, steps=self.phase_steps, rows_forgotten=self.rows_forgotten,
            requests=len(self.history), constants=self.constants(), history=self.history,
            arithmetic=accounting.ARITHMETIC_MODEL, noise_secrecy=noise_secrecy, record=self.record(),
            parameter_hash=parameter_hash,
        )


_LEDGERS = {ledger.KIND: ledger for ledger in (StronglyConvexLedger, PostProcessingLedger)}


def ledger_from_record(record, history=()):
    """Rebuild the ledger a certificate's ``record`` describes (the inverse of ``ledger.record()``).

    Raises
    ------
    ValueError
        When the record names no known ledger or lacks or adds fields.
    """
    record = dict(record)
    kind = record.pop("ledger", None)
    if kind not in _LEDGERS:
        raise ValueError(f"the record names no known ledger: {kind!r}")
    cls = _LEDGERS[kind]
    names = {field.name for field in dataclasses.fields(cls)} - {"history"}
    if set(record) != names:
        raise ValueError(f"the record's fields do not match a {kind} ledger: missing "
                         f"{sorted(names - set(record))}, unknown {sorted(set(record) - names)}")
    for name in ("removed_slots", "removed_at"):
        if name in record:
            record[name] = tuple(int(v) for v in record[name])
    return cls(**record, history=tuple(dict(entry) for entry in history))
