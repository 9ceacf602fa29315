"""Add the bundled sample's one worked, fictional context of concern (the case study).

Modelled on the published case study "Making a supported living home safer": the
fictional home ``home-cs-01`` is referred, assessed with the context triangle, given
a response plan with the case study's partners (plan start 2018-12-01, so the review
has two months of the sample's data on each side), and reviewed. The two young people
are pseudonymous (``YP-0001``, ``YP-0002``); no name of any person appears. Every step
is written through :mod:`ctxmap.cases.contexts` with fixed times, so the history shows the
whole cycle and the build is reproducible.
"""

from __future__ import annotations

from typing import Final

from shapely.geometry import Point

from ctxmap.cases.repository import add_record, create_context, store_name, update_record
from ctxmap.errors import InputError
from ctxmap.layers.sample_homes import CASE_STUDY_ID
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import ctx_contexts

SAMPLE_CONTEXT_ID: Final = "ctx-0001"
SAMPLE_USER: Final = "ctxmap sample (fictional worker CS-01)"
PLAN_START: Final = "2018-12-01"

_ASSESSMENT: Final[tuple[tuple[str, str, str, str, str, str, str | None], ...]] = (
    ("young_people", "risk", "Young people approached near the home by adults offering lifts, "
     "cash and cannabis; suspected recruitment into drug dealing.", "Home staff logs", "B", "2",
     None),
    ("young_people", "vulnerability", "Several young people new to the area, with few trusted "
     "adults or activities locally.", "Social workers' assessments", "A", "1", None),
    ("young_people", "protective", "Young people came up with ideas for making the home safer "
     "at their group meeting and want to be involved.", "House meeting notes", "A", "1", None),
    ("young_people", "risk", "Seen getting into cars with unknown adults late at night.",
     "Child protection meeting", "B", "3", "YP-0001"),
    ("guardianship", "vulnerability", "Staff not confident about what exploitation is or how "
     "to spot its early signs.", "Staff survey in the assessment", "A", "1", None),
    ("guardianship", "protective", "Staff raised the concern and care about the young people; "
     "home manager organised a meeting for all residents.", "Referral", "A", "1", None),
    ("guardianship", "risk", "Adults not known to the home loiter outside in the evenings.",
     "Neighbour report to police", "C", "4", None),
    ("place", "vulnerability", "Letterbox and rear gate insecure; poorly lit path beside "
     "the home.", "Community safety team visit", "A", "1", None),
    ("place", "risk", "Drugs and violence reports are concentrated within 400 m of the home "
     "(see the map evidence).", "police.uk open data", "A", "3", None),
    ("place", "protective", "A community youth centre and other safe places are within "
     "walking distance.", "Local area coordinator", "B", "2", None),
)

_ACTIONS: Final[tuple[tuple[str, str, str, str, str, str], ...]] = (
    ("VCSE substance-misuse service", "Awareness sessions on substance misuse with staff and "
     "young people (two groups).", "Substance-misuse worker", "2018-12-14", "done",
     "Both groups held; young people asked for a follow-up."),
    ("Contextual Safeguarding team", "Meet the home's staff on signs of exploitation; give "
     "written guidance.", "CS team youth worker", "2018-12-07", "done", ""),
    ("Community safety team", "Assess security in and around the home (fire-safe letterbox, "
     "gate, lighting).", "Community safety officer", "2018-12-21", "done",
     "Letterbox replaced; lighting request with the council."),
    ("Local area coordinator", "Link young people to the community youth centre and other "
     "safe places to go if they feel threatened.", "Local area coordinator", "2019-01-11",
     "done", ""),
    ("Community youth centre", "Welcome the young people; named worker they can contact "
     "directly.", "Youth centre lead", "2019-01-11", "in progress", ""),
    ("Local police", "Visit the home and patrol around it to disrupt adults targeting the "
     "young people.", "Neighbourhood sergeant", "2019-01-31", "in progress",
     "Weekly drive-bys in the evenings."),
    ("Residents near the place", "Short video for people living nearby on exploitation in "
     "the area and how they can help.", "CS team", "2019-02-15", "not started", ""),
    ("Local business / apprenticeship provider", "Offer apprenticeship tasters to the young "
     "people.", "Employer liaison", "2019-03-01", "not started", ""),
)

_SAFETY_PLAN: Final = (
    "Our safety and wellbeing plan (written together at the house meeting, on the wall):\n"
    "- If someone we don't know offers us a lift, money or drugs, we say no and tell staff.\n"
    "- We know the youth centre, the library and the pharmacy are safe places to go.\n"
    "- Staff will check in with us when we come home late, without telling us off.\n"
    "- We can contact the local area coordinator and the substance-misuse worker ourselves.\n"
    "- We agreed what can and cannot be shared with other agencies (consent form)."
)


