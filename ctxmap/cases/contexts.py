"""Contexts of concern as cases: records, validation, history and evidence from the map.

A *context of concern* is a place (a home, a park, a street, an online space...) that
is referred, assessed, planned for and reviewed like a case (Contextual Safeguarding).
This module holds the records (frozen dataclasses), the pure checks and summaries
over them, :func:`context_evidence` (what the map says about a context), and the
store functions that read and write them.

Every write runs in one store transaction, appends what changed (field, old, new as
JSON, who, when) to the append-only ``ctx_history`` table, and uses optimistic
concurrency: an update states the ``version`` it read, and if someone else changed the
record since, :class:`~ctxmap.errors.ConflictError` says who and when.

Young people are linked by pseudonymous reference only (``YP-`` then capital letters
and digits, at least one digit); anything that looks like a name is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats
from shapely.geometry.base import BaseGeometry

from ctxmap.errors import ConflictError, InputError, StoreError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, STORAGE_CRS
from ctxmap.store import dbapi as dbapi
from ctxmap.store.dbapi import AnyConnection, read_sql, store_name
from ctxmap.store.opening import AnyStore

CONTEXT_KINDS: Final[tuple[str, ...]] = (
    "home", "park", "school", "transport hub", "street", "business", "online space", "other",
)
CONTEXT_STATUSES: Final[tuple[str, ...]] = (
    "referred", "assessing", "planning", "active plan", "review", "closed",
)
#: The three sides of the context (neighbourhood/location) assessment triangle.
ASSESSMENT_SIDES: Final[dict[str, str]] = {
    "young_people": "Young people in the context: their collective strengths and needs",
    "guardianship": "Guardianship: capable adults present (staff, residents, businesses)",
    "place": "The place: resources, physical environment, policies and wider systems",
}
FACTORS: Final[tuple[str, ...]] = ("risk", "vulnerability", "protective")
#: Source reliability (simplified from the 5x5x5 / 3x5x2 intelligence grading).
SOURCE_GRADES: Final[dict[str, str]] = {
    "A": "Always reliable (e.g. direct observation by a professional)",
    "B": "Mostly reliable",
    "C": "Sometimes reliable",
    "D": "Unreliable",
    "E": "Untested source",
}
#: Information reliability: how sure we are of this piece of information.
INFO_GRADES: Final[dict[str, str]] = {
    "1": "Known to be true without reservation",
    "2": "Known personally to the source but not to the recorder",
    "3": "Not known personally to the source but corroborated",
    "4": "Cannot be judged (an association, not a fact)",
    "5": "Suspected to be false",
}
ACTION_STATUSES: Final[tuple[str, ...]] = ("not started", "in progress", "done", "cancelled")
OPEN_ACTION_STATUSES: Final[tuple[str, ...]] = ("not started", "in progress")
RATINGS: Final[tuple[str, ...]] = ("red", "amber", "green")
REVIEW_NOTE_KINDS: Final[tuple[str, ...]] = (
    "staff confidence", "young people views", "partner feedback", "other",
)
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

_YP_REF = re.compile(r"^YP-[0-9A-Z]{2,12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


# entity name -> (table, record class, fields a user may change)
_ENTITIES: Final[dict[str, tuple[str, type, tuple[str, ...]]]] = {
    "context": ("ctx_contexts", Context, (
        "name", "kind", "geometry", "referral_date", "referral_reason", "referring_agency",
        "lead_agency", "lead_worker", "status", "radius_m", "plan_start", "safety_plan")),
    "young_person": ("ctx_young_people", YoungPersonLink, ("linked_on",)),
    "assessment": ("ctx_assessment", AssessmentEntry, (
        "side", "factor", "text", "source", "source_grade", "info_grade", "yp_ref",
        "recorded_on")),
    "action": ("ctx_actions", Action, (
        "partner", "what", "owner", "due_date", "status", "notes")),
    "consent": ("ctx_consent", Consent, ("legal_basis", "given_on", "withdrawn_on")),
    "safety_rating": ("ctx_safety_ratings", SafetyRating, (
        "place_label", "rating", "geometry", "rated_on", "comment")),
    "review_note": ("ctx_review_notes", ReviewNote, ("kind", "text", "noted_on", "yp_ref")),
}
#: Entities whose rows may be deleted (the deletion is kept in the history).
DELETABLE: Final[tuple[str, ...]] = ("assessment", "action", "safety_rating", "review_note",
                                     "young_person")


# --------------------------------------------------------------------------- validation


def check_yp_ref(value: object) -> str:
    """Return a valid pseudonymous young-person reference, or raise :class:`InputError`.

    A reference is ``YP-`` followed by 2 to 12 capital letters or digits, with at least
    one digit (``YP-0001``, ``YP-7K2Q``). Anything that looks like a personal name
    (letters only, spaces, lower case) is refused: never record a young person's name.
    """
    if not isinstance(value, str):
        raise InputError(f"young person reference {value!r}; expected text like YP-0001")
    ref = value.strip()
    hint = ("expected a pseudonymous reference like YP-0001 (YP- then 2-12 capital letters "
            "or digits, at least one digit); never enter a young person's name")
    if not _YP_REF.match(ref) or not any(ch.isdigit() for ch in ref[3:]):
        looks_like_name = bool(re.search(r"[A-Za-z]{2,}", ref)) and not any(
            ch.isdigit() for ch in ref)
        what = "looks like a name" if looks_like_name else "is not a valid reference"
        raise InputError(f"young person reference {value!r} {what}; {hint}")
    return ref


def check_date(value: object, what: str = "date", *, optional: bool = False) -> str | None:
    """Return ``value`` as ``YYYY-MM-DD`` (from a date or text), or raise :class:`InputError`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise InputError(f"{what} is missing; expected a date YYYY-MM-DD")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if not _DATE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date; expected YYYY-MM-DD") from None


