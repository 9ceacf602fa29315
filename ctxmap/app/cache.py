"""The store's layers for the pages, cached until a layer changes; masked in the meeting view.

Layers are cached as *resources*: one read-only copy in memory, never pickled per rerun
(at a million incidents unpickling a ``cache_data`` copy took 3.4 s a rerun). Pages never
change them in place: every ctxmap function copies what it changes. Nothing identifiable
is cached across users beyond the store's own layers, which every signed-in user of this
installation may already read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import streamlit as st

from ctxmap.app.audit import audit_once
from ctxmap.app.meeting_view import mask_settings, meeting_view, view_params
from ctxmap.app.session import open_session_store, session_store_exists, store_target, store_version
from ctxmap.cases.consent import mask_location
from ctxmap.cases.records import ContextBundle, context_area
from ctxmap.cases.repository import get_context
from ctxmap.errors import CtxmapError
from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.privacy.disclosure import neighbourhood
from ctxmap.privacy.shared_view import MaskSettings, focus_on_area, mask_layers
from ctxmap.store.opening import describe_target, open_store


@st.cache_resource(show_spinner="Reading the store…", max_entries=4)
def _load_layers(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    store = open_store(path, create=False)
    return {kind: store.read(kind) for kind in LAYER_KINDS}


def store_layers(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    """The store's layers at ``version``: one shared, read-only copy (read once, never pickled).

    For cached analyses that read layers themselves (the Locations of concern page's): they
    get the same copy :func:`load_layers` gives the pages, instead of a second read.
    """
    return _load_layers(path, version)


@st.cache_resource(show_spinner="Masking the layers…", max_entries=4)
def _load_masked(path: str, version: float, settings: MaskSettings) -> dict[str, gpd.GeoDataFrame]:
    return mask_layers(_load_layers(path, version), settings)


@st.cache_resource(show_spinner=False, max_entries=32)
def _cached(key: tuple[Any, ...], _build: Callable[[], Any]) -> Any:
    return _build()


def cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Return ``build()``, computed once per ``key`` (plus the store and its version).

    For derived results that are expensive (filtered incidents, aggregated map
    layers): a filter change computes only what its key says changed, and coming
    back to an earlier filter costs nothing. The result is shared read-only.
    """
    target = store_target()
    return _cached((target, store_version(target), *_view_key(), *key), build)


def _view_key() -> tuple[Any, ...]:
    """What the cached results depend on besides the store: the meeting view and its focus.

    In the meeting view the layers are masked and focused on the link's ``area`` or
    ``context``, so every derived result (the incident index, counts) is kept per focus:
    changing the area changes the incidents, not only the places.
    """
    if not meeting_view():
        return (False,)
    params = view_params()
    return (True, params.area, params.context)


def raw_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the session's store, unmasked; stops the page when there is no store.

    Only for what is public or masked afterwards (the meeting chrome's wards); pages
    use :func:`load_layers`.
    """
    target = store_target()
    try:
        exists = session_store_exists()
    except CtxmapError as exc:
        st.error(str(exc))
        st.stop()
        raise
    if not exists:
        st.error(f"No store at {describe_target(target)}. Build the bundled sample with "
                 "`python scripts/build_sample.py`, or import a layer on the Import page.")
        st.stop()
    try:
        return _load_layers(target, store_version(target))
    except CtxmapError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() raises


def load_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the session's store, cached until a layer changes.

    In the meeting view (always, for meeting viewers) the layers are masked
    (:func:`ctxmap.privacy.shared_view.mask_layers`): homes are areas, incidents are in squares,
    names and notes are gone; a link's ``area``/``context`` keeps one area at a time.
    Otherwise the unmasked layers are returned and the view is audited once a session.
    """
    raw = raw_layers()
    if meeting_view():
        target = store_target()
        masked = _load_masked(target, store_version(target), mask_settings())
        return _focus(masked, raw)
    shown = ", ".join(f"{kind} {len(frame)}" for kind, frame in raw.items() if len(frame))
    audit_once("view unmasked", f"layers with homes as points and incidents with locations "
               f"({shown})")
    return raw


def _focus(
    masked: dict[str, gpd.GeoDataFrame], raw: dict[str, gpd.GeoDataFrame]
) -> dict[str, gpd.GeoDataFrame]:
    params = view_params()
    areas = raw.get("areas")
    if areas is None or areas.empty:
        return masked
    if params.area:
        chosen = areas[areas["id"].astype("object") == params.area]
        return focus_on_area(masked, chosen)
    if params.context:
        try:
            ctx = get_context(open_session_store(), params.context)
            shown = mask_location(ContextBundle(context=ctx))
            square = shown.context.geometry
            # a home: the wards its square's neighbourhood touches, the same wherever the
            # home is in its square (its own circle would say which side it is on)
            shape = (neighbourhood(square, ctx.radius_m)
                     if shown.location_masked and square is not None
                     else context_area(ctx.geometry, ctx.radius_m))
        except CtxmapError:
            return masked
        if shape is None:
            return masked
        # whole wards around the context: never the context's own circle (a home's centre)
        wards = areas[areas["level"].astype("object") == "ward"]
        near = wards[wards.intersects(shape)]
        return focus_on_area(masked, near if not near.empty else wards)
    return masked


def invalidate_layers() -> None:
    """Forget cached layers (after an import)."""
    _load_layers.clear()
    _load_masked.clear()
    _cached.clear()
