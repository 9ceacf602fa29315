"""The ``model`` and ``auto`` expectations of :mod:`ctxmap.analysis.expectations`.

``model``
    The risk-terrain model (:mod:`ctxmap.analysis.risk_terrain`) fitted to the ranking's own
    incidents (period and categories) on a 200 m grid over the study area; a place's
    expected count is the fitted intensity summed over its circle ∩ study area. Its factors
    come from ``inputs.layers``: ``"features"`` (points with a ``group`` column, e.g. from
    :func:`ctxmap.layers.osm_groups.group_osm_features`), else ``"places"`` (grouped by
    category), and ``"areas"`` (population, when they carry one). When the fit does not
    converge or is not calibrated, no place has an expectation and every reason says why.
``auto``
    Holds out the last months of the ranking's period (two, or one with fewer than four),
    scores the local baseline and the model on them (:mod:`ctxmap.analysis.evaluation`) and
    uses the one that captured most of those months' incidents; the reason says so.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.evaluation import (
    LOCAL,
    MODEL,
    Evaluation,
    default_split,
    evaluate_methods,
)
from ctxmap.analysis.expectations import Expectation, ExpectationInputs
from ctxmap.analysis.periods import format_period, month_range
from ctxmap.analysis.risk_grid import CellGrid, build_grid
from ctxmap.analysis.risk_terrain import RiskTerrain, fit_risk_terrain
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.osm_groups import group_places

#: Grid cell of the model used for places, metres.
MODEL_CELL_M: Final = 200.0
_CACHE: OrderedDict[str, object] = OrderedDict()
_CACHE_SIZE: Final = 16


def _key(kind: str, inputs: ExpectationInputs, *extra: object) -> str:
    """A digest of what a fit depends on (incidents, area, period, settings)."""
    h = hashlib.sha256(kind.encode())
    for arr in (inputs.ix, inputs.iy):
        h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    h.update(inputs.area.wkb)
    # the model does not depend on the radius or the ring: one fit serves every radius
    distances = () if kind.endswith("model") else (inputs.radius_m, inputs.ring_outer_m)
    h.update(repr((inputs.period, inputs.metric_crs, *distances, sorted(inputs.layers),
                   *extra)).encode())
    for name in sorted(inputs.layers):
        layer = inputs.layers[name]
        h.update(name.encode())
        attrs = layer.drop(columns=layer.geometry.name).astype(str)
        h.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
        h.update(b"".join(w or b"" for w in shapely.to_wkb(layer.geometry.to_numpy())))
    return h.hexdigest()


def _remember(key: str, make: object) -> object:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = make() if callable(make) else make
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _features(inputs: ExpectationInputs) -> gpd.GeoDataFrame | None:
    if "features" in inputs.layers:
        return inputs.layers["features"]
    if "places" in inputs.layers:
        return group_places(inputs.layers["places"])
    return None


def _grid(inputs: ExpectationInputs) -> CellGrid:
    sa = StudyArea(inputs.area, inputs.metric_crs, name=inputs.area_name)
    return build_grid(sa, MODEL_CELL_M, metric_crs=inputs.metric_crs)


def _incident_months(inputs: ExpectationInputs) -> np.ndarray:
    """The month of each located incident, in the order of ``inputs.ix``."""
    located = located_mask(inputs.incidents.geometry)
    return inputs.incidents["month"].astype(str).to_numpy()[located]


def fitted_model(inputs: ExpectationInputs) -> RiskTerrain:
    """The risk-terrain model of the ranking's incidents (remembered for the same inputs)."""
    def make() -> RiskTerrain:
        return fit_risk_terrain(_grid(inputs), inputs.ix, inputs.iy, features=_features(inputs),
                                areas=inputs.layers.get("areas"),
                                months=len(month_range(*inputs.period)))
    out = _remember(_key("model", inputs), make)
    assert isinstance(out, RiskTerrain)
    return out


def model_expectation(inputs: ExpectationInputs) -> Expectation:
    """``model``: the fitted intensity over each place's circle ∩ study area."""
    model = fitted_model(inputs)
    names = ", ".join(f"{f.label} RR {f.relative_risk:.2f}" for f in model.factors)
    description = (f"risk-terrain model: {model.reason}; expected = the fitted incidents per km² "
                   f"of each {MODEL_CELL_M:g} m cell summed over the place's "
                   f"{inputs.radius_m:g} m circle clipped to {inputs.area_name}")
    if not model.usable:
        return Expectation(
            method="model",
            expected=np.full(len(inputs.px), np.nan),
            compared_with="The risk-terrain model would give",
            no_baseline=f"there is no baseline: {model.reason}",
            description=description,
            details={"model_usable": False, "model_reason": model.reason},
        )
    expected = model.expected_around(inputs.px, inputs.py, inputs.radius_m)
    factors = f" ({names})" if names else " (no factor beat the study-area average)"
    return Expectation(
        method="model",
        expected=expected,
        compared_with=f"The risk-terrain model of its surroundings{factors} would give",
        no_baseline=f"there is no baseline: its circle lies outside {inputs.area_name}",
        description=description,
        details={"model_usable": True, "model_reason": model.reason,
                 "factors": model.factor_table()},
    )


def recent_evaluation(inputs: ExpectationInputs) -> Evaluation | None:
    """Score the local baseline and the model on the last months of the ranking's period.

    None when the period has fewer than two months with incidents.
    """
    months = _incident_months(inputs)
    ordered = sorted(set(months.tolist()))
    if len(ordered) < 2:
        return None

    def make() -> Evaluation:
        train_to, test_from = default_split(ordered)
        train = (ordered[0], train_to)
        test = (test_from, ordered[-1])
        tr, te = months <= train_to, months >= test_from
        grid = _grid(inputs)

        def fit() -> RiskTerrain:
            return fit_risk_terrain(grid, inputs.ix[tr], inputs.iy[tr],
                                    features=_features(inputs), areas=inputs.layers.get("areas"),
                                    months=len(month_range(*train)))
        model = _remember(_key("training model", inputs, train_to), fit)
        assert isinstance(model, RiskTerrain)
        return evaluate_methods(grid, (inputs.ix[tr], inputs.iy[tr]),
                                (inputs.ix[te], inputs.iy[te]), (train, test), model,
                                inputs.area_name, radius_m=inputs.radius_m,
                                ring_m=inputs.ring_outer_m)
    out = _remember(_key("evaluation", inputs), make)
    assert isinstance(out, Evaluation)
    return out


def auto_choice(inputs: ExpectationInputs) -> tuple[str, str]:
    """``auto``: the expectation that predicted the period's last months best, and why."""
    ev = recent_evaluation(inputs)
    if ev is None:
        return ("local", "auto chose the local baseline: the period has fewer than two months "
                "with incidents, so no method could be checked on later months")
    best = ev.best((LOCAL, MODEL))
    if best is None:
        return ("local", f"auto chose the local baseline: no method could be scored on "
                f"{format_period(ev.test)}")
    if best.key == MODEL and not fitted_model(inputs).usable:
        return ("local", f"auto chose the local baseline: the risk-terrain model predicted "
                f"{format_period(ev.test)} best, but on the whole period the "
                f"{fitted_model(inputs).reason}")
    return ("model" if best.key == MODEL else "local", ev.auto_sentence())
