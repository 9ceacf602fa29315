"""Contexts of concern: refer, assess, plan, involve young people, consent, review, history."""

from __future__ import annotations

import datetime as dt

import folium
import pandas as pd
import streamlit as st
from folium.plugins import Draw
from shapely import from_wkt as shape_from_wkt
from shapely.geometry import shape

from ctxmap.app.audit import export_button
from ctxmap.app.cache import cached, load_layers
from ctxmap.app.drawing import draw_map
from ctxmap.app.meeting import editing_allowed, mask_settings, meeting_view
from ctxmap.app.session import open_session_store, session_store_exists, store_label
from ctxmap.app.signin import current_user
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.cases.consent import CONSENT_CATEGORIES, LEGAL_BASES, consent_matrix, filter_for_partner
from ctxmap.cases.evidence import context_evidence
from ctxmap.cases.records import (
    ACTION_STATUSES,
    ASSESSMENT_SIDES,
    CONTEXT_KINDS,
    CONTEXT_STATUSES,
    FACTORS,
    INFO_GRADES,
    RATINGS,
    REVIEW_NOTE_KINDS,
    SOURCE_GRADES,
    actions_frame,
    assessment_frame,
)
from ctxmap.cases.repository import (
    add_partner,
    add_record,
    create_context,
    delete_record,
    history,
    list_partners,
    load_bundle,
    safety_ratings_layer,
    update_record,
)
from ctxmap.cases.safety_map import (
    RAG_MEANINGS,
    clicked_point,
    pickable_places,
    pool_by_place,
    safety_legend,
    safety_map_group,
    shared_safety_places,
)
from ctxmap.cases.scope import COORDINATOR_ROLE, contexts_for_user
from ctxmap.errors import ConflictError, CtxmapError

st.title("Contexts of concern")
store = open_session_store() if session_store_exists() else None
if store is None:
    st.error(f"No store at {store_label()}. Build the sample with "
             "`python scripts/build_sample.py`.")
    st.stop()
layers = load_layers()
today = dt.date.today()
signed_in = current_user()
user = signed_in.name  # who changed what, in the history
if signed_in.method == "local":  # no sign-in configured: say who you are for the history
    with st.sidebar:
        user = st.text_input("Your worker ID (kept in the history; not a name)",
                             value="worker-01", key="ctx_user") or "worker-01"


SIDE_LABELS = {"young_people": "Young people", "guardianship": "Guardianship",
               "place": "The place"}


def version_as_read(entity: str, record_id: object, version: int) -> int:
    """The version of a record as this user first read it, kept until they save.

    Saving states this version, so a change someone else saved in between is reported
    as a conflict, never silently overwritten (a rerun would otherwise re-read it).
    """
    return st.session_state.setdefault(f"ctx_read_{entity}_{record_id}", version)


def forget_read_versions() -> None:
    """After a save (or a conflict), the next read starts afresh."""
    for key in [k for k in st.session_state if str(k).startswith("ctx_read_")]:
        del st.session_state[key]


def saved(fn, *args, **kwargs):
    """Run a store write; show conflicts and bad input as errors, not tracebacks."""
    try:
        out = fn(*args, **kwargs)
    except ConflictError as exc:
        forget_read_versions()  # the next run shows what is stored now
        st.error(f"Not saved: {exc}")
        return None
    except CtxmapError as exc:
        st.error(str(exc))
        return None
    forget_read_versions()
    st.session_state["ctx_flash"] = "Saved."
    return out


