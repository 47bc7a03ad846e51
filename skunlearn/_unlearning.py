"""What the estimators share: the published state, forget requests, and the unlearn /
partial_unlearn orchestration.

Every request and every fit is all-or-nothing, for threads and for
asynchronous exceptions alike: the complete new :class:`~skunlearn._state.FittedState`
is built aside (new arrays, the published ones never written) and published by
the one assignment ``self._state = new``. Requests and fits on one estimator
are serialised by a lock (a second thread waits, it never interleaves), and
``predict`` reads the published state once.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from numbers import Integral
from typing import Any, NamedTuple, TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from ._backends import NoiseStream, Slots, get_backend
from ._backends.codes import is_block_read_array
from .certificate import UnlearningCertificate, parameter_hash
from ._pipeline_scope import remember_pipeline, warn_if_pipeline_leaks
from .predictor import CertifiedPredictor
from ._requests import parse_forget_request, request_positions, training_index
from ._state import (FittedState, fitted_attribute, is_cluster_store, is_disk_store, layout_slots, restore_rows,
                     row_blocks, rows_to_scrub_in_place, scrub_rows, state_field, writeable_in_place, zero_rows)
from ._validation import (check_classification_targets, check_is_fitted, check_sample_weight, fit_context,
                          validate_data)

_LOGGER = logging.getLogger("skunlearn")

__all__ = ["UnlearningMixin", "certified_device"]

#: The estimator a request returns: ``unlearn`` returns its own estimator.
_Estimator = TypeVar("_Estimator", bound="UnlearningMixin")


def certified_device(device: str) -> str:
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


class Phase(NamedTuple):
    """One kernel run: ``epochs`` epochs of ``config``, the parameters first clipped to the ball ``clip_to``."""

    name: str
    config: object
    epochs: int
    clip_to: float | None = None


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """What an estimator decides for a fit from public quantities (its ``_plan_fit``); the engine carries it out.

    ``prepare_rows`` (optional) maps the slot-ordered rows to the ones the
    kernels read (the logistic model's row scaling, on the fit's own copy);
    ``ledger`` is the ledger after ``training``; ``config`` and ``attributes``
    are the state's config and the estimator's own fitted attributes
    (``reports_final_loss``: also ``loss_``, the last epoch's loss, as
    ``MLPClassifier`` has it).
    """

    batch_size: int
    initial_params: Callable[[np.random.Generator], np.ndarray]
    training: Phase
    ledger: Any
    config: Mapping[str, Any]
    attributes: Mapping[str, Any]
    prepare_rows: Callable[[Any], Any] | None = None
    extra_columns: int = 0
    store: Any = None
    reports_final_loss: bool = False


def _validated_cluster_rows(shadow, X, y):
    """A Dask array X checked on the cluster (2-D, known row chunks, finite; float32 kept, else float64), y locally.

    The rows are read once, by the workers, for the finiteness check; nothing
    of X comes to the client.
    """
    if X.ndim != 2 or any(math.isnan(size) for size in X.shape):
        raise ValueError(f"a Dask array X must be 2-D with known chunk sizes, got shape {X.shape}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"need at least 2 rows and 1 feature, got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not bool(np.isfinite(X).all().compute()):
        raise ValueError("Input X contains NaN or infinity.")
    return X, _labels_for_rows(shadow, X, y)


def _validated_block_rows(shadow, X, y):
    """A zarr array or h5py dataset X checked a block at a time (2-D, finite), never read whole; y locally."""
    if len(X.shape) != 2:
        raise ValueError(f"Expected a 2-D array X, got an array of shape {tuple(X.shape)}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"need at least 2 rows and 1 feature, got shape {tuple(X.shape)}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
            or np.issubdtype(X.dtype, np.bool_)):
        raise ValueError(f"X must hold real numbers, got an array of dtype {X.dtype}")
    for start, stop, rows in row_blocks(X):
        if not np.isfinite(rows).all():
            raise ValueError(f"Input X contains NaN or infinity (in rows {start} to {stop - 1}).")
    return X, _labels_for_rows(shadow, X, y)


def _labels_for_rows(shadow, X, y):
    """y as a 1-D array of X's length (scikit-learn's messages), for an X that ``validate_data`` does not read;
    records ``n_features_in_`` on the validation shadow."""
    from sklearn.utils import column_or_1d

    y = column_or_1d(y, warn=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {[X.shape[0], y.shape[0]]}")
    shadow.n_features_in_ = int(X.shape[1])
    return y


def _clip_to_ball(params, radius):
    """``params`` scaled onto the L2 ball of ``radius`` when outside it (in place)."""
    norm = float(np.linalg.norm(params))
    if norm > radius:
        params *= params.dtype.type(radius / norm)
    return params


class UnlearningMixin:
    """``unlearn``, ``partial_unlearn`` and the published state of an estimator.

    The estimator provides ``_plan_fit(n_samples, n_features, classes, *, sparse, weight_bound,
    bound_inferred, on_cluster) -> FitPlan`` (from public quantities only; :meth:`_build_state` carries it out),
    ``_request_phases(state, start_ledger, end_ledger, epochs) -> (phases, ledger, counted_finetune_epochs)``
    (a request's noisy epochs, then its noise-free ones, as :class:`Phase` objects the mixin runs; the
    noise-free epochs the ledger counts, or None where it does not count them)
    and ``_parameter_attributes(params, config)`` (the public attributes that
    depend on the parameters; ``config`` is the state's ``config``).
    """

    #: Give up (and change nothing) when the target needs more unlearning epochs.
    max_unlearning_epochs = 10_000

    #: Sparse input the estimator accepts (``"csr"``), or False: dense only.
    _SPARSE_INPUT = False

    classes_ = fitted_attribute()
    n_features_in_ = fitted_attribute()
    feature_names_in_ = fitted_attribute()
    training_index_ = fitted_attribute()
    certificate_ = fitted_attribute()
    removed_indices_ = fitted_attribute()
    n_retained_ = fitted_attribute()
    n_iter_ = fitted_attribute()
    delta_ = fitted_attribute()

    _X_slots = state_field()
    _y_slots = state_field()
    _weight = state_field()
    _slot_of = state_field()
    _removed_mask = state_field()
    _batch_bounds = state_field()
    _params = state_field()
    _noise_key = state_field()
    _noise_counter = state_field()
    _noise_secrecy = state_field()
    _ledger = state_field()

    # The published state, its lock, pickling ---------------------------------------

    def __sklearn_is_fitted__(self):
        return self.__dict__.get("_state") is not None

    @property
    def _request_lock(self):
        # dict.setdefault is atomic: two threads get the same lock. Not pickled (see __getstate__).
        return self.__dict__.setdefault("_lock", threading.RLock())

    def __getstate__(self):
        # Under the request lock, with the dense slot array copied: a request scrubs the forgotten rows of
        # that array in place (see _process_request), and pickle serialises the arrays after this returns.
        with self._request_lock:
            state = dict(super().__getstate__())  # a copy: never drop the lock from the live instance
            state.pop("_lock", None)
            state.pop("_pipeline", None)  # a weak reference (not picklable); only a warning reads it
            published = state.get("_state")
            rows = None if published is None else published.X_slots
            where = (f"in a file (store={self.store!r})" if rows is not None and is_disk_store(rows) else
                     "on a Dask cluster (store='dask')" if rows is not None and is_cluster_store(rows) else None)
            if where is not None:
                raise TypeError(
                    f"this {type(self).__name__} keeps its training rows {where}, which a pickle cannot carry "
                    "safely: pickle model.export() (the predictor, no rows), or refit from the data")
            if published is not None and writeable_in_place(published.X_slots):
                state["_state"] = published.replace(X_slots=published.X_slots.copy())
        return state

    def _published(self):
        """The published state, read once (raises NotFittedError before fit)."""
        check_is_fitted(self)
        return self.__dict__["_state"]

    @fit_context
    def fit(self: _Estimator, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> _Estimator:
        """Train on ``(X, y)`` with projected noisy SGD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Finite; float32 stays float32. Sparse input (CSR; other formats
            are converted) is for :class:`~skunlearn.NoisyLogisticRegression`
            and stays sparse: the kernels touch only its non-zeros, the noise
            is the dense one, and the model and certificate are those of the
            same rows given densely (to rounding). Data on disk: a NumPy
            memmap, or a zarr array or h5py dataset, which is checked and
            then copied into slot order a block of whole chunks at a time
            (two sequential reads, never the whole array in memory); with
            ``store=`` a directory, fit then needs no memory for the rows. A
            Dask array needs ``store="dask"``.
        y : array-like of shape (n_samples,)
            Class labels (any hashable type, at least two classes).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative row weights multiplying each row's loss, as in
            ``SGDClassifier`` and ``MLPClassifier``. The logistic model's
            weights are times ``class_weight`` (a row of weight 2 pulls as two
            rows in its batch) and its certificate charges the largest weight
            (see ``max_sample_weight``); the MLP's batch loss is the weighted
            mean over its retained rows and its certificate does not depend on
            the loss (noisy fine-tuning as post-processing, Koloskova et al.
            2025), so weights leave it unchanged.

        Returns
        -------
        self
        """
        return self._fit_and_publish(X, y, sample_weight=sample_weight)

    def _fit_and_publish(self, X, y, **options):
        """Build a whole new state from ``(X, y)`` (``sample_weight`` and slot overrides in ``options``) and publish it.

        The old state stays published until the new one is whole.
        """
        start = time.perf_counter()
        with self._request_lock:
            state = self._build_state(X, y, **options)
            self._state = state
        _LOGGER.info("%s: fitted on %d rows in %.2f s", type(self).__name__, state.removed_mask.size,
                     time.perf_counter() - start)
        remember_pipeline(self)  # a direct request to a pipeline's final step can then warn (PrivacyLeakWarning)
        return self

    def _build_state(self, X, y, *, sample_weight=None, slot_order=None, noise_key=None, inert_rows=None):
        """A whole fitted state from ``(X, y)``: validation, the estimator's plan, the layout, the training.

        ``slot_order``, ``noise_key`` and ``inert_rows`` may fix the layout and
        the noise (see :func:`skunlearn._state.layout_slots`).
        """
        certified_device(self.device)
        refusal = self._cluster_rows_refusal() if is_cluster_store(X) else None
        if refusal is not None:
            raise ValueError(refusal)  # before the rows are read
        X, y_codes, classes, features = self._validate_training_data(X, y, accept_sparse=self._SPARSE_INPUT)
        row_weight, weight_bound, bound_inferred = self._row_weights(sample_weight, X, y_codes, classes)
        n_samples, n_features = X.shape
        # The accounting first, from public quantities: a refused setting leaves the estimator untouched.
        plan = self._plan_fit(n_samples, n_features, classes, sparse=sp.issparse(X), weight_bound=weight_bound,
                              bound_inferred=bound_inferred, on_cluster=is_cluster_store(X))
        slots, init_rng = layout_slots(X, y_codes, plan.batch_size, self.random_state,
                                       extra_columns=plan.extra_columns, store=plan.store, row_weight=row_weight,
                                       slot_order=slot_order, noise_key=noise_key, inert_rows=inert_rows)
        if plan.prepare_rows is not None:
            slots["X_slots"] = plan.prepare_rows(slots["X_slots"])
        loss_curve = []
        params, stream = self._run_phases(
            plan.initial_params(init_rng), Slots(slots["X_slots"], slots["y_slots"], slots["weight"],
                                                 slots["batch_bounds"]),
            [plan.training], NoiseStream(slots["noise_key"]), losses=loss_curve)
        parameters = self._parameter_attributes(params, plan.config)
        attributes = {
            **features, "classes_": classes, **plan.attributes, "loss_curve_": loss_curve,
            **({"loss_": loss_curve[-1]} if plan.reports_final_loss else {}),
            "certificate_": UnlearningCertificate(**plan.ledger.certificate_fields(slots["noise_secrecy"],
                                                                                   parameter_hash(parameters))),
            "removed_indices_": np.empty(0, dtype=np.int64), "n_retained_": n_samples, **parameters,
        }
        return FittedState(**dict(slots, noise_counter=stream.counter), params=params, ledger=plan.ledger,
                           config=plan.config, attributes=attributes)

    # Training helpers --------------------------------------------------------------

    def _validate_training_data(self, X, y, accept_sparse=False):
        """Validated ``X`` (C order, float32 kept; CSR if sparse and ``accept_sparse``), class codes of ``y``, the
        class set, the feature attributes.

        The feature attributes include ``training_index_``, the index of a
        pandas ``X`` (its labels only): requests may then name rows by label.

        The class set is the ``classes`` parameter when given (public
        information, as in ``SGDClassifier.partial_fit``), else the labels seen.
        scikit-learn's validation writes ``n_features_in_`` and
        ``feature_names_in_`` on a shadow of the estimator, so a failed fit
        changes nothing.
        """
        index = training_index(X)
        shadow = type(self).__new__(type(self))
        shadow.__dict__.update(self.get_params(deep=False), _validation_shadow=True)
        if is_cluster_store(X):
            X, y = _validated_cluster_rows(shadow, X, y)
        elif is_block_read_array(X):
            X, y = _validated_block_rows(shadow, X, y)
        else:
            X, y = validate_data(shadow, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2, order="C",
                                 accept_sparse=accept_sparse)
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
        features = {name: shadow.__dict__[name] for name in ("n_features_in_", "feature_names_in_")
                    if name in shadow.__dict__}
        if index is not None:
            features["training_index_"] = index
        return X, y_codes, classes, features

    def _row_weights(self, sample_weight, X, y_codes, classes):
        """Each row's weight ``sample_weight × class_weight[y]`` and the bound W the certificate charges.

        Returns ``(weights, bound, inferred)``: ``(None, None, False)`` when
        neither is given (every weight is 1). The bound is public — and any
        request may be served — when it comes from the estimator's parameters:
        ``max_sample_weight`` times the largest class weight, or, without
        ``sample_weight``, the largest class weight over the class set.
        Otherwise it is the largest row weight seen (``inferred``): a request
        that would forget every retained row of that weight is then refused
        (see :meth:`_check_weight_bound_holds`), since the noise was calibrated
        for it.
        """
        class_weight = getattr(self, "class_weight", None)
        max_sample_weight = getattr(self, "max_sample_weight", None)
        if sample_weight is None and class_weight is None:
            if max_sample_weight is not None and max_sample_weight < 1:
                raise ValueError(f"max_sample_weight={max_sample_weight:g} is below the weight 1 of every row "
                                 "(no sample_weight was given)")
            return None, None, False
        if isinstance(class_weight, str):
            raise ValueError(
                'class_weight="balanced" weighs each class by its count among the training rows, and the counts '
                "change when a row is forgotten: the certifying retraining would weigh every row of that class "
                "differently. Pass class_weight as a dict computed from public class frequencies (for instance "
                "sklearn.utils.class_weight.compute_class_weight on a public sample)."
            )
        factors = np.ones(classes.size)
        if class_weight is not None:
            for label, value in class_weight.items():
                position = np.flatnonzero(classes == label)
                if position.size == 0:
                    raise ValueError(f"class_weight names the label {label!r}, which is not in the class set "
                                     f"{classes.tolist()!r}")
                if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value)
                        and value >= 0):
                    raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got {value!r}")
                factors[position] = float(value)
        weights = factors[y_codes]
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if max_sample_weight is not None and sample_weight.max() > max_sample_weight:
                raise ValueError(
                    f"sample_weight reaches {sample_weight.max():g}, above max_sample_weight={max_sample_weight:g}, "
                    "the public bound the certificate is calibrated for; raise max_sample_weight"
                )
            weights = weights * sample_weight
        if not np.any(weights > 0):
            raise ValueError("every row has weight zero (sample_weight times class_weight): nothing to train on")
        if max_sample_weight is not None:
            bound, inferred = float(max_sample_weight) * float(factors.max()), False
        elif sample_weight is None:
            bound, inferred = float(factors.max()), False
        else:
            bound, inferred = float(weights.max()), True
        if bound == 1.0 and np.all((weights == 0) | (weights == 1)):
            return weights, None, False  # weights 0 and 1 only: the unweighted constants and arithmetic
        return weights, bound, inferred

    def _run_backend(self, params, slots: Slots, config, n_epochs, stream: NoiseStream, phase, losses=None):
        """``n_epochs`` epochs of the phase ``config`` over ``slots``, noise from ``stream``: the one kernel call.

        One call for all epochs, or one per epoch with a progress line when
        ``verbose``; returns ``(params, stream after)``. ``params`` is updated
        in place: pass a copy of published parameters. ``losses`` (a list):
        each epoch's mean loss is appended.
        """
        if n_epochs <= 0:
            return params, stream
        backend = get_backend(certified_device(self.device), rows=slots.X)
        n_threads = self._kernel_threads()  # results never depend on it
        per_call = n_epochs if not self.verbose else 1
        for done in range(0, n_epochs, per_call):
            reported = np.empty(per_call)
            start = time.perf_counter()
            try:
                params, stream = backend.run(params, slots, config, per_call, stream, n_threads=n_threads,
                                             losses=reported)
            except SystemError as error:
                # Ctrl-C inside a compiled kernel surfaces as "returned a result with an exception set".
                if isinstance(error.__cause__, KeyboardInterrupt):
                    raise error.__cause__ from None
                raise
            if losses is not None:
                losses.extend(float(value) for value in reported)
            if self.verbose:
                print(f"[{type(self).__name__}] {phase} epoch {done + 1}/{n_epochs}, loss {reported[-1]:.4g}, "
                      f"parameter norm {np.linalg.norm(params):.4g}, {time.perf_counter() - start:.3f} s")
        return params, stream

    def _run_phases(self, params, slots: Slots, phases, stream: NoiseStream, losses=None):
        """Run ``phases`` in order over ``slots`` (each clipped first where it says so): ``(params, stream)``."""
        for phase in phases:
            if phase.clip_to is not None:
                params = _clip_to_ball(params, phase.clip_to)
            params, stream = self._run_backend(params, slots, phase.config, phase.epochs, stream, phase.name,
                                               losses=losses)
        return params, stream

    def _kernel_threads(self):
        """Threads for the kernels (scikit-learn's ``n_jobs`` convention); None: numba's default."""
        return None

    def _cluster_rows_refusal(self):
        """Why a Dask array X is refused (a message), or None where the estimator takes one."""
        return (f"{type(self).__name__} trains in memory: pass a NumPy array (a Dask array X is for "
                'NoisyLogisticRegression(store="dask", batch_size=None))')

    def _certifying_fit(self, X, y, rows, *, slot_order=None, noise_key=None):
        """Train as the certificate's certifying procedure does: ``rows`` are inert from the first step.

        Their slots stay in the cyclic order with zero weight, so a later
        ``unlearn(rows)`` runs exactly the steps the certificate compares with
        (used by :mod:`skunlearn.audit`). ``slot_order`` and ``noise_key``
        override the draws from ``random_state`` (see :func:`skunlearn._state.layout_slots`).
        """
        return self._fit(X, y, slot_order=slot_order, noise_key=noise_key, inert_rows=rows)

    def _fit(self, X, y, *, sample_weight=None, slot_order=None, noise_key=None, inert_rows=None):
        """``fit``, with the slot layout and noise key optionally fixed (see :func:`skunlearn._state.layout_slots`)."""
        return self._fit_and_publish(X, y, sample_weight=sample_weight, slot_order=slot_order, noise_key=noise_key,
                                     inert_rows=inert_rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # Requests ----------------------------------------------------------------------

    def unlearn(self: _Estimator, indices: ArrayLike | None = None, *,
                positions: ArrayLike | None = None) -> _Estimator:
        """Forget training rows and fine-tune until the certificate meets the target.

        Name the rows in exactly one of two ways:

        * ``unlearn(labels)`` with a pandas ``Index`` (or ``Series``) when
          ``fit`` saw a pandas DataFrame: index labels, as in
          ``model.unlearn(X_train.index[[0, 1]])`` or
          ``model.unlearn(X_train.loc[X_train.user == "bob"].index)``. A
          boolean ``Series`` names the labels of its True entries. Labels are
          matched against ``training_index_``; an unknown label, or a fit
          index that repeats labels, is refused.
        * ``unlearn(positions=[...])``: positions in the ``X`` given to
          ``fit`` (integers or a boolean mask), whatever its index.

        Plain integers (a list or an ndarray) given as ``indices`` are read
        as positions only where that cannot be mistaken for labels: when fit
        saw a plain array, or a DataFrame whose labels are its positions
        (``0, 1, ..., n-1``). Otherwise they are refused, as is a pandas Index
        when fit saw a plain array: the message says how to say it.

        Parameters
        ----------
        indices : pandas Index or Series, array-like of int, or boolean mask of shape (n_samples,)
            The rows to forget: index labels (pandas), or positions where
            unambiguous (see above). An empty request changes nothing.
        positions : array-like of int or boolean mask of shape (n_samples,), optional
            The rows to forget as positions in the ``X`` given to ``fit``
            (they stay valid across requests); give this or ``indices``, not
            both.

        Returns
        -------
        self
            Fitted estimator with an updated ``certificate_``;
            ``removed_indices_`` lists positions (their labels are
            ``training_index_[removed_indices_]``).

        Raises
        ------
        ValueError, TypeError
            For an ambiguous request (see above), an unknown label, an index
            out of range, negative, non-integer, repeated or already forgotten,
            a mask of the wrong length, a request that would forget every row,
            or a target out of reach; the estimator is left exactly as it was.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyLogisticRegression(random_state=0).fit(X, y)
        >>> model.unlearn([0, 50]).certificate_.satisfied
        True
        >>> model.unlearn(positions=[1]).removed_indices_.tolist()
        [0, 1, 50]
        >>> model.unlearn([0])
        Traceback (most recent call last):
        ...
        ValueError: rows already forgotten: [0]

        By label, after ``train_test_split`` on a DataFrame:

        >>> from sklearn.model_selection import train_test_split
        >>> X, y = load_iris(return_X_y=True, as_frame=True)
        >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        >>> model = NoisyLogisticRegression(random_state=0).fit(X_train, y_train)
        >>> X_train.index[:2].tolist()
        [61, 92]
        >>> model.unlearn(X_train.index[:2]).removed_indices_.tolist()  # the first two rows of X_train
        [0, 1]
        >>> model.training_index_[model.removed_indices_].tolist()
        [61, 92]
        >>> model.unlearn([5])
        Traceback (most recent call last):
        ...
        ValueError: ambiguous request: fit saw a pandas DataFrame whose index labels are not its positions ...
        """
        return self._process_request(indices, positions, max_epochs=None, required=True)

    def partial_unlearn(self: _Estimator, indices: ArrayLike | None = None, *, positions: ArrayLike | None = None,
                        max_epochs: int = 1) -> _Estimator:
        """Register rows to forget (if given) and run at most ``max_epochs`` noisy epochs.

        The anytime form of :meth:`unlearn`: ``certificate_`` is updated and may
        not meet the target yet (``certificate_.satisfied is False``); further
        calls drive ε down. Stops early once the target is met. Rows are named
        as in :meth:`unlearn`: a pandas ``Index`` (or ``Series``) of index
        labels when ``fit`` saw a DataFrame, or ``positions=``; plain integers
        as ``indices`` only where they cannot be mistaken for labels.

        Parameters
        ----------
        indices : pandas Index or Series, array-like of int, boolean mask, or None
            Rows to forget now, as in :meth:`unlearn`; None (and no
            ``positions``) only continues fine-tuning.
        positions : array-like of int, boolean mask, or None
            Rows to forget now as positions in the ``X`` given to ``fit``;
            give this or ``indices``, not both.
        max_epochs : int, default=1
            Most noisy epochs to run in this call (≥ 0).

        Returns
        -------
        self

        Examples
        --------
        Register 20 rows now, run the epochs later, one call each (the rows
        leave the model at once; the certificate reaches its target when the
        epochs have run):

        >>> from sklearn.datasets import load_wine
        >>> from skunlearn import NoisyLogisticRegression
        >>> wine = NoisyLogisticRegression(random_state=0).fit(*load_wine(return_X_y=True))
        >>> wine.partial_unlearn(positions=list(range(20)), max_epochs=0).certificate_.satisfied
        False
        >>> while not wine.certificate_.satisfied:
        ...     _ = wine.partial_unlearn(max_epochs=1)
        >>> wine.certificate_.requests, wine.n_retained_
        (1, 158)
        """
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, Integral) or max_epochs < 0:
            raise ValueError(f"max_epochs must be an integer >= 0, got {max_epochs!r}")
        self._process_request(indices, positions, max_epochs=int(max_epochs), required=False)
        if max_epochs == 0 and not self.certificate_.satisfied:
            warnings.warn(
                "partial_unlearn(max_epochs=0) registered the rows without a noisy epoch: the certificate is "
                f"{self.certificate_.epsilon:g} until partial_unlearn(max_epochs >= 1) runs the epochs it needs",
                UserWarning, stacklevel=2,
            )
        return self

    def export(self) -> CertifiedPredictor:
        """A predict-only copy for deployment that carries no training data.

        The estimator keeps the retained training rows (it needs them to serve
        later requests), so its pickle holds them. The export holds only what
        prediction needs: the parameters, the class set, the feature names and
        the current certificate; no row, no row label or position, no noise
        key or seed. Its size is that of the parameters.

        Returns
        -------
        CertifiedPredictor
            With ``predict``, ``predict_proba``, ``predict_log_proba``,
            ``decision_function``, ``score``, ``classes_`` and
            ``certificate_``; pickle-able. It does not change when the
            estimator later forgets rows: export again after each request.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn import NoisyMLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> model = NoisyMLPClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
        >>> predictor = model.unlearn([0]).export()
        >>> bool((predictor.predict_proba(X) == model.predict_proba(X)).all()), predictor.certificate_.satisfied
        (True, True)
        """
        return CertifiedPredictor(self)

    @staticmethod
    def _check_classes_survive(state, classes_fixed, new_slots):
        """Refuse a request that would leave a class with no retained row unless ``classes`` fixed the set.

        The class set (and with it the model's shape and constants) is part of
        what the certifying procedure uses; learnt from the data, it would
        reveal that a forgotten row was the last of its class. With the
        ``classes`` parameter the set is public and such a request is fine.
        """
        if classes_fixed or new_slots.size == 0:
            return
        classes = state.attributes["classes_"]
        retained = np.ones(state.weight.size, dtype=bool)  # by slot; weights may be 0 for retained rows too
        retained[state.slot_of[state.removed_mask]] = False
        before = np.bincount(state.y_slots[retained], minlength=classes.size)
        removed = np.bincount(state.y_slots[new_slots], minlength=classes.size)
        emptied = np.flatnonzero((before > 0) & (before == removed))
        if emptied.size:
            raise ValueError(
                f"the request would forget every retained row of class {classes[emptied].tolist()}; the model's "
                "class set would then depend on the forgotten rows. Nothing was changed. Pass the public class set "
                f"at fit (classes={classes.tolist()!r}) to allow it."
            )

    @staticmethod
    def _check_weight_bound_holds(state, weight):
        """Refuse a request that would forget every retained row of the largest weight, when that bound was inferred.

        The noise was calibrated for the largest row weight W; learnt from
        ``sample_weight``, the certifying retraining on the retained rows would
        use a smaller bound if the request took every row of weight W. With
        ``max_sample_weight`` the bound is public and such a request is fine.
        ``weight`` is the slots' weights after the request.
        """
        bound = state.config.get("inferred_weight_bound")
        if bound is not None and weight.max() < bound:
            raise ValueError(
                f"the request would forget every retained row of the largest sample weight ({bound:g}), which the "
                "certificate's noise was calibrated for; the bound would then depend on the forgotten rows. Nothing "
                f"was changed. Refit with that bound given as public information (max_sample_weight=...) to allow it."
            )

    def _process_request(self, indices, positions, max_epochs, required):
        warn_if_pipeline_leaks(self)
        with self._request_lock:
            state = self._published()
            rows, labels = request_positions(indices, positions, state.attributes.get("training_index_"))
            new_ids = parse_forget_request(rows, state.removed_mask.size, state.removed_mask, required=required,
                                           labels=labels)
            if new_ids.size == 0 and max_epochs is None:
                return self
            new_slots = state.slot_of[new_ids]
            self._check_classes_survive(state, self.classes is not None, new_slots)
            # The new weights: a copy with the forgotten slots zeroed (the published array is never written).
            weight = state.weight.copy()
            weight[new_slots] = 0
            self._check_weight_bound_holds(state, weight)
            ledger = state.ledger.with_removed(new_slots) if new_ids.size else state.ledger
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

            # The new arrays, with the forgotten rows scrubbed. A dense, writeable X is scrubbed in place (a copy
            # of X costs as much as an epoch at scale): the rows' values are saved first and put back if anything
            # below fails or is interrupted, so a request is still all-or-nothing. Sparse or read-only X (joblib
            # may memory-map it): a scrubbed copy, the published array never written.
            X_slots, y_slots, removed_mask = state.X_slots, state.y_slots, state.removed_mask
            # joblib may memory-map the arrays read-only; a cluster store is never written (scrub_rows builds anew)
            writeable = (X_slots.data.flags.writeable if sp.issparse(X_slots) else
                         True if is_cluster_store(X_slots) else X_slots.flags.writeable)
            saved_rows = None
            try:
                if new_ids.size or not writeable:
                    saved_rows = rows_to_scrub_in_place(X_slots, new_slots)
                    if saved_rows is None:
                        X_slots = scrub_rows(X_slots, new_slots)
                    else:
                        zero_rows(X_slots, new_slots)
                    y_slots, removed_mask = y_slots.copy(), removed_mask.copy()
                    y_slots[new_slots] = 0
                    removed_mask[new_ids] = True
                self._finish_request(state, ledger, epochs, weight, new_ids, X_slots, y_slots, removed_mask)
            except BaseException:
                if saved_rows is not None and self.__dict__.get("_state") is state:  # not published: put back
                    restore_rows(state.X_slots, new_slots, saved_rows)
                raise
        return self

    def _finish_request(self, state, ledger, epochs, weight, new_ids, X_slots, y_slots, removed_mask):
        """The request's epochs, history entry and new state, published by one reference swap."""
        start_ledger, ledger = ledger, ledger.advanced(epochs)
        phases, ledger, quiet_epochs = self._request_phases(state, start_ledger, ledger, epochs)
        params, stream = self._run_phases(np.array(state.params, copy=True),
                                          Slots(X_slots, y_slots, weight, state.batch_bounds), phases,
                                          NoiseStream(state.noise_key, state.noise_counter))
        # The history lives in the ledger (never read back from the public certificate_): a new request opens
        # an entry, a continuation (partial_unlearn without rows) adds its epochs to the last one.
        history = start_ledger.history
        if new_ids.size or history:
            if new_ids.size:
                entry = {"rows": int(new_ids.size), "epochs": 0}
            else:
                entry, history = dict(history[-1]), history[:-1]
            entry["epochs"] += int(epochs)
            if quiet_epochs is not None:  # noise-free epochs the ledger counted (see _request_phases)
                entry["finetune_epochs"] = entry.get("finetune_epochs", 0) + int(quiet_epochs)
            entry["epsilon"], entry["delta"] = ledger.guarantee()
            history = history + (entry,)
        ledger = ledger.with_history(history)
        removed = np.flatnonzero(removed_mask)
        parameters = self._parameter_attributes(params, state.config)
        new_state = state.replace(
            X_slots=X_slots, y_slots=y_slots, weight=weight, removed_mask=removed_mask, params=params,
            noise_counter=stream.counter, ledger=ledger,
            attributes={**parameters,
                        "certificate_": UnlearningCertificate(**ledger.certificate_fields(state.noise_secrecy,
                                                                                          parameter_hash(parameters))),
                        "removed_indices_": removed, "n_retained_": int(removed_mask.size - removed.size)},
        )
        self._state = new_state  # publish: the one reference swap
        certificate = new_state.attributes["certificate_"]  # read, not recomputed
        _LOGGER.info("%s: forgot %d row(s) with %d noisy + %d noise-free epoch(s); certificate (%.4g, %.3g), %s",
                     type(self).__name__, int(new_ids.size), int(epochs), int(quiet_epochs or 0),
                     certificate.epsilon, certificate.delta,
                     "satisfied" if certificate.satisfied else "NOT satisfied yet")
