"""Problem constants from the data and the parameters: pure numpy.

Logistic regression with rows scaled to ``‖x̃‖ ≤ D`` (``x̃`` = features plus an
intercept column of ones, scaled down when longer than D):

* binary: ``ℓ(θ) = log(1 + e^{θ·x̃}) − y θ·x̃``, gradient ``(σ(θ·x̃) − y) x̃`` with
  norm ≤ D (so M = D), Hessian ``σ'(θ·x̃) x̃ x̃ᵀ`` with ``σ' ≤ 1/4`` (L = D²/4);
* softmax over K classes, ``θ`` a K × d matrix: gradient ``(p − e_y) ⊗ x̃`` with
  ``‖p − e_y‖² ≤ 2 (1 − p_y)² ≤ 2`` (M = √2 D), Hessian
  ``(diag p − p pᵀ) ⊗ x̃ x̃ᵀ`` with ``λ_max(diag p − p pᵀ) ≤ 1/2`` (L = D²/2).

With the L2 penalty λ the objective is λ-strongly convex, and its minimiser
satisfies ``λ θ* = −∇f(θ*)``, so ``‖θ*‖ ≤ M/λ``: projecting on that ball never
moves the optimum, the default radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LogisticConstants", "cyclic_batch_bounds", "logistic_constants", "scale_rows", "scale_sparse_rows",
           "shrink_factors", "step_tasks"]

#: Rows per task of a logistic step beyond the first four tasks, and the most tasks a step splits into.
ROWS_PER_TASK = 32
MAX_STEP_TASKS = 64


@dataclass(frozen=True)
class LogisticConstants:
    """Constants of the per-row logistic loss on rows of norm ≤ ``data_norm``."""

    lipschitz: float
    smoothness: float
    strong_convexity: float
    data_norm: float

    def default_radius(self):
        """``M / λ``, a ball that holds the regularised minimiser."""
        return self.lipschitz / self.strong_convexity

    def weighted(self, weight_bound):
        """The constants of the weighted per-row loss ``w ℓ`` for weights ``0 ≤ w ≤ weight_bound``.

        Its gradient and Hessian are those of ℓ times w, so M and L scale by
        the bound; λ (the penalty's) and D do not. The minimiser of the
        weighted objective then lies in the ball of radius ``W M / λ``.

        Examples
        --------
        >>> logistic_constants(2, 1.0, 0.01).weighted(3.0).lipschitz
        3.0
        """
        weight_bound = float(weight_bound)
        return LogisticConstants(self.lipschitz * weight_bound, self.smoothness * weight_bound,
                                 self.strong_convexity, self.data_norm)


def logistic_constants(n_classes, data_norm, l2):
    """Constants M, L, λ for binary (``n_classes == 2``) or softmax loss.

    Examples
    --------
    >>> logistic_constants(2, 1.0, 0.01).smoothness
    0.25
    >>> round(logistic_constants(3, 1.0, 0.01).lipschitz, 4)
    1.4142
    """
    if n_classes == 2:
        return LogisticConstants(data_norm, data_norm**2 / 4.0, l2, data_norm)
    return LogisticConstants(math.sqrt(2.0) * data_norm, data_norm**2 / 2.0, l2, data_norm)


def scale_rows(X, data_norm, out=None):
    """Append an intercept column of ones and scale rows longer than ``data_norm`` down to it.

    Row-wise, so it is the same map at fit and predict time and keeps the
    certificate (it depends on no other row).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    data_norm : float
    out : ndarray of shape (n, d + 1), optional
        Written in place when given.

    Returns
    -------
    ndarray of shape (n, d + 1), same dtype as X.

    Examples
    --------
    >>> import numpy as np
    >>> scale_rows(np.array([[3.0, 0.0], [0.0, 0.0]]), 1.0).round(4)
    array([[0.9487, 0.    , 0.3162],
           [0.    , 0.    , 1.    ]])

    Rows too large to square in float64 are scaled, not zeroed:

    >>> scale_rows(np.array([[1e200, 0.0]]), 1.0).round(4)
    array([[1., 0., 0.]])
    """
    n, d = X.shape
    if out is None:
        out = np.empty((n, d + 1), dtype=X.dtype)
    if not _same_view(X, out[:, :d]):  # X may be out's own first d columns (scaled in place): no copy then
        out[:, :d] = X
    out[:, d] = 1.0
    norms = np.sqrt(np.einsum("ij,ij->i", out, out, dtype=np.float64))
    overflowed = ~np.isfinite(norms)
    if np.any(overflowed):
        # Entries beyond ~1.3e154 overflow when squared: scale those rows by their largest entry first.
        rows = out[overflowed].astype(np.float64)
        peak = np.max(np.abs(rows), axis=1)
        norms[overflowed] = peak * np.sqrt(np.einsum("ij,ij->i", rows / peak[:, None], rows / peak[:, None]))
    out *= shrink_factors(norms, d + 1, out.dtype, data_norm).astype(out.dtype)[:, None]
    return out


def _same_view(a, b):
    """Whether two arrays are the same memory seen the same way (a copy from one to the other is a no-op)."""
    return (a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def shrink_factors(norms, n_columns, dtype, data_norm):
    """``min(1, D / ‖x‖)`` per row, shrunk by the rounding margin (the rule of :func:`scale_rows`).

    The margin keeps neither the rounding of the float64 norm (at most
    ``n_columns + 1`` ulps of binary64) nor the rounding of the scaled row in
    the data's ``dtype`` from leaving a row past ``data_norm``: the
    certificate's constants assume every stored row has norm ≤ D exactly.
    Dense and sparse rows share it.

    Examples
    --------
    >>> shrink_factors(np.array([0.5, 4.0]), 3, np.float64, 1.0).round(6)
    array([1.  , 0.25])
    """
    margin = 4 * np.finfo(dtype).eps + 2 * (int(n_columns) + 1) * np.finfo(np.float64).eps
    return np.minimum(1.0, data_norm / np.asarray(norms, dtype=np.float64) * (1.0 - margin))


def scale_sparse_rows(X, data_norm, *, copy=True):
    """:func:`scale_rows` for a CSR matrix: append the intercept column and scale rows to ``data_norm``.

    Parameters
    ----------
    X : scipy.sparse CSR matrix or array of shape (n, d)
    data_norm : float
    copy : bool, default=True
        False lets the function sum X's duplicate entries in place (for a matrix
        the caller owns, such as fit's own slot-ordered copy): one copy less.

    Returns
    -------
    scipy.sparse.csr_array of shape (n, d + 1), X's dtype, with sorted indices and no
    explicit duplicates; a new matrix (with ``copy=True`` X is not written).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> scale_sparse_rows(sp.csr_array(np.array([[3.0, 0.0], [0.0, 0.0]])), 1.0).toarray().round(4)
    array([[0.9487, 0.    , 0.3162],
           [0.    , 0.    , 1.    ]])
    """
    import scipy.sparse as sp

    X = sp.csr_array(X, copy=copy)
    X.sum_duplicates()
    n, d = X.shape
    dtype = X.dtype
    counts = np.diff(X.indptr)
    indptr = X.indptr.astype(np.int64) + np.arange(n + 1, dtype=np.int64)  # one intercept entry per row
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1], dtype=dtype)
    intercept_at = indptr[1:] - 1
    is_feature = np.ones(indptr[-1], dtype=bool)
    is_feature[intercept_at] = False
    indices[is_feature] = X.indices
    data[is_feature] = X.data
    indices[intercept_at] = d
    data[intercept_at] = 1.0
    rows = np.repeat(np.arange(n), counts + 1)
    values = data.astype(np.float64)
    with np.errstate(over="ignore"):
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
    overflowed = np.flatnonzero(~np.isfinite(norms))
    for row in overflowed:  # entries beyond ~1.3e154 overflow when squared: scale by the largest first
        part = values[indptr[row]:indptr[row + 1]]
        peak = np.max(np.abs(part))
        norms[row] = peak * np.sqrt(np.sum((part / peak) ** 2))
    data *= np.repeat(shrink_factors(norms, d + 1, dtype, data_norm), counts + 1).astype(dtype)
    return sp.csr_array((data, indices, indptr), shape=(n, d + 1))


def cyclic_batch_bounds(n_slots, batch_size):
    """Boundaries of the ``ceil(n / b)`` cyclic batches, sizes differing by at most one.

    Evenly split (as :func:`numpy.array_split` does) so that no batch is tiny:
    a row's shift is ``η M / b_j``, so a last batch of 3 rows would set the
    noise for everyone. Larger batches come first, so the last batch is both
    the latest and the smallest: the worst slot of the certificate.

    Examples
    --------
    >>> cyclic_batch_bounds(10, 4).tolist()
    [0, 4, 7, 10]
    """
    n_batches = -(-int(n_slots) // int(batch_size))
    sizes = np.full(n_batches, n_slots // n_batches, dtype=np.int64)
    sizes[: n_slots % n_batches] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def step_tasks(batch_size):
    """Tasks T that the logistic kernel splits a step of ``batch_size`` rows into.

    Fixed by the problem, never by the machine, so the model does not depend on
    the thread count: 4 up to 128 rows (each task's rows then fit one product),
    then one per ``ROWS_PER_TASK`` rows, at most ``MAX_STEP_TASKS`` (each task
    holds a partial gradient of the parameters' size). The tasks' partial
    gradients are added in task order; the rounding bound counts T
    (:func:`skunlearn.accounting.logistic_step_rounding_error`).

    Examples
    --------
    >>> step_tasks(64), step_tasks(128), step_tasks(1024), step_tasks(60_000)
    (4, 4, 32, 64)
    """
    return min(MAX_STEP_TASKS, max(4, -(-int(batch_size) // ROWS_PER_TASK)))
