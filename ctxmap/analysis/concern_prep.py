"""A ranking's work before its expectation: select, project, merge duplicates and count.

:func:`prepare_ranking` does what every expectation of one ranking shares (see
:func:`ctxmap.analysis.concern.rank_places`); :func:`ctxmap.analysis.concern.finish_ranking`
adds the expectation, the funnel and the reasons. One preparation serves every expectation
(:func:`ctxmap.analysis.concern.rank_places_by`): the page's popups and the evaluation's
flag check compare expectations without counting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea, as_study_area, common_crs, metric_crs_for
from ctxmap.analysis.counting import clipped_circle_km2, count_within
from ctxmap.analysis.duplicates import duplicate_groups
from ctxmap.analysis.expectations import ExpectationInputs
from ctxmap.analysis.periods import Period, data_period, select_incidents
from ctxmap.analysis.projection import metric_xy
from ctxmap.errors import InputError
from ctxmap.layers.geometry import located_mask

if TYPE_CHECKING:
    from ctxmap.analysis.concern import ConcernParams, Counter


def period_of(selected: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame,
              params: ConcernParams) -> Period:
    """The period counted: ``params.months``, else the selected (or all) incidents' months."""
    if params.months is not None:
        return (params.months[0], params.months[1])
    if len(selected):
        return data_period(selected)
    return data_period(incidents)


def place_frame(places: gpd.GeoDataFrame) -> pd.DataFrame:
    """The places' ``place_id, name, layer, category`` as strings ("" for missing)."""
    if "id" not in places.columns:
        raise InputError(
            f"the places have no 'id' column (columns: {', '.join(map(str, places.columns))}); "
            "expected the place layer columns"
        )

    def text(col: str) -> np.ndarray:
        if col not in places.columns:
            return np.full(len(places), "", dtype=object)
        return places[col].astype(object).where(places[col].notna(), "").astype(str).to_numpy()

    return pd.DataFrame(
        {"place_id": text("id"), "name": text("name"), "layer": text("layer"),
         "category": text("category")},
        index=places.index,
    )


