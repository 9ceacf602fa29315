"""Tests for ctxmap.layers.osm: tag rules, addresses, layer building, OSM frame detection."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from ctxmap.errors import InputError
from ctxmap.layers.osm import (
    OSM_SOURCE,
    classify_tags,
    is_osm_poi_frame,
    matching_rule,
    osm_address,
    osm_to_layers,
    rules_markdown,
)
from ctxmap.layers.osm_rules import RULES, Rule
from ctxmap.layers.schemas import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
REAL_OSM = ROOT / "data" / "source" / "osm" / "norwich_osm_pois.geojson"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"amenity": "library", "name": "Earlham Library"}, ("safe_places", "library")),
        ({"amenity": "police"}, ("safe_places", "police")),
        ({"amenity": "pharmacy"}, ("safe_places", "pharmacy")),
        ({"healthcare": "pharmacy", "shop": "chemist"}, ("safe_places", "pharmacy")),
        ({"amenity": "hospital", "emergency": "yes"}, ("safe_places", "hospital (A&E)")),
        ({"healthcare": "hospital", "emergency": "yes"}, ("safe_places", "hospital (A&E)")),
        ({"amenity": "hospital", "emergency": "no"}, None),
        ({"amenity": "hospital"}, None),
        ({"amenity": "doctors"}, ("safe_places", "GP surgery")),
        ({"amenity": "fire_station"}, ("safe_places", "fire station")),
        (
            {"amenity": "community_centre", "name": "Harford Community Centre"},
            ("youth_centres", "community centre"),
        ),
        (
            {"amenity": "community_centre", "name": "Jubilee Youth Club"},
            ("youth_centres", "youth club"),
        ),
        (
            {"amenity": "community_centre", "community_centre:for": "senior;youth"},
            ("youth_centres", "youth club"),
        ),
        (
            {"amenity": "community_centre", "community_centre": "youth_centre"},
            ("youth_centres", "youth club"),
        ),
        ({"leisure": "youth_centre"}, ("youth_centres", "youth centre")),
        ({"amenity": "youth_centre"}, ("youth_centres", "youth centre")),
        (
            {"amenity": "social_facility", "social_facility:for": "youth"},
            ("youth_centres", "youth service"),
        ),
        (
            {"amenity": "social_facility", "name": "Central Norwich YMCA"},
            ("youth_centres", "youth organisation"),
        ),
        ({"amenity": "scout_hut"}, ("youth_centres", "scout or guide hut")),
        # residential settings are homes: never a youth centre, never a safe place
        (
            {
                "amenity": "social_facility",
                "social_facility": "group_home",
                "social_facility:for": "youth",
            },
            None,
        ),
        ({"amenity": "social_facility", "social_facility": "shelter", "name": "YMCA"}, None),
        (
            {
                "amenity": "social_facility",
                "social_facility:for": "child",
                "name": "St Andrew's Parent and Toddler Group",
            },
            None,
        ),
        ({"amenity": "library", "name": "The Woodbastwick Honesty Library"}, None),
        ({"amenity": "place_of_worship", "name": "St Giles"}, None),
        ({"amenity": "townhall", "name": "Village Hall"}, None),
        ({"amenity": "school"}, None),
        ({"amenity": "clinic"}, None),
        ({"amenity": "fast_food", "name": "Youth Burgers"}, None),
        ({"shop": "convenience"}, None),
        ({}, None),
    ],
)
def test_classify_tags_examples(tags: dict[str, str], expected: tuple[str, str] | None) -> None:
    assert classify_tags(tags) == expected


def test_missing_values_are_ignored() -> None:
    tags = {"amenity": "police", "emergency": math.nan, "name": None, "leisure": pd.NA}
    assert classify_tags(tags) == ("safe_places", "police")
    assert classify_tags({"amenity": math.nan}) is None
    assert classify_tags({"amenity": "  "}) is None


def test_values_are_case_insensitive_and_multi_valued() -> None:
    assert classify_tags({"amenity": "Library"}) == ("safe_places", "library")
    assert classify_tags({"amenity": "cafe;library"}) == ("safe_places", "library")


_NAME_EXAMPLES = {
    "honesty-library": "Village Honesty Library",
    "early-years-group": "Little Stars Toddler Group",
    "community-centre-named-youth": "Anytown Youth Club",
    "social-facility-named-youth": "Anytown YMCA",
}


@pytest.mark.parametrize("rule", RULES, ids=[r.rule_id for r in RULES])
def test_every_rule_is_reachable(rule: Rule) -> None:
    """Tags made from a rule's own conditions are decided by that rule, not an earlier one."""
    tags: dict[str, str] = {t.key: t.values[0] for t in rule.when}
    if rule.name_pattern is not None:
        tags["name"] = _NAME_EXAMPLES[rule.rule_id]
    assert matching_rule(tags) is rule
    expected = None if rule.layer is None else (rule.layer, rule.category)
    assert classify_tags(tags) == expected


def test_rule_ids_unique_and_layers_known() -> None:
    ids = [r.rule_id for r in RULES]
    assert len(ids) == len(set(ids))
    assert {r.layer for r in RULES} <= {None, "youth_centres", "safe_places"}
    assert all((r.layer is None) == (r.category is None) for r in RULES)


def test_doc_lists_every_rule() -> None:
    doc = (ROOT / "docs" / "osm-classification.md").read_text(encoding="utf-8")
    assert rules_markdown() in doc, "regenerate the table with ctxmap.layers.osm.rules_markdown()"
    for rule in RULES:
        assert f"`{rule.rule_id}`" in doc


