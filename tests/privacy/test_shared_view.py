"""Meeting view masks: homes become areas, small cells disappear, no free text, safe links."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from ctxmap.errors import InputError
from ctxmap.layers.geometry import grid_cells
from ctxmap.maps.base import MapOptions
from ctxmap.maps.layers import build_map
from ctxmap.maps.masked_map import build_meeting_map
from ctxmap.privacy.links import ViewParams, parse_view_params
from ctxmap.privacy.shared_view import (
    MaskSettings,
    focus_on_area,
    incident_squares,
    mask_layers,
    snap_incidents,
)

BNG = "EPSG:27700"
PERSON = "Jane Placeholder-Smith"


def _bng_points(xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) if x is not None else None
                                            for x, y in xy], crs=BNG).to_crs("EPSG:4326")


def _layers():
    homes = _bng_points(
        [(623_110.0, 308_620.0), (623_140.0, 308_640.0), (624_900.0, 309_900.0)],
        id=["h1", "h2", "h3"], name=[f"{PERSON}'s house", "Willow", "Alder"],
        category=["children's home"] * 3, address=["1 Secret Road", "2 Secret Road", ""],
        opening_hours=["", "", ""], source=["x", "x", "x"], fictional=[True, True, True],
        notes=[f"key worker {PERSON}", "", ""],
    )
    # 6 incidents in cell A (kept), 2 in cell B (suppressed), 1 with no location
    xy = [(623_010.0 + i, 308_510.0 + i) for i in range(6)] + [(625_010.0, 310_010.0)] * 2
    xy.append((None, None))
    n = len(xy)
    incidents = _bng_points(
        xy, id=[f"i{i}" for i in range(n)], month=["2024-01"] * n, date=[""] * n,
        category=["Drugs"] * n, location_precision=[""] * n,
        location=[f"On or near {PERSON} Street"] * n, lsoa_code=[""] * n,
        outcome=[f"{PERSON} charged"] * n, source=["test"] * n,
    )
    areas = gpd.GeoDataFrame(
        {"id": ["E01000001", "E05000001"], "name": ["Lsoa one", "Ward one"],
         "level": ["lsoa", "ward"], "population": [1500.0, None], "source": ["s", "s"]},
        geometry=[box(622_000, 308_000, 624_000, 310_000), box(622_000, 308_000, 626_000, 311_000)],
        crs=BNG,
    ).to_crs("EPSG:4326")
    places = _bng_points([(623_500.0, 309_000.0)], id=["p1"], name=["Library"],
                         category=["library"], address=["3 Public St"],
                         opening_hours=["Mo 09:00-17:00"], source=["osm"])
    return {"homes": homes, "incidents": incidents, "areas": areas, "safe_places": places}


def _all_text(layers) -> str:
    return " ".join(str(v) for g in layers.values() for c in g.columns if c != "geometry"
                    for v in g[c].tolist())


def test_homes_become_cells_with_no_text_and_inputs_unchanged():
    layers = _layers()
    before = {k: v.copy() for k, v in layers.items()}
    out = mask_layers(layers, MaskSettings())
    for k in layers:
        pd.testing.assert_frame_equal(layers[k], before[k])
    assert out["homes"].empty
    cells = out["areas"][out["areas"]["level"] == "other"]
    assert len(cells) == 2  # h1 and h2 share a 250 m cell
    for geom in layers["homes"].geometry:
        assert cells.contains(geom).sum() == 1
        assert not any(g.geom_type == "Point" for g in cells.geometry)
    text = _all_text(out)
    for secret in (PERSON, "Secret Road", "Willow", "Alder", "key worker"):
        assert secret not in text


def test_home_cells_are_the_250m_grid_cells():
    layers = _layers()
    cells = mask_layers(layers)["areas"].query("level == 'other'").to_crs(BNG)
    for geom in layers["homes"].to_crs(BNG).geometry:
        i, j = grid_cells(geom.x, geom.y, 250.0)
        (hit,) = [c for c in cells.geometry if c.contains(geom)]
        minx, miny, maxx, maxy = hit.bounds
        assert (minx, miny, maxx, maxy) == pytest.approx(
            (i * 250, j * 250, (i + 1) * 250, (j + 1) * 250), abs=0.01)


def test_homes_as_lsoa():
    layers = _layers()
    out = mask_layers(layers, MaskSettings(home_mask="area"))
    masked = out["areas"][out["areas"]["level"] == "other"]
    assert set(masked["id"]) == {"E01000001"}  # h3 is outside the only LSOA: left out


def test_incidents_small_cells_left_out_and_unmapped_kept():
    layers = _layers()
    out = mask_layers(layers)["incidents"]
    located = out[out.geometry.notna()]
    assert len(located) == 6 and out.geometry.isna().sum() == 1
    # every kept incident sits at the centre of its true cell
    true = layers["incidents"].to_crs(BNG).loc[located.index]
    for (_, t), p in zip(true.iterrows(), located.to_crs(BNG).geometry, strict=True):
        i, j = grid_cells(t.geometry.x, t.geometry.y, 250.0)
        assert p.x == pytest.approx(i * 250 + 125, abs=0.01)
        assert p.y == pytest.approx(j * 250 + 125, abs=0.01)
    assert set(out.columns) <= {"month", "category", "location_precision", "cell_id", "geometry"}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1999), st.integers(0, 1999)), min_size=0, max_size=40),
       st.integers(1, 6))
def test_snap_never_leaves_a_cell_below_threshold(xy, threshold):
    pts = _bng_points([(620_000.0 + x, 300_000.0 + y) for x, y in xy],
                      id=[str(i) for i in range(len(xy))],
                      month=["2024-01"] * len(xy), category=["Drugs"] * len(xy))
    out = snap_incidents(pts, 250.0, threshold, crs=BNG)
    counts = out["cell_id"].value_counts()
    assert (counts >= threshold).all()
    # brute force: the kept rows are exactly those in cells with >= threshold points,
    # the cells taken from the points as stored (lon/lat): a point exactly on a cell
    # edge may fall either side after the round trip through EPSG:4326
    stored = pts.to_crs(BNG).geometry
    keys = [grid_cells(g.x, g.y, 250.0) for g in stored]
    expect = sum(1 for k in keys if keys.count(k) >= threshold)
    assert len(out) == expect
    assert out.attrs["suppressed"] == len(xy) - expect


def test_incident_squares_suppress_and_round():
    layers = _layers()
    sq = incident_squares(layers["incidents"], MaskSettings())
    assert sq["count"].tolist() == [6]
    rounded = incident_squares(layers["incidents"], MaskSettings(threshold=5, mode="round"))
    assert sorted(rounded["count"].tolist()) == [5]  # 6 -> 5, 2 -> 0 (not drawn)


def test_public_places_keep_name_only():
    out = mask_layers(_layers())["safe_places"]
    assert out["name"].tolist() == ["Library"]
    assert "address" not in out.columns and "id" not in out.columns


def test_sensitive_column_masks_other_places():
    layers = _layers()
    places = layers["safe_places"].copy()
    places["sensitive"] = [True]
    layers["safe_places"] = places
    out = mask_layers(layers)
    assert out["safe_places"].empty
    assert (out["areas"]["level"] == "other").sum() == 3


def test_masked_layers_draw_with_build_map_and_meeting_map():
    layers = _layers()
    out = mask_layers(layers)
    no_tiles = MapOptions(tiles_url=None)
    for m in (build_map(out, no_tiles), build_meeting_map(out, options=no_tiles)):
        page = m.get_root().render()
        assert PERSON not in page and "Secret Road" not in page
    page = build_meeting_map(out, options=MapOptions(tiles_url=None)).get_root().render()
    assert "6 incidents in this 250 m square" in page
    assert "Masked view" in page


def coordinate_pairs(text: str) -> np.ndarray:
    """Every ``[a, b]`` pair of decimal numbers in a page (GeoJSON or Leaflet lat/lng)."""
    found = re.findall(r"\[\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*\]", text)
    return np.array(found, dtype=float).reshape(-1, 2)


def near(pairs: np.ndarray, lon: float, lat: float, tol: float = 5e-5) -> bool:
    """True when some pair is the point (lon, lat) or (lat, lon) to 4 decimal places."""
    if not len(pairs):
        return False
    lonlat = (np.abs(pairs[:, 0] - lon) < tol) & (np.abs(pairs[:, 1] - lat) < tol)
    latlon = (np.abs(pairs[:, 0] - lat) < tol) & (np.abs(pairs[:, 1] - lon) < tol)
    return bool((lonlat | latlon).any())


def test_no_home_coordinate_in_meeting_map():
    layers = _layers()
    no_tiles = MapOptions(tiles_url=None)
    page = build_meeting_map(mask_layers(layers), options=no_tiles).get_root().render()
    pairs = coordinate_pairs(page)
    assert len(pairs) > 10
    for g in layers["homes"].geometry:
        assert not near(pairs, g.x, g.y)
    # the detector works: the unmasked map has every home
    raw = coordinate_pairs(build_map(layers, MapOptions(tiles_url=None)).get_root().render())
    for g in layers["homes"].geometry:
        assert near(raw, g.x, g.y)


def test_donut_needs_a_key_else_grid():
    layers = _layers()
    no_key = mask_layers(layers, MaskSettings(incident_mask="donut"))
    assert any("no $CTXMAP_MASK_KEY" in n for n in no_key["areas"].attrs["masking"])
    keyed = mask_layers(layers, MaskSettings(incident_mask="donut", key="s3cret"))
    moved = keyed["incidents"].to_crs(BNG).geometry
    true = layers["incidents"].to_crs(BNG).geometry
    for a, b in zip(moved, true, strict=True):
        if b is None:
            assert a is None
        else:
            assert 200 - 0.01 <= a.distance(b) <= 500 + 0.01
    assert PERSON not in _all_text(keyed)


KEY_32 = "zq-secret-91-" + "k" * 20  # the settings want at least 32 bytes


def test_settings_from_env_and_bad_values():
    s = MaskSettings.from_env({"CTXMAP_MASK_KEY": KEY_32,
                               "CTXMAP_SMALL_COUNT_THRESHOLD": "10"})
    assert s.threshold == 10 and s.key == KEY_32 and KEY_32 not in repr(s)
    with pytest.raises(InputError, match="whole number"):
        MaskSettings.from_env({"CTXMAP_SMALL_COUNT_THRESHOLD": "many"})
    with pytest.raises(InputError):
        MaskSettings(home_mask="point")  # type: ignore[arg-type]


def test_mask_layers_rejects_wrong_crs():
    layers = _layers()
    layers["homes"] = layers["homes"].to_crs(BNG)
    with pytest.raises(InputError, match="EPSG:4326"):
        mask_layers(layers)


def test_view_params_hold_only_the_view():
    params = parse_view_params({"view": "meeting", "page": "map", "context": "ctx-0003",
                                "area": "E05012345", "zoom": "14", "layers": "homes,incidents"})
    assert params == ViewParams("map", "ctx-0003", "E05012345", 14, ("incidents", "homes"))
    junk = parse_view_params({"page": "<script>", "context": PERSON, "area": "Smith",
                              "zoom": "99", "layers": "names"})
    assert junk == ViewParams()
    assert set(params.to_query()) <= {"view", "page", "context", "area", "zoom", "layers"}
    assert json.dumps(junk.to_query()) == '{"view": "meeting", "page": "map"}'


def test_focus_on_area_filters_incidents_and_leaves_unmapped_out():
    layers = mask_layers(_layers())
    lsoa = layers["areas"][layers["areas"]["id"] == "E01000001"]
    out = focus_on_area(layers, lsoa)
    # the one incident with no location cannot be placed in the area: left out, counted
    assert out["incidents"].geometry.isna().sum() == 0
    assert len(out["incidents"]) == 6
    assert out["incidents"].attrs["unlocated_left_out"] == 1
    shape = lsoa.geometry.union_all()
    assert out["incidents"].geometry.intersects(shape).all()
