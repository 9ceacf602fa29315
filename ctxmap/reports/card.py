"""The printable "safe places near …" card, and the Nearby page's table and wording.

The card is ONE self-contained HTML page (the map's JavaScript and CSS inlined by
:func:`ctxmap.maps.export.standalone_html`, so it opens offline) with print CSS for one A4
page: a heading, the map, and the list of the nearest protective places with names,
addresses, opening hours and walking times. It has no field for a young person's name.
The start point is labelled only "Start" on the map, never with a home's name or
address (the maps are drawn by :mod:`ctxmap.maps.nearby`). Every user-supplied string is
escaped with :func:`ctxmap.text.esc`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Final

import pandas as pd

from ctxmap.errors import InputError
from ctxmap.maps.base import OSM_ATTRIBUTION
from ctxmap.maps.export import standalone_html
from ctxmap.nearby.wording import distance_text, is_estimate, walk_text
from ctxmap.reports.templating import render, trusted
from ctxmap.text import clean_text

#: How place layers are called on the page and the card.
LAYER_LABELS: Final[dict[str, str]] = {
    "safe_places": "Safe place",
    "youth_centres": "Youth centre",
    "homes": "Home",
}

#: Columns of :func:`nearby_table`, in order.
TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "#",
    "Place",
    "Walk (min)",
    "Walk (m)",
    "Straight line (m)",
    "Open then",
    "Type",
    "Category",
    "Address",
    "Opening hours",
)

# ----------------------------------------------------------------------------- text


def estimate_notice(basis: str) -> str:
    """Return the plain-text sentence saying walking times are estimates (``basis`` explains how).

    ``basis`` is e.g. ``"estimate: straight line x1.3 at 4.8 km/h"``.
    """
    how = str(basis).split(":", 1)[1].strip() if ":" in str(basis) else str(basis)
    return (
        f"Walking times are estimates ({how}), not measured along streets: real walks "
        "can be longer, for example around rivers, railways or busy roads."
    )


def when_text(when: dt.datetime | None) -> str:
    """Return a moment for people, e.g. ``"Saturday 12 January 2019, 21:00"``."""
    if when is None:
        return "not checked"
    return f"{when:%A} {when.day} {when:%B %Y, %H:%M}"


_DAYS: Final[dict[str, str]] = {
    "Mo": "Mon",
    "Tu": "Tue",
    "We": "Wed",
    "Th": "Thu",
    "Fr": "Fri",
    "Sa": "Sat",
    "Su": "Sun",
    "PH": "bank holidays",
}
_DAY_RE: Final = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b")


def hours_text(opening_hours: object) -> str:
    """Return OSM opening hours a little easier to read; ``"unknown"`` when missing.

    ``"Mo-Fr 09:00-17:00;Sa 10:00-13:00"`` becomes ``"Mon-Fri 09:00-17:00; Sat 10:00-13:00"``.
    Quoted comments are left as they are. Plain text (not escaped).
    """
    text = clean_text(opening_hours)
    if not text:
        return "unknown"
    parts = re.split(r'("[^"]*")', text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a quoted comment
            out.append(part)
            continue
        part = _DAY_RE.sub(lambda m: _DAYS[m.group(1)], part)
        out.append(re.sub(r"\s*;\s*", "; ", part))
    return "".join(out).strip().rstrip(";").strip() or "unknown"


def card_file_name(today: dt.date) -> str:
    """Return the card's download file name; it holds no name, address or place."""
    return f"safe-places-card-{today.isoformat()}.html"


