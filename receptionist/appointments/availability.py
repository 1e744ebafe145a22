"""Open times: provider working hours minus booked appointments, closures, lead time and the past,
and, for a known patient, minus that patient's own visits (with any provider).

Computed on local wall-clock times in the practice's zone and converted to instants per slot, so
they stay right across daylight-saving changes: a wall time that does not exist is skipped, and
durations are measured in real elapsed time. At most three options are offered, soonest first and
spread across days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypedDict
from zoneinfo import ZoneInfo

from typing_extensions import Unpack

from receptionist.appointments.book import Book
from receptionist.appointments.offers import Slot
from receptionist.appointments.refusals import Reason, Refusal, Refused
from receptionist.appointments.rules import require_visit_type
from receptionist.domain.practice import Interval, Practice, Provider, VisitType
from receptionist.store import Busy

MAX_OPTIONS = 3
SEARCH_CHUNK_DAYS = 7  # busy intervals are fetched a week at a time: small queries, early stop
SPREAD_WITHIN_DAY = timedelta(minutes=60)
DEFAULT_RANGE = timedelta(days=21)


class PartOfDay(StrEnum):
    ANY = "any"
    MORNING = "morning"  # starts before noon
    AFTERNOON = "afternoon"  # starts noon to 5 pm
    EVENING = "evening"  # starts 5 pm or later

    def admits(self, start: time) -> bool:
        if self is PartOfDay.MORNING:
            return start < time(12)
        if self is PartOfDay.AFTERNOON:
            return time(12) <= start < time(17)
        if self is PartOfDay.EVENING:
            return start >= time(17)
        return True


class SearchOptions(TypedDict, total=False):
    """What a caller can ask for: a date range, a part of the day, a provider, how many options."""

    date_from: date | None
    date_to: date | None
    part_of_day: PartOfDay | str
    provider_id: str | None
    limit: int


# --- time helpers ----------------------------------------------------------------------------


def localize(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The instant of a local wall time, or None if it does not exist (spring-forward gap).
    Ambiguous times (fall-back) take their first occurrence."""
    candidate = datetime.combine(day, wall, tzinfo=tz)
    round_trip = candidate.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return candidate


