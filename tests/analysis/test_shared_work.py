"""Work done once: one selection and count serves every expectation; fast paths equal slow ones."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from shapely.geometry import Point, box

from ctxmap.analysis import concern_prep, evaluation_run
from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import (
    ConcernParams,
    finish_ranking,
    prepare_ranking,
    rank_places,
    rank_places_by,
)
from ctxmap.analysis.periods import select_incidents, text_in
from ctxmap.analysis.projection import metric_xy, to_metric
from ctxmap.analysis.risk_grid import metric_points

BASELINES = ("study-area", "local", "model", "auto")


def _town(seed: int = 3) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, StudyArea]:
    """A 4 km square town in EPSG:27700, returned in EPSG:4326: incidents over 4 months."""
    rng = np.random.default_rng(seed)
    n = 3000
    x = np.concatenate([rng.uniform(600_000, 604_000, n // 2),
                        rng.normal(602_000, 300, n - n // 2)]).clip(600_000, 604_000)
    y = np.concatenate([rng.uniform(300_000, 304_000, n // 2),
                        rng.normal(302_000, 300, n - n // 2)]).clip(300_000, 304_000)
    months = np.array(["2019-01", "2019-02", "2019-03", "2019-04"])[rng.integers(0, 4, n)]
    cats = np.array(["Drugs", "Robbery", "Burglary"])[rng.integers(0, 3, n)]
    geoms = gpd.points_from_xy(x, y, crs=27700).to_crs(4326).to_numpy()
    geoms[::50] = None  # some have no location
    incidents = gpd.GeoDataFrame({"id": [f"i{k}" for k in range(n)], "month": months,
                                  "category": cats}, geometry=geoms, crs=4326)
    px = rng.uniform(600_500, 603_500, 40)
    py = rng.uniform(300_500, 303_500, 40)
    places = gpd.GeoDataFrame(
        {"id": [f"p{k}" for k in range(40)], "name": [f"Place {k}" for k in range(40)],
         "layer": "safe_places", "category": ["cafe", "school"] * 20},
        geometry=gpd.points_from_xy(px, py, crs=27700).to_crs(4326), crs=4326)
    outline = gpd.GeoSeries([box(600_000, 300_000, 604_000, 304_000)], crs=27700)
    area = StudyArea(outline.to_crs(4326).iloc[0], "EPSG:4326", name="Town")
    return incidents, places, area


def test_one_preparation_gives_every_expectation_the_same_ranking_as_rank_places(monkeypatch):
    incidents, places, area = _town()
    params = ConcernParams(radius_m=300.0, categories=("Drugs", "Robbery"))
    layers = {"places": places}
    calls = []
    real = concern_prep.count_within
    monkeypatch.setattr(concern_prep, "count_within",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    together = rank_places_by(places, incidents, area, params, BASELINES, layers)
    assert len(calls) == 1  # counted once for the four expectations
    for name in BASELINES:
        alone = rank_places(places, incidents, area,
                            ConcernParams(radius_m=300.0, categories=("Drugs", "Robbery"),
                                          baseline=name), layers=layers)
        assert_frame_equal(pd.DataFrame(together[name]), pd.DataFrame(alone))
        assert together[name].attrs["ctxmap"]["baseline_asked"] == name
    assert len(calls) == 1 + len(BASELINES)


def test_a_preparation_refuses_settings_that_count_differently():
    incidents, places, area = _town()
    prepared = prepare_ranking(places, incidents, area, ConcernParams(radius_m=300.0))
    finish_ranking(prepared, ConcernParams(radius_m=300.0, baseline="local", alpha=0.01))
    with pytest.raises(ValueError, match="counted with"):
        finish_ranking(prepared, ConcernParams(radius_m=400.0))


def test_flag_check_counts_once_per_period_and_matches_each_expectation_alone(monkeypatch):
    incidents, places, area = _town()
    params = ConcernParams(radius_m=300.0, categories=None)
    train, test = ("2019-01", "2019-02"), ("2019-03", "2019-04")
    layers = {"places": places}
    prepared = []
    real = evaluation_run.rank_places_by

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        prepared.append(args[3].months)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation_run, "rank_places_by", counting)
    held = evaluation_run.flag_persistence(places, incidents, area, params, train, test,
                                           layers, BASELINES)
    assert prepared == [train, test]
    for name in BASELINES:
        one = ConcernParams(radius_m=300.0, categories=None, baseline=name)
        before = rank_places(places, incidents, area,
                             ConcernParams(**{**one.__dict__, "months": train}), layers=layers)
        after = rank_places(places, incidents, area,
                            ConcernParams(**{**one.__dict__, "months": test}), layers=layers)
        flagged = before.index[before["flagged"].to_numpy(dtype=bool)]
        still = int((after.loc[flagged, "incidents"] > after.loc[flagged, "expected"]).sum())
        assert held[name] == (len(flagged), still)


def test_text_in_is_astype_str_isin_also_with_nulls_and_numbers():
    values = pd.Series(["2019-01", None, "2019-02", np.nan, "2019-01"], dtype=object)
    assert text_in(values, {"2019-01"}).tolist() == [True, False, False, False, True]
    assert text_in(values, {"2019-01"}).tolist() == values.astype(str).isin(
        {"2019-01"}).tolist()
    mixed = pd.Series([201901, "201901", None], dtype=object)
    assert text_in(mixed, {"201901"}).tolist() == mixed.astype(str).isin({"201901"}).tolist()
    assert text_in(mixed, {"None"}).tolist() == mixed.astype(str).isin({"None"}).tolist()
    incidents, _, _ = _town()
    picked = select_incidents(incidents, ("2019-02", "2019-03"), ["Drugs"])
    expected = incidents[incidents["month"].astype(str).isin({"2019-02", "2019-03"})
                         & incidents["category"].astype(str).isin({"Drugs"})]
    assert picked.index.tolist() == expected.index.tolist()


def test_projected_points_are_exactly_what_to_crs_gives():
    incidents, _, _ = _town()
    geoms = incidents.geometry
    slow = geoms.to_crs(27700)
    fast = to_metric(geoms, "EPSG:27700")
    assert fast.crs == slow.crs
    assert fast.index.equals(slow.index)
    assert fast.isna().tolist() == slow.isna().tolist()
    located = slow.notna().to_numpy()
    assert np.array_equal(fast[located].x.to_numpy(), slow[located].x.to_numpy())
    assert np.array_equal(fast[located].y.to_numpy(), slow[located].y.to_numpy())
    x, y = metric_xy(geoms[located], "EPSG:27700")
    assert np.array_equal(x, slow[located].x.to_numpy())
    assert np.array_equal(y, slow[located].y.to_numpy())
    # polygons go through to_crs (a point on their surface for metric_points)
    shapes = gpd.GeoSeries([box(1.0, 52.0, 1.01, 52.01), Point(1.0, 52.0)], crs=4326)
    mx, my = metric_points(shapes, "EPSG:27700")
    assert len(mx) == 2 and np.isfinite(mx).all() and np.isfinite(my).all()


def test_the_models_are_fitted_once_whatever_the_radius(monkeypatch):
    from ctxmap.analysis import model_expectation

    incidents, places, area = _town(seed=11)
    fits = []
    real = model_expectation.fit_risk_terrain
    monkeypatch.setattr(model_expectation, "fit_risk_terrain",
                        lambda *a, **k: fits.append(1) or real(*a, **k))
    layers = {"places": places}
    both = ("model", "auto")
    first = rank_places_by(places, incidents, area,
                           ConcernParams(radius_m=300.0, categories=None), both, layers)
    assert len(fits) == 2  # the whole period's model, and auto's on the earlier months
    other = rank_places_by(places, incidents, area,
                           ConcernParams(radius_m=500.0, categories=None), both, layers)
    assert len(fits) == 2  # neither depends on the radius
    assert first["model"].attrs["ctxmap"]["radius_m"] == 300.0
    assert other["model"].attrs["ctxmap"]["radius_m"] == 500.0
