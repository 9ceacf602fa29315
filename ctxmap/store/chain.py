"""Hash chains over the append-only tables: the audit log and the contexts' history.

Every row of ``ctxmap_audit`` and ``ctx_history`` stores ``prev_hash``, the
``row_hash`` of the row before it (:data:`GENESIS` for the first), and ``row_hash``,
the SHA-256 of ``prev_hash`` followed by the row's canonical content (:func:`canonical`:
the table name and every other column, id included, as sorted JSON). ``ctxmap_chain``
holds each chain's head (its row count, last id and last hash), written in the same
transaction as the rows. So a row changed, deleted, inserted out of turn or re-hashed
after the fact no longer links, and rows deleted from the end no longer reach the head:
:func:`verify_chains` finds the first such row.

Rows are added only by :func:`append`, which takes the write lock first (SQLite's
``BEGIN IMMEDIATE``; on PostgreSQL an advisory transaction lock per table) so two
writers cannot fork a chain; a unique index on ``prev_hash`` refuses a fork the
database sees anyway. A retention erasure deletes a context's history rows with
:func:`erase`, which first keeps each row's id and hashes (no content) in
``ctxmap_chain_erased``, so the chain still verifies across the gap and says how many
rows were erased.

What this does not do: someone who can write the store directly can recompute every
hash after a change (the hashes are not keyed); compare the head that
``python -m ctxmap audit verify`` prints with one kept elsewhere to catch that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Table, func, select

from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import (
    CHAINED_TABLES,
    ctxmap_chain,
    ctxmap_chain_erased,
)

#: ``prev_hash`` of a chain's first row.
GENESIS: Final = "0" * 64
#: Columns that carry the chain (not part of a row's content).
CHAIN_COLUMNS: Final = ("prev_hash", "row_hash")


def canonical(table: str, row: Mapping[str, Any]) -> str:
    """The canonical content of one row: sorted JSON of its table name and columns.

    Every column but :data:`CHAIN_COLUMNS` (the id included), as the database returns it
    (integers and text are the same on SQLite and PostgreSQL).
    """
    content = {k: v for k, v in row.items() if k not in CHAIN_COLUMNS}
    return json.dumps({"table": table, "row": content}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def row_hash(prev_hash: str, table: str, row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``prev_hash`` followed by the row's :func:`canonical` content."""
    return hashlib.sha256((prev_hash + canonical(table, row)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    """Where a chain ends: its row count (erased rows included), last id and last hash."""

    rows: int
    last_id: int | None
    last_hash: str


def _lock(con: Connection, table: Table) -> None:
    """Hold the chain's write lock until the transaction ends (SQLite: already held)."""
    if con.dialect.name == "postgresql":
        con.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(key)s))",
                            {"key": f"ctxmap:chain:{table.name}"})


def read_head(con: Connection, table: Table) -> Head | None:
    """The head ``ctxmap_chain`` records for ``table``, or ``None`` if it records none."""
    c = ctxmap_chain.c
    row = con.execute(select(c.rows, c.last_id, c.last_hash)
                      .where(c.name == table.name)).first()
    if row is None:
        return None
    return Head(int(row[0]), None if row[1] is None else int(row[1]), str(row[2]))


def _write_head(con: Connection, table: Table, head: Head) -> None:
    c = ctxmap_chain.c
    values = {"rows": head.rows, "last_id": head.last_id, "last_hash": head.last_hash}
    done = con.execute(ctxmap_chain.update().where(c.name == table.name).values(**values))
    if done.rowcount == 0:
        con.execute(ctxmap_chain.insert().values(name=table.name, **values))


def _next_id(con: Connection, table: Table) -> int:
    """The id the database would give the next row of ``table`` (the lock is held)."""
    if con.dialect.name == "postgresql":
        seq = con.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))").scalar_one()
        return int(seq)
    used = con.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                               (table.name,)).scalar()
    top = con.execute(select(func.max(table.c.id))).scalar()
    return max(int(used or 0), int(top or 0)) + 1


