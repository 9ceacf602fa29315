"""Contexts of concern: refer, assess, plan, involve young people, consent, review, history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from ctxmap.analysis.review import CAVEATS
from ctxmap.app.audit import export_button
from ctxmap.app.cache import load_layers
from ctxmap.app.context_forms import (
    ContextPage,
    action_forms,
    add_entry_form,
    consent_forms,
    edit_entry_form,
    refer_form,
)
from ctxmap.app.drawing import draw_map, map_options, page_study_area
from ctxmap.app.forms import save_form, show_flash, show_form_errors, version_as_read
from ctxmap.app.meeting_view import editing_allowed, meeting_view
from ctxmap.app.navigation import require_page
from ctxmap.app.safety_ratings import pooled_safety_map, rating_form
from ctxmap.app.session import open_session_store, session_store_exists, store_label
from ctxmap.app.signin import current_user
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.cases.consent import consent_matrix, filter_for_partner
from ctxmap.cases.evidence import context_evidence
from ctxmap.cases.records import CONTEXT_STATUSES, REVIEW_NOTE_KINDS, actions_frame
from ctxmap.cases.repository import add_record, history, list_partners, load_bundle, update_record
from ctxmap.cases.safety_map import RAG_MEANINGS
from ctxmap.cases.scope import COORDINATOR_ROLE, contexts_for_user
from ctxmap.cases.tables import assessment_tables, ratings_table, review_notes_table
from ctxmap.errors import CtxmapError
from ctxmap.maps.layers import build_map, context_area_group
from ctxmap.reports.pack import context_review, make_pack
from ctxmap.text import esc_markdown

NEW = "➕ Refer a new context"
TABS = ["Overview", "Evidence", "Assessment", "Plan", "Young people", "Consent", "Review",
        "History", "Meeting pack"]


def overview_tab(page: ContextPage) -> None:
    """The context's own fields, saved against the version first read."""
    ctx = page.ctx
    show_form_errors("ov")
    with st.form("ctx_edit"):
        st.caption(f"Version {ctx.version}, last changed by {ctx.updated_by} at {ctx.updated_at}")
        values: dict[str, Any] = {
            "name": st.text_input("Name", ctx.name),
            "status": st.selectbox("Status", CONTEXT_STATUSES,
                                   index=CONTEXT_STATUSES.index(ctx.status),
                                   key=f"ov_status_{ctx.id}"),
            "referral_reason": st.text_area("Reason for referral", ctx.referral_reason,
                                            key=f"ov_reason_{ctx.id}"),
        }
        c1, c2 = st.columns(2)
        values["lead_agency"] = c1.text_input("Lead agency", ctx.lead_agency)
        values["lead_worker"] = c2.text_input("Lead worker (role or worker ID)", ctx.lead_worker)
        values["plan_start"] = st.date_input("Plan start", value=dt.date.fromisoformat(
            ctx.plan_start) if ctx.plan_start else None)
        read = version_as_read("ov", ctx.id, ctx.version)  # as first shown
        if st.form_submit_button("Save", key="ov_save"):
            save_form("ov", [lambda: update_record(page.store, "context", ctx.id, read,
                                                   page.user, **values)])


