"""The risk-terrain map layer and the expectations in a ranked place's popup."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.risk_grid import build_grid
from ctxmap.analysis.risk_terrain import fit_risk_terrain
from ctxmap.maps.popups import ranked_place_popup_html
from ctxmap.maps.risk_layer import risk_terrain_group

X0, Y0 = 620_000.0, 300_000.0


def _model():
    rng = np.random.default_rng(8)
    grid = build_grid(StudyArea(shapely.box(X0, Y0, X0 + 3000, Y0 + 3000), "EPSG:27700"), 200.0)
    fx, fy = rng.uniform(X0, X0 + 3000, 12), rng.uniform(Y0, Y0 + 3000, 12)
    feats = gpd.GeoDataFrame({"group": ["bar"] * 12}, geometry=shapely.points(fx, fy),
                             crs="EPSG:27700")
    # incidents crowd around the bars: many points near each, a few elsewhere
    ix = np.concatenate([np.repeat(fx, 40) + rng.normal(0, 80, 480),
                         rng.uniform(X0, X0 + 3000, 200)])
    iy = np.concatenate([np.repeat(fy, 40) + rng.normal(0, 80, 480),
                         rng.uniform(Y0, Y0 + 3000, 200)])
    return fit_risk_terrain(grid, ix, iy, feats, months=3)


def test_risk_layer_draws_the_cells_above_average_by_class():
    model = _model()
    assert model.usable, model.reason
    cells = model.cells_frame()
    rr = cells["relative_risk"].to_numpy()
    # relative risk recomputed: intensity over the area-weighted mean intensity
    mean = (model.intensity_km2 * model.grid.area_km2).sum() / model.grid.area_km2.sum()
    assert np.allclose(rr, model.intensity_km2 / mean)
    layer = risk_terrain_group(cells, model.factor_table(), notes=["<b>note</b>"])
    expected_classes = {k for k, low in enumerate((1.0, 2.0, 4.0, 8.0))
                        if ((rr >= low) & (rr < ((2.0, 4.0, 8.0, np.inf)[k]))).any()}
    assert layer.features == len(expected_classes)
    html = layer.legend_html
    assert "Risk terrain (relative risk)" in html
    assert "within 200 m of bar" in html or "within 400 m of bar" in html
    assert "<b>note</b>" not in html and "&lt;b&gt;note" in html


def test_popup_shows_the_expectations_side_by_side_and_escapes():
    rec = {"name": "<i>Hall</i>", "layer": "youth_centres", "rank": 3, "incidents": 12,
           "expected": 4.0, "rate_ratio": 3.0, "reason": "r",
           "expected_study_area": 2.04, "expected_local": 6.5, "expected_model": np.nan}
    html = ranked_place_popup_html(rec)
    assert "Expected by: study-area 2.0 · local 6.5" in html
    assert "model" not in html.split("Expected by:")[1].split("<br>")[0]
    assert "&lt;i&gt;Hall" in html
    plain = ranked_place_popup_html({k: v for k, v in rec.items()
                                     if not k.startswith("expected_")})
    assert "Expected by" not in plain
    assert pd.isna(rec["expected_model"])
