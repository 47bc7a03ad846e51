"""Forget requests through a fitted scikit-learn Pipeline."""

from __future__ import annotations

from typing import Iterable

from numpy.typing import ArrayLike
from sklearn.pipeline import Pipeline

from ._pipeline_scope import _CHECKED, PrivacyLeakWarning, _fitted_on_rows
from ._unlearning import UnlearningMixin

__all__ = ["PrivacyLeakWarning", "UnlearningPipeline", "unlearn_pipeline"]


def unlearn_pipeline(
    pipeline: Pipeline, indices: ArrayLike | None = None, *, positions: ArrayLike | None = None,
    public_steps: Iterable[str] = (), max_epochs: int | None = None,
) -> Pipeline:
    """Forward a forget request through a fitted ``Pipeline`` to its final step.

    The certificate covers the final estimator only. A step before it that was
    fitted on the training rows (a ``StandardScaler``'s means, a
    ``PCA``'s components, an encoder's categories) is a function of the rows
    being forgotten too, and nothing forgets it, so the pipeline as a whole
    would still carry them while its final step's certificate said otherwise.
    Such a pipeline is therefore **refused** (a ``ValueError`` naming the
    steps), not merely warned about: a warning is easily lost in a service's
    logs, while the certificate it would accompany is exactly what is kept and
    shown. Stateless steps pass (``"passthrough"``, ``None``,
    ``FunctionTransformer`` and anything else scikit-learn tags as needing no
    fit), and so do the steps you declare public in ``public_steps``: fitted on
    public data, or on statistics that do not depend on the private rows —
    your claim, which the certificate then rests on.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted; its final step a NoisyLogisticRegression or NoisyMLPClassifier.
    indices : pandas Index or Series, array-like of int, or boolean mask, optional
        The rows to forget, as for the final step's ``unlearn``: index labels
        (pandas) when the final step saw a DataFrame — the steps before it
        must pass the frame through, e.g. with
        ``pipeline.set_output(transform="pandas")`` — or positions where they
        cannot be mistaken for labels.
    positions : array-like of int or boolean mask, optional
        The rows to forget as positions in the ``X`` given to
        ``pipeline.fit``; give this or ``indices``, not both.
    public_steps : iterable of str, default=()
        Names of earlier steps whose fitted state you vouch for as public.
    max_epochs : int or None, default=None
        None runs ``unlearn`` (until the certificate meets the target); an
        integer runs ``partial_unlearn(max_epochs=max_epochs)``.

    Returns
    -------
    pipeline
        The same pipeline; its final step has an updated ``certificate_``.

    Raises
    ------
    ValueError
        When a step before the final one was fitted on the training rows and
        is not in ``public_steps`` (nothing is changed), or ``public_steps``
        names no step of the pipeline; and as the final step's ``unlearn``.
    TypeError
        When ``pipeline`` is not a Pipeline or its final step cannot unlearn.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer, StandardScaler
    >>> from skunlearn import NoisyLogisticRegression, unlearn_pipeline
    >>> X, y = load_digits(return_X_y=True)
    >>> public = make_pipeline(FunctionTransformer(lambda X: (X - 8.0) / 8.0),
    ...                        NoisyLogisticRegression(random_state=0)).fit(X, y)
    >>> unlearn_pipeline(public, positions=[0, 1])[-1].removed_indices_.tolist()
    [0, 1]
    >>> private = make_pipeline(StandardScaler(), NoisyLogisticRegression(random_state=0)).fit(X, y)
    >>> unlearn_pipeline(private, positions=[0, 1])
    Traceback (most recent call last):
    ...
    ValueError: step 'standardscaler' (StandardScaler) was fitted on the training rows: ...
    >>> unlearn_pipeline(private, positions=[0, 1], public_steps=["standardscaler"])[-1].n_retained_
    1795
    """
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"pipeline must be a sklearn.pipeline.Pipeline, got {type(pipeline).__name__}")
    name, final = pipeline.steps[-1]
    if not isinstance(final, UnlearningMixin):
        raise TypeError(f"the final step {name!r} ({type(final).__name__}) cannot unlearn: it must be a "
                        "NoisyLogisticRegression or NoisyMLPClassifier")
    if isinstance(public_steps, str):
        public_steps = (public_steps,)
    public = set(public_steps)
    names = [step_name for step_name, _ in pipeline.steps[:-1]]
    unknown = sorted(public - set(names))
    if unknown:
        raise ValueError(f"public_steps names no earlier step of the pipeline: {unknown!r} (steps: {names!r})")
    fitted = [(step_name, step) for step_name, step in pipeline.steps[:-1]
              if step_name not in public and _fitted_on_rows(step)]
    if fitted:
        described = ", ".join(f"step {step_name!r} ({type(step).__name__})" for step_name, step in fitted)
        raise ValueError(
            f"{described} was fitted on the training rows: its fitted state still depends on the rows to "
            "forget, and the certificate covers the final step only. Nothing was changed. Use row-wise or "
            "public preprocessing (FunctionTransformer, statistics from public data), or, if the step's "
            f"state is public, say so: public_steps={[step_name for step_name, _ in fitted]!r}."
        )
    _CHECKED.active = True
    try:
        if max_epochs is None:
            final.unlearn(indices, positions=positions)
        else:
            final.partial_unlearn(indices, positions=positions, max_epochs=max_epochs)
    finally:
        _CHECKED.active = False
    return pipeline