def _choice(value: object, options: Sequence[str], what: str) -> str:
    if value not in options:
        raise InputError(f"{what} {value!r}; expected one of: {', '.join(options)}")
    return str(value)


def _text(value: object, what: str, *, required: bool = False, max_len: int = 4000) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InputError(f"{what} is empty; expected some text")
    if len(text) > max_len:
        raise InputError(f"{what} has {len(text)} characters; expected at most {max_len}")
    return text


def _geometry(value: object, what: str = "geometry") -> BaseGeometry:
    if isinstance(value, str):
        try:
            value = shapely.from_wkt(value)
        except shapely.errors.GEOSException as exc:
            raise InputError(f"{what} is not WKT ({exc}); expected e.g. POINT (1.29 52.63)") \
                from None
    if not isinstance(value, BaseGeometry) or value.is_empty:
        raise InputError(f"{what} is {type(value).__name__}; expected a point or polygon in "
                         "EPSG:4326")
    if value.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        raise InputError(f"{what} is a {value.geom_type}; expected a Point or Polygon")
    minx, miny, maxx, maxy = value.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(f"{what} has bounds {value.bounds}; expected longitude/latitude "
                         "(EPSG:4326)")
    if not value.is_valid:
        value = shapely.make_valid(value)
    return value


def validate_fields(entity: str, values: Mapping[str, Any],
                    partners: Sequence[str] | None = None) -> dict[str, Any]:
    """Check and normalise the fields of one record; return the cleaned values.

    Parameters
    ----------
    entity
        ``"context"``, ``"assessment"``, ``"action"``, ``"consent"``, ...
    values
        Field name -> value (only these fields are checked).
    partners
        Known partner names (for ``partner`` fields); ``None`` skips that check.

    Raises
    ------
    InputError
        On the first bad field, saying what arrived and what was expected.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "name":
            out[name] = _text(value, "context name", required=True, max_len=200)
        elif name == "kind" and entity == "context":
            out[name] = _choice(value, CONTEXT_KINDS, "kind")
        elif name == "kind":
            out[name] = _choice(value, REVIEW_NOTE_KINDS, "note kind")
        elif name == "status" and entity == "context":
            out[name] = _choice(value, CONTEXT_STATUSES, "status")
        elif name == "status":
            out[name] = _choice(value, ACTION_STATUSES, "action status")
        elif name == "geometry":
            out[name] = None if value is None else _geometry(value)
        elif name in ("referral_date", "recorded_on", "linked_on", "given_on", "rated_on",
                      "noted_on"):
            out[name] = check_date(value, name.replace("_", " "))
        elif name in ("plan_start", "due_date", "withdrawn_on"):
            out[name] = check_date(value, name.replace("_", " "), optional=True)
        elif name in ("referral_reason", "what", "text", "source", "place_label"):
            out[name] = _text(value, name.replace("_", " "), required=True)
        elif name in ("referring_agency", "lead_agency", "lead_worker", "owner", "notes",
                      "safety_plan", "comment"):
            out[name] = _text(value, name.replace("_", " "), max_len=8000)
        elif name == "radius_m":
            try:
                r = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                r = float("nan")
            if not (math.isfinite(r) and 0 < r <= 5000):
                raise InputError(f"radius {value!r} m; expected a number of metres in (0, 5000]")
            out[name] = r
        elif name == "side":
            out[name] = _choice(value, tuple(ASSESSMENT_SIDES), "assessment side")
        elif name == "factor":
            out[name] = _choice(value, FACTORS, "factor")
        elif name == "source_grade":
            out[name] = _choice(value, tuple(SOURCE_GRADES), "source reliability grade")
        elif name == "info_grade":
            out[name] = _choice(str(value), tuple(INFO_GRADES), "information reliability grade")
        elif name == "rating":
            out[name] = _choice(value, RATINGS, "rating")
        elif name == "category":
            from ctxmap.cases.consent import CONSENT_CATEGORIES

            out[name] = _choice(value, tuple(CONSENT_CATEGORIES), "information category")
        elif name == "legal_basis":
            from ctxmap.cases.consent import LEGAL_BASES

            out[name] = _choice(value, tuple(LEGAL_BASES), "legal basis")
        elif name == "yp_ref":
            out[name] = None if value in (None, "") else check_yp_ref(value)
        elif name == "partner":
            p = _text(value, "partner", required=True, max_len=200)
            if partners is not None and p not in partners:
                raise InputError(f"partner {p!r} is not on the partner list; expected one of: "
                                 f"{', '.join(partners)} (add it first)")
            out[name] = p
        else:
            raise InputError(f"{name!r} is not a field of a {entity} that can be set")
    return out


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
        if _jsonable(before) != _jsonable(value):
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseGeometry):
        return value.wkt
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ContextEvidence:
    """What the map layers say about a context (computed, never typed).

    Attributes
    ----------
    area
        The area counted (EPSG:4326).
    radius_m
        Radius used around a point context (not used for polygons).
    period
        ``(first, last)`` months counted.
    categories
        Incident categories counted.
    incidents
        Located incidents of the period and categories inside the area (input columns,
        plus ``distance_m`` from the context).
    by_category, by_month
        Their counts per category, and per month (zeros included).
    unlocated_in_period
        Incidents of the period and categories with no location: they exist, but cannot
        be placed in or out of the context.
    nearest
        The nearest youth centres and safe places: ``layer, id, name, category,
        distance_m`` (straight-line distance, not a walking route).
    nearest_method
        How ``distance_m`` was measured.
    shape
        ``"point"`` (counted within ``radius_m``), ``"area"`` (a drawn polygon) or
        ``"none"`` (no location).
    hotspot
        ``expected, rate_ratio, p_value, flagged, rank, of_places, method`` or ``None``
        when there is no study area.
    """

    area: BaseGeometry | None
    radius_m: float
    period: tuple[str, str] | None
    categories: tuple[str, ...]
    incidents: gpd.GeoDataFrame
    by_category: pd.Series
    by_month: pd.DataFrame
    unlocated_in_period: int
    nearest: pd.DataFrame
    nearest_method: str
    hotspot: dict[str, Any] | None
    shape: str = "point"


def context_evidence(
    context_geometry: BaseGeometry | None,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    months: tuple[str, str] | None = None,
    categories: Sequence[str] | None = EXPLOITATION_CATEGORIES,
    study_area: BaseGeometry | None = None,
    n_nearest: int = 5,
    alpha: float = 0.05,
    min_incidents: int = 5,
) -> ContextEvidence:
    """Count the incidents in a context, find the nearest safe places, test for a hotspot.

    Parameters
    ----------
    context_geometry
        The context's point or polygon in EPSG:4326 (``None`` for an online space:
        empty evidence).
    layers
        Layers keyed by kind (``incidents``, ``youth_centres``, ``safe_places``,
        ``areas``), all EPSG:4326.
    radius_m
        Radius around a point context, metres.
    months
        Inclusive ``(first, last)`` months, or ``None`` for every month of the data.
    categories
        Incident categories to count (``None``: all).
    study_area
        Baseline area (EPSG:4326); default: from the ``areas`` layer
        (:func:`ctxmap.layers.inputs.study_area`).
    n_nearest
        How many nearest places to list.
    alpha, min_incidents
        A point context is ranked among all places with :func:`ctxmap.analysis.concern.rank_places`
        (Benjamini–Hochberg across places); a polygon gets a one-sided Poisson test of its
        count against the study-area density. Flagged when p <= ``alpha`` and at least
        ``min_incidents`` incidents.

    Raises
    ------
    InputError
        If a layer is not in EPSG:4326 or the radius is not positive.
    """
    from ctxmap.analysis.filters import filter_incidents

    if not (math.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"radius {radius_m!r} m; expected a number of metres > 0")
    for kind, gdf in layers.items():
        if gdf.crs is not None and not gdf.crs.equals(STORAGE_CRS):
            raise InputError(f"layer {kind} is in {gdf.crs}; expected {STORAGE_CRS}")
    incidents = layers.get("incidents")
    if incidents is None:
        from ctxmap.layers.readers import empty_layer

        incidents = empty_layer("incidents")
    if months is None:
        ms = sorted(incidents["month"].dropna().astype(str).unique())
        period = (ms[0], ms[-1]) if ms else None
    else:
        period = months
    cats = tuple(categories) if categories is not None else tuple(
        sorted(incidents["category"].dropna().astype(str).unique()))
    selected = filter_incidents(incidents, months=period, categories=list(cats))
    located_mask = selected.geometry.notna() & ~selected.geometry.is_empty
    unlocated = int((~located_mask).sum())
    area = context_area(context_geometry, radius_m)
    month_index = (pd.period_range(period[0], period[1], freq="M").strftime("%Y-%m").tolist()
                   if period else [])
    empty_near = pd.DataFrame(columns=["layer", "id", "name", "category", "distance_m"])
    method = "straight-line distance (not a walking route)"
    if context_geometry is None or area is None:
        inc = selected.iloc[0:0].copy()
        inc["distance_m"] = pd.Series(dtype=float)
        return ContextEvidence(None, radius_m, period, cats, inc,
                               pd.Series(0, index=list(cats), dtype=np.int64, name="incidents"),
                               pd.DataFrame(0, index=month_index, columns=list(cats)),
                               unlocated, empty_near, method, None, "none")
    geo = gpd.GeoSeries([context_geometry], crs=STORAGE_CRS)
    crs = analysis_crs(gpd.GeoDataFrame(geometry=geo))
    geom_m = geo.to_crs(crs).iloc[0]
    located = selected[located_mask]
    dist = located.geometry.to_crs(crs).distance(geom_m) if len(located) else pd.Series(
        dtype=float)
    limit = radius_m if context_geometry.geom_type == "Point" else 0.0
    inside = located[(dist <= limit).to_numpy()].copy()
    inside["distance_m"] = dist[dist <= limit].to_numpy()
    inside = inside.sort_values("distance_m", kind="stable")
    cat_vals = inside["category"].astype(str)
    by_cat = cat_vals.value_counts().reindex(list(cats), fill_value=0).astype(np.int64)
    by_cat.name = "incidents"
    by_month = (pd.crosstab(inside["month"].astype(str), cat_vals)
                .reindex(index=month_index, columns=list(cats), fill_value=0).astype(np.int64))
    by_month.index.name = "month"
    by_month.columns.name = "category"
    nearest = _nearest_places(geom_m, crs, layers, n_nearest)
    if study_area is None and "areas" in layers and len(layers["areas"]):
        from ctxmap.layers.inputs import study_area as make_study_area

        study_area = make_study_area(layers["areas"])[0]
    hotspot = None
    if study_area is not None and period is not None:
        hotspot = _hotspot(context_geometry, area, layers, selected, located_mask, study_area,
                           crs, period, cats, radius_m, alpha, min_incidents, len(inside))
    return ContextEvidence(area, radius_m, period, cats, inside, by_cat, by_month, unlocated,
                           nearest, method, hotspot,
                           "point" if context_geometry.geom_type == "Point" else "area")


def _nearest_places(geom_m: BaseGeometry, crs: str, layers: Mapping[str, gpd.GeoDataFrame],
                    n: int) -> pd.DataFrame:
    frames = []
    for kind in ("youth_centres", "safe_places"):
        g = layers.get(kind)
        if g is None or not len(g):
            continue
        g = g[g.geometry.notna()]
        frames.append(pd.DataFrame({
            "layer": kind, "id": g["id"].astype(str).to_numpy(),
            "name": g["name"].astype(object).to_numpy(),
            "category": g["category"].astype(object).to_numpy(),
            "distance_m": g.geometry.to_crs(crs).distance(geom_m).to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["layer", "id", "name", "category", "distance_m"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["distance_m", "id"], kind="stable").head(n).reset_index(drop=True)


def _hotspot(geometry: BaseGeometry, area: BaseGeometry, layers: Mapping[str, gpd.GeoDataFrame],
             selected: gpd.GeoDataFrame, located_mask: pd.Series, study_area: BaseGeometry,
             crs: str, period: tuple[str, str], cats: tuple[str, ...], radius_m: float,
             alpha: float, min_incidents: int, count: int) -> dict[str, Any]:
    if geometry.geom_type == "Point":
        from ctxmap.analysis.concern import ConcernParams, rank_places

        frames = []
        for kind in ("homes", "youth_centres", "safe_places"):
            g = layers.get(kind)
            if g is not None and len(g):
                f = g[["id", "name", "category", "geometry"]].copy()
                f["layer"] = kind
                frames.append(f)
        me = gpd.GeoDataFrame({"id": ["__context__"], "name": ["this context"],
                               "category": ["context"], "layer": ["context"]},
                              geometry=[geometry], crs=STORAGE_CRS)
        places = gpd.GeoDataFrame(pd.concat([*frames, me], ignore_index=True),
                                  geometry="geometry", crs=STORAGE_CRS)
        params = ConcernParams(radius_m=radius_m, months=period, categories=cats,
                               alpha=alpha, min_incidents=min_incidents)
        ranked = rank_places(places, selected, study_area, params)
        row = ranked[ranked["place_id"] == "__context__"].iloc[0]
        return {"incidents": int(row["incidents"]), "expected": float(row["expected"]),
                "rate_ratio": float(row["rate_ratio"]), "p_value": float(row["p_adjusted"]),
                "flagged": bool(row["flagged"]), "rank": int(row["rank"]),
                "of_places": len(ranked),
                "method": "ranked among all places with ctxmap.analysis.concern.rank_places "
                          "(one-sided Poisson test against the study-area density, "
                          "Benjamini–Hochberg adjusted across places)"}
    sa = gpd.GeoSeries([study_area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    area_m = gpd.GeoSeries([area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    located = selected[located_mask]
    pts = located.geometry.to_crs(crs)
    n_sa = int(shapely.intersects_xy(sa, pts.x.to_numpy(), pts.y.to_numpy()).sum()) if len(
        pts) else 0
    share = area_m.intersection(sa).area / sa.area if sa.area > 0 else float("nan")
    expected = n_sa * share
    p = float(stats.poisson.sf(count - 1, expected)) if expected > 0 else float("nan")
    rr = count / expected if expected > 0 else float("nan")
    return {"incidents": count, "expected": expected, "rate_ratio": rr, "p_value": p,
            "flagged": bool(expected > 0 and p <= alpha and count >= min_incidents),
            "rank": None, "of_places": None,
            "method": "one-sided Poisson test of the count in the drawn area against the "
                      "study-area density (no adjustment for testing many areas)"}


# --------------------------------------------------------------------------- store access


def _row_to(cls: type, row: sqlite3.Row) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    data = {k: row[k] for k in row.keys() if k in names}  # noqa: SIM118
    if "geometry" in names:
        wkt = row["geometry_wkt"]
        data["geometry"] = shapely.from_wkt(wkt) if wkt else None
    return cls(**data)


def _to_sql(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        if k == "geometry":
            out["geometry_wkt"] = None if v is None else shapely.to_wkt(v, rounding_precision=7)
        else:
            out[k] = v
    return out


def _connect_rows(store: AnyStore) -> AnyConnection:
    con = dbapi.connect(store)
    con.row_factory = sqlite3.Row
    return con


def _log(con: AnyConnection, context_id: str | None, entity: str, entity_id: object,
         action: str, user: str, at: str, changes: Sequence[tuple[str, Any, Any]] = ()) -> None:
    user = _text(user, "user", required=True, max_len=200)
    if not changes:
        con.execute("INSERT INTO ctx_history (context_id, entity, entity_id, action, field, "
                    "old_json, new_json, changed_by, changed_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (context_id, entity, str(entity_id), action, None, None, None, user, at))
        return
    con.executemany(
        "INSERT INTO ctx_history (context_id, entity, entity_id, action, field, old_json, "
        "new_json, changed_by, changed_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [(context_id, entity, str(entity_id), action, f,
          json.dumps(_jsonable(o), ensure_ascii=False),
          json.dumps(_jsonable(n), ensure_ascii=False), user, at) for f, o, n in changes])


def _integrity(exc: sqlite3.IntegrityError, what: str) -> InputError:
    msg = str(exc)
    if "UNIQUE" in msg:
        return InputError(f"{what}: that record already exists ({msg})")
    if "FOREIGN KEY" in msg:
        return InputError(f"{what}: it refers to something that does not exist or is still "
                          f"referred to (link the young person / add the partner first; {msg})")
    return InputError(f"{what}: the store refused it ({msg})")


def list_partners(store: AnyStore) -> list[str]:
    """Partner names: the case study's seeded partners first, then the rest A–Z."""
    con = dbapi.connect(store)
    try:
        rows = con.execute("SELECT name, seeded FROM ctx_partners").fetchall()
    finally:
        con.close()
    seeded = [p for p in SEED_PARTNERS if any(r[0] == p for r in rows)]
    rest = sorted(r[0] for r in rows if r[0] not in seeded)
    return seeded + rest


