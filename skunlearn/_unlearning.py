"""What the estimators share: forget requests, the ledger of what was forgotten,
the unlearn / partial_unlearn orchestration and the certificate updates.

Every request follows "validate everything, then commit": the request is
parsed, the new ledger and the fine-tuned parameters are computed on copies,
and only then is the estimator's state replaced, so a failed request leaves the
model, its retained rows and its certificate exactly as they were.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import secrets
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from . import accounting
from ._constants import cyclic_batch_bounds
from ._backends import get_backend
from ._backends._ziggurat import MAX_ABS_NORMAL
from ._validation import check_classification_targets, check_is_fitted, validate_data
from .certificate import UnlearningCertificate

_COPY_CHUNK_ROWS = 8192

__all__ = [
    "PostProcessingLedger",
    "StronglyConvexLedger",
    "UnlearningMixin",
    "ledger_from_record",
    "parse_forget_request",
    "prepare_slots",
]

#: What a certificate says about who can undo it, by the source of the noise key.
SECRET_NOISE = "the noise key came from the operating system's entropy (128 bits drawn; the generator uses 64)"
SEEDED_NOISE = ("the noise key was derived from the caller's random_state: the guarantee holds only against "
                "observers who do not know that seed")


def parse_forget_request(indices, n_samples, removed, *, required=True):
    """Validate a forget request and return the original row ids it names.

    Parameters
    ----------
    indices : array-like of int, boolean mask of length ``n_samples``, int, or None
        Positions in the ``X`` given to ``fit``.
    n_samples : int
        Rows given to ``fit``.
    removed : ndarray of bool, shape (n_samples,)
        Rows already forgotten.
    required : bool, default=True
        Whether ``None`` is an error (``unlearn``) or an empty request
        (``partial_unlearn``).

    Returns
    -------
    ndarray of int64
        Sorted row ids; empty for an empty request.

    Raises
    ------
    ValueError, TypeError
        With a message naming the problem.

    Examples
    --------
    >>> import numpy as np
    >>> parse_forget_request([4, 1], 6, np.zeros(6, bool)).tolist()
    [1, 4]
    >>> parse_forget_request(np.array([0, 1, 0, 0, 0, 1], bool), 6, np.zeros(6, bool)).tolist()
    [1, 5]
    """
    if indices is None:
        if required:
            raise TypeError("indices is required: the training-row positions (or a boolean mask) to forget")
        return np.empty(0, dtype=np.int64)
    if hasattr(indices, "toarray") or hasattr(indices, "tocsr"):
        raise TypeError("indices must be a dense array-like of row positions or a boolean mask, not a sparse matrix")
    array = np.asarray(indices)
    if array.dtype == object:
        raise TypeError(f"indices must be integers or a boolean mask, got an array of dtype object: {indices!r}")
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"indices must be one-dimensional, got shape {array.shape}")
    if array.dtype == bool:
        if array.shape[0] != n_samples:
            raise ValueError(f"a boolean mask must have length n_samples={n_samples}, got {array.shape[0]}")
        ids = np.flatnonzero(array).astype(np.int64)
    elif array.size == 0:
        ids = np.empty(0, dtype=np.int64)
    elif np.issubdtype(array.dtype, np.integer):
        ids = array.astype(np.int64)
    else:
        raise TypeError(f"indices must be integers or a boolean mask, got dtype {array.dtype}")
    if ids.size == 0:
        return ids
    if ids.min() < 0:
        raise ValueError(f"indices must be >= 0 (positions in the X given to fit), got {int(ids.min())}")
    if ids.max() >= n_samples:
        raise ValueError(f"index {int(ids.max())} is out of range for {n_samples} training rows")
    unique, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"indices repeat within the request: {unique[counts > 1][:10].tolist()}")
    already = unique[removed[unique]]
    if already.size:
        raise ValueError(f"rows already forgotten: {already[:10].tolist()}")
    if np.count_nonzero(removed) + unique.size >= n_samples:
        raise ValueError("the request would forget every training row; refit on new data instead")
    return unique


def prepare_slots(estimator, X, y_codes, batch_size, random_state, extra_columns=0, *, slot_order=None,
                  noise_key=None, inert_rows=None):
    """Lay the training rows out in cyclic slot order inside ``estimator``.

    Sets ``_slot_of`` (row -> slot), ``_X_slots`` (rows in slot order, plus
    ``extra_columns`` left for the caller to fill), ``_y_slots``, ``_weight``
    (float64), ``_removed_mask``, ``_batch_bounds``, the noise generator's
    ``_noise_key`` and ``_noise_counter``, and ``_noise_secrecy``.
    Copies in chunks, so fit never holds a second temporary copy of X.

    With ``random_state=None`` the batch order, the noise key and the caller's
    further draws come from the operating system's entropy, never from numpy's
    global state: nobody can learn the noise from a seed. A caller-supplied
    seed makes everything reproducible, and the certificate says the guarantee
    then holds only against observers who do not know it.

    ``slot_order`` (a permutation: row ``slot_order[s]`` goes to slot s),
    ``noise_key`` and ``inert_rows`` (rows whose slots keep zero weight from the
    first step: the certifying procedure) override those draws; the audit uses
    them to fix the batch order and vary only the noise.

    Returns
    -------
    numpy.random.Generator
        A further generator from the same source, for the caller's own draws.
    """
    n_samples, n_features = X.shape
    if random_state is None:
        # 128 bits of operating-system entropy; the global numpy state is never read.
        order_rng, other_rng = (np.random.default_rng(s) for s in np.random.SeedSequence().spawn(2))
        key = secrets.randbits(64)
        secrecy = SECRET_NOISE
    else:
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        order_rng, noise_rng, other_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
        key = int(noise_rng.integers(0, 2**64, dtype=np.uint64))
        secrecy = SEEDED_NOISE
    order = order_rng.permutation(n_samples)
    if slot_order is not None:
        order = np.asarray(slot_order, dtype=np.int64)
        if order.shape != (n_samples,) or not np.array_equal(np.sort(order), np.arange(n_samples)):
            raise ValueError("slot_order must be a permutation of the training rows")
    if noise_key is not None:
        key = int(noise_key) % 2**64
    estimator._slot_of = np.empty(n_samples, dtype=np.int64)
    estimator._slot_of[order] = np.arange(n_samples)
    estimator._X_slots = np.empty((n_samples, n_features + extra_columns), dtype=X.dtype)
    for start in range(0, n_samples, _COPY_CHUNK_ROWS):
        rows = order[start:start + _COPY_CHUNK_ROWS]
        estimator._X_slots[start:start + rows.size, :n_features] = X[rows]
    estimator._y_slots = np.asarray(y_codes)[order].astype(np.int64)
    estimator._weight = np.ones(n_samples)
    if inert_rows is not None:  # the certifying procedure: these rows keep their slots, with zero weight throughout
        estimator._weight[estimator._slot_of[np.asarray(inert_rows, dtype=np.int64)]] = 0
    estimator._removed_mask = np.zeros(n_samples, dtype=bool)
    estimator._batch_bounds = cyclic_batch_bounds(n_samples, batch_size)
    estimator._noise_key = key
    estimator._noise_counter = 0
    estimator._noise_secrecy = secrecy
    estimator.removed_indices_ = np.empty(0, dtype=np.int64)
    estimator.n_retained_ = n_samples
    return other_rng


class _Ledger:
    """What every ledger offers the request handling of :class:`UnlearningMixin`.

    Subclasses are frozen dataclasses with ``target_epsilon``, ``target_delta``,
    ``noise_std`` and ``history`` fields, and implement ``guarantee``,
    ``with_removed``, ``advanced`` and ``unlearning_certificate``.
    """

    def guarantee(self):
        """The (ε, δ) certified in the current state."""
        raise NotImplementedError

    def with_history(self, history):
        """The same state with ``history`` (one entry per request), keeping cached bounds."""
        updated = dataclasses.replace(self, history=tuple(history))
        updated.__dict__.update({k: v for k, v in self.__dict__.items() if k.startswith("_")})
        return updated

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
        epochs = sum(int(entry["epochs"]) for entry in self.history)
        state = self._before_requests(epochs)
        history, taken = [], 0
        for entry in self.history:
            rows, run = int(entry["rows"]), int(entry["epochs"])
            state = self._replay_request(state, taken, rows).advanced(run)
            taken += rows
            epsilon, delta = state.guarantee()
            history.append({"rows": rows, "epochs": run, "epsilon": epsilon, "delta": delta})
        return state.with_history(history)

    def meets_target(self):
        epsilon, delta = self.guarantee()
        return epsilon <= self.target_epsilon and delta <= self.target_delta

    def epochs_to_target(self, max_epochs, minimum):
        """Fewest epochs (≥ ``minimum``) after which the target is met, or None past ``max_epochs``.

        The guarantee never weakens with more noisy epochs, so a bisection
        over the epoch count finds the first that meets the target.
        """
        if self.advanced(minimum).meets_target():
            return minimum
        if max_epochs <= minimum or not self.advanced(max_epochs).meets_target():
            return None
        lo, hi = minimum, max_epochs  # lo misses, hi meets
        step = 1
        while lo + step < hi and not self.advanced(lo + step).meets_target():
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.advanced(mid).meets_target():
                hi = mid
            else:
                lo = mid
        return hi


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
    """

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
    steps_run: int = 0
    last_request_step: int = 0
    removed_slots: tuple = ()
    removed_at: tuple = ()
    published_distance: float = 0.0
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
    def last_batch_size(self):
        bounds = self.batch_bounds
        return int(bounds[-1] - bounds[-2])

    @property
    def noise_scale(self):
        """Per-step noise standard deviation ``sqrt(2η) σ``."""
        return math.sqrt(2.0 * self.step_size) * self.noise_std

    @property
    def rounding_shift(self):
        """``2e``: the rounding of both runs' steps, charged at every step."""
        largest_batch = int(np.max(np.diff(self.batch_bounds)))
        return 2.0 * accounting.logistic_step_rounding_error(
            self.n_features, self.n_outputs, largest_batch, self.step_size, self.strong_convexity, self.radius,
            self.data_norm, self.noise_scale, softmax=self.n_outputs > 1, noise_bound=MAX_ABS_NORMAL,
        )

    def minimum_noise(self):
        """Smallest σ whose per-step noise is ``NOISE_FLOOR_ULPS`` ulps of the largest parameter (R)."""
        return accounting.minimum_step_noise(self.radius) / math.sqrt(2.0 * self.step_size)

    # Rényi bounds ------------------------------------------------------------------

    @functools.cached_property
    def _removal_events(self):
        """Steps at which each removed row was still in a batch, with its shift η M / b_j.

        Cached: it depends only on the removals, which ``advanced`` carries over.
        """
        bounds = self.batch_bounds
        period = bounds.size - 1
        steps, shifts = [], []
        for slot, removed_at in zip(self.removed_slots, self.removed_at):
            batch = int(np.searchsorted(bounds, slot, side="right")) - 1
            active = np.arange(batch, removed_at, period, dtype=np.int64)
            steps.append(active)
            shifts.append(np.full(active.size, self.step_size * self.lipschitz / (bounds[batch + 1] - bounds[batch])))
        if not steps:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(steps), np.concatenate(shifts)

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
            epochs_since = (self.steps_run - self.last_request_step) / self.n_batches
            curve = accounting.published_pnsgd_rdp(
                self.published_distance, self.step_size, self.noise_std, contraction, self.n_slots,
                self.batch_size, epochs_since, per_step_shift=self.rounding_shift,
            )
            return float(curve(1.0))
        steps, shifts = self._removal_events
        # With no step since the request, removal_rdp_coefficient falls back to the whole-history bound.
        return accounting.removal_rdp_coefficient(
            steps, shifts, self.last_request_step, self.steps_run, contraction,
            2.0 * self.step_size * self.noise_std**2, 2.0 * self.radius, per_step_shift=self.rounding_shift,
        )

    def learning_rdp_coefficient(self):
        """ρ of the training itself against datasets differing in one row ([FMTT] Thm 22)."""
        if self.noise_std == 0:
            return math.inf
        return accounting.learning_rdp_coefficient(
            self.train_epochs, self.n_batches, self.step_size, self.lipschitz, self.last_batch_size,
            self.contraction, self.noise_std, per_step_shift=self.rounding_shift,
        )

    def epsilon(self):
        """(ε, order) of the current state at the target δ."""
        rho = self.rdp_coefficient()
        return _to_dp(rho, self.target_delta)

    def guarantee(self):
        return self.epsilon()[0], self.target_delta

    # Transitions -------------------------------------------------------------------

    def with_removed(self, slots):
        """A ledger with a new request for ``slots``, registered at the current step."""
        slots = tuple(int(s) for s in slots)
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
            published_distance=distance,
        )

    def _before_requests(self, epochs_since):
        return dataclasses.replace(self, steps_run=self.steps_run - epochs_since * self.n_batches,
                                   last_request_step=0, removed_slots=(), removed_at=(), published_distance=0.0,
                                   history=())

    def _replay_request(self, state, first, rows):
        slots = self.removed_slots[first:first + rows]
        if len(slots) != rows or any(at != state.steps_run for at in self.removed_at[first:first + rows]):
            raise ValueError("the forgotten slots and their steps do not match the history")
        return state.with_removed(slots)

    def advanced(self, epochs):
        """The ledger after ``epochs`` more noisy epochs."""
        advanced = dataclasses.replace(self, steps_run=self.steps_run + int(epochs) * self.n_batches)
        if "_removal_events" in self.__dict__:
            advanced.__dict__["_removal_events"] = self.__dict__["_removal_events"]
        return advanced

    def calibrated_noise(self, unlearning_epochs):
        """Smallest σ with which forgetting one row after training costs ``unlearning_epochs`` epochs.

        The probe row sits in the last batch, the worst slot (see
        :func:`skunlearn.accounting.single_removal_rdp_coefficient`). The
        rounding shift sets a floor on ε whatever the epochs, which calibration
        lifts by raising σ; σ is never below :meth:`minimum_noise`.
        """
        probe = self.advanced(self.train_epochs).with_removed([self.n_slots - 1])

        def epsilon_at(noise):
            return dataclasses.replace(probe, noise_std=noise).advanced(unlearning_epochs).epsilon()[0]

        return max(accounting.calibrate_noise(epsilon_at, self.target_epsilon), self.minimum_noise())

    # Certificates ------------------------------------------------------------------

    def constants(self):
        return {
            "L": self.smoothness, "m": self.strong_convexity, "M": self.lipschitz, "R": self.radius,
            "eta": self.step_size, "b": self.batch_size, "n": self.n_slots, "c": self.contraction,
            "T": self.train_epochs, "bound": self.bound, "rounding_shift": self.rounding_shift,
        }

    def record(self):
        """Every field, as builtins: what :func:`ledger_from_record` needs to recompute the certificate."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "history"}
        data["removed_slots"] = list(self.removed_slots)
        data["removed_at"] = list(self.removed_at)
        return {"ledger": "strongly-convex", **data}

    def learning_certificate(self, noise_secrecy):
        """The (ε, δ)-DP guarantee of the noisy training itself."""
        rho = self.learning_rdp_coefficient()
        epsilon, order = _to_dp(rho, self.target_delta)
        return UnlearningCertificate(
            epsilon=epsilon, delta=self.target_delta, target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=order, renyi_divergence=None if order is None else order * rho,
            method="pnsgd-learning-dp",
            reference="Feldman et al. 2018 Thm 22 (privacy amplification by iteration); skunlearn.accounting.pnsgd",
            neighbouring="add/remove one row (its batch slot kept, zero gradient)",
            noise=self.noise_std, steps=self.steps_run, rows_forgotten=0, requests=0,
            constants=self.constants(), history=(), arithmetic=accounting.ARITHMETIC_MODEL,
            noise_secrecy=noise_secrecy, record=self.record(),
        )

    def unlearning_certificate(self, noise_secrecy):
        """The (ε, δ)-unlearning guarantee of the current state."""
        epsilon, order = self.epsilon()
        published = self.bound == "published"
        return UnlearningCertificate(
            epsilon=epsilon, delta=self.target_delta, target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=order,
            renyi_divergence=None if order is None else order * self.rdp_coefficient(),
            method="pnsgd-published" if published else "pnsgd-coupled",
            reference=(
                "Chien et al. 2024 (PNSGD) Thm 3.2/Cor 3.7; assumes convergence" if published else
                "Chien et al. 2024 (PNSGD) with Feldman et al. 2018 Thm 22; derivation in skunlearn.accounting.pnsgd"
            ),
            neighbouring=(
                "replacement (published form)" if published else
                "removal: retraining on the retained rows, same initial point, batch slots and epochs"
            ),
            noise=self.noise_std, steps=self.steps_run - self.last_request_step,
            rows_forgotten=len(self.removed_slots), requests=len(self.history),
            constants=self.constants(), history=self.history, arithmetic=accounting.ARITHMETIC_MODEL,
            noise_secrecy=noise_secrecy, record=self.record(),
        )

    def certificate(self, noise_secrecy):
        """The certificate of this state: the training's own before any request, else the unlearning one."""
        if not self.history:
            return self.learning_certificate(noise_secrecy)
        return self.unlearning_certificate(noise_secrecy)


