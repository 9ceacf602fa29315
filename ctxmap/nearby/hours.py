"""Say whether a place is open at a given time, from its OSM ``opening_hours`` value.

Parsing and evaluation use ``opening-hours-py`` (import name ``opening_hours``), the
Python binding of the maintained Rust ``opening-hours`` crate. The answer is tri-state:
``"open"``, ``"closed"`` or ``"unknown"``. Missing, empty or unparseable values are
``"unknown"``, never open (a trailing ``;``, common in real data, is ignored), and so
are values the parser reads as a bare comment (e.g. the
real Norwich value ``"Part time"``), and rules that are only a comment (``Mo-Fr
09:00-17:00; "by appointment"`` is unknown outside Monday to Friday 09:00-17:00): the
library itself would call those open.

Times
-----
A naive ``datetime`` is the place's local clock time (Europe/London). An aware one is
converted to Europe/London first.

Public holidays (``PH``)
------------------------
The library knows country calendars but no region within a country: ``GB-ENG`` is
rejected, and its ``GB`` calendar holds only holidays common to the whole United Kingdom
(Good Friday, the early May and spring bank holidays, Christmas Day, Boxing Day). It does
*not* treat these England and Wales bank holidays as ``PH``: New Year's Day (or its
substitute Monday), Easter Monday and the summer bank holiday (last Monday of August).
So that a ``PH`` rule is never applied wrongly on those days, an expression that
mentions ``PH`` evaluates to ``"unknown"`` on them (see
:func:`england_days_missing_from_calendar`). Expressions without ``PH`` are unaffected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dateutil.easter import easter
from opening_hours import OpeningHours, ParserError, State  # type: ignore[attr-defined]  # stubs lack it

from ctxmap.errors import InputError

OpenState = Literal["open", "closed", "unknown"]

#: The country whose public-holiday calendar is used for ``PH``.
HOLIDAY_COUNTRY: Final = "GB"

#: The time zone naive times are read in.
LOCAL_TZ: Final = ZoneInfo("Europe/London")

_STATES: Final[dict[State, OpenState]] = {
    State.OPEN: "open",
    State.CLOSED: "closed",
    State.UNKNOWN: "unknown",
}
_PH_RE: Final = re.compile(r"\bPH\b")
_CLI_VALUES: Final[dict[str, str]] = {"open": "true", "closed": "false", "unknown": "unknown"}


def england_days_missing_from_calendar(year: int) -> frozenset[dt.date]:
    """Return the England bank holidays of ``year`` that the library's GB calendar lacks.

    New Year's Day (moved to the next Monday when it falls at a weekend), Easter Monday
    and the summer bank holiday (last Monday of August). Computed by rule, not listed.
    """
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() >= 5:
        new_year += dt.timedelta(days=7 - new_year.weekday())
    easter_monday = easter(year) + dt.timedelta(days=1)
    last_aug = dt.date(year, 8, 31)
    summer = last_aug - dt.timedelta(days=last_aug.weekday())
    return frozenset({new_year, easter_monday, summer})


@lru_cache(maxsize=4096)
def _parse(text: str) -> OpeningHours | None:
    try:
        parsed = OpeningHours(text, country=HOLIDAY_COUNTRY, auto_timezone=False)
    except (ParserError, SyntaxError, ValueError):
        return None
    return parsed


def _bare_comment(text: str) -> bool:
    """True when the whole value is a quoted comment, e.g. ``"Part time"``."""
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] != '"' or stripped[-1] != '"':
        return False
    return '"' not in stripped[1:-1]


_RULE_SPLIT_RE: Final = re.compile(r'("[^"]*")|(;|\|\|)')


def comment_only_rules(text: str) -> frozenset[str]:
    """Return the comments of rules that are nothing but a quoted comment.

    The library reads such a rule (``Mo-Fr 09:00-17:00; "by appointment"``) as open at
    every time with that comment; ctxmap treats it as unknown instead (as the reference
    JavaScript implementation does).
    """
    rules: list[str] = []
    current = ""
    pos = 0
    for match in _RULE_SPLIT_RE.finditer(text):
        if match.group(2):  # a separator outside quotes
            current += text[pos : match.start()]
            rules.append(current)
            current = ""
            pos = match.end()
    rules.append(current + text[pos:])
    return frozenset(r.strip()[1:-1] for r in rules if _bare_comment(r))


def _tidy(text: str) -> str:
    """Strip surrounding space and trailing rule separators (``"Mo-Sa 09:00-17:00;"``)."""
    return text.strip().rstrip(";").strip()


def is_parseable(opening_hours: str | None) -> bool:
    """Return whether ``opening_hours`` is a value the parser understands (not a bare comment)."""
    if opening_hours is None or not isinstance(opening_hours, str) or not opening_hours.strip():
        return False
    return not _bare_comment(opening_hours) and _parse(_tidy(opening_hours)) is not None


def local_time(when: dt.datetime) -> dt.datetime:
    """Return ``when`` as a naive Europe/London clock time (naive input is kept as is)."""
    if when.tzinfo is None:
        return when
    return when.astimezone(LOCAL_TZ).replace(tzinfo=None)


def open_state(opening_hours: str | None, when: dt.datetime) -> OpenState:
    """Return whether a place with these opening hours is open at ``when``.

    Parameters
    ----------
    opening_hours
        An OSM ``opening_hours`` value, or ``None``/empty when unknown.
    when
        The moment to check (naive = Europe/London clock time).

    Returns
    -------
    OpenState
        ``"open"``, ``"closed"`` or ``"unknown"`` (missing, unparseable, a bare comment,
        an explicit ``unknown`` rule, or a ``PH`` rule on an England-only bank holiday).
    """
    if not is_parseable(opening_hours):
        return "unknown"
    assert opening_hours is not None  # for type checkers: is_parseable checked it
    text = _tidy(opening_hours)
    parsed = _parse(text)
    if parsed is None:  # pragma: no cover - is_parseable already checked
        return "unknown"
    moment = local_time(when)
    if _PH_RE.search(text) and moment.date() in england_days_missing_from_calendar(moment.year):
        return "unknown"
    state, comment = parsed.state(moment)
    if state == State.OPEN and comment and comment in comment_only_rules(text):
        return "unknown"
    return _STATES.get(state, "unknown")


def open_states(values: Iterable[str | None], when: dt.datetime) -> list[OpenState]:
    """Return :func:`open_state` of each value at the same moment (parses are cached)."""
    return [open_state(v if isinstance(v, str) else None, when) for v in values]


def cli_value(state: OpenState) -> str:
    """Return how the command line prints a state: ``true``, ``false`` or ``unknown``."""
    return _CLI_VALUES[state]


def parse_when(text: str) -> dt.datetime:
    """Parse a user's date and time such as ``"2019-01-12 21:00"`` (ISO 8601).

    Raises
    ------
    InputError
        If ``text`` is not an ISO date-time.
    """
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"could not read {text!r} as a date and time; expected e.g. '2019-01-12 21:00'"
        ) from None
