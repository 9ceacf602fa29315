"""Map layers of the analyses: features drawn, text escaped, payload small, control lists them."""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.errors import InputError
from ctxmap.maps.analysis_layers import (
    HOTSPOT_CLASSES,
    add_groups,
    choropleth_group,
    concern_group,
    density_group,
    hotspot_group,
)
from ctxmap.maps.base import MapOptions
from ctxmap.maps.classes import class_breaks, classify_values
from ctxmap.maps.layers import build_map

EVIL = "<script>alert(1)</script>"


def _geojsons(group: folium.FeatureGroup) -> list[folium.GeoJson]:
    return [c for c in group._children.values() if isinstance(c, folium.GeoJson)]


def _features(group: folium.FeatureGroup) -> list[dict]:
    return [f for g in _geojsons(group) for f in g.data["features"]]


def _render(group: folium.FeatureGroup) -> str:
    m = folium.Map(tiles=None)
    group.add_to(m)
    return m.get_root().render()


def _coords(obj) -> list[float]:
    if isinstance(obj, (int, float)):
        return [obj]
    return [c for x in obj for c in _coords(x)]


def ranked_fixture() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "rank": [1, 2, 3, 4],
            "place_id": ["a", "b", "c", "d"],
            "name": [EVIL, "Youth club", "Library", "Nowhere"],
            "layer": ["homes", "youth_centres", "safe_places", "safe_places"],
            "incidents": [12, 9, 1, 0],
            "expected": [2.0, 2.5, 2.0, np.nan],
            "rate_ratio": [6.0, 3.6, 0.5, np.nan],
            "flagged": [True, True, False, False],
            "reason": [f"12 incidents within 400 m {EVIL}", "9 within 400 m", "1", "none"],
        },
        geometry=[Point(1.2912345678, 52.6312345678), Point(1.30, 52.62), Point(1.31, 52.64),
                  None],
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- concern


def test_concern_group_draws_flagged_with_circles_and_escapes():
    layer = concern_group(ranked_fixture(), 400)
    feats = _features(layer.group)
    # 2 radius circles + 2 flagged markers + 1 unflagged marker; the unlocated one not drawn
    assert layer.features == 5 == len(feats)
    circles = [g for g in _geojsons(layer.group)
               if isinstance(g.marker, folium.Circle)]
    assert len(circles) == 1 and len(circles[0].data["features"]) == 2
    assert circles[0].marker.options["radius"] == 400
    html = _render(layer.group)
    assert EVIL not in html and "<script>alert" not in html
    assert any("&lt;script&gt;" in f["properties"].get("label", "") for f in feats)
    assert any("&lt;script&gt;" in f["properties"].get("popup", "") for f in feats)
    assert "new L.circle(" in html
    assert EVIL not in layer.legend_html
    assert "1 place(s) without a location" in layer.legend_html
    assert "Flagged location (2)" in layer.legend_html
    assert "Not flagged (1)" in layer.legend_html
    for f in feats:
        for c in _coords(f["geometry"]["coordinates"]):
            assert round(c, 5) == c


def test_concern_group_rejects_bad_input():
    ranked = ranked_fixture()
    with pytest.raises(InputError, match="expected EPSG:4326"):
        concern_group(ranked.to_crs(27700), 400)
    with pytest.raises(InputError, match="radius"):
        concern_group(ranked, 0)
    with pytest.raises(InputError, match="flagged"):
        concern_group(ranked.drop(columns="flagged"), 400)


