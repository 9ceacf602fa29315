"""Contexts: store constraints, migrations, conflicts, append-only history, evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box

from ctxmap.cases.evidence import context_evidence
from ctxmap.cases.records import SEED_PARTNERS, Action, Context, actions_frame, is_overdue
from ctxmap.cases.repository import (
    add_partner,
    add_record,
    add_records,
    create_context,
    delete_record,
    get_context,
    history,
    list_contexts,
    list_partners,
    load_bundle,
    update_record,
)
from ctxmap.cases.safety_map import safety_ratings_layer
from ctxmap.cases.validation import check_yp_ref
from ctxmap.errors import ConflictError, InputError
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.geopackage import MIGRATIONS, GeoPackageStore

HOME = Point(1.30, 52.63)


@pytest.fixture
def store(both_stores):
    """A fresh embedded store, then a fresh PostGIS store (same tests on both)."""
    return both_stores


def _ctx(store: GeoPackageStore, **kw: object) -> Context:
    args: dict[str, object] = dict(name="Park", kind="park", referral_date="2019-01-02",
                                   referral_reason="Young people approached", geometry=HOME)
    args.update(kw)
    return create_context(store, "w1", **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("ref", ["YP-0001", "YP-7K2Q", " YP-12 "])
def test_valid_references(ref: str) -> None:
    assert check_yp_ref(ref) == ref.strip()


@pytest.mark.parametrize("ref", ["Rosie", "YP-ROSIE", "yp-0001", "YP-Rosie1", "Jane Smith",
                                 "YP-1", "YP-0001 Smith", "", "YP-" + "1" * 13])
def test_names_and_bad_references_refused(ref: str) -> None:
    with pytest.raises(InputError, match="YP-0001"):
        check_yp_ref(ref)


def test_name_is_called_a_name() -> None:
    with pytest.raises(InputError, match="looks like a name"):
        check_yp_ref("Rosie")


def test_create_and_read_back(store: GeoPackageStore) -> None:
    c = _ctx(store, young_people=["YP-0001"])
    assert c.id == "ctx-0001" and c.version == 1 and c.status == "referred"
    assert c.geometry.equals_exact(HOME, 1e-9)
    b = load_bundle(store, c.id)
    assert [y.yp_ref for y in b.young_people] == ["YP-0001"]
    assert _ctx(store).id == "ctx-0002"


def test_non_online_context_needs_location(store: GeoPackageStore) -> None:
    with pytest.raises(InputError, match="needs a location"):
        _ctx(store, geometry=None)
    assert _ctx(store, geometry=None, kind="online space").geometry is None


@pytest.mark.parametrize("field,value", [("kind", "flat"), ("referral_date", "02/01/2019"),
                                         ("referral_reason", "  "), ("status", "open"),
                                         ("radius_m", -5), ("geometry", Point(400000, 300000))])
def test_validation_refuses_bad_fields(store: GeoPackageStore, field: str, value: object) -> None:
    with pytest.raises(InputError):
        _ctx(store, **{field: value})


def test_database_constraints_hold_without_python_checks(store: GeoPackageStore) -> None:
    c = _ctx(store, young_people=["YP-0001"])
    bad = [
        "UPDATE ctx_contexts SET status = 'open' WHERE id = :id",
        "UPDATE ctx_contexts SET kind = 'flat' WHERE id = :id",
        "UPDATE ctx_contexts SET referral_date = 'soon' WHERE id = :id",
        "INSERT INTO ctx_young_people (context_id, yp_ref, linked_on) VALUES (:id, "
        "'Rosie', '2019-01-01')",
        "INSERT INTO ctx_young_people (context_id, yp_ref, linked_on) VALUES (:id, "
        "'YP-0001', '2019-01-01')",  # duplicate
        "INSERT INTO ctx_young_people (context_id, yp_ref, linked_on) VALUES ("
        "'ctx-9999', 'YP-0002', '2019-01-01')",  # no such context
        "INSERT INTO ctx_actions (context_id, partner, what) VALUES (:id, 'Nobody', 'x')",
        # unknown partner
        "INSERT INTO ctx_consent (context_id, yp_ref, partner, category, legal_basis, "
        "given_on) VALUES (:id, 'YP-0009', 'Local police', 'link', 'consent', "
        "'2019-01-01')",  # young person not linked
        "INSERT INTO ctx_assessment (context_id, side, factor, text, source, source_grade,"
        " info_grade, recorded_on) VALUES (:id, 'place', 'risk', 't', 's', 'F', '1', "
        "'2019-01-01')",
        "INSERT INTO ctx_safety_ratings (context_id, place_label, rating, geometry_wkt, "
        "rated_on) VALUES (:id, 'x', 'blue', 'POINT (1 52)', '2019-01-01')",
        "DELETE FROM ctx_contexts WHERE id = :id",
    ]
    with store.records() as con:
        for sql in bad:
            with pytest.raises(RecordRefusedError):
                con.execute(sa.text(sql), {"id": c.id})


def test_history_is_append_only(store: GeoPackageStore) -> None:
    c = _ctx(store)
    with store.records() as con:
        n = con.execute(sa.text("SELECT count(*) FROM ctx_history")).scalar_one()
        assert n > 0
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text("UPDATE ctx_history SET changed_by = 'x'"))
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text("DELETE FROM ctx_history"))
        assert con.execute(sa.text("SELECT count(*) FROM ctx_history")).scalar_one() == n
    assert c.id


def test_update_logs_each_field_and_bumps_version(store: GeoPackageStore) -> None:
    c = _ctx(store)
    c2 = update_record(store, "context", c.id, 1, "w2", status="assessing", name="Park 2",
                          lead_agency="")
    assert c2.version == 2 and c2.status == "assessing" and c2.updated_by == "w2"
    h = history(store, c.id)
    upd = h[h["action"] == "update"]
    assert sorted(upd["field"]) == ["name", "status"]  # lead_agency did not change
    row = upd[upd["field"] == "status"].iloc[0]
    assert json.loads(row["old"]) == "referred" and json.loads(row["new"]) == "assessing"
    assert row["changed_by"] == "w2"
    same = update_record(store, "context", c.id, 2, "w2", status="assessing")
    assert same.version == 2


def test_conflicting_update_raises_and_names_who(store: GeoPackageStore) -> None:
    c = _ctx(store)
    update_record(store, "context", c.id, c.version, "alice", status="assessing")
    with pytest.raises(ConflictError, match="alice") as err:
        update_record(store, "context", c.id, c.version, "bob", status="planning")
    assert "version 1" in str(err.value) and "version 2" in str(err.value)
    assert get_context(store, c.id).status == "assessing"


def test_conflict_on_child_record(store: GeoPackageStore) -> None:
    c = _ctx(store)
    a = add_record(store, "action", c.id, "w1", partner="Local police", what="Patrol",
                      due_date="2019-02-01")
    update_record(store, "action", a.id, a.version, "carol", status="in progress")
    with pytest.raises(ConflictError, match="carol"):
        update_record(store, "action", a.id, a.version, "dan", status="done")
    with pytest.raises(ConflictError):
        delete_record(store, "action", a.id, a.version, "dan")
    delete_record(store, "action", a.id, a.version + 1, "dan")
    h = history(store, c.id)
    assert (h[(h["entity"] == "action") & (h["action"] == "delete")]["changed_by"] == "dan").all()
    assert load_bundle(store, c.id).actions == ()


def test_child_records_and_bundle(store: GeoPackageStore) -> None:
    c = _ctx(store, young_people=["YP-0001"])
    add_record(store, "assessment", c.id, "w", side="place", factor="risk", text="Dark path",
                  source="Visit", source_grade="A", info_grade="1", recorded_on="2019-01-03")
    with pytest.raises(InputError, match="source reliability"):
        add_record(store, "assessment", c.id, "w", side="place", factor="risk", text="x",
                      source="s", source_grade="Z", info_grade="1", recorded_on="2019-01-03")
    with pytest.raises(InputError, match="not on the partner list"):
        add_record(store, "action", c.id, "w", partner="Nobody", what="x")
    add_partner(store, "Nobody", "w")
    add_record(store, "action", c.id, "w", partner="Nobody", what="x")
    add_record(store, "consent", c.id, "w", yp_ref="YP-0001", partner="Local police",
                  category="link", legal_basis="consent", given_on="2019-01-05")
    with pytest.raises(InputError, match="already exists"):
        add_record(store, "consent", c.id, "w", yp_ref="YP-0001", partner="Local police",
                      category="link", legal_basis="consent", given_on="2019-01-05")
    with pytest.raises(InputError):
        add_record(store, "consent", c.id, "w", yp_ref="YP-0002", partner="Local police",
                      category="link", legal_basis="consent", given_on="2019-01-05")
    add_record(store, "safety_rating", None, "w", place_label="Bus stop", rating="red",
                  geometry=Point(1.3, 52.6), rated_on="2019-01-05")
    add_record(store, "review_note", c.id, "w", kind="staff confidence", text="Better",
                  noted_on="2019-03-01")
    b = load_bundle(store, c.id)
    assert (len(b.assessment), len(b.actions), len(b.consents), len(b.review_notes)) == (
        1, 1, 1, 1)
    assert b.safety_ratings == ()  # the pooled rating belongs to no context
    assert len(safety_ratings_layer(store)) == 1


def test_overdue_actions() -> None:
    today = dt.date(2019, 2, 1)
    acts = [Action(1, "c", "p", "late", due_date="2019-01-31"),
            Action(2, "c", "p", "done late", due_date="2019-01-01", status="done"),
            Action(3, "c", "p", "due today", due_date="2019-02-01"),
            Action(4, "c", "p", "no date")]
    assert [is_overdue(a, today) for a in acts] == [True, False, False, False]
    frame = actions_frame(acts, today)
    assert frame["id"].iloc[0] == 1 and frame["overdue"].sum() == 1


def test_list_contexts_counts_open_and_overdue(store: GeoPackageStore) -> None:
    c = _ctx(store)
    for due, status in (("2019-01-01", "not started"), ("2019-01-01", "done"),
                        ("2030-01-01", "in progress")):
        add_record(store, "action", c.id, "w", partner="Local police", what="x",
                      due_date=due, status=status)
    row = list_contexts(store, dt.date(2019, 6, 1)).iloc[0]
    assert (row["open_actions"], row["overdue_actions"]) == (2, 1)


def test_migration_upgrades_a_base_store_and_keeps_its_data(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    import ctxmap.store.geopackage as store_mod

    path = tmp_path / "old.gpkg"
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS[:1])
    old = GeoPackageStore(path)
    assert old.schema_version == 1
    homes = gpd.GeoDataFrame({"id": ["h1"], "name": ["A home"]}, geometry=[HOME],
                             crs="EPSG:4326")
    old.write("homes", homes, file="homes.csv")
    con = old.connect()
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name='ctx_contexts'").fetchone()
    con.close()
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS)
    new = GeoPackageStore(path)
    assert new.schema_version == len(MIGRATIONS)
    assert new.read("homes")["id"].tolist() == ["h1"]
    assert len(new.imports()) == 1
    assert list_partners(new)[:len(SEED_PARTNERS)] == list(SEED_PARTNERS)
    _ctx(new)
    assert GeoPackageStore(path).schema_version == len(MIGRATIONS)  # reopening runs nothing again


def test_context_evidence_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    pts = [Point(1.29 + x, 52.62 + y) for x, y in rng.uniform(0, 0.02, (60, 2))]
    cats = ["Drugs", "Robbery", "Burglary"]
    inc = gpd.GeoDataFrame({"id": [str(i) for i in range(62)],
                            "month": ["2019-01", "2019-02"] * 31,
                            "category": [cats[i % 3] for i in range(62)]},
                           geometry=[*pts, None, None], crs="EPSG:4326")
    safe = gpd.GeoDataFrame({"id": ["a", "b"], "name": ["Lib", None], "category": ["x", "y"]},
                            geometry=[Point(1.30, 52.63), Point(1.305, 52.63)], crs="EPSG:4326")
    areas = gpd.GeoDataFrame({"id": ["D"], "name": ["D"], "level": ["district"]},
                             geometry=[box(1.28, 52.61, 1.32, 52.65)], crs="EPSG:4326")
    layers = {"incidents": inc, "safe_places": safe, "areas": areas}
    centre = Point(1.30, 52.63)
    ev = context_evidence(centre, layers, radius_m=500, categories=["Drugs", "Robbery"])
    metric = inc.to_crs(27700)
    c_m = gpd.GeoSeries([centre], crs=4326).to_crs(27700).iloc[0]
    expected = sum(1 for g, cat in zip(metric.geometry, inc["category"], strict=True)
                   if g is not None and cat in ("Drugs", "Robbery") and g.distance(c_m) <= 500)
    assert int(ev.by_category.sum()) == expected == len(ev.incidents)
    assert int(ev.by_month.to_numpy().sum()) == expected
    assert ev.unlocated_in_period == sum(1 for i in (60, 61) if inc["category"][i] != "Burglary")
    assert ev.nearest["id"].tolist() == ["a", "b"]
    assert ev.nearest["distance_m"].iloc[0] < 1
    assert ev.hotspot is not None and ev.hotspot["incidents"] == expected
    poly = box(1.295, 52.625, 1.305, 52.635)
    ev2 = context_evidence(poly, layers, categories=None)
    poly_m = gpd.GeoSeries([poly], crs=4326).to_crs(27700).iloc[0]
    assert int(ev2.by_category.sum()) == sum(
        1 for g in metric.geometry if g is not None and poly_m.intersects(g))
    none = context_evidence(None, layers)
    assert none.by_category.sum() == 0 and none.hotspot is None


def test_add_records_is_all_or_none(store) -> None:
    """Several consent rows in one call: a refused row leaves none of them stored."""
    c = _ctx(store)
    add_record(store, "young_person", c.id, "w", yp_ref="YP-0001", linked_on="2019-01-03")
    row = dict(yp_ref="YP-0001", partner="Local police", legal_basis="consent",
               given_on="2019-01-05")
    history_before = len(history(store, c.id))
    with pytest.raises(InputError, match="already exists"):  # the second row repeats the first
        add_records(store, "consent", c.id, "w", [{**row, "category": "link"},
                                                  {**row, "category": "link"}])
    assert load_bundle(store, c.id).consents == ()
    assert len(history(store, c.id)) == history_before
    with pytest.raises(InputError, match="information category"):  # checked before writing
        add_records(store, "consent", c.id, "w", [{**row, "category": "link"},
                                                  {**row, "category": "gossip"}])
    assert load_bundle(store, c.id).consents == ()
    made = add_records(store, "consent", c.id, "w", [{**row, "category": "link"},
                                                     {**row, "category": "views"}])
    assert sorted(m.category for m in made) == ["link", "views"]
    assert len(load_bundle(store, c.id).consents) == 2
