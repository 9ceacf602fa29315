"""Who is using the app: the sign-in screens, the current user, page access and the user panel.

Order: OpenID Connect when ``.streamlit/secrets.toml`` has an ``[auth]`` section; else
a user signed in this session with a local password; else the sign-in form when a
users file is configured; else the local analyst (see :mod:`ctxmap.privacy.roles`).

Sign-in fails closed (a configured users file that is missing or empty stops the app),
every sign-in and failed attempt is written to the audit log, failed attempts are
throttled per user and per client (:mod:`ctxmap.privacy.throttle`), and the page and
query parameters of the link a person arrived with survive the sign-in.
"""

from __future__ import annotations

import math
from typing import Final
from urllib.parse import urlsplit

import streamlit as st

from ctxmap import settings
from ctxmap.app.session import audit_enabled, open_session_store
from ctxmap.errors import CtxmapError
from ctxmap.privacy import roles as auth
from ctxmap.privacy.audit import record
from ctxmap.privacy.throttle import SIGN_IN_THROTTLE, client_key, user_key

#: Session-state keys: the signed-in user, and the views already audited this session.
KEY_USER: Final = "ctxmap_user"
KEY_AUDITED: Final = "ctxmap_audited"
#: Session-state key of the link (page path and query parameters) shown the sign-in form.
KEY_DEEP_LINK: Final = "ctxmap_deep_link"
#: The legal basis written with sign-in entries of the audit log.
SIGN_IN_BASIS: Final = "public task"


def oidc_configured() -> bool:
    """True when the secrets file has an ``[auth]`` section (read by :mod:`ctxmap.settings`)."""
    return settings.load().auth is not None


def _users() -> dict[str, auth.UserRecord]:
    """The users file's users; stops the app when it is configured but unusable."""
    try:
        return auth.sign_in_users()
    except CtxmapError as exc:
        st.error(f"Sign-in is configured but cannot work, so ctxmap stops here: {exc}")
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
        if st.session_state.get(KEY_USER) != user:  # once per session and identity
            _audit_sign_in(user.name, user.role,
                           f"signed in from client {_client() or 'unknown'} with the "
                           "identity provider")
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


def _audit_sign_in(name: str, role: str, what: str) -> None:
    """Write a sign-in attempt to the audit log (skipped only where audit is off).

    Raises whatever the store raises: a sign-in that cannot be audited does not happen.
    """
    if not audit_enabled():
        return
    who = name if auth.valid_username(name) else "(not a valid username)"
    action = "sign in" if what.startswith("signed in") else "sign in failed"
    record(open_session_store(create=True), who, action, what, SIGN_IN_BASIS, role=role)


def _client() -> str | None:
    """The client's address as the server sees it (``None`` when unknown)."""
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) and address else None


def _keep_deep_link() -> None:
    """Remember the page and query parameters of the link that met the sign-in form."""
    if KEY_DEEP_LINK not in st.session_state:
        url = str(getattr(st.context, "url", "") or "")
        st.session_state[KEY_DEEP_LINK] = (urlsplit(url).path.strip("/"),
                                           st.query_params.to_dict())


def deep_link_page() -> str:
    """The page path of the link a person signed in from, once (``""`` if none)."""
    kept = st.session_state.pop(KEY_DEEP_LINK, None)
    return str(kept[0]) if kept else ""


def _password_form(users: dict[str, auth.UserRecord]) -> None:
    _keep_deep_link()
    st.title("ctxmap: sign in")
    with st.form("ctxmap_sign_in"):
        name = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    name, client = name.strip(), _client()
    keys = (user_key(name), client_key(client))
    where = f"from client {client or 'unknown'}"
    rec = users.get(name)
    role = rec.role if rec is not None else auth.MEETING_VIEWER
    wait = SIGN_IN_THROTTLE.wait_s(*keys)
    if wait > 0:
        _audit_sign_in(name, role, f"refused {where}: too many failed attempts")
        st.error(f"Too many failed sign-ins: try again in {math.ceil(wait)} s.")
        return
    user = auth.authenticate(users, name, password)
    if user is None:
        SIGN_IN_THROTTLE.failed(*keys)
        _audit_sign_in(name, role, f"failed {where}: unknown username or wrong password")
        st.error("Unknown username or wrong password.")
        return
    try:
        _audit_sign_in(user.name, user.role, f"signed in {where} with a local password")
    except Exception as exc:  # fail closed: no unrecorded sign-in
        st.error(f"The audit log could not be written, so you are not signed in: {exc}")
        return
    SIGN_IN_THROTTLE.succeeded(keys[0])
    st.session_state[KEY_USER] = user
    kept = st.session_state.get(KEY_DEEP_LINK)
    if kept:
        st.query_params.from_dict(kept[1])
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
        st.warning(f"Testing mode: role set by ${settings.TEST_ROLE} ({user.role}).")
    else:
        st.caption(f"Signed in as `{user.name}` ({user.role}).")
        st.button("Sign out", on_click=sign_out, key="ctxmap_sign_out")
