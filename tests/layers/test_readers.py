"""Readers and validation: every kind of bad input gets a message naming file, row, column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctxmap.layers.readers import read_layer, read_places
from ctxmap.layers.schemas import POLICE_UK_COLUMNS, PRECISION_NONE, PRECISION_SNAPPED

HEADER = ",".join(POLICE_UK_COLUMNS)
GOOD = ("abc1,2019-01,Norfolk Constabulary,Norfolk Constabulary,1.280277,52.652443,"
        "On or near White House Court,E01026797,Norwich 001A,Drugs,Under investigation,")
ASB = (",2019-01,Norfolk Constabulary,Norfolk Constabulary,1.285770,52.657255,"
       "On or near Mile Cross Lane,E01026797,Norwich 001A,Anti-social behaviour,,")
NOLOC = ("abc2,2019-01,Norfolk Constabulary,Norfolk Constabulary,,,No Location,,,"
         "Violence and sexual offences,Unable to prosecute suspect,")


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def codes(result) -> set[str]:
    return {p.code for p in result.problems}


def test_police_uk_csv_read_exactly(tmp_path):
    f = write(tmp_path, "police.csv", "\n".join([HEADER, GOOD, ASB, NOLOC]) + "\n")
    r = read_layer(f, "incidents")
    assert r.usable
    assert (r.total_rows, r.mapped_rows, r.unmapped_rows) == (3, 2, 1)
    g = r.gdf
    assert g.loc[0, "id"] == "abc1"
    assert g.loc[1, "id"].startswith("puk-")  # ASB has no Crime ID: a stable one is made
    assert list(g["location_precision"]) == [PRECISION_SNAPPED, PRECISION_SNAPPED, PRECISION_NONE]
    assert g.geometry.iloc[2] is None
    assert g.crs.to_epsg() == 4326
    assert g.geometry.iloc[0].x == pytest.approx(1.280277)
    no_loc = [p for p in r.problems if p.code == "no_location"]
    assert len(no_loc) == 1 and no_loc[0].row == 3 and no_loc[0].severity == "warning"


def test_generated_ids_are_stable_across_reads(tmp_path):
    f = write(tmp_path, "police.csv", "\n".join([HEADER, ASB, ASB]) + "\n")
    a, b = read_layer(f, "incidents").gdf["id"], read_layer(f, "incidents").gdf["id"]
    assert list(a) == list(b)
    assert a.iloc[0] != a.iloc[1]  # identical rows still get distinct ids


def test_missing_required_columns_named(tmp_path):
    f = write(tmp_path, "places.csv", "Latitude,Longitude\n52.6,1.29\n")
    r = read_layer(f, "incidents")
    assert not r.usable
    msg = str(r.errors[0])
    assert "places.csv" in msg and "missing required column" in msg
    assert "month" in msg and "category" in msg


def test_latlon_csv_with_usual_spellings(tmp_path):
    f = write(tmp_path, "safe.csv", "ID,Name,Lat,Lng,Opening Hours\n"
              "s1,Library,52.6287,1.2911,Mo-Fr 09:00-17:00\n")
    r = read_layer(f, "safe_places")
    assert r.usable
    assert r.gdf.loc[0, "name"] == "Library"
    assert r.gdf.loc[0, "opening_hours"] == "Mo-Fr 09:00-17:00"
    assert r.gdf.geometry.iloc[0].y == pytest.approx(52.6287)


def test_easting_northing_csv_is_reprojected(tmp_path):
    f = write(tmp_path, "bng.csv", "id,name,Easting,Northing\nb1,Somewhere,623000,308500\n")
    r = read_layer(f, "youth_centres")
    assert r.usable
    pt = r.gdf.geometry.iloc[0]
    assert 1.2 < pt.x < 1.4 and 52.6 < pt.y < 52.7


def test_swapped_latlon_detected_per_row(tmp_path):
    rows = ["id,name,latitude,longitude"] + [f"p{i},P,52.6{i},1.2{i}" for i in range(5)]
    rows.append("bad,Swapped,1.29,52.63")
    r = read_layer(write(tmp_path, "s.csv", "\n".join(rows)), "safe_places")
    err = [p for p in r.errors if p.code == "swapped_latlon"]
    assert len(err) == 1 and err[0].row == 6 and err[0].column == "latitude"
    assert "swapped" in err[0].message and "s.csv" in str(err[0])
    assert not r.usable


def test_bng_metres_in_latlon_columns(tmp_path):
    f = write(tmp_path, "m.csv", "id,name,lat,lon\nx,Y,308500,623000\n")
    r = read_layer(f, "safe_places")
    (p,) = r.errors
    assert p.code == "bng_in_latlon" and p.row == 1
    assert "British National Grid" in p.message and "Easting/Northing" in p.message


def test_out_of_range_and_not_a_number(tmp_path):
    f = write(tmp_path, "o.csv", "id,name,lat,lon\na,A,95.5,200\nb,B,abc,1.2\nc,C,0,0\n")
    r = read_layer(f, "safe_places")
    by_row = {p.row: p for p in r.errors}
    assert by_row[1].code == "out_of_range" and "-90..90" in by_row[1].message
    assert by_row[2].code == "not_a_number" and "'abc'" in by_row[2].message
    assert by_row[3].code == "null_island"


def test_half_location(tmp_path):
    f = write(tmp_path, "h.csv", "id,name,lat,lon\na,A,52.6,\n")
    (p,) = read_layer(f, "safe_places").errors
    assert p.code == "half_location" and p.column == "lon"


def test_rows_without_coordinates_counted_not_dropped(tmp_path):
    f = write(tmp_path, "n.csv", "id,name,lat,lon\na,A,52.6,1.29\nb,B,,\n")
    r = read_layer(f, "safe_places")
    assert r.usable and len(r.gdf) == 2 and r.unmapped_rows == 1
    assert "no location" in r.report()


def test_empty_file_and_header_only(tmp_path):
    r = read_layer(write(tmp_path, "e.csv", ""), "incidents")
    assert not r.usable and "empty" in r.errors[0].message
    r = read_layer(write(tmp_path, "h.csv", HEADER + "\n"), "incidents")
    assert not r.usable and "no data rows" in r.errors[0].message


def test_non_utf8_names_the_line(tmp_path):
    text = (HEADER + "\n" + GOOD + "\n" + GOOD.replace("White House", "Caf\xe9")).encode("latin-1")
    (p,) = read_layer(write(tmp_path, "l.csv", text), "incidents").errors
    assert p.code == "encoding" and "line 3" in p.message and "0xE9" in p.message


def test_file_not_what_extension_says(tmp_path):
    r = read_layer(write(tmp_path, "x.csv", b"SQLite format 3\x00" + b"\x00" * 100), "incidents")
    assert r.errors[0].code == "format" and "GeoPackage" in r.errors[0].message
    r = read_layer(write(tmp_path, "x.geojson", "a,b\n1,2\n"), "areas")
    assert r.errors[0].code == "format" and "CSV" in r.errors[0].message
    r = read_layer(write(tmp_path, "x.gpkg", "not a database"), "areas")
    assert r.errors[0].code == "format"


def test_broken_json_names_line(tmp_path):
    r = read_layer(write(tmp_path, "b.geojson", '{"type": "FeatureCollection",\n "features": [\n'),
                   "areas")
    assert r.errors[0].code == "json" and "line" in r.errors[0].message


def _fc(*features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _feat(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geom}


def test_invalid_and_empty_geometries(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[1.2, 52.6], [1.3, 52.7], [1.3, 52.6],
                                                  [1.2, 52.7], [1.2, 52.6]]]}
    square = {"type": "Polygon", "coordinates": [[[1.2, 52.6], [1.3, 52.6], [1.3, 52.7],
                                                  [1.2, 52.7], [1.2, 52.6]]]}
    empty = {"type": "Polygon", "coordinates": []}
    f = write(tmp_path, "a.geojson", _fc(
        _feat({"id": "A", "name": "ok", "level": "ward"}, square),
        _feat({"id": "B", "name": "bow", "level": "ward"}, bowtie),
        _feat({"id": "C", "name": "empty", "level": "ward"}, empty),
        _feat({"id": "D", "name": "point", "level": "ward"},
              {"type": "Point", "coordinates": [1.2, 52.6]}),
    ))
    r = read_layer(f, "areas")
    by_row = {p.row: p.code for p in r.errors}
    assert by_row == {2: "invalid_geometry", 3: "empty_geometry", 4: "geometry_type"}
    assert len(r.gdf) == 1
    repaired = read_layer(f, "areas", repair=True)
    assert "repaired_geometry" in codes(repaired)
    assert set(repaired.gdf["id"]) == {"A", "B"}


def test_geojson_in_metres_without_declared_crs(tmp_path):
    f = write(tmp_path, "m.geojson", _fc(_feat({"id": "x", "name": "n"},
                                              {"type": "Point", "coordinates": [623000, 308500]})))
    (p,) = read_layer(f, "safe_places").errors
    assert p.code == "wrong_crs" and "EPSG:27700" in p.message


def test_geojson_declared_bng_is_reprojected(tmp_path):
    doc = json.loads(_fc(_feat({"id": "x", "name": "n"},
                               {"type": "Point", "coordinates": [623000, 308500]})))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    r = read_layer(write(tmp_path, "b.geojson", json.dumps(doc)), "safe_places")
    assert r.usable and r.gdf.crs.to_epsg() == 4326
    assert 52.6 < r.gdf.geometry.iloc[0].y < 52.7


def test_geopackage_round_trip(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    g = gpd.GeoDataFrame({"id": ["y1"], "name": ["Club"]},
                         geometry=[Point(623000, 308500)], crs="EPSG:27700")
    path = tmp_path / "yc.gpkg"
    g.to_file(path, layer="youth_centres")
    r = read_layer(path, "youth_centres")
    assert r.usable and r.gdf.loc[0, "name"] == "Club" and r.gdf.crs.to_epsg() == 4326


def test_hostile_strings_kept_verbatim(tmp_path):
    hostile = '<script>alert(1)</script>" onmouseover="x'
    f = write(tmp_path, "h.csv", f'id,name,lat,lon\na,"{hostile.replace(chr(34), chr(34) * 2)}",'
              "52.6,1.29\n")
    r = read_layer(f, "safe_places")
    assert r.gdf.loc[0, "name"] == hostile  # escaping happens where it is rendered


def test_unknown_extension(tmp_path):
    r = read_layer(write(tmp_path, "a.xlsx", "x"), "incidents")
    assert r.errors[0].code == "extension"


def test_police_file_as_wrong_layer(tmp_path):
    f = write(tmp_path, "police.csv", "\n".join([HEADER, GOOD]) + "\n")
    assert read_layer(f, "safe_places").errors[0].code == "wrong_layer"


def test_read_places_keeps_every_row_with_layer(tmp_path):
    f = write(tmp_path, "p.geojson", _fc(
        _feat({"id": "node/1", "amenity": "library", "name": "Lib"},
              {"type": "Point", "coordinates": [1.29, 52.63]}),
        _feat({"id": "node/2", "amenity": "bench"},
              {"type": "Point", "coordinates": [1.29, 52.63]}),
    ))
    r = read_places(f)
    assert list(r.gdf["layer"]) == ["safe_places", "other"]
    assert r.gdf.loc[1, "name"] is None


def test_report_lists_counts(tmp_path):
    f = write(tmp_path, "police.csv", "\n".join([HEADER, GOOD, NOLOC]) + "\n")
    rep = read_layer(f, "incidents").report()
    assert "total rows: 2" in rep and "mapped rows: 1" in rep
    assert "rows without a location: 1" in rep and "result: usable" in rep
