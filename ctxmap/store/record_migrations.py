"""The records migrations (store versions 2 to 4), the same steps on both databases.

Each step creates its tables from :mod:`ctxmap.store.record_tables` and adds the
append-only protections, which are per-database DDL: SQLite triggers that
``RAISE(ABORT, ...)``, PostgreSQL trigger functions that ``RAISE EXCEPTION``. The
messages are the same on both, and callers match them ("append-only", "never
deleted"). On SQLite the tables are also registered in ``gpkg_contents``, so GIS tools
list them.

1. contexts of concern: the case tables, the seeded partner list, the history, which
   cannot be changed or deleted, and contexts, which cannot be deleted;
2. the audit log, which cannot be changed or deleted;
3. retention erasure: a context registered in ``ctx_retention_erasing`` (in the
   erasing transaction) may be deleted, with its history;
4. tamper evidence (:mod:`ctxmap.store.chain`): the audit log and the history are
   hash-chained. Rows already there are chained when the store is upgraded (so the chain
   vouches for them only from then on). On SQLite an INSERT (or REPLACE) reusing the id of
   an audit, history or context row is refused, as is a chained row without its hashes;
   on PostgreSQL the connecting role loses UPDATE, DELETE and TRUNCATE on the audit log
   and UPDATE and TRUNCATE on the history (DELETE there is granted back inside a
   retention erasure only), and the hash columns become NOT NULL.

A released step is never edited: a schema change is a new step at the end of
:data:`RECORD_MIGRATIONS`, run by both stores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy import Connection

from ctxmap.store import vocabularies as vocab
from ctxmap.store.chain import chain_existing
from ctxmap.store.engine import driver_connection
from ctxmap.store.record_tables import (
    AUDIT_TABLES,
    CHAIN_TABLES,
    CHAINED_TABLES,
    CONTEXT_TABLES,
    RECORDS,
    RETENTION_TABLES,
    ctx_partners,
)

HISTORY_NO_UPDATE: Final = "ctx_history is append-only: rows cannot be changed"
HISTORY_NO_DELETE: Final = "ctx_history is append-only: rows cannot be deleted"
CONTEXT_NO_DELETE: Final = "contexts are never deleted: set status to closed"
AUDIT_NO_UPDATE: Final = "ctxmap_audit is append-only: entries cannot be changed"
AUDIT_NO_DELETE: Final = "ctxmap_audit is append-only: entries cannot be deleted"
CHAIN_NO_DELETE: Final = "ctxmap_chain is the head of the hash chains: it cannot be deleted"
ERASED_NO_CHANGE: Final = "ctxmap_chain_erased is append-only: rows cannot be changed"
#: Messages of the chain migration's refusals, by table (``{table}`` is filled in).
NO_REPLACE: Final = ("UNIQUE constraint failed: {table}.id (a row with this id exists; "
                     "{table} rows are never replaced)")
NO_HASH: Final = ("{table} rows are hash-chained: expected prev_hash and row_hash "
                  "(write with ctxmap)")
_NO_UPDATE: Final = {"ctx_history": HISTORY_NO_UPDATE, "ctxmap_audit": AUDIT_NO_UPDATE}

_ERASING_CONTEXT: Final = "SELECT 1 FROM ctx_retention_erasing e WHERE e.context_id = OLD.id"
_ERASING_HISTORY: Final = ("SELECT 1 FROM ctx_retention_erasing e "
                           "WHERE e.context_id = OLD.context_id")


def _sqlite_refuse(table: str, event: str, message: str, when: str = "",
                   name: str = "") -> list[str]:
    name = name or f"{table}_no_{event.lower()}"
    return [
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} {when}\n"
        f"BEGIN\n    SELECT RAISE(ABORT, '{message}');\nEND",
    ]


def _pg_refuse(table: str, event: str, message: str) -> list[str]:
    """A BEFORE trigger that raises ``message`` on ``event`` (per row; TRUNCATE too)."""
    name = f"{table}_no_{event.lower()}"
    scope = "STATEMENT" if event == "TRUNCATE" else "ROW"
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH {scope} "
        f"EXECUTE FUNCTION ctxmap_refuse('{message}')",
    ]


def _pg_guarded_delete(schema: str, table: str, allowed: str, message: str) -> list[str]:
    """PostgreSQL: refuse DELETE on ``table`` unless ``allowed`` (an SQL condition) holds."""
    function = f"{table}_guard_delete"
    quoted = message.replace("'", "''")
    return [
        f'CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql '
        f'SET search_path = "{schema}" AS $$ BEGIN IF NOT ({allowed}) THEN '
        f"RAISE EXCEPTION '{quoted}'; END IF; RETURN OLD; END $$",
        f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def _register_gpkg(con: Connection, rows: list[tuple[str, str]]) -> None:
    """SQLite: list record tables in ``gpkg_contents`` (as attribute tables)."""
    for table, description in rows:
        con.exec_driver_sql(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description) VALUES (?, 'attributes', ?, ?)", (table, table, description))


def _run(con: Connection, statements: list[str]) -> None:
    """Run DDL on the driver's connection (in the open transaction), without parameters."""
    raw = driver_connection(con)
    for statement in statements:
        raw.execute(statement)