def add_partner(store: AnyStore, name: str, user: str, description: str = "") -> str:
    """Add a partner to the list (kept in the history); return its name."""
    name = _text(name, "partner name", required=True, max_len=200)
    with dbapi.transaction(store) as con:
        try:
            con.execute("INSERT INTO ctx_partners (name, description) VALUES (?, ?)",
                        (name, _text(description, "description")))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"partner {name!r}") from None
        _log(con, None, "partner", name, "create", user, _now(), [("name", None, name)])
    return name


def create_context(store: AnyStore, user: str, *, name: str, kind: str, referral_date: object,
                   referral_reason: str, geometry: BaseGeometry | str | None = None,
                   place_layer: str | None = None, place_id: str | None = None,
                   radius_m: float = DEFAULT_RADIUS_M, referring_agency: str = "",
                   lead_agency: str = "", lead_worker: str = "", status: str = "referred",
                   plan_start: object = None, safety_plan: str = "",
                   young_people: Sequence[str] = (), context_id: str | None = None,
                   at: str | None = None) -> Context:
    """Refer a context of concern; return it as stored (version 1).

    ``geometry`` is the place's point or the drawn polygon in EPSG:4326 (only an
    ``online space`` may have none). ``young_people`` are pseudonymous references
    linked at once. Every field is checked (:func:`validate_fields`).
    """
    values = validate_fields("context", {
        "name": name, "kind": kind, "referral_date": referral_date,
        "referral_reason": referral_reason, "geometry": geometry, "radius_m": radius_m,
        "referring_agency": referring_agency, "lead_agency": lead_agency,
        "lead_worker": lead_worker, "status": status, "plan_start": plan_start,
        "safety_plan": safety_plan})
    if values["geometry"] is None and values["kind"] != "online space":
        raise InputError(f"a {kind} context needs a location; expected a point or an area "
                         "(only an online space may have none)")
    if (place_layer is None) != (place_id is None):
        raise InputError("place_layer and place_id go together; expected both or neither")
    refs = [check_yp_ref(r) for r in young_people]
    at = at or _now()
    with dbapi.transaction(store) as con:
        if context_id is None:
            context_id = next_context_id(r[0] for r in con.execute("SELECT id FROM ctx_contexts"))
        row = {"id": context_id, **_to_sql(values), "place_layer": place_layer,
               "place_id": place_id, "version": 1, "created_at": at, "created_by": user,
               "updated_at": at, "updated_by": user}
        try:
            con.execute(f"INSERT INTO ctx_contexts ({', '.join(row)}) VALUES "
                        f"({', '.join('?' * len(row))})", list(row.values()))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"context {context_id}") from None
        _log(con, context_id, "context", context_id, "create", user, at,
             [(k, None, v) for k, v in {**values, "place_layer": place_layer,
                                         "place_id": place_id}.items()
              if v not in (None, "")])
        for ref in refs:
            _insert_child(con, "young_person", context_id,
                          {"yp_ref": ref, "linked_on": values["referral_date"]}, user, at)
    return get_context(store, context_id)