def pooled_safety_map() -> None:
    """The pooled safety map of every context (small counts hidden in shared views)."""
    st.markdown("**Safety map: every context, over time (pooled)**")
    shared = meeting_view()
    threshold = mask_settings().threshold if shared else None
    since = st.date_input("Ratings since (empty: all)", value=None, key="pool_since")
    pooled = pool_by_place(safety_ratings_layer(store, since=since), threshold=threshold)
    if shared and len(pooled):
        # a shared screen gets neither staff's free-text labels nor exact points (a
        # rated spot can be someone's home): each place is drawn at its 250 m square
        pooled = shared_safety_places(pooled)
    st.caption("Each circle is one place, coloured by its most frequent rating; the number "
               "beside it is how many ratings it has; hover for red/amber/green counts. "
               "Young people are not shown."
               + (f" Shared view: counts below {threshold} are hidden (grey: all hidden)."
                  if shared else ""))
    if len(pooled):
        from ctxmap.maps.layers import build_map

        pm = build_map({}, zoom=14, center=(float(pooled.geometry.y.mean()),
                                            float(pooled.geometry.x.mean())),
                       extra_groups=[safety_map_group(pooled, threshold=threshold)],
                       extra_legend=safety_legend(pooled, threshold))
        minx, miny, maxx, maxy = pooled.total_bounds
        pm.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30), max_zoom=16)
        draw_map(pm, key="ctx_safety_map", height=420)
        show_table(pd.DataFrame(pooled.drop(columns="geometry")).rename(columns={
            "place_label": "place", "ratings": "all ratings", "rating": "mostly",
            "hidden": "counts hidden"}))
    else:
        st.info("No safety-map ratings yet.")


if meeting_view():
    st.info("The meeting view shows only the pooled safety map: contexts hold details about "
            "young people and are never shown on a shared screen. Leave the meeting view to "
            "work on a context.")
    pooled_safety_map()
    st.stop()

if msg := st.session_state.pop("ctx_flash", None):
    st.success(msg)

listing = contexts_for_user(store, signed_in.name, signed_in.role, today)
if signed_in.role == COORDINATOR_ROLE:
    st.info(f"As a coordinator you see only the contexts you lead (lead worker "
            f"\"{signed_in.name}\"): {len(listing)}. Analysts see every context.")
show_table(listing)
NEW = "➕ Refer a new context"
ids = listing["id"].tolist()
labels = {r.id: f"{r.id}: {r.name} ({r.status})" for r in listing.itertuples()}
if (pending := st.session_state.pop("ctx_pending", None)) in ids:
    st.session_state["ctx_selected"] = pending
choice = st.selectbox("Context", [*ids, NEW], format_func=lambda i: labels.get(i, i),
                      key="ctx_selected")

# ------------------------------------------------------------------------------ refer
if choice == NEW:
    st.subheader("Refer a context")
    places = pd.concat([layers[k].assign(layer=k) for k in ("homes", "youth_centres",
                                                             "safe_places")], ignore_index=True)
    places = places[places.geometry.notna()]
    place_labels = {f"{r.layer}:{r.id}": f"{r.name or 'Unnamed'} ({r.layer}, {r.category})"
                    for r in places.itertuples()}
    with st.expander("Draw the context on the map (a point or a polygon)"):
        m = folium.Map(location=[52.63, 1.29], zoom_start=13, tiles=None)
        from ctxmap.maps.layers import resolve_tiles_url

        url = resolve_tiles_url()
        if url:
            folium.TileLayer(tiles=url, attr="© OpenStreetMap contributors").add_to(m)
        Draw(draw_options={"polyline": False, "circle": False, "circlemarker": False,
                           "rectangle": True, "polygon": True, "marker": True}).add_to(m)
        from streamlit_folium import st_folium

        from ctxmap.maps.assets import use_local_assets

        got = st_folium(use_local_assets(m), key="ctx_draw", height=420,
                        returned_objects=["last_active_drawing"])
        if got and got.get("last_active_drawing"):
            st.session_state["ctx_drawn"] = shape(got["last_active_drawing"]["geometry"]).wkt
        st.caption(f"Drawn: {st.session_state.get('ctx_drawn', 'nothing yet')}")
    with st.form("ctx_refer"):
        name = st.text_input("Name of the context (a place, not a person)", key="ref_name")
        kind = st.selectbox("Kind", CONTEXT_KINDS, key="ref_kind")
        where = st.radio("Location", ["A place on the map", "What I drew on the map",
                                      "No location (online space)"], horizontal=True,
                         key="ref_where")
        place_key = st.selectbox("Place", list(place_labels), format_func=place_labels.get,
                                 key="ref_place")
        ref_date = st.date_input("Referral date", value=today)
        reason = st.text_area("Reason for referral", key="ref_reason")
        c1, c2, c3 = st.columns(3)
        referring = c1.text_input("Referring agency")
        lead = c2.text_input("Lead agency")
        worker = c3.text_input("Lead worker (role or worker ID)", key="ref_worker",
                               value=signed_in.name if signed_in.role == COORDINATOR_ROLE
                               else "")
        radius = st.number_input("Radius around a point (m)", 50, 5000, 400, step=50)
        refs = st.text_input("Young people (pseudonymous references, e.g. YP-0001, YP-0002)",
                             key="ref_yp")
        if st.form_submit_button("Refer", key="ref_submit"):
            geometry, layer, pid = None, None, None
            if where == "A place on the map" and place_key:
                layer, pid = place_key.split(":", 1)
                geometry = places[(places["layer"] == layer) & (places["id"] == pid)
                                  ].geometry.iloc[0]
            elif where == "What I drew on the map":
                geometry = st.session_state.get("ctx_drawn")
            new = saved(create_context, store, user, name=name, kind=kind,
                        referral_date=ref_date, referral_reason=reason, geometry=geometry,
                        place_layer=layer, place_id=pid, radius_m=radius,
                        referring_agency=referring, lead_agency=lead, lead_worker=worker,
                        young_people=[r for r in (x.strip() for x in refs.split(",")) if r])
            if new is not None:
                st.session_state["ctx_flash"] = f"Referred {new.id}."
                st.session_state["ctx_pending"] = new.id
                st.rerun()
    st.stop()

