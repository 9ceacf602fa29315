"""The consent filter: a partner sees only what a consent record allows."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from ctxmap.cases.consent import (
    CONSENT_CATEGORIES,
    consent_matrix,
    filter_for_partner,
    is_active,
    may_share,
)
from ctxmap.cases.records import (
    Action,
    AssessmentEntry,
    Consent,
    Context,
    ContextBundle,
    ReviewNote,
    SafetyRating,
    YoungPersonLink,
)
from ctxmap.errors import InputError

HOME = Point(1.30, 52.63)
REFS = ("YP-0001", "YP-0002")
PARTNERS = ("Local police", "Community youth centre")


def _bundle(consents: tuple[Consent, ...], kind: str = "home",
            plan: str = "Our plan") -> ContextBundle:
    ctx = Context("ctx-0001", "Home", kind, HOME, "2019-01-01", "reason",
                     place_layer="homes" if kind == "home" else None,
                     place_id="h1" if kind == "home" else None, safety_plan=plan)
    yps = tuple(YoungPersonLink(i, ctx.id, r, "2019-01-01") for i, r in enumerate(REFS))
    assessment = (
        AssessmentEntry(1, ctx.id, "place", "risk", "dark path", "visit", "A", "1",
                           "2019-01-01"),
        AssessmentEntry(2, ctx.id, "young_people", "risk", "about 1", "s", "B", "2",
                           "2019-01-01", yp_ref="YP-0001"),
        AssessmentEntry(3, ctx.id, "young_people", "risk", "about 2", "s", "B", "2",
                           "2019-01-01", yp_ref="YP-0002"),
    )
    ratings = (SafetyRating(1, ctx.id, "path", "red", Point(1.3, 52.6), "2019-01-01",
                               yp_ref="YP-0001"),
               SafetyRating(2, ctx.id, "shop", "green", Point(1.3, 52.6), "2019-01-01"))
    notes = (ReviewNote(1, ctx.id, "young people views", "view 2", "2019-02-01",
                           yp_ref="YP-0002"),
             ReviewNote(2, ctx.id, "staff confidence", "staff ok", "2019-02-01"))
    actions = (Action(1, ctx.id, "Local police", "patrol"),)
    return ContextBundle(ctx, yps, assessment, actions, consents, ratings, notes)


def _c(i: int, ref: str, partner: str, cat: str, withdrawn: str | None = None,
       given: str = "2019-01-10") -> Consent:
    return Consent(i, "ctx-0001", ref, partner, cat, "consent", given, withdrawn)


def test_no_consent_shows_nothing_about_young_people() -> None:
    out = filter_for_partner(_bundle(()), "Local police")
    assert out.young_people == ()
    assert [e.id for e in out.assessment] == [1]
    assert [r.id for r in out.safety_ratings] == [2]
    assert [n.id for n in out.review_notes] == [2]
    assert out.context.safety_plan == ""
    assert out.actions == _bundle(()).actions
    assert out.withheld["young_people"] == 2 and out.withheld["safety_plan"] == 1
    assert out.for_partner == "Local police"


def test_each_category_opens_only_its_own_records() -> None:
    consents = (_c(1, "YP-0001", "Local police", "link"),
                _c(2, "YP-0001", "Local police", "assessment"),
                _c(3, "YP-0002", "Local police", "assessment"),  # no link: stays hidden
                _c(4, "YP-0002", "Community youth centre", "link"),
                _c(5, "YP-0002", "Community youth centre", "views"))
    police = filter_for_partner(_bundle(consents), "Local police")
    assert [y.yp_ref for y in police.young_people] == ["YP-0001"]
    assert [e.id for e in police.assessment] == [1, 2]
    assert [r.id for r in police.safety_ratings] == [2]  # safety map not shared
    assert {c.partner for c in police.consents} == {"Local police"}
    assert {c.yp_ref for c in police.consents} == {"YP-0001"}
    youth = filter_for_partner(_bundle(consents), "Community youth centre")
    assert [n.id for n in youth.review_notes] == [1, 2]
    assert [e.id for e in youth.assessment] == [1]


def test_safety_plan_needs_every_young_person() -> None:
    some = (_c(1, "YP-0001", "Local police", "link"),
            _c(2, "YP-0001", "Local police", "safety plan"))
    assert filter_for_partner(_bundle(some), "Local police").context.safety_plan == ""
    both = (*some, _c(3, "YP-0002", "Local police", "link"),
            _c(4, "YP-0002", "Local police", "safety plan"))
    assert filter_for_partner(_bundle(both), "Local police").context.safety_plan == "Our plan"


def test_withdrawn_and_dated_consent() -> None:
    c = _c(1, "YP-0001", "Local police", "link", withdrawn="2019-02-01")
    assert not is_active(c)
    assert is_active(c, "2019-01-20") and not is_active(c, "2019-02-01")
    assert not is_active(c, "2019-01-09")
    assert filter_for_partner(_bundle((c,)), "Local police").young_people == ()
    seen = filter_for_partner(_bundle((c,)), "Local police", as_of="2019-01-15")
    assert [y.yp_ref for y in seen.young_people] == ["YP-0001"]


def test_home_location_is_masked_for_partners_and_others_are_not() -> None:
    out = filter_for_partner(_bundle(()), "Local police")
    assert out.location_masked and out.context.place_id is None
    geom = out.context.geometry
    assert geom.geom_type == "Polygon" and geom.contains(HOME)
    assert not geom.equals(HOME)
    park = filter_for_partner(_bundle((), kind="park"), "Local police")
    assert not park.location_masked and park.context.geometry.equals(HOME)


def test_bad_partner_and_refiltering_refused() -> None:
    with pytest.raises(InputError):
        filter_for_partner(_bundle(()), "")
    with pytest.raises(InputError, match="partner list"):
        filter_for_partner(_bundle(()), "Nobody", known_partners=PARTNERS)
    once = filter_for_partner(_bundle(()), "Local police")
    with pytest.raises(InputError, match="already filtered"):
        filter_for_partner(once, "Community youth centre")


def test_input_bundle_not_modified() -> None:
    b = _bundle((_c(1, "YP-0001", "Local police", "link"),))
    before = repr(b)
    filter_for_partner(b, "Local police")
    assert repr(b) == before


def test_matrix_and_may_share() -> None:
    cs = (_c(1, "YP-0001", "Local police", "link"),
          _c(2, "YP-0001", "Local police", "views", withdrawn="2019-02-01"))
    m = consent_matrix(cs)
    assert m.loc[0, "link"] and not m.loc[0, "views"]
    assert may_share(cs, "YP-0001", "Local police", "link")
    assert not may_share(cs, "YP-0001", "Community youth centre", "link")
    with pytest.raises(InputError):
        may_share(cs, "YP-0001", "Local police", "everything")


ALL = list(itertools.product(range(2), range(2), list(CONSENT_CATEGORIES)))


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(ALL)), st.sampled_from(PARTNERS))
def test_filter_matches_brute_force_rule(chosen: set[tuple[int, int, str]], partner: str) -> (
    None
):
    consents = tuple(_c(i, REFS[r], PARTNERS[p], cat) for i, (r, p, cat) in
                     enumerate(sorted(chosen)))
    b = _bundle(consents)
    out = filter_for_partner(b, partner)
    ok = {(REFS[r], cat) for r, p, cat in chosen if PARTNERS[p] == partner}
    linked = {ref for ref in REFS if (ref, "link") in ok}
    assert {y.yp_ref for y in out.young_people} == linked
    for e in b.assessment:
        shown = e.yp_ref is None or (e.yp_ref in linked and (e.yp_ref, "assessment") in ok)
        assert (e in out.assessment) == shown
    for r in b.safety_ratings:
        shown = r.yp_ref is None or (r.yp_ref in linked and (r.yp_ref, "safety map") in ok)
        assert (r in out.safety_ratings) == shown
    for n in b.review_notes:
        shown = n.yp_ref is None or (n.yp_ref in linked and (n.yp_ref, "views") in ok)
        assert (n in out.review_notes) == shown
    plan = all(ref in linked and (ref, "safety plan") in ok for ref in REFS)
    assert (out.context.safety_plan == "Our plan") == plan
    assert all(c.partner == partner and c.yp_ref in linked for c in out.consents)
    total = sum(out.withheld[k] for k in ("young_people", "assessment", "safety_ratings",
                                          "review_notes"))
    assert total == (len(b.young_people) - len(out.young_people)
                     + len(b.assessment) - len(out.assessment)
                     + len(b.safety_ratings) - len(out.safety_ratings)
                     + len(b.review_notes) - len(out.review_notes))
