"""Context records: the vocabularies, the frozen dataclasses and pure summaries over them.

A *context of concern* is a place (a home, a park, a street, an online space...) that
is referred, assessed, planned for and reviewed like a case (Contextual Safeguarding).
The vocabularies here are the ones the store's SQL CHECK lists enforce (tested).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store import vocabularies as vocab
from ctxmap.store.record_tables import (
    RecordsTable,
    ctx_actions,
    ctx_assessment,
    ctx_consent,
    ctx_contexts,
    ctx_review_notes,
    ctx_safety_ratings,
    ctx_young_people,
)

# The case vocabularies are the store's CHECK lists (defined once, with the tables).
from ctxmap.store.vocabularies import ACTION_STATUSES as ACTION_STATUSES
from ctxmap.store.vocabularies import CONTEXT_KINDS as CONTEXT_KINDS
from ctxmap.store.vocabularies import CONTEXT_STATUSES as CONTEXT_STATUSES
from ctxmap.store.vocabularies import FACTORS as FACTORS
from ctxmap.store.vocabularies import RATINGS as RATINGS
from ctxmap.store.vocabularies import REVIEW_NOTE_KINDS as REVIEW_NOTE_KINDS

#: What the assessment triangle's sides, the grades and the consent vocabularies mean
#: (the codes are the store's CHECK lists, :mod:`ctxmap.store.vocabularies`).
ASSESSMENT_SIDES: Final[dict[str, str]] = dict(zip(vocab.ASSESSMENT_SIDES, (
    "Young people in the context: their collective strengths and needs",
    "Guardianship: capable adults present (staff, residents, businesses)",
    "The place: resources, physical environment, policies and wider systems",
), strict=True))
#: Source reliability (simplified from the 5x5x5 / 3x5x2 intelligence grading).
SOURCE_GRADES: Final[dict[str, str]] = dict(zip(vocab.SOURCE_GRADES, (
    "Always reliable (e.g. direct observation by a professional)",
    "Mostly reliable",
    "Sometimes reliable",
    "Unreliable",
    "Untested source",
), strict=True))
#: Information reliability: how sure we are of this piece of information.
INFO_GRADES: Final[dict[str, str]] = dict(zip(vocab.INFO_GRADES, (
    "Known to be true without reservation",
    "Known personally to the source but not to the recorder",
    "Not known personally to the source but corroborated",
    "Cannot be judged (an association, not a fact)",
    "Suspected to be false",
), strict=True))
#: Action statuses that count as open (not done, not cancelled).
OPEN_ACTION_STATUSES: Final[tuple[str, ...]] = ("not started", "in progress")
#: Partners seeded by the migration (from the case study), in display order.
SEED_PARTNERS: Final[tuple[str, ...]] = (
    "Contextual Safeguarding team",
    "Children's social care",
    "VCSE substance-misuse service",
    "Community safety team",
    "Local area coordinator",
    "Community youth centre",
    "Local police",
    "Residents near the place",
    "Local business / apprenticeship provider",
    "The home's staff",
    "The young people themselves",
)
DEFAULT_RADIUS_M: Final = 400.0


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Context:
    """A context of concern (one row of ``ctx_contexts``).

    ``geometry`` is in EPSG:4326 (a point or polygon; ``None`` only for online spaces).
    ``place_layer``/``place_id`` name the map place it was referred from, if any.
    """

    id: str
    name: str
    kind: str
    geometry: BaseGeometry | None
    referral_date: str
    referral_reason: str
    referring_agency: str = ""
    lead_agency: str = ""
    lead_worker: str = ""
    status: str = "referred"
    place_layer: str | None = None
    place_id: str | None = None
    radius_m: float = DEFAULT_RADIUS_M
    plan_start: str | None = None
    safety_plan: str = ""
    version: int = 1
    created_at: str = ""
    created_by: str = ""
    updated_at: str = ""
    updated_by: str = ""


@dataclass(frozen=True)
class YoungPersonLink:
    """A young person linked to a context by pseudonymous reference."""

    id: int
    context_id: str
    yp_ref: str
    linked_on: str
    version: int = 1


@dataclass(frozen=True)
class AssessmentEntry:
    """One entry of the context assessment triangle, graded for reliability."""

    id: int
    context_id: str
    side: str
    factor: str
    text: str
    source: str
    source_grade: str
    info_grade: str
    recorded_on: str
    yp_ref: str | None = None
    version: int = 1


@dataclass(frozen=True)
class Action:
    """One action of the response plan."""

    id: int
    context_id: str
    partner: str
    what: str
    owner: str = ""
    due_date: str | None = None
    status: str = "not started"
    notes: str = ""
    version: int = 1


@dataclass(frozen=True)
class Consent:
    """What a young person agreed may be shared with one partner (one category)."""

    id: int
    context_id: str
    yp_ref: str
    partner: str
    category: str
    legal_basis: str
    given_on: str
    withdrawn_on: str | None = None
    version: int = 1


@dataclass(frozen=True)
class SafetyRating:
    """A young person's red/amber/green rating of a place (safety mapping)."""

    id: int
    context_id: str | None
    place_label: str
    rating: str
    geometry: BaseGeometry
    rated_on: str
    yp_ref: str | None = None
    comment: str = ""
    version: int = 1


