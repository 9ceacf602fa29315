"""SQLAlchemy engines over a store's own connections, for the records tables.

The records (contexts, consent, history, audit, ...) are read and written with
SQLAlchemy Core on both databases. :func:`records_engine` wraps the store's own
``connect`` (so a GeoPackage connection has foreign keys on and a PostgreSQL one the
store's schema on its search path) and:

* on SQLite, lets SQLAlchemy own the transaction and starts every write transaction
  with ``BEGIN IMMEDIATE`` (the writer lock is taken at once, as for the layers);
  a connection with ``isolation_level="AUTOCOMMIT"`` (reads) begins none;
* turns a refused write (a broken constraint, or an append-only trigger's message)
  into :class:`RecordRefusedError`, whose message starts like SQLite's
  (``UNIQUE constraint failed: ...``, ``FOREIGN KEY constraint failed: ...``,
  ``CHECK constraint failed: ...``, ``NOT NULL constraint failed: ...``) on both
  databases, so callers outside the store never see a driver's exception.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Final

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import NullPool

from ctxmap.errors import StoreBusyError, StoreError

#: PostgreSQL error classes and the SQLite words for them.
_SQLSTATE_PREFIX: Final = {
    "23505": "UNIQUE constraint failed",
    "23503": "FOREIGN KEY constraint failed",
    "23514": "CHECK constraint failed",
    "23502": "NOT NULL constraint failed",
}


class RecordRefusedError(StoreError):
    """The store refused a records write: a constraint or an append-only rule said no."""


def _refusal(exc: BaseException) -> RecordRefusedError | None:
    """The :class:`RecordRefusedError` for a driver error, or ``None`` if it is not a refusal."""
    if isinstance(exc, sqlite3.IntegrityError):
        return RecordRefusedError(str(exc))
    if not isinstance(exc, psycopg.Error):
        return None
    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    if diag.message_detail:
        message = f"{message} ({diag.message_detail})"
    state = exc.sqlstate or ""
    if state in _SQLSTATE_PREFIX:
        return RecordRefusedError(f"{_SQLSTATE_PREFIX[state]}: {message}")
    if state == "P0001" or isinstance(exc, psycopg.IntegrityError):  # a trigger's RAISE
        return RecordRefusedError(message)
    if state == "42501":  # insufficient privilege: e.g. UPDATE on the audit log
        return RecordRefusedError(message)
    return None


def is_busy(exc: BaseException) -> bool:
    """Whether a driver error says another writer holds the store (the wait timed out).

    SQLite: "database is locked"/"database is busy" after the connection's busy
    timeout; PostgreSQL: ``lock_not_available`` (55P03) after ``lock_timeout``.
    """
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "database is locked" in text or "database is busy" in text
    return isinstance(exc, psycopg.errors.LockNotAvailable)


def _on_error(context: ExceptionContext) -> None:
    if is_busy(context.original_exception):
        raise StoreBusyError() from None
    refused = _refusal(context.original_exception)
    if refused is not None:
        raise refused from None


def driver_connection(con: Connection) -> Any:
    """The driver's own connection under ``con`` (sqlite3 or psycopg), in its transaction.

    For the layer tables and DDL the stores write with their drivers inside the same
    transaction as the records.
    """
    raw = con.connection.driver_connection
    if raw is None:
        raise StoreError("the records connection is closed; expected an open one")
    return raw


def records_engine(url: str, connect: Callable[[], Any]) -> Engine:
    """An engine whose connections come from ``connect`` (one per use, closed after).

    Parameters
    ----------
    url
        ``"sqlite://"`` or ``"postgresql+psycopg://"`` (the dialect; the database is
        whatever ``connect`` opens).
    connect
        The store's own ``connect``: a :mod:`sqlite3` connection in autocommit mode
        (``isolation_level=None``), or a :mod:`psycopg` connection.
    """
    engine = create_engine(url, creator=connect, poolclass=NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "handle_error", _on_error)
    return engine


class RecordsAccess:
    """The records side both stores share: a SQLAlchemy engine over the store's own ``connect``.

    A store sets :attr:`records_dialect` and defines ``connect()``; it gets
    :attr:`engine`, :meth:`records` and :meth:`records_transaction` (the records
    tables of :mod:`ctxmap.store.record_tables` read and write the same on both databases).
    """

    #: ``"sqlite://"`` or ``"postgresql+psycopg://"``: the dialect of :func:`records_engine`.
    records_dialect: ClassVar[str]
    _engine: Engine | None = None

    def connect(self) -> Any:
        """A new driver connection to the store (each store defines it)."""
        raise NotImplementedError

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine of the records tables (made on first use)."""
        if self._engine is None:
            self._engine = records_engine(self.records_dialect, self.connect)
        return self._engine

    @contextmanager
    def records(self) -> Iterator[Connection]:
        """A connection for reading the records tables (each statement on its own)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            yield con

    @contextmanager
    def records_transaction(self) -> Iterator[Connection]:
        """One write transaction on the records tables (``BEGIN IMMEDIATE`` on SQLite)."""
        with self.engine.begin() as con:
            yield con