def get_context(store: AnyStore, context_id: str) -> Context:
    """Read one context; :class:`InputError` if there is none with that id."""
    con = _connect_rows(store)
    try:
        row = con.execute("SELECT * FROM ctx_contexts WHERE id = ?", (context_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise InputError(f"no context {context_id!r} in {store_name(store)}; expected an id "
                         "from `python -m ctxmap contexts`")
    return _row_to(Context, row)


def list_contexts(store: AnyStore, today: dt.date | None = None) -> pd.DataFrame:
    """List every context, newest referral first.

    Columns: ``id, name, kind, status, referral_date, lead_agency, open_actions,
    overdue_actions, version``.
    """
    today = today or dt.date.today()
    con = dbapi.connect(store)
    try:
        frame = read_sql(
            con, "SELECT c.id, c.name, c.kind, c.status, c.referral_date, c.lead_agency, "
            "(SELECT count(*) FROM ctx_actions a WHERE a.context_id = c.id AND a.status IN "
            "('not started', 'in progress')) AS open_actions, "
            "(SELECT count(*) FROM ctx_actions a WHERE a.context_id = c.id AND a.status IN "
            "('not started', 'in progress') AND a.due_date < ?) AS overdue_actions, "
            "c.version FROM ctx_contexts c ORDER BY c.referral_date DESC, c.id DESC",
            (today.isoformat(),))
    finally:
        con.close()
    return frame


def _insert_child(con: AnyConnection, entity: str, context_id: str | None,
                  values: Mapping[str, Any], user: str, at: str) -> int:
    table = _ENTITIES[entity][0]
    row = {"context_id": context_id, **_to_sql(values)}
    try:
        cur = con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES "
                          f"({', '.join('?' * len(row))})", list(row.values()))
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc, f"cannot add the {entity.replace('_', ' ')}") from None
    new_id = int(cur.lastrowid or 0)
    _log(con, context_id, entity, new_id, "create", user, at,
         [(k, None, v) for k, v in values.items() if v not in (None, "")])
    if context_id is not None:
        con.execute("UPDATE ctx_contexts SET updated_at = ?, updated_by = ? WHERE id = ?",
                    (at, user, context_id))
    return new_id


