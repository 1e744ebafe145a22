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
from typing import NamedTuple, TypedDict
from zoneinfo import ZoneInfo

from typing_extensions import Unpack

from receptionist.appointments.book import Book
from receptionist.appointments.offers import Slot
from receptionist.appointments.refusals import Reason, Refusal, Refused
from receptionist.appointments.rules import require_visit_type
from receptionist.domain.practice import Interval, Practice, Provider, VisitType
from receptionist.store import Busy

MAX_OPTIONS = 3
SPREAD_WITHIN_DAY = timedelta(minutes=60)
DEFAULT_RANGE = timedelta(days=21)
# Working days a search's first read covers beyond one per option (`Search.reads`): a read's
# fixed cost (a round trip and a transaction) is that of several days of a full book's rows.
SPARE_DAYS = 1


class PartOfDay(StrEnum):
    ANY = "any"
    MORNING = "morning"  # starts before noon
    AFTERNOON = "afternoon"  # starts noon to 5 pm
    EVENING = "evening"  # starts 5 pm or later

    @property
    def bounds(self) -> tuple[time | None, time | None]:
        """The first wall time a start may take and the first it may not (None: no bound)."""
        return _PART_BOUNDS[self]

    def admits(self, start: time) -> bool:
        first, after = self.bounds
        return (first is None or first <= start) and (after is None or start < after)


_PART_BOUNDS: dict[PartOfDay, tuple[time | None, time | None]] = {
    PartOfDay.ANY: (None, None),
    PartOfDay.MORNING: (None, time(12)),
    PartOfDay.AFTERNOON: (time(12), time(17)),
    PartOfDay.EVENING: (time(17), None),
}


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


_NOTHING_BOOKED = _Spans(())


class BusyIndex:
    """Booked intervals per provider, merged and sorted, for O(log n) "is this free?" checks;
    plus, when the search is for a known patient, that patient's own visits, which rule a time
    out with every provider (one patient is never in two chairs).

    Candidate checks are the inner loop of availability (providers x start times x days); a
    linear scan over a busy week made a search take ~100 ms, a bisect keeps it to a few ms.
    `free_between` takes epoch seconds, which `day_slots` works out once per start time.
    """

    def __init__(self, busy: Iterable[Busy], patient: Iterable[Busy] = ()) -> None:
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for provider_id, starts_at, ends_at in busy:
            spans[provider_id].append((starts_at.timestamp(), ends_at.timestamp()))
        self._providers = {provider_id: _Spans(items) for provider_id, items in spans.items()}
        self._patient = _Spans((b.starts_at.timestamp(), b.ends_at.timestamp()) for b in patient)

    def is_free(self, provider_id: str, start: datetime, end: datetime) -> bool:
        return self.free_between(provider_id, start.timestamp(), end.timestamp())

    def free_between(self, provider_id: str, start: float, end: float) -> bool:
        """`is_free` on epoch seconds."""
        provider = self._providers.get(provider_id, _NOTHING_BOOKED)
        return provider.is_free(start, end) and self._patient.is_free(start, end)


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


def working_hours(practice: Practice, provider: Provider, day: date) -> list[Interval]:
    """The provider's working hours on `day`: none when the practice or the provider is closed
    all day."""
    if practice.closure_on(day) or any(c.covers(day) for c in provider.closures):
        return []
    return practice.provider_hours(provider).on(day.weekday())


