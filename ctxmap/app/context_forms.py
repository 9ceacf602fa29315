"""The contexts page's longer forms: referring a context and adding or editing assessment entries.

Every form saves through :func:`ctxmap.app.forms.save_form` (errors reported and kept,
nothing half saved) and edits against the version first read
(:func:`ctxmap.app.forms.version_as_read`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import geopandas as gpd
import streamlit as st
from shapely.geometry import shape
from streamlit_folium import st_folium

from ctxmap.app.drawing import page_study_area
from ctxmap.app.forms import form_generation, save_form, show_form_errors, version_as_read
from ctxmap.cases.consent import CONSENT_CATEGORIES, LEGAL_BASES
from ctxmap.cases.consent_form import consent_rows
from ctxmap.cases.records import (
    ACTION_STATUSES,
    ASSESSMENT_SIDES,
    CONTEXT_KINDS,
    FACTORS,
    INFO_GRADES,
    SOURCE_GRADES,
    AssessmentEntry,
    Context,
    ContextBundle,
)
from ctxmap.cases.repository import (
    add_partner,
    add_record,
    add_records,
    create_context,
    delete_record,
    update_record,
)
from ctxmap.cases.scope import COORDINATOR_ROLE
from ctxmap.cases.tables import SIDE_LABELS, entry_label, referral_places, young_people_refs
from ctxmap.maps.interactive import drawing_map
from ctxmap.store.protocol import Store

COLLECTIVE: Final = "(collective)"
_WHERE: Final = ("A place on the map", "What I drew on the map", "No location (online space)")


@dataclass(frozen=True)
class ContextPage:
    """What the contexts page works on: the store, who edits, today and the layers.

    ``user`` is the name kept in the history (a worker ID when no sign-in is configured);
    ``bundle`` is the chosen context with its records (None while referring a new one).
    """

    store: Store
    user: str
    role: str
    today: dt.date
    layers: Mapping[str, gpd.GeoDataFrame]
    partners: tuple[str, ...] = ()
    bundle: ContextBundle | None = None

    @property
    def ctx(self) -> Context:
        """The chosen context (raises when none is chosen)."""
        if self.bundle is None:
            raise ValueError("no context chosen; expected a bundle")
        return self.bundle.context

    @property
    def refs(self) -> list[str]:
        """The pseudonymous references of the context's young people."""
        return [] if self.bundle is None else [y.yp_ref for y in self.bundle.young_people]


def _drawn_shape() -> None:
    """The expander to draw a context; what is drawn is kept in the session as WKT."""
    with st.expander("Draw the context on the map (a point or a polygon)"):
        got = st_folium(drawing_map(page_study_area()), key="ctx_draw", height=420,
                        returned_objects=["last_active_drawing"])
        if got and got.get("last_active_drawing"):
            st.session_state["ctx_drawn"] = shape(got["last_active_drawing"]["geometry"]).wkt
        st.caption(f"Drawn: {st.session_state.get('ctx_drawn', 'nothing yet')}")


def _referred(new: object) -> str:
    context_id = getattr(new, "id", "")
    st.session_state["ctx_pending"] = context_id
    return f"Referred {context_id}."


def refer_form(page: ContextPage) -> None:
    """Refer a new context: a place on the map, a drawn shape, or no location."""
    st.subheader("Refer a context")
    places = referral_places(page.layers)
    labels = dict(zip(places["key"], places["label"], strict=True))
    _drawn_shape()
    show_form_errors("ctx_refer")
    with st.form("ctx_refer"):
        name = st.text_input("Name of the context (a place, not a person)", key="ref_name")
        kind = st.selectbox("Kind", CONTEXT_KINDS, key="ref_kind")
        where = st.radio("Location", _WHERE, horizontal=True, key="ref_where")
        place_key = st.selectbox("Place", list(labels), format_func=lambda k: labels[k],
                                 key="ref_place")
        ref_date = st.date_input("Referral date", value=page.today)
        reason = st.text_area("Reason for referral", key="ref_reason")
        c1, c2, c3 = st.columns(3)
        referring = c1.text_input("Referring agency")
        lead = c2.text_input("Lead agency")
        worker = c3.text_input("Lead worker (role or worker ID)", key="ref_worker",
                               value=page.user if page.role == COORDINATOR_ROLE else "")
        radius = st.number_input("Radius around a point (m)", 50, 5000, 400, step=50)
        refs = st.text_input("Young people (pseudonymous references, e.g. YP-0001, YP-0002)",
                             key="ref_yp")
        if not st.form_submit_button("Refer", key="ref_submit"):
            return
    geometry: Any = None
    layer = pid = None
    if where == _WHERE[0] and place_key:
        layer, pid = place_key.split(":", 1)
        geometry = places.loc[places["key"] == place_key].geometry.iloc[0]
    elif where == _WHERE[1]:
        geometry = st.session_state.get("ctx_drawn")
    save_form("ctx_refer", [lambda: create_context(
        page.store, page.user, name=name, kind=kind, referral_date=ref_date,
        referral_reason=reason, geometry=geometry, place_layer=layer, place_id=pid,
        radius_m=radius, referring_agency=referring, lead_agency=lead, lead_worker=worker,
        young_people=young_people_refs(refs))], done=_referred)


