"""The ``model`` and ``auto`` expectations in a synthetic town, through ``rank_places``."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, rank_places

X0, Y0, SIDE = 620_000.0, 300_000.0, 6000.0
MONTHS = ["2019-01", "2019-02", "2019-03", "2019-04"]


def _town(seed: int = 21):
    """Bars raise the risk 4x within 200 m; one community hall has a planted 3x excess."""
    rng = np.random.default_rng(seed)
    bars = np.column_stack([rng.uniform(X0 + 600, X0 + SIDE - 600, 25),
                            rng.uniform(Y0 + 600, Y0 + SIDE - 600, 25)])
    # background: uniform; near bars: extra incidents so that cells near a bar have ~4x
    n_back = 6000
    bx, by = rng.uniform(X0, X0 + SIDE, n_back), rng.uniform(Y0, Y0 + SIDE, n_back)
    per_bar = int(n_back / (SIDE * SIDE) * np.pi * 200**2 * 3)
    angles = [rng.uniform(0, 2 * np.pi, per_bar) for _ in bars]
    radii = [200 * np.sqrt(rng.uniform(0, 1, per_bar)) for _ in bars]
    nx = np.concatenate([b[0] + r * np.cos(a) for b, r, a in zip(bars, radii, angles,
                                                                   strict=True)])
    ny = np.concatenate([b[1] + r * np.sin(a) for b, r, a in zip(bars, radii, angles,
                                                                   strict=True)])
    # the hall: the point of a regular lattice farthest from every bar
    lattice = [(X0 + SIDE * fx, Y0 + SIDE * fy) for fx in np.linspace(0.15, 0.85, 8)
               for fy in np.linspace(0.15, 0.85, 8)]
    hall = np.asarray(max(lattice, key=lambda p: np.min(np.hypot(bars[:, 0] - p[0],
                                                                  bars[:, 1] - p[1]))))
    base_here = n_back / (SIDE * SIDE) * np.pi * 400**2
    n_plant = int(2 * base_here)  # 3x its surroundings in total
    pr = 400 * np.sqrt(rng.uniform(0, 1, n_plant))
    pa = rng.uniform(0, 2 * np.pi, n_plant)
    x = np.concatenate([bx, nx, hall[0] + pr * np.cos(pa)])
    y = np.concatenate([by, ny, hall[1] + pr * np.sin(pa)])
    month = rng.choice(MONTHS, len(x))
    incidents = gpd.GeoDataFrame({"id": np.arange(len(x)).astype(str), "month": month,
                                  "category": "Drugs"}, geometry=shapely.points(x, y),
                                 crs="EPSG:27700")
    features = gpd.GeoDataFrame({"group": ["bar"] * len(bars)},
                                geometry=shapely.points(bars[:, 0], bars[:, 1]),
                                crs="EPSG:27700")
    places = gpd.GeoDataFrame(
        {"id": [f"bar-{k}" for k in range(len(bars))] + ["hall"],
         "name": [f"Bar {k}" for k in range(len(bars))] + ["Hall"],
         "layer": "youth_centres", "category": "x"},
        geometry=shapely.points(np.append(bars[:, 0], hall[0]), np.append(bars[:, 1], hall[1])),
        crs="EPSG:27700")
    area = StudyArea(shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE), "EPSG:27700", name="Town")
    return incidents, features, places, area


@pytest.fixture(scope="module")
def town():
    return _town()


def _rank(town, baseline: str) -> pd.DataFrame:
    incidents, features, places, area = town
    params = ConcernParams(radius_m=400.0, categories=None, baseline=baseline, min_incidents=0)
    return rank_places(places, incidents, area, params, layers={"features": features})


def test_model_explains_the_bars_and_flags_the_planted_hall(town):
    ranked = _rank(town, "model").set_index("place_id")
    meta = ranked.attrs["ctxmap"]
    assert meta["baseline"] == "model"
    assert "risk-terrain model" in meta["baseline_text"]
    bars = ranked.drop(index="hall")
    # the bars' excess is the covariate's: the model expects it, so none is flagged
    assert not bars["flagged"].any()
    assert bars["rate_ratio"].median() == pytest.approx(1.0, abs=0.25)
    hall = ranked.loc["hall"]
    assert bool(hall["flagged"])
    assert hall["rate_ratio"] == pytest.approx(3.0, rel=0.3)
    assert "The risk-terrain model of its surroundings (within" in hall["reason"]
    # against the study-area average the bars have ~1.75 times their share (4x within 200 m
    # of a 400 m circle): the excess the model explains
    flat = _rank(town, "study-area").set_index("place_id")
    assert flat.drop(index="hall")["rate_ratio"].median() > 1.4


def test_auto_picks_the_method_that_predicted_the_last_months_and_says_so(town):
    ranked = _rank(town, "auto")
    meta = ranked.attrs["ctxmap"]
    assert meta["baseline"] in ("model", "local")
    because = meta["baseline_chosen_because"]
    assert "Mar 2019 to Apr 2019" in because
    name = "risk-terrain model" if meta["baseline"] == "model" else "local baseline"
    assert because.startswith(f"{name}: of the methods tried, it captured most")


def test_model_not_used_says_why_in_every_reason():
    incidents, features, places, area = _town()
    one = incidents.iloc[:3].copy()  # none inside the study area: nothing to fit
    one["geometry"] = shapely.points(np.full(3, X0 + 50_000.0), np.full(3, Y0))
    params = ConcernParams(radius_m=400.0, categories=None, baseline="model", min_incidents=0)
    ranked = rank_places(places, one, area, params, layers={"features": features})
    assert not ranked["flagged"].any()
    assert ranked["expected"].isna().all()
    assert all("there is no baseline: model not used: no incidents in the study area" in r
               for r in ranked["reason"])
