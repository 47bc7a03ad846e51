"""NoisyLogisticRegression: L2-regularised logistic regression that forgets rows with a certificate."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import warnings
from typing import Any, Literal, Mapping

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin

from ._constants import scale_rows, scale_sparse_rows
from ._defaults import noise_dominates
from ._prediction import ScoreClassifierMixin
from ._problems.logistic import cluster_slot_rows, logistic_setup, scale_slot_rows
from ._state import fitted_attribute, state_field
from ._unlearning import FitPlan, Phase, UnlearningMixin
from ._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    user_stacklevel,
    validate_data,
)

__all__ = ["NoisyLogisticRegression"]

#: The parameters the set-up reads (:func:`skunlearn._problems.logistic.logistic_setup`), by the same names.
_SETUP_PARAMETERS = ("epsilon", "delta", "alpha", "data_norm", "learning_rate_init", "batch_size", "radius",
                     "max_iter", "bound", "private_training", "noise", "unlearning_epochs", "finetune_epochs")

class NoisyLogisticRegression(UnlearningMixin, ScoreClassifierMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression trained by projected noisy SGD, with certified unlearning.

    Binary (sigmoid) and multinomial (softmax) L2-regularised logistic
    regression with intercept. Training runs ``max_iter`` epochs of projected
    noisy SGD over a cyclic mini-batch order drawn once from ``random_state``::

        θ ← Π_R( (1 − ηλ) θ − η ∇F_B(θ) + sqrt(2η) σ ξ ),  ξ ~ N(0, I)

    Each row, with an intercept column of ones appended, is scaled down to norm
    ``data_norm`` when longer (a row-wise map, applied at predict time too), so
    the loss is convex, smooth and Lipschitz with constants the estimator knows.
    :meth:`unlearn` forgets rows and runs noisy epochs on the retained rows until
    the unlearning certificate (:mod:`skunlearn.accounting.pnsgd`, with the
    kernels' rounding charged as in :mod:`skunlearn.accounting.floating_point`)
    meets ``(epsilon, delta)``.

    Parameters
    ----------
    epsilon : float, default=1.0
        Target ε of the unlearning certificate.
    delta : float, "auto" or None, default=None
        Target δ. None (or ``"auto"``) means ``min(1e-6, n_samples^-1.5)``,
        strictly below ``1 / n_samples``, with ``n_samples`` the training slots
        (public: forgotten slots stay, at zero weight). Why not ``1 / n``: the
        mechanism "publish one random row" satisfies (0, 1/n)-DP, so any
        δ ≥ 1/n admits a blatant leak; DP practice asks for δ ≪ 1/n
        (:func:`skunlearn._defaults.default_delta`).
    alpha : float or None, default=None
        L2 penalty λ > 0 (the strong convexity the certificate relies on).
        Larger values contract faster, so they need less noise, at the cost
        of more bias. None sets it by a rule that reads only public
        quantities — ``C (p / (ρ n²))^{1/3}`` with p the parameter count,
        ρ the Gaussian budget of (ε, δ), C = 0.0135 for full-batch training and
        0.0095 with mini-batches — derived from the trade-off between
        the bias of λ and the noise a request needs (``skunlearn._defaults``).
    batch_size : int, None or "auto", default="auto"
        Mini-batch size (clipped to ``n_samples``); None runs full-batch noisy
        gradient descent (the Langevin case). Rows are split into
        ``ceil(n / batch_size)`` batches whose sizes differ by at most one.
        ``"auto"``: full batch on 1,000 rows or fewer, else 64 (a rule on n
        alone, :func:`skunlearn._defaults.default_batching`: on small sets an
        epoch of mini-batches is a handful of steps, too few to converge at a
        constant step and for a request to absorb its noise). The rule reads
        the rows ``fit`` is given, so in a cross-validation of a set just
        above 1,000 rows the folds train full-batch and the refit in
        mini-batches: set ``batch_size`` (and ``max_iter``) explicitly to tune
        under the final model's regime.
    max_iter : int or "auto", default="auto"
        Training epochs. ``"auto"``: 300 when the batch is the whole set (one
        step an epoch), else 30.
    learning_rate_init : float or None, default=None
        Step size η; None uses the largest the theory allows, ``2 / (L + 2λ)``.
        Larger values are refused.
    noise : float or None, default=None
        Noise σ of the noisy epochs (per-step noise ``sqrt(2η) σ``). None
        calibrates the smallest σ with which forgetting one row costs
        ``unlearning_epochs`` noisy epochs. 0 runs without noise and certifies
        nothing (ε = inf). A positive σ whose per-step noise is below ``2**20``
        ulps of the radius R (noise the binary64 parameters could not carry)
        is refused. Which quantity: σ is not a standard deviation here; each
        noisy step adds to every parameter Gaussian noise of standard
        deviation ``sqrt(2 * step_size_) * noise`` (NoisyMLPClassifier's
        ``noise`` and ``unlearning_noise`` are that per-step standard
        deviation itself).
    unlearning_epochs : int or "auto", default="auto"
        The noisy-epoch budget per single-row request that the noise is
        calibrated for. ``"auto"`` (with ``finetune_epochs="auto"``): the
        cheapest budget whose noise will not move the scores by more than
        ``skunlearn._defaults.auto_score_tolerance`` of the largest score the
        model can reach (tighter with more than five classes), from public
        quantities only (:func:`skunlearn._defaults.auto_request_budget`): one noisy epoch at
        large n, up to 20% of the training epochs at small n (2 + 4 of 30
        mini-batch epochs, 20 + 40 of 300 full-batch steps). With an
        explicit ``noise``, ``"auto"`` means 3 (and 3 for ``finetune_epochs``).
        The resolved values are ``unlearning_epochs_`` and ``finetune_epochs_``.
    finetune_epochs : int or "auto", default="auto"
        Noise-free epochs on the retained rows once a request's certificate
        meets the target: post-processing, free for the certificate, and it
        takes most of the noise back out of the model.
    private_training : bool, default=False
        Add the noise during training as well, which makes the fitted model
        itself differentially private (``certificate_`` after ``fit`` is then
        the training's own (ε, δ)-DP guarantee). The unlearning certificate
        does not need it (it is paid by the noisy epochs after each request),
        so by default training runs without noise, is more accurate, and
        ``certificate_`` says there is no guarantee before a request.
    data_norm : float, default=1.0
        Rows (intercept column included) are scaled down to this norm.
    radius : float or None, default=None
        Projection radius R; None uses ``M / λ``, a ball that holds the
        regularised optimum.
    bound : {"coupled", "published"}, default="coupled"
        ``"coupled"``: the default bound derived in
        :mod:`skunlearn.accounting.pnsgd` (no convergence assumption).
        ``"published"``: the form published by Chien et al., which assumes the
        training converged; for comparison with the paper only.
    classes : array-like or None, default=None
        The class set, when it is public (as in ``SGDClassifier.partial_fit``).
        None learns it from ``y``; a request that would then forget every
        retained row of a class is refused, because the class set would
        depend on the forgotten rows.
    class_weight : dict or None, default=None
        Weights ``{label: weight}`` multiplying each row's loss (labels not
        named weigh 1), as in ``SGDClassifier``. A heavier row moves the
        model more, so the certificate charges the largest weight W (see
        ``max_sample_weight``): the noise a request needs grows about in
        proportion to W. ``"balanced"`` is refused: it weighs classes by
        their counts among the training rows, which the forgotten rows change.
    max_sample_weight : float or None, default=None
        Public bound on ``sample_weight``; the certificate then charges
        ``W = max_sample_weight × max(class_weight)`` and serves any request.
        None: W is the largest weight among the rows given to ``fit`` (or the
        largest class weight when no ``sample_weight`` is given), and a
        request that would forget every retained row of weight W is refused,
        because the bound would then depend on the forgotten rows.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the kernels run. The certificate covers the rounding of the
        numba CPU kernels only, so ``"cuda"`` is refused until the GPU
        kernels' arithmetic is accounted for, and ``"auto"`` uses the CPU.
    store : str, os.PathLike or None, default=None
        Where the slot-ordered training rows live. None: in memory. A
        directory: in a new ``.npy`` file there, memory-mapped (dense ``X``
        only), so the rows need no anonymous memory; requests overwrite a
        forgotten row with zeros in the file and flush it to the device
        (``fsync``) before they return, and the file is removed once no fitted
        state refers to it. Same seed, same model and certificate as in
        memory, bit for bit. Such a model refuses to pickle (its rows are in
        the file): pickle ``export()``, or refit. ``"dask"``: on the workers
        of the current ``dask.distributed`` client (or Dask's local scheduler),
        with full-batch steps only (``batch_size=None``): each step's gradient
        is summed over the cluster's chunks and the noise is drawn on the
        client from the same generator (:mod:`skunlearn._backends.dask_cluster`);
        the model equals the in-memory one to the certificate's rounding
        bound. ``X`` may then be a Dask array: it is checked, laid out and
        scaled by the workers and never comes to the client. A request
        persists a new array without the forgotten rows. Not picklable either.
    n_jobs : int or None, default=None
        Threads of the CPU kernel: None uses numba's default (every core
        unless ``NUMBA_NUM_THREADS`` says otherwise), -1 every core, k > 0 at
        most k. Each step splits into the same fixed tasks whatever the thread
        count, so the model, the noise and the certificate do not depend on it.
    random_state : int, RandomState instance or None, default=None
        None (the default) draws the batch order and the noise key from the
        operating system's entropy: nobody can reproduce the noise. An int
        makes ``fit`` and every request reproducible, and the certificate then
        holds only against observers who do not know the seed.
    verbose : int, default=0
        Print epoch progress when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
        ``decision_function(x) = s(x) (coef_ · x + intercept_)`` with
        ``s(x) = min(1, data_norm / ‖(x, 1)‖)``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Only when ``X`` has string column names.
    training_index_ : pandas.Index
        The index labels of the ``X`` given to ``fit`` (labels only), when it
        was a pandas DataFrame: requests may then name rows by label.
    n_iter_ : int
        Training epochs run.
    alpha_ : float
        The L2 penalty used (the rule's value when ``alpha=None``).
    step_size_ : float
    noise_ : float
        The σ used (calibrated or given).
    radius_ : float
    delta_ : float
        The target δ used (``delta``, or its default resolved from ``n_samples``).
    unlearning_epochs_, finetune_epochs_ : int
        The request budget used (``"auto"`` resolved).
    loss_curve_ : list of float
        Each training epoch's mean weighted log-loss over its batches (the L2
        term left out), on the rows as the model sees them (scaled to
        ``data_norm``).
    certificate_ : UnlearningCertificate
        After ``fit``: the DP guarantee of the noisy training with
        ``private_training=True``, else a record that there is none before a
        request; after each
        request: the unlearning guarantee.
    removed_indices_ : ndarray of int
        Training rows forgotten so far.
    n_retained_ : int

    See Also
    --------
    sklearn.linear_model.LogisticRegression : the same objective, solved without noise.

    Examples
    --------
    Scale with a public bound or row by row (statistics of the training rows,
    such as a fitted ``StandardScaler``, would depend on the rows to forget):

    >>> from sklearn.datasets import load_breast_cancer
    >>> from skunlearn import NoisyLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = X / X.max(axis=0)  # the maxima the dataset's documentation (DESCR) publishes: public bounds
    >>> model = NoisyLogisticRegression(random_state=0).fit(X, y)  # seeded: reproducible here (see random_state)
    >>> model.score(X, y) > 0.9
    True
    >>> model.unlearn([0, 5, 7]).certificate_.satisfied
    True
    >>> model.removed_indices_.tolist()
    [0, 5, 7]
    """

    coef_ = fitted_attribute()
    intercept_ = fitted_attribute()
    alpha_ = fitted_attribute()
    step_size_ = fitted_attribute()
    noise_ = fitted_attribute()
    radius_ = fitted_attribute()
    unlearning_epochs_ = fitted_attribute()
    finetune_epochs_ = fitted_attribute()
    loss_curve_ = fitted_attribute()
    _kernel_config = state_field("kernel_config")

    _parameter_constraints = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"}), None],
        "alpha": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None, StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), None],
        "noise": [Interval(Real, 0, None, closed="left"), None],
        "unlearning_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "finetune_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "private_training": ["boolean"],
        "data_norm": [Interval(Real, 0, None, closed="neither")],
        "radius": [Interval(Real, 0, None, closed="neither"), None],
        "bound": [StrOptions({"coupled", "published"})],
        "classes": ["array-like", None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_sample_weight": [Interval(Real, 0, None, closed="neither"), None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "store": [str, os.PathLike, None],
        "n_jobs": [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        epsilon: float = 1.0,
        delta: float | None = None,
        alpha: float | None = None,
        batch_size: int | None | Literal["auto"] = "auto",
        max_iter: int | Literal["auto"] = "auto",
        learning_rate_init: float | None = None,
        noise: float | None = None,
        unlearning_epochs: int | Literal["auto"] = "auto",
        finetune_epochs: int | Literal["auto"] = "auto",
        private_training: bool = False,
        data_norm: float = 1.0,
        radius: float | None = None,
        bound: Literal["coupled", "published"] = "coupled",
        classes: ArrayLike | None = None,
        class_weight: Mapping[Any, float] | None = None,
        max_sample_weight: float | None = None,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        store: str | os.PathLike | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.noise = noise
        self.unlearning_epochs = unlearning_epochs
        self.finetune_epochs = finetune_epochs
        self.private_training = private_training
        self.data_norm = data_norm
        self.radius = radius
        self.bound = bound
        self.classes = classes
        self.class_weight = class_weight
        self.max_sample_weight = max_sample_weight
        self.device = device
        self.store = store
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    _SPARSE_INPUT = "csr"

    def _plan_fit(self, n_samples, n_features, classes, *, sparse, weight_bound, bound_inferred, on_cluster=False):
        """The fit's set-up (:func:`skunlearn._problems.logistic.logistic_setup`), rows scaled to ``data_norm``.

        ``on_cluster``: X is a Dask array (it needs ``store="dask"``, and stays on the cluster).
        """
        n_classes = classes.size
        setup = logistic_setup(n_samples=n_samples, n_features=n_features, n_classes=n_classes,
                               weight_bound=weight_bound, **{name: getattr(self, name) for name in _SETUP_PARAMETERS})
        data_norm = setup.constants.data_norm
        cluster_store = self._store_is_cluster()
        if sparse and self.store is not None:
            raise ValueError("store= keeps dense rows in a file or on a cluster; a sparse X stays in memory "
                             "(use store=None)")
        if cluster_store and setup.batch_size < n_samples:
            raise ValueError('store="dask" runs full-batch steps (a mini-batch step is too small to spread over '
                             "a cluster): use batch_size=None")
        if cluster_store and importlib.util.find_spec("dask") is None:
            raise ImportError('store="dask" needs dask and distributed: pip install "skunlearn[dask]"')
        self._warn_if_noise_dominates(setup.ledger, data_norm, setup.unlearning_epochs, setup.finetune_epochs)
        prepare = functools.partial(scale_slot_rows, data_norm=data_norm, n_features=n_features)
        kernel_config = setup.kernel_config(n_classes)
        training_config = kernel_config if self.private_training else dataclasses.replace(kernel_config,
                                                                                           noise_scale=0.0)
        n_outputs = 1 if n_classes == 2 else n_classes
        return FitPlan(
            batch_size=setup.batch_size, extra_columns=0 if sparse or on_cluster else 1,
            store=None if cluster_store else self.store,
            # The slot-ordered copy is fit's own: it is scaled in place (the intercept column appended), then, for
            # store="dask", moved to the cluster; a Dask X is scaled there, block by block, and persisted.
            prepare_rows=(functools.partial(cluster_slot_rows, data_norm=data_norm, n_features=n_features)
                          if cluster_store else prepare),
            initial_params=lambda rng: np.zeros((n_outputs, n_features + 1)),
            training=Phase("training", training_config, setup.max_iter),
            ledger=setup.ledger.advanced(setup.max_iter, noisy=bool(self.private_training)),
            config={"kernel_config": kernel_config, "data_norm": data_norm, "finetune_epochs": setup.finetune_epochs,
                    "inferred_weight_bound": weight_bound if bound_inferred else None},
            attributes={"step_size_": setup.step_size, "noise_": setup.noise, "radius_": setup.radius,
                        "alpha_": setup.alpha, "delta_": setup.delta, "n_iter_": setup.max_iter,
                        "unlearning_epochs_": setup.unlearning_epochs, "finetune_epochs_": setup.finetune_epochs},
        )

    # Hooks of UnlearningMixin ------------------------------------------------------

    def _warn_if_noise_dominates(self, ledger, data_norm, unlearning_epochs, finetune_epochs):
        """Warn when a request's noise will swamp the model (criterion: ``skunlearn._defaults.noise_dominates``)."""
        if ledger.noise_std == 0:
            return
        if noise_dominates(ledger.noise_scale, ledger.contraction, unlearning_epochs * ledger.n_batches,
                           finetune_epochs * ledger.n_batches, data_norm, ledger.radius):
            warnings.warn(
                f"the noise a request needs (sigma={ledger.noise_std:.3g}) will dominate the model: after the "
                "fine-tuning it still moves the scores by more than 2% of the largest score the model can reach. "
                "More unlearning_epochs, a larger epsilon (or delta), more finetune_epochs or more training rows "
                "help; see the README's 'Useful by default'.",
                UserWarning, stacklevel=user_stacklevel(),
            )

    def _request_phases(self, state, start_ledger, end_ledger, epochs):
        config = state.config["kernel_config"]
        phases = [Phase("unlearning", config, epochs)]
        quiet = 0
        finetune_epochs = state.config["finetune_epochs"]
        if epochs > 0 and finetune_epochs and end_ledger.meets_target():
            # The certified model, fine-tuned without noise on the retained rows: post-processing.
            quiet = int(finetune_epochs)
            phases.append(Phase("fine-tuning", dataclasses.replace(config, noise_scale=0.0), quiet))
        return phases, end_ledger.post_processed(quiet), quiet

    def _kernel_threads(self):
        return self.n_jobs

    def _store_is_cluster(self):
        return isinstance(self.store, str) and self.store == "dask"

    def _cluster_rows_refusal(self):
        if self._store_is_cluster():
            return None
        return 'a Dask array X stays on its cluster: use store="dask" (with batch_size=None), or pass a NumPy array'

    @staticmethod
    def _parameter_attributes(params, config):
        n_features = params.shape[1] - 1
        return {"coef_": params[:, :n_features].copy(), "intercept_": params[:, n_features].copy()}

    # Prediction --------------------------------------------------------------------

    def _class_scores(self, X, state):
        """``s(x) θᵀ``: one column for a binary problem (the margin of ``classes_[1]``), else one per class."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], accept_sparse="csr", reset=False)
        if sp.issparse(X):
            return np.asarray(scale_sparse_rows(X, state.config["data_norm"]) @ state.params.T)
        scaled = scale_rows(X, state.config["data_norm"])
        params = state.params.astype(scaled.dtype, copy=False)
        return scaled @ params.T

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Scores ``s(x) (coef_ · x + intercept_)``; 1-D for binary problems.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Dense or sparse CSR (other sparse formats are converted).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        scores = self._class_scores(X, self._published())
        return scores.ravel() if scores.shape[1] == 1 else scores
