"""The meeting view's chrome: whether it is on, its sidebar switch, large type and banner.

The meeting view is the masked presentation for screen sharing (always on for meeting
viewers). Its link holds only view parameters (:class:`ctxmap.privacy.links.ViewParams`),
never personal data.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import streamlit as st

from ctxmap.app.signin import current_user, sign_out
from ctxmap.errors import CtxmapError
from ctxmap.privacy import roles as auth
from ctxmap.privacy.links import ViewParams, parse_view_params
from ctxmap.privacy.shared_view import MASKED_BANNER, MaskSettings
from ctxmap.text import esc_plain

#: Session-state key of the sidebar switch.
KEY_MEETING: Final = "ctxmap_meeting_toggle"
#: Query parameters of a meeting link, all dropped when the view is left.
_VIEW_KEYS: Final = ("view", "context", "area", "zoom", "layers")

#: Type in the meeting view, relative to the normal pages (WCAG-minded: at least 1.25).
MEETING_TYPE_SCALE: Final = 1.3
#: Session-state key of the presenter switch (not in the link: it is the presenter's own).
KEY_PRESENTER: Final = "ctxmap_presenter"
#: The container keys the meeting CSS targets (Streamlit gives them ``st-key-<key>`` classes).
BAR_KEY: Final = "ctxmap_meeting_bar"
MAP_KEY_PREFIX: Final = "ctxmap_meeting_map"
#: Height of the map in the meeting view, as a share of the window (presenter: the rest
#: of the window under the banner).
MEETING_MAP_VH: Final = 72
PRESENTER_MAP_VH: Final = 84

_MAIN = '[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]'
_MAP = f'[class*="st-key-{MAP_KEY_PREFIX}"]'
_BAR = f":is(.st-key-{BAR_KEY}, :has(.st-key-{BAR_KEY}))"
_MEETING_CSS: Final = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="collapsedControl"], [data-testid="stSidebarNav"],
header[data-testid="stHeader"], [data-testid="stToolbar"] {{ display: none !important; }}
[data-testid="stMainBlockContainer"], .block-container {{
  max-width: 100% !important; padding: 0.5rem 1.2rem 0.5rem 1.2rem !important; }}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {{
  font-size: {MEETING_TYPE_SCALE}rem !important; }}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {{
  font-size: {0.875 * MEETING_TYPE_SCALE:.3f}rem !important; }}
[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label,
[data-testid="stSelectbox"] input, .stButton button p {{
  font-size: {0.875 * MEETING_TYPE_SCALE:.3f}rem !important; }}
h1 {{ font-size: {2.75 * MEETING_TYPE_SCALE:.3f}rem !important;
  padding-top: 0.2rem !important; padding-bottom: 0.2rem !important; }}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p {{
  font-size: {2.25 * MEETING_TYPE_SCALE:.3f}rem !important; }}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p {{
  font-size: {0.875 * MEETING_TYPE_SCALE:.3f}rem !important; }}
.ctxmap-meeting-banner {{ background: #fff3cd; color: #3d2b00; border: 3px solid #b8860b;
  border-radius: 6px; padding: 0.35rem 0.9rem; font-size: {MEETING_TYPE_SCALE}rem;
  font-weight: 600; line-height: 1.35; }}
/* the banner bar first, then the map, then the rest of the page (CSS order only: the
   reading and tab order stay the page's) */
{_MAIN} > {_BAR} {{ order: -2; }}
{_MAIN} > *:has({_MAP}) {{ order: -1; }}
{_MAP} iframe {{ height: {MEETING_MAP_VH}vh !important; }}
</style>
"""
#: Added in presenter mode: only the banner bar and the map (with its legend) stay.
_PRESENTER_CSS: Final = f"""
<style>
{_MAIN} > *:not({_BAR}):not(:has({_MAP})) {{ display: none !important; }}
.st-key-{BAR_KEY} .st-key-ctxmap_meeting_controls {{ display: none !important; }}
{_MAP} iframe {{ height: {PRESENTER_MAP_VH}vh !important; }}
</style>
"""


def view_params() -> ViewParams:
    """The view parameters of the page's link (only the view, never personal data)."""
    return parse_view_params({k: st.query_params.get(k, "") for k in st.query_params})


def meeting_view() -> bool:
    """True when the masked meeting view is on (always for meeting viewers)."""
    if current_user().role == auth.MEETING_VIEWER:
        return True
    return st.query_params.get("view") == "meeting"