def add_record(store: AnyStore, entity: str, context_id: str | None, user: str,
               at: str | None = None, **values: Any) -> Any:
    """Add one record under a context and return it.

    ``entity`` is ``"young_person"`` (``yp_ref, linked_on``), ``"assessment"`` (``side,
    factor, text, source, source_grade, info_grade, recorded_on[, yp_ref]``),
    ``"action"`` (``partner, what[, owner, due_date, status, notes]``), ``"consent"``
    (``yp_ref, partner, category, legal_basis, given_on[, withdrawn_on]``),
    ``"safety_rating"`` (``place_label, rating, geometry, rated_on[, yp_ref, comment]``;
    ``context_id`` may be ``None`` for a pooled rating) or ``"review_note"`` (``kind, text,
    noted_on[, yp_ref]``). Fields are checked with :func:`validate_fields`. ``at`` is the
    time recorded in the history (default: now, UTC).
    """
    if entity not in _ENTITIES or entity == "context":
        raise InputError(f"cannot add a {entity!r}; expected one of "
                         f"{', '.join(e for e in _ENTITIES if e != 'context')}")
    if "yp_ref" in values and entity in ("young_person", "consent"):
        values["yp_ref"] = check_yp_ref(values["yp_ref"])
    partners = list_partners(store) if "partner" in values else None
    clean = validate_fields(entity, {k: v for k, v in values.items() if k != "yp_ref"},
                            partners)
    if "yp_ref" in values:
        clean["yp_ref"] = (None if values["yp_ref"] in (None, "")
                           else check_yp_ref(values["yp_ref"]))
    if entity == "safety_rating" and clean.get("geometry") is None:
        raise InputError("a safety-map rating needs a place on the map; expected a point or "
                         "an area")
    if context_id is not None:
        get_context(store, context_id)
    at = at or _now()
    with dbapi.transaction(store) as con:
        new_id = _insert_child(con, entity, context_id, clean, user, at)
    return get_record(store, entity, new_id)