def append(con: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Add ``rows`` to the chained ``table`` in ``con``'s transaction; return their ids.

    Each row gets the next id, ``prev_hash`` and ``row_hash``; the head moves on. Columns
    the caller leaves out are stored as null (so the hashed content is what is stored).
    """
    if table not in CHAINED_TABLES:
        raise ValueError(f"{table.name} is not a chained table; expected one of "
                         f"{[t.name for t in CHAINED_TABLES]}")
    _lock(con, table)
    head = read_head(con, table) or Head(0, None, GENESIS)
    names = [c.name for c in table.c if c.name not in CHAIN_COLUMNS]
    ids: list[int] = []
    prev, count = head.last_hash, head.rows
    for given in rows:
        unknown = set(given) - set(names) - {"id"}
        if unknown:
            raise ValueError(f"{table.name} has no column {sorted(unknown)}")
        new_id = _next_id(con, table)
        row = {name: given.get(name) for name in names}
        row["id"] = new_id
        digest = row_hash(prev, table.name, row)
        con.execute(table.insert().values(**row, prev_hash=prev, row_hash=digest))
        ids.append(new_id)
        prev, count = digest, count + 1
    if ids:
        _write_head(con, table, Head(count, ids[-1], prev))
    return ids


def erase(con: Connection, table: Table, where: ColumnElement[bool], context_id: str) -> int:
    """Delete the chained rows matching ``where``, keeping their ids and hashes; return count.

    For a retention erasure (the store's rules allow the delete only in an erasing
    transaction): each row's ``id``, ``prev_hash`` and ``row_hash`` go to
    ``ctxmap_chain_erased`` with ``context_id``, so the chain still links across them.
    """
    gone = con.execute(select(table.c.id, table.c.prev_hash, table.c.row_hash).where(where)
                       ).all()
    if gone:
        con.execute(ctxmap_chain_erased.insert(), [
            {"name": table.name, "id": int(i), "erased_context": context_id,
             "prev_hash": p, "row_hash": h} for i, p, h in gone])
    return int(con.execute(table.delete().where(where)).rowcount)


def chain_existing(con: Connection, table: Table) -> int:
    """Hash the rows already in ``table`` (a store upgraded in place), oldest id first.

    Run by the store migration that adds the chain, with the table's update rule lifted
    for that transaction only. Returns the number of rows chained.
    """
    prev, count, last = GENESIS, 0, None
    result = con.execute(table.select().order_by(table.c.id))
    rows = [dict(r._mapping) for r in result]
    for row in rows:
        digest = row_hash(prev, table.name, row)
        con.execute(table.update().where(table.c.id == row["id"])
                    .values(prev_hash=prev, row_hash=digest))
        prev, count, last = digest, count + 1, int(row["id"])
    if count:
        _write_head(con, table, Head(count, last, prev))
    return count


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking one chain.

    ``broken_at`` is the id of the first row that does not verify (``None``: intact;
    ``0``: the break is at the head, not at a row) and ``problem`` says why.
    """

    table: str
    rows: int
    erased: int
    head: str
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        """Whether every row links and the chain reaches its head."""
        return not self.problem


def check_chain(con: Connection, table: Table) -> ChainCheck:
    """Walk ``table``'s chain in id order and return the first break, if any."""
    names = [c.name for c in table.c]
    live = {int(r._mapping["id"]): dict(r._mapping)
            for r in con.execute(table.select().with_only_columns(
                *[table.c[n] for n in names]))}
    e = ctxmap_chain_erased.c
    stubs = {int(r[0]): (r[1], r[2]) for r in con.execute(
        select(e.id, e.prev_hash, e.row_hash).where(e.name == table.name))}
    head = read_head(con, table)
    prev = GENESIS
    ids = sorted(set(live) | set(stubs))

    def broken(at: int, problem: str) -> ChainCheck:
        return ChainCheck(table.name, len(live), len(stubs), prev, at, problem)

    for i in ids:
        if i in live and i in stubs:
            return broken(i, f"{table.name} row {i} is both present and recorded as erased")
        if i in stubs:
            stub_prev, stub_hash = stubs[i]
            if stub_prev != prev:
                return broken(i, f"{table.name} row {i} (erased) does not follow the row "
                              "before it: a row before it was deleted, added or changed")
            prev = str(stub_hash)
            continue
        row = live[i]
        if not row.get("row_hash") or not row.get("prev_hash"):
            return broken(i, f"{table.name} row {i} has no hash: it was written outside "
                          "ctxmap")
        if row["prev_hash"] != prev:
            return broken(i, f"{table.name} row {i} does not follow the row before it: a "
                          "row before it was deleted, added or its hash edited")
        if row_hash(prev, table.name, row) != row["row_hash"]:
            return broken(i, f"{table.name} row {i} does not match its hash: its content or "
                          "hash was changed")
        prev = str(row["row_hash"])
    total = len(ids)
    last = ids[-1] if ids else None
    if head is None:
        if total:
            return broken(ids[0], f"{table.name} has {total} rows but no chain head: the "
                          "head was deleted, or the rows were written outside ctxmap")
    elif (head.rows, head.last_id, head.last_hash) != (total, last, prev):
        where = head.last_id if head.last_id is not None else 0
        if head.last_id is not None and (last is None or head.last_id > last):
            problem = (f"{table.name} ends at row {last}, but its head records {head.rows} "
                       f"rows ending at row {head.last_id}: rows were deleted from the end")
        else:
            problem = (f"{table.name} has {total} rows ending at row {last}, but its head "
                       f"records {head.rows} ending at row {head.last_id}: rows were added "
                       "outside ctxmap, or the head was changed")
        return broken(where, problem)
    return ChainCheck(table.name, len(live), len(stubs), prev)


def verify_chains(store: Store) -> list[ChainCheck]:
    """Check every chained table of ``store`` (audit log, then history).

    Each chain is read under its write lock, so a row being added meanwhile is either
    wholly in the check or not at all.
    """
    checks = []
    with store.records_transaction() as con:
        for table in sorted(CHAINED_TABLES, key=lambda t: t.name, reverse=True):
            _lock(con, table)
            checks.append(check_chain(con, table))
    return checks


__all__ = [
    "GENESIS",
    "ChainCheck",
    "Head",
    "append",
    "canonical",
    "chain_existing",
    "check_chain",
    "erase",
    "read_head",
    "row_hash",
    "verify_chains",
]