def add_sample_context(store: Store) -> int:
    """Add the worked case-study context to ``store``; return the number added (1).

    Needs the sample homes (``home-cs-01``) in the store. Does nothing and returns 0 when
    the context already exists.

    Raises
    ------
    InputError
        If the case-study home is not in the store.
    """
    with store.records() as con:
        if con.execute(ctx_contexts.select().where(ctx_contexts.c.id == SAMPLE_CONTEXT_ID)
                       ).first():
            return 0
    homes = store.read("homes")
    home = homes[homes["id"] == CASE_STUDY_ID]
    if home.empty or home.geometry.iloc[0] is None:
        raise InputError(f"the sample home {CASE_STUDY_ID!r} is not in {store_name(store)}; "
                         "expected the sample homes (ctxmap.layers.sample_homes) to be stored "
                         "first")
    point = home.geometry.iloc[0]
    u = SAMPLE_USER
    ctx = create_context(
        store, u, name="Supported living home (case study)", kind="home",
        referral_date="2018-11-05", context_id=SAMPLE_CONTEXT_ID, at="2018-11-05T10:00:00+00:00",
        referral_reason="Workers in the home think the young people living there are being "
        "targeted by adults for criminal exploitation (raised at a child protection meeting).",
        geometry=point, place_layer="homes", place_id=CASE_STUDY_ID, radius_m=400.0,
        referring_agency="Children's social care (social worker)",
        young_people=("YP-0001",))
    add_record(store, "young_person", ctx.id, u, at="2018-11-20T09:00:00+00:00",
               yp_ref="YP-0002", linked_on="2018-11-20")
    ctx = update_record(store, "context", ctx.id, ctx.version, u, at="2018-11-12T14:00:00+00:00",
                        status="assessing", lead_agency="Children's social care",
                        lead_worker="Lead worker CS-01 (Contextual Safeguarding team)")
    for i, (side, factor, text, source, sg, ig, yp) in enumerate(_ASSESSMENT):
        add_record(store, "assessment", ctx.id, u, at=f"2018-11-{20 + i // 4:02d}T1{i % 4}:00:00"
                   "+00:00", side=side, factor=factor, text=text, source=source,
                   source_grade=sg, info_grade=ig, yp_ref=yp, recorded_on="2018-11-20")
    ctx = update_record(store, "context", ctx.id, ctx.version, u, at="2018-11-26T10:00:00+00:00",
                        status="planning")
    for i, (partner, what, owner, due, status, notes) in enumerate(_ACTIONS):
        add_record(store, "action", ctx.id, u, at=f"2018-11-28T1{i}:00:00+00:00",
                   partner=partner, what=what, owner=owner, due_date=due, status=status,
                   notes=notes)
    ctx = update_record(store, "context", ctx.id, ctx.version, u, at="2018-12-01T09:00:00+00:00",
                        status="active plan", plan_start=PLAN_START, safety_plan=_SAFETY_PLAN)
    consents = (
        ("YP-0001", "Contextual Safeguarding team", ("link", "assessment", "safety plan",
                                                     "safety map", "views"), "consent"),
        ("YP-0001", "Local police", ("link",), "public task"),
        ("YP-0001", "Local area coordinator", ("link", "safety plan", "safety map"), "consent"),
        ("YP-0002", "Contextual Safeguarding team", ("link", "assessment", "safety plan",
                                                     "safety map", "views"), "consent"),
        ("YP-0002", "Local area coordinator", ("link", "safety plan"), "consent"),
        ("YP-0002", "Community youth centre", ("link", "safety plan", "views"), "consent"),
    )
    for ref, partner, cats, basis in consents:
        for cat in cats:
            add_record(store, "consent", ctx.id, u, at="2018-12-10T11:00:00+00:00", yp_ref=ref,
                       partner=partner, category=cat, legal_basis=basis, given_on="2018-12-10")
    ratings = (
        ("YP-0001", "Path beside the home", "red", (1.3188, 52.6343), "Men wait there at night"),
        ("YP-0001", "Community youth centre", "green", None, "Staff know us"),
        ("YP-0002", "Bus stop on the main road", "amber", (1.3211, 52.6352), "OK in daytime"),
        ("YP-0002", "Corner shop", "green", (1.3182, 52.6355), "Shopkeeper looks out for us"),
        ("YP-0002", "Path beside the home", "red", (1.3188, 52.6343), ""),
    )
    for ref, label, rating, xy, comment in ratings:
        geom = Point(xy) if xy else Point(point.x + 0.004, point.y - 0.002)
        add_record(store, "safety_rating", ctx.id, u, at="2018-12-12T16:00:00+00:00",
                   yp_ref=ref, place_label=label, rating=rating, geometry=geom,
                   rated_on="2018-12-12", comment=comment)
    review_notes = (
        ("staff confidence", None, "Staff say they feel supported and more confident to respond "
         "to exploitation risks; one worker contacted the CS team early about a new resident."),
        ("young people views", "YP-0002", "Likes knowing the youth centre worker by name; feels "
         "safer walking back from the bus stop now."),
        ("young people views", "YP-0001", "Wants the path lighting fixed; glad the letterbox was "
         "changed."),
        ("partner feedback", None, "Apprenticeship provider keen to stay involved: understands "
         "young people and safeguarding."),
    )
    for kind, note_ref, text in review_notes:
        add_record(store, "review_note", ctx.id, u, at="2019-03-01T10:00:00+00:00", kind=kind,
                   yp_ref=note_ref, text=text, noted_on="2019-03-01")
    update_record(store, "context", ctx.id, ctx.version, u, at="2019-03-01T12:00:00+00:00",
                  status="review")
    return 1
