"""Forget requests: what a caller may ask, validated before anything changes."""

from __future__ import annotations

import numpy as np

__all__ = ["parse_forget_request"]


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
    elif np.issubdtype(array.dtype, np.unsignedinteger):
        # Compare before converting: np.uint64(2**63) would wrap to a negative int64.
        if array.max() >= n_samples:
            raise ValueError(f"index {int(array.max())} is out of range for {n_samples} training rows")
        ids = array.astype(np.int64)
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