def get_record(store: AnyStore, entity: str, record_id: int) -> Any:
    """Read one child record (see :func:`add_record`)."""
    table, cls, _ = _ENTITIES[entity]
    con = _connect_rows(store)
    try:
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
    return _row_to(cls, row)


def _last_change(con: AnyConnection, entity: str, entity_id: object) -> tuple[str, str]:
    row = con.execute("SELECT changed_by, changed_at FROM ctx_history WHERE entity = ? AND "
                      "entity_id = ? ORDER BY id DESC LIMIT 1", (entity, str(entity_id))
                      ).fetchone()
    return (row[0], row[1]) if row else ("someone", "an unknown time")


def _conflict(entity: str, entity_id: object, read: int, now: int, by: str, at: str) -> (
    ConflictError
):
    return ConflictError(
        f"{entity.replace('_', ' ')} {entity_id} was changed by {by} at {at} after you read "
        f"it (you read version {read}, it is now version {now}); your change was not saved: "
        "reload it and apply your change again")


def update_record(store: AnyStore, entity: str, record_id: object, expected_version: int,
                  user: str, at: str | None = None, **changes: Any) -> Any:
    """Change fields of a context (``entity="context"``) or a child record.

    Parameters
    ----------
    store
        The store.
    entity
        ``"context"`` or a child kind (see :func:`add_record`).
    record_id
        The context id or the child record's id.
    expected_version
        The ``version`` the user read. If the stored version differs, nothing is written
        and :class:`~ctxmap.errors.ConflictError` says who changed it and when.
    user
        Who makes the change (recorded in the history).
    at
        When (ISO time recorded in the history; default now, UTC).
    changes
        Fields to set (only editable fields; checked with :func:`validate_fields`).

    Returns
    -------
    The record as stored after the change (version + 1, or unchanged when no field
    actually changed).
    """
    if entity not in _ENTITIES:
        raise InputError(f"unknown record kind {entity!r}; expected one of {', '.join(_ENTITIES)}")
    table, cls, editable = _ENTITIES[entity]
    bad = [k for k in changes if k not in editable]
    if bad:
        raise InputError(f"cannot change {bad} of a {entity.replace('_', ' ')}; expected some "
                         f"of {', '.join(editable)}")
    partners = list_partners(store) if "partner" in changes else None
    clean = validate_fields(entity, changes, partners)
    at = at or _now()
    with dbapi.transaction(store) as con:
        con.row_factory = sqlite3.Row
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
        current = _row_to(cls, row)
        if current.version != int(expected_version):
            if entity == "context":
                by, when = row["updated_by"], row["updated_at"]
            else:
                by, when = _last_change(con, entity, record_id)
            raise _conflict(entity, record_id, int(expected_version), current.version, by, when)
        diff = field_changes(dataclasses.asdict(current) | {"geometry": getattr(
            current, "geometry", None)}, clean)
        if not diff:
            return current
        sets = _to_sql({f: n for f, _, n in diff})
        extra = ", updated_at = ?, updated_by = ?" if entity == "context" else ""
        params: list[Any] = [*sets.values(), *((at, user) if entity == "context" else ())]
        try:
            cur = con.execute(
                f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in sets)}, "
                f"version = version + 1{extra} WHERE id = ? AND version = ?",
                [*params, record_id, int(expected_version)])
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"cannot change the {entity.replace('_', ' ')}") from None
        if cur.rowcount != 1:  # pragma: no cover - guarded by the immediate transaction
            raise StoreError(f"{entity} {record_id} changed while saving; reload and retry")
        ctx_id = record_id if entity == "context" else row["context_id"]
        _log(con, ctx_id, entity, record_id, "update", user, at, diff)
        if entity != "context" and ctx_id is not None:
            con.execute("UPDATE ctx_contexts SET updated_at = ?, updated_by = ? WHERE id = ?",
                        (at, user, ctx_id))
    if entity == "context":
        return get_context(store, str(record_id))
    return get_record(store, entity, int(record_id))  # type: ignore[arg-type]