def test_osm_address() -> None:
    full = {
        "addr:housenumber": "55",
        "addr:street": "Wessex Street",
        "addr:city": "Norwich",
        "addr:postcode": "NR2 2TJ",
    }
    assert osm_address(full) == "55 Wessex Street, Norwich, NR2 2TJ"
    assert osm_address({"addr:postcode": "NR1 3GX"}) == "NR1 3GX"
    assert osm_address({"addr:street": "Bank Plain", "addr:housenumber": math.nan}) == "Bank Plain"
    assert osm_address({"name": "x"}) is None
    assert osm_address({"addr:street": " "}) is None


def _raw() -> gpd.GeoDataFrame:
    square = Polygon([(1.0, 52.0), (1.001, 52.0), (1.001, 52.001), (1.0, 52.001)])
    return gpd.GeoDataFrame(
        {
            "id": ["node/1", "way/2", "node/3", "relation/4", "node/5"],
            "amenity": ["library", "community_centre", "pub", "police", "pharmacy"],
            "name": ["Town Library", None, "The Crown", "Police Station", "Chemist"],
            "opening_hours": ['"Part time"', None, "Mo-Su 11:00-23:00", None, None],
            "addr:street": ["High Street", None, None, None, None],
            "addr:housenumber": ["1", None, None, None, None],
        },
        geometry=[Point(1.0, 52.0), square, Point(1.2, 52.1), Point(1.3, 52.2), None],
        index=[10, 20, 30, 40, 50],
        crs="EPSG:4326",
    )


def test_osm_to_layers_builds_canonical_layers() -> None:
    raw = _raw()
    before = raw.copy()
    layers = osm_to_layers(raw)
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    assert set(layers) == {"youth_centres", "safe_places"}
    safe, youth = layers["safe_places"], layers["youth_centres"]
    for kind, gdf in layers.items():
        assert list(gdf.columns) == [*SCHEMAS[kind].column_names, "geometry"]
        assert gdf.crs.to_string() == "EPSG:4326"
        assert (gdf["source"] == OSM_SOURCE).all()
    assert list(safe.index) == [10, 40]
    assert list(safe["id"]) == ["node/1", "relation/4"]
    assert list(safe["category"]) == ["library", "police"]
    assert safe.loc[10, "opening_hours"] == '"Part time"'  # quirky value kept as is
    assert safe.loc[10, "address"] == "1 High Street"
    assert safe.loc[40, "address"] is None
    assert safe.attrs["unlocated"] == 1  # the pharmacy with no geometry
    assert list(youth.index) == [20]
    assert youth.loc[20, "name"] is None  # unnamed places stay
    geom = youth.geometry.loc[20]
    assert geom.geom_type == "Point" and raw.geometry.loc[20].contains(geom)


def test_osm_to_layers_returns_4326_from_metric_input() -> None:
    raw = _raw().iloc[[0]].to_crs("EPSG:27700")
    out = osm_to_layers(raw)["safe_places"]
    assert out.crs.to_string() == "EPSG:4326"
    assert out.geometry.iloc[0].distance(Point(1.0, 52.0)) < 1e-6  # reprojection round trip


def test_osm_to_layers_errors() -> None:
    raw = _raw()
    with pytest.raises(InputError, match="no CRS"):
        osm_to_layers(raw.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="no id column"):
        osm_to_layers(raw.drop(columns="id"))


def test_osm_to_layers_empty_result() -> None:
    raw = _raw().iloc[[2]]
    out = osm_to_layers(raw)
    assert len(out["safe_places"]) == 0 and len(out["youth_centres"]) == 0
    assert list(out["safe_places"].columns) == [*SCHEMAS["safe_places"].column_names, "geometry"]


def test_is_osm_poi_frame() -> None:
    raw = _raw()
    assert is_osm_poi_frame(raw)
    assert not is_osm_poi_frame(raw.drop(columns="amenity"))
    assert not is_osm_poi_frame(raw.drop(columns="id"))
    other = raw.copy()
    other["id"] = ["a", "b", "c", "d", "e"]
    assert not is_osm_poi_frame(other)
    empty_ids = raw.copy()
    empty_ids["id"] = None
    assert not is_osm_poi_frame(empty_ids)
    assert not is_osm_poi_frame(pd.DataFrame({"id": ["h1"], "name": ["x"], "category": ["y"]}))


def test_real_norwich_extract() -> None:
    raw = gpd.read_file(REAL_OSM)
    assert is_osm_poi_frame(raw)
    layers = osm_to_layers(raw)
    safe, youth = layers["safe_places"], layers["youth_centres"]
    # brute force, by direct tag look-ups rather than the rule table
    police = set(raw.loc[raw["amenity"] == "police", "id"])
    assert police <= set(safe["id"])
    libraries = raw.loc[raw["amenity"] == "library"]
    honesty = libraries["name"].str.contains("Honesty", na=False)
    assert set(libraries.loc[~honesty, "id"]) <= set(safe["id"])
    assert not set(libraries.loc[honesty, "id"]) & set(safe["id"])
    centres = set(raw.loc[raw["amenity"] == "community_centre", "id"])
    assert centres <= set(youth["id"])
    homes = set(raw.loc[raw["social_facility"].isin(["group_home", "shelter"]), "id"])
    assert homes and not homes & (set(safe["id"]) | set(youth["id"]))
    assert not set(safe["id"]) & set(youth["id"])
    assert safe["id"].is_unique and youth["id"].is_unique
