"""Consent to share: what each young person agreed each partner may see, and the filter.

Each :class:`~ctxmap.cases.records.Consent` record says that, for one young person (by
pseudonymous reference), one *category* of information may be shared with one partner,
on a legal basis, from a date (until it is withdrawn). :func:`filter_for_partner` turns
a full :class:`~ctxmap.cases.records.ContextBundle` into what one partner may see. The rule
is "nothing about a young person unless a record allows it": no record means no.

Information categories
----------------------
``link``        that the young person is linked to this context at all;
``assessment``  assessment entries about that young person;
``safety plan`` the safety and wellbeing plan written with the young people;
``safety map``  that young person's red/amber/green ratings of places;
``views``       review notes giving that young person's views.

Entries that are not about a named (pseudonymous) young person, such as the collective
assessment of the place or of guardianship, the response plan's actions and notes
about staff confidence, are about the context, not a person, and are shared.
The context's own location is masked to a grid cell when the context is a home.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

import geopandas as gpd
import pandas as pd

from ctxmap.cases.records import Consent, ContextBundle
from ctxmap.errors import InputError
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store import vocabularies as vocab

CONSENT_CATEGORIES: Final[dict[str, str]] = dict(zip(vocab.CONSENT_CATEGORIES, (
    "That the young person is linked to this context",
    "Assessment entries about the young person",
    "The safety and wellbeing plan written with the young people",
    "The young person's red/amber/green ratings of places",
    "The young person's views recorded in reviews",
), strict=True))
#: Lawful bases for sharing (UK GDPR Article 6), as recorded.
LEGAL_BASES: Final[dict[str, str]] = dict(zip(vocab.SHARING_BASES, (
    "Consent of the young person (UK GDPR Art. 6(1)(a))",
    "Legal obligation (Art. 6(1)(c))",
    "Vital interests: to protect life (Art. 6(1)(d))",
    "Public task, e.g. safeguarding duties (Art. 6(1)(e))",
), strict=True))
#: Cell size (metres) to which a home's location is masked in a partner's view.
HOME_MASK_CELL_M: Final = 250.0


def is_active(consent: Consent, as_of: dt.date | str | None = None) -> bool:
    """True when the consent applies on ``as_of``.

    With ``as_of=None`` a consent applies unless it has been withdrawn (on any date);
    with a date it applies when ``given_on <= as_of < withdrawn_on``.
    """
    if as_of is None:
        return consent.withdrawn_on is None
    day = as_of.isoformat() if isinstance(as_of, dt.date) else str(as_of)
    return consent.given_on <= day and (consent.withdrawn_on is None
                                        or day < consent.withdrawn_on)


def allowed(consents: Iterable[Consent], partner: str,
            as_of: dt.date | str | None = None) -> set[tuple[str, str]]:
    """The ``(yp_ref, category)`` pairs that may be shared with ``partner``."""
    return {(c.yp_ref, c.category) for c in consents
            if c.partner == partner and is_active(c, as_of)}


def may_share(consents: Iterable[Consent], yp_ref: str, partner: str, category: str,
              as_of: dt.date | str | None = None) -> bool:
    """True when a record allows sharing ``category`` about ``yp_ref`` with ``partner``."""
    if category not in CONSENT_CATEGORIES:
        raise InputError(f"information category {category!r}; expected one of "
                         f"{', '.join(CONSENT_CATEGORIES)}")
    return (yp_ref, category) in allowed(consents, partner, as_of)


def consent_matrix(consents: Iterable[Consent], as_of: dt.date | str | None = None) -> (
    pd.DataFrame
):
    """One row per (young person, partner), one column per category: ``True`` if shared."""
    rows: dict[tuple[str, str], dict[str, bool]] = {}
    for c in consents:
        key = (c.yp_ref, c.partner)
        rows.setdefault(key, dict.fromkeys(CONSENT_CATEGORIES, False))
        if is_active(c, as_of):
            rows[key][c.category] = True
    frame = pd.DataFrame(
        [{"yp_ref": k[0], "partner": k[1], **v} for k, v in sorted(rows.items())],
        columns=["yp_ref", "partner", *CONSENT_CATEGORIES])
    return frame


def mask_location(bundle: ContextBundle, cell_m: float = HOME_MASK_CELL_M) -> ContextBundle:
    """Replace a home context's point by the grid cell it lies in (other contexts unchanged).

    Uses :func:`ctxmap.privacy.masks.mask_points_to_cells`; a home drawn as a polygon is
    replaced by the cell of its centroid.
    """
    ctx = bundle.context
    if ctx.kind != "home" and ctx.place_layer != "homes":
        return bundle
    if ctx.geometry is None:
        return dataclasses.replace(bundle, location_masked=True)
    from ctxmap.privacy.masks import mask_points_to_cells

    point = ctx.geometry if ctx.geometry.geom_type == "Point" else ctx.geometry.centroid
    cell = mask_points_to_cells(gpd.GeoDataFrame(geometry=[point], crs=STORAGE_CRS), cell_m)
    masked = dataclasses.replace(ctx, geometry=cell.geometry.iloc[0], place_id=None,
                                 place_layer=None)
    return dataclasses.replace(bundle, context=masked, location_masked=True)


def filter_for_partner(bundle: ContextBundle, partner: str, *,
                       as_of: dt.date | str | None = None,
                       known_partners: Sequence[str] | None = None,
                       cell_m: float = HOME_MASK_CELL_M) -> ContextBundle:
    """Return what ``partner`` may see of a context bundle.

    Parameters
    ----------
    bundle
        The full bundle (from :func:`ctxmap.cases.repository.load_bundle`); not modified.
    partner
        The partner the view is for (exact name, as in the partner list).
    as_of
        Date the consents are judged on (see :func:`is_active`); ``None``: every
        consent not withdrawn.
    known_partners
        When given, ``partner`` must be one of these.
    cell_m
        Side of the square a home is masked to (the installation's
        ``CTXMAP_MASK_CELL_M``; default 250 m).

    Returns
    -------
    ContextBundle
        A new bundle: young people only where ``link`` is shared; their assessment
        entries, safety-map ratings and views only where that category is shared (and
        the link too); the safety plan only if every linked young person shares
        ``safety plan``; consent records only the partner's own (and only for young
        people it may see); a home's location masked to a grid cell. ``withheld``
        counts what was left out, ``for_partner`` names the partner.

    Raises
    ------
    InputError
        If ``partner`` is empty or not a known partner.
    """
    if not isinstance(partner, str) or not partner.strip():
        raise InputError(f"partner {partner!r}; expected a partner's name")
    if bundle.for_partner is not None and bundle.for_partner != partner:
        raise InputError(f"this view was already filtered for {bundle.for_partner!r}; "
                         f"expected the full bundle to filter for {partner!r}")
    if known_partners is not None and partner not in known_partners:
        raise InputError(f"partner {partner!r} is not on the partner list; expected one of: "
                         f"{', '.join(known_partners)}")
    ok = allowed(bundle.consents, partner, as_of)
    linked = {y.yp_ref for y in bundle.young_people if (y.yp_ref, "link") in ok}

    def visible(ref: str | None, category: str) -> bool:
        return ref is None or (ref in linked and (ref, category) in ok)

    young = tuple(y for y in bundle.young_people if y.yp_ref in linked)
    assessment = tuple(e for e in bundle.assessment if visible(e.yp_ref, "assessment"))
    ratings = tuple(r for r in bundle.safety_ratings if visible(r.yp_ref, "safety map"))
    notes = tuple(n for n in bundle.review_notes if visible(n.yp_ref, "views"))
    consents = tuple(c for c in bundle.consents if c.partner == partner and c.yp_ref in linked)
    all_refs = {y.yp_ref for y in bundle.young_people}
    plan_ok = all((r, "safety plan") in ok and r in linked for r in all_refs)
    context = bundle.context
    withheld = {
        "young_people": len(bundle.young_people) - len(young),
        "assessment": len(bundle.assessment) - len(assessment),
        "safety_ratings": len(bundle.safety_ratings) - len(ratings),
        "review_notes": len(bundle.review_notes) - len(notes),
        "consents": len(bundle.consents) - len(consents),
        "safety_plan": int(bool(context.safety_plan) and not plan_ok),
    }
    if not plan_ok:
        context = dataclasses.replace(context, safety_plan="")
    out = ContextBundle(context=context, young_people=young, assessment=assessment,
                        actions=bundle.actions, consents=consents, safety_ratings=ratings,
                        review_notes=notes, for_partner=partner, withheld=withheld)
    return mask_location(out, cell_m)
