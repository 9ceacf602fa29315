"""The consent records one form asks for: one per information category, all checked first.

A consent form names a young person, a partner, a legal basis, a date and several
categories; each category is one record. :func:`consent_rows` checks every one of them
before any is saved and raises once with every problem, so a form is saved whole or not
at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ctxmap.cases.records import ContextBundle
from ctxmap.cases.validation import check_yp_ref, validate_fields
from ctxmap.errors import InputError


def consent_rows(bundle: ContextBundle, partners: Sequence[str], *, yp_ref: object,
                 partner: str, categories: Sequence[str], legal_basis: str,
                 given_on: dt.date | str) -> list[dict[str, Any]]:
    """Return the consent records a form asks for, each checked and ready to add.

    Parameters
    ----------
    bundle
        The context as read (its linked young people and recorded consents).
    partners
        The partner list.
    yp_ref, partner, categories, legal_basis, given_on
        The form's fields; one record per category.

    Raises
    ------
    InputError
        With every problem of every row (no category, a bad field, a young person not
        linked to the context, a consent already recorded), so that nothing is saved.
    """
    problems: list[str] = []
    if not categories:
        problems.append("no information category chosen; expected at least one")
    try:
        ref: str | None = check_yp_ref(yp_ref)
    except InputError as exc:
        problems.append(str(exc))
        ref = None
    if ref is not None and ref not in {y.yp_ref for y in bundle.young_people}:
        problems.append(f"young person {ref!r} is not linked to {bundle.context.id}; "
                        "link them first (Young people tab)")
    recorded = {(c.yp_ref, c.partner, c.category): c for c in bundle.consents}
    rows: list[dict[str, Any]] = []
    for category in categories:
        try:
            row = validate_fields("consent", {"partner": partner, "category": category,
                                              "legal_basis": legal_basis,
                                              "given_on": given_on}, partners)
        except InputError as exc:
            problems.append(f"{category}: {exc}")
            continue
        old = recorded.get((ref, row["partner"], row["category"])) if ref else None
        if old is not None:
            state = f", withdrawn on {old.withdrawn_on}" if old.withdrawn_on else ""
            problems.append(f"consent for {ref} to share {category!r} with {partner} is "
                            f"already recorded (record #{old.id}{state}); expected a "
                            "category not yet recorded")
            continue
        rows.append({"yp_ref": ref, **row})
    if problems:
        raise InputError("Nothing was saved: " + "; ".join(problems))
    return rows
