"""The one thin module that imports streamlit: sign-in, roles, meeting view, caching, audit.

Pages read widgets, call :mod:`ctxmap` functions (through the cached loaders here)
and draw. Nothing identifiable is cached across users beyond the store's own layers,
which every signed-in user of this installation may already read.

- :func:`current_user` / :func:`sign_in`: who is using the app (OIDC, local
  passwords, or a local analyst when nothing is configured).
- :func:`meeting_view`: True when the masked presentation is on (always for
  meeting viewers); :func:`load_layers` then returns masked layers, so every page
  is masked without doing anything.
- :func:`audit`: append to the audit log (exports, views of unmasked data).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.errors import CtxmapError
from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.maps.layers import build_map
from ctxmap.privacy import roles as auth
from ctxmap.privacy.audit import LEGAL_BASES, record
from ctxmap.privacy.meeting import (
    MASKED_BANNER,
    MaskSettings,
    ViewParams,
    build_meeting_map,
    focus_on_area,
    mask_layers,
    parse_view_params,
)
from ctxmap.store.geopackage import DEFAULT_STORE_PATH
from ctxmap.store.opening import describe_target, open_store, resolve_target, store_exists
from ctxmap.store.postgis import is_pg_url
from ctxmap.store.protocol import Store

#: Session-state keys, all in one place.
KEY_STORE = "ctxmap_store_path"
KEY_USER = "ctxmap_user"
KEY_MEETING = "ctxmap_meeting_toggle"
KEY_BASIS = "ctxmap_legal_basis"
KEY_AUDITED = "ctxmap_audited"
MAP_HEIGHT = 620
MEETING_MAP_HEIGHT = 760
DEFAULT_VIEW_BASIS = "public task"

_MEETING_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="collapsedControl"], [data-testid="stSidebarNav"],
header[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMainBlockContainer"], .block-container {
  max-width: 100% !important; padding: 0.6rem 1.2rem 0.6rem 1.2rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.3rem !important; }
h1 { font-size: 2.1rem !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
.ctxmap-meeting-banner { background: #fff3cd; color: #3d2b00; border: 3px solid #b8860b;
  border-radius: 6px; padding: 0.4rem 0.9rem; font-size: 1.15rem; font-weight: 600;
  margin-bottom: 0.2rem; }
h1 { padding-top: 0.2rem !important; padding-bottom: 0.2rem !important; }
</style>
"""


# --------------------------------------------------------------------------- store


def store_target() -> str:
    """The store this session uses: a GeoPackage path or a ``postgresql://`` URL.

    ``--store``-like settings as :func:`ctxmap.store.opening.resolve_target`: ``$CTXMAP_STORE``,
    then ``[ctxmap] store`` in ``.streamlit/secrets.toml``, then the bundled sample.
    """
    if KEY_STORE not in st.session_state:
        st.session_state[KEY_STORE] = str(resolve_target(None))
    return str(st.session_state[KEY_STORE])


def store_path() -> Path:
    """The session's store as a path (only meaningful for the embedded store)."""
    return Path(store_target())


def session_store_exists() -> bool:
    """Whether the session's store exists (a PostgreSQL store is asked, never created)."""
    return store_exists(store_target())


def store_label() -> str:
    """The session's store for messages (a URL's password hidden)."""
    return describe_target(store_target())


def open_session_store(*, create: bool = False) -> Store:
    """Open the session's store (embedded or PostgreSQL); ``create`` makes a missing one."""
    return open_store(store_target(), create=create)


def store_version(path: str | os.PathLike[str]) -> float:
    """A value that changes whenever a *layer* of the store changes (cache key).

    Embedded store: the layers' ``last_change`` in ``gpkg_contents`` and the import log.
    PostgreSQL store: the newest import id and the last layer write
    (:meth:`ctxmap.store.postgis.PostGISStore.layers_version`). Writing the audit log or contexts
    does not throw the cached layers away.
    """
    if is_pg_url(str(path)):
        try:
            mark = open_store(str(path), create=False).layers_version()
        except CtxmapError:
            return 0.0
        return float(int(hashlib.sha256(mark.encode()).hexdigest()[:12], 16))
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return 0.0
    try:
        marks = ",".join("?" * len(LAYER_KINDS))
        last = con.execute(
            f"SELECT group_concat(table_name || last_change) FROM gpkg_contents "
            f"WHERE table_name IN ({marks})",
            LAYER_KINDS,
        ).fetchone()[0]
        imports = con.execute("SELECT max(id) FROM ctxmap_imports").fetchone()[0]
    except sqlite3.Error:
        try:
            return os.stat(path).st_mtime_ns / 1e9
        except OSError:
            return 0.0
    finally:
        con.close()
    digest = hashlib.sha256(f"{last}|{imports}".encode()).hexdigest()
    return float(int(digest[:12], 16))