def _certified_device(device):
    """The device the certified kernels run on.

    The GPU kernels' rounding is not yet accounted for in the certificate, so
    ``"cuda"`` is refused and ``"auto"`` runs on the CPU.
    """
    if device == "cuda":
        raise ValueError(
            'device="cuda" cannot certify yet: the rounding of the GPU kernels (fused multiply-adds, device exp) '
            'is not accounted for in the certificate. Use device="cpu" (or "auto", which uses the CPU).'
        )
    return "cpu"


def _to_dp(rho, delta):
    if math.isinf(rho):
        return math.inf, None
    if rho == 0.0:
        return 0.0, None
    result = accounting.rdp_to_dp(accounting.linear_rdp(rho), delta, warn_at_edge=False)
    return result.epsilon, result.order


class UnlearningMixin:
    """``unlearn`` and ``partial_unlearn`` over an estimator's noisy fine-tuning.

    The estimator provides, once fitted: ``_ledger`` (with ``with_removed``,
    ``advanced``, ``epochs_to_target`` and ``certificate``),
    ``_removed_mask`` (bool per training row), ``_slot_of`` (training row ->
    slot), ``_weight`` (per slot), ``_noise_counter``, ``_params``,
    ``_finetune(params, weight, epochs, start_ledger, end_ledger) -> (params, noise_counter)``,
    ``_publish_params()`` and ``_fit(X, y, **slot_overrides)``.
    """

    #: Give up (and change nothing) when the target needs more unlearning epochs.
    max_unlearning_epochs = 10_000

    def _validate_training_data(self, X, y):
        """Validated ``X`` (C order, float32 kept) and class codes of ``y``; sets ``classes_``.

        The class set is the ``classes`` parameter when given (public
        information, as in ``SGDClassifier.partial_fit``), else the labels seen.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2, order="C")
        check_classification_targets(y)
        if self.classes is None:
            classes, y_codes = np.unique(y, return_inverse=True)
        else:
            classes = np.unique(np.asarray(self.classes))
            if classes.size != len(self.classes):
                raise ValueError(f"classes must not repeat, got {self.classes!r}")
            unknown = np.setdiff1d(np.unique(y), classes)
            if unknown.size:
                raise ValueError(f"y holds labels that are not in classes={classes.tolist()!r}: "
                                 f"{unknown[:10].tolist()!r}")
            y_codes = np.searchsorted(classes, y)
        if classes.size < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data contains only one "
                f"class: {classes[0]!r}"
            )
        return X, y_codes, classes

    def _run_backend(self, kernel_name, params, weight, config, n_epochs, phase, counter, *leading):
        """``n_epochs`` epochs of the backend's ``kernel_name`` from noise index ``counter``.

        One call for all epochs, or one per epoch with a progress line when
        ``verbose``; returns ``(params, next counter)``.
        """
        if n_epochs <= 0:
            return params, counter
        kernel = getattr(get_backend(_certified_device(self.device)), kernel_name)
        per_call = n_epochs if not self.verbose else 1
        for done in range(0, n_epochs, per_call):
            params, counter = kernel(params, *leading, self._X_slots, self._y_slots, weight, self._batch_bounds,
                                     config, self._noise_key, counter, per_call)
            if self.verbose:
                print(f"[{type(self).__name__}] {phase} epoch {done + 1}/{n_epochs}, "
                      f"parameter norm {np.linalg.norm(params):.4g}")
        return params, counter

    def _certifying_fit(self, X, y, rows, *, slot_order=None, noise_key=None):
        """Train as the certificate's certifying procedure does: ``rows`` are inert from the first step.

        Their slots stay in the cyclic order with zero weight, so a later
        ``unlearn(rows)`` runs exactly the steps the certificate compares with
        (used by :mod:`skunlearn.audit`). ``slot_order`` and ``noise_key``
        override the draws from ``random_state`` (see :func:`prepare_slots`).
        """
        return self._fit(X, y, slot_order=slot_order, noise_key=noise_key, inert_rows=rows)

    def _check_classes_survive(self, new_slots):
        """Refuse a request that would leave a class with no retained row unless ``classes`` fixed the set.

        The class set (and with it the model's shape and constants) is part of
        what the certifying procedure uses; learnt from the data, it would
        reveal that a forgotten row was the last of its class. With the
        ``classes`` parameter the set is public and such a request is fine.
        """
        if self.classes is not None or new_slots.size == 0:
            return
        retained = self._weight > 0
        before = np.bincount(self._y_slots[retained], minlength=self.classes_.size)
        removed = np.bincount(self._y_slots[new_slots], minlength=self.classes_.size)
        emptied = np.flatnonzero((before > 0) & (before == removed))
        if emptied.size:
            names = self.classes_[emptied].tolist()
            raise ValueError(
                f"the request would forget every retained row of class {names}; the model's class set would then "
                "depend on the forgotten rows. Nothing was changed. Pass the public class set at fit "
                f"(classes={self.classes_.tolist()!r}) to allow it."
            )

    def _purge_slots(self, slots):
        """Forgotten rows must not survive in the estimator: zero their data and labels."""
        self._X_slots[slots] = 0
        self._y_slots[slots] = 0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def unlearn(self, indices):
        """Forget training rows and fine-tune until the certificate meets the target.

        Parameters
        ----------
        indices : array-like of int or boolean mask of shape (n_samples,)
            Positions in the ``X`` given to ``fit``; they stay valid across
            requests. An empty request changes nothing.

        Returns
        -------
        self
            Fitted estimator with an updated ``certificate_``.

        Raises
        ------
        ValueError, TypeError
            For an index out of range, negative, non-integer, repeated or
            already forgotten, a mask of the wrong length, a request that would
            forget every row, or a target out of reach; the estimator is left
            exactly as it was.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(random_state=0).fit(X, y)
        >>> model.unlearn([0, 50]).certificate_.satisfied
        True
        >>> model.unlearn([0])
        Traceback (most recent call last):
        ...
        ValueError: rows already forgotten: [0]
        """
        return self._process_request(indices, max_epochs=None, required=True)

    def partial_unlearn(self, indices=None, *, max_epochs=1):
        """Register rows to forget (if given) and run at most ``max_epochs`` noisy epochs.

        The anytime form of :meth:`unlearn`: ``certificate_`` is updated and may
        not meet the target yet (``certificate_.satisfied is False``); further
        calls drive ε down. Stops early once the target is met.

        Parameters
        ----------
        indices : array-like of int, boolean mask, or None
            Rows to forget now; None only continues fine-tuning.
        max_epochs : int, default=1
            Most noisy epochs to run in this call (≥ 0).

        Returns
        -------
        self

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(random_state=0).fit(X, y)
        >>> model.partial_unlearn(list(range(20)), max_epochs=0).certificate_.satisfied
        False
        >>> while not model.certificate_.satisfied:
        ...     _ = model.partial_unlearn(max_epochs=1)
        >>> model.certificate_.requests, model.n_retained_
        (1, 130)
        """
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, Integral) or max_epochs < 0:
            raise ValueError(f"max_epochs must be an integer >= 0, got {max_epochs!r}")
        return self._process_request(indices, max_epochs=int(max_epochs), required=False)

    def _process_request(self, indices, max_epochs, required):
        check_is_fitted(self, "certificate_")
        new_ids = parse_forget_request(indices, self._removed_mask.size, self._removed_mask, required=required)
        if new_ids.size == 0 and max_epochs is None:
            return self
        new_slots = self._slot_of[new_ids]
        self._check_classes_survive(new_slots)
        ledger = self._ledger.with_removed(new_slots) if new_ids.size else self._ledger
        minimum = 1 if new_ids.size else 0
        limit = self.max_unlearning_epochs if max_epochs is None else max_epochs
        epochs = ledger.epochs_to_target(limit, min(minimum, limit))
        if epochs is None:
            if max_epochs is None:
                raise ValueError(
                    f"epsilon={ledger.target_epsilon:g} is out of reach within {limit} unlearning epochs at "
                    f"noise {ledger.noise_std:g}; nothing was changed (raise the noise or the target)"
                )
            epochs = max_epochs

        weight = self._weight.copy()
        weight[new_slots] = 0
        start_ledger, ledger = ledger, ledger.advanced(epochs)
        params, noise_counter = self._finetune(np.array(self._params, copy=True), weight, epochs,
                                               start_ledger, ledger)
        # The history lives in the ledger (never read back from the public certificate_).
        history = start_ledger.history
        if new_ids.size:
            history = history + ({"rows": int(new_ids.size), "epochs": int(epochs)},)
        elif history:
            last = dict(history[-1])
            last["epochs"] = last["epochs"] + int(epochs)
            history = history[:-1] + (last,)
        if history:
            epsilon, delta = ledger.guarantee()
            history = history[:-1] + (dict(history[-1], epsilon=epsilon, delta=delta),)
        ledger = ledger.with_history(history)
        certificate = ledger.certificate(self._noise_secrecy)

        # Commit: nothing below can fail on valid state.
        self._purge_slots(new_slots)
        self._weight = weight
        self._params = params
        self._noise_counter = noise_counter
        self._ledger = ledger
        self._removed_mask = self._removed_mask.copy()
        self._removed_mask[new_ids] = True
        self.removed_indices_ = np.flatnonzero(self._removed_mask)
        self.n_retained_ = int(self._removed_mask.size - self.removed_indices_.size)
        self.certificate_ = certificate
        self._publish_params()
        return self


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

    def _effective_radii(self):
        """(C₀, C₁, C₂) as the computed clips can realise them, C₁ also carrying the update's rounding."""
        initial = self.initial_radius * self._slack
        clip = self.gradient_clip * self._slack
        bound = initial + self.phase_steps * self.step_size * clip
        rounding = accounting.mlp_step_rounding_error(self.n_params, bound, self.step_size, clip, self.noise_std,
                                                      noise_bound=MAX_ABS_NORMAL)
        return initial, clip + rounding / self.step_size, self.clip_radius * self._slack

    def minimum_noise(self):
        """Smallest σ: ``NOISE_FLOOR_ULPS`` ulps of the largest parameter the clips allow."""
        return accounting.minimum_step_noise(max(self.initial_radius, self.clip_radius))

    # Bounds --------------------------------------------------------------------------

    def guarantee(self):
        if self.rows_forgotten == 0:
            return 0.0, 0.0
        if self.phase_steps == 0 or self.noise_std == 0:
            return math.inf, self.target_delta
        if self.method == "gradient_clipping":
            return _to_dp(self._gradient_clipping_rho, self.target_delta)[0], self.target_delta
        _, _, clip_radius = self._effective_radii()
        deltas = accounting.model_clipping_deltas(
            self.target_epsilon, 2.0 * clip_radius / self.noise_std, self.phase_steps)
        return self.target_epsilon, float(deltas[-1])

    def with_removed(self, slots):
        if len(slots) == 0:
            return self
        return dataclasses.replace(self, phase_steps=0, rows_forgotten=self.rows_forgotten + len(slots),
                                   finetuned=False)

    def _before_requests(self, epochs_since):
        return dataclasses.replace(self, phase_steps=0, rows_forgotten=0, finetuned=False, history=())

    def _replay_request(self, state, first, rows):
        return state.with_removed(range(rows))

    def advanced(self, epochs):
        """After ``epochs`` noisy epochs; fine-tuning follows once the target is met."""
        advanced = dataclasses.replace(self, phase_steps=self.phase_steps + int(epochs) * self.steps_per_epoch)
        return dataclasses.replace(advanced, finetuned=advanced.meets_target())

    def calibrated_noise(self, unlearning_epochs):
        """Smallest σ that meets the target within ``unlearning_epochs`` noisy epochs (never below the floor)."""
        probe = dataclasses.replace(self, rows_forgotten=1, phase_steps=unlearning_epochs * self.steps_per_epoch)
        if self.method == "gradient_clipping":
            noise = accounting.calibrate_noise(
                lambda noise: dataclasses.replace(probe, noise_std=noise).guarantee()[0], self.target_epsilon)
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
        _, order = _to_dp(rho, self.target_delta)
        return order, None if order is None else order * rho

    @functools.cached_property
    def _gradient_clipping_rho(self):
        """ρ_R of the current noisy phase ([NN] Thm 3 closed form), computed once per state."""
        initial, clip, _ = self._effective_radii()
        return accounting.gradient_clipping_rdp_coefficient_closed_form(
            initial, clip, self.step_size, self.l2, self.noise_std, self.phase_steps)

    # Certificates ----------------------------------------------------------------------

    def constants(self):
        return {"C0": self.initial_radius, "C1": self.gradient_clip, "C2": self.clip_radius,
                "gamma": self.step_size, "lambda": self.l2, "steps_per_epoch": self.steps_per_epoch,
                "method": self.method, "clip_slack": self._slack - 1.0}

    def record(self):
        """Every field, as builtins: what :func:`ledger_from_record` needs to recompute the certificate."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "history"}
        return {"ledger": "post-processing", **data}

    def training_certificate(self, noise_secrecy):
        """After fit: the noisy training of a non-convex model carries no (ε, δ) claim."""
        return UnlearningCertificate(
            epsilon=math.inf, delta=self.target_delta, target_epsilon=self.target_epsilon,
            target_delta=self.target_delta, order=None, renyi_divergence=None, method="mlp-training",
            reference="no (epsilon, delta) claim for the training of a non-convex model; "
                      "requests are certified by Koloskova et al. 2025",
            neighbouring="none", noise=self.training_noise, steps=self.training_steps, constants=self.constants(),
            arithmetic=accounting.ARITHMETIC_MODEL, noise_secrecy=noise_secrecy, record=self.record(),
        )

    def unlearning_certificate(self, noise_secrecy):
        epsilon, delta = self.guarantee()
        order, renyi = self.rdp()
        gradient = self.method == "gradient_clipping"
        return UnlearningCertificate(
            epsilon=epsilon, delta=delta, target_epsilon=self.target_epsilon, target_delta=self.target_delta,
            order=order, renyi_divergence=renyi, method=self.method.replace("_", "-"),
            reference=("Koloskova et al. 2025 Thm 3 (PABI, optimal shift), tight RDP conversion" if gradient else
                       "Koloskova et al. 2025 Thm 4 with Asoodeh et al. contraction (delta recursion)"),
            neighbouring="removal of any set of rows: noisy fine-tuning on the retained rows from any model "
                         "clipped to C0",
            noise=self.noise_std, steps=self.phase_steps, rows_forgotten=self.rows_forgotten,
            requests=len(self.history), constants=self.constants(), history=self.history,
            arithmetic=accounting.ARITHMETIC_MODEL, noise_secrecy=noise_secrecy, record=self.record(),
        )

    def certificate(self, noise_secrecy):
        """The certificate of this state: no claim before any request, else the unlearning one."""
        if not self.history:
            return self.training_certificate(noise_secrecy)
        return self.unlearning_certificate(noise_secrecy)


_LEDGERS = {"strongly-convex": StronglyConvexLedger, "post-processing": PostProcessingLedger}


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