def test_concern_group_from_rank_places():
    # 12 incidents right next to place "hot", none near the 10 calm places; 2 x 2 km area
    area = shapely.box(1.25, 52.60, 1.28, 52.62)
    pts = [Point(1.2600 + 0.0001 * k, 52.6100) for k in range(12)] + [Point(1.275, 52.615)]
    incidents = gpd.GeoDataFrame(
        {"month": ["2019-01"] * 13, "category": ["Drugs"] * 13}, geometry=pts, crs="EPSG:4326")
    calm = [Point(1.252 + 0.0025 * k, 52.6190) for k in range(10)]
    places = gpd.GeoDataFrame(
        {"id": ["hot", *[f"calm{k}" for k in range(10)]],
         "name": ["Hot", *[f"Calm {k}" for k in range(10)]], "layer": ["safe_places"] * 11,
         "category": ["x"] * 11},
        geometry=[Point(1.2605, 52.6100), *calm], crs="EPSG:4326")
    ranked = rank_places(places, incidents, StudyArea(area, "EPSG:4326"),
                         ConcernParams(radius_m=200, categories=("Drugs",),
                                       baseline="study-area"))
    assert ranked["flagged"].tolist() == [True] + [False] * 10
    layer = concern_group(ranked, 200)
    assert layer.features == 12  # circle + marker for "hot", a marker for each calm place


# --------------------------------------------------------------------------- density


def kde_fixture() -> gpd.GeoDataFrame:
    cells = [box(1.20 + 0.01 * k, 52.60, 1.21 + 0.01 * k, 52.61) for k in range(10)]
    grid = gpd.GeoDataFrame({"density_per_km2": np.arange(1.0, 11.0)}, geometry=cells,
                            crs="EPSG:4326")
    grid.attrs["ctxmap"] = {"bandwidth_m": 321.4, "cell_m": 100.0}
    return grid


def test_density_group_draws_upper_cells_in_classes():
    grid = kde_fixture()
    layer = density_group(grid)
    feats = _features(layer.group)
    values = grid["density_per_km2"].to_numpy()
    breaks = sorted({float(np.quantile(values, q)) for q in (0.5, 0.75, 0.9, 0.97)})
    # brute force: each cell's class is the number of breaks <= its value, minus one
    expected_classes = {sum(b <= v for b in breaks) - 1 for v in values} - {-1}
    assert layer.features == len(feats) == len(expected_classes)
    drawn = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in feats])
    kept = shapely.union_all(grid.geometry[values >= breaks[0]].to_numpy())
    assert drawn.symmetric_difference(kept).area < 1e-6 * kept.area
    assert "bandwidth 321 m" in layer.legend_html
    assert layer.group.show is False


def test_density_group_empty_surface():
    grid = kde_fixture()
    grid["density_per_km2"] = 0.0
    layer = density_group(grid)
    assert layer.features == 0
    assert "no incidents to draw" in layer.legend_html


# --------------------------------------------------------------------------- hotspots


def test_hotspot_group_draws_only_significant_cells():
    bins = [0, 1, -2, 3, 0, 0]
    cells = [box(1.2 + 0.01 * k, 52.6, 1.21 + 0.01 * k, 52.61) for k in range(6)]
    grid = gpd.GeoDataFrame(
        {"gi_bin": bins, "incidents": [1, 5, 0, 9, 2, 1], "gi_z": [0.1, 1.8, -2.1, 3.3, 0, 0],
         "p_adjusted": [0.9, 0.08, 0.04, 0.001, 1, 1]},
        geometry=cells, crs="EPSG:4326")
    grid.attrs["ctxmap"] = {"cell_m": 250.0}
    layer = hotspot_group(grid)
    feats = _features(layer.group)
    assert layer.features == len(feats) == 3
    assert sorted(f["properties"]["b"] for f in feats) == [-2, 1, 3]
    html = _render(layer.group)
    for b in (3, 1, -2):
        assert HOTSPOT_CLASSES[b][0] in html
    assert "3 cells not significant, not drawn" in layer.legend_html
    assert HOTSPOT_CLASSES[-3][1] not in layer.legend_html  # absent classes not listed


def test_hotspot_group_nothing_significant():
    grid = gpd.GeoDataFrame({"gi_bin": [0, 0], "incidents": [1, 1], "gi_z": [0.0, 0.0]},
                            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    layer = hotspot_group(grid)
    assert layer.features == 0
    assert "no significant hot spots" in layer.legend_html


# --------------------------------------------------------------------------- choropleth


def areas_fixture() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C"], "name": [EVIL, "Bee", "Cee"], "level": ["lsoa"] * 3,
         "population": [np.nan] * 3, "incidents": [1, 5, 10],
         "rate_per_1000": [np.nan] * 3},
        geometry=[box(1.20, 52.60, 1.21, 52.61), box(1.21, 52.60, 1.22, 52.61),
                  box(1.22, 52.60, 1.23, 52.61)],
        crs="EPSG:4326")


