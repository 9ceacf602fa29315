"""Hostile text in every field of every layer never runs, never breaks a page or an export;
the meeting view and partner exports of the sample never show a home's point or a name.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from ctxmap.layers.schemas import LAYER_KINDS, SCHEMAS
from ctxmap.maps.base import MapOptions
from ctxmap.maps.export import standalone_html
from ctxmap.maps.layers import build_map
from ctxmap.maps.masked_map import build_meeting_map
from ctxmap.privacy.shared_view import MaskSettings, mask_layers
from ctxmap.store.geopackage import GeoPackageStore
from tests.privacy.test_shared_view import coordinate_pairs, near

ROOT = Path(__file__).resolve().parent.parent
PERSON = "Jane Placeholder-Smith"
HOSTILE = [
    "<script>alert(1)</script>",
    '" onmouseover="alert(2)" x="',
    "<img src=x onerror=alert(3)>",
    "'; alert(4); //",
    "</div></script><b>bold</b>",
    "\u202eevil RTL override\u202c and \u200bzero\u200dwidth\ufeff",
    "Long " + "x" * 5000,
]
#: Columns never shared in a masked view: the person's name goes only there.
PRIVATE = {"homes": ("name", "address", "notes", "id", "source"),
           "incidents": ("location", "outcome", "source", "id")}


def _text(kind: str, column: str, i: int) -> str:
    if column in PRIVATE.get(kind, ()) and i % 2 == 0:
        return f"{column} of {PERSON} {i}"
    if column in ("month",):
        return "2024-0" + str(1 + i % 9)
    if column == "level":
        return ["district", "ward", "lsoa", "msoa"][i % 4]
    if column == "id":
        return f"{HOSTILE[i % len(HOSTILE)][:40]}-{kind}-{i}"
    if column == "category" and kind == "incidents":
        return HOSTILE[i % len(HOSTILE)] if i % 2 else "Drugs"
    return HOSTILE[(i + len(column)) % len(HOSTILE)]


def _layer(kind: str, geoms: list) -> gpd.GeoDataFrame:
    cols: dict[str, list] = {}
    for c in SCHEMAS[kind].columns:
        if c.dtype == "str":
            cols[c.name] = [_text(kind, c.name, i) for i in range(len(geoms))]
        elif c.dtype == "bool":
            cols[c.name] = [True] * len(geoms)
        else:
            cols[c.name] = [1500.0] * len(geoms)
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")


def _hostile_layers() -> dict[str, gpd.GeoDataFrame]:
    pts = [Point(1.28 + 0.0004 * i, 52.62 + 0.0003 * (i % 7)) for i in range(40)]
    return {
        "areas": _layer("areas", [box(1.2, 52.58, 1.36, 52.68), box(1.2, 52.58, 1.28, 52.68),
                                  box(1.28, 52.58, 1.36, 52.68), box(1.25, 52.6, 1.3, 52.64)]),
        "incidents": _layer("incidents", [*pts, None, None]),
        "safe_places": _layer("safe_places", pts[:8]),
        "youth_centres": _layer("youth_centres", pts[8:12]),
        "homes": _layer("homes", [Point(1.2911, 52.6333), Point(1.3012, 52.6222)]),
    }


@pytest.fixture
def hostile_store(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "hostile.gpkg"
    store = GeoPackageStore(path)
    for kind, gdf in _hostile_layers().items():
        store.write(kind, gdf, file=HOSTILE[0])
    monkeypatch.setenv("CTXMAP_STORE", str(path))
    return path


def _payload(at: AppTest) -> str:
    """The map's script and HTML as the browser gets them (the JSON layer removed)."""
    els = [e for e in at.get("component_instance") if "json_args" in str(e.proto)]
    assert els, "no map on the page"
    args = json.loads(els[0].proto.json_args)
    return "\n".join(str(v) for v in args.values())


def decoded(text: str) -> str:
    """``text`` with the JavaScript/JSON escapes of ``< > & " '`` undone (as a browser would)."""
    for esc, ch in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"),
                    ("\\u0022", '"'), ("\\u0027", "'")):
        text = text.replace(esc, ch).replace(esc.upper(), ch)
    return text


def _assert_inert(text: str) -> None:
    text = decoded(text)
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    assert "<b>bold</b>" not in text
    assert '" onmouseover="alert' not in text


def test_layers_really_hold_hostile_text():
    layers = _hostile_layers()
    for kind in LAYER_KINDS:
        values = {v for c in SCHEMAS[kind].text_columns for v in layers[kind][c]}
        assert any("<script>" in str(v) for v in values), kind


