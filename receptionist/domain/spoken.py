"""Times, dates and opening hours as the receptionist says them: one phrasing for every tool.

The model reads these lines and speaks them, so they are written the way a receptionist talks
("9 AM", "tomorrow (Tuesday) at 1:30 PM") rather than as data; the system prompt alone gets the
compact 24-hour week (`week_hours_24h`), which the model only reads.

Each phrasing is in the call's language (`lang`, English by default): month and day names and the
order of the parts come from Babel's locale data (CLDR) through the patterns and connecting words
of `prompts/<lang>/lines.toml` ([spoken]), so "martes 1 de diciembre a las 9:15" needs no code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import format_date, format_time, get_date_format

from receptionist.domain.languages import DEFAULT, catalogue, fold
from receptionist.domain.practice import WEEKDAYS, Closure, Practice, WeeklyHours

# Closures named when the caller asks about hours: the nearest few, not the whole year.
CLOSURES_NAMED = 3


def _pattern(lang: str, key: str) -> str:
    return catalogue(lang).spoken[key]


def _plain(text: str) -> str:
    """CLDR puts narrow and no-break spaces in times ("9\u202fAM"); a TTS wants plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def clock(moment: time | datetime, lang: str = DEFAULT) -> str:
    """`9 AM`, `1:30 PM` (`9:00`, `13:30` in Spanish): a time of day as a person says it."""
    key = "clock_hour" if moment.minute == 0 else "clock"
    return _plain(format_time(moment, _pattern(lang, key), locale=lang))


def clock_reading(moment: time | datetime, lang: str = DEFAULT) -> str:
    """`10:00 AM`, `9:05 AM`: the time on the clock, minutes always said."""
    return _plain(format_time(moment, _pattern(lang, "clock_reading"), locale=lang))


def spoken_time(
    moment: datetime, tz: ZoneInfo, today: date | None = None, lang: str = DEFAULT
) -> str:
    """`Tuesday, December 1 at 9:15 AM` (with `today`/`tomorrow` when close)."""
    local = moment.astimezone(tz)
    words = catalogue(lang)
    at = clock(local, lang)
    if today is not None and local.date() == today:
        return words.say("today", time=at)
    if today is not None and local.date() == today + timedelta(days=1):
        return words.say("tomorrow", weekday=weekday(local.date(), lang), time=at)
    day = format_date(local.date(), _pattern(lang, "day"), locale=lang)
    return words.say("at", day=day, time=at)


def weekday(day: date, lang: str = DEFAULT) -> str:
    """`Tuesday` (`martes`)."""
    return format_date(day, _pattern(lang, "weekday"), locale=lang)


def spoken_date(day: date, lang: str = DEFAULT) -> str:
    """`November 26` (`26 de noviembre`)."""
    return format_date(day, _pattern(lang, "date"), locale=lang)


def spoken_birth_date(day: date, lang: str = DEFAULT) -> str:
    """`March 3, 1985` (`3 de marzo de 1985`): a date of birth read back to the caller."""
    return format_date(day, _pattern(lang, "birth_date"), locale=lang)


def week_hours(hours: WeeklyHours, lang: str = DEFAULT) -> str:
    """`Monday: 8 AM to 5 PM; ...; Saturday: closed`: for the caller's ears."""
    return _week(hours, lambda t: clock(t, lang), ": ", lang)


def week_hours_24h(hours: WeeklyHours, lang: str = DEFAULT) -> str:
    """`Monday 8:00 to 17:00; ...; Saturday closed`: compact, for the model to phrase."""
    return _week(hours, lambda t: f"{t:%H:%M}", " ", lang)


def _week(hours: WeeklyHours, say: Callable[[time], str], after_day: str, lang: str) -> str:
    words = catalogue(lang)
    names = Locale.parse(lang).days["format"]["wide"]  # 0 is Monday, as in WEEKDAYS
    days = []
    for index in range(len(WEEKDAYS)):
        spans = words.spoken["spans_joiner"].join(
            words.say("span", start=say(s.start), end=say(s.end)) for s in hours.on(index)
        )
        name = names[index]
        days.append(f"{name[:1].upper()}{name[1:]}{after_day}{spans or words.spoken['closed']}")
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


def read_date(text: str, lang: str = DEFAULT) -> date | None:
    """A date as a caller says or a model writes it: `1985-03-03`, `3 de marzo de 1985`,
    `March 3, 1985`, `3/3/1985` (day and month in the order `lang` writes them: 3/4/1985 is
    April 3 in Spanish, March 4 in English). Month names are Babel's for `lang` and English
    (models often write English). None when it is no whole date."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    words = fold(text).replace(",", " ").replace(".", " ")
    numeric = re.fullmatch(r"(\d{1,2})\s*[/\-]\s*(\d{1,2})\s*[/\-]\s*(\d{4})", words.strip())
    if numeric:
        first, second, year = (int(g) for g in numeric.groups())
        day_first = get_date_format("short", locale=lang).pattern.lower().startswith("d")
        day, month = (first, second) if day_first else (second, first)
        return _date(year, month, day)
    months = _month_names(lang) | _month_names(DEFAULT)
    tokens = words.split()
    named = next((months[t] for t in tokens if t in months), None)
    numbers = [
        int(t.removesuffix("th").removesuffix("st").removesuffix("nd").removesuffix("rd"))
        for t in tokens
        if re.fullmatch(r"\d{1,4}(st|nd|rd|th)?", t)
    ]
    years = [n for n in numbers if n >= 1000]
    days = [n for n in numbers if 1 <= n <= 31]
    if named is None or len(years) != 1 or len(days) != 1:
        return None
    return _date(years[0], named, days[0])


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@cache
def _month_names(lang: str) -> dict[str, int]:
    """Folded month names (wide, abbreviated, stand-alone) -> month number, from Babel."""
    names: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in Locale.parse(lang).months[context][width].items():
                names.setdefault(fold(name).rstrip("."), number)
    return names
