"""consent_rows: a consent form's records are checked together, every problem said once."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from ctxmap.cases.consent_form import consent_rows
from ctxmap.cases.records import Consent, Context, ContextBundle, YoungPersonLink
from ctxmap.errors import InputError

PARTNERS = ["Local police", "Youth service"]


def _bundle() -> ContextBundle:
    ctx = Context(id="ctx-0009", name="Park", kind="park", geometry=Point(1.3, 52.6),
                  referral_date="2019-01-01", referral_reason="r")
    return ContextBundle(
        context=ctx,
        young_people=(YoungPersonLink(id=1, context_id=ctx.id, yp_ref="YP-0001",
                                      linked_on="2019-01-01"),),
        consents=(Consent(id=3, context_id=ctx.id, yp_ref="YP-0001", partner="Local police",
                          category="link", legal_basis="consent", given_on="2019-01-02"),))


def test_one_row_per_category_checked_and_ready_to_add() -> None:
    rows = consent_rows(_bundle(), PARTNERS, yp_ref="YP-0001", partner="Youth service",
                        categories=["link", "views"], legal_basis="consent",
                        given_on="2019-02-01")
    assert [(r["yp_ref"], r["partner"], r["category"]) for r in rows] == [
        ("YP-0001", "Youth service", "link"), ("YP-0001", "Youth service", "views")]


def test_one_recorded_category_stops_the_whole_form() -> None:
    with pytest.raises(InputError, match="already recorded") as err:
        consent_rows(_bundle(), PARTNERS, yp_ref="YP-0001", partner="Local police",
                     categories=["views", "link"], legal_basis="consent",
                     given_on="2019-02-01")
    assert "Nothing was saved" in str(err.value)


def test_every_problem_is_said_at_once() -> None:
    with pytest.raises(InputError) as err:
        consent_rows(_bundle(), PARTNERS, yp_ref="YP-0002", partner="Nobody",
                     categories=[], legal_basis="consent", given_on="2019-02-01")
    text = str(err.value)
    assert "no information category" in text and "not linked" in text
