"""Tamper evidence: the audit log and the history are hash-chained, and `audit verify` finds
every way of rewriting them (on both stores), while honest writes, concurrent writers, a
retention erasure and an upgraded old store all verify."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from ctxmap.cases.repository import create_context, update_record
from ctxmap.privacy.audit import read_log, record, verify
from ctxmap.store.chain import GENESIS, verify_chains
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.protocol import Store


@pytest.fixture
def store(both_stores: Store) -> Store:
    """A fresh store of each kind with 3 audit entries and a context's history."""
    for i in range(3):
        record(both_stores, f"user{i}", "export", f"thing {i}", "public task")
    ctx = create_context(both_stores, "worker", name="Park", kind="park",
                         referral_date="2024-01-02", referral_reason="reason",
                         geometry=Point(1.29, 52.63))
    update_record(both_stores, "context", ctx.id, ctx.version, "worker", status="assessing")
    return both_stores


def pg(store: Store) -> bool:
    return store.records_dialect.startswith("postgresql")  # type: ignore[attr-defined]


def tamper(store: Store, *statements: str) -> None:
    """Run raw SQL as someone with the store's own credentials (one transaction)."""
    with store.transaction() as con:
        for statement in statements:
            con.execute(statement)


def unlock(store: Store, table: str, *privileges: str) -> list[str]:
    """What a tamperer who owns the tables runs first: drop the triggers, grant back."""
    triggers = [f"{table}_no_update", f"{table}_no_delete"]
    if pg(store):
        return [f"GRANT {', '.join(privileges)} ON {table} TO CURRENT_USER",
                *(f"DROP TRIGGER IF EXISTS {t} ON {table}" for t in triggers)]
    return [f"DROP TRIGGER IF EXISTS {t}" for t in triggers]


def entries(store: Store) -> int:
    return sum(c.rows + c.erased for c in verify_chains(store))


def test_honest_writes_verify(store: Store) -> None:
    intact, message, checks = verify(store)
    n_history = sum(c.rows for c in checks if c.table == "ctx_history")
    assert intact, message
    assert message == f"chain intact: {3 + n_history} rows"
    # recompute the audit chain here from the rows as stored, another way
    with store.records() as con:
        rows = con.execute(sa.text('SELECT id, at, "user", role, action, what, legal_basis, '
                                   "prev_hash, row_hash FROM ctxmap_audit ORDER BY id")).all()
    prev = GENESIS
    for row in rows:
        content = dict(zip(("id", "at", "user", "role", "action", "what", "legal_basis"),
                           row[:7], strict=True))
        text = json.dumps({"row": content, "table": "ctxmap_audit"}, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        assert row.prev_hash == prev
        prev = hashlib.sha256((prev + text).encode()).hexdigest()
        assert row.row_hash == prev
    assert {c.table: c.head for c in checks}["ctxmap_audit"] == prev


@pytest.mark.parametrize("table", ["ctxmap_audit", "ctx_history", "ctx_contexts"])
def test_replace_is_refused(store: Store, table: str) -> None:
    if table == "ctx_contexts" and pg(store):
        return  # PostgreSQL has no REPLACE; an upsert of a context is an UPDATE, allowed
    with store.records() as con:
        before = con.execute(sa.text(f"SELECT * FROM {table} ORDER BY id LIMIT 1")).first()
    assert before is not None
    row = dict(before._mapping)
    cols = ", ".join(f'"{c}"' for c in row)
    params = ", ".join(f":{c}" for c in row)
    if pg(store):
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in row if c != "id")
        statement = (f"INSERT INTO {table} ({cols}) VALUES ({params}) "
                     f"ON CONFLICT (id) DO UPDATE SET {sets}")
    else:
        statement = f"REPLACE INTO {table} ({cols}) VALUES ({params})"
    key = "what" if table == "ctxmap_audit" else ("field" if table == "ctx_history" else "name")
    with store.records() as con:
        with pytest.raises(RecordRefusedError, match=r"UNIQUE|permission denied|append-only"):
            con.execute(sa.text(statement), {**row, key: "rewritten"})
        after = con.execute(sa.text(f"SELECT * FROM {table} ORDER BY id LIMIT 1")).first()
    assert after == before
    assert verify(store)[0]


def test_rows_without_hashes_are_refused(store: Store) -> None:
    with store.records() as con, pytest.raises(RecordRefusedError,
                                               match=r"hash-chained|NOT NULL"):
            con.execute(sa.text(
                "INSERT INTO ctxmap_audit (at, \"user\", role, action, what, legal_basis) "
                "VALUES ('2024-01-01T00:00:00+00:00', 'x', 'analyst', 'export', 'w', "
                "'public task')"))


