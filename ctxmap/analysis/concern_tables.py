"""The Locations of concern page's tables and sentences, built from the analyses' results.

Plain pandas and text, no streamlit. Sentences are Markdown: the text a user or the
data supplied in them is escaped with :func:`ctxmap.text.esc_markdown`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from ctxmap.analysis.areas import category_column
from ctxmap.analysis.periods import format_period, month_index, previous_period
from ctxmap.analysis.place_detail import PlaceBreakdown
from ctxmap.analysis.statistics import format_p
from ctxmap.text import esc_markdown

#: The place layers a ranking needs at least one of.
PLACE_LAYERS: Final = ("homes", "youth_centres", "safe_places")
LAYER_LABELS: Final[dict[str, str]] = {
    "homes": "Home", "youth_centres": "Youth centre", "safe_places": "Safe place",
    "contexts": "Context of concern"}
LEVEL_LABELS: Final[dict[str, str]] = {"lsoa": "LSOA", "ward": "Ward", "msoa": "MSOA"}
#: Trend columns left out when the previous period is not in the data.
CHANGE_COLUMNS: Final = ["previous", "change", "change_pct"]


def ranking_table(ranked: gpd.GeoDataFrame) -> pd.DataFrame:
    """The ranking as people read it: rank, place, counts, expectation, funnel, reason.

    Poisson p-values are labelled "without over-dispersion" and written as text
    (``"< 0.001"``, never ``1e-111``: :func:`ctxmap.analysis.statistics.format_p`).
    """
    meta = ranked.attrs["ctxmap"]
    table = pd.DataFrame({
        "Rank": ranked["rank"].to_numpy(),
        "Place": ranked["name"].replace("", "(unnamed)").to_numpy(),
        "Layer": ranked["layer"].map(LAYER_LABELS).fillna(ranked["layer"]).to_numpy(),
        "Incidents": ranked["incidents"].to_numpy(),
        "Expected": ranked["expected"].round(1).to_numpy(),
        "Rate ratio": ranked["rate_ratio"].round(2).to_numpy(),
        f"Funnel limit ({meta['funnel_level_text']})": ranked["funnel_upper"].round(1).to_numpy(),
        "Flagged": ranked["flagged"].to_numpy(),
        "Poisson p, BH (without over-dispersion)": [
            p_text(q) for q in ranked["p_adjusted"].to_numpy()],
    })
    if "weighted_score" in ranked:
        table["Weighted score"] = ranked["weighted_score"].round(1).to_numpy()
    for cat in meta["categories"]:
        table[cat] = ranked[category_column(cat)].to_numpy()
    table["Also recorded as"] = ranked["merged_records"].to_numpy()
    table["Reason"] = ranked["reason"].to_numpy()
    return table


def p_text(p: float) -> str:
    """A p-value for a table cell: ``"0.012"``, ``"< 0.001"``, or ``""`` when not computed."""
    if not np.isfinite(p):
        return ""
    return format_p(float(p)).removeprefix("= ")


def how_flagged(meta: Mapping[str, Any], *, all_types: bool, radius_m: float,
                min_incidents: int) -> str:
    """The paragraph saying how places are flagged (Markdown, from a ranking's metadata)."""
    types_text = "all types" if all_types else ", ".join(meta["categories"])
    chosen = meta.get("baseline_chosen_because") or ""
    merged = int(meta.get("duplicates_merged", 0))
    return (
        f"**How places are flagged.** Incidents counted: {esc_markdown(types_text)}, "
        f"{esc_markdown(meta['period_text'])}, within **{radius_m:g} m** of each place. "
        f"**Expected count:** {esc_markdown(meta['baseline_text'])}"
        + (f" ({esc_markdown(chosen)})" if chosen else "") + ". "
        f"Study area: {esc_markdown(meta['study_area'])}. "
        f"**Flag:** the count lies above the {esc_markdown(meta['funnel_level_text'])} funnel "
        "limit E + z·√(E + τ²E²), with over-dispersion estimated from "
        f"{int(meta['funnel_n'])} places (φ = {meta['funnel_phi']:.2f}, "
        f"τ² = {meta['funnel_tau2']:.3f}; Spiegelhalter 2005), and there are at least "
        f"{min_incidents} incidents. The one-sided Poisson p-values (Benjamini–Hochberg) in "
        "the table are without over-dispersion and do not flag."
        + (f" {merged} duplicate record(s) of the same place are ranked once." if merged else "")
    )


def location_labels(ranked: gpd.GeoDataFrame) -> dict[str, str]:
    """Located places by id, as ``"rank. name — layer (flagged)"``."""
    located = ranked.loc[ranked.geometry.notna().to_numpy()]
    return {
        str(pid): f"{rank}. {name or '(unnamed)'} — {LAYER_LABELS.get(layer, layer)}"
        + (" (flagged)" if flag else "")
        for pid, rank, name, layer, flag in zip(
            located["place_id"], located["rank"], located["name"], located["layer"],
            located["flagged"], strict=True)
    }


def place_headline(row: Mapping[str, Any], n_places: int) -> str:
    """One place's name, layer, rank and reason (Markdown)."""
    return (f"**{esc_markdown(row['name'] or '(unnamed)')}** — "
            f"{esc_markdown(LAYER_LABELS.get(row['layer'], row['layer']))}, "
            f"rank {int(row['rank'])} "
            f"of {n_places}. " + esc_markdown(row["reason"]))


def by_month_table(detail: PlaceBreakdown) -> pd.DataFrame:
    """One place's incidents by month and type, with a total column."""
    table = detail.by_month.reset_index().rename(columns={"month": "Month"})
    table["All types"] = detail.by_month.sum(axis=1).to_numpy()
    return table


def area_table(per_area: gpd.GeoDataFrame) -> pd.DataFrame:
    """Incidents per area, most first (population and rate only when the areas have them)."""
    has_pop = bool(per_area["rate_per_1000"].notna().any())
    names = {"name": "Area", "area_id": "Code", "incidents": "Incidents",
             "population": "Population", "rate_per_1000": "Per 1,000 residents"}
    names.update({category_column(c): c for c in per_area.attrs["ctxmap"]["categories"]
                  if category_column(c) in per_area})
    cols = [c for c in names if c in per_area and (has_pop or c not in
                                                    ("population", "rate_per_1000"))]
    return (pd.DataFrame(per_area[cols]).sort_values("incidents", ascending=False)
            .rename(columns=names))


def comparison_warning(period: tuple[str, str], months: Sequence[str]) -> str | None:
    """Why the previous period cannot be fully compared with, or None when it can."""
    prev = previous_period(period)
    first = esc_markdown(format_period((months[0], months[0])))
    if month_index(prev[1]) < month_index(months[0]):
        return (f"The store has no incidents before {first}, so there is nothing to compare "
                f"with: the previous period ({esc_markdown(format_period(prev))}) is not in the "
                "data and is left out. Choose a shorter, later period (at most half of the months) "
                "to see the change.")
    if month_index(prev[0]) < month_index(months[0]):
        return (f"The store has incidents from {first} only, so the previous period "
                f"({esc_markdown(format_period(prev))}) is partly missing: its counts are too low "
                "or zero. Choose a shorter, later period for a fair comparison.")
    return None


def previous_missing(period: tuple[str, str], months: Sequence[str]) -> bool:
    """True when the previous period ends before the data's first month."""
    return month_index(previous_period(period)[1]) < month_index(months[0])


def place_trends_table(trends: pd.DataFrame, hide: Sequence[str] = ()) -> pd.DataFrame:
    """Each place's incidents now and before, most now first."""
    table = trends.drop(columns=list(hide))
    table["layer"] = table["layer"].map(LAYER_LABELS).fillna(table["layer"])
    table = table.rename(columns={"place_id": "id", "name": "Place", "layer": "Layer",
                                  "change_pct": "change %"})
    return table.sort_values("current", ascending=False)


def area_trends_table(trends: pd.DataFrame, hide: Sequence[str] = ()) -> pd.DataFrame:
    """Each area's incidents now and before, most now first."""
    return (trends.drop(columns=list(hide))
            .rename(columns={"change_pct": "change %", "area_id": "Code", "name": "Area"})
            .sort_values("current", ascending=False))
