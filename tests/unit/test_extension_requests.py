"""What `course extend --days/--until/--clear` asks for, and how extensions are shown
(`tests/e2e/test_extensions.py` grades a course with them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from course.extensions import requested_extension
from course.late import shown_duration, shown_moment

DUE = datetime(2026, 10, 16, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("how", "extension"),
    [
        ({"days": 2}, timedelta(days=2)),
        ({"days": 0.5}, timedelta(hours=12)),
        ({"until": "2026-10-18 23:59 +00:00"}, timedelta(days=2)),
        ({"until": "2026-10-19 00:59+01:00"}, timedelta(days=2)),  # the same moment
        ({"until": "2026-10-17T00:00:30Z"}, timedelta(seconds=90)),
        ({"days": 0}, None),  # removes it
        ({"clear": True}, None),
        ({"days": 365}, timedelta(days=365)),
    ],
)
def test_the_extension_asked_for(how, extension):
    assert requested_extension("lab1", DUE, **how) == extension


@pytest.mark.parametrize(
    ("due", "how", "message"),
    [
        (None, {"days": 1}, "lab1 has no due date to extend: set it in nbgrader_config.py"),
        (None, {"until": "2026-10-18 23:59 +00:00"}, "lab1 has no due date to extend"),
        (DUE, {"until": "2026-10-16 23:59 +00:00"}, "is not after lab1's due date"),
        (DUE, {"until": "2026-10-17 00:30 +01:00"}, "(2026-10-16 23:30 UTC) is not after"),
        (DUE, {"until": "2026-10-18"}, "--until = '2026-10-18' has no UTC offset"),
        (DUE, {"until": "friday"}, "is not a date and time"),
        (DUE, {"days": -1}, "--days -1 is not a number of days to extend by"),
        (DUE, {"days": float("nan")}, "--days nan is not a number of days"),
        (DUE, {"days": float("inf")}, "--days inf is not a number of days"),
        (DUE, {"days": 366}, "--days 366 is more than 365 days"),
        (DUE, {"until": "2030-01-01 00:00 +00:00"}, "is more than 365 days"),
        (DUE, {}, "say how long: --days N, --until DATE, or --clear"),
    ],
)
def test_what_is_not_an_extension_is_refused_saying_why(due, how, message):
    with pytest.raises(ValueError) as refused:
        requested_extension("lab1", due, **how)
    assert message in str(refused.value)


def test_clearing_needs_no_due_date():
    assert requested_extension("lab1", None, clear=True) is None
    assert requested_extension("lab1", None, days=0) is None


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        (timedelta(days=2), "2 days"),
        (timedelta(days=1, hours=12), "1 day 12 h"),
        (timedelta(hours=22, minutes=1), "22 h 1 min"),
        (timedelta(seconds=20), "0 min"),
        (timedelta(days=3, minutes=5), "3 days 5 min"),
    ],
)
def test_durations_are_shown_in_days_hours_and_minutes(duration, shown):
    assert shown_duration(duration) == shown


def test_moments_are_shown_in_utc():
    moment = datetime.fromisoformat("2026-10-19 00:59 +01:00")
    assert shown_moment(moment) == "2026-10-18 23:59 UTC"
