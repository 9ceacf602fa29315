"""Nearby safe places: the nearest protective places to a home, a context or any point.

Also: which homes have no (open) safe place within a walk, the area within that walk,
and a printable one-page "safe places near …" card.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ctxmap.app.audit import export_button
from ctxmap.app.cache import load_layers
from ctxmap.app.drawing import draw_map
from ctxmap.app.session import store_target, store_version
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.cases.repository import get_context, list_contexts
from ctxmap.errors import CtxmapError, InputError
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.layers import build_map
from ctxmap.nearby.coverage import DEFAULT_MINUTES, coverage_area, home_coverage, open_places
from ctxmap.nearby.hours import LOCAL_TZ
from ctxmap.nearby.nearest import filter_places, nearest_places
from ctxmap.nearby.network import WalkNetwork, load_network
from ctxmap.nearby.origins import Origin, from_place, lookup_postcode, parse_point
from ctxmap.nearby.walking import estimate_basis
from ctxmap.reports import card as card
from ctxmap.store.opening import open_store
from ctxmap.text import clean_text

NETWORK_ENV = "CTXMAP_NETWORK"
MAP_KEY = "nearby_map"
MODE_KEY = "nearby_mode"
CLICK_KEY = "nearby_click"
HOME, CONTEXT, SEARCH, COORDS, POSTCODE, CLICK = (
    "A home",
    "A context of concern",
    "Search places by name",
    "Coordinates",
    "Postcode",
    "Click on the map",
)
MODES = [HOME, CONTEXT, SEARCH, COORDS, POSTCODE, CLICK]
SEARCH_LAYERS = ("homes", "safe_places", "youth_centres")


# ----------------------------------------------------------------------------- cached work


@st.cache_resource(show_spinner=False)
def _network(path: str, mtime: float) -> WalkNetwork:
    # runs once per file: the progress lines show while the network is built
    with st.status("Building the walking network (only the first time)…") as status:
        net = load_network(path, progress=lambda stage, n: status.write(f"{n:,} {stage}"))
        status.update(label="Walking network ready", state="complete")
    return net


@st.cache_data(show_spinner=False, max_entries=16)
def _contexts(store: str, version: float) -> pd.DataFrame:
    """Contexts with a location: id, name, lon, lat (empty when the store has none)."""
    rows: list[dict[str, object]] = []
    try:
        st_ = open_store(store, create=False)
        for cid in list_contexts(st_)["id"].tolist():
            ctx = get_context(st_, str(cid))
            if ctx.geometry is None or ctx.geometry.is_empty:
                continue
            pt = ctx.geometry.representative_point()
            rows.append({"id": ctx.id, "name": ctx.name, "lon": pt.x, "lat": pt.y})
    except CtxmapError:  # a store that cannot be read has no contexts to offer
        return pd.DataFrame(columns=["id", "name", "lon", "lat"])
    return pd.DataFrame(rows, columns=["id", "name", "lon", "lat"])


@st.cache_data(show_spinner="Finding the nearest places…", max_entries=64)
def _nearest(
    store: str,
    version: float,
    lon: float,
    lat: float,
    k: int,
    layers: tuple[str, ...],
    categories: tuple[str, ...] | None,
    when_iso: str,
    open_only: bool,
    network_key: str,
    _places: gpd.GeoDataFrame,
    _network: WalkNetwork | None,
) -> gpd.GeoDataFrame:
    pool = filter_places(
        _places, layers=list(layers), categories=list(categories) if categories else None
    )
    return nearest_places(
        Origin(lon=lon, lat=lat, label=""),
        pool,
        k=k,
        network=_network,
        when=dt.datetime.fromisoformat(when_iso),
        open_only=open_only,
    )


@st.cache_data(show_spinner="Working out coverage…", max_entries=16)
def _coverage(
    store: str,
    version: float,
    minutes: float,
    when_iso: str | None,
    network_key: str,
    _homes: gpd.GeoDataFrame,
    _safe: gpd.GeoDataFrame,
    _youth: gpd.GeoDataFrame,
    _network: WalkNetwork | None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    when = dt.datetime.fromisoformat(when_iso) if when_iso else None
    table = home_coverage(_homes, _safe, _youth, minutes=minutes, when=when, network=_network)
    area = coverage_area(_safe, minutes=minutes, when=when, network=_network)
    return table, area


@st.cache_data(show_spinner="Making the card…", max_entries=16)
def _card(
    key: tuple[object, ...],
    label: str,
    when_iso: str,
    _rows: gpd.GeoDataFrame,
    _origin: Origin,
    _places: gpd.GeoDataFrame,
) -> str:
    m = card.nearby_map(_origin, _rows, places=_places)
    basis = str(_rows["walk_basis"].iloc[0]) if len(_rows) else estimate_basis()
    return card.safe_places_card_html(label, _rows, m, dt.datetime.fromisoformat(when_iso), basis)


def _postcode_file(upload: object) -> str:
    """Save an uploaded postcode directory once (by content hash); return its path."""
    data = upload.getvalue()  # type: ignore[attr-defined]
    digest = hashlib.sha256(data).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"ctxmap-onspd-{digest}.csv"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _on_click() -> None:
    """A click on the results map becomes the origin (runs before the page reruns)."""
    value = st.session_state.get(MAP_KEY) or {}
    clicked = value.get("last_clicked") if isinstance(value, dict) else None
    if clicked and "lat" in clicked and "lng" in clicked:
        st.session_state[CLICK_KEY] = (float(clicked["lat"]), float(clicked["lng"]))
        st.session_state[MODE_KEY] = CLICK


# ----------------------------------------------------------------------------- page

st.title("Nearby safe places")
st.caption(
    "Where can a young person go for help from here? Pick a starting point to see the "
    "nearest safe places and youth centres with walking times, print a card for a home, "
    "and find homes with no safe place within a short walk."
)
path = store_target()
version = store_version(path)
layers = load_layers()
homes = layers["homes"]
places = gpd.GeoDataFrame(
    pd.concat(
        [layers[k].assign(layer=k) for k in ("safe_places", "youth_centres")], ignore_index=True
    ),
    geometry="geometry",
    crs=STORAGE_CRS,
)

# --- walking network (optional)
network: WalkNetwork | None = None
network_key = ""
network_file = os.environ.get(NETWORK_ENV, "").strip()
if network_file:
    try:
        network = _network(network_file, os.stat(network_file).st_mtime)
        network_key = f"{network_file}:{network.file_hash}"
    except (CtxmapError, OSError) as exc:
        st.error(f"The street network in ${NETWORK_ENV} could not be used: {exc}")
if network is None:
    st.info(
        card.estimate_notice(estimate_basis())
        + f" To use real walks, set ${NETWORK_ENV} to an OpenStreetMap extract "
        "(.osm.pbf or .osm) of the area before starting ctxmap."
    )
else:
    st.caption(
        f"Walking distances follow the streets of {network.source} "
        f"({network.n_edges:,} street segments)."
    )

# --- options
with st.sidebar:
    st.subheader("Nearby places")
    k = st.slider("How many places", 1, 10, 5, key="nearby_k")
    layer_choice = st.multiselect(
        "Kinds of place",
        ["safe_places", "youth_centres"],
        default=["safe_places", "youth_centres"],
        format_func=lambda v: card.LAYER_LABELS[v] + "s",
        key="nearby_layers",
    )
    pool = places[places["layer"].isin(layer_choice)]
    all_cats = sorted({c for c in pool["category"].map(clean_text) if c}, key=lambda c: c.lower())
    cats = st.multiselect(
        "Only these categories (empty = all)",
        all_cats,
        default=[],
        key="nearby_categories",
        help="For example police, library, pharmacy.",
    )
    st.subheader("Opening hours")
    if "nearby_date" not in st.session_state:
        now0 = dt.datetime.now(LOCAL_TZ)
        st.session_state["nearby_date"] = now0.date()
        st.session_state["nearby_time"] = now0.time().replace(second=0, microsecond=0)
    when_mode = st.radio(
        "Check whether places are open", ["Now", "At a chosen day and time"], key="nearby_when"
    )
    if when_mode == "Now":
        when = dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    else:
        day = st.date_input("Day", key="nearby_date")
        time = st.time_input("Time", key="nearby_time", step=dt.timedelta(minutes=15))
        when = dt.datetime.combine(day, time).replace(second=0, microsecond=0)
    open_only = st.checkbox(
        "Only list places open then",
        key="nearby_open_only",
        help="From OpenStreetMap opening_hours. Places whose hours are unknown are never "
        "counted as open.",
    )
    st.caption("Unknown hours are shown as “unknown”, never as open.")

# --- origin
st.subheader("Start from")
mode = st.radio(
    "Starting point", MODES, horizontal=True, key=MODE_KEY, label_visibility="collapsed"
)
origin: Origin | None = None
card_label = ""
try:
    if mode == HOME:
        located = homes[homes.geometry.notna()]
        names = dict(zip(located["id"].astype(str), located["name"].map(clean_text), strict=True))
        if not names:
            st.info("There are no homes in the store.")
        else:
            home_id = st.selectbox(
                "Home",
                list(names),
                format_func=lambda i: f"{i} — {names[i]}" if names[i] else i,
                key="nearby_home",
            )
            origin = from_place(located, home_id)
            card_label = names[home_id] or home_id
    elif mode == CONTEXT:
        ctxs = _contexts(str(path), version)
        if ctxs.empty:
            st.info(
                "No context of concern with a location has been recorded yet "
                "(see the Contexts page)."
            )
        else:
            ctx_names = dict(zip(ctxs["id"], ctxs["name"].map(clean_text), strict=True))
            cid = st.selectbox(
                "Context",
                list(ctx_names),
                format_func=lambda i: f"{i} — {ctx_names[i]}",
                key="nearby_context",
            )
            row = ctxs[ctxs["id"] == cid].iloc[0]
            origin = Origin(
                lon=float(row["lon"]), lat=float(row["lat"]), label=str(cid), kind="place"
            )
            card_label = ctx_names[cid] or str(cid)
    elif mode == SEARCH:
        frames = [layers[k_].assign(layer=k_) for k_ in SEARCH_LAYERS if len(layers[k_])]
        everything = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        everything = everything[everything.geometry.notna()] if len(everything) else everything
        text = st.text_input(
            "Name contains", key="nearby_search", placeholder="e.g. library, Riverside"
        )
        if len(everything):
            shown = everything["name"].map(clean_text)
            hit = everything[shown.str.contains(text.strip(), case=False, regex=False)]
            options = [f"{r.layer}|{r.id}" for r in hit.itertuples()]
            lookup = {f"{r.layer}|{r.id}": r for r in hit.itertuples()}
            st.caption(f"{len(options):,} matching place(s).")
            if options:
                picked = st.selectbox(
                    "Place",
                    options,
                    format_func=lambda o: (
                        f"{clean_text(lookup[o].name) or 'Unnamed place'} "
                        f"({card.LAYER_LABELS.get(lookup[o].layer, lookup[o].layer)}, "
                        f"{clean_text(lookup[o].category)})"
                    ),
                    key="nearby_search_pick",
                )
                layer_name, pid = picked.split("|", 1)
                origin = from_place(layers[layer_name], pid)
                card_label = clean_text(lookup[picked].name) or pid
    elif mode == COORDS:
        typed = st.text_input(
            "Latitude, longitude — or British National Grid easting, northing",
            key="nearby_coords",
            placeholder="52.6309, 1.2974   or   623000, 308500",
        )
        st.caption(
            "Latitude and longitude in degrees, or easting and northing in metres. "
            "Swapped latitude/longitude and grid metres are detected and said."
        )
        if typed.strip():
            origin = parse_point(typed)
            card_label = origin.label
    elif mode == POSTCODE:
        st.caption(
            "Postcodes are never looked up online. Upload an ONS Postcode Directory CSV "
            "(columns pcds or pcd, lat, long — a file cut down to your area is fine) or give "
            "the path of one on this server."
        )
        c1, c2 = st.columns(2)
        upload = c1.file_uploader(
            "Postcode directory (CSV)", type=["csv"], key="nearby_onspd_upload"
        )
        onspd_path = c2.text_input("…or its path on the server", key="nearby_onspd_path")
        code = st.text_input("Postcode", key="nearby_postcode", placeholder="NR2 1AB")
        directory = _postcode_file(upload) if upload is not None else onspd_path.strip()
        if code.strip():
            if not directory:
                st.warning("Add a postcode directory first (upload or path).")
            else:
                origin = lookup_postcode(directory, code)
                card_label = origin.label
    else:  # CLICK
        clicked = st.session_state.get(CLICK_KEY)
        if clicked:
            lat, lon = clicked
            origin = Origin(lon=lon, lat=lat, label=f"{lat:.5f}, {lon:.5f}")
            card_label = origin.label
        else:
            st.info("Click on the map below to choose a starting point.")
except InputError as exc:
    st.error(str(exc))
    origin = None

if origin is not None and origin.note:
    st.warning(f"Note: {origin.note}")
if origin is not None and mode in (COORDS, POSTCODE, CLICK):
    st.caption(f"Starting at latitude {origin.lat:.5f}, longitude {origin.lon:.5f}.")

# --- nearest places
rows: gpd.GeoDataFrame | None = None
if origin is not None and not layer_choice:
    st.warning("Choose at least one kind of place in the sidebar.")
elif origin is not None:
    when_iso = when.isoformat(sep=" ", timespec="minutes")
    key = (
        str(path),
        version,
        round(origin.lon, 6),
        round(origin.lat, 6),
        int(k),
        tuple(layer_choice),
        tuple(cats) or None,
        when_iso,
        bool(open_only),
        network_key,
    )
    rows = _nearest(*key, _places=places, _network=network)
    st.subheader(f"Nearest {len(rows)} place(s)")
    st.caption(
        f"Open or closed at {card.when_text(when)}"
        + (" (only places open then are listed)" if open_only else "")
        + ". Walking pace 4.8 km/h."
    )
    if rows.empty:
        st.warning("No place matches these choices. Try more kinds, categories or times.")
    table = card.nearby_table(rows)
    if network is None:
        table = table.drop(columns=["Walk (m)"])
    show_table(table)
    unlocated = int(rows.attrs.get("unlocated_places", 0) or 0)
    if unlocated:
        st.caption(f"{unlocated:,} place(s) have no location and could not be considered.")

# --- results map (click to choose a point)
if rows is not None and origin is not None:
    context = {
        kind: layers[kind] for kind in ("safe_places", "youth_centres") if kind in layer_choice
    }
    areas = layers["areas"]
    if len(areas) and "level" in areas.columns:  # outlines help when the basemap is blocked
        context["areas"] = areas[areas["level"].isin(["district", "ward"])]
    results_map = card.nearby_map(origin, rows, places=places, context=context)
else:
    results_map = build_map({kind: layers[kind] for kind in ("safe_places", "youth_centres")})
st.caption(
    "Click anywhere on the map to start from there. Numbers match the list; blue dots are "
    "other safe places, green dots other youth centres. "
    + (
        "Dashed lines are straight lines (estimate), not routes."
        if network is None
        else "Lines are walking routes along the streets."
    )
)
st_folium(
    results_map,
    key=MAP_KEY,
    height=520,
    use_container_width=True,
    returned_objects=["last_clicked"],
    on_change=_on_click,
)

# --- printable card
if rows is not None and origin is not None and len(rows):
    st.subheader("Printable card")
    st.caption(
        "One A4 page: the map and the list with names, addresses, opening hours and walking "
        "times. For a home it shows the home's name but not its address; the start is marked "
        "“Start”. It has no place for a young person's name."
    )
    card_html = _card(key, card_label, when_iso, _rows=rows, _origin=origin, _places=places)
    export_button(
        "Download the “safe places near …” card (HTML, opens offline; print from the browser)",
        card_html,
        file_name=card.card_file_name(dt.date.today()),
        mime="text/html",
        what=f"safe-places card, {len(rows)} places",
        key="nearby_card_download",
    )

# --- coverage
st.divider()
st.subheader("Coverage: can every home walk to help?")
c1, c2 = st.columns(2)
minutes = c1.slider(
    "Walking time threshold (minutes)", 5, 30, int(DEFAULT_MINUTES), key="nearby_minutes"
)
cov_open = c2.checkbox(
    f"Count only safe places open at {card.when_text(when)}",
    key="nearby_cov_open",
    help="Otherwise every safe place counts whatever its hours.",
)
safe = layers["safe_places"]
youth = layers["youth_centres"]
if homes.empty:
    st.info("There are no homes in the store.")
else:
    cov_when = when.isoformat(sep=" ", timespec="minutes") if cov_open else None
    cov, area = _coverage(
        str(path),
        version,
        float(minutes),
        cov_when,
        network_key,
        _homes=homes,
        _safe=safe,
        _youth=youth,
        _network=network,
    )
    gaps = cov[cov["gap"].fillna(False).astype(bool)]
    youth_gaps = cov[cov["youth_gap"].fillna(False).astype(bool)]
    m1, m2, m3 = st.columns(3)
    m1.metric("Homes", f"{len(cov):,}")
    m2.metric(f"No safe place within {minutes} min", f"{len(gaps):,}")
    m3.metric(f"No youth centre within {minutes} min", f"{len(youth_gaps):,}")
    if len(gaps):
        st.warning(
            f"Homes with no {'open ' if cov_open else ''}safe place within {minutes} minutes' "
            "walk: "
            + ", ".join(
                f"{r.home_id} ({clean_text(r.name) or 'unnamed'})" for r in gaps.itertuples()
            )
        )
    else:
        st.success(
            f"Every home has a {'open ' if cov_open else ''}safe place within "
            f"{minutes} minutes' walk."
        )
    shown_cov = pd.DataFrame(
        {
            "Home": cov["home_id"],
            "Name": cov["name"].map(clean_text),
            "Nearest safe place": cov["safe_place_name"].map(clean_text),
            "Walk to safe place (min)": cov["safe_walk_min"].round(1),
            "Nearest youth centre": cov["youth_centre_name"].map(clean_text),
            "Walk to youth centre (min)": cov["youth_walk_min"].round(1),
            "Gap (safe place)": cov["gap"].map({True: "yes", False: "no"}).fillna("no location"),
            "Gap (youth centre)": cov["youth_gap"]
            .map({True: "yes", False: "no"})
            .fillna("no location"),
        }
    )
    show_table(shown_cov)
    if network is None:
        st.caption(card.estimate_notice(estimate_basis()))
    if st.toggle("Show the area within the walk on a map", key="nearby_cov_map"):
        counted = safe
        if cov_open:
            counted = open_places(safe, when)
        draw_map(
            card.coverage_map(homes, cov, area, counted), key="nearby_coverage_map", height=520
        )
        st.caption(
            f"Shaded: within {minutes} minutes' walk of a{'n open' if cov_open else ''} safe "
            "place"
            + (" (circles from the straight-line estimate)." if network is None else ".")
            + " Red: homes with none within the walk; green: homes within it."
        )
attribution_caption()
