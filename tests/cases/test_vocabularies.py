"""The case vocabularies are exactly the lists the store's CHECK constraints enforce.

The CHECK constraints are read back from the tables each database created (a fresh
GeoPackage, a fresh PostGIS schema, and the v4 stores, file and PostGIS, written by the
release before the SQLAlchemy tables) and compared with the tuples the case and audit
modules use.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctxmap.cases.consent import CONSENT_CATEGORIES
from ctxmap.cases.consent import LEGAL_BASES as SHARING_BASES
from ctxmap.cases.records import (
    ACTION_STATUSES,
    ASSESSMENT_SIDES,
    CONTEXT_KINDS,
    CONTEXT_STATUSES,
    ENTITIES,
    FACTORS,
    INFO_GRADES,
    RATINGS,
    REVIEW_NOTE_KINDS,
    SOURCE_GRADES,
)
from ctxmap.layers.schemas import PLACE_KINDS
from ctxmap.privacy.audit import LEGAL_BASES as AUDIT_BASES
from ctxmap.privacy.roles import ROLES
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.record_tables import RECORD_TABLES

EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("ctx_contexts", "kind"): CONTEXT_KINDS,
    ("ctx_contexts", "status"): CONTEXT_STATUSES,
    ("ctx_contexts", "place_layer"): tuple(PLACE_KINDS),
    ("ctx_assessment", "side"): tuple(ASSESSMENT_SIDES),
    ("ctx_assessment", "factor"): FACTORS,
    ("ctx_assessment", "source_grade"): tuple(SOURCE_GRADES),
    ("ctx_assessment", "info_grade"): tuple(INFO_GRADES),
    ("ctx_actions", "status"): ACTION_STATUSES,
    ("ctx_consent", "category"): tuple(CONSENT_CATEGORIES),
    ("ctx_consent", "legal_basis"): tuple(SHARING_BASES),
    ("ctx_safety_ratings", "rating"): RATINGS,
    ("ctx_review_notes", "kind"): REVIEW_NOTE_KINDS,
    ("ctx_history", "entity"): (*ENTITIES, "partner"),
    ("ctx_history", "action"): ("create", "update", "delete"),
    ("ctxmap_audit", "role"): ROLES,
    ("ctxmap_audit", "legal_basis"): AUDIT_BASES,
}
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
#: ``column IN ('a', 'b')`` (SQLite) and ``(column = ANY (ARRAY['a'::text, ...]))`` (PostgreSQL).
_SQLITE_IN = re.compile(r"(\w+)\s+IN\s*\(([^)]*)\)", re.IGNORECASE)
_PG_ANY = re.compile(r"\(?(\w+)\)?\s*=\s*ANY\s*\(\(?ARRAY\[(.*?)\]")


def check_lists(store: object) -> dict[tuple[str, str], tuple[str, ...]]:
    """Every ``column IN (text values)`` CHECK list of the records tables, as stored."""
    names = [t.name for t in RECORD_TABLES]
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    with store.records() as con:  # type: ignore[attr-defined]
        if con.dialect.name == "sqlite":
            found = [(t, con.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :t"),
                                     {"t": t}).scalar_one()) for t in names]
            pattern = _SQLITE_IN
        else:
            found = con.execute(sa.text(
                "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'c' AND connamespace = current_schema()::regnamespace")).all()
            pattern = _PG_ANY
    for table, definition in found:
        for column, inner in pattern.findall(definition):
            values = tuple(v.replace("''", "'") for v in _QUOTED.findall(inner))
            if values:
                out[(str(table), column)] = values
    return out


def _assert_matches(lists: dict[tuple[str, str], tuple[str, ...]]) -> None:
    assert set(EXPECTED) <= set(lists), f"no CHECK list for {set(EXPECTED) - set(lists)}"
    for key, values in EXPECTED.items():
        assert lists[key] == tuple(values), key


def test_vocabularies_match_the_check_lists(both_stores: object) -> None:
    _assert_matches(check_lists(both_stores))


def test_vocabularies_match_a_v4_store(tmp_path: Path) -> None:
    copy = tmp_path / "v4.gpkg"
    shutil.copy(Path(__file__).resolve().parents[1] / "data" / "store_v4.gpkg", copy)
    _assert_matches(check_lists(GeoPackageStore(copy, create=False)))


def test_vocabularies_match_a_v4_postgis_store() -> None:
    from tests.store.test_pgstore import fresh_schema
    from tests.store.test_v4_store import load_v4_postgis

    with fresh_schema() as (url, schema):
        _assert_matches(check_lists(load_v4_postgis(url, schema)))


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_vocabulary_is_a_tuple_of_distinct_texts(key: tuple[str, str]) -> None:
    values = tuple(EXPECTED[key])
    assert values and len(set(values)) == len(values)
    assert all(isinstance(v, str) and v for v in values)
