import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from ctxmap.errors import InputError
from ctxmap.nearby.nearest import filter_places, nearest_k, nearest_places
from ctxmap.nearby.origins import Origin

E0, N0 = 623000.0, 308500.0  # central Norwich, British National Grid
BNG = "EPSG:27700"


def layer(points, ids=None, **cols):
    ids = ids or [f"p{i}" for i in range(len(points))]
    geoms = [None if p is None else Point(E0 + p[0], N0 + p[1]) for p in points]
    return gpd.GeoDataFrame({"id": ids, **cols}, geometry=geoms, crs=BNG)


def brute(origins, places, k):
    rows = []
    for oi, og in origins.geometry.items():
        if og is None:
            continue
        cand = [(og.distance(pg), str(pid), pi) for pi, pg, pid in
                zip(places.index, places.geometry, places["id"], strict=True) if pg is not None]
        for rank, (d, pid, pi) in enumerate(sorted(cand)[:k], start=1):
            rows.append((oi, rank, pi, pid, d))
    return rows


def test_matches_brute_force_random():
    rng = np.random.default_rng(7)
    places = layer([tuple(p) for p in rng.uniform(-2000, 2000, (60, 2))])
    origins = layer([tuple(p) for p in rng.uniform(-2500, 2500, (25, 2))])
    got = nearest_k(origins, places, 4)
    want = brute(origins, places, 4)
    assert list(zip(got.origin, got["rank"], got.place, got.place_id, strict=True)) == [
        w[:4] for w in want]
    np.testing.assert_allclose(got.distance_m, [w[4] for w in want], rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=4),
       st.integers(1, 6))
def test_matches_brute_force_with_ties(place_pts, origin_pts, k):
    # Integer grid coordinates make many exact ties: broken by place id.
    places = layer([(10 * x, 10 * y) for x, y in place_pts],
                   ids=[f"id{(i * 7) % 13:02d}-{i}" for i in range(len(place_pts))])
    origins = layer([(10 * x, 10 * y) for x, y in origin_pts])
    got = nearest_k(origins, places, k)
    want = brute(origins, places, k)
    assert list(zip(got.origin, got["rank"], got.place_id, strict=True)) == [
        (w[0], w[1], w[3]) for w in want]


def test_ties_by_id_k_larger_than_n_and_zero_distance():
    places = layer([(10, 0), (-10, 0), (0, 10), None], ids=["b", "a", "c", "d"])
    origins = layer([(0, 0), (10, 0)], ids=["o1", "o2"])
    got = nearest_k(origins, places, 10)
    assert list(got[got.origin == 0].place_id) == ["a", "b", "c"]  # d has no location
    first = got[got.origin == 1].iloc[0]
    assert first.place_id == "b" and first.distance_m == 0.0
    assert len(got[got.origin == 1]) == 3


def test_unlocated_origin_gets_no_rows_and_index_labels_kept():
    places = layer([(0, 0), (50, 0)])
    places.index = [100, 200]
    origins = layer([None, (40, 0)])
    origins.index = ["x", "y"]
    got = nearest_k(origins, places, 1)
    assert list(got.origin) == ["y"] and list(got.place) == [200]


def test_inputs_not_modified_and_crs_checked():
    places = layer([(0, 0), (5, 5)])
    origins = layer([(1, 1)])
    before = places.copy()
    nearest_k(origins, places, 1)
    pd.testing.assert_frame_equal(places, before)
    with pytest.raises(InputError, match="same CRS"):
        nearest_k(origins.to_crs("EPSG:4326"), places, 1)
    with pytest.raises(InputError, match="k must"):
        nearest_k(origins, places, 0)


def test_lonlat_inputs_measured_in_metres():
    places = layer([(300, 400)]).to_crs("EPSG:4326")
    origins = layer([(0, 0)]).to_crs("EPSG:4326")
    assert nearest_k(origins, places, 1).distance_m.iloc[0] == pytest.approx(500, abs=0.01)


def _places():
    return layer(
        [(100, 0), (0, 300), (-600, 0), (0, -2000), None],
        ids=["lib", "pol", "pha", "far", "nowhere"],
        name=["Library", "Police", "Chemist", "Far one", "Lost"],
        category=["library", "Police", "pharmacy", "library", "library"],
        opening_hours=["Mo-Sa 09:00-17:00", "24/7", '"Part time"', None, "24/7"],
        layer=["safe_places", "safe_places", "safe_places", "youth_centres", "safe_places"],
    ).to_crs("EPSG:4326")


def _origin():
    o = gpd.GeoSeries([Point(E0, N0)], crs=BNG).to_crs("EPSG:4326").iloc[0]
    return Origin(lon=o.x, lat=o.y, label="here")


def test_nearest_places_estimate():
    when = dt.datetime(2019, 1, 12, 21, 0)  # Saturday evening
    res = nearest_places(_origin(), _places(), k=3, when=when)
    assert list(res.place_id) == ["lib", "pol", "pha"]
    np.testing.assert_allclose(res.straight_m, [100, 300, 600], atol=0.01)
    assert res.walk_m.isna().all()
    np.testing.assert_allclose(res.walk_min, res.straight_m * 1.3 / 80.0)
    assert set(res.walk_basis) == {"estimate: straight line x1.3 at 4.8 km/h"}
    assert list(res.open) == ["closed", "open", "unknown"]
    assert res.crs == "EPSG:4326" and res.geometry.iloc[0].geom_type == "LineString"
    start = res.geometry.iloc[0].coords[0]
    assert start == pytest.approx((_origin().lon, _origin().lat))
    assert res.attrs["unlocated_places"] == 1
    assert list(res.index) == [0, 1, 2]  # the places' index


def test_open_only_and_speed():
    when = dt.datetime(2019, 1, 12, 12, 0)
    res = nearest_places(_origin(), _places(), k=5, when=when, open_only=True, speed_kmh=6.0,
                         detour=1.0)
    assert list(res.place_id) == ["lib", "pol"]  # unknown hours never count as open
    np.testing.assert_allclose(res.walk_min, res.straight_m / 100.0)
    assert set(res.walk_basis) == {"estimate: straight line x1 at 6 km/h"}


def test_filter_places():
    p = _places()
    assert list(filter_places(p, categories=["police", "LIBRARY"]).id) == [
        "lib", "pol", "far", "nowhere"]
    assert list(filter_places(p, layers=["youth_centres"]).id) == ["far"]
    with pytest.raises(InputError, match="no 'layer' column"):
        filter_places(p.drop(columns="layer"), layers=["safe_places"])