def test_choropleth_counts_without_population():
    counts = areas_fixture()
    layer = choropleth_group(counts, n_classes=3)
    feats = _features(layer.group)
    assert layer.features == len(feats) == 3
    assert [f["properties"]["k"] for f in feats] == [0, 1, 2]
    assert "no population figures" in layer.legend_html
    html = _render(layer.group)
    assert EVIL not in html and "<script>alert" not in html
    assert "&lt;script&gt;" in feats[0]["properties"]["label"]
    assert "1–5 incidents" in layer.legend_html


def test_choropleth_rates_and_geometry_from_areas():
    counts = pd.DataFrame(areas_fixture().drop(columns="geometry"))
    counts["population"] = [1000.0, 2000.0, 500.0]
    counts["rate_per_1000"] = 1000.0 * counts["incidents"] / counts["population"]
    areas = areas_fixture().rename(columns={"area_id": "id"})[["id", "geometry"]]
    layer = choropleth_group(counts, areas, n_classes=2)
    feats = _features(layer.group)
    assert len(feats) == 3
    assert "per 1,000 residents" in layer.legend_html
    assert "20.0 per 1,000 residents" in feats[2]["properties"]["label"]
    with pytest.raises(InputError, match="areas layer"):
        choropleth_group(counts)


@pytest.mark.parametrize("values", [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0, 0, 0, 5], [3.5],
                                    [np.nan, 2, 2, 2, 9]])
def test_class_breaks_brute_force(values):
    breaks = class_breaks(values, 4)
    assert breaks == sorted(set(breaks))
    finite = [v for v in values if np.isfinite(v)]
    assert breaks[0] == min(finite)
    ordered = sorted(finite)
    assert breaks == sorted({ordered[k * len(ordered) // 4] for k in range(4)})
    got = classify_values(values, breaks)
    for v, k in zip(values, got, strict=True):
        want = -1 if not np.isfinite(v) else sum(b <= v for b in breaks) - 1
        assert k == want


# --------------------------------------------------------------------------- map


def test_add_groups_lists_layers_before_the_control():
    areas = gpd.GeoDataFrame(
        {"id": ["D"], "name": ["District"], "level": ["district"], "population": [None],
         "source": ["t"]}, geometry=[box(1.2, 52.6, 1.33, 52.65)], crs="EPSG:4326")
    m = build_map({"areas": areas}, MapOptions(tiles_url=None))
    hot = hotspot_group(gpd.GeoDataFrame(
        {"gi_bin": [3, 0], "incidents": [9, 1], "gi_z": [3.0, 0.0]},
        geometry=[box(1.2, 52.6, 1.21, 52.61), box(1.21, 52.6, 1.22, 52.61)], crs="EPSG:4326"))
    concern = concern_group(ranked_fixture(), 400)
    add_groups(m, [hot, concern])
    controls = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert len(controls) == 1
    assert list(m._children.values())[-1] is controls[0]
    html = m.get_root().render()
    control_at = html.index("L.control.layers(")
    for layer in (hot, concern):
        name = layer.group.get_name()
        assert html.index(f"var {name} = ") < control_at
        assert json.dumps(layer.group.layer_name) in html[html.index("overlays"):control_at]
    assert "ctxmap-alegend" in html
    assert "<script>alert" not in html
    assert "https://cdn" not in html


def test_add_groups_makes_a_control_when_missing():
    m = folium.Map(tiles=None)
    add_groups(m, [concern_group(ranked_fixture(), 300)], legend=False)
    html = m.get_root().render()
    assert "L.control.layers(" in html
    assert "ctxmap-alegend" not in html


def test_concern_group_never_shows_addresses_or_notes():
    ranked = ranked_fixture()
    ranked["address"] = "1 Secret Road"
    ranked["notes"] = "private note"
    html = _render(concern_group(ranked, 400).group)
    assert "Secret Road" not in html and "private note" not in html
