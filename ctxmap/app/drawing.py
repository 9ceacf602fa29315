"""Maps on a page: the layers map (masked in the meeting view) drawn with streamlit-folium.

Panning and zooming never rerun the page; in the meeting view maps are taller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from ctxmap.analysis.areas import StudyArea
from ctxmap.app.concern_work import study_area_or_none
from ctxmap.app.meeting_view import (
    MEETING_TYPE_SCALE,
    map_container_key,
    mask_settings,
    meeting_view,
    view_params,
)
from ctxmap.app.session import store_target, store_version
from ctxmap.maps.access import LargeType
from ctxmap.maps.base import MapOptions
from ctxmap.maps.interactive import layer_control
from ctxmap.maps.layers import build_map
from ctxmap.maps.masked_map import build_meeting_map

MAP_HEIGHT: Final = 620
MEETING_MAP_HEIGHT: Final = 760


def page_study_area() -> StudyArea | None:
    """The session store's study area (cached per store version), or ``None`` when unset."""
    target = store_target()
    return study_area_or_none(target, store_version(target))


def map_options(**fields: Any) -> MapOptions:
    """A page map's :class:`~ctxmap.maps.base.MapOptions`: ``fields`` and the study area.

    The store's study area is outlined on every map and named in its legend.
    """
    return MapOptions(study_area=page_study_area(), **fields)


def layers_map(
    view: dict[str, gpd.GeoDataFrame], options: MapOptions | None = None, **extra: Any
) -> Any:
    """The folium map of ``view``: masked and counted per square in the meeting view.

    ``options`` default to :func:`map_options` (the study area outlined).
    """
    options = options or map_options()
    if meeting_view():
        params = view_params()
        if params.zoom is not None and options.zoom is None:
            options = dataclasses.replace(options, zoom=params.zoom)
        m = build_meeting_map(view, mask_settings(), options)
        LargeType(MEETING_TYPE_SCALE).add_to(m)
        return m
    return build_map(view, options, **extra)


def draw_map(m: Any, *, key: str, height: int = MAP_HEIGHT, groups: Sequence[Any] = ()) -> None:
    """Draw a folium map with streamlit-folium; panning and zooming never rerun the page.

    ``groups`` (folium feature groups) are swapped into the drawn map without redrawing
    it (streamlit-folium's ``feature_group_to_add``), so a filter that changes only them
    keeps the user's pan and zoom; build ``m`` with ``layer_control=False``: the control
    is added here, with the groups listed.
    """
    dynamic: dict[str, Any] = {}
    if groups:
        dynamic = {"feature_group_to_add": list(groups), "layer_control": layer_control()}
    if meeting_view():  # sized by the meeting CSS to the window (see ctxmap.app.meeting_view)
        with st.container(key=map_container_key(key)):
            st_folium(m, key=key, height=max(height, MEETING_MAP_HEIGHT),
                      use_container_width=True, returned_objects=[], **dynamic)
        return
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[],
              **dynamic)
