"""NoisyMLPClassifier: a multilayer perceptron that forgets rows with a certificate."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from ._backends import ACTIVATIONS, GRADIENT_CLIPPING, MODEL_CLIPPING
from ._prediction import ScoreClassifierMixin
from ._problems.mlp import mlp_setup
from ._state import fitted_attribute, state_field
from ._unlearning import FitPlan, Phase, UnlearningMixin
from ._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validate_data,
)

__all__ = ["NoisyMLPClassifier"]

#: The parameters the set-up reads (:func:`skunlearn._problems.mlp.mlp_setup`), by the same names.
_SETUP_PARAMETERS = ("hidden_layer_sizes", "activation", "alpha", "batch_size", "learning_rate_init", "max_iter",
                     "noise", "radius", "epsilon", "delta", "unlearn_method", "unlearning_epochs", "unlearning_noise",
                     "gradient_clip", "clip_radius", "finetune_epochs")


class NoisyMLPClassifier(UnlearningMixin, ScoreClassifierMixin, ClassifierMixin, BaseEstimator):
    """Multilayer perceptron trained by projected noisy SGD, with certified unlearning.

    Softmax output, cross-entropy loss with an L2 penalty ``alpha``; training
    runs ``max_iter`` epochs of ``θ ← Π_R(θ − γ(g + αθ)) + σ ξ`` over a cyclic
    mini-batch order drawn from ``random_state`` (noise on every parameter,
    model projected to the ball of radius ``radius``).

    No convexity holds, so the certificate comes from noisy fine-tuning as
    post-processing (Koloskova et al., ICML 2025;
    :mod:`skunlearn.accounting.post_processing`, with the rounding of
    :mod:`skunlearn.accounting.floating_point`): a request
    clips the model to C₀ = ``radius``, runs noisy epochs on the retained rows
    with ``unlearn_method`` until the accountant certifies ``(epsilon, delta)``,
    clips again and fine-tunes without noise for ``finetune_epochs`` epochs
    (post-processing, free for the certificate). The bound does not depend on
    how many rows are forgotten.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
    activation : {"relu", "tanh", "logistic"}, default="relu"
    alpha : float, default=1e-4
        L2 penalty λ, also the weight decay of the noisy phase.
    batch_size : int, default=64
        Clipped to ``n_samples``; rows are split into ``ceil(n / batch_size)``
        batches whose sizes differ by at most one.
    learning_rate_init : float, default=0.1
        Step size γ of training, of the noisy phase and of fine-tuning.
    max_iter : int, default=30
        Training epochs.
    noise : float, default=1e-3
        Standard deviation of the noise added to every parameter at each
        training step (the certificate does not rely on it). Which quantity:
        the per-step standard deviation itself, as ``unlearning_noise``
        (NoisyLogisticRegression's ``noise`` is a σ whose per-step standard
        deviation is ``sqrt(2η) σ``).
    radius : float, default=10.0
        C₀: training projects the model on this ball and each request clips
        to it. 10 holds the weights of a small network on standardised data.
    epsilon : float, default=1.0
        Target ε of each request's certificate (the training carries no claim).
    delta : float, "auto" or None, default=None
        Target δ; None or ``"auto"``: ``min(1e-6, n_samples^-1.5)``, strictly
        below ``1 / n_samples`` (the training slots, public);
        :func:`skunlearn._defaults.default_delta` says why δ ≥ 1/n is refused
        as a default.
    unlearn_method : {"model_clipping", "gradient_clipping"}, default="model_clipping"
        Noisy phase: ``θ ← clip_{C₂}(θ − γ(g + λθ)) + σξ`` (certified by the
        δ recursion of Koloskova et al. Thm 4) or
        ``θ ← (1 − γλ)θ − γ clip_{C₁}(g) + σξ`` (Thm 3, converted with the
        tight Rényi conversion).
    unlearning_epochs : int or "auto", default="auto"
        Noisy epochs a request runs; the noise is calibrated for it.
        ``"auto"`` is 1 (and 10 for ``finetune_epochs``): no other budget
        saved epochs at equal accuracy, even where retraining is long (the
        guide's table, ``benchmarks/bench_mlp_long.py``); the resolved values
        are ``unlearning_epochs_`` and ``finetune_epochs_``.
    unlearning_noise : float or None, default=None
        σ of the noisy phase, the per-step standard deviation of the noise
        added to every parameter; None calibrates the smallest that meets the target
        within ``unlearning_epochs``. A σ below ``2**20`` ulps of the largest
        clip radius (noise the binary64 parameters could not carry) is refused.
    gradient_clip : float, default=1.0
        C₁, global norm of the clipped mean gradient (gradient clipping).
    clip_radius : float or None, default=None
        C₂, the model-clipping radius of the noisy phase; None uses ``radius``.
    finetune_epochs : int or "auto", default="auto"
        Noise-free epochs on the retained rows after the noisy phase (``"auto"``: 10).
    classes : array-like or None, default=None
        The class set, when it is public. None learns it from ``y``; a request
        that would then forget every retained row of a class is refused.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        As for :class:`~skunlearn.NoisyLogisticRegression`: only the numba CPU
        kernels' arithmetic is certified, so ``"cuda"`` is refused and
        ``"auto"`` runs on the CPU.
    random_state : int, RandomState instance or None, default=None
        None draws the initialisation, the batch order and the noise key from
        the operating system's entropy; an int makes everything reproducible,
        and the certificate then holds only against observers without it.
    verbose : int, default=0
        Print one line per epoch (phase, loss, parameter norm, time) when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape (n_in, n_out).
    intercepts_ : list of ndarray
    n_layers_ : int
    n_outputs_ : int
    out_activation_ : str
        ``"softmax"``.
    n_features_in_ : int
    feature_names_in_ : ndarray
        Only when ``X`` has string column names.
    training_index_ : pandas.Index
        The index labels of the ``X`` given to ``fit`` (labels only), when it
        was a pandas DataFrame: requests may then name rows by label.
    n_iter_ : int
    unlearning_noise_ : float
        The σ of the noisy phase (calibrated or given).
    unlearning_epochs_, finetune_epochs_ : int
        The request budget used (``"auto"`` resolved).
    loss_curve_ : list of float
        Each training epoch's mean cross-entropy over its batches (as ``MLPClassifier`` records it).
    loss_ : float
        The last training epoch's.
    delta_ : float
        The target δ used (``delta``, or its default resolved from ``n_samples``).
    certificate_ : UnlearningCertificate
        After ``fit``: no claim (ε = inf); after each request: the unlearning
        guarantee of the noisy phase.
    removed_indices_ : ndarray of int
    n_retained_ : int

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the same model without noise or unlearning.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skunlearn import NoisyMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X - 8.0) / 8.0
    >>> model = NoisyMLPClassifier(max_iter=10, random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    >>> model.unlearn([0, 1, 2]).certificate_.satisfied
    True
    """

    coefs_ = fitted_attribute()
    intercepts_ = fitted_attribute()
    n_layers_ = fitted_attribute()
    n_outputs_ = fitted_attribute()
    out_activation_ = fitted_attribute()
    unlearning_noise_ = fitted_attribute()
    unlearning_epochs_ = fitted_attribute()
    finetune_epochs_ = fitted_attribute()
    loss_curve_ = fitted_attribute()
    loss_ = fitted_attribute()
    _layer_sizes = state_field("layer_sizes")
    _training_config = state_field("training_config")

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"}), None],
        "unlearn_method": [StrOptions({"model_clipping", "gradient_clipping"})],
        "unlearning_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "unlearning_noise": [Interval(Real, 0, None, closed="neither"), None],
        "gradient_clip": [Interval(Real, 0, None, closed="neither")],
        "clip_radius": [Interval(Real, 0, None, closed="neither"), None],
        "finetune_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "classes": ["array-like", None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: Literal["relu", "tanh", "logistic"] = "relu",
        *,
        alpha: float = 1e-4,
        batch_size: int = 64,
        learning_rate_init: float = 0.1,
        max_iter: int = 30,
        noise: float = 1e-3,
        radius: float = 10.0,
        epsilon: float = 1.0,
        delta: float | None = None,
        unlearn_method: Literal["model_clipping", "gradient_clipping"] = "model_clipping",
        unlearning_epochs: int | Literal["auto"] = "auto",
        unlearning_noise: float | None = None,
        gradient_clip: float = 1.0,
        clip_radius: float | None = None,
        finetune_epochs: int | Literal["auto"] = "auto",
        classes: ArrayLike | None = None,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.noise = noise
        self.radius = radius
        self.epsilon = epsilon
        self.delta = delta
        self.unlearn_method = unlearn_method
        self.unlearning_epochs = unlearning_epochs
        self.unlearning_noise = unlearning_noise
        self.gradient_clip = gradient_clip
        self.clip_radius = clip_radius
        self.finetune_epochs = finetune_epochs
        self.classes = classes
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _plan_fit(self, n_samples, n_features, classes, *, sparse, weight_bound, bound_inferred, on_cluster=False):
        """The fit's set-up (:func:`skunlearn._problems.mlp.mlp_setup`); the weights' bound is not needed here."""
        setup = mlp_setup(n_samples=n_samples, n_features=n_features, n_classes=classes.size,
                          **{name: getattr(self, name) for name in _SETUP_PARAMETERS})
        layer_sizes = setup.layer_sizes
        return FitPlan(
            batch_size=setup.batch_size, initial_params=lambda rng: self._initial_params(rng, layer_sizes),
            training=Phase("training", setup.training_config, int(self.max_iter)), ledger=setup.ledger,
            config={"layer_sizes": layer_sizes, "activation": self.activation,
                    "training_config": setup.training_config},
            attributes={"unlearning_noise_": setup.noise, "delta_": setup.delta, "n_iter_": int(self.max_iter),
                        "unlearning_epochs_": setup.unlearning_epochs, "finetune_epochs_": setup.finetune_epochs,
                        "n_layers_": layer_sizes.size, "n_outputs_": int(classes.size), "out_activation_": "softmax"},
            reports_final_loss=True,
        )

    def _initial_params(self, rng, layer_sizes):
        """Glorot-uniform weights and biases (float64), as scikit-learn's MLP initialises them."""
        pieces = []
        factor = 2.0 if self.activation == "logistic" else 6.0
        for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
            bound = math.sqrt(factor / (n_in + n_out))
            pieces.append(rng.uniform(-bound, bound, n_in * n_out))
            pieces.append(rng.uniform(-bound, bound, n_out))
        return np.concatenate(pieces)

    # Hooks of UnlearningMixin ------------------------------------------------------

    def _request_phases(self, state, start_ledger, end_ledger, epochs):
        # The layer sizes from the state (a model pickled before configs carried them still serves requests).
        training_config = dataclasses.replace(state.config["training_config"],
                                              layer_sizes=tuple(int(size) for size in state.config["layer_sizes"]))
        phases = []
        if epochs > 0:
            noisy = dataclasses.replace(
                training_config,
                update=GRADIENT_CLIPPING if start_ledger.method == "gradient_clipping" else MODEL_CLIPPING,
                step_size=start_ledger.step_size, l2=start_ledger.l2, noise_std=start_ledger.noise_std,
                radius=start_ledger.clip_radius, gradient_clip=start_ledger.gradient_clip,
                grid=end_ledger.noise_grid,  # the phase's bound at its end: the largest grid of the phase
            )
            # A new request starts from the model clipped to C0; a continuation from where it stopped.
            phases.append(Phase("unlearning", noisy, epochs,
                                clip_to=start_ledger.initial_radius if start_ledger.phase_steps == 0 else None))
        finetune_epochs = state.attributes["finetune_epochs_"]
        if end_ledger.finetuned and not start_ledger.finetuned and finetune_epochs:
            # Post-processing of the certified model: clip the noise away, then train without noise.
            plain = dataclasses.replace(training_config, noise_std=0.0)
            phases.append(Phase("fine-tuning", plain, finetune_epochs, clip_to=start_ledger.initial_radius))
        return phases, end_ledger, None

    @staticmethod
    def _parameter_attributes(params, config):
        """``coefs_`` and ``intercepts_``: new arrays for every state, never refilled in place."""
        coefs, intercepts, offset = [], [], 0
        for n_in, n_out in zip(config["layer_sizes"][:-1], config["layer_sizes"][1:]):
            coefs.append(params[offset:offset + n_in * n_out].reshape(n_in, n_out).copy())
            offset += n_in * n_out
            intercepts.append(params[offset:offset + n_out].copy())
            offset += n_out
        return {"coefs_": coefs, "intercepts_": intercepts}

    # Prediction --------------------------------------------------------------------

    def _class_scores(self, X, state):
        """The output layer's logits, one column per class, from the one ``state`` of the whole forward pass."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        coefs, intercepts = state.attributes["coefs_"], state.attributes["intercepts_"]
        activation = state.config["activation"]
        activations = X
        for i, (coef, intercept) in enumerate(zip(coefs, intercepts)):
            activations = activations @ coef.astype(X.dtype, copy=False) + intercept.astype(X.dtype, copy=False)
            if i < len(coefs) - 1:
                if activation == "relu":
                    np.maximum(activations, 0, out=activations)
                elif activation == "tanh":
                    np.tanh(activations, out=activations)
                else:
                    activations = expit(activations)
        return activations

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Output-layer logits; for two classes, the difference of the two (1-D).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        logits = self._class_scores(X, self._published())
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits
