"""The Nearby page's inputs: the sidebar options and the starting point.

A starting point is a home, a context of concern, a place searched by name, typed
coordinates, a postcode (looked up in an ONS directory, never online) or a click on the map.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.errors import InputError
from ctxmap.nearby.hours import LOCAL_TZ
from ctxmap.nearby.origins import Origin, from_place, lookup_postcode, parse_point
from ctxmap.nearby.tables import search_places
from ctxmap.reports import card
from ctxmap.text import clean_text

#: Session-state keys: the results map, the starting-point choice and the clicked point.
MAP_KEY: Final = "nearby_map"
MODE_KEY: Final = "nearby_mode"
CLICK_KEY: Final = "nearby_click"
HOME, CONTEXT, SEARCH, COORDS, POSTCODE, CLICK = (
    "A home",
    "A context of concern",
    "Search places by name",
    "Coordinates",
    "Postcode",
    "Click on the map",
)
MODES: Final = [HOME, CONTEXT, SEARCH, COORDS, POSTCODE, CLICK]
#: A starting point and what the card calls it (``(None, "")`` when none is chosen yet).
Start = tuple[Origin | None, str]
#: Reads the contexts with a location (id, name, lon, lat), only when they are offered.
Contexts = Callable[[], pd.DataFrame]


@dataclass(frozen=True)
class NearbyOptions:
    """The sidebar's choices: how many places, which kinds and categories, open when."""

    k: int
    layers: tuple[str, ...]
    categories: tuple[str, ...]
    when: dt.datetime
    open_only: bool

    @property
    def when_iso(self) -> str:
        """``when`` to the minute, as text (a cache key)."""
        return self.when.isoformat(sep=" ", timespec="minutes")


def _when() -> dt.datetime:
    if "nearby_date" not in st.session_state:
        now0 = dt.datetime.now(LOCAL_TZ)
        st.session_state["nearby_date"] = now0.date()
        st.session_state["nearby_time"] = now0.time().replace(second=0, microsecond=0)
    when_mode = st.radio("Check whether places are open", ["Now", "At a chosen day and time"],
                         key="nearby_when")
    if when_mode == "Now":
        return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    day = st.date_input("Day", key="nearby_date")
    time = st.time_input("Time", key="nearby_time", step=dt.timedelta(minutes=15))
    return dt.datetime.combine(day, time).replace(second=0, microsecond=0)


def sidebar_options(places: gpd.GeoDataFrame) -> NearbyOptions:
    """The sidebar: how many places, kinds, categories, and the time hours are checked at."""
    with st.sidebar:
        st.subheader("Nearby places")
        k = st.slider("How many places", 1, 10, 5, key="nearby_k")
        layers = st.multiselect("Kinds of place", ["safe_places", "youth_centres"],
                                default=["safe_places", "youth_centres"],
                                format_func=lambda v: card.LAYER_LABELS[v] + "s",
                                key="nearby_layers")
        pool = places[places["layer"].isin(layers)]
        all_cats = sorted({c for c in pool["category"].map(clean_text) if c},
                          key=lambda c: c.lower())
        cats = st.multiselect("Only these categories (empty = all)", all_cats, default=[],
                              key="nearby_categories",
                              help="For example police, library, pharmacy.")
        st.subheader("Opening hours")
        when = _when()
        open_only = st.checkbox("Only list places open then", key="nearby_open_only",
                                help="From OpenStreetMap opening_hours. Places whose hours "
                                "are unknown are never counted as open.")
        st.caption("Unknown hours are shown as “unknown”, never as open.")
    return NearbyOptions(int(k), tuple(layers), tuple(cats), when, bool(open_only))


def on_map_click() -> None:
    """A click on the results map becomes the origin (runs before the page reruns)."""
    value = st.session_state.get(MAP_KEY) or {}
    clicked = value.get("last_clicked") if isinstance(value, dict) else None
    if clicked and "lat" in clicked and "lng" in clicked:
        st.session_state[CLICK_KEY] = (float(clicked["lat"]), float(clicked["lng"]))
        st.session_state[MODE_KEY] = CLICK


