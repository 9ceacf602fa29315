import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ctxmap.errors import InputError
from ctxmap.nearby.hours import (
    cli_value,
    comment_only_rules,
    england_days_missing_from_calendar,
    is_parseable,
    open_state,
    open_states,
    parse_when,
)

SAT = dt.datetime(2019, 1, 12)  # a Saturday


def at(day: dt.datetime, hh: int, mm: int = 0) -> dt.datetime:
    return day.replace(hour=hh, minute=mm)


def test_across_midnight():
    hours = "Fr-Sa 20:00-02:00"
    fri = SAT - dt.timedelta(days=1)
    sun = SAT + dt.timedelta(days=1)
    assert open_state(hours, at(fri, 19, 59)) == "closed"
    assert open_state(hours, at(fri, 20, 0)) == "open"
    assert open_state(hours, at(SAT, 1, 30)) == "open"  # Friday night runs on
    assert open_state(hours, at(SAT, 2, 0)) == "closed"
    assert open_state(hours, at(SAT, 21, 0)) == "open"
    assert open_state(hours, at(sun, 1, 0)) == "open"  # Saturday night runs on
    assert open_state(hours, at(sun, 3, 0)) == "closed"
    assert open_state(hours, at(sun, 21, 0)) == "closed"


def test_always_open():
    for hh in (0, 6, 12, 23):
        assert open_state("24/7", at(SAT, hh)) == "open"
    assert open_state("24/7", dt.datetime(2019, 12, 25, 3)) == "open"


def test_ph_off_uses_uk_holidays():
    hours = "Mo-Su 09:00-17:00; PH off"
    assert open_state(hours, dt.datetime(2019, 12, 25, 12)) == "closed"  # Christmas Day
    assert open_state(hours, dt.datetime(2019, 4, 19, 12)) == "closed"  # Good Friday
    assert open_state(hours, dt.datetime(2019, 12, 24, 12)) == "open"
    assert open_state(hours, dt.datetime(2019, 12, 25, 8)) == "closed"
    # England-only bank holidays the library's GB calendar lacks: unknown, never a guess.
    assert open_state(hours, dt.datetime(2019, 8, 26, 12)) == "unknown"
    assert open_state(hours, dt.datetime(2019, 4, 22, 12)) == "unknown"
    # Without PH in the rule those days are ordinary days.
    assert open_state("Mo-Su 09:00-17:00", dt.datetime(2019, 8, 26, 12)) == "open"


def test_england_days_missing_by_rule():
    assert england_days_missing_from_calendar(2019) == {
        dt.date(2019, 1, 1), dt.date(2019, 4, 22), dt.date(2019, 8, 26)}
    # 2022-01-01 was a Saturday: the bank holiday moved to Monday 3 January.
    assert dt.date(2022, 1, 3) in england_days_missing_from_calendar(2022)
    assert dt.date(2025, 8, 25) in england_days_missing_from_calendar(2025)


@pytest.mark.parametrize("value", ['"Part time"', None, "", "   ", "garbage", "Mo-Fr 25:00-26:99"])
def test_unknown_values(value):
    assert open_state(value, at(SAT, 12)) == "unknown"
    assert not is_parseable(value)


def test_comment_only_rule_is_unknown_not_open():
    hours = 'Mo-Fr 09:00-17:00 || "by appointment"'
    assert comment_only_rules(hours) == {"by appointment"}
    assert open_state(hours, dt.datetime(2019, 1, 14, 12)) == "open"  # Monday noon
    assert open_state(hours, at(SAT, 12)) == "unknown"
    assert open_state('Mo-Fr 09:00-17:00 "call first"', dt.datetime(2019, 1, 14, 12)) == "open"


def test_trailing_semicolon_tolerated():
    assert open_state("Mo-Sa 08:30-17:30; Su 10:30-16:30;", at(SAT, 12)) == "open"
    assert open_state("Mo-Sa 08:30-17:30; Su 10:30-16:30;", at(SAT, 21)) == "closed"


def test_aware_time_is_converted_to_london():
    hours = "Mo-Su 09:00-21:00"
    utc = dt.datetime(2019, 7, 1, 20, 30, tzinfo=ZoneInfo("UTC"))  # 21:30 in London (BST)
    assert open_state(hours, utc) == "closed"
    assert open_state(hours, utc.replace(tzinfo=None)) == "open"  # naive = London clock


def test_open_states_and_cli_values():
    states = open_states(["24/7", "off", None, '"Part time"'], at(SAT, 12))
    assert states == ["open", "closed", "unknown", "unknown"]
    assert [cli_value(s) for s in states] == ["true", "false", "unknown", "unknown"]


def test_parse_when():
    assert parse_when("2019-01-12 21:00") == dt.datetime(2019, 1, 12, 21, 0)
    with pytest.raises(InputError, match=r"expected e\.g\."):
        parse_when("next tuesday")
