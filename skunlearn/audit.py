"""Measure, from the outside, that an unlearning certificate holds.

A certificate says that the model after ``unlearn`` is (ε, δ)-indistinguishable
from the output of the certifying procedure, which never trained on the
forgotten row. :func:`audit_unlearning` runs both many times with fresh noise,
reduces every model to one number (the loss on the target row by default) and
turns the two samples into an empirical lower bound on ε, in the style of
differential-privacy auditing (Jagielski, Ullman & Oprea, NeurIPS 2020; Nasr et
al., IEEE S&P 2021): for any threshold test with false-positive rate α and
true-positive rate β, (ε, δ)-indistinguishability implies
``β ≤ e^ε α + δ`` and ``1 − α ≤ e^ε (1 − β) + δ``, so

    ε ≥ max( log((β − δ)/α), log((1 − α − δ)/(1 − β)) ).

With α and β replaced by their one-sided Clopper–Pearson bounds (β from below,
α from above) the bound holds with the requested confidence *for a test fixed
before the samples it is computed on are seen*. The audit therefore splits
each arm's trials in two disjoint parts: the *selection* part (the first
``n_trials // 2`` trials of each arm by default, ``selection_fraction`` of
them) chooses the threshold and its direction, and the *held-out* part (the
other trials) alone gives the rates and their
Clopper–Pearson bounds, with one test and two one-sided bounds (each at
``1 − (1 − confidence)/2``), so the coverage is exact. (Choosing the best of
many quantile thresholds on the very samples it bounds, even with a Bonferroni
correction over a grid that itself depends on the samples, does not give
exact coverage.) An audit is only as strong as its target: :func:`make_canary`
builds the row that is hardest to forget.

With ``pin_layout=True`` the audit takes the strongest attacker the certificate
must resist: one who knows the batch order. Every trial of both arms then uses
one batch order, drawn once, with the target in the last slot (in the last,
smallest batch: the slot the certificate covers worst), and only the noise key
changes from trial to trial. Batch-order randomness, which can hide a failure, is gone: a
procedure whose noise is below the resolution of its binary64 parameters gives
the same model in every trial of an arm, and the arms are told apart every time.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike
from joblib import Parallel, delayed
from scipy.stats import beta as beta_distribution
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

__all__ = ["AuditResult", "audit_unlearning", "clopper_pearson", "make_canary", "membership_inference_auc"]


def clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : int
    confidence : float
        Coverage of the interval, e.g. 0.95.

    Returns
    -------
    tuple of float
        ``(lower, upper)``.

    Examples
    --------
    >>> lower, upper = clopper_pearson(0, 100, 0.95)
    >>> lower, round(upper, 4)
    (0.0, 0.0362)
    """
    if not 0 <= successes <= trials or trials < 1:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    tail = (1.0 - confidence) / 2.0
    lower = 0.0 if successes == 0 else float(beta_distribution.ppf(tail, successes, trials - successes + 1))
    upper = 1.0 if successes == trials else float(beta_distribution.ppf(1 - tail, successes + 1, trials - successes))
    return lower, upper


def _epsilon_from_rates(tpr, fpr, delta):
    """The ε that rates (β = tpr, α = fpr) force, both directions of the definition."""
    candidates = [0.0]
    if fpr > 0 and tpr - delta > 0:
        candidates.append(math.log((tpr - delta) / fpr))
    if 1 - tpr > 0 and 1 - fpr - delta > 0:
        candidates.append(math.log((1 - fpr - delta) / (1 - tpr)))
    if fpr == 0 and tpr - delta > 0:
        candidates.append(math.inf)
    return max(candidates)