def delete_record(store: AnyStore, entity: str, record_id: int, expected_version: int,
                  user: str) -> None:
    """Delete a child record (assessment entry, action, rating, note, young-person link).

    The whole record is kept in the history (``old_json``). Contexts and consent records
    are never deleted (close the context; withdraw consent with ``withdrawn_on``).
    """
    if entity not in DELETABLE:
        raise InputError(f"a {entity.replace('_', ' ')} cannot be deleted; expected one of "
                         f"{', '.join(DELETABLE)} (close a context, withdraw a consent)")
    table, cls, _ = _ENTITIES[entity]
    at = _now()
    with dbapi.transaction(store) as con:
        con.row_factory = sqlite3.Row
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
        current = _row_to(cls, row)
        if current.version != int(expected_version):
            by, when = _last_change(con, entity, record_id)
            raise _conflict(entity, record_id, int(expected_version), current.version, by, when)
        try:
            con.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"cannot delete the {entity.replace('_', ' ')}") from None
        old = {k: v for k, v in dataclasses.asdict(current).items()
               if k not in ("id", "context_id", "version")}
        if "geometry" in old:
            old["geometry"] = current.geometry
        _log(con, row["context_id"], entity, record_id, "delete", user, at,
             [(k, v, None) for k, v in old.items() if v not in (None, "")])


def load_bundle(store: AnyStore, context_id: str) -> ContextBundle:
    """A context and every record under it (the full, unfiltered view)."""
    context = get_context(store, context_id)
    con = _connect_rows(store)
    try:
        def rows(entity: str, order: str = "id") -> tuple[Any, ...]:
            table, cls, _ = _ENTITIES[entity]
            cur = con.execute(f"SELECT * FROM {table} WHERE context_id = ? ORDER BY {order}",
                              (context_id,))
            return tuple(_row_to(cls, r) for r in cur.fetchall())

        return ContextBundle(
            context=context,
            young_people=rows("young_person", "yp_ref"),
            assessment=rows("assessment", "side, factor, id"),
            actions=rows("action"),
            consents=rows("consent", "yp_ref, partner, category"),
            safety_ratings=rows("safety_rating", "rated_on, id"),
            review_notes=rows("review_note", "noted_on, id"),
        )
    finally:
        con.close()


def history(store: AnyStore, context_id: str | None = None) -> pd.DataFrame:
    """Return the append-only history, oldest first (one context's, or everything).

    Columns: ``id, context_id, entity, entity_id, action, field, old, new, changed_by,
    changed_at`` (``old``/``new`` are JSON text).
    """
    con = dbapi.connect(store)
    try:
        sql = ("SELECT id, context_id, entity, entity_id, action, field, old_json AS old, "
               "new_json AS new, changed_by, changed_at FROM ctx_history")
        if context_id is None:
            return read_sql(con, sql + " ORDER BY id")
        return read_sql(con, sql + " WHERE context_id = ? ORDER BY id", (context_id,))
    finally:
        con.close()