def evidence_tab(page: ContextPage) -> None:
    """Incidents in and around the context, its hotspot test and the nearest resources."""
    ctx, layers = page.ctx, page.layers
    ev = context_evidence(ctx.geometry, layers, radius_m=ctx.radius_m,
                          study_area=page_study_area())  # named in the hotspot test's method
    c1, c2, c3 = st.columns(3)
    c1.metric("Incidents in the context", int(ev.by_category.sum()))
    c2.metric("Period", f"{ev.period[0]} to {ev.period[1]}" if ev.period else "—")
    c3.metric("No location (not placed)", ev.unlocated_in_period)
    if (h := ev.hotspot):
        st.write(f"**{'Location of concern' if h['flagged'] else 'Not flagged'}**: "
                 f"{h['incidents']} against {h['expected']:.1f} expected (rate ratio "
                 f"{h['rate_ratio']:.2f}, p = {h['p_value']:.3g}).")
        st.caption(esc_markdown(h["method"]))  # names the study area: user text
    st.bar_chart(ev.by_month)
    st.write("Nearest youth centres and safe places (" + ev.nearest_method + ")")
    show_table(ev.nearest)
    if ctx.geometry is not None and ev.area is not None:
        fm = build_map({"incidents": ev.incidents.drop(columns="distance_m"),
                        "safe_places": layers["safe_places"],
                        "youth_centres": layers["youth_centres"]},
                       map_options(center=(ev.area.centroid.y, ev.area.centroid.x), zoom=15),
                       extra_groups=[context_area_group(ev.area, "Context area")])
        draw_map(fm, key="ctx_evidence_map", height=420)
        attribution_caption()


def assessment_tab(page: ContextPage) -> None:
    """The three-sided assessment; add, change or delete graded entries."""
    assert page.bundle is not None
    for title, table in assessment_tables(page.bundle):
        st.markdown(f"**{title}**")
        show_table(table)
    add_entry_form(page)
    if page.bundle.assessment and editing_allowed():
        with st.expander("Change or delete an entry"):
            edit_entry_form(page, {e.id: e for e in page.bundle.assessment})


def plan_tab(page: ContextPage) -> None:
    """The plan's actions (overdue first), their status, and the partner list."""
    assert page.bundle is not None
    plan = actions_frame(page.bundle.actions, page.today)
    if len(plan) and plan["overdue"].any():
        st.error(f"{int(plan['overdue'].sum())} action(s) overdue")
    if len(plan):
        st.dataframe(plan.drop(columns=["context_id"]).style.apply(
            lambda r: ["background-color: #fde2e1" if r["overdue"] else ""] * len(r), axis=1),
            hide_index=True, width="stretch")
    action_forms(page)


def young_people_tab(page: ContextPage) -> None:
    """Linked young people, their safety plan and their safety-map ratings."""
    st.write("Linked young people: " + (", ".join(page.refs) or "none"))
    show_form_errors("link")
    with st.form("ctx_link", clear_on_submit=True):
        ref = st.text_input("Link a young person (pseudonymous reference, e.g. YP-0003)")
        if st.form_submit_button("Link"):
            save_form("link", [lambda: add_record(page.store, "young_person", page.ctx.id,
                                                  page.user, yp_ref=ref, linked_on=page.today)])
    show_form_errors("plan")
    with st.form("ctx_safety_plan"):
        text = st.text_area("Safety and wellbeing plan (written with the young people)",
                            page.ctx.safety_plan, height=180)
        read = version_as_read("plan", page.ctx.id, page.ctx.version)
        if st.form_submit_button("Save plan"):
            save_form("plan", [lambda: update_record(page.store, "context", page.ctx.id, read,
                                                     page.user, safety_plan=text)])
    st.markdown("**Safety mapping: places the young people rate red, amber or green**")
    st.caption(" · ".join(f"{r}: {m}" for r, m in RAG_MEANINGS.items()))
    assert page.bundle is not None
    show_table(ratings_table(page.bundle))
    if editing_allowed():
        rating_form(page)
    pooled_safety_map(page.store)


def consent_tab(page: ContextPage) -> None:
    """Consent to share, per young person, partner and category; a partner's preview."""
    assert page.bundle is not None
    show_table(consent_matrix(page.bundle.consents))
    consent_forms(page)
    view_as = st.selectbox("Preview what a partner sees", page.partners, key="ctx_view_as")
    seen = filter_for_partner(page.bundle, view_as)
    st.write(f"Young people shown: {', '.join(y.yp_ref for y in seen.young_people) or 'none'}; "
             f"withheld: {dict(seen.withheld)}")


