"""The Locations of concern page's Methods tab and risk-terrain map layer.

The tab shows the out-of-sample evaluation of this area (which method predicted its last
months best, :mod:`ctxmap.analysis.evaluation`) and the risk-terrain model's factors; the
layer draws the model's relative risk per cell. Both are cached per store version in
:mod:`ctxmap.app.concern_work`.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.analysis.evaluation import AREA_SHARES, Evaluation
from ctxmap.analysis.periods import format_period
from ctxmap.app import concern_work as work
from ctxmap.app.concern_work import Ranking, run_or_warn
from ctxmap.app.widgets import show_table
from ctxmap.maps.analysis_layers import AnalysisLayer
from ctxmap.maps.risk_layer import risk_terrain_group
from ctxmap.text import esc_markdown as md


def risk_layer(path: str, version: float, contexts: str,
               ranking: Ranking) -> AnalysisLayer | None:
    """The risk-terrain layer of the period (switched off at first), or None on an error."""
    fitted = run_or_warn("The risk-terrain model could not be fitted",
                         lambda: work.risk_terrain(path, version, contexts, ranking))
    if fitted is None:
        return None
    cells, factors, reason, usable = fitted
    notes = [] if usable else [reason]
    return risk_terrain_group(cells, factors if usable else None, notes=notes)


def _ranking_with(path: str, version: float, contexts: str, settings: Ranking) -> (
    gpd.GeoDataFrame | None
):
    return run_or_warn(f"The {settings.baseline} expectation could not be made",
                       lambda: work.ranking(path, version, contexts, settings))


def with_expectations(path: str, version: float, contexts: str, ranking: Ranking,
                      ranked: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``ranked`` with each expectation's expected count (study-area, local, model) beside it.

    Each comes from the same ranking with that expectation (cached); a place's popup shows
    them side by side. An expectation that cannot be made is left empty.
    """
    out = ranked.copy()
    for name, column in (("study-area", "expected_study_area"), ("local", "expected_local"),
                         ("model", "expected_model")):
        other = ranked if ranking.baseline == name else _ranking_with(
            path, version, contexts, replace(ranking, baseline=name))
        if other is not None:
            by_id = other.drop_duplicates("place_id").set_index("place_id")["expected"]
            out[column] = out["place_id"].map(by_id).to_numpy()
    return out


def evaluation_table(ev: Evaluation) -> pd.DataFrame:
    """The evaluation as a display table (PAI to 2 decimals, shares as percentages)."""
    table = ev.table()
    out = pd.DataFrame({"Method": table["method"]})
    for share in AREA_SHARES:
        pct = f"{share * 100:g}%"
        out[f"PAI {pct}"] = table[f"pai_{pct}"].round(2)
    for share in AREA_SHARES:
        pct = f"{share * 100:g}%"
        out[f"Captured {pct}"] = (table[f"captured_{pct}"] * 100).round(1)
    out["Note"] = table["note"]
    return out


def methods_tab(path: str, version: float, contexts: str, ranking: Ranking) -> None:
    """Which method predicts this area, and the risk-terrain model's factors."""
    radius_m, period, cats = ranking.radius_m, ranking.period, ranking.categories
    ev = run_or_warn("The evaluation could not be made",
                     lambda: work.evaluation(path, version, cats, radius_m))
    if ev is None:
        st.info("An evaluation needs at least two months of incidents.")
    else:
        st.markdown(
            f"**Out-of-sample evaluation.** Each method learnt from "
            f"**{md(format_period(ev.train))}** ({ev.train_incidents:,} incidents) and is "
            f"scored on **{md(format_period(ev.test))}** ({ev.test_incidents:,} incidents), on "
            f"{ev.cells:,} cells of {ev.cell_m:g} m. *Captured*: the share of the test "
            "incidents in the method's top cells covering 1, 5 or 10 % of the area; *PAI*: "
            "captured ÷ share of area.")
        show_table(evaluation_table(ev), column_config={
            f"Captured {s * 100:g}%": st.column_config.NumberColumn(format="%.1f %%")
            for s in AREA_SHARES})
        st.markdown(f"**Auto expectation:** {md(ev.auto_sentence())}")
        if (bw := ev.best_bandwidth_choice()) is not None:
            st.markdown(f"**Heat layer default:** {bw.bandwidth_m:,.0f} m, the {md(bw.rule)}.")
        for name, (flagged, above) in ev.persistence.items():
            st.markdown(f"**Flags that held ({md(name)} expectation):** {above} of the "
                        f"{flagged} places flagged on {md(format_period(ev.train))} stayed "
                        f"above their expectation in {md(format_period(ev.test))}.")
    fitted = run_or_warn("The risk-terrain model could not be fitted",
                         lambda: work.risk_terrain(path, version, contexts, ranking))
    if fitted is None:
        return
    _, factors, reason, usable = fitted
    st.markdown(f"**Risk-terrain model ({md(format_period(period))}):** {md(reason)}. "
                "Factors come from the store's places by category; see "
                "docs/osm-classification.md for the OpenStreetMap feature groups `evaluate` "
                "can use.")
    if usable and len(factors):
        show_table(factors.rename(columns={
            "factor": "Factor", "relative_risk": "Relative risk", "rr_95_low": "95% low",
            "rr_95_high": "95% high", "p_value": "p", "cells_with_factor": "Cells"}),
            column_config={"p": st.column_config.NumberColumn(format="%.2g"),
                           "Relative risk": st.column_config.NumberColumn(format="%.2f"),
                           "95% low": st.column_config.NumberColumn(format="%.2f"),
                           "95% high": st.column_config.NumberColumn(format="%.2f")})
