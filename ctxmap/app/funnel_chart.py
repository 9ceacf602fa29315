"""The funnel plot of a ranking: observed against expected, the funnel limits, places as points.

A Vega-Lite specification (drawn with ``st.vega_lite_chart``, no extra dependency): the
99.8 % and 95 % limits of :class:`ctxmap.analysis.funnel.Funnel` as lines, the line
observed = expected, and one point per place with an expectation (flagged places in red).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from ctxmap.analysis.funnel import LEVELS, Funnel


def funnel_points(ranked: gpd.GeoDataFrame) -> pd.DataFrame:
    """The places drawn: those with an expectation, with name, counts and flag."""
    has = ranked["expected"].notna() & (ranked["expected"] > 0)
    sub = ranked.loc[has.to_numpy()]
    return pd.DataFrame({
        "place": sub["name"].replace("", "(unnamed)").to_numpy(),
        "expected": sub["expected"].round(2).to_numpy(),
        "incidents": sub["incidents"].to_numpy(),
        "upper": sub["funnel_upper"].round(1).to_numpy(),
        "status": ["Flagged" if f else "Not flagged" for f in sub["flagged"]],
    })


def funnel_lines(funnel: Funnel, e_max: float) -> pd.DataFrame:
    """The limits in long form: ``expected``, ``count``, ``line`` (e.g. ``"upper 99.8 %"``)."""
    curve = funnel.curve(e_max)
    parts = [pd.DataFrame({"expected": curve["expected"], "count": curve["expected"],
                           "line": "expected"})]
    for lv in LEVELS:
        key = f"{100 * lv:g}"
        for side in ("upper", "lower"):
            parts.append(pd.DataFrame({"expected": curve["expected"],
                                       "count": curve[f"{side}_{key}"],
                                       "line": f"{side} {key} %"}))
    return pd.concat(parts, ignore_index=True).round(3)


def funnel_spec(ranked: gpd.GeoDataFrame) -> dict[str, Any] | None:
    """The Vega-Lite spec of the ranking's funnel plot, or None when no place has an expectation."""
    meta = ranked.attrs["ctxmap"]
    points = funnel_points(ranked)
    if points.empty:
        return None
    e_max = float(points["expected"].max()) * 1.05
    lines = funnel_lines(meta["funnel"], e_max)
    x = {"field": "expected", "type": "quantitative", "title": "Expected incidents"}
    y = {"field": "count", "type": "quantitative", "title": "Incidents within the radius"}
    return {
        "height": 360,
        "layer": [
            {"data": {"values": lines.to_dict("records")},
             "mark": {"type": "line", "strokeWidth": 1.5},
             "encoding": {
                 "x": x, "y": y, "detail": {"field": "line"},
                 "color": {"field": "line", "type": "nominal", "title": "Line",
                           "scale": {"range": ["#444444", "#d95f02", "#d95f02",
                                              "#1b9e77", "#1b9e77"]}},
                 "strokeDash": {"condition": {"test": "indexof(datum.line, '95') >= 0",
                                              "value": [4, 3]}, "value": [1, 0]}}},
            {"data": {"values": points.to_dict("records")},
             "mark": {"type": "circle", "size": 55, "opacity": 0.8},
             "encoding": {
                 "x": x,
                 "y": {**y, "field": "incidents"},
                 "fill": {"field": "status", "type": "nominal", "title": "Place",
                          "scale": {"domain": ["Flagged", "Not flagged"],
                                    "range": ["#c0392b", "#4c78a8"]}},
                 "tooltip": [{"field": "place", "title": "Place"},
                             {"field": "incidents", "title": "Incidents"},
                             {"field": "expected", "title": "Expected"},
                             {"field": "upper", "title": "Upper limit"},
                             {"field": "status", "title": "Status"}]}},
        ],
        "resolve": {"scale": {"color": "independent"}},
    }
