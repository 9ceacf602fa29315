import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from ctxmap.cli import main
from ctxmap.layers.schemas import POLICE_UK_COLUMNS

LON, LAT = 1.2930, 52.6300
EXPECTED_COLUMNS = [
    "rank", "place_id", "name", "layer", "category", "incidents", "expected", "rate_ratio",
    "p_value", "p_adjusted", "flagged", "reason", "n_anti_social_behaviour", "n_drugs",
    "n_possession_of_weapons", "n_robbery", "n_violence_and_sexual_offences", "period_from",
    "period_to", "radius_m", "circle_km2", "baseline", "funnel_z", "funnel_upper",
    "poisson_significant", "records", "merged_records",
]


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(4)
    rows = []
    cats = ["Drugs", "Robbery", "Burglary", "Anti-social behaviour"]
    for k in range(120):
        lon = LON + rng.normal(0, 0.004) if k % 2 else LON + rng.uniform(-0.02, 0.02)
        lat = LAT + rng.normal(0, 0.003) if k % 2 else LAT + rng.uniform(-0.015, 0.015)
        rows.append({"Crime ID": f"{k:064x}", "Month": f"2019-0{1 + k % 2}",
                     "Reported by": "Norfolk Constabulary", "Falls within": "Norfolk Constabulary",
                     "Longitude": f"{lon:.6f}", "Latitude": f"{lat:.6f}",
                     "Location": "On or near Somewhere", "LSOA code": "E01026791",
                     "LSOA name": "Norwich 005A", "Crime type": cats[k % 4],
                     "Last outcome category": "", "Context": ""})
    for k in range(3):  # no location
        rows.append({**rows[0], "Crime ID": f"nl{k}", "Longitude": "", "Latitude": "",
                     "Location": "No Location", "LSOA code": "", "LSOA name": ""})
    inc = tmp_path / "street.csv"
    with inc.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(POLICE_UK_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    places = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
         "properties": {"id": "yc1", "name": "Centre <b>", "category": "youth_centre"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON + 0.015, LAT]},
         "properties": {"id": "sp1", "name": "", "category": "library"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON - 0.01, LAT]},
         "properties": {"id": "x9", "name": "Shop", "category": "other thing"}},
    ]}
    pl = tmp_path / "places.geojson"
    pl.write_text(json.dumps(places))
    return inc, pl, rows


@pytest.fixture
def outline(tmp_path):
    """A study-area outline file around the test data (a box of about 6 x 6 km)."""
    box = shapely.box(LON - 0.045, LAT - 0.027, LON + 0.045, LAT + 0.027)
    path = tmp_path / "test_box.geojson"
    gpd.GeoDataFrame({"id": ["X1"], "name": ["Test box"]}, geometry=[box],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_concern_end_to_end(files, outline, tmp_path, capsys):
    inc, pl, rows = files
    out = tmp_path / "rank.csv"
    code = main(["concern", "--incidents", str(inc), "--places", str(pl), "--radius-m", "300",
                 "--from", "2019-01", "--to", "2019-02", "--out", str(out),
                 "--study-area", str(outline)])
    assert code == 0
    table = pd.read_csv(out, dtype={"place_id": str}, keep_default_na=False)
    assert list(table.columns) == EXPECTED_COLUMNS
    # "other thing" is not a place by the tag rules: left out, and said so on stderr
    assert sorted(table["place_id"]) == ["sp1", "yc1"]
    # brute force: located, selected incidents within 300 m in British National Grid
    located = [r for r in rows if r["Longitude"] and r["Crime type"] != "Burglary"]
    pts = gpd.GeoSeries([Point(float(r["Longitude"]), float(r["Latitude"])) for r in located],
                        crs="EPSG:4326").to_crs("EPSG:27700").to_numpy()
    places = gpd.read_file(pl).to_crs("EPSG:27700")
    for pid, geom in zip(places["id"], places.geometry, strict=True):
        if pid == "x9":
            continue
        brute = int((shapely.distance(pts, geom) <= 300).sum())
        assert int(table.loc[table["place_id"] == pid, "incidents"].iloc[0]) == brute
    captured = capsys.readouterr()
    line = captured.out
    assert "ranked 2 places" in line and "3 without a location" in line
    assert "places.geojson: 1 of 3 rows are not a place" in captured.err
    assert "study area: Test box (" in line and "km², from test_box.geojson)" in line
    assert "store: none (working from the given files only" in captured.err
    assert "bundled sample is never used" in captured.err
    # every reason with a baseline names the study area
    with_base = table[table["expected"].astype(str) != ""]
    assert with_base["reason"].str.contains("Study area: Test box (", regex=False).all()


def test_bad_arguments_exit_2(files, outline, tmp_path, capsys):
    inc, pl, _ = files
    base = ["concern", "--incidents", str(inc), "--places", str(pl), "--out",
            str(tmp_path / "x.csv"), "--study-area", str(outline)]
    assert main([*base, "--types", "Drugs,Nonsense"]) == 2  # checked against the data
    err = capsys.readouterr().err
    assert "'Nonsense'" in err and "Vehicle crime" in err
    with pytest.raises(SystemExit) as e:
        main([*base, "--from", "2019/01"])
    assert e.value.code == 2


def test_hotspots_end_to_end(files, outline, tmp_path, capsys):
    inc, _, _ = files
    out = tmp_path / "grid.geojson"
    code = main(["hotspots", "--incidents", str(inc), "--cell-m", "400", "--types", "all",
                 "--out", str(out), "--study-area", str(outline)])
    assert code == 0
    grid = gpd.read_file(out)
    for col in ("cell_id", "incidents", "gi_z", "p_value", "p_adjusted", "hotspot_class"):
        assert col in grid.columns
    assert grid["incidents"].sum() == 120
    assert "queen" in capsys.readouterr().out