class _Start(NamedTuple):
    """A start time a visit could take on a day, with its end; `start_s`, `end_s`: the same in
    epoch seconds, for `BusyIndex.free_between`."""

    start: datetime
    end: datetime
    start_s: float
    end_s: float


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
    provider in profile order who is free).

    Everything but the provider's own bookings is the same for every provider working the same
    hours: whether a wall time exists, its instant and the visit's end, the lead time, the part
    of the day, partial closures, the end of the span. So that is worked out once per span of
    hours (`starts_in`), and the loop over providers x start times only asks the busy index,
    on epoch seconds. Done per provider, it was most of a search's own time with ten providers.
    """
    if not isinstance(busy, BusyIndex):
        busy = BusyIndex(busy)
    tz = practice.tz
    step = timedelta(minutes=practice.booking.step_minutes)
    duration = visit.duration
    closed = practice.partial_closures(day)
    instants: dict[time, _Start | None] = {}  # wall time -> its start, end (None: no such time)
    spans: dict[tuple[time, time], list[_Start]] = {}

    def instant(wall: time) -> _Start | None:
        if wall not in instants:
            start = localize(day, wall, tz)
            if start is None:
                instants[wall] = None
            else:
                end = (start.astimezone(UTC) + duration).astimezone(tz)
                instants[wall] = _Start(start, end, start.timestamp(), end.timestamp())
        return instants[wall]

    def starts_in(span: Interval) -> list[_Start]:
        """The span's start times, soonest first, that exist, are not too soon, fall in the
        part of the day asked for, miss the partial closures and let the visit end in the span."""
        key = (span.start, span.end)
        if key in spans:
            return spans[key]
        found: list[_Start] = []
        span_end = localize(day, span.end, tz) or datetime.combine(day, span.end, tzinfo=tz)
        wall = datetime.combine(day, span.start)
        while wall.time() < span.end and wall.date() == day:
            clock = wall.time()
            wall += step
            if not part.admits(clock):
                continue
            moment = instant(clock)
            if moment is None or moment.start < earliest:
                continue
            if any(_overlaps(moment.start, moment.end, c, day, tz) for c in closed):
                continue
            if moment.end > span_end:
                break  # later starts end later still
            found.append(moment)
        spans[key] = found
        return found

    by_start: dict[float, Slot] = {}
    for provider in providers:
        for span in working_hours(practice, provider, day):
            for moment in starts_in(span):
                if moment.start_s not in by_start and busy.free_between(
                    provider.id, moment.start_s, moment.end_s
                ):
                    by_start[moment.start_s] = Slot(
                        provider.id, provider.name, visit.id, moment.start, moment.end
                    )
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

    def window(self, first: date, last: date) -> tuple[datetime, datetime]:
        """The time whose bookings can touch a time this search offers from `first` to `last`:
        from the first day's start of the part of the day asked for (no sooner than `earliest`)
        to the last day's end of it plus the visit's length. Reading only that leaves the
        mornings out of an afternoon search, and the afternoons out of a morning one, at the
        ends of each read: a read of a day or two is most of a long visit's search."""
        tz = self.practice.tz
        opens, closes = self.part.bounds
        start = localize_floor(first, tz)
        if opens is not None:
            start = localize(first, opens, tz) or start
        end = localize_floor(last + timedelta(days=1), tz)
        if closes is not None:
            latest = localize(last, closes, tz)
            if latest is not None:
                end = min(end, (latest.astimezone(UTC) + self.visit.duration).astimezone(tz))
        return max(start, self.earliest), end

    def works_on(self, day: date) -> bool:
        """Whether any of the search's providers works on `day` (a day with no times at all)."""
        return any(working_hours(self.practice, p, day) for p in self.providers)

    def through(self, start: date, working_days: int) -> tuple[date, int]:
        """The day by which `working_days` days someone works have passed, counting from
        `start` (at most the search's last day), and how many working days that covers."""
        end, seen = start, 0
        for day in days_between(start, self.last):
            end, seen = day, seen + self.works_on(day)
            if seen == working_days:
                break
        return end, seen

    def reads(self, found: Sequence[list[Slot]]) -> Iterator[tuple[date, date]]:
        """The search's days in runs, each read from the book at once, while the caller fills
        `found` with each day's times: first as many days someone works as there are options to
        offer (`choose` wants one a day, and a busy book has room most days) and `SPARE_DAYS`
        more (on a full book some day of the first few has none: without the spare day, one
        search in six read the book twice for an hour's visit in the benchmark), then enough days
        to find the missing ones at the rate days had room so far (`_next_read`), or twice what
        was read so far when no day had room (a full book takes a few reads, not one a day).

        Reads count working days, not calendar days: with three calendar days, then a week, a
        search from a Thursday, a Friday or a weekend read the book twice, the second time a
        week of bookings, most of its time."""
        start, size, read = self.first, self.limit + SPARE_DAYS, 0
        while start <= self.last:
            end, seen = self.through(start, max(size, 1))
            yield start, end
            start, read = end + timedelta(days=1), read + seen
            size = _next_read(self.limit, read, sum(1 for d in found if d))


def _next_read(limit: int, read: int, with_room: int) -> int:
    """How many working days the next read covers, after `read` working days of which
    `with_room` had a time: the days still missing at the rate days had room so far (rounded
    up), or twice what was read when none had.

    A read's fixed cost (a round trip, a transaction) is that of a few days' rows, so reading
    exactly the missing days is a false economy on a full book: with one day of three having
    room for an hour's visit, one day more at a time took a search four reads, the slowest
    searches of the benchmark. Reading a few days too many changes no result: days are still
    offered in order and the search stops at the first `limit` days with room."""
    if not with_room:
        return 2 * read
    missing = limit - with_room
    return -(-missing * read // with_room)


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
    the book a few days at a time (`Search.reads`) and stopping as soon as there are enough.

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
    for read_first, read_last in search.reads(found):
        busy = BusyIndex(await book.busy(provider_ids, *search.window(read_first, read_last)), own)
        for day in days_between(read_first, read_last):
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
