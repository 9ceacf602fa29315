"""The risk-terrain model: grid, factor recovery, calibration, expectation over a clipped circle."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.risk_grid import (
    build_grid,
    population_candidate,
    proximity_candidates,
    street_candidate,
)
from ctxmap.analysis.risk_terrain import fit_counts, fit_risk_terrain
from ctxmap.layers.osm_groups import (
    FEATURE_GROUPS,
    group_osm_features,
    group_places,
    groups_markdown,
)
from tests.conftest import ROOT

X0, Y0 = 620_000.0, 300_000.0


def _town(seed: int = 3, side: float = 8000.0, rr: float = 2.5, n_feat: int = 60):
    """A square town: incidents per cell follow NB2 with a known RR near 'bar' features."""
    rng = np.random.default_rng(seed)
    area = StudyArea(box(X0, Y0, X0 + side, Y0 + side), "EPSG:27700")
    grid = build_grid(area, 200.0)
    fx = rng.uniform(X0, X0 + side, 2 * n_feat)
    fy = rng.uniform(Y0, Y0 + side, 2 * n_feat)
    groups = np.array(["bar"] * n_feat + ["noise"] * n_feat)
    feats = gpd.GeoDataFrame({"group": groups}, geometry=shapely.points(fx, fy), crs="EPSG:27700")
    near = next(c for c in proximity_candidates(grid, feats, (400.0,)) if c.group == "bar")
    mu = 30.0 * grid.area_km2 * np.exp(np.log(rr) * near.values)
    alpha = 0.3
    counts = rng.poisson(rng.gamma(1 / alpha, alpha * mu))
    cx, cy = grid.centres()
    cell = np.repeat(np.arange(len(grid)), counts)
    ix = cx[cell] + rng.uniform(-99, 99, len(cell))
    iy = cy[cell] + rng.uniform(-99, 99, len(cell))
    return area, grid, feats, ix, iy, counts


def test_grid_cells_are_clipped_and_points_outside_the_area_are_left_out():
    tri = Polygon([(X0, Y0), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    grid = build_grid(StudyArea(tri, "EPSG:27700"), 200.0)
    assert grid.area_km2.sum() == pytest.approx(tri.area / 1e6)
    assert len(grid) == 15  # 5 + 4 + 3 + 2 + 1 cells touch the triangle with area > 0
    # a point in a diagonal cell but outside the triangle does not count; one inside does
    counts = grid.count(np.array([X0 + 190, X0 + 110]), np.array([Y0 + 990, Y0 + 50]))
    assert counts.sum() == 1
    cell = grid.lookup[0, 0]
    assert counts[cell] == 1


def test_synthetic_town_recovers_the_relative_risk_within_10_percent():
    _, grid, feats, ix, iy, counts = _town()
    model = fit_risk_terrain(grid, ix, iy, feats, distances=(200.0, 400.0), months=3)
    assert model.usable, model.reason
    kept = {f.name: f for f in model.factors}
    assert "bar@400" in kept, model.reason
    assert kept["bar@400"].relative_risk == pytest.approx(2.5, rel=0.10)
    assert kept["bar@400"].rr_low < 2.5 < kept["bar@400"].rr_high
    assert not any(f.group == "noise" for f in model.factors)
    # counts recomputed another way: every generated incident is inside the square
    assert (model.observed == counts).all()


def test_model_is_calibrated_and_says_so():
    _, grid, feats, ix, iy, counts = _town(seed=5)
    model = fit_risk_terrain(grid, ix, iy, feats)
    assert model.calibrated and model.converged
    assert model.predicted_total == pytest.approx(counts.sum(), rel=0.10)
    assert (model.intensity_km2 * grid.area_km2).sum() == pytest.approx(model.predicted_total)
    assert "risk-terrain model" in model.reason
    assert f"of {counts.sum():,} incidents" in model.reason


def test_uncalibrated_or_failed_model_is_not_used():
    grid = build_grid(StudyArea(box(X0, Y0, X0 + 2000, Y0 + 2000), "EPSG:27700"), 200.0)
    empty = fit_counts(grid, np.zeros(len(grid)), [])
    assert not empty.usable
    assert empty.reason.startswith("model not used")


def test_expectation_over_a_clipped_circle_matches_a_fine_numerical_sum():
    _, grid, feats, ix, iy, _ = _town(seed=11, side=4000.0)
    # cut the study area so that circles are clipped by a diagonal edge
    cut = StudyArea(Polygon([(X0, Y0), (X0 + 4000, Y0), (X0 + 4000, Y0 + 4000)]), "EPSG:27700")
    grid = build_grid(cut, 200.0)
    model = fit_risk_terrain(grid, ix, iy, feats, months=2)
    places = np.array([[X0 + 2500, Y0 + 2300], [X0 + 3800, Y0 + 200], [X0 + 2000, Y0 + 1000]])
    got = model.expected_around(places[:, 0], places[:, 1], 400.0)
    step = 4.0
    for (px, py), value in zip(places, got, strict=True):
        gx, gy = np.meshgrid(np.arange(px - 400 + step / 2, px + 400, step),
                             np.arange(py - 400 + step / 2, py + 400, step))
        gx, gy = gx.ravel(), gy.ravel()
        inside = ((gx - px) ** 2 + (gy - py) ** 2 <= 400.0 ** 2) & (gy <= gx - X0 + Y0)
        inside &= (gx <= X0 + 4000) & (gy >= Y0)
        col = np.floor((gx[inside] - grid.x0) / 200).astype(int)
        row = np.floor((gy[inside] - grid.y0) / 200).astype(int)
        lam = model.intensity_km2[grid.lookup[row, col]]
        fine = lam.sum() * step * step / 1e6
        assert value == pytest.approx(fine, rel=0.01)
    # per month scaling
    assert model.expected_around(places[:, 0], places[:, 1], 400.0, months=1) == pytest.approx(
        got / 2)


def test_population_and_street_candidates():
    grid = build_grid(StudyArea(box(X0, Y0, X0 + 1000, Y0 + 1000), "EPSG:27700"), 200.0)
    areas = gpd.GeoDataFrame(
        {"id": ["a", "b"], "level": ["lsoa", "lsoa"], "population": [1000.0, 3000.0]},
        geometry=[box(X0, Y0, X0 + 400, Y0 + 1000), box(X0 + 400, Y0, X0 + 1000, Y0 + 1000)],
        crs="EPSG:27700",
    )
    cand, note = population_candidate(grid, areas)
    assert cand is not None and "2 lsoa" in note
    cx, _ = grid.centres()
    expect = np.where(cx < X0 + 400, np.log2(1 + 1000 / 0.4), np.log2(1 + 3000 / 0.6))
    assert np.allclose(cand.values, expect)
    none, why = population_candidate(grid, areas.assign(population=np.nan))
    assert none is None and "population not used" in why
    line = shapely.LineString([(X0, Y0 + 100), (X0 + 1000, Y0 + 100)])
    streets = gpd.GeoDataFrame(geometry=[line], crs="EPSG:27700")
    st = street_candidate(grid, streets)
    assert st is not None
    # 0.2 km of street in each bottom-row cell of 0.04 km²: 5 km/km², over 10
    assert np.allclose(st.values[grid.rows == 0], 0.5)
    assert np.allclose(st.values[grid.rows > 0], 0.0)


def test_osm_groups_first_match_and_docs_table():
    raw = gpd.GeoDataFrame(
        {"id": ["node/1", "node/2", "node/3", "node/4"],
         "amenity": ["pub", "fast_food", None, "bench"],
         "shop": [None, None, "convenience", None]},
        geometry=[Point(1.3, 52.6)] * 4, crs="EPSG:4326",
    )
    out = group_osm_features(raw)
    assert out["group"].tolist() == ["licensed_premises", "food_and_drink", "convenience"]
    assert out.attrs["ungrouped"] == 1
    places = gpd.GeoDataFrame({"category": ["Library", None], "layer": ["safe_places", "homes"]},
                              geometry=[Point(1.3, 52.6)] * 2, crs="EPSG:4326")
    assert group_places(places)["group"].tolist() == ["place:Library"]
    doc = (ROOT / "docs" / "osm-classification.md").read_text(encoding="utf-8")
    assert groups_markdown() in doc
    assert len(FEATURE_GROUPS) == len({g.group_id for g in FEATURE_GROUPS})
