import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from ctxmap.errors import InputError
from ctxmap.nearby.coverage import coverage_area, home_coverage
from ctxmap.nearby.network import WalkNetwork

E0, N0 = 623000.0, 308500.0
BNG = "EPSG:27700"
SAT_NOON = dt.datetime(2019, 1, 12, 12, 0)


def layer(points, ids, **cols):
    geoms = [None if p is None else Point(E0 + p[0], N0 + p[1]) for p in points]
    return gpd.GeoDataFrame({"id": ids, "name": [f"N-{i}" for i in ids], **cols},
                            geometry=geoms, crs=BNG)


@pytest.fixture
def layers():
    homes = layer([(0, 0), (3000, 0), None], ["h1", "h2", "h3"])
    safe = layer([(400, 0), (0, 900), (3000, 200)], ["s-near", "s-mid", "s-far"],
                 opening_hours=["Mo-Fr 09:00-17:00", "24/7", '"Part time"'])
    youth = layer([(0, -1500)], ["y1"], opening_hours=[None])
    return homes, safe, youth


def test_estimate_matches_brute_force(layers):
    homes, safe, youth = layers
    out = home_coverage(homes, safe, youth, minutes=15)
    assert list(out.index) == [0, 1, 2]
    # Hours not checked: every safe place counts.
    for i, home in homes.geometry.items():
        if home is None:
            continue
        d = [home.distance(g) for g in safe.geometry]
        assert out.loc[i, "safe_place_id"] == safe.id.iloc[int(np.argmin(d))]
        assert out.loc[i, "safe_walk_min"] == pytest.approx(min(d) * 1.3 / 80.0)
        assert out.loc[i, "youth_walk_min"] == pytest.approx(
            home.distance(youth.geometry.iloc[0]) * 1.3 / 80.0)
    assert list(out.gap[:2]) == [False, False]
    assert out.loc[0, "youth_gap"] == bool(1500 * 1.3 / 80 > 15)
    assert out.gap.isna().iloc[2] and np.isnan(out.loc[2, "safe_walk_min"])
    assert set(out.basis) == {"estimate: straight line x1.3 at 4.8 km/h"}


def test_open_at_filters_safe_places_only(layers):
    homes, safe, youth = layers
    out = home_coverage(homes, safe, youth, minutes=15, when=SAT_NOON)
    # Saturday: s-near is closed, s-far's hours are unknown: neither counts.
    assert out.loc[0, "safe_place_id"] == "s-mid"
    assert out.loc[1, "safe_place_id"] == "s-mid"
    assert out.loc[1, "safe_walk_min"] == pytest.approx(math.hypot(3000, 900) * 1.3 / 80)
    assert list(out.gap[:2]) == [False, True]
    assert out.loc[0, "youth_centre_id"] == "y1"  # youth centres are not filtered by hours
    assert out.open_at.iloc[0] == "2019-01-12 12:00"


def test_threshold_adjustable(layers):
    homes, safe, youth = layers
    tight = home_coverage(homes, safe, youth, minutes=6)  # 400 m x1.3 / 80 = 6.5 min
    assert tight.gap.iloc[0]
    with pytest.raises(InputError, match="minutes"):
        home_coverage(homes, safe, youth, minutes=0)


def test_inputs_unchanged_and_crs_checked(layers):
    homes, safe, youth = layers
    before = safe.copy()
    home_coverage(homes, safe, youth, when=SAT_NOON)
    assert safe.equals(before)
    with pytest.raises(InputError, match="share one CRS"):
        home_coverage(homes, safe.to_crs("EPSG:4326"), youth)


def test_with_network_grid():
    # Synthetic 3 x 3 street grid, 500 m blocks, in BNG around the fixture origin.
    n, step = 3, 500.0
    xs, ys = np.meshgrid(np.arange(n) * step + E0, np.arange(n) * step + N0)
    u = np.array([0, 1, 3, 4, 6, 7, 0, 1, 2, 3, 4, 5])
    v = np.array([1, 2, 4, 5, 7, 8, 3, 4, 5, 6, 7, 8])
    x, y = xs.ravel(), ys.ravel()
    net = WalkNetwork(BNG, x, y, np.arange(9), u, v, np.hypot(x[u] - x[v], y[u] - y[v]))
    homes = layer([(0, 0)], ["h"])
    safe = layer([(1000, 1000), (1000, 0)], ["diag", "side"], opening_hours=["24/7", "24/7"])
    youth = layer([(500, 500)], ["y"])
    out = home_coverage(homes, safe, youth, minutes=15, network=net)
    assert out.safe_place_id.iloc[0] == "side"
    assert out.safe_walk_min.iloc[0] == pytest.approx(1000 / 80)
    assert out.youth_walk_min.iloc[0] == pytest.approx(1000 / 80)  # around the block
    assert out.basis.iloc[0] == "network" and not out.gap.iloc[0]
    area = coverage_area(safe, minutes=5, network=net, buffer_m=10)  # 400 m
    assert area.crs == "EPSG:4326" and area.basis.iloc[0] == "network"
    geom = area.to_crs(BNG).geometry.iloc[0]
    assert geom.contains(Point(E0 + 1000, N0 + 390))  # up the street from 'side'
    assert not geom.contains(Point(E0 + 500, N0 + 500))  # 1000 m walk away


def test_coverage_area_without_network(layers):
    _, safe, _ = layers
    area = coverage_area(safe.iloc[[1]], minutes=15)
    radius = 80 * 15 / 1.3
    geom = area.to_crs(BNG).geometry.iloc[0]
    assert geom.area == pytest.approx(math.pi * radius**2, rel=0.01)
    assert area.places.iloc[0] == 1 and area.basis.iloc[0].startswith("estimate")
    none_open = coverage_area(safe, minutes=15, when=dt.datetime(2019, 1, 13, 3))
    assert none_open.places.iloc[0] == 1  # only the 24/7 one
    closed = coverage_area(safe.iloc[[0, 2]], when=SAT_NOON)
    assert closed.geometry.iloc[0].is_empty and closed.places.iloc[0] == 0
    assert isinstance(closed.geometry.iloc[0], shapely.Geometry)