class UnlearningPipeline(Pipeline):
    """A ``Pipeline`` that forgets rows: ``unlearn`` applies :func:`unlearn_pipeline`'s rules.

    The checked path is the short one: ``pipe.unlearn(rows)`` refuses a step
    fitted on the training rows unless it is named in ``public_steps``, and
    forwards the request to the final step otherwise.

    Parameters
    ----------
    steps : list of (str, estimator)
        As for ``Pipeline``; the last a NoisyLogisticRegression or NoisyMLPClassifier.
    public_steps : tuple of str, default=()
        Steps whose fitted state you vouch for as public.
    transform_input, memory, verbose
        As for ``Pipeline``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import FunctionTransformer, StandardScaler
    >>> from skunlearn import NoisyLogisticRegression
    >>> from skunlearn.pipeline import UnlearningPipeline
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = UnlearningPipeline([("scale", FunctionTransformer(lambda X: X / 16.0)),
    ...                            ("model", NoisyLogisticRegression(random_state=0))]).fit(X, y)
    >>> pipe.unlearn(positions=[0, 1])[-1].removed_indices_.tolist()
    [0, 1]
    >>> fitted = UnlearningPipeline([("scale", StandardScaler()),
    ...                              ("model", NoisyLogisticRegression(random_state=0))]).fit(X, y)
    >>> fitted.unlearn(positions=[0])
    Traceback (most recent call last):
    ...
    ValueError: step 'scale' (StandardScaler) was fitted on the training rows: ...
    """

    def __init__(self, steps: list, *, public_steps: Iterable[str] = (), transform_input: list | None = None,
                 memory: object = None, verbose: bool = False) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.public_steps = public_steps

    def unlearn(self, indices: ArrayLike | None = None, *, positions: ArrayLike | None = None) -> UnlearningPipeline:
        """Forget rows through the pipeline (see :func:`unlearn_pipeline`); returns the pipeline."""
        return unlearn_pipeline(self, indices, positions=positions, public_steps=self.public_steps)

    def partial_unlearn(self, indices: ArrayLike | None = None, *, positions: ArrayLike | None = None,
                        max_epochs: int = 1) -> UnlearningPipeline:
        """``partial_unlearn`` of the final step, with the same checks; returns the pipeline."""
        return unlearn_pipeline(self, indices, positions=positions, public_steps=self.public_steps,
                                max_epochs=max_epochs)