def _merged_records(base: pd.DataFrame, rep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per representative: how many records it stands for, and the others as text."""
    n = len(base)
    records = np.bincount(rep, minlength=n)
    text = np.full(n, "", dtype=object)
    others = np.flatnonzero(rep != np.arange(n))
    for k in others:
        name = base["name"].iat[k] or "(unnamed)"
        entry = f"{name} ({base['layer'].iat[k]}, {base['place_id'].iat[k]})"
        r = rep[k]
        text[r] = f"{text[r]}; {entry}" if text[r] else entry
    return records, text


@dataclass(frozen=True)
class PreparedRanking:
    """A ranking's work before its expectation (:func:`prepare_ranking`).

    What every expectation shares: the selected incidents, the places (duplicates merged)
    and their counts within the radius, the clipped circles, and the
    :class:`~ctxmap.analysis.expectations.ExpectationInputs` (without ``layers``). One
    preparation serves a ranking with each expectation (:func:`rank_places_by`).
    """

    params: ConcernParams
    crs: Any
    study_area: StudyArea
    base: pd.DataFrame
    geoms: gpd.GeoSeries
    place_loc: np.ndarray
    records: np.ndarray
    merged_text: np.ndarray
    cats: list[str]
    counts: np.ndarray
    period: Period
    circle: np.ndarray
    inputs: ExpectationInputs
    figures: dict[str, Any]


def same_counting(a: ConcernParams, b: ConcernParams) -> bool:
    """Whether two settings count the same (radius, months, categories, ring)."""
    return (a.radius_m, a.months, a.categories, a.ring_outer_m) == (
        b.radius_m, b.months, b.categories, b.ring_outer_m)


def prepare_ranking(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    params: ConcernParams,
    counter: Counter | None = None,
) -> PreparedRanking:
    """Select, project and count once for :func:`finish_ranking` (see :func:`rank_places`).

    Depends on ``params``' radius, months, categories and ring only; the expectation and
    the flagging settings are :func:`finish_ranking`'s.
    """
    crs = common_crs(places, incidents)
    sa = as_study_area(study_area, crs)
    all_base = place_frame(places)
    selected = select_incidents(incidents, params.months, params.categories)
    period = period_of(selected, incidents, params)
    if params.months is None:
        selected = select_incidents(selected, period, None)
    cats = list(params.categories) if params.categories is not None else sorted(
        selected["category"].dropna().astype(str).unique()
    )
    inc_loc = located_mask(selected.geometry)
    all_loc = located_mask(places.geometry)
    metric = metric_crs_for(selected.geometry[inc_loc], places.geometry[all_loc])
    all_x = np.full(len(places), np.nan)
    all_y = np.full(len(places), np.nan)
    if all_loc.any():
        all_x[all_loc], all_y[all_loc] = metric_xy(places.geometry[all_loc], metric)

    rep = duplicate_groups(all_base["place_id"].to_numpy(), all_base["name"].to_numpy(),
                           all_base["layer"].to_numpy(), all_x, all_y)
    n_records, merged_text = _merged_records(all_base, rep)
    keep = rep == np.arange(len(places))
    base = all_base.loc[keep]
    geoms = places.geometry.loc[keep]
    place_loc = all_loc[keep]
    px, py = all_x[keep][place_loc], all_y[keep][place_loc]
    n_places = int(keep.sum())

    area_m = gpd.GeoSeries([sa.geometry], crs=crs).to_crs(metric).iloc[0]
    area_km2 = float(area_m.area) / 1e6
    shapely.prepare(area_m)
    # only incidents in the study area count, around places as in the baseline: a circle's
    # expectation covers only its part inside the study area, so must its count
    selected, inc_loc, ix, iy, n_outside = _in_study_area(selected, inc_loc, metric, area_m)
    codes = pd.Categorical(
        selected["category"].astype(str).to_numpy()[inc_loc], categories=cats
    ).codes.astype(np.int64)
    if counter is None:
        counts_loc = count_within(px, py, ix, iy, codes, len(cats), params.radius_m)
    else:
        counts_loc = np.asarray(
            counter(px, py, metric, cats, period, float(params.radius_m), area_m), dtype=np.int64
        ).reshape(len(px), len(cats))
    counts = np.zeros((n_places, len(cats)), dtype=np.int64)
    counts[place_loc] = counts_loc
    total = counts.sum(axis=1)

    in_area = np.ones(len(ix), dtype=bool)
    n_in_area = len(ix)
    circle = np.full(n_places, np.nan)
    circle[place_loc] = clipped_circle_km2(px, py, params.radius_m, area_m)
    inputs = ExpectationInputs(
        px=px, py=py, observed=total[place_loc], ix=ix, iy=iy, in_area=in_area, area=area_m,
        area_name=sa.name, area_km2=area_km2, circle_km2=circle[place_loc],
        radius_m=float(params.radius_m), ring_outer_m=float(params.ring_outer_m),
        period=period, metric_crs=metric, incidents=selected, layers={})
    figures = {
        "study_area_km2": area_km2,
        "density_per_km2": n_in_area / area_km2 if area_km2 > 0 else float("nan"),
        "incidents_selected": len(selected) + n_outside, "incidents_used": n_in_area,
        "incidents_in_study_area": n_in_area, "incidents_outside": n_outside,
        "incidents_unlocated": len(selected) - int(inc_loc.sum()), "metric_crs": metric,
        "records": len(places), "duplicates_merged": len(places) - n_places,
        "places": n_places, "places_unlocated": int((~place_loc).sum())}
    return PreparedRanking(params, crs, sa, base, geoms, place_loc, n_records[keep],
                           merged_text[keep], cats, counts, period, circle, inputs, figures)


def _in_study_area(
    selected: gpd.GeoDataFrame, located: np.ndarray, metric: str, area_m: BaseGeometry,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, np.ndarray, int]:
    """Leave out the located incidents outside the study area (``area_m``, in ``metric``).

    Returns the kept rows (those inside, and those with no location, which are counted
    apart), their located mask, the metric x/y of the located ones and how many were left
    out. A point on the outline is inside (``intersects``).
    """
    ix, iy = metric_xy(selected.geometry[located], metric)
    inside = shapely.intersects_xy(area_m, ix, iy) if len(ix) else np.zeros(0, dtype=bool)
    n_outside = int(len(ix) - inside.sum())
    if not n_outside:
        return selected, located, ix, iy, 0
    keep = ~located
    keep[located] = inside
    return selected[keep], located[keep], ix[inside], iy[inside], n_outside
