"""Who is using the app: the sign-in screens, the current user, page access and the user panel.

Order: OpenID Connect when ``.streamlit/secrets.toml`` has an ``[auth]`` section; else
a user signed in this session with a local password; else the sign-in form when a
users file exists; else the local analyst (see :mod:`ctxmap.privacy.roles`).
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from ctxmap import settings
from ctxmap.app.session import audit_enabled
from ctxmap.errors import CtxmapError
from ctxmap.privacy import roles as auth

#: Session-state keys: the signed-in user, and the views already audited this session.
KEY_USER: Final = "ctxmap_user"
KEY_AUDITED: Final = "ctxmap_audited"


def oidc_configured() -> bool:
    """True when the secrets file has an ``[auth]`` section (read by :mod:`ctxmap.settings`)."""
    return settings.load().auth is not None


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
        st.warning(f"Testing mode: role set by ${settings.TEST_ROLE} ({user.role}).")
    else:
        st.caption(f"Signed in as `{user.name}` ({user.role}).")
        st.button("Sign out", on_click=sign_out, key="ctxmap_sign_out")