def localize_floor(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of `day` (midnight always exists in practice zones; fall back if not)."""
    return localize(day, time(0), tz) or datetime.combine(day, time(1), tzinfo=tz)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --- availability ----------------------------------------------------------------------------


class _Spans:
    """Booked intervals merged and sorted (epoch seconds), for an O(log n) overlap check."""

    def __init__(self, items: Iterable[tuple[float, float]]) -> None:
        merged: list[list[float]] = []
        for start, end in sorted(items):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def is_free(self, start: float, end: float) -> bool:
        i = bisect_left(self.starts, end)  # the merged spans starting before `end`
        return i == 0 or self.ends[i - 1] <= start


def _seconds(busy: Busy) -> tuple[float, float]:
    return busy.starts_at.timestamp(), busy.ends_at.timestamp()


class BusyIndex:
    """Booked intervals per provider, merged and sorted, for O(log n) "is this free?" checks;
    plus, when the search is for a known patient, that patient's own visits, which rule a time
    out with every provider (one patient is never in two chairs).

    Candidate checks are the inner loop of availability (providers x start times x days); a
    linear scan over a busy week made a search take ~100 ms, a bisect keeps it to a few ms.
    """

    def __init__(self, busy: Iterable[Busy], patient: Iterable[Busy] = ()) -> None:
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for b in busy:
            spans[b.provider_id].append(_seconds(b))
        self._providers = {provider_id: _Spans(items) for provider_id, items in spans.items()}
        self._patient = _Spans(_seconds(b) for b in patient)

    def is_free(self, provider_id: str, start: datetime, end: datetime) -> bool:
        begins, ends = start.timestamp(), end.timestamp()
        provider = self._providers.get(provider_id)
        if provider is not None and not provider.is_free(begins, ends):
            return False
        return self._patient.is_free(begins, ends)


def eligible_providers(
    practice: Practice, visit: VisitType, provider_id: str | None
) -> list[Provider]:
    providers = [p for p in practice.providers if p.role in visit.roles]
    if provider_id:
        chosen = practice.provider(provider_id)
        if chosen is None:
            names = tuple(f"{p.name} ({p.id})" for p in practice.providers)
            raise Refused(Refusal(Reason.UNKNOWN_PROVIDER, asked=provider_id[:40], choices=names))
        if chosen not in providers:
            raise Refused(
                Refusal(
                    Reason.PROVIDER_CANNOT,
                    provider=chosen.name,
                    visit=visit.name,
                    choices=tuple(p.name for p in providers),
                )
            )
        providers = [chosen]
    return providers


def day_slots(
    practice: Practice,
    visit: VisitType,
    providers: Sequence[Provider],
    day: date,
    *,
    earliest: datetime,
    part: PartOfDay,
    busy: BusyIndex | Sequence[Busy],
) -> list[Slot]:
    """Every bookable start on `day`, soonest first, one provider per start time (the first
    provider in profile order who is free)."""
    if not isinstance(busy, BusyIndex):
        busy = BusyIndex(busy)
    if practice.closure_on(day):
        return []
    tz = practice.tz
    step = timedelta(minutes=practice.booking.step_minutes)
    instants: dict[time, tuple[datetime, datetime] | None] = {}  # wall time -> (start, end)

    def instant(wall: time) -> tuple[datetime, datetime] | None:
        if wall not in instants:
            start = localize(day, wall, tz)
            instants[wall] = (
                None
                if start is None
                else (start, (start.astimezone(UTC) + visit.duration).astimezone(tz))
            )
        return instants[wall]

    closed = practice.partial_closures(day)
    by_start: dict[datetime, Slot] = {}
    for provider in providers:
        if any(c.covers(day) for c in provider.closures):
            continue
        for span in practice.provider_hours(provider).on(day.weekday()):
            span_end = localize(day, span.end, tz) or datetime.combine(day, span.end, tzinfo=tz)
            wall = datetime.combine(day, span.start)
            while wall.time() < span.end and wall.date() == day:
                moment = instant(wall.time())
                wall += step
                if moment is None:
                    continue
                start, end = moment
                if start in by_start or start < earliest or not part.admits(start.time()):
                    continue
                if any(_overlaps(start, end, c, day, tz) for c in closed):
                    continue
                if end > span_end:
                    break
                if busy.is_free(provider.id, start, end):
                    by_start[start] = Slot(provider.id, provider.name, visit.id, start, end)
    return [by_start[k] for k in sorted(by_start)]


def _overlaps(start: datetime, end: datetime, closed: Interval, day: date, tz: ZoneInfo) -> bool:
    """Whether a visit from `start` to `end` runs into a closed part of `day`."""
    shut = datetime.combine(day, closed.start, tzinfo=tz)
    reopen = datetime.combine(day, closed.end, tzinfo=tz)
    return start < reopen and shut < end


def choose(slots_by_day: Sequence[list[Slot]], limit: int = MAX_OPTIONS) -> list[Slot]:
    """At most `limit` options, soonest first and spread across days: the first slot of each of
    the first days; if there are fewer days than options, more from those days, spaced apart."""
    days = [d for d in slots_by_day if d]
    chosen = [d[0] for d in days[:limit]]
    for spaced in (True, False):
        for day in days[:limit]:
            for slot in day:
                if len(chosen) >= limit:
                    break
                if slot in chosen:
                    continue
                if spaced and any(
                    c.day == slot.day and abs(c.start - slot.start) < SPREAD_WITHIN_DAY
                    for c in chosen
                ):
                    continue
                chosen.append(slot)
    return sorted(chosen, key=lambda s: s.start)[:limit]


def search_window(
    practice: Practice, now: datetime, date_from: date | None, date_to: date | None
) -> tuple[date, date]:
    """Clamps a requested date range to today..horizon, refusing ranges that make no sense."""
    today = now.astimezone(practice.tz).date()
    horizon = today + timedelta(days=practice.booking.horizon_days)
    first = max(date_from or today, today)
    if date_to is not None and date_to < today:
        raise Refused(Refusal(Reason.DATE_PAST, day=date_to, today=today))
    if date_from is not None and date_to is not None and date_to < date_from:
        raise Refused(Refusal(Reason.DATES_SWAPPED))
    if first > horizon:
        raise Refused(
            Refusal(Reason.BEYOND_HORIZON, count=practice.booking.horizon_days, day=horizon)
        )
    last = date_to or min(first + DEFAULT_RANGE, horizon)
    return first, min(last, horizon)


@dataclass(frozen=True)
class Search:
    """One availability search, planned: who, which days, from when, and how many options."""

    practice: Practice
    visit: VisitType
    providers: list[Provider]
    first: date
    last: date
    earliest: datetime
    part: PartOfDay
    limit: int

    @classmethod
    def plan(
        cls,
        practice: Practice,
        visit: VisitType | str,
        *,
        now: datetime,
        date_from: date | None = None,
        date_to: date | None = None,
        part_of_day: PartOfDay | str = PartOfDay.ANY,
        provider_id: str | None = None,
        limit: int = MAX_OPTIONS,
    ) -> Search:
        if isinstance(visit, str):
            visit = require_visit_type(practice, visit)
        part = PartOfDay(part_of_day)
        providers = eligible_providers(practice, visit, provider_id)
        first, last = search_window(practice, now, date_from, date_to)
        earliest = max(now, now + visit.lead_time).astimezone(practice.tz)
        return cls(practice, visit, providers, first, last, earliest, part, limit)

    def on(self, day: date, busy: BusyIndex) -> list[Slot]:
        return day_slots(
            self.practice,
            self.visit,
            self.providers,
            day,
            earliest=self.earliest,
            part=self.part,
            busy=busy,
        )

    def chunks(self) -> Iterator[tuple[date, date]]:
        """3 days, then a week at a time: a busy practice usually has room within the first few."""
        start, size = self.first, 3
        while start <= self.last:
            end = min(start + timedelta(days=size - 1), self.last)
            yield start, end
            start, size = end + timedelta(days=1), SEARCH_CHUNK_DAYS


async def find_open_times(
    practice: Practice,
    book: Book,
    visit_type_id: str,
    *,
    now: datetime,
    patient_id: str | None = None,
    moving: str | None = None,
    **options: Unpack[SearchOptions],
) -> list[Slot]:
    """Up to `limit` open times for a visit type in a date range (practice-local dates), reading
    the book a chunk of days at a time and stopping as soon as there are enough.

    `patient_id`: whom the times are for, once known. Their own booked visits (with any
    provider) are left out of every candidate, read in one indexed query for the whole range,
    so they are never offered a time they could not book. `moving`: the visit being moved (its
    time does not count against them)."""
    search = Search.plan(practice, visit_type_id, now=now, **options)
    provider_ids = [p.id for p in search.providers]
    own: list[Busy] = []
    if patient_id:
        own = await book.patient_busy(
            patient_id,
            localize_floor(search.first, practice.tz),
            localize_floor(search.last + timedelta(days=1), practice.tz),
            moving=moving,
        )
    found: list[list[Slot]] = []
    for chunk_first, chunk_last in search.chunks():
        window_start = localize_floor(chunk_first, practice.tz)
        window_end = localize_floor(chunk_last + timedelta(days=1), practice.tz)
        busy = BusyIndex(await book.busy(provider_ids, window_start, window_end), own)
        for day in days_between(chunk_first, chunk_last):
            found.append(search.on(day, busy))
            if sum(1 for d in found if d) >= search.limit:
                return choose(found, search.limit)
    return choose(found, search.limit)


def open_times(
    practice: Practice,
    visit: VisitType,
    busy: Sequence[Busy],
    *,
    now: datetime,
    patient_busy: Sequence[Busy] = (),
    **options: Unpack[SearchOptions],
) -> list[Slot]:
    """The pure form of `find_open_times` over given busy intervals (for tests);
    `patient_busy`: the patient's own visits."""
    search = Search.plan(practice, visit, now=now, **options)
    index = BusyIndex(busy, patient_busy)
    found = [search.on(day, index) for day in days_between(search.first, search.last)]
    return choose(found, search.limit)