def migrate_contexts(con: Connection) -> None:
    """Contexts of concern, plans, consent and their append-only history (version 2)."""
    RECORDS.create_all(con, tables=list(CONTEXT_TABLES), checkfirst=False)
    if con.dialect.name == "sqlite":
        _run(con, [*_sqlite_refuse("ctx_history", "UPDATE", HISTORY_NO_UPDATE),
                   *_sqlite_refuse("ctx_history", "DELETE", HISTORY_NO_DELETE),
                   *_sqlite_refuse("ctx_contexts", "DELETE", CONTEXT_NO_DELETE)])
        _register_gpkg(con, [("ctx_contexts", "contexts of concern"),
                             ("ctx_history", "append-only history of contexts")])
    else:
        schema = con.exec_driver_sql("SELECT current_schema()").scalar_one()
        _run(con, [
            "CREATE OR REPLACE FUNCTION ctxmap_refuse() RETURNS trigger LANGUAGE plpgsql "
            f'SET search_path = "{schema}" AS $$ BEGIN RAISE EXCEPTION \'%\', TG_ARGV[0]; '
            "END $$",
            *_pg_refuse("ctx_history", "UPDATE", HISTORY_NO_UPDATE),
            *_pg_refuse("ctx_history", "DELETE", HISTORY_NO_DELETE),
            *_pg_refuse("ctx_contexts", "DELETE", CONTEXT_NO_DELETE),
            *_pg_refuse("ctx_history", "TRUNCATE", HISTORY_NO_DELETE),
            *_pg_refuse("ctx_contexts", "TRUNCATE", CONTEXT_NO_DELETE),
        ])
    con.execute(ctx_partners.insert(), [
        {"name": name, "description": description, "seeded": 1}
        for name, description in vocab.SEEDED_PARTNERS])


def migrate_audit(con: Connection) -> None:
    """The append-only audit log (version 3). Can be run again: it changes nothing then."""
    RECORDS.create_all(con, tables=list(AUDIT_TABLES), checkfirst=True)
    if con.dialect.name == "sqlite":
        _run(con, [*_sqlite_refuse("ctxmap_audit", "UPDATE", AUDIT_NO_UPDATE),
                   *_sqlite_refuse("ctxmap_audit", "DELETE", AUDIT_NO_DELETE)])
        _register_gpkg(con, [("ctxmap_audit", "append-only audit log")])
    else:
        _run(con, [*_pg_refuse("ctxmap_audit", "UPDATE", AUDIT_NO_UPDATE),
                   *_pg_refuse("ctxmap_audit", "DELETE", AUDIT_NO_DELETE),
                   *_pg_refuse("ctxmap_audit", "TRUNCATE", AUDIT_NO_DELETE)])


def migrate_retention(con: Connection) -> None:
    """Retention erasure: a registered context may be deleted, with its history (version 4)."""
    RECORDS.create_all(con, tables=list(RETENTION_TABLES), checkfirst=True)
    if con.dialect.name == "sqlite":
        _run(con, [
            *_sqlite_refuse("ctx_contexts", "DELETE", CONTEXT_NO_DELETE,
                            f"WHEN NOT EXISTS ({_ERASING_CONTEXT})"),
            *_sqlite_refuse("ctx_history", "DELETE", HISTORY_NO_DELETE,
                            f"WHEN OLD.context_id IS NULL OR NOT EXISTS ({_ERASING_HISTORY})"),
        ])
        return
    schema = con.exec_driver_sql("SELECT current_schema()").scalar_one()
    _run(con, [
        *_pg_guarded_delete(schema, "ctx_contexts", f"EXISTS ({_ERASING_CONTEXT})",
                            CONTEXT_NO_DELETE),
        *_pg_guarded_delete(schema, "ctx_history",
                            f"OLD.context_id IS NOT NULL AND EXISTS ({_ERASING_HISTORY})",
                            HISTORY_NO_DELETE),
    ])