@dataclasses.dataclass(frozen=True)
class AuditResult:
    """The outcome of :func:`audit_unlearning`.

    Attributes
    ----------
    epsilon_lower_bound : float
        ε that the observations force with the stated confidence (Clopper–Pearson).
    epsilon_point_estimate : float
        The same from the rates themselves, smoothed by half a count (no confidence correction).
    certified_epsilon, delta : float
        What the certificate claims.
    threshold : float
        The best test: "statistic ≤ threshold" (or ≥ when ``direction`` is "above").
    direction : str
        Both are chosen on the selection part of the trials.
    tpr_interval, fpr_interval : tuple of float
        Two-sided Clopper–Pearson intervals (at ``confidence``) of the chosen
        test's rates on the held-out part; their lower and upper ends are the
        one-sided bounds behind ``epsilon_lower_bound``.
    confidence : float
    n_trials : int
        Trials per arm, both halves.
    statistic : str
    unlearned_statistics, certifying_statistics : ndarray
        Every trial's statistic, in trial order: the first ``n_trials - n_held_out``
        chose the test, the last ``n_held_out`` bounded it.
    pin_layout : bool
        Whether one batch order, the target in the last slot, served every trial (only the noise varied).
    n_held_out : int
        Trials per arm of the held-out part, the only ones the bound reads.
    """

    epsilon_lower_bound: float
    epsilon_point_estimate: float
    certified_epsilon: float
    delta: float
    threshold: float
    direction: str
    tpr_interval: tuple[float, float]
    fpr_interval: tuple[float, float]
    confidence: float
    n_trials: int
    statistic: str
    unlearned_statistics: np.ndarray = dataclasses.field(repr=False)
    certifying_statistics: np.ndarray = dataclasses.field(repr=False)
    pin_layout: bool = False
    n_held_out: int = 0

    @property
    def consistent(self) -> bool:
        """Whether the observations are consistent with the certificate."""
        return self.epsilon_lower_bound <= self.certified_epsilon

    def __str__(self) -> str:
        return (f"certified epsilon {self.certified_epsilon:.3g} at delta {self.delta:.2g}; empirical lower bound "
                f"{self.epsilon_lower_bound:.3g} ({self.confidence:.0%} confidence; point estimate "
                f"{self.epsilon_point_estimate:.3g}) from {self.n_trials} + {self.n_trials} trials of the "
                f"{self.statistic} statistic (test chosen on {self.n_trials - self.n_held_out} + "
                f"{self.n_trials - self.n_held_out}, bounded on the {self.n_held_out} + {self.n_held_out} held out)" + (", batch order pinned (target in the last slot)"
                                                  if self.pin_layout else ""))


def _loss_statistic(model, x, y):
    classes = list(model.classes_)
    return float(-model.predict_log_proba(x[None, :])[0, classes.index(y)])


def _margin_statistic(model, x, y):
    """The target class's logit minus the largest other one: the parameters projected on the target."""
    scores = np.atleast_2d(model.decision_function(x[None, :]))
    classes = list(model.classes_)
    if scores.shape[1] == 1:  # binary: one score for the positive class
        score = float(scores[0, 0])
        return score if classes.index(y) == 1 else -score
    k = classes.index(y)
    others = np.delete(scores[0], k)
    return float(scores[0, k] - others.max())


class _Projection:
    """The parameters projected on the target's gradient direction, centred on a reference model.

    ``w = e_y − p_ref(x)`` (the target's class against the others, weighted by a
    reference model's probabilities; for a binary model, the sign of the target's
    class), ``x̃`` the target row as the estimator scales it. For an estimator with
    ``coef_``, ``intercept_`` and ``data_norm`` (NoisyLogisticRegression) the value
    is ``Σ_k w_k (θ_k − θ_ref,k) · x̃``, summed exactly (``math.fsum``) so that
    parameters a few ulps apart give different values; otherwise (NoisyMLPClassifier)
    it is ``Σ_k w_k (log p_k(x) − log p_ref,k(x))``, in binary64: the same contrast
    of the network's logits, since the weights sum to zero.
    """

    __name__ = "projection"

    def __init__(self, reference, x, y):
        x64 = np.asarray(x, dtype=np.float64)[None, :]
        classes = list(reference.classes_)
        k = classes.index(y)
        self._linear = all(hasattr(reference, name) for name in ("coef_", "intercept_", "data_norm"))
        if self._linear:
            from ._constants import scale_rows

            self._row = scale_rows(x64, float(reference.data_norm))[0]
            self._reference = self._parameters(reference)
            if self._reference.shape[0] == 1:  # binary: one score, for classes_[1]
                self._weights = np.array([1.0 if k == 1 else -1.0])
            else:
                self._weights = -reference.predict_proba(x64)[0].astype(np.float64)
                self._weights[k] += 1.0
        else:
            self._row = x64
            self._reference = np.asarray(reference.predict_log_proba(x64)[0], dtype=np.float64)
            self._weights = -np.exp(self._reference)
            self._weights[k] += 1.0

    @staticmethod
    def _parameters(model):
        return np.hstack([np.asarray(model.coef_, dtype=np.float64),
                          np.asarray(model.intercept_, dtype=np.float64)[:, None]])

    def __call__(self, model, x, y):
        if self._linear:
            # θ − θ_ref is exact where the two are within a factor of two (Sterbenz), so is each product's
            # rounding tiny next to it, and fsum rounds the sum once: the last bits of θ are kept.
            difference = self._parameters(model) - self._reference
            return math.fsum((self._weights[:, None] * difference * self._row[None, :]).ravel())
        log_proba = np.asarray(model.predict_log_proba(self._row)[0], dtype=np.float64)
        return math.fsum(self._weights * (log_proba - self._reference))


