"""Audit hooks of the pages: the legal basis, export buttons and views written to the audit log.

Every export goes through :func:`export_button` and every view of unmasked data through
:func:`audit_once`; both write :func:`ctxmap.privacy.audit.record` as the current user,
saying which page, context, partner, filters and how many rows
(:func:`ctxmap.privacy.audit.describe`).

An export's bytes exist only after the click that audits them: :func:`export_button` gives
``st.download_button`` a callable (Streamlit's deferred download), which Streamlit runs
only when the button is clicked. The callable writes the audit entry first and returns the
bytes after; if the entry cannot be written it raises, and nothing is served. No file
waits at a ``/media/...`` URL before the click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ctxmap import settings
from ctxmap.app.guard import without_server_paths
from ctxmap.app.navigation import KEY_PAGE
from ctxmap.app.session import audit_enabled, open_session_store, store_target
from ctxmap.app.signin import KEY_AUDITED, current_user
from ctxmap.errors import CtxmapError, log_unexpected
from ctxmap.privacy.audit import LEGAL_BASES, describe, record
from ctxmap.store.opening import open_store

#: Session-state key of the legal basis chosen in the sidebar.
KEY_BASIS: Final = "ctxmap_legal_basis"
DEFAULT_VIEW_BASIS: Final = "public task"

#: What an export button serves: the bytes, or a function making them (run on the click).
ExportData = str | bytes | Callable[[], str | bytes]


def legal_basis_select(label: str = "Legal basis", *, key: str = KEY_BASIS) -> str:
    """A select box of the lawful bases; returns the chosen one."""
    if key not in st.session_state:
        st.session_state[key] = DEFAULT_VIEW_BASIS
    return str(st.selectbox(label, LEGAL_BASES, key=key,
                            help="Recorded in the audit log with what you view or export."))


def page_title() -> str:
    """The title of the page running now (``"dashboard"`` outside a page)."""
    return str(st.session_state.get(KEY_PAGE) or "dashboard")


def audit(action: str, what: str, legal_basis: str | None = None) -> None:
    """Append to the audit log as the current user (default basis: the session's).

    ``what`` is prefixed with the page's title. Stops the page with an error if the log
    cannot be written (what is audited must not happen unrecorded).
    """
    user = current_user()
    basis = legal_basis or str(st.session_state.get(KEY_BASIS, DEFAULT_VIEW_BASIS))
    if not audit_enabled():
        return
    try:
        record(open_session_store(create=True), user.name, action,
               describe(f"{page_title()} page", what), basis, role=user.role)
    except CtxmapError as exc:  # a store refusal: its message is safe to show
        st.error("The audit log could not be written, so this was not done: "
                 + without_server_paths(exc))
        st.stop()
    except Exception as exc:  # a database driver or anything else: fail closed, log it
        error_id = log_unexpected(exc, f"audit entry on {page_title()}", settings.log_dir())
        st.error("The audit log could not be written, so this was not done "
                 f"(error {error_id}; the details are in the server's log).")
        st.stop()


def audited_download(
    data: ExportData,
    what: str,
    *,
    legal_basis: str | None = None,
    action: str = "export",
    context: str | None = None,
    partner: str | None = None,
    filters: str | None = None,
    rows: int | None = None,
) -> Callable[[], str | bytes]:
    """The function a download button runs on its click: audit first, then the bytes.

    Who, the legal basis, the page and the store are taken now (the click runs on another
    thread, outside the page); the entry is written when the function is called. If it
    cannot be written the function raises, so no bytes are produced.
    """
    user = current_user()
    basis = legal_basis or str(st.session_state.get(KEY_BASIS, DEFAULT_VIEW_BASIS))
    text = describe(f"{page_title()} page", what, context=context, partner=partner,
                    filters=filters, rows=rows)
    target, enabled = store_target(), audit_enabled()

    def produce() -> str | bytes:
        if enabled:
            record(open_store(target, create=True), user.name, action, text, basis,
                   role=user.role)
        return data() if callable(data) else data

    return produce


#: Keyword arguments of :func:`export_button` that describe the entry (the rest go to Streamlit).
ENTRY_FIELDS: Final = ("legal_basis", "action", "context", "partner", "filters", "rows")


def export_button(
    label: str, data: ExportData, *, file_name: str, mime: str, what: str, **kwargs: Any
) -> None:
    """A download button whose every click writes an audit entry before the bytes exist.

    ``what`` says what is exported, without personal data. The entry's other parts are
    keyword arguments :data:`ENTRY_FIELDS` (``context``, ``partner``, ``filters``, ``rows``,
    ``legal_basis``, ``action``; see :func:`audited_download`); any other keyword goes to
    ``st.download_button`` (``key``, ``help``).
    """
    entry = {k: kwargs.pop(k) for k in ENTRY_FIELDS if k in kwargs}
    produce = audited_download(data, what, **entry)
    st.download_button(label, produce, file_name=file_name, mime=mime, **kwargs)


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