def test_dashboard_map_escapes_everything(hostile_store):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    payload = _payload(at)
    _assert_inert(payload)
    assert "&lt;script&gt;" in decoded(payload)
    assert PERSON in payload  # unmasked: the analyst sees the (escaped) names
    for el in [*at.markdown, *at.caption, *at.title]:
        _assert_inert(el.value)


def test_meeting_view_drops_names_and_escapes(hostile_store):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["view"] = "meeting"
    at.run()
    assert not at.exception, at.exception
    payload = _payload(at)
    _assert_inert(payload)
    assert PERSON not in payload
    assert "&lt;script&gt;" in decoded(payload)  # public place and area names are kept, escaped
    homes = GeoPackageStore(hostile_store, create=False).read("homes")
    pairs = coordinate_pairs(payload)
    for g in homes.geometry:
        assert not near(pairs, g.x, g.y)


@pytest.mark.parametrize("page", ["import_layers.py", "audit.py"])
def test_other_pages_survive_hostile_text(hostile_store, page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    for el in [*at.markdown, *at.caption, *at.title, *at.subheader]:
        _assert_inert(el.value)


def test_exports_escape_everything():
    layers = _hostile_layers()
    full = standalone_html(build_map(layers, MapOptions(tiles_url=None)))
    _assert_inert(full)
    assert "&lt;script&gt;" in decoded(full)
    no_tiles = MapOptions(tiles_url=None)
    masked = standalone_html(build_meeting_map(mask_layers(layers), options=no_tiles))
    _assert_inert(masked)
    assert PERSON not in masked
    pairs = coordinate_pairs(masked)
    for g in layers["homes"].geometry:
        assert not near(pairs, g.x, g.y)


# ---------------------------------------------------------------- the bundled sample


def test_sample_meeting_view_and_partner_export_hide_homes(store_copy):
    store = GeoPackageStore(store_copy, create=False)
    layers = {k: store.read(k) for k in LAYER_KINDS}
    homes = layers["homes"]
    secrets = [*homes["name"], *homes["notes"].dropna(), *homes["id"]]

    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=90)
    at.query_params["view"] = "meeting"
    at.run()
    assert not at.exception, at.exception
    shown = _payload(at) + " ".join(m.value for m in [*at.markdown, *at.caption])
    export = standalone_html(build_meeting_map(mask_layers(layers, MaskSettings())))
    for text in (shown, export):
        pairs = coordinate_pairs(text)
        assert len(pairs) > 1000
        for g in homes.geometry:
            assert not near(pairs, g.x, g.y), (g.x, g.y)
        for s in secrets:
            assert s not in text
    # the check can fail: the unmasked page has every home
    plain = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=90)
    plain.run()
    raw = coordinate_pairs(_payload(plain))
    assert all(near(raw, g.x, g.y) for g in homes.geometry)


# ---------------------------------------------------------------- hostile files: no traceback


def _deep_collection(levels: int) -> str:
    geometry = '{"type": "Point", "coordinates": [1.29, 52.63]}'
    for _ in range(levels):
        geometry = '{"type": "GeometryCollection", "geometries": [' + geometry + "]}"
    return ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"name": "ok"}, "geometry": {"type": "Point", "coordinates": [1.29, 52.63]}}, '
            '{"type": "Feature", "properties": {"name": "deep"}, "geometry": '
            + geometry + "}]}")


def _collection(props: str = '{"name": "a"}', crs: str | None = None) -> str:
    head = f'"crs": {crs}, ' if crs is not None else ""
    return ('{"type": "FeatureCollection", ' + head + '"features": [{"type": "Feature", '
            '"properties": {"name": "b"}, "geometry": {"type": "Point", "coordinates": '
            '[1.29, 52.63]}}, {"type": "Feature", "properties": ' + props + ', "geometry": '
            '{"type": "Point", "coordinates": [1.3, 52.62]}}]}')


