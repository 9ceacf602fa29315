"""Stores are explicit: ``init``, the stderr store line, no fallback to the sample with files,
inputs from elsewhere refused, areas side by side, repairs reported, the study area set on
purpose. Great Yarmouth (``data/source/boundaries/great_yarmouth_*``) is the second area."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from ctxmap.cli import main
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.marks import read_study_area

ROOT = Path(__file__).resolve().parents[2]
BOUNDARIES = ROOT / "data" / "source" / "boundaries"
GY_LAD = BOUNDARIES / "great_yarmouth_lad_2013.geojson"
GY_WARDS = BOUNDARIES / "great_yarmouth_wards_2013.geojson"
NORWICH_WARDS = BOUNDARIES / "norwich_wards_2013.geojson"
NORWICH_CRIME = ROOT / "data" / "source" / "crime" / "norwich_street_2018-10_to_2019-02.csv"


@pytest.fixture(autouse=True)
def no_store_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CTXMAP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def geodesic_km2(geom: shapely.Geometry) -> float:
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


@pytest.fixture
def gy_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "gy.gpkg"
    code, out, err = run(capsys, "init", "--store", path, "--study-area", GY_LAD,
                         "--name", "Great Yarmouth")
    assert code == 0, err
    assert "study area: Great Yarmouth (174.3 km², from great_yarmouth_lad_2013.geojson)" in out
    return path


def test_init_makes_an_empty_named_store_with_its_study_area(gy_store, capsys):
    store = GeoPackageStore(gy_store, create=False)
    assert sum(c["rows"] for c in store.counts().values()) == 0
    area = read_study_area(store)
    assert area is not None and area.label == "Great Yarmouth"
    outline = shapely.union_all(gpd.read_file(GY_LAD).geometry.make_valid().to_numpy())
    assert area.km2 == pytest.approx(geodesic_km2(outline), rel=3e-3)
    assert area.geometry.symmetric_difference(outline).area < 1e-4 * outline.area
    code, _, err = run(capsys, "layers", "--store", gy_store)
    assert code == 0
    assert err.startswith(f"store: {gy_store.name} (Great Yarmouth)")


def test_init_never_overwrites_and_wants_a_gpkg(gy_store, tmp_path, capsys):
    before = gy_store.read_bytes()
    code, _, err = run(capsys, "init", "--store", gy_store, "--name", "Other")
    assert code == 1 and "is not empty" in err
    assert gy_store.read_bytes() == before
    code, _, err = run(capsys, "init", "--store", tmp_path / "store.txt")
    assert code == 1 and "ending in .gpkg" in err
    assert not (tmp_path / "store.txt").exists()


def test_init_on_postgis_never_prints_the_password(monkeypatch, capsys):
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema):  # skips without a server, fails under CI
        monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
        code, out, err = run(capsys, "init", "--store", url, "--study-area", GY_LAD)
        assert code == 0, err
        assert "ctxmap_test:***@" in err and ":ctxmap_test@" not in out + err
        assert "study area: Great Yarmouth (" in out
        code, _, err = run(capsys, "init", "--store", url)
        assert code == 1 and "is not empty" in err


def test_without_a_store_named_commands_say_they_use_the_sample(capsys):
    code, _, err = run(capsys, "layers")
    assert code == 0
    assert "(the bundled sample: fictional homes, public data)" in err
    assert "no store named, so the bundled sample is used" in err


def test_files_and_no_store_never_fall_back_to_the_sample(tmp_path, capsys):
    code, _, err = run(capsys, "concern", "--incidents", NORWICH_CRIME, "--out",
                       tmp_path / "c.csv")
    assert code == 1
    assert "--incidents given but no store named" in err and "CTXMAP_STORE" in err
    assert "init --store" in err and "never used with your own files" in err
    assert not (tmp_path / "c.csv").exists()
    code, _, err = run(capsys, "import", GY_WARDS, "--layer", "areas")
    assert code == 1 and "no store named to import" in err


def test_an_origin_far_from_the_sample_is_refused(tmp_path, capsys):
    out = tmp_path / "n.csv"
    code, _, err = run(capsys, "nearest", "--lat", "52.6707", "--lon", "-0.7277", "--out", out)
    assert code == 1
    assert "130." in err and "km from the study area Norwich" in err  # Rutland to Norwich
    assert "lat 52.6707, lon -0.7277" in err and "lat 52.5950 to 52.6848" in err
    assert not out.exists()


def test_incidents_of_another_area_are_refused_naming_both_extents(gy_store, tmp_path, capsys):
    code, _, err = run(capsys, "hotspots", "--store", gy_store, "--incidents", NORWICH_CRIME,
                       "--out", tmp_path / "h.geojson")
    assert code == 1
    assert "located incidents (lat 52.5994 to 52.6737, lon 1.2066 to 1.3416)" in err
    assert "outside the study area Great Yarmouth" in err


def test_no_study_area_set_says_how_to_set_one(tmp_path, capsys):
    bare = tmp_path / "bare.gpkg"
    assert run(capsys, "init", "--store", bare)[0] == 0
    assert run(capsys, "import", NORWICH_CRIME, "--layer", "incidents", "--store", bare)[0] == 0
    code, _, err = run(capsys, "hotspots", "--store", bare, "--out", tmp_path / "h.geojson")
    assert code == 1
    assert "no study area is set" in err and "--study-area" in err and "init" in err


def test_areas_from_several_files_live_side_by_side(gy_store, capsys):
    assert run(capsys, "import", GY_WARDS, "--layer", "areas", "--store", gy_store)[0] == 0
    code, out, _ = run(capsys, "import", NORWICH_WARDS, "--layer", "areas", "--store", gy_store)
    assert code == 0 and "areas now: ward 30" in out  # 17 + 13, nothing deleted
    code, _, err = run(capsys, "import", GY_WARDS, "--layer", "areas", "--store", gy_store,
                       "--mode", "replace")
    assert code == 1 and "--replace LEVEL" in err
    code, _, err = run(capsys, "import", GY_WARDS, "--layer", "areas", "--store", gy_store,
                       "--replace", "lsoa")
    assert code == 1 and "holds level(s) ward" in err.replace("hold level", "holds level")
    code, out, _ = run(capsys, "import", GY_WARDS, "--layer", "areas", "--store", gy_store,
                       "--replace", "ward")
    assert code == 0
    assert "--replace ward: removed 30 stored area(s) first" in out
    assert "E05005877 Bowthorpe" in out  # a Norwich ward, listed as removed
    assert "areas now: ward 17" in out
    stored = GeoPackageStore(gy_store, create=False).read("areas")
    assert sorted(stored["id"]) == sorted(gpd.read_file(GY_WARDS)["WD13CD"])


def _bowtie_file(tmp_path: Path) -> Path:
    bowtie = [[1.60, 52.55], [1.70, 52.62], [1.70, 52.55], [1.60, 52.62], [1.60, 52.55]]
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "B1", "name": "Bow", "level": "ward"},
         "geometry": {"type": "Polygon", "coordinates": [bowtie]}}]}))
    return path


def test_a_self_intersecting_boundary_is_repaired_by_default_with_a_warning(gy_store,
                                                                            tmp_path, capsys):
    bowtie = _bowtie_file(tmp_path)
    code, _, err = run(capsys, "import", bowtie, "--layer", "areas", "--store", gy_store)
    assert code == 0
    assert "warning: bowtie.geojson, row 1" in err and "Self-intersection" in err
    assert "repaired with make_valid" in err
    geom = GeoPackageStore(gy_store, create=False).read("areas").geometry.iloc[0]
    assert geom.is_valid and geom.area > 0
    code, out, _ = run(capsys, "import", bowtie, "--layer", "areas", "--store", gy_store,
                       "--no-repair")
    assert code == 1 and "invalid geometry" in out
    assert run(capsys, "validate", bowtie, "--layer", "areas", "--repair-geometries")[0] == 0


def test_import_study_area_and_concern_by_area_code(gy_store, tmp_path, capsys):
    code, out, _ = run(capsys, "import", GY_WARDS, "--layer", "areas", "--store", gy_store,
                       "--study-area", "--name", "Great Yarmouth wards")
    assert code == 0
    assert "study area: Great Yarmouth wards (" in out and "from great_yarmouth_wards_2013" in out
    area = read_study_area(GeoPackageStore(gy_store, create=False))
    wards = shapely.union_all(gpd.read_file(GY_WARDS).geometry.to_numpy())
    assert area is not None and area.km2 == pytest.approx(geodesic_km2(wards), rel=3e-3)
    # a stored ward's code as --study-area, for one run
    hits = tmp_path / "h.geojson"
    force = ROOT / "data" / "source" / "crime" / "norfolk_force_monthly"
    assert run(capsys, "import", *sorted(force.glob("*.csv")), "--layer", "incidents",
               "--store", gy_store)[0] == 0
    code, out, err = run(capsys, "hotspots", "--store", gy_store, "--study-area", "E05005788",
                         "--out", hits)
    assert code == 0, err
    assert "study area: Central and Northgate (" in out and "from area E05005788 (ward)" in out