def test_update_after_dropping_triggers_is_caught(store: Store) -> None:
    tamper(store, *unlock(store, "ctxmap_audit", "UPDATE"),
           "UPDATE ctxmap_audit SET what = 'nothing' WHERE id = 2")
    intact, message, _ = verify(store)
    assert not intact
    assert message == ("chain broken: ctxmap_audit row 2 does not match its hash: its "
                       "content or hash was changed")


def test_history_update_is_caught(store: Store) -> None:
    with store.records() as con:
        first = con.execute(sa.text("SELECT min(id) FROM ctx_history")).scalar_one()
    tamper(store, *unlock(store, "ctx_history", "UPDATE"),
           f"UPDATE ctx_history SET changed_by = 'someone else' WHERE id = {first}")
    intact, message, _ = verify(store)
    assert not intact and f"ctx_history row {first} does not match its hash" in message


def test_deleting_the_last_row_is_caught(store: Store) -> None:
    tamper(store, *unlock(store, "ctxmap_audit", "DELETE"),
           "DELETE FROM ctxmap_audit WHERE id = (SELECT max(id) FROM ctxmap_audit)")
    intact, message, _ = verify(store)
    assert not intact
    assert "ctxmap_audit ends at row 2, but its head records 3 rows ending at row 3" in message


def test_deleting_a_middle_row_is_caught(store: Store) -> None:
    tamper(store, *unlock(store, "ctxmap_audit", "DELETE"),
           "DELETE FROM ctxmap_audit WHERE id = 2")
    intact, message, _ = verify(store)
    assert not intact and "ctxmap_audit row 3 does not follow the row before it" in message


def test_editing_a_hash_is_caught(store: Store) -> None:
    tamper(store, *unlock(store, "ctxmap_audit", "UPDATE"),
           f"UPDATE ctxmap_audit SET row_hash = '{'a' * 64}' WHERE id = 1")
    intact, message, _ = verify(store)
    assert not intact and "ctxmap_audit row 1 does not match its hash" in message


def test_rehashing_one_row_is_caught_at_the_next(store: Store) -> None:
    """Changing row 2 and recomputing its own hash leaves row 3 pointing at the old one."""
    from ctxmap.store.chain import row_hash

    with store.records() as con:
        row = dict(con.execute(sa.text("SELECT * FROM ctxmap_audit WHERE id = 2")).one()._mapping)
    row["what"] = "nothing to see"
    forged = row_hash(row["prev_hash"], "ctxmap_audit", row)
    tamper(store, *unlock(store, "ctxmap_audit", "UPDATE"),
           f"UPDATE ctxmap_audit SET what = 'nothing to see', row_hash = '{forged}' WHERE id = 2")
    intact, message, _ = verify(store)
    assert not intact and "ctxmap_audit row 3 does not follow the row before it" in message


def test_pg_role_holds_no_update_delete_truncate() -> None:
    from ctxmap.store.postgis import PostGISStore
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema), PostGISStore(url, schema=schema).records() as con:
        for table, refused in (("ctxmap_audit", ("UPDATE", "DELETE", "TRUNCATE")),
                               ("ctx_history", ("UPDATE", "DELETE", "TRUNCATE"))):
            for privilege in refused:
                held = con.execute(sa.text(
                    "SELECT has_table_privilege(current_user, :t, :p)"),
                    {"t": table, "p": privilege}).scalar_one()
                assert held is False, (table, privilege)
            assert con.execute(sa.text("SELECT has_table_privilege(current_user, :t, 'INSERT')"),
                               {"t": table}).scalar_one() is True


def test_two_writers_do_not_fork_the_chain(both_stores: Store) -> None:
    errors: list[BaseException] = []

    def write(who: str) -> None:
        try:
            for i in range(15):
                record(both_stores, who, "export", f"entry {i}", "public task")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"writer{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    intact, message, _ = verify(both_stores)
    assert intact, message
    assert len(read_log(both_stores)) == 30 and entries(both_stores) == 30


def test_cli_verify(store: Store, tmp_path: Path) -> None:
    target = str(store.path) if isinstance(store, GeoPackageStore) else store.url  # type: ignore[attr-defined]
    env_schema = {} if isinstance(store, GeoPackageStore) else {
        "CTXMAP_PG_SCHEMA": store.schema}  # type: ignore[attr-defined]
    import os

    env = {**os.environ, **env_schema}
    ok = subprocess.run([sys.executable, "-m", "ctxmap", "audit", "verify", "--store", target],
                        capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == f"chain intact: {entries(store)} rows"
    tamper(store, *unlock(store, "ctxmap_audit", "UPDATE"),
           "UPDATE ctxmap_audit SET \"user\" = 'nobody' WHERE id = 1")
    bad = subprocess.run([sys.executable, "-m", "ctxmap", "audit", "verify", "--store", target],
                         capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 1
    assert "chain broken: ctxmap_audit row 1 does not match its hash" in bad.stderr
    assert "Traceback" not in bad.stderr
