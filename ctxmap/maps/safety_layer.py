"""Draw the pooled safety map: one RAG circle per rated place, sized and labelled by count.

The ratings are pooled (and small counts suppressed for shared views) by
:func:`ctxmap.cases.safety_map.pool_by_place`; this module only draws them.
"""

from __future__ import annotations

import math
from typing import Any, Final

import folium
import geopandas as gpd
import pandas as pd

from ctxmap.cases.safety_map import RAG, RAG_MEANINGS
from ctxmap.layers.crs import require_display_crs
from ctxmap.maps.legend import OKABE_ITO, LegendEntry
from ctxmap.text import esc, esc_plain

#: Fill colour of each rating (and of a place whose counts are all hidden): Okabe-Ito's
#: vermillion, orange and bluish green, told apart with any colour-vision deficiency; the
#: rating's letter (R, A, G) is written beside each circle too, never colour alone.
RAG_COLOURS: Final[dict[str, str]] = {
    "red": OKABE_ITO["vermillion"], "amber": OKABE_ITO["orange"],
    "green": OKABE_ITO["bluish_green"]}
RAG_LETTERS: Final[dict[str, str]] = {"red": "R", "amber": "A", "green": "G"}
HIDDEN_COLOUR: Final = "#4d4d4d"
_COUNT_STYLE: Final = ("height:18px;line-height:18px;text-align:left;white-space:nowrap;"
                       "font:bold 14px sans-serif;color:#222222;"
                       "text-shadow:0 0 3px #ffffff,0 0 3px #ffffff;")


def _count_text(value: Any, threshold: int | None) -> str:
    if value is pd.NA or pd.isna(value):
        return f"fewer than {threshold}" if threshold else "hidden"
    return str(int(value))


def safety_map_group(
    pooled: gpd.GeoDataFrame,
    *,
    threshold: int | None = None,
    name: str = "Safety map (young people's ratings)",
) -> folium.FeatureGroup:
    """Draw pooled ratings: one circle per place, filled with its RAG colour, sized by count.

    Parameters
    ----------
    pooled
        Output of :func:`ctxmap.cases.safety_map.pool_by_place` (EPSG:4326).
    threshold
        The suppression threshold used (only for the tooltip wording).
    name
        Layer-control name.

    Returns
    -------
    folium.FeatureGroup
        Tooltips give the escaped place label and the counts (hidden counts say
        "fewer than N"); the number of ratings is written beside the circle when it may be
        shown; grey circles are places whose counts are all hidden.
    """
    require_display_crs(pooled, "the pooled ratings")
    group = folium.FeatureGroup(name=name, show=True)
    for row in pooled.itertuples(index=False):
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        colour = RAG_COLOURS.get(row.rating, HIDDEN_COLOUR) if row.rating else HIDDEN_COLOUR
        total = row.ratings
        shown = sum(int(v) for v in (row.red, row.amber, row.green) if not pd.isna(v))
        size = min(8.0 + 3.0 * math.sqrt(shown), 24.0)  # hidden counts do not size it
        parts = ", ".join(f"{_count_text(getattr(row, c), threshold)} {c}" for c in RAG)
        tip = (f"<b>{esc(row.place_label)}</b><br>{esc_plain(parts)}"
               f"<br>{esc_plain(_count_text(total, threshold))} rating(s) in all")
        folium.CircleMarker(
            location=[geom.y, geom.x], radius=size, color="#ffffff", weight=1.5,
            fill=True, fill_color=colour, fill_opacity=0.9, tooltip=folium.Tooltip(tip),
        ).add_to(group)
        letter = RAG_LETTERS.get(row.rating or "", "")
        count = "" if total is pd.NA or pd.isna(total) else str(int(total))
        if letter or count:  # the rating's letter and the count, written beside the circle
            folium.Marker(
                location=[geom.y, geom.x], interactive=False, keyboard=False,
                icon=folium.DivIcon(
                    html=f'<div style="{_COUNT_STYLE}">{esc_plain(f"{letter} {count}".strip())}'
                    "</div>",
                    icon_size=(60, 18), icon_anchor=(-int(size) - 3, 9),
                    class_name="ctxmap-rag-count"),
            ).add_to(group)
    return group


def safety_legend(pooled: gpd.GeoDataFrame, threshold: int | None = None) -> list[
    tuple[LegendEntry, str]
]:
    """Legend lines of the safety map (for ``build_map(extra_legend=...)``)."""
    counts = pooled["rating"].value_counts() if len(pooled) else pd.Series(dtype=int)
    out = [(LegendEntry(f"{RAG_LETTERS[r]}: mostly {r}: {RAG_MEANINGS[r]}", RAG_COLOURS[r],
                        "circle", f"rag_{r}"),
            f"{int(counts.get(r, 0))} place(s)") for r in RAG]
    if threshold is not None:
        out.append((LegendEntry(f"Counts below {threshold} hidden", HIDDEN_COLOUR, "circle",
                                "rag_hidden"), "shared view"))
    return out