_STATISTICS = {"loss": _loss_statistic, "margin": _margin_statistic, "projection": None}


def _trial(estimator, X, y, target_index, layout, certifying, unlearn):
    """Fit (or run the certifying procedure), then ``unlearn``.

    ``layout`` is ``(seed, slot_order, noise_key)``: the clone's ``random_state``,
    and, when ``slot_order`` is not None, the pinned batch order and this trial's
    noise key (only the key differs between pinned trials).
    """
    seed, slot_order, noise_key = layout
    with warnings.catch_warnings():
        # Every trial repeats the same fit and request: their warnings (noise that will dominate, a request run
        # without noisy epochs in a broken control) say nothing new after the first, and would be printed
        # thousands of times. The audit's result is what it reports.
        warnings.simplefilter("ignore", UserWarning)
        return _trial_quietly(estimator, X, y, target_index, seed, slot_order, noise_key, certifying, unlearn)


def _trial_quietly(estimator, X, y, target_index, seed, slot_order, noise_key, certifying, unlearn):
    model = clone(estimator).set_params(random_state=int(seed))
    if slot_order is None:
        if certifying:
            model._certifying_fit(X, y, [target_index])
        else:
            model.fit(X, y)
    else:
        model._validate_params()
        if certifying:
            model._certifying_fit(X, y, [target_index], slot_order=slot_order, noise_key=noise_key)
        else:
            model._fit(X, y, slot_order=slot_order, noise_key=noise_key)
    unlearn(model, target_index)
    return model


def _measured_trial(estimator, X, y, target_index, layout, certifying, unlearn, measure):
    model = _trial(estimator, X, y, target_index, layout, certifying, unlearn)
    return measure(model, X[target_index], y[target_index]), model.certificate_


def _default_unlearn(model, target_index):
    model.unlearn([target_index])


