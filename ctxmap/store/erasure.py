"""Erasing records for good: one transaction allowed to delete a context, then space reclaimed.

Contexts and their history are never deleted (triggers refuse it), except in the
transaction :func:`erasing` opens: it registers the context in
``ctx_retention_erasing`` (the triggers let its rows go), and on SQLite turns on
``secure_delete`` so the deleted bytes are overwritten in the file. On PostgreSQL the
deleted rows stay in the table files until they are rewritten: :func:`reclaim_space`
runs ``VACUUM FULL`` on the tables afterwards (the write-ahead log and backups still
hold the rows until they are recycled, see docs/scale.md).

On PostgreSQL the store's role holds no DELETE on ``ctx_history`` (the chain migration
revoked it): :func:`erasing` grants it inside the erasing transaction and revokes it
before the commit, so it only ever exists for that transaction. That needs the role to
own the table; with a separate owner role, run the erasure as the owner.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Table

from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import ctx_retention_erasing


@contextmanager
def erasing(store: Store, context_id: str) -> Iterator[Connection]:
    """One records transaction in which ``context_id`` and its rows may be deleted."""
    with store.records_transaction() as con:
        if con.dialect.name == "sqlite":
            con.exec_driver_sql("PRAGMA secure_delete = ON")
            con.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        else:
            con.exec_driver_sql("GRANT DELETE ON ctx_history TO CURRENT_USER")
        con.execute(ctx_retention_erasing.insert().values(context_id=context_id))
        yield con
        con.execute(ctx_retention_erasing.delete()
                    .where(ctx_retention_erasing.c.context_id == context_id))
        if con.dialect.name == "postgresql":
            con.exec_driver_sql("REVOKE DELETE ON ctx_history FROM CURRENT_USER")


def reclaim_space(store: Store, tables: Sequence[Table]) -> None:
    """PostgreSQL: rewrite ``tables`` so deleted rows leave the data files (SQLite: nothing).

    ``VACUUM FULL`` copies the live rows into new files and removes the old ones (the
    counterpart of SQLite's ``secure_delete``).
    """
    with store.records() as con:
        if con.dialect.name != "postgresql":
            return
        for table in tables:
            con.exec_driver_sql(f'VACUUM FULL "{table.name}"')