def editing_allowed() -> bool:
    """False in the meeting view: pages skip their editing forms then."""
    return not meeting_view()


def mask_settings() -> MaskSettings:
    """The masking settings of this installation (environment, see ctxmap.privacy.shared_view)."""
    try:
        return MaskSettings.from_env()
    except CtxmapError as exc:
        st.error(f"Masking settings: {exc}")
        st.stop()
        raise


def _toggle_changed() -> None:
    if st.session_state.get(KEY_MEETING):
        st.query_params["view"] = "meeting"
    else:
        for key in _VIEW_KEYS:
            st.query_params.pop(key, None)


def meeting_toggle() -> bool:
    """The sidebar switch of the meeting view; it writes ``view=meeting`` to the link."""
    user = current_user()
    if user.role == auth.MEETING_VIEWER:
        st.caption("Meeting view: masked views only (your role).")
        return True
    st.session_state[KEY_MEETING] = meeting_view()
    st.toggle("Meeting view (masked, for screen sharing)", key=KEY_MEETING,
              on_change=_toggle_changed,
              help="Large type, no sidebar or editing, homes as areas, small counts hidden. "
              "The link then holds only the view.")
    return meeting_view()


def _leave_meeting() -> None:
    st.session_state[KEY_MEETING] = False
    _toggle_changed()


def _area_choice(column: st.delta_generator.DeltaGenerator, areas: gpd.GeoDataFrame) -> None:
    """"One area at a time": the wards of ``areas`` (public boundaries), kept in the link."""
    wards = areas[areas["level"].astype("object") == "ward"].sort_values("name")
    ids = ["", *wards["id"].astype(str).tolist()]
    names = dict(zip(wards["id"].astype(str), wards["name"].astype(str), strict=True))
    current = view_params().area or ""
    chosen = column.selectbox(
        "Area", ids, index=ids.index(current) if current in ids else 0,
        format_func=lambda i: names.get(i, "Whole district") if i else "Whole district",
        key="ctxmap_meeting_area",
    )
    if chosen != current:
        if chosen:
            st.query_params["area"] = chosen
        else:
            st.query_params.pop("area", None)
        st.rerun()


def presenter_mode() -> bool:
    """True when the presenter switch is on (in the meeting view only)."""
    return meeting_view() and bool(st.session_state.get(KEY_PRESENTER))


def map_container_key(key: str) -> str:
    """The key of the container a meeting map is drawn in (the meeting CSS sizes it)."""
    return f"{MAP_KEY_PREFIX}_{key}"


def meeting_chrome(areas: gpd.GeoDataFrame | None) -> None:
    """In the meeting view: the large-type CSS, the banner, the area choice and a way out.

    Call once per run (app.py does), with the store's areas layer (unmasked: its wards
    are public boundaries offered as "one area at a time"). Does nothing outside the
    meeting view. The banner bar holds the presenter switch: on, everything but the
    banner and the map (with its legend) is hidden and the map takes the window.
    """
    if not meeting_view():
        return
    settings = mask_settings()
    st.html(_MEETING_CSS)
    if st.session_state.get(KEY_PRESENTER):
        st.html(_PRESENTER_CSS)
    banner = MASKED_BANNER.format(threshold=settings.threshold)
    with st.container(key=BAR_KEY):
        top = st.columns([5, 1], vertical_alignment="center")
        top[0].markdown(f'<div class="ctxmap-meeting-banner" role="note">{esc_plain(banner)}'
                        "</div>", unsafe_allow_html=True)
        top[1].toggle("Presenter mode", key=KEY_PRESENTER,
                      help="Only the banner and the map (with its legend) stay on screen, "
                      "the map as large as the window allows.")
        with st.container(key="ctxmap_meeting_controls"):
            cols = st.columns([3, 1], vertical_alignment="bottom")
            if areas is not None and not areas.empty:
                _area_choice(cols[0], areas)
            user = current_user()
            if user.role != auth.MEETING_VIEWER:
                cols[1].button("Leave meeting view", on_click=_leave_meeting,
                               key="ctxmap_leave_meeting")
            elif user.method in ("password", "oidc"):  # their sidebar is hidden: sign out here
                cols[1].button("Sign out", on_click=sign_out, key="ctxmap_meeting_sign_out")
