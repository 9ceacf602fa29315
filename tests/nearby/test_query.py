"""NearestQuery is a hashable question; answer() is nearest_places on the filtered places."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from ctxmap.nearby.query import NearestQuery, answer
from ctxmap.nearby.tables import coverage_table, gap_homes, gap_list, search_places


def _places() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["s1", "y1"], "name": ["Library", "Youth club"], "category": ["library", "club"],
         "layer": ["safe_places", "youth_centres"], "opening_hours": ["", ""],
         "address": ["", ""]},
        geometry=[Point(1.300, 52.630), Point(1.301, 52.631)], crs="EPSG:4326")


def test_a_query_is_hashable_and_equal_by_value() -> None:
    a = NearestQuery(1.3, 52.63, "2019-01-07 10:00", k=1, layers=("safe_places",))
    b = NearestQuery(1.3, 52.63, "2019-01-07 10:00", k=1, layers=("safe_places",))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


def test_answer_keeps_only_the_asked_kinds() -> None:
    rows = answer(NearestQuery(1.3, 52.63, "2019-01-07 10:00", k=5, layers=("youth_centres",)),
                  _places(), None)
    assert list(rows["name"]) == ["Youth club"]


def test_search_and_coverage_tables() -> None:
    places = _places()
    layers = {"homes": places.iloc[:0], "safe_places": places.iloc[:1],
              "youth_centres": places.iloc[1:]}
    assert list(search_places(layers, "lib")["key"]) == ["safe_places|s1"]
    cov = pd.DataFrame({"home_id": ["h1", "h2"], "name": ["A", None],
                        "safe_place_name": ["Library", None], "safe_walk_min": [3.04, None],
                        "youth_centre_name": ["Youth club", None],
                        "youth_walk_min": [5.0, None], "gap": [False, pd.NA],
                        "youth_gap": [True, pd.NA]})
    table = coverage_table(cov)
    assert list(table["Gap (safe place)"]) == ["no", "no location"]
    assert gap_list(gap_homes(cov, "youth_gap")) == "h1 (A)"