# Layers are cached as *resources*: one read-only copy in memory, never pickled per
# rerun (at a million incidents unpickling a cache_data copy took 3.4 s a rerun).
# Pages never change them in place: every ctxmap function copies what it changes.
@st.cache_resource(show_spinner="Reading the store…", max_entries=4)
def _load_layers(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    store = open_store(path, create=False)
    return {kind: store.read(kind) for kind in LAYER_KINDS}


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
    return _cached((target, store_version(target), meeting_view(), *key), build)


def _raw_layers() -> dict[str, gpd.GeoDataFrame]:
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


def mask_settings() -> MaskSettings:
    """The masking settings of this installation (environment, see ctxmap.privacy.meeting)."""
    try:
        return MaskSettings.from_env()
    except CtxmapError as exc:
        st.error(f"Masking settings: {exc}")
        st.stop()
        raise


def load_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the session's store, cached until a layer changes.

    In the meeting view (always, for meeting viewers) the layers are masked
    (:func:`ctxmap.privacy.meeting.mask_layers`): homes are areas, incidents are in squares,
    names and notes are gone; a link's ``area``/``context`` keeps one area at a time.
    Otherwise the unmasked layers are returned and the view is audited once a session.
    """
    raw = _raw_layers()
    if meeting_view():
        target = store_target()
        masked = _load_masked(target, store_version(target), mask_settings())
        return _focus(masked, raw)
    audit_once("view unmasked", "layers with homes as points and incidents with locations")
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
            from ctxmap.cases.records import context_area
            from ctxmap.cases.repository import get_context

            ctx = get_context(open_session_store(), params.context)
            shape = context_area(ctx.geometry, ctx.radius_m)
        except (CtxmapError, ImportError, sqlite3.Error):
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


def check_assets() -> None:
    """Stop with a clear message when the map's JavaScript/CSS were not installed."""
    from ctxmap.maps.assets import check_vendor

    try:
        check_vendor()
    except CtxmapError as exc:
        st.error(f"The map cannot be drawn: {exc}")
        st.stop()


# --------------------------------------------------------------------------- users


def _secrets_section(name: str) -> dict[str, Any] | None:
    try:
        if name in st.secrets:
            return dict(st.secrets[name])
    except Exception:  # no secrets.toml at all: StreamlitSecretNotFoundError
        return None
    return None


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section."""
    return _secrets_section("auth") is not None


def _users() -> dict[str, auth.UserRecord]:
    try:
        return auth.read_users(auth.users_file_path())
    except CtxmapError as exc:
        st.error(f"Users file: {exc}")
        st.stop()
        raise


def sign_in() -> auth.User:
    """Return the current user, showing the sign-in screen (and stopping) if needed.

    Order: OpenID Connect when configured; else a user signed in this session with
    a local password; else the sign-in form when a users file exists; else the
    local analyst (or, for tests only, ``$CTXMAP_TEST_ROLE``, see :mod:`ctxmap.privacy.roles`).
    """
    if oidc_configured():
        if not getattr(st.user, "is_logged_in", False):
            st.title("ctxmap")
            st.write("Sign in with your organisation's account to continue.")
            st.button("Sign in", on_click=st.login, type="primary")
            st.stop()
        email = str(getattr(st.user, "email", "") or "")
        user = auth.User(email or "signed-in user", auth.role_for_identity(_users(), email),
                         "oidc")
        st.session_state[KEY_USER] = user
        return user
    existing = st.session_state.get(KEY_USER)
    if isinstance(existing, auth.User):
        return existing
    users = _users()
    if users:
        _password_form(users)
        st.stop()
    role = auth.testing_role_from_env()
    user = auth.User("local analyst", auth.ANALYST, "local")
    if role is not None:
        user = auth.User(f"test {role}", role, "test")
    st.session_state[KEY_USER] = user
    return user


def _password_form(users: dict[str, auth.UserRecord]) -> None:
    st.title("ctxmap: sign in")
    with st.form("ctxmap_sign_in"):
        name = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        user = auth.authenticate(users, name.strip(), password)
        if user is None:
            st.error("Unknown username or wrong password.")
            return
        st.session_state[KEY_USER] = user
        st.rerun()


def current_user() -> auth.User:
    """The signed-in user (see :func:`sign_in`)."""
    return sign_in()


def sign_out() -> None:
    """Forget the session's user (and the OIDC cookie when OIDC is used)."""
    st.session_state.pop(KEY_USER, None)
    st.session_state.pop(KEY_AUDITED, None)
    if oidc_configured():
        st.logout()


def require_role(*roles: str) -> auth.User:
    """Stop the page unless the current user has one of ``roles``."""
    user = current_user()
    if user.role not in roles:
        st.error(f"This page is not available to the {user.role} role.")
        st.stop()
    return user


def user_panel(user: auth.User) -> None:
    """The sidebar lines saying who is signed in, with a sign-out button."""
    if not audit_enabled():
        st.caption("Audit log: off for the bundled sample store (fictional homes, public "
                   "data); on for any other store.")
    if user.method == "local":
        st.caption("Running as a **local analyst**: no sign-in is configured "
                   "(see docs/roles-and-audit.md).")
    elif user.method == "test":
        st.warning(f"Testing mode: role set by ${auth.TEST_ROLE_ENV} ({user.role}).")
    else:
        st.caption(f"Signed in as `{user.name}` ({user.role}).")
        st.button("Sign out", on_click=sign_out, key="ctxmap_sign_out")


# --------------------------------------------------------------------------- meeting view


def view_params() -> ViewParams:
    """The view parameters of the page's link (only the view, never personal data)."""
    return parse_view_params({k: st.query_params.get(k, "") for k in st.query_params})


def meeting_view() -> bool:
    """True when the masked meeting view is on (always for meeting viewers)."""
    if current_user().role == auth.MEETING_VIEWER:
        return True
    return st.query_params.get("view") == "meeting"


def _toggle_changed() -> None:
    if st.session_state.get(KEY_MEETING):
        st.query_params["view"] = "meeting"
    else:
        for key in ("view", "context", "area", "zoom", "layers"):
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


def meeting_chrome() -> None:
    """In the meeting view: the large-type CSS, the banner, the area choice and a way out.

    Call once per run (app.py does). The wards of the areas layer (public
    boundaries) offer "one area at a time".
    """
    if not meeting_view():
        return
    areas = _raw_layers().get("areas")
    settings = mask_settings()
    st.markdown(_MEETING_CSS, unsafe_allow_html=True)
    banner = MASKED_BANNER.format(threshold=settings.threshold)
    st.markdown(f'<div class="ctxmap-meeting-banner">{_escape(banner)}</div>',
                unsafe_allow_html=True)
    cols = st.columns([3, 1])
    if areas is not None and not areas.empty:
        wards = areas[areas["level"].astype("object") == "ward"].sort_values("name")
        ids = ["", *wards["id"].astype(str).tolist()]
        names = dict(zip(wards["id"].astype(str), wards["name"].astype(str), strict=True))
        current = view_params().area or ""
        chosen = cols[0].selectbox(
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
    if current_user().role != auth.MEETING_VIEWER:
        cols[1].button("Leave meeting view", on_click=_leave_meeting,
                       key="ctxmap_leave_meeting")


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def layers_map(view: dict[str, gpd.GeoDataFrame], **build_kwargs: Any) -> folium.Map:
    """The map of ``view``: masked and counted per square in the meeting view."""
    if meeting_view():
        params = view_params()
        if params.zoom is not None:
            build_kwargs.setdefault("zoom", params.zoom)
        return build_meeting_map(view, mask_settings(), **build_kwargs)
    return build_map(view, **build_kwargs)


def draw_map(
    m: folium.Map,
    *,
    key: str,
    height: int = MAP_HEIGHT,
    groups: Sequence[folium.FeatureGroup] = (),
) -> None:
    """Draw a folium map with streamlit-folium; panning and zooming never rerun the page.

    ``groups`` are swapped into the drawn map without redrawing it (streamlit-folium's
    ``feature_group_to_add``), so a filter that changes only them keeps the user's pan
    and zoom; build ``m`` with ``layer_control=False``: the control is added here, with
    the groups listed.
    """
    from streamlit_folium import st_folium

    if meeting_view():
        height = max(height, MEETING_MAP_HEIGHT)
    dynamic = {}
    if groups:
        dynamic = {"feature_group_to_add": list(groups),
                   "layer_control": folium.LayerControl(collapsed=False, position="topright")}
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[],
              **dynamic)


def editing_allowed() -> bool:
    """False in the meeting view: pages skip their editing forms then."""
    return not meeting_view()


# --------------------------------------------------------------------------- audit


def legal_basis_select(label: str = "Legal basis", *, key: str = KEY_BASIS) -> str:
    """A select box of the lawful bases; returns the chosen one."""
    if key not in st.session_state:
        st.session_state[key] = DEFAULT_VIEW_BASIS
    return str(st.selectbox(label, LEGAL_BASES, key=key,
                            help="Recorded in the audit log with what you view or export."))


def audit_enabled() -> bool:
    """False only for the bundled sample store (fictional homes, public data).

    The sample is a file in the repository; writing audit entries into it would
    change it on every run. Any other store (``$CTXMAP_STORE``) is always audited.
    """
    target = store_target()
    if is_pg_url(target):
        return True
    try:
        return Path(target).resolve() != DEFAULT_STORE_PATH.resolve()
    except OSError:
        return True


def audit(action: str, what: str, legal_basis: str | None = None) -> None:
    """Append to the audit log as the current user (default basis: the session's).

    Call it from every export button, e.g.
    ``ui.audit("export", "map of incidents 2019-01..2019-12, masked", basis)``.
    Stops the page with an error if the log cannot be written (the export must not
    happen unrecorded).
    """
    user = current_user()
    basis = legal_basis or str(st.session_state.get(KEY_BASIS, DEFAULT_VIEW_BASIS))
    if not audit_enabled():
        return
    try:
        record(open_session_store(create=True), user.name, action, what, basis, role=user.role)
    except (CtxmapError, sqlite3.Error) as exc:
        st.error(f"The audit log could not be written, so this was not done: {exc}")
        st.stop()


def export_button(
    label: str, data: str | bytes, *, file_name: str, mime: str, what: str, **kwargs: Any
) -> None:
    """A download button whose every use is written to the audit log.

    ``what`` says what is exported, without personal data (it goes in the log).
    """
    st.download_button(label, data, file_name=file_name, mime=mime,
                       on_click=audit, args=("export", what), **kwargs)


def audit_once(action: str, what: str) -> None:
    """Audit ``action``/``what`` once per session and page (views, not exports)."""
    done = st.session_state.setdefault(KEY_AUDITED, set())
    page = ""
    try:
        ctx = st.runtime.scriptrunner.get_script_run_ctx()  # type: ignore[attr-defined]
        page = str(getattr(ctx, "page_script_hash", "") or "")
    except Exception:
        page = ""
    mark = (action, what, page)
    if mark in done:
        return
    audit(action, what)
    done.add(mark)


# --------------------------------------------------------------------------- tables


def show_table(frame: pd.DataFrame, **kwargs: object) -> None:
    """Show a table; cells are rendered as text, never as HTML or Markdown."""
    st.dataframe(frame, hide_index=True, width="stretch", **kwargs)


def attribution_caption() -> None:
    """The data attributions the licences require."""
    st.caption(
        "Crime data: Contains public sector information licensed under the Open Government "
        "Licence v3.0 (police.uk). Places: © OpenStreetMap contributors (ODbL). Boundaries: "
        "Contains National Statistics data © Crown copyright and database right 2014. Contains "
        "Ordnance Survey data © Crown copyright and database right 2014. Homes in the sample "
        "are fictional."
    )


def page_files(root: Path, names: Sequence[str] | None = None) -> list[str]:
    """The ``pages/*.py`` files that exist under ``root``, as relative paths."""
    found = sorted(p.relative_to(root).as_posix() for p in (root / "pages").glob("*.py"))
    return [f for f in found if names is None or f in names]
