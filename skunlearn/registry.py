"""One forget request for every model trained on the same rows, with an append-only log.

A person's "forget me" reaches a service that keeps several models fitted on the
same training rows: a classifier, a pipeline, a second model for another task.
:class:`UnlearningRegistry` holds them, keyed by a row identifier (a customer id,
the index label of the training frame), forwards a request by id to every model,
and writes each request and the certificates it produced to a log in an embedded
SQLite database (the standard library's ``sqlite3``); a SQLAlchemy URL points the
log at a server database instead.

A request is all-or-nothing across the models and the log: each model's request
is itself all-or-nothing, and when a later model (or the log) fails or is
interrupted, the models already updated are put back as they were before the
request, forgotten rows included, and nothing is logged.

Examples
--------
>>> import numpy as np
>>> from sklearn.datasets import load_breast_cancer
>>> from skunlearn import NoisyLogisticRegression
>>> from skunlearn.registry import UnlearningRegistry
>>> from sklearn.preprocessing import Normalizer
>>> X, y = load_breast_cancer(return_X_y=True)
>>> X = Normalizer().fit_transform(X)  # row by row: no statistic of the other rows
>>> ids = [f"patient-{i}" for i in range(len(y))]
>>> models = {"small": NoisyLogisticRegression(max_iter=5, random_state=0).fit(X, y),
...           "large": NoisyLogisticRegression(max_iter=10, random_state=1).fit(X, y)}
>>> registry = UnlearningRegistry(models, ids)  # an in-memory log
>>> certificates = registry.forget(["patient-3", "patient-70"])
>>> sorted(certificates), all(c.satisfied for c in certificates.values())
(['large', 'small'], True)
>>> [entry["row_ids"] for entry in registry.requests()]
[['patient-3', 'patient-70']]
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
from typing import Any, Iterable, Mapping

import numpy as np
from sklearn.pipeline import Pipeline

from ._state import restore_rows, rows_to_scrub_in_place
from .certificate import UnlearningCertificate
from .pipeline import unlearn_pipeline

__all__ = ["UnlearningRegistry"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS requests (request INTEGER PRIMARY KEY, time TEXT NOT NULL, row_ids TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS certificates (request INTEGER NOT NULL REFERENCES requests(request), "
    "model TEXT NOT NULL, certificate TEXT NOT NULL, PRIMARY KEY (request, model))",
)


class _SQLiteLog:
    """The append-only log in SQLite: one transaction per request."""

    def __init__(self, path):
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for statement in _SCHEMA:
            self._connection.execute(statement)

    def append(self, time, row_ids, certificates):
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            cursor = connection.execute("INSERT INTO requests (time, row_ids) VALUES (?, ?)", (time, row_ids))
            request = cursor.lastrowid
            connection.executemany("INSERT INTO certificates (request, model, certificate) VALUES (?, ?, ?)",
                                   [(request, name, text) for name, text in certificates])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def rows(self):
        requests = self._connection.execute("SELECT request, time, row_ids FROM requests ORDER BY request").fetchall()
        certificates = self._connection.execute("SELECT request, model, certificate FROM certificates").fetchall()
        return requests, certificates

    def close(self):
        self._connection.close()


class _SQLAlchemyLog:
    """The same log through SQLAlchemy (a server database), for a URL such as ``postgresql://...``."""

    def __init__(self, url):
        try:
            import sqlalchemy
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(f"a database URL ({url!r}) needs SQLAlchemy: pip install sqlalchemy") from error
        self._sqlalchemy = sqlalchemy
        self._engine = sqlalchemy.create_engine(url)
        with self._engine.begin() as connection:
            for statement in _SCHEMA:
                connection.execute(sqlalchemy.text(statement))

    def append(self, time, row_ids, certificates):
        text = self._sqlalchemy.text
        with self._engine.begin() as connection:  # one transaction: committed whole or rolled back
            connection.execute(text("INSERT INTO requests (time, row_ids) VALUES (:time, :row_ids)"),
                               {"time": time, "row_ids": row_ids})
            request = connection.execute(text("SELECT MAX(request) FROM requests")).scalar_one()
            connection.execute(text("INSERT INTO certificates (request, model, certificate) "
                                    "VALUES (:request, :model, :certificate)"),
                               [{"request": request, "model": name, "certificate": value}
                                for name, value in certificates])

    def rows(self):
        text = self._sqlalchemy.text
        with self._engine.connect() as connection:
            requests = connection.execute(text("SELECT request, time, row_ids FROM requests ORDER BY request")).all()
            certificates = connection.execute(text("SELECT request, model, certificate FROM certificates")).all()
        return [tuple(row) for row in requests], [tuple(row) for row in certificates]

    def close(self):
        self._engine.dispose()


