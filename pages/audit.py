"""Audit & retention (analysts only): read and export the audit log; review old contexts."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ctxmap.app.audit import audit_once, export_button, legal_basis_select
from ctxmap.app.navigation import require_page
from ctxmap.app.session import open_session_store, session_store_exists, store_label
from ctxmap.app.widgets import show_table
from ctxmap.cases.retention import closed_contexts, delete_context, due_for_review, retention_days
from ctxmap.errors import CtxmapError
from ctxmap.privacy.audit import ACTIONS, chain_details, log_csv, read_log, verify

user = require_page(__file__)
st.title("Audit & retention")
if not session_store_exists():
    st.error(f"No store at {store_label()}.")
    st.stop()
store = open_session_store()

st.subheader("Audit log")
st.caption("Every view of unmasked data and every export, with who, when and the legal basis. "
           "Entries cannot be changed or deleted, and each is hash-chained to the one before.")
intact, chain_message, checks = verify(store)
(st.success if intact else st.error)(chain_message)
st.caption(" · ".join(chain_details(checks)))
c1, c2, c3 = st.columns(3)
who = c1.text_input("User (exact)", key="audit_user").strip() or None
action = c2.selectbox("Action", ["", *ACTIONS], key="audit_action") or None
since = c3.date_input("Since", value=None, key="audit_since")
audit_once("read audit log", "audit log page")
log = read_log(store, user=who, action=action, since=since.isoformat() if since else None)
st.metric("Entries", f"{len(log):,}")
show_table(log)
basis = legal_basis_select("Legal basis for exporting the log", key="audit_export_basis")
filters = ", ".join(f"{k} {v}" for k, v in (("user", who), ("action", action),
                                               ("since", since)) if v) or None
export_button("Download audit-log.csv", lambda: log_csv(log), file_name="audit-log.csv",
              mime="text/csv", key="audit_download", what="audit log (CSV)",
              action="export audit log", legal_basis=basis, filters=filters, rows=len(log))

st.subheader("Retention: closed contexts")
try:
    period = retention_days()
    closed = closed_contexts(store)
except CtxmapError as exc:
    st.info(f"No contexts to review: {exc}")
    st.stop()
except Exception as exc:  # the contexts tables may not exist in an old store
    st.info(f"No contexts to review ({type(exc).__name__}).")
    st.stop()
due = due_for_review(closed, period, dt.date.today())
st.write(f"Retention period: **{period} days** after closure (set `CTXMAP_RETENTION_DAYS`). "
         f"{len(closed):,} closed contexts, **{len(due):,} past the period**.")
if due.empty:
    st.stop()
show_table(due)
with st.form("retention_delete"):
    chosen = st.selectbox("Context to erase", due["id"].tolist())
    del_basis = st.selectbox("Legal basis", ["public task", "legitimate interests",
                                             "consent", "vital interests"])
    sure = st.checkbox("I have reviewed it: erase the context and everything under it from "
                       "the store (this cannot be undone)")
    go = st.form_submit_button("Erase", type="primary")
if go:
    if not sure:
        st.warning("Tick the box to confirm.")
    else:
        try:
            removed = delete_context(store, chosen, user.name, del_basis, role=user.role,
                                     period_days=period)
        except CtxmapError as exc:
            st.error(str(exc))
        else:
            st.success(f"Erased {chosen}: {sum(removed.values())} rows removed from the store.")