def audit_unlearning(
    estimator: BaseEstimator, X: ArrayLike, y: ArrayLike, *, target_index: int, n_trials: int,
    statistic: str | Callable[..., float] | None = None, confidence: float = 0.95, n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None, n_thresholds: int = 50,
    unlearn: Callable[[BaseEstimator, int], Any] | None = None, pin_layout: bool = False,
    selection_fraction: float = 0.5,
) -> AuditResult:
    """Empirical lower bound on the ε of unlearning one row, next to the certified ε.

    Runs ``n_trials`` of (fit on all rows, then ``unlearn([target_index])``)
    and ``n_trials`` of the certifying procedure the certificate compares with
    (the target row inert from the first step, its batch slot kept with zero
    weight, then the same request), in parallel through joblib (any joblib
    backend, a Dask cluster included, can carry large audits). Every model is
    reduced to a scalar statistic of the target row, and the two samples give
    the bound of the module docstring. The samples are split: the first
    ``selection_fraction`` of each arm's trials (half by default) choose the
    test (the best of ``n_thresholds`` quantile thresholds of their pooled values, in both
    directions), and the remaining trials, held out, give the Clopper–Pearson
    bound of that one test. The trials are independent, so the held-out part
    is independent of the choice and the bound's coverage is exact.

    By default every trial has its own seed, so the batch order and the noise
    both change between trials. With ``pin_layout=True`` the audit plays the
    attacker who knows the batch order: one order is drawn from
    ``random_state`` with the target in the last slot (the last, smallest batch,
    the slot the certificate covers worst), every trial of both arms uses it
    (and the same ``random_state`` for everything else, such as an MLP's
    initial weights), and only the 64-bit noise key changes, a fresh one per
    trial. The certificate must hold against this attacker too; a procedure
    whose noise vanishes in the rounding of its parameters is then a
    deterministic function of the data, and the two arms separate completely.

    Parameters
    ----------
    estimator : NoisyLogisticRegression or NoisyMLPClassifier
        Unfitted template; cloned for every trial with ``random_state`` set.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    target_index : int
        The row forgotten (use :func:`make_canary` for a strong audit).
    n_trials : int
        Trials per arm (at least 2): ``selection_fraction`` of them (at least
        one) choose the test, the rest (at least one) bound it.
    statistic : {"loss", "margin", "projection"}, callable or None, default=None
        ``"loss"``: cross-entropy of the target row. ``"margin"``: the target
        class's score minus the best other. ``"projection"``: the parameters
        projected on the target's gradient direction, centred on a reference
        model (an extra run of the certifying procedure, independent of the
        trials): ``Σ_k w_k (θ_k − θ_ref,k) · x̃`` with ``x̃`` the scaled target
        row and ``w = e_y − p_ref(x)`` (``±1`` for a binary model), summed
        exactly so that parameters a few ulps apart give different values;
        for an MLP, the same contrast of its log-probabilities. Or
        ``f(model, x_target, y_target) -> float``. None means ``"loss"``, and
        ``"projection"`` with ``pin_layout=True``. Why the projection: the
        target's influence on the parameters points along its gradient
        ``(p − e_y) ⊗ x̃``, and the noise is isotropic Gaussian, so for the
        (near-)linear dynamics of logistic regression the two arms are
        Gaussians with one covariance and means apart along that direction; a
        threshold on the projection is then the likelihood-ratio
        (most powerful) test. The loss is a monotone but saturating function
        of it, rounded after a logarithm; the margin mixes in a maximum and
        the rounding of the scores, which can hide differences in the last
        bits of the parameters: those are what a pinned audit must see.
    confidence : float, default=0.95
    n_jobs : int or None
        joblib parallelism. Estimator classes defined in ``__main__`` or a
        test module may not reach joblib's worker processes: use None. On a
        Dask cluster (the ``dask`` extra): run the audit inside
        ``joblib.parallel_config(backend="dask")`` with a
        ``distributed.Client`` connected; None then uses all its workers.
    random_state : int or None
        Seeds of the trials; with ``pin_layout=True``, the batch order and the
        noise keys. The same value gives the same audit.
    n_thresholds : int, default=50
        Candidate thresholds (quantiles of the selection part) the test is chosen from.
    unlearn : callable, optional
        ``f(model, target_index)`` run after fitting in both arms; defaults to
        ``model.unlearn([target_index])``. Exposed to audit deliberately broken
        procedures (the audit's own tests do).
    pin_layout : bool, default=False
        Fix the batch order, target in the last slot, for every trial of both
        arms and vary only the noise key (see above). Needs an estimator with
        ``_fit`` and ``_certifying_fit`` taking ``slot_order`` and
        ``noise_key`` (NoisyLogisticRegression, NoisyMLPClassifier).
    selection_fraction : float, default=0.5
        Share of each arm's trials that choose the test, in (0, 1). A
        threshold needs far fewer trials to choose than to bound tightly:
        a strong audit gives most of them to the held-out part (0.25 in
        ``benchmarks/bench_audit.py``'s tightness check).

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn import NoisyLogisticRegression
    >>> from skunlearn.audit import audit_unlearning, make_canary
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 4)), np.arange(40) % 2
    >>> X, y, canary = make_canary(X, y)
    >>> result = audit_unlearning(NoisyLogisticRegression(max_iter=5), X, y, target_index=canary,
    ...                           n_trials=20, random_state=0)
    >>> result.consistent
    True

    The attacker who knows the batch order:

    >>> pinned = audit_unlearning(NoisyLogisticRegression(max_iter=5), X, y, target_index=canary,
    ...                           n_trials=20, random_state=0, pin_layout=True)
    >>> pinned.statistic, pinned.pin_layout, pinned.consistent
    ('projection', True, True)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if not 0 <= int(target_index) < X.shape[0]:
        raise ValueError(f"target_index {target_index} is out of range for {X.shape[0]} rows")
    if int(n_trials) < 2:
        raise ValueError(f"n_trials must be at least 2, got {n_trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if not 0 < selection_fraction < 1:
        raise ValueError(f"selection_fraction must lie in (0, 1), got {selection_fraction}")
    if not isinstance(pin_layout, (bool, np.bool_)):
        raise TypeError(f"pin_layout must be True or False, got {pin_layout!r}")
    if statistic is None:
        statistic = "projection" if pin_layout else "loss"
    if isinstance(statistic, str) and statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {sorted(_STATISTICS)} or a callable, got {statistic!r}")
    statistic_name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "custom")
    unlearn = _default_unlearn if unlearn is None else unlearn
    n_trials, target_index = int(n_trials), int(target_index)
    rng = check_random_state(random_state)
    x_target, y_target = X[target_index], y[target_index]
    layouts: list[tuple[int, np.ndarray | None, int | None]]  # (seed, slot order, noise key) of each trial

    if pin_layout:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        others = np.delete(np.arange(X.shape[0]), target_index)
        slot_order = np.append(rng.permutation(others), target_index)  # the last slot: the last, smallest batch
        keys = [int(key) for key in rng.randint(0, 2**64, size=2 * n_trials + 1, dtype=np.uint64)]
        layouts = [(seed, slot_order, key) for key in keys]
    else:
        layouts = [(int(seed), None, None) for seed in rng.randint(np.iinfo(np.int32).max, size=2 * n_trials)]

    if statistic == "projection":
        # The reference: one more run of the certifying procedure (its own seed or noise key), drawn after
        # the trials' and independent of them, so the statistic is a fixed function of each trial's model.
        reference_layout = layouts[-1] if pin_layout else (int(rng.randint(np.iinfo(np.int32).max)), None, None)
        reference = _trial(estimator, X, y, target_index, reference_layout, True, unlearn)
        measure: Callable[..., float] = _Projection(reference, x_target, y_target)
    else:
        measure = _STATISTICS[statistic] if isinstance(statistic, str) else statistic

    # X and y travel as arguments, so joblib memory-maps them for its workers instead of pickling them per task.
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_measured_trial)(estimator, X, y, target_index, layouts[i], i >= n_trials, unlearn, measure)
        for i in range(2 * n_trials)
    )
    unlearned = np.array([value for value, _ in outputs[:n_trials]])
    certifying = np.array([value for value, _ in outputs[n_trials:]])
    # Each trial's certificate holds for its own batch order; the two arms are mixtures over the orders
    # drawn, and a mixture of pairs that are each (eps_i, delta_i)-close is (max eps_i, max delta_i)-close:
    # the audit tests the weakest claim (the same one for every trial when the layout is pinned).
    unlearning_certificates = [certificate for _, certificate in outputs[:n_trials]]
    certified_epsilon = max(certificate.epsilon for certificate in unlearning_certificates)
    # The bound is computed at the claim's δ; a certificate whose ε missed its target can carry a larger δ
    # (the grid sampler's failure share grows with e^ε), where no test could refute anything: cap at the target.
    certified_delta = max(min(certificate.delta, certificate.target_delta) for certificate in unlearning_certificates)
    result = _bound(unlearned, certifying, certified_epsilon, certified_delta, confidence, n_thresholds,
                    statistic_name, selection_fraction)
    return dataclasses.replace(result, pin_layout=bool(pin_layout))


def _test_counts(unlearned, certifying, threshold, direction):
    """How many statistics of each arm the test "≤ threshold" (or "≥") flags: ``(positives, negatives)``."""
    if direction == "below":
        return int(np.sum(unlearned <= threshold)), int(np.sum(certifying <= threshold))
    return int(np.sum(unlearned >= threshold)), int(np.sum(certifying >= threshold))


def _fixed_test_epsilon(positives, negatives, n, confidence, delta):
    """The Clopper–Pearson lower bound on ε and the half-count-smoothed point estimate of one fixed test.

    Two one-sided bounds (β from below, α from above), each at ``1 − (1 − confidence)/2``: the lower
    and upper ends of the two-sided intervals at ``confidence``. Both directions of the definition read
    the same two bounds (1 − α from below, 1 − β from above).
    """
    tpr_lower, _ = clopper_pearson(positives, n, confidence)
    _, fpr_upper = clopper_pearson(negatives, n, confidence)
    lower = max(_epsilon_from_rates(tpr_lower, fpr_upper, delta), 0.0)
    # Point estimate from half-count-smoothed rates: finite where a raw zero would give infinity.
    point = _epsilon_from_rates((positives + 0.5) / (n + 1), (negatives + 0.5) / (n + 1), delta)
    return lower, point


def _choose_test(unlearned, certifying, delta, confidence, n_thresholds):
    """The threshold and direction that look strongest on the selection part: ``(threshold, direction)``.

    Ranked by the bound the selection part itself would give, then by the point estimate. Only
    the selection part is read, so the held-out part stays independent of the choice.
    """
    n = unlearned.size
    thresholds = np.unique(np.quantile(np.concatenate([unlearned, certifying]), np.linspace(0, 1, n_thresholds)))
    best = None
    for direction in ("below", "above"):
        for threshold in thresholds:
            positives, negatives = _test_counts(unlearned, certifying, threshold, direction)
            lower, point = _fixed_test_epsilon(positives, negatives, n, confidence, delta)
            if best is None or (lower, point) > best[:2]:
                best = (lower, point, float(threshold), direction)
    return best[2], best[3]


def _bound(unlearned, certifying, certified_epsilon, delta, confidence, n_thresholds, statistic_name,
           selection_fraction=0.5):
    """Choose the test on the first ``selection_fraction`` of each arm's trials, bound it on the others (held out)."""
    n = unlearned.size
    n_select = min(max(1, math.floor(n * selection_fraction + 1e-9)), n - 1)  # 100 x 0.29 is 29, not 28
    threshold, direction = _choose_test(unlearned[:n_select], certifying[:n_select], delta, confidence,
                                        n_thresholds)
    held_unlearned, held_certifying = unlearned[n_select:], certifying[n_select:]
    n_held = held_unlearned.size
    positives, negatives = _test_counts(held_unlearned, held_certifying, threshold, direction)
    lower, point = _fixed_test_epsilon(positives, negatives, n_held, confidence, delta)
    return AuditResult(
        epsilon_lower_bound=lower, epsilon_point_estimate=point, certified_epsilon=float(certified_epsilon),
        delta=float(delta), threshold=threshold, direction=direction,
        tpr_interval=clopper_pearson(positives, n_held, confidence),
        fpr_interval=clopper_pearson(negatives, n_held, confidence),
        confidence=confidence, n_trials=n, statistic=statistic_name, unlearned_statistics=unlearned,
        certifying_statistics=certifying, n_held_out=n_held,
    )


