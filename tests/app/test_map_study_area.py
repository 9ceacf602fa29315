"""The Map page shows and counts the incidents in the study area, as the rankings do.

A force's files cover the whole force area; a store for one district holds them all.
The Map page's box *Only the study area* (ticked by default) keeps the located incidents
inside the store's study area (a point on its outline is inside) and every incident with
no location (which cannot be placed); unticked, it shows them all. The counts are
recomputed here with GeoPandas/shapely from the store itself.
"""

from __future__ import annotations

import html
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from streamlit.testing.v1 import AppTest

from ctxmap.analysis.incident_index import IncidentIndex
from ctxmap.analysis.inputs import read_study_area_file, resolve_study_area
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.marks import write_study_area

ROOT = Path(__file__).resolve().parents[2]
GY_LAD = ROOT / "data" / "source" / "boundaries" / "great_yarmouth_lad_2013.geojson"


def recount(store_path: Path) -> tuple[int, int, int]:
    """(located inside, located outside, no location) of the store's incidents."""
    incidents = GeoPackageStore(store_path, create=False).read("incidents")
    located = incidents.geometry.notna() & ~incidents.geometry.is_empty
    points = incidents.geometry[located].to_crs(27700)
    outline = gpd.GeoSeries([resolve_study_area(str(store_path)).geometry],
                            crs=4326).to_crs(27700).iloc[0]
    inside = int(points.intersects(outline).sum())
    return inside, int(located.sum()) - inside, int((~located).sum())


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def test_the_map_counts_the_study_area_and_says_what_it_left_out(store_copy: Path) -> None:
    inside, outside, unlocated = recount(store_copy)
    assert outside > 0 and inside > 0  # the sample has incidents just outside Norwich
    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Incidents shown on the map") == f"{inside:,}"
    assert metric(at, "In the period with no location") == f"{unlocated:,}"
    captions = html.unescape(" ".join(c.value for c in at.caption))
    assert f"{outside:,} located incident(s) of this filter lie outside it" in captions
    box = next(c for c in at.checkbox if c.label == "Only the study area")
    box.uncheck()
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Incidents shown on the map") == f"{inside + outside:,}"
    assert "lie outside it" not in " ".join(c.value for c in at.caption)


def test_a_district_store_of_a_force_file_shows_only_its_district(store_copy: Path) -> None:
    # the sample's Norwich incidents in a store whose study area is Great Yarmouth: none
    # of them is in it, so the map shows none, and says why
    write_study_area(GeoPackageStore(store_copy, create=False), read_study_area_file(GY_LAD))
    inside, outside, _ = recount(store_copy)
    assert inside == 0 and outside > 9000
    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Incidents shown on the map") == "0"
    captions = html.unescape(" ".join(c.value for c in at.caption))
    assert f"{outside:,} located incident(s)" in captions and "Great Yarmouth" in captions


def test_inside_is_the_rankings_rule_on_the_outline() -> None:
    square = shapely.box(0.0, 52.0, 1.0, 53.0)
    points = [shapely.Point(0.5, 52.5), shapely.Point(1.5, 52.5), None,
              shapely.Point(0.0, 52.5)]  # inside, outside, no location, on the edge
    incidents = gpd.GeoDataFrame({"month": ["2019-01"] * 4, "category": ["Drugs"] * 4},
                                 geometry=gpd.GeoSeries(points, crs=4326), crs=4326)
    got = IncidentIndex.build(incidents).inside(square, "EPSG:4326")
    assert got.tolist() == [True, False, False, True]
    assert got.dtype == np.bool_