@dataclass(frozen=True)
class ReviewNote:
    """A review note (staff confidence, young people's views, ...)."""

    id: int
    context_id: str
    kind: str
    text: str
    noted_on: str
    yp_ref: str | None = None
    version: int = 1


@dataclass(frozen=True)
class ContextBundle:
    """A context and everything under it, as one value to show, filter or export.

    ``for_partner`` is ``None`` for the full (lead agency) view, else the partner it
    was filtered for; ``withheld`` counts what the filter left out, per kind.
    """

    context: Context
    young_people: tuple[YoungPersonLink, ...] = ()
    assessment: tuple[AssessmentEntry, ...] = ()
    actions: tuple[Action, ...] = ()
    consents: tuple[Consent, ...] = ()
    safety_ratings: tuple[SafetyRating, ...] = ()
    review_notes: tuple[ReviewNote, ...] = ()
    for_partner: str | None = None
    withheld: Mapping[str, int] = field(default_factory=dict)
    location_masked: bool = False


#: entity name -> (table, record class, fields a user may change)
ENTITIES: Final[dict[str, tuple[RecordsTable, type, tuple[str, ...]]]] = {
    "context": (ctx_contexts, Context, (
        "name", "kind", "geometry", "referral_date", "referral_reason", "referring_agency",
        "lead_agency", "lead_worker", "status", "radius_m", "plan_start", "safety_plan")),
    "young_person": (ctx_young_people, YoungPersonLink, ("linked_on",)),
    "assessment": (ctx_assessment, AssessmentEntry, (
        "side", "factor", "text", "source", "source_grade", "info_grade", "yp_ref",
        "recorded_on")),
    "action": (ctx_actions, Action, (
        "partner", "what", "owner", "due_date", "status", "notes")),
    "consent": (ctx_consent, Consent, ("legal_basis", "given_on", "withdrawn_on")),
    "safety_rating": (ctx_safety_ratings, SafetyRating, (
        "place_label", "rating", "geometry", "rated_on", "comment")),
    "review_note": (ctx_review_notes, ReviewNote, ("kind", "text", "noted_on", "yp_ref")),
}
#: Entities whose rows may be deleted (the deletion is kept in the history).
DELETABLE: Final[tuple[str, ...]] = ("assessment", "action", "safety_rating", "review_note",
                                     "young_person")


# --------------------------------------------------------------------------- pure helpers


def is_overdue(action: Action, today: dt.date) -> bool:
    """True when an open action's due date is before ``today``."""
    return (action.status in OPEN_ACTION_STATUSES and action.due_date is not None
            and action.due_date < today.isoformat())


def actions_frame(actions: Iterable[Action], today: dt.date) -> pd.DataFrame:
    """The plan as a table (one row per action) with an ``overdue`` column, overdue first."""
    rows = [{**dataclasses.asdict(a), "overdue": is_overdue(a, today)} for a in actions]
    cols = [f.name for f in dataclasses.fields(Action)] + ["overdue"]
    frame = pd.DataFrame(rows, columns=cols)
    if frame.empty:
        return frame
    frame["_due"] = frame["due_date"].fillna("9999-99-99")
    frame = frame.sort_values(["overdue", "_due", "id"], ascending=[False, True, True])
    return frame.drop(columns="_due").reset_index(drop=True)


def assessment_frame(entries: Iterable[AssessmentEntry]) -> pd.DataFrame:
    """The assessment as a table with readable grade labels (e.g. ``B2``)."""
    cols = [f.name for f in dataclasses.fields(AssessmentEntry)] + ["grade"]
    rows = [{**dataclasses.asdict(e), "grade": f"{e.source_grade}{e.info_grade}"}
            for e in entries]
    return pd.DataFrame(rows, columns=cols)


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The ``(field, old, new)`` triples of the fields of ``new`` whose value differs."""
    out = []
    for name, value in new.items():
        before = old.get(name)
        if jsonable(before) != jsonable(value):
            out.append((name, before, value))
    return out


def next_context_id(existing: Iterable[str]) -> str:
    """The next free ``ctx-NNNN`` identifier."""
    nums = [int(m.group(1)) for e in existing if (m := re.match(r"^ctx-(\d+)$", str(e)))]
    return f"ctx-{(max(nums) if nums else 0) + 1:04d}"


def context_area(geometry: BaseGeometry | None, radius_m: float) -> BaseGeometry | None:
    """The area a context covers, in EPSG:4326: a point grown by ``radius_m``, or the polygon."""
    if geometry is None or geometry.is_empty:
        return None
    if geometry.geom_type != "Point":
        return geometry
    gs = gpd.GeoSeries([geometry], crs=STORAGE_CRS)
    crs = analysis_crs(gpd.GeoDataFrame(geometry=gs))
    return gs.to_crs(crs).buffer(radius_m, 64).to_crs(STORAGE_CRS).iloc[0]


def jsonable(value: Any) -> Any:
    """``value`` as JSON would hold it: geometry as WKT, NaN as None, NumPy scalars as Python."""
    if isinstance(value, BaseGeometry):
        return value.wkt
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def now_utc() -> str:
    """The time now in UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