def safety_ratings_layer(store: AnyStore, since: str | None = None) -> gpd.GeoDataFrame:
    """Every safety-map rating, pooled across contexts (EPSG:4326), optionally since a date.

    Columns: ``id, context_id, place_label, rating, rated_on, comment, geometry``. The
    young person's reference is left out: the pooled layer shows places, not people.
    """
    con = _connect_rows(store)
    try:
        sql = "SELECT * FROM ctx_safety_ratings"
        params: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE rated_on >= ?"
            params = (check_date(since, "since"),)
        rows = con.execute(sql + " ORDER BY rated_on, id", params).fetchall()
    finally:
        con.close()
    cols = ["id", "context_id", "place_label", "rating", "rated_on", "comment"]
    frame = pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
    geoms = [shapely.from_wkt(r["geometry_wkt"]) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)


def pool_ratings(ratings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pool ratings by place label: counts of red/amber/green and the share rated red."""
    if ratings.empty:
        return pd.DataFrame(columns=["place_label", *RATINGS, "ratings", "share_red"])
    table = pd.crosstab(ratings["place_label"].astype(str), ratings["rating"].astype(str))
    table = table.reindex(columns=list(RATINGS), fill_value=0)
    table["ratings"] = table.sum(axis=1)
    table["share_red"] = table["red"] / table["ratings"]
    return table.reset_index().rename(columns={"index": "place_label"}).sort_values(
        ["share_red", "ratings"], ascending=False).reset_index(drop=True)


# --------------------------------------------------------------------------- scope and places
# (added for the contexts-of-concern journeys; the functions above are unchanged)

#: ``layer`` value of contexts ranked among the places (see :func:`contexts_as_places`).
CONTEXTS_LAYER: Final = "contexts"
#: The role that sees only the contexts it leads (``ctxmap.privacy.roles.COORDINATOR``).
COORDINATOR_ROLE: Final = "coordinator"


def contexts_for_user(store: AnyStore, user: str, role: str,
                      today: dt.date | None = None) -> pd.DataFrame:
    """The contexts a user may see: a coordinator only those they lead, others all.

    Parameters
    ----------
    store
        The store.
    user
        The signed-in user's name (``ctxmap.privacy.roles.User.name``).
    role
        Their role; for ``"coordinator"`` only contexts whose ``lead_worker`` is
        ``user`` are kept (compared ignoring case and outer spaces).
    today
        For the overdue counts (default: today).

    Returns
    -------
    DataFrame
        :func:`list_contexts`'s columns plus ``lead_worker``, same order.
    """
    frame = list_contexts(store, today)
    con = dbapi.connect(store)
    try:
        leads = dict(con.execute("SELECT id, lead_worker FROM ctx_contexts").fetchall())
    finally:
        con.close()
    frame = frame.copy()
    frame["lead_worker"] = [str(leads.get(i) or "") for i in frame["id"]]
    if role != COORDINATOR_ROLE:
        return frame
    me = str(user).strip().casefold()
    mine = frame["lead_worker"].str.strip().str.casefold() == me
    return frame.loc[mine.to_numpy()].reset_index(drop=True)


def contexts_as_places(store: AnyStore) -> gpd.GeoDataFrame:
    """Every located context as a place to rank among homes, youth centres and safe places.

    A point context is its point; an area (a drawn polygon) is its representative
    point (a point guaranteed inside it). Online spaces (no location) are left out.
    Nothing about young people is read.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points with the place columns ``id, name, category, address,
        opening_hours, source`` (``category`` is the context kind, ``address`` and
        ``opening_hours`` empty, ``source`` ``"context of concern (<status>)"``),
        ``layer`` = ``"contexts"`` and ``location`` (``"point"`` or
        ``"representative point of the area"``), ordered by id.
    """
    con = _connect_rows(store)
    try:
        rows = con.execute("SELECT id, name, kind, status, geometry_wkt FROM ctx_contexts "
                           "WHERE geometry_wkt IS NOT NULL ORDER BY id").fetchall()
    finally:
        con.close()
    recs, geoms = [], []
    for r in rows:
        geom = shapely.from_wkt(r["geometry_wkt"])
        if geom is None or geom.is_empty:
            continue
        is_point = geom.geom_type == "Point"
        recs.append({"id": r["id"], "name": r["name"], "category": r["kind"], "address": "",
                     "opening_hours": "", "source": f"context of concern ({r['status']})",
                     "layer": CONTEXTS_LAYER,
                     "location": "point" if is_point else "representative point of the area"})
        geoms.append(geom if is_point else geom.representative_point())
    cols = ["id", "name", "category", "address", "opening_hours", "source", "layer", "location"]
    frame = pd.DataFrame(recs, columns=cols).astype("object")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)


def contexts_signature(store: AnyStore) -> str:
    """A text that changes whenever a context is added or changed (a cache key)."""
    con = dbapi.connect(store)
    try:
        n, last, versions = con.execute(
            "SELECT count(*), max(updated_at), sum(version) FROM ctx_contexts").fetchone()
    finally:
        con.close()
    return f"{n}|{last}|{versions}"
