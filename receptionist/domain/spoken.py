"""Times, dates and opening hours as the receptionist says them: one phrasing for every tool.

The model reads these lines and speaks them, so they are written the way a receptionist talks
("9 AM", "tomorrow (Tuesday) at 1:30 PM") rather than as data; the system prompt alone gets the
compact 24-hour week (`week_hours_24h`), which the model only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

from receptionist.domain.practice import WEEKDAYS, Closure, Practice, WeeklyHours

# Closures named when the caller asks about hours: the nearest few, not the whole year.
CLOSURES_NAMED = 3


def clock(moment: time | datetime) -> str:
    """`9 AM`, `1:30 PM`: a time of day as a person says it."""
    return moment.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ")


def clock_reading(moment: time | datetime) -> str:
    """`10:00 AM`, `9:05 AM`: the time on the clock, minutes always said."""
    return moment.strftime("%I:%M %p").lstrip("0")


def spoken_time(moment: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """`Tuesday, December 1 at 9:15 AM` (with `today`/`tomorrow` when close)."""
    local = moment.astimezone(tz)
    if today is not None and local.date() == today:
        return f"today at {clock(local)}"
    if today is not None and local.date() == today + timedelta(days=1):
        return f"tomorrow ({local:%A}) at {clock(local)}"
    return f"{local:%A}, {spoken_date(local.date())} at {clock(local)}"


def spoken_date(day: date) -> str:
    """`November 26`."""
    return f"{day:%B} {day.day}"


def week_hours(hours: WeeklyHours) -> str:
    """`Monday: 8 AM to 5 PM; ...; Saturday: closed`: for the caller's ears."""
    return _week(hours, clock, ": ")


def week_hours_24h(hours: WeeklyHours) -> str:
    """`Monday 8:00 to 17:00; ...; Saturday closed`: compact, for the model to phrase."""
    return _week(hours, lambda t: f"{t:%H:%M}", " ")


def _week(hours: WeeklyHours, say: Callable[[time], str], after_day: str) -> str:
    days = []
    for index, day in enumerate(WEEKDAYS):
        spans = " and ".join(f"{say(s.start)} to {say(s.end)}" for s in hours.on(index))
        days.append(f"{day.capitalize()}{after_day}{spans or 'closed'}")
    return "; ".join(days)


def closures_ahead(closures: Iterable[Closure], today: date) -> str:
    """`closed November 26 for Thanksgiving; closed December 24 to December 26 for ...`:
    the nearest closures from today on, by date (whatever their order in the profile)."""
    upcoming = sorted((c for c in closures if c.last >= today), key=lambda c: c.start)
    return "; ".join(
        f"closed {spoken_date(c.start)}"
        + (f" to {spoken_date(c.last)}" if c.end else "")
        + (f" from {clock(c.hours.start)} to {clock(c.hours.end)}" if c.hours else "")
        + f" for {c.reason}"
        for c in upcoming[:CLOSURES_NAMED]
    )


def now_at_practice(practice: Practice, moment: datetime) -> str:
    """Today's date, the time at the practice, and whether (and until when) the office is open."""
    now = moment.astimezone(practice.tz)
    day = f"{now:%A}, {spoken_date(now.date())}, {now.year}"
    text = f"It is {day}, {clock_reading(now)} at the practice."
    if practice.is_open(now):
        spans = practice.hours.on(now.weekday())
        closing = next(s.end for s in spans if s.start <= now.time() < s.end)
        return f"{text} The office is open until {clock_reading(closing)}."
    closure = practice.closure_at(now)
    reason = f" ({closure.reason})" if closure else ""
    opens = practice.next_opening(now)
    again = f" It opens again {spoken_time(opens, practice.tz, now.date())}." if opens else ""
    return f"{text} The office is closed now{reason}.{again}"


def spoken_number(e164: str, region: str) -> str:
    """`(414) 555-0100`: a number as the practice's staff and callers write it (as given if it
    cannot be read)."""
    try:
        parsed = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