def _grade(grades: Mapping[str, str]) -> Callable[[str], str]:
    return lambda g: f"{g}: {grades[g]}"


def _index(options: Sequence[str], value: str | None) -> int:
    return list(options).index(value) if value is not None and value in options else 0


def assessment_fields(refs: list[str], prefix: str, suffix: str = "", *,
                      entry: AssessmentEntry | None = None, what: str = "What") -> dict[str, Any]:
    """The fields of an assessment entry (``entry``'s values as defaults).

    Widgets are keyed ``{prefix}_{field}{suffix}`` (e.g. ``as_text``, ``ase_text_7_0``).

    Returns the values as :func:`ctxmap.cases.repository.add_record` takes them.
    """
    sides, grades_s, grades_i = list(ASSESSMENT_SIDES), list(SOURCE_GRADES), list(INFO_GRADES)
    yps = [COLLECTIVE, *refs]
    c1, c2, c3, c4 = st.columns(4)
    values = {
        "side": c1.selectbox("Side", sides, _index(sides, entry.side if entry else None),
                             key=f"{prefix}_side{suffix}", format_func=lambda s: SIDE_LABELS[s]),
        "factor": c2.selectbox("Factor", FACTORS, _index(FACTORS, entry.factor if entry else None),
                               key=f"{prefix}_factor{suffix}"),
        "source_grade": c3.selectbox("Source reliability", grades_s,
                                     _index(grades_s, entry.source_grade if entry else None),
                                     key=f"{prefix}_sg{suffix}", format_func=_grade(SOURCE_GRADES)),
        "info_grade": c4.selectbox("Information reliability", grades_i,
                                   _index(grades_i, entry.info_grade if entry else None),
                                   key=f"{prefix}_ig{suffix}", format_func=_grade(INFO_GRADES)),
        "text": st.text_area(what, entry.text if entry else "", key=f"{prefix}_text{suffix}"),
        "source": st.text_input("Source", entry.source if entry else "",
                                key=f"{prefix}_source{suffix}"),
    }
    yp = st.selectbox("About one young person?", yps, _index(yps, entry.yp_ref if entry else None),
                      key=f"{prefix}_yp{suffix}")
    return {**values, "yp_ref": None if yp == COLLECTIVE else yp}


def add_entry_form(page: ContextPage) -> None:
    """Add an assessment entry (graded: an association is not a fact)."""
    show_form_errors("ctx_assess")
    with st.form("ctx_assess", clear_on_submit=True):
        values = assessment_fields(page.refs, "as",
                                   what="What (an association is not a fact: grade it)")
        if st.form_submit_button("Add entry", key="as_add"):
            save_form("ctx_assess", [lambda: add_record(
                page.store, "assessment", page.ctx.id, page.user, recorded_on=page.today,
                **values)])


