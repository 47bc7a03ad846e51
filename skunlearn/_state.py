"""The fitted state: everything ``fit`` and a request produce, built whole and published at once.

An estimator holds one :class:`FittedState` in ``_state``. ``fit`` and every
request build a complete new state aside — new arrays, never the published
ones written in place — and publish it with the single assignment
``self._state = new``. A failure or an interrupt before that line leaves the
old state untouched; after it, the new state is whole. ``predict`` reads
``_state`` once, so it always sees one consistent state, whatever a request in
another thread is doing.

The public fitted attributes (``coef_``, ``certificate_``, ``classes_``, ...)
and the private ones the tests and the audit read (``_params``,
``_X_slots``, ...) are read-only views of the published state
(:class:`fitted_attribute`, :class:`state_field`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import uuid
import weakref
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._backends.codes import is_block_read_array, is_dask_array
from ._constants import cyclic_batch_bounds

__all__ = ["SECRET_NOISE", "SEEDED_NOISE", "FittedState", "fitted_attribute", "layout_slots", "scrub_rows",
           "is_disk_store", "restore_rows", "rows_to_scrub_in_place", "state_field", "sync_rows", "zero_rows"]

#: What a certificate says about who can undo it, by the source of the noise key.
SECRET_NOISE = ("the noise key came from the operating system's entropy: 256 bits keying ChaCha20 (RFC 8439), "
                "which nobody without the key can tell from uniform bits")
SEEDED_NOISE = ("the noise key was derived from the caller's random_state: the guarantee holds only against "
                "observers who do not know that seed")

_COPY_CHUNK_ROWS = 8192
#: About how many bytes of a zarr array or h5py dataset fit reads at a time (whole chunks of the array).
_BLOCK_READ_BYTES = 32 * 2**20


def training_dtype(dtype):
    """The type the rows are trained in: float32 kept, anything else binary64 (as ``validate_data`` is asked)."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def row_blocks(X):
    """``(start, stop, rows)`` over a zarr array or h5py dataset in row order, ``rows`` a NumPy block in the training type.

    Blocks are whole chunks of the array (its first chunk dimension, when it
    has one) and about :data:`_BLOCK_READ_BYTES` each, so the array is read
    once, sequentially, and never held whole.
    """
    n_samples, n_features = X.shape
    chunks = getattr(X, "shards", None) or getattr(X, "chunks", None)  # a sharded zarr array: whole shards
    chunk_rows = int(chunks[0]) if chunks else 1
    dtype = training_dtype(X.dtype)
    # The block as read and as converted, whichever is larger (uint8 rows become binary64).
    row_bytes = max(1, n_features * max(np.dtype(X.dtype).itemsize, dtype.itemsize))
    block_rows = max(chunk_rows, (_BLOCK_READ_BYTES // row_bytes) // chunk_rows * chunk_rows)
    for start in range(0, n_samples, block_rows):
        stop = min(n_samples, start + block_rows)
        yield start, stop, np.asarray(X[start:stop], dtype=dtype)


@dataclasses.dataclass(frozen=True, eq=False)
class FittedState:
    """One published state of a fitted estimator. Never mutated: requests build a new one.

    Attributes
    ----------
    X_slots, y_slots : ndarray (X_slots: or scipy.sparse.csr_array)
        Training rows in cyclic slot order (forgotten rows zeroed; emptied when sparse) and their class codes.
    weight : ndarray of float64
        The row's weight (1 without ``sample_weight``/``class_weight``) for a retained slot, 0 for a
        forgotten (or, in the certifying procedure, inert) one.
    slot_of : ndarray of int64
        Training row -> slot.
    removed_mask : ndarray of bool
        Training rows forgotten so far.
    batch_bounds : ndarray of int64
    params : ndarray of float64
    noise_key, noise_counter : int
        The Gaussian generator's key and the index of the next normal.
    noise_secrecy : str
    ledger
        The accounting state (:mod:`skunlearn._ledgers`).
    config : mapping
        Estimator-specific kernel settings.
    attributes : mapping
        The public fitted attributes.
    """

    X_slots: np.ndarray
    y_slots: np.ndarray
    weight: np.ndarray
    slot_of: np.ndarray
    removed_mask: np.ndarray
    batch_bounds: np.ndarray
    params: np.ndarray
    noise_key: int
    noise_counter: int
    noise_secrecy: str
    ledger: Any
    config: Mapping[str, Any]
    attributes: Mapping[str, Any]

    def __post_init__(self):
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    def __reduce__(self):
        # Read-only mappings do not pickle; rebuild from plain dicts.
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        fields["config"], fields["attributes"] = dict(self.config), dict(self.attributes)
        return (_rebuild_state, (fields,))

    def replace(self, **changes):
        """A new state with ``changes``; ``attributes`` changes are merged into the old ones."""
        attributes = changes.pop("attributes", None)
        if attributes is not None:
            changes["attributes"] = {**self.attributes, **attributes}
        return dataclasses.replace(self, **changes)


def _rebuild_state(fields):
    return FittedState(**fields)


class fitted_attribute:
    """A public fitted attribute (``coef_``, ...): a read-only view of the published state.

    Absent (``AttributeError``, so ``hasattr`` is False) before ``fit`` or when
    the state does not define it (``feature_names_in_`` without string column
    names). Assigning raises: a fitted attribute changes only through ``fit``
    or a request. During ``fit``, scikit-learn's validation writes
    ``n_features_in_`` and ``feature_names_in_`` on a validation shadow, which
    this descriptor lets through (``_validation_shadow``).
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        if instance.__dict__.get("_validation_shadow"):
            if self.name in instance.__dict__:
                return instance.__dict__[self.name]
            raise AttributeError(self.name)
        state = instance.__dict__.get("_state")
        if state is None or self.name not in state.attributes:
            raise AttributeError(f"{type(instance).__name__!r} object has no attribute {self.name!r}")
        return state.attributes[self.name]

    def __set__(self, instance, value):
        if instance.__dict__.get("_validation_shadow"):
            instance.__dict__[self.name] = value
            return
        raise AttributeError(f"{self.name} is read-only: it changes only through fit, unlearn or partial_unlearn")

    def __delete__(self, instance):
        if instance.__dict__.get("_validation_shadow"):
            instance.__dict__.pop(self.name, None)
            return
        raise AttributeError(f"{self.name} is read-only: it changes only through fit, unlearn or partial_unlearn")


class state_field:
    """A private read-only view of one field of the published state (``_params`` -> ``state.params``)."""

    def __init__(self, field=None):
        self.field = field

    def __set_name__(self, owner, name):
        self.name = name
        if self.field is None:
            self.field = name.lstrip("_")

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        state = instance.__dict__.get("_state")
        if state is None:
            raise AttributeError(f"{type(instance).__name__!r} object has no attribute {self.name!r}")
        if self.field in state.config:
            return state.config[self.field]
        return getattr(state, self.field)

    def __set__(self, instance, value):
        raise AttributeError(f"{self.name} is part of the published state; build a new state instead")


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.remove(path)


#: The file name prefix of a disk store (``store=``): joblib's own memory maps are not ours to refuse.
DISK_STORE_PREFIX = "skunlearn-slots-"


def is_disk_store(X_slots):
    """Whether ``X_slots`` is a disk store made by :func:`layout_slots`."""
    filename = getattr(X_slots, "filename", None) if isinstance(X_slots, np.memmap) else None
    return bool(filename) and os.path.basename(filename).startswith(DISK_STORE_PREFIX)


def sync_rows(X_slots):
    """Flush a disk store's writes to the device (``msync``, then ``fsync`` of its file); nothing in memory."""
    if is_disk_store(X_slots):
        X_slots.flush()
        descriptor = os.open(X_slots.filename, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def is_cluster_store(X_slots):
    """Whether ``X_slots`` is a Dask array (``store="dask"``: the rows on the cluster's workers)."""
    return is_dask_array(X_slots)


def to_cluster(X_slots, chunk_rows=65_536):
    """The slot-ordered rows as a Dask array on the cluster (persisted), chunked by rows.

    The caller drops its local copy: with a distributed client the chunks then
    live on the workers only (Dask's local scheduler keeps them in this process).
    """
    import dask.array as da

    return da.from_array(X_slots, chunks=(chunk_rows, -1), asarray=True).persist()


def writeable_in_place(X_slots):
    """Whether a request may scrub ``X_slots`` in place (dense and writeable; joblib may memory-map it read-only)."""
    if sp.issparse(X_slots) or is_cluster_store(X_slots):
        return False
    return bool(X_slots.flags.writeable)


def rows_to_scrub_in_place(X_slots, slots):
    """The values of ``slots``' rows when ``X_slots`` is scrubbed in place (dense, writeable), else None.

    A copy, taken before anything is written, so that :func:`restore_rows` can
    put a failed request back; None means the caller scrubs a copy instead
    (:func:`scrub_rows`: sparse, or read-only as joblib memory-maps arrays).
    """
    if not writeable_in_place(X_slots):
        return None
    return X_slots[slots]


def zero_rows(X_slots, slots):
    """Zero rows of a dense slot array in place; a disk store's zeros reach the device before this returns."""
    X_slots[slots] = 0
    sync_rows(X_slots)


def restore_rows(X_slots, slots, saved):
    """Put back the rows :func:`rows_to_scrub_in_place` saved (synced like :func:`zero_rows`)."""
    X_slots[slots] = saved
    sync_rows(X_slots)


def layout_slots(X, y_codes, batch_size, random_state, extra_columns=0, *, row_weight=None, slot_order=None,
                 noise_key=None, inert_rows=None, store=None):
    """Lay the training rows out in cyclic slot order; returns the arrays of a new state.

    Copies X into slot order in chunks, so fit never holds a second temporary
    copy of X, and never writes into the caller's arrays. A sparse X gives a
    CSR array in slot order.

    With ``random_state=None`` the batch order, the noise key and the caller's
    further draws come from the operating system's entropy, never from numpy's
    global state: nobody can learn the noise from a seed. A caller-supplied
    seed makes everything reproducible, and the certificate says the guarantee
    then holds only against observers who do not know it.

    ``row_weight`` (one per training row; default 1) is laid out with the rows.
    ``slot_order`` (a permutation: row ``slot_order[s]`` goes to slot s),
    ``noise_key`` and ``inert_rows`` (rows whose slots keep zero weight from the
    first step: the certifying procedure) override those draws; the audit uses
    them to fix the batch order and vary only the noise.

    ``store`` (a directory, dense X only): the slot-ordered rows go to a new
    ``.npy`` file there, memory-mapped, instead of memory; the file is removed
    when no state refers to it any more.

    Returns
    -------
    slots : dict
        ``X_slots`` (with ``extra_columns`` left for the caller to fill),
        ``y_slots``, ``weight``, ``slot_of``, ``removed_mask``,
        ``batch_bounds``, ``noise_key``, ``noise_counter``, ``noise_secrecy``.
    rng : numpy.random.Generator
        A further generator from the same source, for the caller's own draws.
    """
    n_samples, n_features = X.shape
    if random_state is None:
        # 128 bits of operating-system entropy; the global numpy state is never read.
        order_rng, other_rng = (np.random.default_rng(s) for s in np.random.SeedSequence().spawn(2))
        key = secrets.randbits(256)
        secrecy = SECRET_NOISE
    else:
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        order_rng, noise_rng, other_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
        key = sum(int(word) << (64 * i) for i, word in enumerate(noise_rng.integers(0, 2**64, 4, dtype=np.uint64)))
        secrecy = SEEDED_NOISE
    order = order_rng.permutation(n_samples)
    if slot_order is not None:
        order = np.asarray(slot_order, dtype=np.int64)
        if order.shape != (n_samples,) or not np.array_equal(np.sort(order), np.arange(n_samples)):
            raise ValueError("slot_order must be a permutation of the training rows")
    if noise_key is not None:
        key = int(noise_key) % 2**256
    slot_of = np.empty(n_samples, dtype=np.int64)
    slot_of[order] = np.arange(n_samples)
    if is_cluster_store(X):
        # A Dask X stays on the cluster: its rows in slot order, lazily; the caller appends its columns when it
        # prepares the rows (as for a sparse X) and persists them.
        if extra_columns:
            raise ValueError("a Dask X takes no extra columns: append them when preparing the rows")
        X_slots = X[order].rechunk({0: X.chunks[0], 1: -1})
    elif sp.issparse(X):
        # A sparse X stays sparse: its rows in slot order, a new CSR array; the caller appends its columns
        # (scale_sparse_rows adds the intercept), so there are no extra columns to leave here.
        if extra_columns:
            raise ValueError("a sparse X takes no extra columns: append them to the CSR array afterwards")
        X_slots = sp.csr_array(X)[order]
    else:
        shape = (n_samples, n_features + extra_columns)
        dtype = training_dtype(X.dtype)
        if store is None:
            X_slots = np.empty(shape, dtype=dtype)
        else:
            directory = os.fspath(store)
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, f"{DISK_STORE_PREFIX}{uuid.uuid4().hex}.npy")
            X_slots = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
            weakref.finalize(X_slots, _remove_quietly, path)
        if is_block_read_array(X):
            # Read in row order, a block at a time, each row written to its slot: one sequential pass over the
            # file (a gather in slot order would read each of its chunks many times).
            for start, stop, rows in row_blocks(X):
                X_slots[slot_of[start:stop], :n_features] = rows
        else:
            for start in range(0, n_samples, _COPY_CHUNK_ROWS):
                rows = order[start:start + _COPY_CHUNK_ROWS]
                X_slots[start:start + rows.size, :n_features] = X[rows]
    weight = np.ones(n_samples) if row_weight is None else np.asarray(row_weight, dtype=np.float64)[order]
    if inert_rows is not None:
        weight[slot_of[np.asarray(inert_rows, dtype=np.int64)]] = 0
    slots = {
        "X_slots": X_slots, "y_slots": np.asarray(y_codes)[order].astype(np.int64), "weight": weight,
        "slot_of": slot_of, "removed_mask": np.zeros(n_samples, dtype=bool),
        "batch_bounds": cyclic_batch_bounds(n_samples, batch_size), "noise_key": key, "noise_counter": 0,
        "noise_secrecy": secrecy,
    }
    return slots, other_rng


def scrub_rows(X_slots, slots):
    """A copy of ``X_slots`` with the rows ``slots`` zeroed (dense) or emptied (CSR: values and column indices gone).

    The published array is never written. A sparse row keeps no trace of the
    columns it used: which features a forgotten row had is itself data about it.
    """
    slots = np.asarray(slots, dtype=np.int64)
    if is_cluster_store(X_slots):
        # A new array on the cluster without the rows (exact zeros: no sign bit left), persisted; the chunks that
        # held them are released once no state refers to the old array.
        import dask.array as da

        keep = np.ones((X_slots.shape[0], 1), dtype=bool)
        keep[slots] = False
        return da.where(da.from_array(keep, chunks=(X_slots.chunks[0], 1)), X_slots, 0).astype(X_slots.dtype).persist()
    if not sp.issparse(X_slots):
        X_slots = X_slots.copy()
        X_slots[slots] = 0
        return X_slots
    keep_row = np.ones(X_slots.shape[0], dtype=bool)
    keep_row[slots] = False
    counts = np.diff(X_slots.indptr)
    keep = np.repeat(keep_row, counts)
    indptr = np.concatenate([[0], np.cumsum(np.where(keep_row, counts, 0))]).astype(X_slots.indptr.dtype)
    return sp.csr_array((X_slots.data[keep], X_slots.indices[keep], indptr), shape=X_slots.shape)
