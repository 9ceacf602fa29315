"""Widgets every page shares: tables and Markdown shown as text, attributions, the assets check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from ctxmap import settings
from ctxmap.app.session import session_is_sample
from ctxmap.errors import CtxmapError
from ctxmap.maps.assets import check_vendor
from ctxmap.settings import SettingsError


def show_table(frame: pd.DataFrame, *, column_config: Mapping[str, Any] | None = None) -> None:
    """Show a table; cells are rendered as text, never as HTML or Markdown.

    ``column_config``: Streamlit column settings (e.g. a number format), by column name.
    """
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config)


#: The attributions the licences require (every store).
ATTRIBUTIONS = (
    "Crime data: Contains public sector information licensed under the Open Government "
    "Licence v3.0 (police.uk). Places: © OpenStreetMap contributors (ODbL). Boundaries: "
    "Contains National Statistics data © Crown copyright and database right 2014. Contains "
    "Ordnance Survey data © Crown copyright and database right 2014."
)
#: Said only when the store carries the bundled sample's mark.
SAMPLE_HOMES_NOTE = "Homes in the sample are fictional."


def attribution_caption() -> None:
    """The data attributions the licences require.

    The fictional-homes note is added only for the store marked as the bundled sample
    (:func:`ctxmap.app.session.session_is_sample`).
    """
    text = ATTRIBUTIONS + (" " + SAMPLE_HOMES_NOTE if session_is_sample() else "")
    st.caption(text)


def check_settings() -> None:
    """Stop with one clear message when a ``CTXMAP_*`` setting or the secrets file is bad."""
    try:
        settings.load()
    except SettingsError as exc:
        st.error(f"ctxmap is not configured correctly: {exc}")
        st.stop()


def check_assets() -> None:
    """Stop with a clear message when the map's JavaScript/CSS were not installed."""
    try:
        check_vendor()
    except CtxmapError as exc:
        st.error(f"The map cannot be drawn: {exc}")
        st.stop()
