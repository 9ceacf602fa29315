"""Audit hooks of the pages: the legal basis, export buttons and views written to the audit log.

Every export goes through :func:`export_button` and every view of unmasked data through
:func:`audit_once`; both write :func:`ctxmap.privacy.audit.record` as the current user.
"""

from __future__ import annotations

from typing import Any, Final

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ctxmap.app.session import audit_enabled, open_session_store
from ctxmap.app.signin import KEY_AUDITED, current_user
from ctxmap.privacy.audit import LEGAL_BASES, record

#: Session-state key of the legal basis chosen in the sidebar.
KEY_BASIS: Final = "ctxmap_legal_basis"
DEFAULT_VIEW_BASIS: Final = "public task"


def legal_basis_select(label: str = "Legal basis", *, key: str = KEY_BASIS) -> str:
    """A select box of the lawful bases; returns the chosen one."""
    if key not in st.session_state:
        st.session_state[key] = DEFAULT_VIEW_BASIS
    return str(st.selectbox(label, LEGAL_BASES, key=key,
                            help="Recorded in the audit log with what you view or export."))


def audit(action: str, what: str, legal_basis: str | None = None) -> None:
    """Append to the audit log as the current user (default basis: the session's).

    Call it from every export button, e.g.
    ``audit("export", "map of incidents 2019-01..2019-12, masked", basis)``.
    Stops the page with an error if the log cannot be written (the export must not
    happen unrecorded).
    """
    user = current_user()
    basis = legal_basis or str(st.session_state.get(KEY_BASIS, DEFAULT_VIEW_BASIS))
    if not audit_enabled():
        return
    try:
        record(open_session_store(create=True), user.name, action, what, basis, role=user.role)
    except Exception as exc:  # any failure (store error or database driver): fail closed
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
    ctx = get_script_run_ctx()
    page = str(getattr(ctx, "page_script_hash", "") or "")
    mark = (action, what, page)
    if mark in done:
        return
    audit(action, what)
    done.add(mark)
