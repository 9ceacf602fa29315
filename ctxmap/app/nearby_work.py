"""The Nearby page's cached work: the walking network, nearest places, coverage and the card.

Keyed by the store and its layers' version plus hashable questions
(:class:`ctxmap.nearby.query.NearestQuery`); frames passed with a leading underscore
are not hashed (they follow from the key).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap import settings
from ctxmap.analysis.areas import StudyArea
from ctxmap.cases.tables import located_contexts
from ctxmap.errors import CtxmapError
from ctxmap.maps.nearby import nearby_map
from ctxmap.nearby.coverage import coverage_area, home_coverage
from ctxmap.nearby.network import WalkNetwork, load_network
from ctxmap.nearby.origins import Origin
from ctxmap.nearby.query import NearestQuery, answer
from ctxmap.nearby.walking import estimate_basis
from ctxmap.reports import card
from ctxmap.store.opening import open_store

#: Label of the status box shown while a walking network is built.
BUILDING_LABEL = "Building the walking network (only the first time)…"


@dataclass
class _NetworkSlot:
    """One network file's built network, shared by every session of this server."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    network: WalkNetwork | None = None


@st.cache_resource(show_spinner=False)
def _network_slot(path: str, mtime: float) -> _NetworkSlot:
    # No element is drawn in here: Streamlit replays a cached function's elements in every
    # later session, which left the "Building…" box showing after the results.
    return _NetworkSlot()


def _network(path: str, mtime: float) -> WalkNetwork:
    """The network of ``path``, built once per file (its progress shown only while built)."""
    slot = _network_slot(path, mtime)
    with slot.lock:  # a second session waits for the first build instead of repeating it
        if slot.network is None:
            with st.status(BUILDING_LABEL) as status:
                slot.network = load_network(
                    path, progress=lambda stage, n: status.write(f"{n:,} {stage}"))
                status.update(label="Walking network ready", state="complete",
                              expanded=False)
        return slot.network


def walking_network() -> tuple[WalkNetwork | None, str]:
    """The network of ``$CTXMAP_NETWORK`` and its cache key, said on the page.

    ``(None, "")`` when it is not set or cannot be used (walks are then estimated).
    """
    network: WalkNetwork | None = None
    key = ""
    configured = settings.load().network
    path = str(configured) if configured else ""
    if path:
        try:
            network = _network(path, os.stat(path).st_mtime)
            key = f"{path}:{network.file_hash}"
        except (CtxmapError, OSError) as exc:
            st.error(f"The street network in ${settings.NETWORK} could not be used: {exc}")
    if network is None:
        st.info(card.estimate_notice(estimate_basis())
                + f" To use real walks, set ${settings.NETWORK} to an OpenStreetMap extract "
                "(.osm.pbf or .osm) of the area before starting ctxmap.")
    else:
        st.caption(f"Walking distances follow the streets of {network.source} "
                   f"({network.n_edges:,} street segments).")
    return network, key


@st.cache_data(show_spinner=False, max_entries=16)
def contexts_with_location(store: str, version: float) -> pd.DataFrame:
    """Contexts with a location: id, name, lon, lat (empty when the store has none)."""
    return located_contexts(open_store(store, create=False))


@st.cache_data(show_spinner="Finding the nearest places…", max_entries=64)
def nearest(store: str, version: float, query: NearestQuery, _places: gpd.GeoDataFrame,
            _network: WalkNetwork | None) -> gpd.GeoDataFrame:
    """The answer to ``query`` (``_places`` and ``_network`` follow from the other keys)."""
    return answer(query, _places, _network)


@st.cache_data(show_spinner="Working out coverage…", max_entries=16)
def coverage(store: str, version: float, minutes: float, when_iso: str | None,
             network_key: str, _layers: dict[str, gpd.GeoDataFrame],
             _network: WalkNetwork | None) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Each home's walk to help, and the area within ``minutes`` of a safe place."""
    when = dt.datetime.fromisoformat(when_iso) if when_iso else None
    safe = _layers["safe_places"]
    table = home_coverage(_layers["homes"], safe, _layers["youth_centres"], minutes=minutes,
                          when=when, network=_network)
    area = coverage_area(safe, minutes=minutes, when=when, network=_network)
    return table, area


@st.cache_data(show_spinner="Making the card…", max_entries=16)
def card_html(key: tuple[object, ...], label: str, when_iso: str, _rows: gpd.GeoDataFrame,
              _origin: Origin, _places: gpd.GeoDataFrame,
              _study_area: StudyArea | None = None) -> str:
    """The printable "safe places near …" card (HTML), the study area outlined on its map."""
    m = nearby_map(_origin, _rows, places=_places, study_area=_study_area)
    basis = str(_rows["walk_basis"].iloc[0]) if len(_rows) else estimate_basis()
    return card.safe_places_card_html(label, _rows, m, dt.datetime.fromisoformat(when_iso),
                                      basis)