#: Each hostile file, and the words its own message must hold: (row, column, text).
HOSTILE_FILES = {
    "deep_collection": (_deep_collection(3000), (2, "geometry", "GeometryCollection nested")),
    "shallow_but_deep_collection": (_deep_collection(40),
                                    (2, "geometry", "GeometryCollection nested 40 deep")),
    "brackets": ("[" * 100_000, (None, None, "100,000 are never closed")),
    "no_features": ('{"type": "FeatureCollection", "name": "x"}',
                    (None, "features", "has no 'features' member")),
    "properties_list": (_collection('["a", "b"]'), (2, "properties", "'properties' is a list")),
    "unknown_crs": (_collection(crs='{"type": "name", "properties": {"name": "EPSG:999999"}}'),
                    (None, "crs", "'EPSG:999999' is not a known coordinate reference system")),
    "crs_string": (_collection(crs='"EPSG:27700"'),
                   (None, "crs", "the 'crs' member is a str")),
    "not_finite": ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                   '{"name": "n"}, "geometry": {"type": "Point", '
                   '"coordinates": [NaN, Infinity]}}]}',
                   (1, "geometry", "not a finite number")),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_import_page_reader_names_the_problem(case):
    from ctxmap.layers.readers import read_layer_bytes

    text, (row, column, words) = HOSTILE_FILES[case]
    result = read_layer_bytes(text.encode(), "safe_places", name=f"{case}.geojson",
                              suffix=".geojson", repair=True)
    errors = [p for p in result.problems if p.severity == "error"]
    assert not result.usable
    assert any(words in p.message and p.row == row and p.column == column for p in errors), \
        [str(p) for p in errors]
    assert all(p.file == f"{case}.geojson" for p in errors)
    shown = " ".join(str(p) for p in result.problems)
    assert str(ROOT) not in shown and "/tmp" not in shown  # no server path


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_command_line_names_the_problem(case, tmp_path, monkeypatch, capsys):
    from ctxmap import cli

    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    text, (row, column, words) = HOSTILE_FILES[case]
    path = tmp_path / f"{case}.geojson"
    path.write_text(text)
    store = tmp_path / "s.gpkg"
    code = cli.main(["import", str(path), "--layer", "safe_places", "--store", str(store),
                     "--repair-geometries"])
    out, err = capsys.readouterr()
    where = f"{case}.geojson" + (f", row {row}" if row else "") + (
        f", column {column!r}" if column else "")
    assert code == 1
    assert f"error: {where}: " in out + err and words in out + err, out + err
    assert "Traceback" not in out + err and "unexpected error" not in err
    assert not (tmp_path / "logs").exists()  # nothing unexpected happened
    if case == "not_finite":  # refused, not stored as an empty point counted as mapped
        assert not store.exists()  # nothing usable: no store was even made


def test_deep_files_through_the_real_entry_point(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "deep.geojson"
    path.write_text(HOSTILE_FILES["deep_collection"][0])
    done = subprocess.run([sys.executable, "-m", "ctxmap", "validate", str(path), "--layer",
                           "safe_places"], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "CTXMAP_LOG_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "deep.geojson, row 2, column 'geometry': the geometry is a GeometryCollection" in (
        done.stdout + done.stderr)


def test_duplicate_columns_are_refused_with_their_names(tmp_path):
    from ctxmap.layers.readers import read_layer_bytes

    csv = b"id,name,category,name,latitude,longitude\n1,a,cafe,b,52.63,1.29\n"
    result = read_layer_bytes(csv, "safe_places", name="dup.csv", suffix=".csv")
    assert not result.usable
    assert any("duplicate column names: 'name' (columns 2 and 4)" in p.message
               for p in result.problems)
    geo = _collection('{"name": "a", "Name": "b"}').encode()
    result = read_layer_bytes(geo, "safe_places", name="dup.geojson", suffix=".geojson")
    assert not result.usable
    assert any("duplicate column names: 'name' (columns 1 and 2)" in p.message
               for p in result.problems)


def test_a_busy_store_stops_after_a_bounded_wait(tmp_path, monkeypatch, capsys):
    import sqlite3

    from ctxmap import cli

    store = tmp_path / "busy.gpkg"
    GeoPackageStore(store)  # made (and migrated) before another writer takes it
    path = tmp_path / "places.geojson"
    path.write_text(_collection())
    monkeypatch.setenv("CTXMAP_BUSY_TIMEOUT", "0.3")
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another import holds the store
    try:
        code = cli.main(["import", str(path), "--layer", "safe_places", "--store", str(store)])
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    _out, err = capsys.readouterr()
    assert code == 1
    assert "error: the store is busy (another import is running); try again" in err
    assert "Traceback" not in err
    assert GeoPackageStore(store, create=False).counts()["safe_places"]["rows"] == 0
    # once the other writer is done, the same command works
    assert cli.main(["import", str(path), "--layer", "safe_places", "--store", str(store)]) == 0


def test_a_broken_geopackage_upload_names_no_server_path():
    from ctxmap.layers.readers import read_layer_bytes

    raw = b"SQLite format 3\x00" + b"x" * 5000
    with pytest.warns(RuntimeWarning):  # GDAL's own warning goes to the server log
        result = read_layer_bytes(raw, "safe_places", name="bad.gpkg", suffix=".gpkg")
    shown = " ".join(str(p) for p in result.problems)
    assert not result.usable and "bad.gpkg: the GeoPackage cannot be opened" in shown
    assert "/tmp" not in shown and "upload.gpkg" not in shown
