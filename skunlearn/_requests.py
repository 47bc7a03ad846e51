"""Forget requests: what a caller may ask, validated before anything changes.

A request names rows in one of two ways, and never leaves a doubt which:

* by **position** in the ``X`` given to ``fit`` (integers or a boolean mask),
  as ``unlearn(positions=...)``, or as ``unlearn(indices)`` when the
  positions cannot be mistaken for labels;
* by **index label**, when ``fit`` saw a pandas DataFrame: a pandas ``Index``
  (or a ``Series`` of labels, or a boolean ``Series`` whose True entries'
  labels are named) given as ``unlearn(indices)``.

Anything that could be read both ways is refused with a message saying how to
say it (:func:`request_positions`).
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["parse_forget_request", "request_positions", "training_index"]


def _pandas():
    """The pandas module if it is already imported (a pandas object can only exist then), else None."""
    return sys.modules.get("pandas")


def _is_label_container(value):
    pd = _pandas()
    return pd is not None and isinstance(value, (pd.Index, pd.Series))


def training_index(X):
    """The index of a pandas DataFrame or Series given to ``fit`` (labels only, no row data), else None."""
    pd = _pandas()
    if pd is not None and isinstance(X, (pd.DataFrame, pd.Series)):
        return X.index.copy()
    return None


def _labels_are_positions(index):
    """Whether every label equals its position (0, 1, ..., n-1): a plain integer is then both."""
    pd = _pandas()
    return index.equals(pd.RangeIndex(len(index)))


def _is_boolean_mask(value):
    return not _is_label_container(value) and np.asarray(value).dtype == bool


def request_positions(indices, positions, index):
    """What a request names, as positions for :func:`parse_forget_request`.

    Parameters
    ----------
    indices : pandas Index or Series, array-like of int, boolean mask, int, or None
        A pandas ``Index`` is read as index labels of the ``X`` given to fit;
        a ``Series`` as labels (its values), or, when boolean, as the labels
        of its True entries. Anything else is read as positions, where that
        cannot be mistaken for labels.
    positions : array-like of int, boolean mask, int, or None
        Positions in the ``X`` given to ``fit``, always read as positions.
    index : pandas Index or None
        The index of the ``X`` given to ``fit`` (None for a plain array).

    Returns
    -------
    positions : array-like or None
    labels : pandas Index or None
        ``index`` when the request named labels (for messages), else None.

    Raises
    ------
    TypeError, ValueError
        For both arguments at once, labels when fit saw no index or an index
        with repeated labels, unknown or repeated labels, or plain integers
        when fit saw an index whose labels are not the positions.
    """
    if positions is not None:
        if indices is not None:
            raise TypeError("pass either indices (index labels as a pandas Index or Series, or positions) or "
                            "positions=, not both")
        if _is_label_container(positions):
            positions = positions.to_numpy()
        return positions, None
    if indices is None:
        return None, None
    if _is_label_container(indices):
        return _positions_of_labels(indices, index), index
    if index is not None and not _labels_are_positions(index) and not _is_boolean_mask(indices):
        raise ValueError(
            "ambiguous request: fit saw a pandas DataFrame whose index labels are not its positions "
            f"(first labels {index[:3].tolist()!r}), so plain integers could be read either way. Say which: "
            "a pandas Index of labels, e.g. unlearn(pd.Index([...])) or unlearn(X_train.index[...]), or "
            "positions in the X given to fit, unlearn(positions=[...]). Nothing was changed."
        )
    return indices, None


def _positions_of_labels(request, index):
    pd = _pandas()
    if index is None:
        raise TypeError(
            "a pandas Index or Series is read as index labels, but fit saw a plain array, which has no index. "
            "Pass positions in the X given to fit as unlearn(positions=...) (for example "
            "unlearn(positions=request.to_numpy()) if these numbers are positions), or fit on a DataFrame. "
            "Nothing was changed."
        )
    if not index.is_unique:
        repeated = index[index.duplicated()].unique()[:10].tolist()
        raise ValueError(
            f"the index of the X given to fit repeats labels ({repeated!r}): a label could name several rows, so "
            "requests by label are refused. Pass positions in the X given to fit as unlearn(positions=...), or fit "
            "on a frame with a unique index (e.g. X.reset_index(drop=True)). Nothing was changed."
        )
    if isinstance(request, pd.Series):
        if request.dtype == bool:
            labels = request.index[request.to_numpy(dtype=bool)]
        else:
            labels = pd.Index(request.to_numpy())
    else:
        labels = request
    if labels.has_duplicates:
        raise ValueError(f"labels repeat within the request: {labels[labels.duplicated()].unique()[:10].tolist()!r}")
    found = np.asarray(index.get_indexer(labels), dtype=np.int64)
    if np.any(found < 0):
        unknown = labels[found < 0][:10].tolist()
        raise ValueError(f"labels not in the index of the X given to fit: {unknown!r}. Nothing was changed.")
    return found


def parse_forget_request(indices, n_samples, removed, *, required=True, labels=None):
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
    labels : pandas Index or None
        When the request named index labels: the index of the ``X`` given to
        fit, so that messages name rows by label.

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
            raise TypeError("indices is required: the rows to forget, as a pandas Index of labels, positions "
                            "(or a boolean mask), or positions=...")
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
        if labels is not None:
            raise ValueError(f"rows already forgotten: labels {labels[already[:10]].tolist()!r}")
        raise ValueError(f"rows already forgotten: {already[:10].tolist()}")
    if np.count_nonzero(removed) + unique.size >= n_samples:
        raise ValueError("the request would forget every training row; refit on new data instead")
    return unique