def _postcode_file(upload: object) -> str:
    """Save an uploaded postcode directory once (by content hash); return its path."""
    data = upload.getvalue()  # type: ignore[attr-defined]
    digest = hashlib.sha256(data).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"ctxmap-onspd-{digest}.csv"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _from_home(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    homes = layers["homes"]
    located = homes[homes.geometry.notna()]
    names = dict(zip(located["id"].astype(str), located["name"].map(clean_text), strict=True))
    if not names:
        st.info("There are no homes in the store.")
        return None, ""
    home_id = st.selectbox("Home", list(names), key="nearby_home",
                           format_func=lambda i: f"{i} — {names[i]}" if names[i] else i)
    return from_place(located, home_id), names[home_id] or home_id


def _from_context(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    frame = contexts()
    if frame.empty:
        st.info("No context of concern with a location has been recorded yet "
                "(see the Contexts page).")
        return None, ""
    names = dict(zip(frame["id"], frame["name"].map(clean_text), strict=True))
    cid = st.selectbox("Context", list(names), format_func=lambda i: f"{i} — {names[i]}",
                       key="nearby_context")
    row = frame[frame["id"] == cid].iloc[0]
    origin = Origin(lon=float(row["lon"]), lat=float(row["lat"]), label=str(cid), kind="place")
    return origin, names[cid] or str(cid)


def _from_search(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    text = st.text_input("Name contains", key="nearby_search",
                         placeholder="e.g. library, Riverside")
    hits = search_places(layers, text)
    st.caption(f"{len(hits):,} matching place(s).")
    if hits.empty:
        return None, ""
    lookup = {r.key: r for r in hits.itertuples()}
    picked = st.selectbox(
        "Place", list(lookup), key="nearby_search_pick",
        format_func=lambda o: (f"{clean_text(lookup[o].name) or 'Unnamed place'} "
                               f"({card.LAYER_LABELS.get(lookup[o].layer, lookup[o].layer)}, "
                               f"{clean_text(lookup[o].category)})"))
    layer_name, pid = str(picked).split("|", 1)
    return from_place(layers[layer_name], pid), clean_text(lookup[picked].name) or pid


def _from_coordinates(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    typed = st.text_input("Latitude, longitude — or British National Grid easting, northing",
                          key="nearby_coords",
                          placeholder="52.6309, 1.2974   or   623000, 308500")
    st.caption("Latitude and longitude in degrees, or easting and northing in metres. "
               "Swapped latitude/longitude and grid metres are detected and said.")
    if not typed.strip():
        return None, ""
    origin = parse_point(typed)
    return origin, origin.label


def _from_postcode(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    st.caption("Postcodes are never looked up online. Upload an ONS Postcode Directory CSV "
               "(columns pcds or pcd, lat, long — a file cut down to your area is fine) or "
               "give the path of one on this server.")
    c1, c2 = st.columns(2)
    upload = c1.file_uploader("Postcode directory (CSV)", type=["csv"],
                              key="nearby_onspd_upload")
    onspd_path = c2.text_input("…or its path on the server", key="nearby_onspd_path")
    code = st.text_input("Postcode", key="nearby_postcode", placeholder="NR2 1AB")
    directory = _postcode_file(upload) if upload is not None else onspd_path.strip()
    if not code.strip():
        return None, ""
    if not directory:
        st.warning("Add a postcode directory first (upload or path).")
        return None, ""
    origin = lookup_postcode(directory, code)
    return origin, origin.label


def _from_click(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    clicked = st.session_state.get(CLICK_KEY)
    if not clicked:
        st.info("Click on the map below to choose a starting point.")
        return None, ""
    lat, lon = clicked
    origin = Origin(lon=lon, lat=lat, label=f"{lat:.5f}, {lon:.5f}")
    return origin, origin.label


_CHOOSERS: Final[dict[str, Callable[[Mapping[str, gpd.GeoDataFrame], Contexts], Start]]] = {
    HOME: _from_home, CONTEXT: _from_context, SEARCH: _from_search,
    COORDS: _from_coordinates, POSTCODE: _from_postcode, CLICK: _from_click,
}


def choose_start(layers: Mapping[str, gpd.GeoDataFrame], contexts: Contexts) -> Start:
    """The "Start from" widgets; returns the starting point and what the card calls it.

    ``contexts`` reads the contexts with a location (only when asked). Bad input is shown
    as an error and gives no starting point.
    """
    st.subheader("Start from")
    mode = st.radio("Starting point", MODES, horizontal=True, key=MODE_KEY,
                    label_visibility="collapsed")
    try:
        origin, label = _CHOOSERS[mode](layers, contexts)
    except InputError as exc:
        st.error(str(exc))
        return None, ""
    if origin is not None and origin.note:
        st.warning(f"Note: {origin.note}")
    if origin is not None and mode in (COORDS, POSTCODE, CLICK):
        st.caption(f"Starting at latitude {origin.lat:.5f}, longitude {origin.lon:.5f}.")
    return origin, label