# ------------------------------------------------------------------------------ one context
bundle = load_bundle(store, choice)
ctx = bundle.context
partners = list_partners(store)
refs = [y.yp_ref for y in bundle.young_people]
tabs = st.tabs(["Overview", "Evidence", "Assessment", "Plan", "Young people", "Consent",
                "Review", "History", "Meeting pack"])

with tabs[0], st.form("ctx_edit"):
    st.caption(f"Version {ctx.version}, last changed by {ctx.updated_by} at {ctx.updated_at}")
    e_name = st.text_input("Name", ctx.name)
    e_status = st.selectbox("Status", CONTEXT_STATUSES,
                            index=CONTEXT_STATUSES.index(ctx.status), key=f"ov_status_{ctx.id}")
    e_reason = st.text_area("Reason for referral", ctx.referral_reason,
                            key=f"ov_reason_{ctx.id}")
    c1, c2 = st.columns(2)
    e_lead = c1.text_input("Lead agency", ctx.lead_agency)
    e_worker = c2.text_input("Lead worker (role or worker ID)", ctx.lead_worker)
    e_start = st.date_input("Plan start", value=dt.date.fromisoformat(ctx.plan_start)
                            if ctx.plan_start else None)
    ov_version = version_as_read("context", ctx.id, ctx.version)  # as first shown
    if st.form_submit_button("Save", key="ov_save") and saved(
            update_record, store, "context", ctx.id, ov_version, user, name=e_name,
            status=e_status, referral_reason=e_reason, lead_agency=e_lead,
            lead_worker=e_worker, plan_start=e_start) is not None:
        st.rerun()

