"""Run an out-of-sample evaluation from layers: split the months, fit, score, check flags.

:func:`evaluate_area` takes the incidents, the study area and the covariate layers, splits
the months into training and test periods, fits the risk-terrain model on the training
months, scores every method (:mod:`ctxmap.analysis.evaluation`) and, when places are
given, checks how many places flagged on the training months stay above their
expectation in the test months.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, rank_places_by
from ctxmap.analysis.evaluation import (
    Evaluation,
    default_split,
    evaluate_methods,
    split_periods,
)
from ctxmap.analysis.periods import Period, month_range, select_incidents
from ctxmap.analysis.risk_grid import build_grid, metric_points
from ctxmap.analysis.risk_terrain import fit_risk_terrain
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES

#: The expectations whose flags the evaluation checks on the test months.
CHECKED_BASELINES: tuple[str, ...] = ("study-area", "local", "model", "auto")


def flag_persistence(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    area: StudyArea,
    params: ConcernParams,
    train: Period,
    test: Period,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    baselines: Sequence[str] | None = None,
) -> dict[str, tuple[int, int]]:
    """How many places flagged on ``train`` have more incidents than expected on ``test``.

    For each expectation of ``baselines`` (default: ``params.baseline`` alone), both
    rankings use the same settings, each computed on its own months; the incidents are
    selected and counted once per period for every expectation
    (:func:`ctxmap.analysis.concern.rank_places_by`). Returns ``{baseline: (flagged,
    still_above)}``.
    """
    names = list(baselines) if baselines is not None else [params.baseline]
    before = rank_places_by(places, incidents, area, replace(params, months=train), names,
                            layers)
    after = rank_places_by(places, incidents, area, replace(params, months=test), names,
                           layers)
    out: dict[str, tuple[int, int]] = {}
    for name in names:
        flagged = before[name].index[before[name]["flagged"].to_numpy(dtype=bool)]
        later = after[name].loc[flagged]
        above = (later["incidents"].to_numpy(dtype=float)
                 > later["expected"].to_numpy(dtype=float))
        out[name] = (len(flagged), int(above.sum()))
    return out


@dataclass(frozen=True)
class EvaluationSettings:
    """Settings of an evaluation.

    Parameters
    ----------
    train_to, test_from
        Last training month and first test month (default: :func:`default_split`).
    categories
        Incident categories (default: the exploitation-related ones, as ``concern``).
    cell_m, radius_m, ring_m
        Grid cell, place radius and the local ring's outer radius (metres).
    """

    train_to: str | None = None
    test_from: str | None = None
    categories: tuple[str, ...] | None = EXPLOITATION_CATEGORIES
    cell_m: float = 200.0
    radius_m: float = 400.0
    ring_m: float = 1500.0


def score_area(
    incidents: gpd.GeoDataFrame,
    area: StudyArea,
    settings: EvaluationSettings | None = None,
    *,
    features: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
) -> Evaluation:
    """Score every method on this area's own months (no flag check: see :func:`evaluate_area`).

    Enough for the density layer's bandwidth (:meth:`Evaluation.best_bandwidth_choice`).
    """
    cfg = settings or EvaluationSettings()
    selected = select_incidents(incidents, None, cfg.categories)
    months = sorted(selected["month"].dropna().astype(str).unique().tolist())
    train_to, test_from = cfg.train_to, cfg.test_from
    if train_to is None or test_from is None:
        d_train, d_test = default_split(months)
        train_to, test_from = train_to or d_train, test_from or d_test
    train, test = split_periods(months, train_to, test_from)
    grid = build_grid(area, cfg.cell_m)
    train_xy = metric_points(select_incidents(selected, train), grid.metric_crs)
    test_xy = metric_points(select_incidents(selected, test), grid.metric_crs)
    model = fit_risk_terrain(grid, *train_xy, features=features, areas=areas, streets=streets,
                             months=len(month_range(*train)))
    return evaluate_methods(grid, train_xy, test_xy, (train, test), model, area.description,
                            radius_m=cfg.radius_m, ring_m=cfg.ring_m)


def check_flags(
    scored: Evaluation,
    incidents: gpd.GeoDataFrame,
    area: StudyArea,
    places: gpd.GeoDataFrame,
    settings: EvaluationSettings | None = None,
    *,
    features: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    baselines: tuple[str, ...] = CHECKED_BASELINES,
) -> Evaluation:
    """``scored`` with the flag check of each of ``baselines`` on its training and test months.

    ``scored`` is :func:`score_area`'s result for the same incidents and settings.
    """
    cfg = settings or EvaluationSettings()
    if not len(places):
        return scored
    layers = {"places": places}
    if features is not None:
        layers["features"] = features
    if areas is not None:
        layers["areas"] = areas
    selected = select_incidents(incidents, None, cfg.categories)
    params = ConcernParams(radius_m=cfg.radius_m, categories=cfg.categories,
                           ring_outer_m=cfg.ring_m)
    return replace(scored, persistence=flag_persistence(
        places, selected, area, params, scored.train, scored.test, layers, baselines))


def evaluate_area(
    incidents: gpd.GeoDataFrame,
    area: StudyArea,
    settings: EvaluationSettings | None = None,
    *,
    features: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    baselines: tuple[str, ...] = CHECKED_BASELINES,
) -> Evaluation:
    """Evaluate every method on this area's own months.

    Parameters
    ----------
    incidents
        Incidents (``month``, ``category``; null geometries are left out).
    area
        The study area.
    settings
        Periods, categories and distances (default :class:`EvaluationSettings`).
    features, areas, streets
        Covariate layers of the risk-terrain model (see :func:`fit_risk_terrain`).
    places
        Places to check flags on (optional).
    baselines
        The expectations whose flags on the training months are checked on the test
        months (default :data:`CHECKED_BASELINES`).
    """
    scored = score_area(incidents, area, settings, features=features, areas=areas,
                        streets=streets)
    if places is None:
        return scored
    return check_flags(scored, incidents, area, places, settings, features=features,
                       areas=areas, baselines=baselines)
