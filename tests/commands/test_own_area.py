"""README "Your own area", run as written: a new area from nothing, nothing of the sample in it.

The commands are read from the README's section and run with subprocess in a temporary
folder outside the repository, on the Norfolk force files in ``data/source/`` as if they
were a new area's download, with the Great Yarmouth boundaries as its ONS files. Its
OpenStreetMap extract and homes are made here (there is no Great Yarmouth OSM extract
in the repository): made-up features with real OSM tags, at Great Yarmouth coordinates.
Every count is recomputed independently from the raw files (pandas + shapely).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "data" / "source"
FORCE = SOURCE / "crime" / "norfolk_force_monthly"
BOUNDARIES = SOURCE / "boundaries"

#: Made-up points of interest with real OSM tags, in Great Yarmouth (test fixtures).
POIS = [
    ("node/900001", {"amenity": "police", "name": "Test Police Station"}, 1.7280, 52.6080),
    ("node/900002", {"amenity": "library", "name": "Test Library"}, 1.7300, 52.6100),
    ("node/900003", {"amenity": "pharmacy", "name": "Test Pharmacy",
                     "opening_hours": "Mo-Sa 09:00-18:00"}, 1.7250, 52.6050),
    ("node/900004", {"leisure": "youth_centre", "name": "Test Youth Club"}, 1.7200, 52.5900),
    ("node/900005", {"amenity": "community_centre", "name": "Test Community Centre"},
     1.7000, 52.6500),
    ("node/900006", {"amenity": "parking"}, 1.7290, 52.6070),
    ("node/900007", {"amenity": "post_box"}, 1.7310, 52.6090),
    ("node/900008", {"amenity": "police", "name": "Test Gorleston Police"}, 1.7150, 52.5750),
]
HOMES = [("gy-home-1", "Test home A", 52.6090, 1.7270), ("gy-home-2", "Test home B", 52.5800,
                                                           1.7180),
         ("gy-home-3", "Test home C", 52.6600, 1.7050)]


def readme_commands() -> list[str]:
    """The bash lines of the README's "Your own area" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own area", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README 'Your own area' has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def sample_marks() -> list[str]:
    """Ids and names that would show the Norwich sample leaking into an output."""
    from ctxmap.store.geopackage import DEFAULT_STORE_PATH, GeoPackageStore

    store = GeoPackageStore(DEFAULT_STORE_PATH, create=False)
    marks: set[str] = {"Norwich", "fictional", "bundled sample"}
    for kind in ("homes", "safe_places", "youth_centres"):
        layer = store.read(kind, columns=["id", "name"])
        marks |= set(layer["id"].astype(str))
        marks |= {n for n in layer["name"].dropna().astype(str) if len(n) > 6}
    return sorted(marks)


