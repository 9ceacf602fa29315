"""One place import, and place files without a ``layer`` column in nearest/coverage/concern.

A council's own list (``id,name,category,lat,lon``, here four Great Yarmouth places) and
the real Norwich OpenStreetMap extract are classified by the tag rules of
docs/osm-classification.md; rows that are not a place are left out with a count.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ctxmap.cli import main
from ctxmap.layers.osm import osm_to_layers
from ctxmap.store.opening import open_store

ROOT = Path(__file__).resolve().parents[2]
OSM = ROOT / "data" / "source" / "osm" / "norwich_osm_pois.geojson"
CRIME = ROOT / "data" / "source" / "crime" / "norwich_street_2018-10_to_2019-02.csv"
# Great Yarmouth market place (lat, lon)
ORIGIN = (52.6076, 1.7291)
GY_ROWS = [
    ("gy-lib", "Great Yarmouth Library", "Library", 52.6083, 1.7302, "safe_places", "library"),
    ("gy-pol", "Great Yarmouth Police Station", "police", 52.6050, 1.7285, "safe_places",
     "police"),
    ("gy-yc", "The Place", "Youth club", 52.6102, 1.7260, "youth_centres",
     "community-centre-youth"),
    ("gy-pb", "Post box, Regent Road", "post_box", 52.6071, 1.7320, None, "no rule"),
]


#: The sample's district outline: files given alone need a study area.
NORWICH_LAD = ROOT / "data" / "source" / "boundaries" / "norwich_lad_2013.geojson"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "ctxmap", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


@pytest.fixture
def gy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "great_yarmouth_places.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "category", "lat", "lon"])
        w.writerows(r[:5] for r in GY_ROWS)
    return path


def bng_distance(lat: float, lon: float, places: pd.DataFrame) -> pd.Series:
    """Straight-line metres from (lat, lon) to each (lat, lon) row, in British National Grid."""
    pts = gpd.GeoSeries(gpd.points_from_xy(places["lon"], places["lat"]), crs="EPSG:4326")
    origin = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4326").to_crs(27700)
    return pd.Series(shapely.distance(pts.to_crs(27700).to_numpy(), origin.iloc[0]),
                     index=places["id"])


def test_import_places_writes_both_layers_and_counts_rules(gy_csv: Path, tmp_path: Path) -> None:
    store = tmp_path / "gy.gpkg"
    proc = run("import", str(gy_csv), "--layer", "places", "--store", str(store), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for rule, n, layer in (("library", 1, "safe_places"), ("police", 1, "safe_places"),
                           ("community-centre-youth", 1, "youth_centres"),
                           ("no rule", 1, "not a place")):
        assert f"  {rule}: {n} -> {layer}" in out
    assert "imported 2 rows into safe_places" in out
    assert "imported 1 rows into youth_centres" in out
    assert "left out 1 rows" in out
    opened = open_store(store, create=False)
    want = {layer: sorted(r[0] for r in GY_ROWS if r[5] == layer)
            for layer in ("safe_places", "youth_centres")}
    assert {k: sorted(opened.read(k)["id"]) for k in want} == want


def test_import_places_with_nothing_to_import_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "boxes.csv"
    path.write_text("id,name,category,lat,lon\nb1,Post box,post_box,52.6,1.72\n"
                    "b2,Bench,bench,52.61,1.73\n", encoding="utf-8")
    store = tmp_path / "gy.gpkg"
    proc = run("import", str(path), "--layer", "places", "--store", str(store), cwd=tmp_path)
    assert proc.returncode == 1
    assert "none of the 2 rows of boxes.csv is a safe place or youth centre" in proc.stderr
    assert "--as safe_places" in proc.stderr
    assert "  no rule: 2 -> not a place" in proc.stdout
    assert not store.exists()


def test_import_places_as_one_layer(gy_csv: Path, tmp_path: Path, capsys) -> None:
    store = tmp_path / "gy.gpkg"
    assert main(["import", str(gy_csv), "--layer", "places", "--as", "safe_places",
                 "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "  --as: 4 -> safe_places" in out
    assert "youth_centres: no row of this file is one; the layer is left unchanged" in out
    assert sorted(open_store(store, create=False).read("safe_places")["id"]) == sorted(
        r[0] for r in GY_ROWS)


def test_as_is_only_for_places(gy_csv: Path, tmp_path: Path, capsys) -> None:
    assert main(["import", str(gy_csv), "--layer", "safe_places", "--as", "youth_centres",
                 "--store", str(tmp_path / "x.gpkg")]) == 1
    assert "--as is for --layer places" in capsys.readouterr().err


def test_nearest_with_a_council_list_without_layer(gy_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "near.csv"
    proc = run("nearest", "--lat", str(ORIGIN[0]), "--lon", str(ORIGIN[1]), "--k", "5",
               "--places", str(gy_csv), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "great_yarmouth_places.csv: 1 of 4 rows are not a place" in proc.stderr
    got = pd.read_csv(out, keep_default_na=False)
    listed = [r for r in GY_ROWS if r[5]]
    assert sorted(got["place_id"]) == sorted(r[0] for r in listed)
    assert dict(zip(got["place_id"], got["layer"], strict=True)) == {r[0]: r[5] for r in listed}
    frame = pd.DataFrame(listed, columns=["id", "name", "category", "lat", "lon", "l", "r"])
    brute = bng_distance(*ORIGIN, frame)
    for pid, metres in zip(got["place_id"], got["straight_m"], strict=True):
        assert metres == pytest.approx(brute[pid], abs=1.0)
    assert list(got["straight_m"]) == sorted(got["straight_m"])


def test_nearest_as_takes_every_row(gy_csv: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "near.csv"
    assert main(["nearest", "--lat", str(ORIGIN[0]), "--lon", str(ORIGIN[1]), "--k", "10",
                 "--places", str(gy_csv), "--as", "youth_centres", "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert len(got) == 4 and set(got["layer"]) == {"youth_centres"}
    assert "not a place" not in capsys.readouterr().err


def test_nearest_that_would_list_nothing_exits_1(gy_csv: Path, tmp_path: Path, capsys) -> None:
    base = ["nearest", "--lat", str(ORIGIN[0]), "--lon", str(ORIGIN[1]), "--places",
            str(gy_csv), "--out", str(tmp_path / "n.csv")]
    assert main([*base, "--categories", "pharmacy"]) == 1
    err = capsys.readouterr().err
    assert "no place has a category in pharmacy" in err and "Library, Youth club, police" in err
    assert main([*base, "--layers", "youth_centres", "--as", "safe_places"]) == 1
    assert "none in youth_centres" in capsys.readouterr().err
    assert not (tmp_path / "n.csv").exists()


def test_coverage_takes_a_list_of_safe_places(gy_csv: Path, sample_store_path: Path,
                                              tmp_path: Path, capsys) -> None:
    out = tmp_path / "cov.csv"
    assert main(["coverage", "--places", str(gy_csv), "--store", str(sample_store_path),
                 "--out", str(out)]) == 0
    table = pd.read_csv(out)
    homes = open_store(sample_store_path, create=False).read("homes")
    assert sorted(table["home_id"]) == sorted(homes["id"])
    assert set(table["safe_place_id"]) <= {"gy-lib", "gy-pol"}
    assert "1 of 4 rows are not a place" in capsys.readouterr().err


def test_concern_with_an_osm_extract_ranks_only_places(tmp_path: Path) -> None:
    out = tmp_path / "rank.csv"
    proc = run("concern", "--incidents", str(CRIME), "--places", str(OSM),
               "--study-area", str(NORWICH_LAD), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, dtype={"place_id": str}, keep_default_na=False)
    raw = gpd.read_file(OSM)
    layers = osm_to_layers(raw)
    classified = {i for layer in layers.values() for i in layer["id"]}
    # every ranked place is one the rules classify (places outside the study area are
    # not ranked, so a few classified ones may be missing)
    assert set(table["place_id"]) <= classified
    assert len(table) > 0.9 * len(classified)
    left_out = len(raw) - len(classified)
    assert left_out > 1000  # parking, post boxes, benches ...
    assert f"norwich_osm_pois.geojson: {left_out} of {len(raw)} rows are not a place" in (
        proc.stderr)
    not_places = set(raw.loc[raw["amenity"].isin(["parking", "pub", "post_box"]), "id"])
    assert len(not_places) > 800 and not not_places & set(table["place_id"])


def test_concern_with_no_place_in_the_files_exits_1(tmp_path: Path, capsys) -> None:
    places = tmp_path / "boxes.geojson"
    places.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.29, 52.63]},
         "properties": {"id": "b1", "name": "Box", "category": "post_box"}}]}))
    assert main(["concern", "--incidents", str(CRIME), "--places", str(places),
                 "--study-area", str(NORWICH_LAD), "--out", str(tmp_path / "r.csv")]) == 1
    assert "none of the 1 rows of boxes.geojson is a place" in capsys.readouterr().err


def test_as_takes_a_layer_and_a_user_on_exporting_commands() -> None:
    from ctxmap.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["nearest", "--lat", "52.6", "--lon", "1.7", "--out", "n.csv",
                              "--as", "youth_centres", "--as", "alice"])
    assert (args.as_layer, args.as_user) == ("youth_centres", "alice")
    args = parser.parse_args(["concern", "--incidents", "x.csv", "--out", "r.csv",
                              "--as", "bob"])
    assert (args.as_layer, args.as_user) == (None, "bob")
    args = parser.parse_args(["import", "f.csv", "--layer", "places", "--as", "safe_places"])
    assert args.as_layer == "safe_places"
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["import", "f.csv", "--layer", "places", "--as", "alice"])
    assert stop.value.code == 2


@pytest.fixture(params=["gpkg", "postgis"])
def import_target(request: pytest.FixtureRequest, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch):
    """(--store value, the module whose per-layer writer to break): each kind of store."""
    if request.param == "gpkg":
        yield str(tmp_path / "gy.gpkg"), "ctxmap.store.geopackage.write_layer_rows"
        return
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema):
        monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
        yield url, "ctxmap.store.postgis.write_pg_layer"


@pytest.mark.parametrize("failure", ["store", "driver"])
def test_import_places_is_one_transaction(gy_csv: Path, tmp_path: Path, import_target,
                                          monkeypatch: pytest.MonkeyPatch, failure: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A failure writing the second layer (youth centres) leaves the first unwritten too."""
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    from ctxmap.errors import StoreError

    store_arg, writer = import_target
    old = tmp_path / "old_places.csv"
    old.write_text("id,name,category,lat,lon,layer\n"
                   "old-sp,Old Library,library,52.60,1.72,safe_places\n"
                   "old-yc,Old Youth Club,youth club,52.61,1.73,youth_centres\n",
                   encoding="utf-8")
    assert main(["import", str(old), "--layer", "places", "--store", store_arg]) == 0
    store = open_store(store_arg, create=False)
    before = {k: sorted(store.read(k)["id"]) for k in ("safe_places", "youth_centres")}
    n_imports = len(store.imports())
    assert before == {"safe_places": ["old-sp"], "youth_centres": ["old-yc"]}

    real = __import__(writer.rsplit(".", 1)[0], fromlist=["x"]).__dict__[writer.rsplit(".")[-1]]
    written: list[str] = []

    def second_fails(con, kind, gdf, schema, how):
        written.append(kind)
        if kind == "youth_centres":
            if failure == "store":
                raise StoreError("the disk is full")
            raise RuntimeError("driver went away")
        return real(con, kind, gdf, schema, how)

    monkeypatch.setattr(writer, second_fails)
    capsys.readouterr()
    assert main(["import", str(gy_csv), "--layer", "places", "--store", store_arg]) == 1
    err = capsys.readouterr().err
    assert written == ["safe_places", "youth_centres"]  # the first layer was written, then undone
    assert "Traceback" not in err
    assert "neither" in err and "is unchanged" in err
    if failure == "store":
        assert "the disk is full" in err
    else:  # an unexpected error: logged under an id, no driver text on screen
        assert "unexpected error" in err and "driver went away" not in err
    store = open_store(store_arg, create=False)
    after = {k: sorted(store.read(k)["id"]) for k in ("safe_places", "youth_centres")}
    assert after == before
    assert len(store.imports()) == n_imports  # no import-log entry either