with tabs[1]:
    ev = context_evidence(ctx.geometry, layers, radius_m=ctx.radius_m)
    c1, c2, c3 = st.columns(3)
    c1.metric("Incidents in the context", int(ev.by_category.sum()))
    c2.metric("Period", f"{ev.period[0]} to {ev.period[1]}" if ev.period else "—")
    c3.metric("No location (not placed)", ev.unlocated_in_period)
    if ev.hotspot:
        h = ev.hotspot
        st.write(f"**{'Location of concern' if h['flagged'] else 'Not flagged'}**: "
                 f"{h['incidents']} against {h['expected']:.1f} expected (rate ratio "
                 f"{h['rate_ratio']:.2f}, p = {h['p_value']:.3g}).")
        st.caption(h["method"])
    st.bar_chart(ev.by_month)
    st.write("Nearest youth centres and safe places (" + ev.nearest_method + ")")
    show_table(ev.nearest)
    if ctx.geometry is not None:
        from ctxmap.maps.layers import build_map
        from ctxmap.reports.pack import context_area_group

        fm = build_map({"incidents": ev.incidents.drop(columns="distance_m"),
                        "safe_places": layers["safe_places"],
                        "youth_centres": layers["youth_centres"]},
                       center=(ev.area.centroid.y, ev.area.centroid.x), zoom=15,
                       extra_groups=[context_area_group(ev.area, "Context area")])
        draw_map(fm, key="ctx_evidence_map", height=420)
        attribution_caption()

