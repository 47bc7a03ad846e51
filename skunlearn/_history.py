"""The certificate's history and record as read-only values: frozen once, shared by the ledgers and the record.

Ledgers extend a :class:`FrozenHistory` one entry per request and certificates
take it as it is, so a request's cost does not grow with the history. Below
both :mod:`skunlearn._ledgers` and :mod:`skunlearn.certificate`, so neither
imports the other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["SCALARS", "FrozenHistory", "frozen"]

#: The types a record holds as they are.
SCALARS = frozenset({int, float, str, bool, type(None)})


class FrozenHistory(tuple):
    """A history whose entries are read-only mappings of scalars, checked once when each was added.

    Ledgers extend it one entry per request, so certificates take it as it is
    instead of re-freezing and re-validating every past entry (a request's cost
    must not grow with the history).
    """

    __slots__ = ()

    def extended(self, entries):
        """A new history: this one with ``entries`` (mappings) frozen and appended."""
        return FrozenHistory(tuple(self) + tuple(_frozen_entry(entry) for entry in entries))

    def __reduce__(self):
        # Read-only mappings do not pickle: rebuild from plain dicts.
        return (_history_from_dicts, ([dict(entry) for entry in self],))


def _history_from_dicts(entries):
    return FrozenHistory().extended(entries)


def _frozen_entry(entry):
    value = frozen(entry)
    if type(value) is not MappingProxyType or not all(type(v) in SCALARS for v in value.values()):
        raise ValueError(f"a history entry must be a flat mapping of numbers and strings, got {entry!r}")
    return value


def frozen(value):
    """Read-only copy of nested mappings and sequences.

    Flat read-only mappings of scalars and flat sequences of scalars take a
    fast path (exact type checks): a long history of requests is frozen once
    per entry, not again by every later certificate.
    """
    kind = type(value)
    if kind in SCALARS or kind is FrozenHistory:
        return value
    if kind is MappingProxyType and all(type(v) in SCALARS for v in value.values()):
        return value
    if kind in (list, tuple) and all(type(v) in SCALARS for v in value):
        return tuple(value)
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value
