"""Check and normalise the fields of a context record before it is stored.

Young people are linked by pseudonymous reference only (``YP-`` then capital letters
and digits, at least one digit); anything that looks like a name is refused.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

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
)
from ctxmap.errors import InputError
from ctxmap.store import vocabularies as vocab

_YP_REF = re.compile(r"^YP-[0-9A-Z]{2,12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

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


def check_text(value: object, what: str, *, required: bool = False, max_len: int = 4000) -> str:
    """``value`` as trimmed text; :class:`InputError` if required and empty, or too long."""
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


#: A field's check: the raw value in, the clean value out (or InputError).
Checker = Callable[[object], Any]


def _radius(value: object) -> float:
    try:
        r = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        r = float("nan")
    if not (math.isfinite(r) and 0 < r <= 5000):
        raise InputError(f"radius {value!r} m; expected a number of metres in (0, 5000]")
    return r


def _one_of(options: Sequence[str], what: str, *, as_text: bool = False) -> Checker:
    return lambda value: _choice(str(value) if as_text else value, options, what)


def _date(*, optional: bool = False) -> Callable[[str], Checker]:
    return lambda name: lambda value: check_date(value, name.replace("_", " "),
                                                 optional=optional)


def _text(*, required: bool = False, max_len: int = 4000) -> Callable[[str], Checker]:
    return lambda name: lambda value: check_text(value, name.replace("_", " "),
                                                 required=required, max_len=max_len)


#: Checkers of the fields whose rule does not depend on the record kind.
_FIELD_RULES: dict[str, Checker] = {
    "name": lambda value: check_text(value, "context name", required=True, max_len=200),
    "geometry": lambda value: None if value is None else _geometry(value),
    "radius_m": _radius,
    "side": _one_of(tuple(ASSESSMENT_SIDES), "assessment side"),
    "factor": _one_of(FACTORS, "factor"),
    "source_grade": _one_of(tuple(SOURCE_GRADES), "source reliability grade"),
    "info_grade": _one_of(tuple(INFO_GRADES), "information reliability grade", as_text=True),
    "rating": _one_of(RATINGS, "rating"),
    "category": _one_of(vocab.CONSENT_CATEGORIES, "information category"),
    "legal_basis": _one_of(vocab.SHARING_BASES, "legal basis"),
    "yp_ref": lambda value: None if value in (None, "") else check_yp_ref(value),
    **{n: _date()(n) for n in ("referral_date", "recorded_on", "linked_on", "given_on",
                               "rated_on", "noted_on")},
    **{n: _date(optional=True)(n) for n in ("plan_start", "due_date", "withdrawn_on")},
    **{n: _text(required=True)(n) for n in ("referral_reason", "what", "text", "source",
                                            "place_label")},
    **{n: _text(max_len=8000)(n) for n in ("referring_agency", "lead_agency", "lead_worker",
                                           "owner", "notes", "safety_plan", "comment")},
}
#: ``kind`` and ``status`` mean one thing for a context and another for a child record.
_CONTEXT_RULES: dict[str, Checker] = {
    "kind": _one_of(CONTEXT_KINDS, "kind"), "status": _one_of(CONTEXT_STATUSES, "status")}
_CHILD_RULES: dict[str, Checker] = {
    "kind": _one_of(REVIEW_NOTE_KINDS, "note kind"),
    "status": _one_of(ACTION_STATUSES, "action status")}


def _partner(value: object, partners: Sequence[str] | None) -> str:
    p = check_text(value, "partner", required=True, max_len=200)
    if partners is not None and p not in partners:
        raise InputError(f"partner {p!r} is not on the partner list; expected one of: "
                         f"{', '.join(partners)} (add it first)")
    return p


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
    rules = {**_FIELD_RULES, **(_CONTEXT_RULES if entity == "context" else _CHILD_RULES)}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "partner":
            out[name] = _partner(value, partners)
        elif name in rules:
            out[name] = rules[name](value)
        else:
            raise InputError(f"{name!r} is not a field of a {entity} that can be set")
    return out