with tabs[2]:
    for side, title in ASSESSMENT_SIDES.items():
        st.markdown(f"**{title}**")
        show_table(assessment_frame(e for e in bundle.assessment if e.side == side)[
            ["factor", "text", "source", "grade", "yp_ref", "recorded_on"]])
    with st.form("ctx_assess", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns(4)
        side = c1.selectbox("Side", list(ASSESSMENT_SIDES), key="as_side",
                            format_func=SIDE_LABELS.get)
        factor = c2.selectbox("Factor", FACTORS, key="as_factor")
        sg = c3.selectbox("Source reliability", list(SOURCE_GRADES), key="as_sg",
                          format_func=lambda g: f"{g}: {SOURCE_GRADES[g]}")
        ig = c4.selectbox("Information reliability", list(INFO_GRADES), key="as_ig",
                          format_func=lambda g: f"{g}: {INFO_GRADES[g]}")
        text = st.text_area("What (an association is not a fact: grade it)", key="as_text")
        source = st.text_input("Source", key="as_source")
        yp = st.selectbox("About one young person?", ["(collective)", *refs], key="as_yp")
        if st.form_submit_button("Add entry", key="as_add") and saved(
                add_record, store, "assessment", ctx.id, user, side=side, factor=factor,
                text=text, source=source, source_grade=sg, info_grade=ig,
                yp_ref=None if yp == "(collective)" else yp, recorded_on=today):
            st.rerun()
    if bundle.assessment and editing_allowed():
        with st.expander("Change or delete an entry"):
            entries = {e.id: e for e in bundle.assessment}
            pick = st.selectbox("Entry", list(entries), key="as_pick",
                                format_func=lambda i: f"#{i} {SIDE_LABELS[entries[i].side]} / "
                                f"{entries[i].factor} ({entries[i].source_grade}"
                                f"{entries[i].info_grade}): {entries[i].text[:70]}")
            entry = entries[pick]
            # the version this user read is kept until they save: a change saved by someone
            # else in between is then reported, never silently overwritten
            gen = st.session_state.setdefault("as_gen", 0)
            k = f"{entry.id}_{gen}"
            read_version = st.session_state.setdefault(f"as_read_{k}", entry.version)
            with st.form(f"ctx_assess_edit_{k}"):
                c1, c2, c3, c4 = st.columns(4)
                sides, grades_s, grades_i = list(ASSESSMENT_SIDES), list(SOURCE_GRADES), list(
                    INFO_GRADES)
                e_side = c1.selectbox("Side", sides, sides.index(entry.side), key=f"ase_side_{k}",
                                      format_func=SIDE_LABELS.get)
                e_factor = c2.selectbox("Factor", FACTORS, FACTORS.index(entry.factor),
                                        key=f"ase_factor_{k}")
                e_sg = c3.selectbox("Source reliability", grades_s,
                                    grades_s.index(entry.source_grade), key=f"ase_sg_{k}",
                                    format_func=lambda g: f"{g}: {SOURCE_GRADES[g]}")
                e_ig = c4.selectbox("Information reliability", grades_i,
                                    grades_i.index(entry.info_grade), key=f"ase_ig_{k}",
                                    format_func=lambda g: f"{g}: {INFO_GRADES[g]}")
                e_text = st.text_area("What", entry.text, key=f"ase_text_{k}")
                e_source = st.text_input("Source", entry.source, key=f"ase_source_{k}")
                yps = ["(collective)", *refs]
                e_yp = st.selectbox("About one young person?", yps,
                                    yps.index(entry.yp_ref) if entry.yp_ref in yps else 0,
                                    key=f"ase_yp_{k}")
                st.caption(f"Entry #{entry.id}, version {read_version} as you read it.")
                c1, c2, c3 = st.columns([1, 1, 2])
                do_save = c1.form_submit_button("Save changes", key=f"ase_save_{k}")
                do_delete = c2.form_submit_button("Delete entry", key=f"ase_delete_{k}")
                sure = c3.checkbox("Yes, delete this entry", key=f"ase_sure_{k}")
            if do_save or (do_delete and sure):
                try:
                    if do_save:
                        update_record(store, "assessment", entry.id, read_version, user,
                                         side=e_side, factor=e_factor, source_grade=e_sg,
                                         info_grade=e_ig, text=e_text, source=e_source,
                                         yp_ref=None if e_yp == "(collective)" else e_yp)
                    else:
                        delete_record(store, "assessment", entry.id, read_version, user)
                except ConflictError as exc:
                    st.session_state["as_gen"] = gen + 1  # next run shows the stored entry
                    st.error(f"Not saved: {exc}")
                except CtxmapError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["as_gen"] = gen + 1
                    st.session_state["ctx_flash"] = (f"Entry #{entry.id} "
                                                     + ("saved." if do_save else "deleted."))
                    st.rerun()
            elif do_delete:
                st.warning("Tick \"Yes, delete this entry\" to delete it (the deletion is kept "
                           "in the history).")

with tabs[3]:
    plan = actions_frame(bundle.actions, today)
    if len(plan) and plan["overdue"].any():
        st.error(f"{int(plan['overdue'].sum())} action(s) overdue")
    if len(plan):
        st.dataframe(plan.drop(columns=["context_id"]).style.apply(
            lambda r: ["background-color: #fde2e1" if r["overdue"] else ""] * len(r), axis=1),
            hide_index=True, width="stretch")
    with st.form("ctx_action", clear_on_submit=True):
        partner = st.selectbox("Partner", partners, key="act_partner")
        what = st.text_input("What they will do", key="act_what")
        c1, c2, c3 = st.columns(3)
        owner = c1.text_input("Owner (role)", key="act_owner")
        due = c2.date_input("Due", value=today + dt.timedelta(days=28), key="act_due")
        status = c3.selectbox("Status", ACTION_STATUSES, key="act_status")
        if st.form_submit_button("Add action", key="act_add") and saved(
                add_record, store, "action", ctx.id, user, partner=partner, what=what,
                owner=owner, due_date=due, status=status):
            st.rerun()
    if bundle.actions:
        with st.form("ctx_action_status"):
            act = st.selectbox("Action", bundle.actions,
                               format_func=lambda a: f"#{a.id} {a.partner}: {a.what[:60]}")
            new_status = st.selectbox("New status", ACTION_STATUSES)
            note = st.text_input("Notes")
            act_version = version_as_read("action", act.id, act.version)
            if st.form_submit_button("Update action") and saved(
                    update_record, store, "action", act.id, act_version, user,
                    status=new_status, **({"notes": note} if note else {})):
                st.rerun()
    with st.form("ctx_partner", clear_on_submit=True):
        new_partner = st.text_input("Add a partner to the list")
        if st.form_submit_button("Add partner") and saved(add_partner, store, new_partner,
                                                           user):
            st.rerun()

with tabs[4]:
    st.write("Linked young people: " + (", ".join(refs) or "none"))
    with st.form("ctx_link", clear_on_submit=True):
        ref = st.text_input("Link a young person (pseudonymous reference, e.g. YP-0003)")
        if st.form_submit_button("Link") and saved(add_record, store, "young_person",
                                                   ctx.id, user, yp_ref=ref, linked_on=today):
            st.rerun()
    with st.form("ctx_safety_plan"):
        plan_text = st.text_area("Safety and wellbeing plan (written with the young people)",
                                 ctx.safety_plan, height=180)
        plan_version = version_as_read("context", ctx.id, ctx.version)
        if st.form_submit_button("Save plan") and saved(
                update_record, store, "context", ctx.id, plan_version, user,
                safety_plan=plan_text):
            st.rerun()
    st.markdown("**Safety mapping: places the young people rate red, amber or green**")
    st.caption(" · ".join(f"{r}: {m}" for r, m in RAG_MEANINGS.items()))
    show_table(pd.DataFrame([{"place": r.place_label, "rating": r.rating, "by": r.yp_ref,
                              "date": r.rated_on, "comment": r.comment}
                             for r in bundle.safety_ratings]))
    if editing_allowed():
        how = st.radio("Where is the place?", ["Pick a place", "Click on the map"],
                       horizontal=True, key="rate_how",
                       help="Pick: safe places, youth centres and named areas (homes are "
                       "never offered: the pooled safety map is shared).")
        options = cached(("safety_pickable",), lambda: pickable_places(layers))
        chosen_point, chosen_label = None, ""
        if how == "Click on the map":
            from streamlit_folium import st_folium

            from ctxmap.maps.layers import build_map

            centre = (ctx.geometry.centroid if ctx.geometry is not None
                      else options.geometry.union_all().centroid)
            cm = build_map({}, center=(centre.y, centre.x), zoom=15, layer_control=False)
            marker = folium.FeatureGroup(name="Clicked place")
            if (wkt := st.session_state.get("ctx_clicked")):
                pt = shape_from_wkt(wkt)
                folium.CircleMarker([pt.y, pt.x], radius=9, color="#000000", weight=2,
                                    fill=True, fill_color="#ffffff", fill_opacity=0.8,
                                    tooltip="The place to rate").add_to(marker)
            got = st_folium(cm, key="ctx_rating_click", height=340, use_container_width=True,
                            returned_objects=["last_clicked"], feature_group_to_add=[marker])
            try:
                clicked = clicked_point((got or {}).get("last_clicked"))
            except CtxmapError as exc:
                st.error(str(exc))
                clicked = None
            if clicked is not None and clicked.wkt != st.session_state.get("ctx_clicked"):
                st.session_state["ctx_clicked"] = clicked.wkt
                st.rerun()
            if (wkt := st.session_state.get("ctx_clicked")):
                chosen_point = shape_from_wkt(wkt)
                st.caption(f"Clicked: {chosen_point.y:.5f}, {chosen_point.x:.5f} "
                           "(click again to move it).")
            else:
                st.caption("Click the place on the map.")
        with st.form("ctx_rating", clear_on_submit=True):
            if how == "Pick a place":
                labels_by_key = dict(zip(options["key"], options["label"], strict=True))
                place = st.selectbox("Place (type to search)", list(labels_by_key), index=None,
                                     format_func=labels_by_key.get, key="rate_place",
                                     placeholder="A safe place, youth centre or area")
            else:
                chosen_label = st.text_input(
                    "What the young person calls this place (not an address)",
                    key="rate_label")
            c1, c2, c3 = st.columns([1, 1, 2])
            rating = c1.radio("Rating", RATINGS, key="rate_rag",
                              format_func=lambda r: f"{r}: {RAG_MEANINGS[r]}")
            by = c2.selectbox("Young person", ["(anonymous)", *refs], key="rate_by")
            comment = c3.text_input("Short comment", max_chars=200, key="rate_comment")
            if st.form_submit_button("Add rating", key="rate_submit"):
                if how == "Pick a place" and place is not None:
                    row = options[options["key"] == place].iloc[0]
                    chosen_label, chosen_point = str(row["label"]), row.geometry
                if chosen_point is None:
                    st.error("Choose a place: pick one from the list or click on the map.")
                elif saved(add_record, store, "safety_rating", ctx.id, user,
                           place_label=chosen_label, rating=rating, geometry=chosen_point,
                           rated_on=today, yp_ref=None if by == "(anonymous)" else by,
                           comment=comment):
                    st.session_state.pop("ctx_clicked", None)
                    st.rerun()
    pooled_safety_map()

with tabs[5]:
    show_table(consent_matrix(bundle.consents))
    with st.form("ctx_consent", clear_on_submit=True):
        c1, c2 = st.columns(2)
        yp = c1.selectbox("Young person", refs, key="con_yp")
        partner = c2.selectbox("May share with", partners, key="con_partner")
        cats = st.multiselect("Information", list(CONSENT_CATEGORIES), key="con_cats",
                              format_func=lambda c: f"{c}: {CONSENT_CATEGORIES[c]}")
        basis = c1.selectbox("Legal basis", list(LEGAL_BASES), format_func=LEGAL_BASES.get,
                             key="con_basis")
        given = c2.date_input("Date", value=today, key="con_date")
        if st.form_submit_button("Record consent", key="con_add"):
            for cat in cats:
                saved(add_record, store, "consent", ctx.id, user, yp_ref=yp,
                      partner=partner, category=cat, legal_basis=basis, given_on=given)
            st.rerun()
    active = [c for c in bundle.consents if c.withdrawn_on is None]
    if active:
        with st.form("ctx_withdraw"):
            c = st.selectbox("Withdraw", active,
                             format_func=lambda c: f"{c.yp_ref} → {c.partner}: {c.category}")
            c_version = version_as_read("consent", c.id, c.version)
            if st.form_submit_button("Withdraw consent") and saved(
                    update_record, store, "consent", c.id, c_version, user,
                    withdrawn_on=today):
                st.rerun()
    view_as = st.selectbox("Preview what a partner sees", partners, key="ctx_view_as")
    seen = filter_for_partner(bundle, view_as)
    st.write(f"Young people shown: {', '.join(y.yp_ref for y in seen.young_people) or 'none'}; "
             f"withheld: {dict(seen.withheld)}")

with tabs[6]:
    from ctxmap.reports.pack import context_review

    review = context_review(bundle, layers)
    if review is None:
        st.info("No review yet: set a plan start (Overview) within the incident data's months.")
    else:
        st.line_chart(review.monthly.set_index("month")[["context", "expected_context"]])
        st.write(review.statement)
        from ctxmap.analysis.review import CAVEATS

        st.caption(" ".join(CAVEATS))
    show_table(pd.DataFrame([{"date": n.noted_on, "kind": n.kind, "young person": n.yp_ref,
                              "note": n.text} for n in bundle.review_notes]))
    with st.form("ctx_note", clear_on_submit=True):
        kind = st.selectbox("Kind", REVIEW_NOTE_KINDS, key="note_kind")
        yp = st.selectbox("Young person (for views)", ["(none)", *refs], key="note_yp")
        text = st.text_area("Note", key="note_text")
        if st.form_submit_button("Add note", key="note_add") and saved(
                add_record, store, "review_note", ctx.id, user, kind=kind, text=text,
                noted_on=today, yp_ref=None if yp == "(none)" else yp):
            st.rerun()

with tabs[7]:
    show_table(history(store, ctx.id).iloc[::-1])

with tabs[8]:
    who = st.selectbox("Pack for", ["Lead agency (full record)", *partners], key="ctx_pack_for")
    if st.button("Make the meeting pack", key="pack_make"):
        from ctxmap.reports.pack import make_pack

        try:
            page = make_pack(store, ctx.id, for_partner=None if who.startswith("Lead") else who)
        except CtxmapError as exc:
            st.error(str(exc))
        else:
            export_button("Download pack (HTML)", page, file_name=f"{ctx.id}-pack.html",
                          mime="text/html",
                          what=f"meeting pack of {ctx.id} for {who} (consent-filtered)")
