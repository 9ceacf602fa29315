"""Retention: closed contexts past the period are listed, and erasure leaves no trace."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from ctxmap.cases.repository import add_record, create_context, get_context, update_record
from ctxmap.cases.retention import (
    closed_contexts,
    delete_context,
    due_for_review,
    retention_days,
)
from ctxmap.errors import InputError
from ctxmap.privacy.audit import read_log, verify
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.record_tables import RECORD_TABLES

MARK = "ZQXJ-unique-assessment-text-7731"
TODAY = dt.date(2026, 6, 1)


def _context(store, name, closed_at=None, marker="plain"):
    ctx = create_context(store, "worker-01", name=name, kind="park",
                            referral_date="2023-01-05", referral_reason="concern reported",
                            geometry=Point(1.29, 52.63), young_people=["YP-A1"],
                            at="2023-01-05T10:00:00+00:00")
    add_record(store, "assessment", ctx.id, "worker-01", side="place", factor="risk",
                  text=marker, source="youth worker", source_grade="B", info_grade="2",
                  recorded_on="2023-01-06")
    add_record(store, "action", ctx.id, "worker-01", partner="Local police",
                  what="more patrols")
    add_record(store, "review_note", ctx.id, "worker-01", kind="other", text=marker,
                  noted_on="2023-02-01")
    if closed_at:
        current = get_context(store, ctx.id)
        update_record(store, "context", ctx.id, current.version, "worker-01",
                         at=closed_at, status="closed")
    return ctx.id


@pytest.fixture
def store(both_stores):
    """A fresh embedded store, then a fresh PostGIS store (same tests on both)."""
    return both_stores


def _rows_mentioning(store, context_id, text) -> dict[str, int]:
    out = {}
    with store.records() as con:
        for table in RECORD_TABLES:
            if not table.name.startswith("ctx_"):
                continue
            n = 0
            for row in con.execute(sa.text(f'SELECT * FROM "{table.name}"')):
                n += sum(1 for v in row if isinstance(v, str) and (v == context_id or text in v))
            out[table.name] = n
    return out


def _is_postgres(store) -> bool:
    with store.records() as con:
        return con.dialect.name == "postgresql"


def _filenodes(store) -> dict[str, int]:
    """PostgreSQL: the data file number of each ctx table (changes when a table is rewritten)."""
    with store.records() as con:
        query = sa.text("SELECT pg_relation_filenode(CAST(:t AS regclass))")
        return {t.name: int(con.execute(query, {"t": t.name}).scalar_one())
                for t in RECORD_TABLES if t.name.startswith("ctx_")}


def test_due_for_review_brute_force():
    closed = pd.DataFrame({"id": ["a", "b", "c"], "name": ["", "", ""], "kind": ["park"] * 3,
                           "closed_on": ["2024-01-01", "2026-05-01", "2020-01-01"]})
    due = due_for_review(closed, 365, TODAY)
    expect = [i for i, d in zip(closed["id"], closed["closed_on"], strict=True)
              if (TODAY - dt.date.fromisoformat(d)).days > 365]
    assert sorted(due["id"]) == sorted(expect) == ["a", "c"]
    assert due["id"].tolist() == ["c", "a"]  # longest closed first
    with pytest.raises(InputError):
        due_for_review(closed, 0, TODAY)


def test_closure_date_from_history(store):
    old = _context(store, "Old park", closed_at="2023-03-01T09:00:00+00:00")
    _context(store, "Open park")
    closed = closed_contexts(store)
    assert closed["id"].tolist() == [old]
    assert closed["closed_on"].tolist() == ["2023-03-01"]


def test_erasure_removes_every_row_and_the_bytes(store):
    old = _context(store, "Old park", closed_at="2023-03-01T09:00:00+00:00", marker=MARK)
    keep = _context(store, "Open park")
    before_keep = _rows_mentioning(store, keep, "no-such-text")
    files = _filenodes(store) if _is_postgres(store) else {}
    assert sum(_rows_mentioning(store, old, MARK).values()) > 5
    removed = delete_context(store, old, "analyst-1", "public task", period_days=365,
                             today=TODAY)
    assert removed["ctx_contexts"] == 1 and removed["ctx_history"] > 0
    assert sum(_rows_mentioning(store, old, MARK).values()) == 0
    after_keep = _rows_mentioning(store, keep, "no-such-text")
    assert {k: after_keep[k] for k in before_keep} == before_keep
    if _is_postgres(store):  # VACUUM FULL rewrote every table that held its rows
        after = _filenodes(store)
        assert all(after[t] != files[t] for t, n in removed.items() if n)
    else:
        assert MARK.encode() not in store.path.read_bytes()  # secure_delete overwrote it
    log = read_log(store)
    assert log["action"].tolist() == ["retention delete"]
    assert old in log["what"].iloc[0] and "Old park" not in log["what"].iloc[0]
    # the history chain still links across the erased rows (their hashes kept, not content)
    intact, message, checks = verify(store)
    assert intact, message
    assert {c.table: c.erased for c in checks}["ctx_history"] == removed["ctx_history"]


def test_erasure_refused_when_not_due_or_not_closed(store):
    recent = _context(store, "Recent", closed_at="2026-05-01T09:00:00+00:00")
    open_ = _context(store, "Open")
    with pytest.raises(InputError, match="keep it"):
        delete_context(store, recent, "a", "public task", period_days=365, today=TODAY)
    with pytest.raises(InputError, match="is not closed"):
        delete_context(store, open_, "a", "public task", period_days=365, today=TODAY)
    with pytest.raises(InputError, match="does not exist"):
        delete_context(store, "ctx-9999", "a", "public task", period_days=365, today=TODAY)
    assert len(closed_contexts(store)) == 1


def test_ordinary_deletes_still_blocked(store):
    old = _context(store, "Old park", closed_at="2023-03-01T09:00:00+00:00")
    with store.records() as con:
        with pytest.raises(RecordRefusedError, match="never deleted"):
            con.execute(sa.text("DELETE FROM ctx_contexts WHERE id = :id"), {"id": old})
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text("DELETE FROM ctx_history WHERE context_id = :id"), {"id": old})


def test_retention_days_env():
    assert retention_days({}) == 730
    assert retention_days({"CTXMAP_RETENTION_DAYS": "90"}) == 90
    with pytest.raises(InputError):
        retention_days({"CTXMAP_RETENTION_DAYS": "soon"})
