"""The popups of the map's points: a place, an incident, an incident cell, a ranked place.

Each returns HTML in which every value from the data went through :func:`ctxmap.text.esc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from ctxmap.maps.classes import number_text
from ctxmap.text import clean_text, esc, esc_plain

UNNAMED: Final = "Unnamed place"
#: Columns of a ranked place holding each expectation, shown side by side when present.
EXPECTATION_COLUMNS: Final = (("study-area", "expected_study_area"), ("local", "expected_local"),
                              ("model", "expected_model"))
_LAYER_NAMES: Final = {"homes": "Home", "youth_centres": "Youth centre",
                       "safe_places": "Safe place", "contexts": "Context"}


def _row(row: Mapping[str, object], key: str) -> object:
    return row.get(key) if key in row else None


def place_popup_html(row: Mapping[str, object], *, fictional_label: bool = False) -> str:
    """Return the escaped popup HTML of one place (name, category, address, hours).

    Parameters
    ----------
    row
        A place row (mapping of canonical column names to values; missing keys are
        treated as empty).
    fictional_label
        Add " (fictional)" after the name.
    """
    name = esc(_row(row, "name")) or esc_plain(UNNAMED)
    title = f"<b>{name}</b>"
    if fictional_label:
        title += " <i>(fictional)</i>"
    parts = [title]
    for label, key in (
        ("Category", "category"),
        ("Address", "address"),
        ("Opening hours", "opening_hours"),
    ):
        value = esc(_row(row, key))
        if value:
            parts.append(f"{label}: {value}")
    return "<br>".join(parts)


def incident_popup_html(row: Mapping[str, object]) -> str:
    """Return the escaped popup HTML of one incident (category, month, location, outcome)."""
    title = esc(_row(row, "category")) or "Incident"
    parts = [f"<b>{title}</b>"]
    for label, key in (("Month", "month"), ("Location", "location"), ("Outcome", "outcome")):
        value = esc(_row(row, key))
        if value:
            parts.append(f"{label}: {value}")
    return "<br>".join(parts)


def cell_popup_html(row: Mapping[str, object]) -> str:
    """Return the escaped popup HTML of one aggregated incident cell."""
    count = int(row["count"])  # type: ignore[call-overload]
    cell_m = float(row["cell_m"])  # type: ignore[arg-type]
    noun = "incident" if count == 1 else "incidents"
    parts = [f"<b>{count} {noun}</b> in this {cell_m:.0f} m square"]
    top = esc(row.get("top_categories"))
    if top:
        parts.append(f"Most common: {top}")
    first, last = clean_text(row.get("first_month")), clean_text(row.get("last_month"))
    if first:
        span = first if first == last else f"{first} to {last}"
        parts.append(f"Months: {esc(span)}")
    return "<br>".join(parts)


def ranked_place_popup_html(rec: Mapping[str, Any]) -> str:
    """Return the escaped popup HTML of a ranked place (name, layer, rank, counts, reason)."""
    name = esc(rec.get("name")) or esc_plain(UNNAMED)
    layer = _LAYER_NAMES.get(clean_text(rec.get("layer")), clean_text(rec.get("layer")))
    parts = [f"<b>{name}</b>"]
    if layer:
        parts.append(esc_plain(layer))
    parts.append(f"Rank {int(rec['rank'])}" if pd.notna(rec.get("rank")) else "")
    n = rec.get("incidents")
    if n is not None and pd.notna(n):
        expected = float(rec.get("expected", float("nan")))
        ratio = float(rec.get("rate_ratio", float("nan")))
        parts.append(
            f"{int(n)} incidents (expected {esc_plain(number_text(expected))}, "
            f"{esc_plain(number_text(ratio))} times)"
        )
    side = [f"{label} {esc_plain(number_text(float(rec[col])))}"
            for label, col in EXPECTATION_COLUMNS
            if col in rec and rec[col] is not None and pd.notna(rec[col])]
    if side:
        parts.append("Expected by: " + " · ".join(side))
    reason = esc(rec.get("reason"))
    if reason:
        parts.append(reason)
    return '<div style="max-width:320px">' + "<br>".join(p for p in parts if p) + "</div>"