def nearby_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of :func:`ctxmap.nearby.nearest.nearest_places` as a table for people.

    Columns :data:`TABLE_COLUMNS`; unknown opening hours read ``"unknown"`` and never
    ``"open"``; ``"Walk (m)"`` is empty without a street network. The index is kept.
    """
    needed = {"rank", "name", "straight_m", "walk_min"}
    missing = sorted(needed - set(rows.columns))
    if missing:
        raise InputError(f"the nearest rows lack columns {missing}; expected nearest_places output")

    def text(col: str) -> pd.Series:
        if col not in rows.columns:
            return pd.Series([""] * len(rows), index=rows.index, dtype=object)
        return rows[col].map(clean_text).astype(object)

    layer = text("layer").map(lambda v: LAYER_LABELS.get(v, v))
    hours = text("opening_hours").map(lambda v: v or "unknown")
    states = text("open").map(lambda v: v if v in ("open", "closed") else "unknown")
    walk_m = pd.to_numeric(rows.get("walk_m", pd.Series(index=rows.index)), errors="coerce")
    table = pd.DataFrame(
        {
            "#": rows["rank"].astype(int).to_numpy(),
            "Place": text("name").map(lambda v: v or "Unnamed place").to_numpy(),
            "Type": layer.to_numpy(),
            "Category": text("category").to_numpy(),
            "Address": text("address").to_numpy(),
            "Opening hours": hours.to_numpy(),
            "Open then": states.to_numpy(),
            "Straight line (m)": pd.to_numeric(rows["straight_m"]).round(0).to_numpy(),
            "Walk (m)": walk_m.round(0).to_numpy(),
            "Walk (min)": pd.to_numeric(rows["walk_min"]).round(1).to_numpy(),
        },
        index=rows.index,
    )
    return table[list(TABLE_COLUMNS)]


# ----------------------------------------------------------------------------- card


def _card_rows(rows: pd.DataFrame) -> list[dict[str, object]]:
    """The list's rows for the template: plain text, escaped by the template."""
    out: list[dict[str, object]] = []
    for rec in rows.to_dict("records"):
        kind = LAYER_LABELS.get(clean_text(rec.get("layer")), clean_text(rec.get("layer")))
        state = clean_text(rec.get("open"))
        walk_m = rec.get("walk_m")
        walked = walk_m is not None and pd.notna(walk_m)
        out.append({
            "rank": int(rec.get("rank", 0)),
            "name": rec.get("name"),
            "sub": ", ".join(t for t in (kind, clean_text(rec.get("category"))) if t),
            "address": rec.get("address"),
            "hours": hours_text(rec.get("opening_hours")),
            "state": state if state in ("open", "closed") else "unknown",
            "walk": walk_text(rec.get("walk_min")),
            "distance": distance_text(walk_m if walked else rec.get("straight_m")),
            "distance_label": "walk" if walked else "in a straight line",
        })
    return out


def safe_places_card_html(
    origin_label: str,
    rows: pd.DataFrame,
    map: Any,
    when: dt.datetime | None,
    basis: str,
    *,
    made: dt.date | None = None,
    vendor_dir: Path | None = None,
) -> str:
    """Return the one-page printable "safe places near …" card as a self-contained HTML page.

    Parameters
    ----------
    origin_label
        What the card is for, e.g. a home's name or a postcode (escaped). Never a young
        person's name: the card has no field for one.
    rows
        Output of :func:`ctxmap.nearby.nearest.nearest_places` (``rank``, ``name``, ``layer``,
        ``category``, ``address``, ``opening_hours``, ``open``, ``walk_min``, ``walk_m``,
        ``straight_m``), nearest first.
    map
        The card's folium map, e.g. from :func:`ctxmap.maps.nearby.nearby_map` (not
        modified); its scripts and styles
        are inlined so the card opens offline.
    when
        The moment ``open`` was checked for (shown on the card); ``None`` hides the column.
    basis
        The rows' ``walk_basis``; an estimate adds the "walking times are estimates" notice.
    made
        The date printed on the card (default: today).
    vendor_dir
        Where the vendored map files are (default ``static/vendor/``).

    Returns
    -------
    str
        One HTML page with print CSS for one A4 page; the only outside requests it may
        make are for basemap tiles.
    """
    made = made or dt.date.today()
    label = clean_text(origin_label) or "the chosen point"
    page = standalone_html(map, title=f"Safe places near {label}", vendor_dir=vendor_dir)
    # folium writes "</head>\n<body>\n<div class="folium-map" ...></div>\n</body>\n<script>".
    start = re.search(r"</head>\s*<body>", page)
    end = page.find("</body>", start.end()) if start else -1
    if start is None or end < 0:
        raise InputError("the map page has no <head>/<body>; expected a folium page")
    return render(
        "card.html.j2",
        page_head=trusted(page[: start.start()]),
        map_body=trusted(page[start.end() : end]),
        page_tail=trusted(page[end:]),
        label=label,
        when_text=when_text(when) if when is not None else "",
        rows=_card_rows(pd.DataFrame(rows)),
        estimate_notice=estimate_notice(basis) if is_estimate(basis) else "",
        made=made.isoformat(),
        osm_attribution=OSM_ATTRIBUTION,
    )
