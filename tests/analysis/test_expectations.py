"""Expectations: the ring baseline by brute force, a synthetic town, and the plumbing."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from ctxmap.analysis import expectations
from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.errors import InputError

X0, Y0, SIDE = 620000.0, 300000.0, 8000.0
AREA = StudyArea(box(X0, Y0, X0 + SIDE, Y0 + SIDE), "EPSG:27700", name="Testtown")


def incidents_at(xy: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [str(k) for k in range(len(xy))], "month": "2019-01", "category": "Drugs"},
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs="EPSG:27700")


def places_at(xy: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"p{k}" for k in range(len(xy))], "name": "", "layer": "safe_places",
         "category": "x"},
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs="EPSG:27700")


def test_ring_baseline_matches_brute_force():
    rng = np.random.default_rng(2)
    xy = rng.uniform(-500, SIDE + 500, (4000, 2)).round(1)
    inc = incidents_at(xy)
    # inside, near an edge, in a corner and outside the study area
    pxy = np.array([[4000, 4000], [300, 4000], [100, 100], [2000, 7900], [8600, 4000]])
    params = ConcernParams(categories=("Drugs",), baseline="local", ring_outer_m=1200)
    out = rank_places(places_at(pxy), inc, AREA, params).sort_index()
    pts = inc.geometry.to_numpy()
    inside = shapely.intersects(AREA.geometry, pts)
    for k, (x, y) in enumerate(pxy):
        place = Point(X0 + x, Y0 + y)
        d = shapely.distance(pts, place)
        ring_count = int(((d > 400) & (d <= 1200) & inside).sum())
        circle = place.buffer(400, quad_segs=256).intersection(AREA.geometry).area
        outer = place.buffer(1200, quad_segs=256).intersection(AREA.geometry).area
        assert out.loc[k, "incidents"] == int(((d <= 400) & inside).sum())  # in the area
        if ring_count == 0 or outer - circle <= 0:
            assert np.isnan(out.loc[k, "expected"]), k
            continue
        assert out.loc[k, "expected"] == pytest.approx(
            ring_count * circle / (outer - circle), rel=2e-3), k
    assert out["baseline"].eq("local").all()
    # the circle lies outside the study area: nothing expected, so no baseline
    assert out.loc[4, "expected"] == 0 and not out.loc[4, "flagged"]
    assert "no baseline" in out.loc[4, "reason"] and "(400–1,200 m)" in out.loc[4, "reason"]


def town(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A town centre (normal, sd 1.5 km) over a uniform background; places on a 900 m grid."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([np.array([4000.0, 4000.0]) + rng.normal(0, 1500, (12000, 2)),
                    rng.uniform(0, SIDE, (3000, 2))])
    xy = xy[(xy >= 0).all(axis=1) & (xy <= SIDE).all(axis=1)]
    grid = np.array([(x, y) for x in range(600, 8000, 900) for y in range(600, 8000, 900)],
                    dtype=float)
    planted = np.array([5550.0, 1950.0])  # >= 600 m from every grid place
    places = np.vstack([grid, planted])
    # plant 2x what the place's neighbourhood gives, uniformly in its 400 m circle
    local = ConcernParams(categories=("Drugs",), baseline="local")
    before = rank_places(places_at(places), incidents_at(xy), AREA, local).sort_index()
    extra = round(2 * before["expected"].iloc[-1])
    angle = rng.uniform(0, 2 * math.pi, extra)
    r = 400 * np.sqrt(rng.uniform(0, 1, extra))
    xy = np.vstack([xy, planted + np.column_stack([r * np.cos(angle), r * np.sin(angle)])])
    return xy, places, grid


def test_synthetic_town_neighbourhood_explains_centre_and_flags_planted_excess():
    xy, places, grid = town()
    inc, pl = incidents_at(xy), places_at(places)
    planted = len(places) - 1
    centre = np.hypot(grid[:, 0] - 4000, grid[:, 1] - 4000) < 1000
    local = rank_places(pl, inc, AREA, ConcernParams(categories=("Drugs",),
                                                     baseline="local")).sort_index()
    # the planted place is 3x its surroundings (its own + twice that), and is flagged
    row = local.loc[planted]
    assert row["rate_ratio"] == pytest.approx(3.0, rel=0.15)
    assert row["flagged"] and row["incidents"] > row["funnel_upper"]
    assert "Its neighbourhood (400–1,500 m, within Testtown) would give" in row["reason"]
    assert "Above the 99.8 % funnel limit" in row["reason"]
    assert f"estimated from {len(places)} places" in row["reason"]
    # the town centre is busy, but no busier than its own neighbourhood: nothing else flagged
    assert local["flagged"].sum() == 1
    assert (local.loc[np.flatnonzero(centre), "incidents"] > 300).all()
    # against the study-area average, the centre is what gets flagged, not the planted place
    whole = rank_places(pl, inc, AREA, ConcernParams(categories=("Drugs",),
                                                     baseline="study-area")).sort_index()
    flagged = set(np.flatnonzero(whole["flagged"].to_numpy()))
    assert flagged and flagged <= set(np.flatnonzero(centre)) and planted not in flagged
    assert "An area that size in Testtown (study area) averages" in whole.loc[0, "reason"]


def test_auto_says_why_and_model_refuses_until_registered():
    xy, places, _ = town()
    inc, pl = incidents_at(xy[:3000]), places_at(places[:10])
    out = rank_places(pl, inc, AREA, ConcernParams(categories=("Drugs",)))
    meta = out.attrs["ctxmap"]
    assert meta["baseline_asked"] == "auto" and meta["baseline"] in expectations.METHODS
    assert meta["baseline_chosen_because"].startswith("auto chose")
    saved_model, saved_auto = expectations.METHODS["model"], expectations.AUTO[0]
    try:
        def constant(inputs: expectations.ExpectationInputs) -> expectations.Expectation:
            return expectations.Expectation(
                "model", np.full(len(inputs.px), 7.0), "The test model gives", "none", "test")
        expectations.register("model", constant)
        expectations.set_auto(lambda inputs: ("model", "auto chose the test model"))
        out = rank_places(pl, inc, AREA, ConcernParams(categories=("Drugs",)))
        assert (out["expected"] == 7.0).all() and out["baseline"].eq("model").all()
        assert out.attrs["ctxmap"]["baseline_chosen_because"] == "auto chose the test model"
        assert "The test model gives 7.0" in out["reason"].iloc[0]
    finally:
        expectations.register("model", saved_model)
        expectations.set_auto(saved_auto)
    with pytest.raises(InputError, match="baseline 'nearby'; expected one of"):
        ConcernParams(baseline="nearby")
    with pytest.raises(InputError, match="ring outer radius"):
        ConcernParams(radius_m=400, ring_outer_m=300, baseline="local")
    with pytest.raises(InputError, match="funnel level"):
        ConcernParams(funnel_level=0.9)
    with pytest.raises(InputError, match="'auto' is not a method"):
        expectations.register("auto", constant)