def make_canary(
    X: ArrayLike, y: ArrayLike, *, scale: float | None = None, label: Any = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Append the row that is hardest to forget: an outlier in a direction no other row uses.

    The direction is the last right-singular vector of ``X`` (orthogonal to
    every row when ``n_features`` exceeds the rank, else the least-used
    direction); the row has the norm ``scale`` (default: the largest row norm)
    and the rarest label unless ``label`` is given.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    scale : float, optional
    label : optional

    Returns
    -------
    X_with_canary, y_with_canary, canary_index

    Examples
    --------
    >>> import numpy as np
    >>> X, y, index = make_canary(np.eye(3)[:2], np.array([0, 1]))
    >>> X[index].tolist(), index
    ([0.0, 0.0, 1.0], 2)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    _, _, vt = np.linalg.svd(X, full_matrices=True)
    direction = vt[-1]
    if direction[np.argmax(np.abs(direction))] < 0:
        direction = -direction
    norm = float(np.linalg.norm(X, axis=1).max()) if scale is None else float(scale)
    if label is None:
        values, counts = np.unique(y, return_counts=True)
        label = values[np.argmin(counts)]
    canary = norm * direction
    return np.vstack([X, canary]), np.append(y, label), X.shape[0]


def membership_inference_auc(
    estimator: BaseEstimator, X_forgotten: ArrayLike, y_forgotten: ArrayLike, X_unseen: ArrayLike, y_unseen: ArrayLike,
) -> float:
    """AUC of the loss-threshold membership attack: forgotten rows vs rows never seen.

    Scores each row by minus its loss under the fitted ``estimator``; 0.5
    means the forgotten rows look like unseen ones (Yeom et al., CSF 2018; the
    usual check in the unlearning literature).

    Parameters
    ----------
    estimator : fitted classifier with ``predict_log_proba`` and ``classes_``
    X_forgotten, y_forgotten : rows that were forgotten
    X_unseen, y_unseen : rows never trained on

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn import NoisyLogisticRegression
    >>> rng = np.random.default_rng(1)
    >>> X, y = rng.standard_normal((80, 3)), np.arange(80) % 2
    >>> model = NoisyLogisticRegression(random_state=0).fit(X[:60], y[:60]).unlearn(np.arange(10))
    >>> 0.0 <= membership_inference_auc(model, X[:10], y[:10], X[60:], y[60:]) <= 1.0
    True
    """
    classes = list(estimator.classes_)

    def losses(X, y):
        log_proba = estimator.predict_log_proba(np.asarray(X))
        return -log_proba[np.arange(len(y)), [classes.index(v) for v in np.asarray(y)]]

    scores = np.concatenate([-losses(X_forgotten, y_forgotten), -losses(X_unseen, y_unseen)])
    labels = np.concatenate([np.ones(len(np.asarray(y_forgotten))), np.zeros(len(np.asarray(y_unseen)))])
    return float(roc_auc_score(labels, scores))