@pytest.fixture(scope="module")
def own_area(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("myarea")
    assert not folder.resolve().is_relative_to(ROOT.resolve())
    for f in FORCE.glob("*.csv"):
        shutil.copy(f, folder)
    for name in ("great_yarmouth_lad_2013.geojson", "great_yarmouth_wards_2013.geojson",
                 "great_yarmouth_lsoa_2011.geojson"):
        shutil.copy(BOUNDARIES / name, folder)
    (folder / "myarea_osm_pois.geojson").write_text(json.dumps({
        "type": "FeatureCollection", "features": [
            {"type": "Feature", "id": i, "properties": {**tags, "id": i},
             "geometry": {"type": "Point", "coordinates": [lon, lat]}}
            for i, tags, lon, lat in POIS]}))
    pd.DataFrame(HOMES, columns=["id", "name", "lat", "lon"]).to_csv(folder / "homes.csv",
                                                                     index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTXMAP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    runs = []
    for line in readme_commands():
        if "streamlit run" in line:
            continue  # the dashboard: checked below with AppTest
        argv = shlex.split(line)
        assert argv[:3] == ["python", "-m", "ctxmap"], line
        done = subprocess.run([sys.executable, *argv[1:]], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        runs.append((line, done.stdout, done.stderr))
    return {"folder": folder, "runs": runs}


def test_every_command_names_its_store_and_never_the_sample(own_area):
    for line, _out, err in own_area["runs"]:
        if " init " in f" {line} ":
            continue
        assert re.search(r"^store: myarea\.gpkg \(Great Yarmouth\)$", err, re.M), (line, err)
    text = "\n".join(out + err for _, out, err in own_area["runs"])
    folder = own_area["folder"]
    for f in ("concern.csv", "coverage.csv", "hotspots.geojson", "map.html"):
        text += (folder / f).read_text(encoding="utf-8")
    leaked = [m for m in sample_marks() if m in text]
    assert leaked == []
    from tests.app.test_study_area_maps import GREAT_YARMOUTH, assert_outlined

    assert_outlined((folder / "map.html").read_text(encoding="utf-8"), GREAT_YARMOUTH)


def _raw_incidents() -> pd.DataFrame:
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(FORCE.glob("*.csv"))]
    return pd.concat(frames, ignore_index=True)


def test_counts_match_the_raw_files(own_area):
    raw = _raw_incidents()
    located = raw[(raw["Longitude"] != "") & (raw["Latitude"] != "")]
    layers = next(out for line, out, _ in own_area["runs"] if " layers " in line)
    table = pd.read_csv(pd.io.common.StringIO(layers)).set_index("layer")
    assert table.loc["incidents", "rows"] == len(raw) == 31_191
    assert table.loc["incidents", "mapped"] == len(located)
    assert table.loc["homes", "rows"] == len(HOMES)
    wards = gpd.read_file(BOUNDARIES / "great_yarmouth_wards_2013.geojson")
    lsoas = gpd.read_file(BOUNDARIES / "great_yarmouth_lsoa_2011.geojson")
    assert table.loc["areas", "rows"] == len(wards) + len(lsoas)  # side by side
    # OSM: the police, library, pharmacy (safe) and youth club, community centre (youth)
    assert table.loc["safe_places", "rows"] == 4
    assert table.loc["youth_centres", "rows"] == 2


def test_concern_counts_and_study_area_match_a_brute_force(own_area):
    folder = own_area["folder"]
    ranking = pd.read_csv(folder / "concern.csv", dtype={"place_id": str})
    assert set(ranking["place_id"]) <= {p[0] for p in POIS} | {h[0] for h in HOMES}
    raw = _raw_incidents()
    cats = ["Anti-social behaviour", "Drugs", "Possession of weapons", "Robbery",
            "Violence and sexual offences"]
    sel = raw[(raw["Longitude"] != "") & raw["Crime type"].isin(cats)]
    outline = shapely.union_all(gpd.read_file(BOUNDARIES / "great_yarmouth_lad_2013.geojson")
                                .geometry.make_valid().to_numpy())
    every = gpd.GeoSeries(gpd.points_from_xy(sel["Longitude"].astype(float),
                                             sel["Latitude"].astype(float)),
                          crs="EPSG:4326").to_crs(27700)
    in_area = shapely.within(every.to_numpy(), gpd.GeoSeries(
        [outline], crs="EPSG:4326").to_crs(27700).iloc[0])
    pts = every.to_numpy()[in_area]  # only incidents in the study area count, as the baseline
    said = next(out for line, out, _ in own_area["runs"] if " concern " in f" {line} ")
    assert (f"incidents used {int(in_area.sum())} in the study area" in said
            and f"{int((~in_area).sum())} outside it (left out)" in said), said
    assert int((~in_area).sum()) > 10_000  # the rest of Norfolk, left out
    where = {p[0]: (p[2], p[3]) for p in POIS} | {h[0]: (h[3], h[2]) for h in HOMES}
    for row in ranking.itertuples():
        lon, lat = where[row.place_id]
        here = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs(27700).iloc[0]
        assert row.incidents == int((shapely.distance(pts, here) <= 400).sum()), row.place_id
        assert "Study area: Great Yarmouth (174.3 km², from great_yarmouth_lad_2013.geojson)" \
            in row.reason
    # the hotspot grid counts every located incident of those types inside the outline
    all_pts = gpd.points_from_xy(sel["Longitude"].astype(float), sel["Latitude"].astype(float))
    inside = int(shapely.contains(outline, np.asarray(all_pts)).sum())
    assert inside > 2000  # Great Yarmouth's own incidents, none of Norwich's
    grid = gpd.read_file(folder / "hotspots.geojson")
    assert int(grid["incidents"].sum()) == pytest.approx(inside, abs=inside * 0.002)


def test_the_dashboard_shows_only_the_new_area(own_area, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CTXMAP_STORE", str(Path(own_area["folder"]) / "myarea.gpkg"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    shown = "\n".join(e.value for e in [*at.caption, *at.sidebar.caption] if e.value)
    assert "Store: myarea.gpkg (Great Yarmouth)" in shown or "(Great Yarmouth)" in shown
    assert "Homes in the sample are fictional" not in shown
    page = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=120)
    page.run()
    assert not page.exception, page.exception
    payload = "".join(str(e.proto) for e in page.get("component_instance"))
    assert "Great Yarmouth (174.3 km" in payload  # the study-area outline on the map
    assert not [m for m in sample_marks() if m in payload]
