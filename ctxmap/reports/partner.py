"""What a partner's meeting pack shows of the map evidence and the review.

A partner's pack is a shared output: its figures go through
:mod:`ctxmap.privacy.disclosure`. They are recomputed here from the *partner's* view of
the context (:func:`ctxmap.cases.consent.filter_for_partner`), never taken from the lead
agency's figures:

- for a home, each count is the *range* of the counts within the radius of every point
  of the home's shown square (:func:`ctxmap.privacy.disclosure.square_ranges`, widened to
  multiples of 5, small ends hidden), and the places listed are those among the 5
  nearest to some point of the square, alphabetically, without distances
  (:func:`ctxmap.privacy.disclosure.nearest_anywhere`). Every figure is therefore the
  same wherever the home lies in its square, and every point of it is consistent;
- for a public context (not a home), counts are banded
  (:func:`ctxmap.privacy.disclosure.band`) and places alphabetical without distances;
- the hotspot test and the review are computed over the area around what the partner
  sees (:func:`ctxmap.privacy.disclosure.neighbourhood` of a home's square) and show
  only their conclusion in words: no count, expectation, ratio or monthly chart;
- incidents with no location are rounded to 5 (:func:`ctxmap.privacy.disclosure.protect`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.review import CAVEATS, BeforeAfter
from ctxmap.cases.evidence import ContextEvidence, context_evidence
from ctxmap.cases.records import ContextBundle
from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.privacy.disclosure import (
    band,
    check_threshold,
    nearest_anywhere,
    neighbourhood,
    protect,
    range_text,
    shown_text,
    square_ranges,
    unordered_places,
)
from ctxmap.store.marks import StoredStudyArea

#: How many nearest places count as "nearby" from each point of a home's square.
NEAREST: Final = 5


def outline_of(area: BaseGeometry | StudyArea | StoredStudyArea | None) -> BaseGeometry | None:
    """The geometry of a study area given either way (``None`` stays ``None``)."""
    return area.geometry if isinstance(area, StudyArea | StoredStudyArea) else area


def partner_area(bundle: ContextBundle) -> Any:
    """The area a partner's figures are counted over (EPSG:4326), or ``None`` without a place.

    ``bundle`` is the partner's (filtered) bundle: a home's geometry is already its
    square. A square or a point is grown by the context's radius; a drawn area is kept.
    """
    ctx = bundle.context
    geometry = ctx.geometry
    if geometry is None or geometry.is_empty:
        return None
    if bundle.location_masked or geometry.geom_type == "Point":
        return neighbourhood(geometry, ctx.radius_m)
    return geometry


def partner_evidence(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
                     lead: ContextEvidence, threshold: int,
                     study_area: StoredStudyArea | None = None) -> dict[str, Any] | None:
    """The evidence section of a partner's pack (see the module docstring).

    ``lead`` gives only the period and the incident types to count; its figures are
    not used. ``study_area`` is the store's (default: the one district outline among the
    ``areas``). ``None`` when the context has no place or there are no incidents.
    """
    area = partner_area(bundle)
    if area is None or "incidents" not in layers:
        return None
    ctx = bundle.context
    ev = context_evidence(area, layers, radius_m=ctx.radius_m, months=lead.period,
                          categories=list(lead.categories), study_area=study_area)
    radius = f"{ctx.radius_m:g} m"
    if bundle.location_masked:
        counts, total, names = _square_figures(bundle, layers, ev, threshold)
        where = f"within {radius} of the home (a range: the least and most for any point of " \
                "the square it lies in)"
    else:
        counts = list(band(ev.by_category, threshold).items())
        total = band(pd.Series([int(ev.by_category.sum())]), threshold).iloc[0]
        names = unordered_places(ev.nearest["name"])
        point = ctx.geometry is not None and ctx.geometry.geom_type == "Point"
        where = f"within {radius} of the context" if point else "within the drawn area"
    hotspot = None
    if ev.hotspot:
        hotspot = {"flag": "a location of concern" if ev.hotspot["flagged"] else "not flagged",
                   "method": "a one-sided Poisson test of the count of the area around the "
                             "context against the study-area density; counts, expectation "
                             "and ratio left out of a partner's pack"}
    unlocated = shown_text(protect(pd.Series([ev.unlocated_in_period]), threshold), threshold)
    return {
        "partner": True,
        "total": total,
        "unlocated": unlocated.iloc[0],
        "where": where,
        "period": f"{ev.period[0]} to {ev.period[1]}" if ev.period else "no data",
        "by_category": [[k, v] for k, v in counts],
        "hotspot": hotspot,
        "nearest_names": ", ".join(names) or "none",
    }


def _square_figures(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
                    ev: ContextEvidence, threshold: int,
                    ) -> tuple[list[tuple[str, str]], str, list[str]]:
    """Per-type ranges, the total's range and the nearby places, over a home's square."""
    from ctxmap.analysis.periods import filter_incidents

    square = gpd.GeoSeries([bundle.context.geometry], crs=STORAGE_CRS)
    crs = analysis_crs(gpd.GeoDataFrame(geometry=square))
    bounds = tuple(float(round(b, 2)) for b in square.to_crs(crs).total_bounds)
    chosen = filter_incidents(layers["incidents"], months=ev.period,
                              categories=list(ev.categories))
    chosen = chosen[located_mask(chosen)]
    metric = chosen.geometry.to_crs(crs)
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    cats = chosen["category"].astype(str).to_numpy()
    ranges = square_ranges(bounds, {c: xy[cats == c] for c in ev.categories},  # type: ignore[arg-type]
                           bundle.context.radius_m)
    counts = [(c, range_text(ranges.at[c, "low"], ranges.at[c, "high"], threshold))
              for c in ev.categories]
    total = range_text(ranges.at["total", "low"], ranges.at["total", "high"], threshold)
    frames = [layers[k][located_mask(layers[k])] for k in ("youth_centres", "safe_places")
              if k in layers and len(layers[k])]
    names: list[str] = []
    if frames:
        places = pd.concat(frames, ignore_index=True)
        pm = gpd.GeoSeries(places.geometry.to_numpy(), crs=STORAGE_CRS).to_crs(crs)
        near = nearest_anywhere(bounds, np.column_stack([pm.x, pm.y]), NEAREST)  # type: ignore[arg-type]
        names = unordered_places(places["name"].iloc[near])
    return counts, total, names


def partner_review(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
                   threshold: int,
                   study_area: BaseGeometry | StudyArea | StoredStudyArea | None = None,
                   ) -> dict[str, Any] | None:
    """The review section of a partner's pack, or ``None`` when there is no review.

    Counted over :func:`partner_area` against ``study_area`` (EPSG:4326: the store's;
    default: the one district outline among the ``areas``); counts protected; the
    conclusion in words.
    """
    from ctxmap.analysis.inputs import study_area as study_area_of
    from ctxmap.analysis.review import before_after

    area = partner_area(bundle)
    ctx = bundle.context
    if ctx.plan_start is None or area is None or "incidents" not in layers:
        return None
    try:
        sa = outline_of(study_area)
        if sa is None:  # not given: the one district outline among the areas
            sa = study_area_of(layers.get("areas", layers["incidents"].iloc[0:0]))[0]
        review = before_after(layers["incidents"], area, sa, ctx.plan_start)
    except InputError:
        return None
    return review_for_partner(review, threshold)


def review_for_partner(review: BeforeAfter, threshold: int) -> dict[str, Any]:
    """The template values of a review for a partner: its conclusion in words, no counts.

    ``threshold`` is checked (the floor) but no count is shown.
    """
    check_threshold(threshold)
    w = len(review.months_before)
    rrr, p = review.ratio_of_ratios, review.p_value
    if math.isnan(rrr):
        words = "There are too few incidents to compare."
    else:
        change = "fell more" if rrr < 1 else "rose more" if rrr > 1 else "changed as much"
        sure = ("larger than chance alone would easily give" if p < 0.05
                else "could easily be chance")
        words = (f"Relative to the rest of the study area, the count in the area around the "
                 f"context {change}; the difference {sure}. It does not show that the plan "
                 "caused it.")
    return {
        "partner": True,
        "window": f"{w} month(s) before the plan started and {w} from the start",
        "statement": words,
        "caveats": CAVEATS,
        "categories": ", ".join(review.categories),
    }
