"""Review a context's plan: incidents before and after the plan started, against the area.

police.uk publishes months only, so the comparison is by whole months: the plan's start
month and the ``w`` months after it (*after*) against the ``w`` months before it
(*before*), with ``w`` the longest window the data allows on both sides (or as asked).

The same change is measured for the rest of the study area (inside the study area,
outside the context), so that a city-wide fall is not taken for the plan's effect. The
statistic is the **ratio of rate ratios**

    RRR = (context after / context before) / (rest after / rest before)

with an exact **conditional binomial test**: given the context's total over both
windows ``n``, if the context changed like the rest of the area its *after* count would
be Binomial(``n``, ``p0``) with ``p0 = rest after / (rest before + rest after)``. The
95% interval is the Clopper–Pearson interval of that proportion, turned into an RRR
(treating the much larger rest-of-area counts as fixed).

What this can and cannot show: with a handful of incidents the interval is wide and
"no significant change" is the expected result even when a plan works; reported
incidents measure reporting as well as harm (a plan that builds trust can *raise*
reports); and a before/after comparison cannot show that the plan caused a change
(other things changed too). It is a prompt for the review discussion, not a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.periods import month_from_index, month_index
from ctxmap.analysis.statistics import binomial_test
from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs, require_display_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, STORAGE_CRS

CAVEATS: Final[tuple[str, ...]] = (
    "Few incidents give wide intervals: 'no clear change' is common even when a plan helps.",
    "Reported incidents measure reporting as well as harm; more trust can mean more reports.",
    "A before/after comparison cannot show that the plan caused a change.",
    "Incidents with no location cannot be placed in or out of the context and are left out.",
)


@dataclass(frozen=True)
class BeforeAfter:
    """Incidents before and after a plan started, in the context and the rest of the area.

    Attributes
    ----------
    plan_start_month
        First month of the *after* window (the month the plan started).
    months_before, months_after
        The months of each window (equal lengths).
    context_before, context_after, rest_before, rest_after
        Located incident counts.
    ratio_of_ratios, ci_low, ci_high, p_value
        The statistic, its 95% interval and the two-sided exact p-value (NaN when
        undefined, e.g. no incidents).
    monthly
        One row per month of both windows: ``month, window, context, rest,
        expected_context`` (what the context would have had if it followed the rest of
        the area's monthly pattern, scaled to its *before* total).
    unlocated
        Incidents of the windows and categories with no location (left out).
    statement
        One plain-English paragraph saying what was found.
    """

    plan_start_month: str
    months_before: tuple[str, ...]
    months_after: tuple[str, ...]
    context_before: int
    context_after: int
    rest_before: int
    rest_after: int
    ratio_of_ratios: float
    ci_low: float
    ci_high: float
    p_value: float
    monthly: pd.DataFrame
    unlocated: int
    categories: tuple[str, ...]
    statement: str


def _odds(p: float) -> float:
    return p / (1 - p) if p < 1 else math.inf


def ratio_of_rate_ratios(cb: int, ca: int, rb: int, ra: int) -> tuple[float, float, float, float]:
    """Return ``(rrr, ci_low, ci_high, p_value)`` for counts before/after in context and rest.

    Exact conditional binomial test and Clopper–Pearson 95% interval (see the module
    docstring). NaN where undefined (no context incidents, or a rest window empty).
    """
    for v, name in ((cb, "context before"), (ca, "context after"), (rb, "rest before"),
                    (ra, "rest after")):
        if int(v) != v or v < 0:
            raise InputError(f"{name} count {v!r}; expected a whole number >= 0")
    n = cb + ca
    nan = float("nan")
    if n == 0 or rb == 0 or ra == 0:
        return nan, nan, nan, nan
    p0 = ra / (rb + ra)
    base = _odds(p0)
    rrr = (ca / cb) / (ra / rb) if cb > 0 else math.inf
    p_value, low, high = binomial_test(int(ca), int(n), p0)
    return rrr, _odds(low) / base, _odds(high) / base, p_value


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞"
    return f"{x:.2f}"


def _statement(r: BeforeAfter | dict[str, object]) -> str:
    g = r.__dict__ if isinstance(r, BeforeAfter) else r
    w = len(g["months_before"])  # type: ignore[arg-type]
    head = (f"In the {w} month(s) before the plan started the context had "
            f"{g['context_before']} incident(s); in the {w} month(s) from the start it had "
            f"{g['context_after']}. Over the same months the rest of the study area went from "
            f"{g['rest_before']} to {g['rest_after']}. ")
    rrr = float(g["ratio_of_ratios"])  # type: ignore[arg-type]
    if math.isnan(rrr):
        return head + ("There are too few incidents to compare (none in the context in either "
                       "window, or none in the rest of the area).")
    p = float(g["p_value"])  # type: ignore[arg-type]
    change = "fell more" if rrr < 1 else "rose more" if rrr > 1 else "changed as much"
    sure = ("This difference is larger than chance alone would easily give"
            if p < 0.05 else "This difference could easily be chance")
    return head + (
        f"Relative to the area, the context's count {change} (ratio of rate ratios "
        f"{_fmt(rrr)}, 95% interval {_fmt(float(g['ci_low']))} to "  # type: ignore[arg-type]
        f"{_fmt(float(g['ci_high']))}, exact p = {p:.3f}). {sure}; "  # type: ignore[arg-type]
        "it does not show that the plan caused it.")


def before_after(
    incidents: gpd.GeoDataFrame,
    area: BaseGeometry,
    study_area: BaseGeometry,
    plan_start: str,
    *,
    window_months: int | None = None,
    categories: tuple[str, ...] | list[str] | None = EXPLOITATION_CATEGORIES,
) -> BeforeAfter:
    """Compare incidents before and after ``plan_start`` in ``area`` and the rest of the area.

    Parameters
    ----------
    incidents
        Incidents in EPSG:4326 (``month``, ``category``; null geometries are counted as
        ``unlocated`` and left out).
    area
        The context's area in EPSG:4326 (e.g. :func:`ctxmap.cases.records.context_area`).
    study_area
        The study area in EPSG:4326; *rest* is the study area outside ``area``.
    plan_start
        ``YYYY-MM-DD`` or ``YYYY-MM``; its month is the first *after* month.
    window_months
        Months per window; default the most the data allows on both sides.
    categories
        Categories to count (``None``: all).

    Raises
    ------
    InputError
        If the CRS is not EPSG:4326, the start is not a date, or the data has no
        month before or no month from the start.
    """
    require_display_crs(incidents, "the incidents layer")
    start = str(plan_start)[:7]
    s_idx = month_index(start)
    months = sorted(incidents["month"].dropna().astype(str).unique())
    if not months:
        raise InputError("no incidents with a month; expected police.uk data")
    first, last = month_index(months[0]), month_index(months[-1])
    avail_before, avail_after = s_idx - first, last - s_idx + 1
    w = min(avail_before, avail_after) if window_months is None else int(window_months)
    if w < 1 or w > avail_before or w > avail_after:
        raise InputError(
            f"cannot compare {w} month(s) either side of {start}: the data covers "
            f"{months[0]} to {months[-1]} ({max(avail_before, 0)} month(s) before, "
            f"{max(avail_after, 0)} from the start); expected at least one month each side")
    before = tuple(month_from_index(i) for i in range(s_idx - w, s_idx))
    after = tuple(month_from_index(i) for i in range(s_idx, s_idx + w))
    cats = tuple(categories) if categories is not None else tuple(
        sorted(incidents["category"].dropna().astype(str).unique()))
    sel = incidents[incidents["month"].astype(str).isin(before + after)
                    & incidents["category"].astype(str).isin(cats)]
    located = located_mask(sel)
    unlocated = int((~located).sum())
    sel = sel[located]
    crs = analysis_crs(sel) if len(sel) else analysis_crs(
        gpd.GeoDataFrame(geometry=[area], crs=STORAGE_CRS))
    area_m = gpd.GeoSeries([area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    sa_m = gpd.GeoSeries([study_area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    pts = sel.geometry.to_crs(crs)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    in_ctx = shapely.intersects_xy(area_m, x, y) if len(x) else np.zeros(0, bool)
    in_sa = shapely.intersects_xy(sa_m, x, y) if len(x) else np.zeros(0, bool)
    in_rest = in_sa & ~in_ctx
    month = sel["month"].astype(str).to_numpy()
    all_months = list(before + after)
    ctx_m = pd.Series(month[in_ctx]).value_counts().reindex(all_months, fill_value=0)
    rest_m = pd.Series(month[in_rest]).value_counts().reindex(all_months, fill_value=0)
    cb, ca = int(ctx_m[list(before)].sum()), int(ctx_m[list(after)].sum())
    rb, ra = int(rest_m[list(before)].sum()), int(rest_m[list(after)].sum())
    rrr, lo, hi, p = ratio_of_rate_ratios(cb, ca, rb, ra)
    scale = cb / rb if rb > 0 else float("nan")
    monthly = pd.DataFrame({
        "month": all_months,
        "window": ["before"] * w + ["after"] * w,
        "context": ctx_m.to_numpy(dtype=np.int64),
        "rest": rest_m.to_numpy(dtype=np.int64),
        "expected_context": rest_m.to_numpy(dtype=float) * scale,
    })
    fields = dict(plan_start_month=start, months_before=before, months_after=after,
                  context_before=cb, context_after=ca, rest_before=rb, rest_after=ra,
                  ratio_of_ratios=rrr, ci_low=lo, ci_high=hi, p_value=p)
    return BeforeAfter(**fields, monthly=monthly, unlocated=unlocated,  # type: ignore[arg-type]
                       categories=cats, statement=_statement(fields))
