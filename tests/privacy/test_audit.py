"""The audit log: entries are recorded, read back, exported safely and never changed."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
import sqlalchemy as sa

from ctxmap.errors import InputError
from ctxmap.privacy.audit import log_csv, read_log, record
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.record_migrations import migrate_audit


@pytest.fixture
def store(both_stores):
    """A fresh embedded store, then a fresh PostGIS store (same tests on both)."""
    return both_stores


def test_record_and_read(store):
    t0 = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    a = record(store, "sam", "export", "map of wards", "public task", at=t0)
    b = record(store, "kim", "view unmasked", "map page", "consent", role="coordinator")
    log = read_log(store)
    assert log["id"].tolist() == [b, a]
    first = log[log["id"] == a].iloc[0]
    assert (first["user"], first["role"], first["action"], first["what"], first["legal_basis"],
            first["at"]) == ("sam", "analyst", "export", "map of wards", "public task",
                             "2025-01-02T03:04:05+00:00")
    assert read_log(store, user="kim")["id"].tolist() == [b]
    assert read_log(store, action="export")["id"].tolist() == [a]
    assert read_log(store, since="2100-01-01").empty


def test_log_is_append_only(store):
    record(store, "sam", "export", "x", "public task")
    with store.records() as con:
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text('UPDATE ctxmap_audit SET "user" = \'someone else\''))
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text("DELETE FROM ctxmap_audit"))
    assert len(read_log(store)) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"legal_basis": "because"}, "legal basis"),
        ({"user": " "}, "user"),
        ({"action": ""}, "action"),
        ({"what": "x" * 501}, "at most 500"),
        ({"role": "root"}, "unknown role"),
    ],
)
def test_bad_records_rejected(store, kwargs, match):
    args = {"user": "sam", "action": "export", "what": "x", "legal_basis": "consent"}
    kwargs = dict(kwargs)  # the parameter dict is shared by both stores
    role = kwargs.pop("role", "analyst")
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        record(store, args["user"], args["action"], args["what"], args["legal_basis"], role=role)
    assert read_log(store).empty


def test_migration_is_idempotent(store):
    with store.records_transaction() as con:
        migrate_audit(con)
    record(store, "sam", "export", "x", "vital interests")
    assert len(read_log(store)) == 1


def test_csv_export_defuses_formulas(store):
    record(store, "sam", "export", "=HYPERLINK(\"http://x\")", "legitimate interests")
    text = log_csv(read_log(store))
    back = pd.read_csv(io.StringIO(text))
    assert back["what"].iloc[0] == "'=HYPERLINK(\"http://x\")"
    assert list(back.columns) == ["id", "at", "user", "role", "action", "what", "legal_basis"]