def _final_estimator(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


class UnlearningRegistry:
    """Several fitted models on the same training rows, one request by row id, one log.

    Parameters
    ----------
    models : mapping of str to a fitted estimator or Pipeline
        Each fitted on the same rows, in the order of ``row_ids``: a skunlearn
        estimator, or a ``Pipeline`` ending in one (requests go through
        :func:`skunlearn.unlearn_pipeline`, which refuses steps fitted on the
        rows unless they are named in ``public_steps``).
    row_ids : array-like of shape (n_training_rows,)
        The identifier of each training row, unique (e.g. a frame's index or an
        id column), in the order the models were fitted on.
    log : str, os.PathLike or None, default=None
        Where the log lives: a file path for SQLite (created if missing; an
        existing log is reopened and appended to), a SQLAlchemy URL
        (``"postgresql://..."``, ``"sqlite:///..."``; needs SQLAlchemy), or None
        for an in-memory SQLite log.
    public_steps : mapping of str to iterable of str, optional
        Per pipeline, the step names declared public (see
        :func:`skunlearn.unlearn_pipeline`).

    Raises
    ------
    ValueError
        Duplicate or missing row ids, an empty registry, or a model fitted on a
        number of rows other than ``len(row_ids)`` (a model fitted on other rows).
    """

    def __init__(self, models: Mapping[str, Any], row_ids, *, log=None,
                 public_steps: Mapping[str, Iterable[str]] | None = None):
        if not models:
            raise ValueError("an UnlearningRegistry needs at least one model")
        ids = list(np.asarray(row_ids, dtype=object).tolist())
        position = {}
        for index, row_id in enumerate(ids):
            if row_id in position:
                raise ValueError(f"row_ids must be unique: {row_id!r} appears more than once")
            position[row_id] = index
        for name, model in models.items():
            estimator = _final_estimator(model)
            n_slots = getattr(estimator, "_slot_of", None)
            if n_slots is None:
                raise ValueError(f"model {name!r} is not a fitted skunlearn estimator (or a Pipeline ending in one)")
            if n_slots.size != len(ids):
                raise ValueError(f"model {name!r} was fitted on {n_slots.size} rows, but the registry has "
                                 f"{len(ids)} row ids: it was fitted on other rows")
        self._models = dict(models)
        self._ids = ids
        self._position = position
        self._public = {name: tuple(steps) for name, steps in (public_steps or {}).items()}
        self._lock = threading.RLock()
        if log is None:
            self._log = _SQLiteLog(":memory:")
        elif isinstance(log, str) and "://" in log:
            self._log = _SQLAlchemyLog(log)
        else:
            self._log = _SQLiteLog(str(log))

    @property
    def models(self) -> dict[str, Any]:
        """The models, by name (a copy of the mapping; the models themselves)."""
        return dict(self._models)

    def forget(self, row_ids) -> dict[str, UnlearningCertificate]:
        """Forget the rows ``row_ids`` in every model; log the request and its certificates.

        All-or-nothing: if any model's request or the log fails (or is
        interrupted), every model is as before and nothing is logged.

        Returns
        -------
        dict
            Each model's new certificate, by name.

        Raises
        ------
        ValueError
            An unknown id (named), an empty or repeated request, or a row a model
            refuses to forget (its message; nothing changed anywhere).
        """
        requested = list(np.atleast_1d(np.asarray(row_ids, dtype=object)).tolist())
        if not requested:
            raise ValueError("the request names no row ids")
        unknown = [row_id for row_id in requested if row_id not in self._position]
        if unknown:
            raise ValueError(f"unknown row ids {unknown[:5]!r}: the registry's models were not fitted on them; "
                             "nothing was changed")
        if len(set(requested)) != len(requested):
            raise ValueError("the request repeats a row id; nothing was changed")
        positions = np.array([self._position[row_id] for row_id in requested], dtype=np.int64)
        with self._lock:
            undo = []  # (estimator, state before, saved rows) of the models already updated, to put back
            try:
                certificates = {}
                for name, model in self._models.items():
                    estimator = _final_estimator(model)
                    with estimator._request_lock:
                        before = estimator._state
                        undo.append((estimator, before, rows_to_scrub_in_place(before.X_slots,
                                                                               before.slot_of[positions])))
                        if isinstance(model, Pipeline):
                            unlearn_pipeline(model, positions=positions, public_steps=self._public.get(name, ()))
                        else:
                            estimator.unlearn(positions=positions)
                    certificates[name] = estimator.certificate_
                time = datetime.datetime.now(datetime.timezone.utc).isoformat()
                self._log.append(time, json.dumps(requested),
                                 [(name, certificate.to_json()) for name, certificate in certificates.items()])
            except BaseException:
                for estimator, before, saved in reversed(undo):
                    _put_back(estimator, before, saved, positions)
                raise
        return certificates

    def requests(self) -> list[dict[str, Any]]:
        """The log, oldest first: ``{"request", "time", "row_ids", "certificates": {name: certificate}}``."""
        requests, certificates = self._log.rows()
        by_request: dict[int, dict[str, UnlearningCertificate]] = {}
        for request, name, text in certificates:
            by_request.setdefault(int(request), {})[name] = UnlearningCertificate.from_json(text)
        return [{"request": int(request), "time": time, "row_ids": json.loads(row_ids),
                 "certificates": by_request.get(int(request), {})} for request, time, row_ids in requests]

    def close(self) -> None:
        """Close the log (the models stay as they are)."""
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _put_back(estimator, before, saved, positions):
    """Republish ``before`` with its rows restored (a completed request scrubbed them in place)."""
    if saved is not None:
        restore_rows(before.X_slots, before.slot_of[positions], saved)
    estimator._state = before