def review_tab(page: ContextPage) -> None:
    """The change since the plan started, and review notes."""
    assert page.bundle is not None
    review = context_review(page.bundle, page.layers, page_study_area())
    if review is None:
        st.info("No review yet: set a plan start (Overview) within the incident data's months.")
    else:
        st.line_chart(review.monthly.set_index("month")[["context", "expected_context"]])
        st.write(review.statement)
        st.caption(" ".join(CAVEATS))
    show_table(review_notes_table(page.bundle))
    show_form_errors("note")
    with st.form("ctx_note", clear_on_submit=True):
        kind = st.selectbox("Kind", REVIEW_NOTE_KINDS, key="note_kind")
        yp = st.selectbox("Young person (for views)", ["(none)", *page.refs], key="note_yp")
        text = st.text_area("Note", key="note_text")
        if st.form_submit_button("Add note", key="note_add"):
            save_form("note", [lambda: add_record(
                page.store, "review_note", page.ctx.id, page.user, kind=kind, text=text,
                noted_on=page.today, yp_ref=None if yp == "(none)" else yp)])


def history_tab(page: ContextPage) -> None:
    """Every change to the context, newest first."""
    show_table(history(page.store, page.ctx.id).iloc[::-1])


def pack_tab(page: ContextPage) -> None:
    """The meeting pack, for the lead agency or filtered for one partner's consent."""
    who = st.selectbox("Pack for", ["Lead agency (full record)", *page.partners],
                       key="ctx_pack_for")
    if st.button("Make the meeting pack", key="pack_make"):
        ctx_id = page.ctx.id
        try:
            html = make_pack(page.store, ctx_id,
                             for_partner=None if who.startswith("Lead") else who)
        except CtxmapError as exc:
            st.error(str(exc))
        else:
            partner = None if who.startswith("Lead") else who
            export_button("Download pack (HTML)", html, file_name=f"{ctx_id}-pack.html",
                          mime="text/html", context=ctx_id, partner=partner,
                          what="meeting pack (HTML), " + (
                              "consent-filtered, home masked" if partner
                              else "full record for the lead agency, unmasked"))


require_page(__file__)
st.title("Contexts of concern")
if not session_store_exists():
    st.error(f"No store at {store_label()}. Build the sample with "
             "`python scripts/build_sample.py`.")
    st.stop()
store = open_session_store()
layers = load_layers()
signed_in = current_user()
user = signed_in.name  # who changed what, in the history
if signed_in.method == "local":  # no sign-in configured: say who you are for the history
    with st.sidebar:
        user = st.text_input("Your worker ID (kept in the history; not a name)",
                             value="worker-01", key="ctx_user") or "worker-01"
if meeting_view():
    st.info("The meeting view shows only the pooled safety map: contexts hold details about "
            "young people and are never shown on a shared screen. Leave the meeting view to "
            "work on a context.")
    pooled_safety_map(store)
    st.stop()
show_flash()
today = dt.date.today()
listing = contexts_for_user(store, signed_in.name, signed_in.role, today)
if signed_in.role == COORDINATOR_ROLE:
    st.info(f"As a coordinator you see only the contexts you lead (lead worker "
            f"\"{signed_in.name}\"): {len(listing)}. Analysts see every context.")
show_table(listing)
ids = listing["id"].tolist()
labels = {r.id: f"{r.id}: {r.name} ({r.status})" for r in listing.itertuples()}
if (pending := st.session_state.pop("ctx_pending", None)) in ids:
    st.session_state["ctx_selected"] = pending
choice = st.selectbox("Context", [*ids, NEW], format_func=lambda i: labels.get(i, i),
                      key="ctx_selected")
page = ContextPage(store, user, signed_in.role, today, layers)
if choice == NEW:
    refer_form(page)
    st.stop()
page = ContextPage(store, user, signed_in.role, today, layers,
                   tuple(list_partners(store)), load_bundle(store, choice))
for tab, show in zip(st.tabs(TABS), (overview_tab, evidence_tab, assessment_tab, plan_tab,
                                     young_people_tab, consent_tab, review_tab, history_tab,
                                     pack_tab), strict=True):
    with tab:
        show(page)
