"""Safety mapping: places to pick, clicked points, pooling with RAG counts, suppression."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from ctxmap.cases.safety_map import clicked_point, pickable_places, pool_by_place
from ctxmap.errors import InputError
from ctxmap.maps.safety_layer import HIDDEN_COLOUR, RAG_COLOURS, safety_map_group

CRS = "EPSG:4326"


def _ratings(rows: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"place_label": [r[0] for r in rows], "rating": [r[1] for r in rows]},
                            geometry=[Point(r[2], r[3]) for r in rows], crs=CRS)


def _render(group) -> str:
    import folium

    m = folium.Map(tiles=None)
    group.add_to(m)
    return m.get_root().render()


def _brute(ratings: gpd.GeoDataFrame) -> dict[tuple[str, float, float], dict[str, int]]:
    out: dict[tuple[str, float, float], dict[str, int]] = {}
    for label, rating, g in zip(ratings["place_label"], ratings["rating"], ratings.geometry,
                                strict=True):
        key = (label, round(g.x, 4), round(g.y, 4))
        out.setdefault(key, {"red": 0, "amber": 0, "green": 0})[rating] += 1
    return out


def test_pool_by_place_matches_a_brute_force_count() -> None:
    rows = [("Park", "red", 1.3, 52.6), ("Park", "red", 1.30001, 52.60001),
            ("Park", "green", 1.3, 52.6), ("Park", "amber", 1.4, 52.7),  # another park
            ("Shop", "green", 1.31, 52.61), ("Shop", "green", 1.31, 52.61),
            ("Bus stop", "amber", 1.32, 52.62)]
    ratings = _ratings(rows)
    before = ratings.copy()
    pooled = pool_by_place(ratings)
    pd.testing.assert_frame_equal(ratings, before)  # input untouched
    brute = _brute(ratings)
    assert len(pooled) == len(brute) == 4
    for row in pooled.itertuples():
        key = (row.place_label, round(row.geometry.x, 4), round(row.geometry.y, 4))
        want = brute[key]
        assert (row.red, row.amber, row.green) == (want["red"], want["amber"], want["green"])
        assert row.ratings == sum(want.values())
        assert row.share_red == pytest.approx(want["red"] / sum(want.values()))
        assert row.rating == max(("red", "amber", "green"), key=lambda r: want[r])
        assert not row.hidden
    assert pooled["place_label"].iloc[0] == "Park" and pooled["red"].iloc[0] == 2  # most red first


def test_ties_go_to_the_less_safe_rating() -> None:
    pooled = pool_by_place(_ratings([("A", "green", 1.3, 52.6), ("A", "amber", 1.3, 52.6)]))
    assert pooled["rating"].tolist() == ["amber"]


def test_shared_view_hides_small_counts() -> None:
    rows = [("Park", "red", 1.3, 52.6)] * 6 + [("Park", "green", 1.3, 52.6)] * 2 + [
        ("Shop", "green", 1.31, 52.61)] * 3
    pooled = pool_by_place(_ratings(rows), threshold=5).set_index("place_label")
    park, shop = pooled.loc["Park"], pooled.loc["Shop"]
    assert park["red"] == 6 and pd.isna(park["green"])
    assert pd.isna(park["ratings"])  # 8 - 6 - 0 would give the hidden 2 away
    assert park["amber"] == 0  # zero is not a small count
    assert bool(park["hidden"]) and park["rating"] == "red"
    assert pd.isna(park["share_red"])  # a share would reveal the hidden count
    assert pd.isna(shop["ratings"]) and pd.isna(shop["green"]) and pd.isna(shop["rating"])
    group = safety_map_group(pool_by_place(_ratings(rows), threshold=5), threshold=5)
    html = _render(group)
    assert "fewer than 5 green" in html and "3 green" not in html and "2 green" not in html
    assert HIDDEN_COLOUR in html and RAG_COLOURS["red"] in html


def test_pool_refuses_wrong_crs_and_unknown_ratings() -> None:
    with pytest.raises(InputError, match="EPSG:4326"):
        pool_by_place(_ratings([("A", "red", 1.3, 52.6)]).to_crs(27700))
    with pytest.raises(InputError, match="red, amber or green"):
        pool_by_place(_ratings([("A", "purple", 1.3, 52.6)]))
    empty = pool_by_place(_ratings([]))
    assert empty.empty and list(empty.columns)[:3] == ["place_label", "red", "amber"]


def test_pickable_places_never_offer_homes_and_use_a_point_inside_areas() -> None:
    area = box(1.0, 52.0, 1.2, 52.2)
    layers = {
        "homes": gpd.GeoDataFrame({"id": ["h1"], "name": ["Home"]},
                                  geometry=[Point(1.3, 52.6)], crs=CRS),
        "safe_places": gpd.GeoDataFrame({"id": ["s1", "s2", "s3"],
                                         "name": ["Library", None, "Cafe"]},
                                        geometry=[Point(1.31, 52.61), Point(1.0, 52.0), None],
                                        crs=CRS),
        "youth_centres": gpd.GeoDataFrame({"id": ["y1"], "name": ["Youth club"]},
                                          geometry=[Point(1.32, 52.62)], crs=CRS),
        "areas": gpd.GeoDataFrame({"id": ["W1", "D"], "name": ["Riverside", "District"],
                                   "level": ["ward", "district"]},
                                  geometry=[area, box(0, 51, 2, 53)], crs=CRS),
    }
    got = pickable_places(layers)
    assert set(got["key"]) == {"safe_places:s1", "youth_centres:y1", "areas:W1"}
    assert not got["layer"].eq("homes").any()
    ward = got[got["key"] == "areas:W1"].geometry.iloc[0]
    assert area.contains(ward)
    assert got.loc[got["key"] == "safe_places:s1", "label"].iloc[0] == "Library (safe place)"


def test_clicked_point() -> None:
    assert clicked_point(None) is None and clicked_point({}) is None
    assert clicked_point({"lat": 52.63, "lng": 1.3}).equals(Point(1.3, 52.63))
    for bad in ({"lat": 95, "lng": 1}, {"lat": "x", "lng": 1}, {"lng": 1.0}):
        with pytest.raises(InputError):
            clicked_point(bad)


def test_shared_view_hides_labels_and_exact_points():
    import geopandas as gpd
    from shapely.geometry import Point

    from ctxmap.cases.safety_map import shared_safety_places

    pooled = gpd.GeoDataFrame(
        {"place_label": ["Path beside Willow House"], "rating": ["red"], "ratings": [6]},
        geometry=[Point(1.29012, 52.63034)], crs="EPSG:4326")
    shared = shared_safety_places(pooled)
    assert shared.loc[0, "place_label"] == "Place rated by young people"
    moved = gpd.GeoSeries([shared.geometry.iloc[0], pooled.geometry.iloc[0]],
                          crs=4326).to_crs(27700)
    d = moved.iloc[0].distance(moved.iloc[1])
    assert 0 < d <= 250 * 2**0.5 / 2 + 1  # within its 250 m square, not the exact point
    assert pooled.loc[0, "place_label"] == "Path beside Willow House"  # input unchanged
