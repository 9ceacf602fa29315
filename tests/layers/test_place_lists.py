"""Place lists without OSM tags are classified by the same rules, through their category."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctxmap.layers.osm import category_rule
from ctxmap.layers.readers import read_places, rule_counts


@pytest.mark.parametrize(("category", "name", "rule"), [
    ("Library", "Great Yarmouth Library", "library"),
    ("pharmacy", None, "pharmacy"),
    ("Youth centre", None, "leisure-youth-centre"),
    ("youth club", None, "community-centre-youth"),
    ("GP surgery", None, "doctors"),
    ("Community centre", "Northgate Youth Project", "community-centre-named-youth"),
    ("community_centre", "Village hall", "community-centre"),
    ("school", None, "school"),  # an exclusion rule: not a place
])
def test_category_rule(category: str, name: str | None, rule: str) -> None:
    found = category_rule(category, name)
    assert found is not None and found.rule_id == rule


@pytest.mark.parametrize("category", ["post_box", "", None, "parking"])
def test_no_rule(category: str | None) -> None:
    assert category_rule(category, "x") is None


def test_read_places_layer_column_wins_then_rules(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("id,name,category,layer,lat,lon\n"
                    "a,A,library,,52.6,1.72\n"
                    "b,B,library,youth_centres,52.6,1.72\n"
                    "c,C,school,,52.6,1.72\n"
                    "d,D,bench,,52.6,1.72\n", encoding="utf-8")
    gdf = read_places(path).gdf
    assert list(gdf["layer"]) == ["safe_places", "youth_centres", "other", "other"]
    assert list(gdf["rule"]) == ["library", "layer column", "school", "no rule"]
    counts = rule_counts(gdf)
    assert counts["rows"].sum() == 4
    assert set(map(tuple, counts[["rule", "layer"]].to_numpy())) == {
        ("library", "safe_places"), ("layer column", "youth_centres"), ("school", "other"),
        ("no rule", "other")}
    as_one = read_places(path, as_layer="safe_places").gdf
    assert set(as_one["layer"]) == {"safe_places"} and set(as_one["rule"]) == {"--as"}