def _columns(con: Connection, table: str) -> set[str]:
    if con.dialect.name == "sqlite":
        return {r[1] for r in con.exec_driver_sql(f'PRAGMA table_info("{table}")')}
    return set(con.exec_driver_sql(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = %(t)s", {"t": table}).scalars())


def migrate_chain(con: Connection) -> None:
    """Hash-chain the audit log and the history; refuse REPLACE and rewriting (version 5)."""
    sqlite = con.dialect.name == "sqlite"
    for table in CHAINED_TABLES:
        have = _columns(con, table.name)
        for column in ("prev_hash", "row_hash"):
            if column not in have:
                con.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {column} TEXT')
    RECORDS.create_all(con, tables=list(CHAIN_TABLES), checkfirst=True)
    for table in CHAINED_TABLES:
        name = table.name
        if sqlite:
            _run(con, [f"DROP TRIGGER IF EXISTS {name}_no_update"])
        else:
            _run(con, [f"ALTER TABLE {name} DISABLE TRIGGER {name}_no_update"])
        chain_existing(con, table)
        if sqlite:
            _run(con, _sqlite_refuse(name, "UPDATE", _NO_UPDATE[name]))
        else:
            _run(con, [f"ALTER TABLE {name} ENABLE TRIGGER {name}_no_update",
                       f"ALTER TABLE {name} ALTER COLUMN prev_hash SET NOT NULL",
                       f"ALTER TABLE {name} ALTER COLUMN row_hash SET NOT NULL"])
        _run(con, [f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_chain ON {name} (prev_hash)"])
    if sqlite:
        statements = []
        for name in ("ctx_contexts", "ctx_history", "ctxmap_audit"):
            statements += _sqlite_refuse(
                name, "INSERT", NO_REPLACE.format(table=name),
                f"WHEN EXISTS (SELECT 1 FROM {name} WHERE id = NEW.id)", f"{name}_no_replace")
        for table in CHAINED_TABLES:
            statements += _sqlite_refuse(
                table.name, "INSERT", NO_HASH.format(table=table.name),
                "WHEN NEW.prev_hash IS NULL OR NEW.row_hash IS NULL", f"{table.name}_chained")
        statements += [*_sqlite_refuse("ctxmap_chain", "DELETE", CHAIN_NO_DELETE),
                       *_sqlite_refuse("ctxmap_chain_erased", "UPDATE", ERASED_NO_CHANGE),
                       *_sqlite_refuse("ctxmap_chain_erased", "DELETE", ERASED_NO_CHANGE)]
        _run(con, statements)
        _register_gpkg(con, [("ctxmap_chain", "heads of the audit and history hash chains")])
        return
    _run(con, [
        *_pg_refuse("ctxmap_chain", "DELETE", CHAIN_NO_DELETE),
        *_pg_refuse("ctxmap_chain", "TRUNCATE", CHAIN_NO_DELETE),
        *_pg_refuse("ctxmap_chain_erased", "UPDATE", ERASED_NO_CHANGE),
        *_pg_refuse("ctxmap_chain_erased", "DELETE", ERASED_NO_CHANGE),
        *_pg_refuse("ctxmap_chain_erased", "TRUNCATE", ERASED_NO_CHANGE),
        "REVOKE UPDATE, DELETE, TRUNCATE ON ctxmap_audit, ctxmap_chain_erased "
        "FROM PUBLIC, CURRENT_USER",
        "REVOKE UPDATE, DELETE, TRUNCATE ON ctx_history FROM PUBLIC, CURRENT_USER",
        "REVOKE DELETE, TRUNCATE ON ctxmap_chain FROM PUBLIC, CURRENT_USER",
    ])


#: The records migrations, run by both stores after their layers migration (version 1).
RECORD_MIGRATIONS: Final[list[Callable[[Connection], None]]] = [
    migrate_contexts, migrate_audit, migrate_retention, migrate_chain]