def edit_entry_form(page: ContextPage, entries: Mapping[int, AssessmentEntry]) -> None:
    """Change or delete one assessment entry, against the version as first read."""
    pick = st.selectbox("Entry", list(entries), key="as_pick",
                        format_func=lambda i: entry_label(entries[i]))
    entry = entries[pick]
    k = f"{entry.id}_{form_generation('as')}"
    read_version = version_as_read("as", entry.id, entry.version)
    show_form_errors("ctx_assess_edit")
    with st.form(f"ctx_assess_edit_{k}"):
        # keyed by the generation: after a save or a conflict they show the stored entry
        values = assessment_fields(page.refs, "ase", f"_{k}", entry=entry)
        st.caption(f"Entry #{entry.id}, version {read_version} as you read it.")
        c1, c2, c3 = st.columns([1, 1, 2])
        do_save = c1.form_submit_button("Save changes", key=f"ase_save_{k}")
        do_delete = c2.form_submit_button("Delete entry", key=f"ase_delete_{k}")
        sure = c3.checkbox("Yes, delete this entry", key=f"ase_sure_{k}")
    if do_save:
        save_form("ctx_assess_edit", [lambda: update_record(
            page.store, "assessment", entry.id, read_version, page.user, **values)],
            done=f"Entry #{entry.id} saved.")
    elif do_delete and sure:
        save_form("ctx_assess_edit", [lambda: delete_record(
            page.store, "assessment", entry.id, read_version, page.user)],
            done=f"Entry #{entry.id} deleted.")
    elif do_delete:
        st.warning("Tick \"Yes, delete this entry\" to delete it (the deletion is kept "
                   "in the history).")


def action_forms(page: ContextPage) -> None:
    """Add an action, change an action's status, add a partner to the list."""
    assert page.bundle is not None
    show_form_errors("act")
    with st.form("ctx_action", clear_on_submit=True):
        values: dict[str, Any] = {
                  "partner": st.selectbox("Partner", page.partners, key="act_partner"),
                  "what": st.text_input("What they will do", key="act_what")}
        c1, c2, c3 = st.columns(3)
        values["owner"] = c1.text_input("Owner (role)", key="act_owner")
        values["due_date"] = c2.date_input("Due", value=page.today + dt.timedelta(days=28),
                                           key="act_due")
        values["status"] = c3.selectbox("Status", ACTION_STATUSES, key="act_status")
        if st.form_submit_button("Add action", key="act_add"):
            save_form("act", [lambda: add_record(page.store, "action", page.ctx.id,
                                                 page.user, **values)])
    if page.bundle.actions:
        show_form_errors("act_status")
        with st.form("ctx_action_status"):
            act = st.selectbox("Action", page.bundle.actions,
                               format_func=lambda a: f"#{a.id} {a.partner}: {a.what[:60]}")
            status = {"status": st.selectbox("New status", ACTION_STATUSES)}
            if note := st.text_input("Notes"):
                status["notes"] = note
            read = version_as_read("act_status", act.id, act.version)
            if st.form_submit_button("Update action"):
                save_form("act_status", [lambda: update_record(
                    page.store, "action", act.id, read, page.user, **status)])
    show_form_errors("partner")
    with st.form("ctx_partner", clear_on_submit=True):
        new_partner = st.text_input("Add a partner to the list")
        if st.form_submit_button("Add partner"):
            save_form("partner", [lambda: add_partner(page.store, new_partner, page.user)])


def consent_forms(page: ContextPage) -> None:
    """Record consent (one record per category, all or none) and withdraw it."""
    bundle = page.bundle
    assert bundle is not None
    show_form_errors("consent")
    with st.form("ctx_consent", clear_on_submit=True):
        c1, c2 = st.columns(2)
        yp = c1.selectbox("Young person", page.refs, key="con_yp")
        partner = c2.selectbox("May share with", page.partners, key="con_partner")
        cats = st.multiselect("Information", list(CONSENT_CATEGORIES), key="con_cats",
                              format_func=lambda c: f"{c}: {CONSENT_CATEGORIES[c]}")
        basis = c1.selectbox("Legal basis", list(LEGAL_BASES), format_func=lambda b: LEGAL_BASES[b],
                             key="con_basis")
        given = c2.date_input("Date", value=page.today, key="con_date")
        if st.form_submit_button("Record consent", key="con_add"):
            def writes() -> list[Callable[[], object]]:
                rows = consent_rows(bundle, page.partners, yp_ref=yp, partner=partner,
                                    categories=cats, legal_basis=basis, given_on=given)
                return [partial(add_records, page.store, "consent", bundle.context.id,
                                page.user, rows)]

            save_form("consent", writes)
    if active := [c for c in bundle.consents if c.withdrawn_on is None]:
        show_form_errors("withdraw")
        with st.form("ctx_withdraw"):
            c = st.selectbox("Withdraw", active,
                             format_func=lambda c: f"{c.yp_ref} → {c.partner}: {c.category}")
            read = version_as_read("withdraw", c.id, c.version)
            if st.form_submit_button("Withdraw consent"):
                save_form("withdraw", [lambda: update_record(
                    page.store, "consent", c.id, read, page.user, withdrawn_on=page.today)])
