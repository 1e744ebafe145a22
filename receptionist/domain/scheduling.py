"""Availability and booking rules over the store: the code decides, the model only chooses.

Open times are provider working hours minus booked appointments, practice and provider closures,
the visit type's lead time and the past, computed on local wall-clock times in the practice's zone
and converted to instants per slot (so they stay right across daylight-saving changes: a wall time
that does not exist is skipped, durations are measured in real elapsed time).

At most three options are offered, soonest first and spread across days. Each offered slot gets an
opaque option id valid only within the call (`Offers`); booking accepts nothing else, so the model
cannot invent a time, and a slot id is never something the caller has to hear.
"""

from __future__ import annotations

import secrets
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from receptionist.domain.practice import PatientKind, Practice, Provider, VisitType
from receptionist.store import Appointment, Busy, NotFound, SlotTaken, Store

MAX_OPTIONS = 3
SEARCH_CHUNK_DAYS = 7  # busy intervals are fetched a week at a time: small queries, early stop
SPREAD_WITHIN_DAY = timedelta(minutes=60)


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


class SchedulingError(ValueError):
    """A request the rules refuse; the message says what to ask or do instead."""


class NotOffered(SchedulingError):
    """The option id was not offered in this call (or has expired)."""


class SlotGone(Exception):
    """The chosen time can no longer be booked; `fresh` holds new options.

    `reason`: "taken" (someone else booked it meanwhile) or "too_soon" (time passed and the visit
    type's notice no longer allows it): the caller hears the real cause."""

    def __init__(self, message: str, fresh: list[Slot], reason: str = "taken") -> None:
        super().__init__(message)
        self.fresh = fresh
        self.reason = reason


@dataclass(frozen=True)
class Slot:
    provider_id: str
    provider_name: str
    visit_type: str
    start: datetime  # aware, in the practice's zone
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()


class Offers:
    """The slots offered so far in one call, by opaque option id."""

    def __init__(self) -> None:
        self._slots: dict[str, Slot] = {}
        self._booked: set[str] = set()

    def add(self, slots: Iterable[Slot]) -> list[tuple[str, Slot]]:
        added = []
        for slot in slots:
            option_id = next((k for k, v in self._slots.items() if v == slot), None)
            if option_id is None:
                option_id = "opt-" + secrets.token_hex(3)
                self._slots[option_id] = slot
            added.append((option_id, slot))
        return added

    def get(self, option_id: str) -> Slot | None:
        return self._slots.get(option_id.strip())

    def discard(self, option_id: str) -> None:
        self._slots.pop(option_id, None)

    def mark_booked(self, option_id: str) -> None:
        """Booked in this call: no longer on offer, remembered so a repeat is recognised."""
        self.discard(option_id)
        self._booked.add(option_id)

    def was_booked(self, option_id: str) -> bool:
        return (option_id or "").strip() in self._booked

    def __len__(self) -> int:
        return len(self._slots)


# --- time helpers ----------------------------------------------------------------------------


def localize(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The instant of a local wall time, or None if it does not exist (spring-forward gap).
    Ambiguous times (fall-back) take their first occurrence."""
    candidate = datetime.combine(day, wall, tzinfo=tz)
    round_trip = candidate.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return candidate


def spoken_time(moment: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """`Tuesday, December 1 at 9:15 AM` (with `today`/`tomorrow` when close)."""
    local = moment.astimezone(tz)
    clock = local.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ")
    if today is not None and local.date() == today:
        return f"today at {clock}"
    if today is not None and local.date() == today + timedelta(days=1):
        return f"tomorrow ({local:%A}) at {clock}"
    return f"{local:%A}, {local:%B} {local.day} at {clock}"


# --- availability ----------------------------------------------------------------------------


class BusyIndex:
    """Booked intervals per provider, merged and sorted, for O(log n) "is this free?" checks.

    Candidate checks are the inner loop of availability (providers x start times x days); a
    linear scan over a busy week made a search take ~100 ms, a bisect keeps it to a few ms.
    """

    def __init__(self, busy: Iterable[Busy]) -> None:
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for b in busy:
            spans[b.provider_id].append((b.starts_at.timestamp(), b.ends_at.timestamp()))
        self._starts: dict[str, list[float]] = {}
        self._ends: dict[str, list[float]] = {}
        for provider_id, items in spans.items():
            merged: list[list[float]] = []
            for start, end in sorted(items):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            self._starts[provider_id] = [m[0] for m in merged]
            self._ends[provider_id] = [m[1] for m in merged]

    def is_free(self, provider_id: str, start: datetime, end: datetime) -> bool:
        starts = self._starts.get(provider_id)
        if not starts:
            return True
        i = bisect_left(starts, end.timestamp())  # the merged spans starting before `end`
        return i == 0 or self._ends[provider_id][i - 1] <= start.timestamp()


def eligible_providers(
    practice: Practice, visit: VisitType, provider_id: str | None
) -> list[Provider]:
    providers = [p for p in practice.providers if p.role in visit.roles]
    if provider_id:
        chosen = practice.provider(provider_id)
        if chosen is None:
            names = ", ".join(f"{p.name} ({p.id})" for p in practice.providers)
            raise SchedulingError(f"unknown provider {provider_id!r}; choose one of: {names}")
        if chosen not in providers:
            raise SchedulingError(
                f"{chosen.name} does not do {visit.name} visits; leave the provider empty or "
                f"choose one of: {', '.join(p.name for p in providers) or 'nobody'}"
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
                if end > span_end:
                    break
                if busy.is_free(provider.id, start, end):
                    by_start[start] = Slot(provider.id, provider.name, visit.id, start, end)
    return [by_start[k] for k in sorted(by_start)]


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
    last = date_to or min(first + timedelta(days=21), horizon)
    if date_to is not None and date_to < today:
        raise SchedulingError(
            f"{date_to.isoformat()} is in the past (today is {today.isoformat()}): "
            "ask for a later date"
        )
    if date_from is not None and date_to is not None and date_to < date_from:
        raise SchedulingError("date_to is before date_from: swap them or give one date")
    if first > horizon:
        raise SchedulingError(
            f"we book at most {practice.booking.horizon_days} days ahead (until "
            f"{horizon.isoformat()}): ask for an earlier date"
        )
    return first, min(last, horizon)


async def find_open_times(
    practice: Practice,
    store: Store,
    visit_type_id: str,
    *,
    now: datetime,
    date_from: date | None = None,
    date_to: date | None = None,
    part_of_day: PartOfDay | str = PartOfDay.ANY,
    provider_id: str | None = None,
    limit: int = MAX_OPTIONS,
) -> list[Slot]:
    """Up to `limit` open times for a visit type in a date range (practice-local dates)."""
    visit = require_visit_type(practice, visit_type_id)
    part = PartOfDay(part_of_day)
    providers, first, last, earliest = _search(
        practice, visit, now, date_from, date_to, provider_id
    )
    found: list[list[Slot]] = []
    for chunk_first, chunk_last in _chunks(first, last):
        window_start = localize_floor(chunk_first, practice.tz)
        window_end = localize_floor(chunk_last + timedelta(days=1), practice.tz)
        busy = BusyIndex(await store.busy([p.id for p in providers], window_start, window_end))
        for day in _days(chunk_first, chunk_last):
            found.append(
                day_slots(practice, visit, providers, day, earliest=earliest, part=part, busy=busy)
            )
            if sum(1 for d in found if d) >= limit:
                return choose(found, limit)
    return choose(found, limit)


def open_times(
    practice: Practice,
    visit: VisitType,
    busy: Sequence[Busy],
    *,
    now: datetime,
    date_from: date | None = None,
    date_to: date | None = None,
    part_of_day: PartOfDay | str = PartOfDay.ANY,
    provider_id: str | None = None,
    limit: int = MAX_OPTIONS,
) -> list[Slot]:
    """The pure form of `find_open_times` over a given list of busy intervals (for tests)."""
    providers, first, last, earliest = _search(
        practice, visit, now, date_from, date_to, provider_id
    )
    part = PartOfDay(part_of_day)
    index = BusyIndex(busy)
    found = [
        day_slots(practice, visit, providers, day, earliest=earliest, part=part, busy=index)
        for day in _days(first, last)
    ]
    return choose(found, limit)


def _search(
    practice: Practice,
    visit: VisitType,
    now: datetime,
    date_from: date | None,
    date_to: date | None,
    provider_id: str | None,
) -> tuple[list[Provider], date, date, datetime]:
    """What both forms search: the eligible providers, the local date range, the earliest start."""
    providers = eligible_providers(practice, visit, provider_id)
    first, last = search_window(practice, now, date_from, date_to)
    earliest = max(now, now + visit.lead_time).astimezone(practice.tz)
    return providers, first, last, earliest


def localize_floor(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of `day` (midnight always exists in practice zones; fall back if not)."""
    return localize(day, time(0), tz) or datetime.combine(day, time(1), tzinfo=tz)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _chunks(first: date, last: date) -> Iterator[tuple[date, date]]:
    """3 days, then a week at a time: a busy practice usually has room within the first few."""
    start, size = first, 3
    while start <= last:
        end = min(start + timedelta(days=size - 1), last)
        yield start, end
        start, size = end + timedelta(days=1), SEARCH_CHUNK_DAYS


# --- booking rules -------------------------------------------------------------------------


def require_visit_type(practice: Practice, visit_type_id: str) -> VisitType:
    visit = practice.visit_type(visit_type_id)
    if visit is None:
        choices = ", ".join(f"{v.id} ({v.name})" for v in practice.visit_types)
        raise SchedulingError(f"unknown visit type {visit_type_id!r}; use one of: {choices}")
    return visit


def check_patient_kind(visit: VisitType, *, is_new_patient: bool) -> None:
    """New-patient visits are for new patients (registered as new, not yet seen: the store
    decides, `Store.is_new_patient`), and existing-patient visits for the others."""
    if visit.patients is PatientKind.NEW and not is_new_patient:
        raise SchedulingError(
            f"{visit.name} is only for new patients; this caller is an existing patient, so "
            "offer a check-up or treatment visit instead"
        )
    if visit.patients is PatientKind.EXISTING and is_new_patient:
        raise SchedulingError(
            f"{visit.name} is for existing patients; a new patient books the new patient exam first"
        )


async def _take(
    practice: Practice, store: Store, offers: Offers, option_id: str, *, now: datetime
) -> Slot:
    """The offered slot for `option_id`, still bookable now; raises NotOffered / SlotGone."""
    slot = offers.get(option_id)
    if slot is None:
        raise NotOffered(
            f"{option_id!r} is not a time offered in this call: call find_open_times and use one "
            "of the option ids it returns"
        )
    visit = require_visit_type(practice, slot.visit_type)
    if slot.start < now + visit.lead_time or slot.start <= now:
        offers.discard(option_id)
        raise SlotGone(
            "that time is now too soon to book",
            await _fresh(practice, store, slot, now),
            "too_soon",
        )
    return slot


async def _fresh(practice: Practice, store: Store, slot: Slot, now: datetime) -> list[Slot]:
    return await find_open_times(practice, store, slot.visit_type, now=now, date_from=slot.day)


async def book_offered(
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    *,
    patient_id: str,
    call_id: str,
    now: datetime,
) -> Appointment:
    """Books an offered slot; `SlotGone` (with fresh options) if someone else just took it."""
    slot = await _take(practice, store, offers, option_id, now=now)
    write = store.book(
        practice_id=practice.id,
        provider_id=slot.provider_id,
        patient_id=patient_id,
        visit_type=slot.visit_type,
        starts_at=slot.start,
        ends_at=slot.end,
        call_id=call_id,
    )
    return await _commit(write, practice, store, offers, option_id, slot, now)


async def reschedule_to_offered(
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    *,
    appointment_id: str,
    patient_id: str,
    call_id: str,
    now: datetime,
) -> tuple[Appointment, Appointment]:
    """Moves the patient's appointment to an offered slot; returns (old, new)."""
    old = await store.get_appointment(appointment_id)
    if old is None or old.patient_id != patient_id:
        raise NotFound("no such appointment for this patient")
    slot = await _take(practice, store, offers, option_id, now=now)
    if slot.visit_type != old.visit_type:
        raise SchedulingError(
            f"that option is for a different visit type; call find_open_times with visit type "
            f"{old.visit_type!r} to move this appointment"
        )
    write = store.reschedule(
        appointment_id,
        patient_id=patient_id,
        provider_id=slot.provider_id,
        starts_at=slot.start,
        ends_at=slot.end,
        call_id=call_id,
    )
    return old, await _commit(write, practice, store, offers, option_id, slot, now)


async def _commit(
    write: Awaitable[Appointment],
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    slot: Slot,
    now: datetime,
) -> Appointment:
    """Runs a booking write; a slot the database refuses as taken leaves the offers for good."""
    try:
        result = await write
    except SlotTaken:
        offers.discard(option_id)
        raise SlotGone(
            "that time was just taken", await _fresh(practice, store, slot, now)
        ) from None
    offers.mark_booked(option_id)
    return result


def is_late_cancellation(practice: Practice, appointment: Appointment, now: datetime) -> bool:
    """Whether cancelling now falls inside the practice's notice period (the policy may charge)."""
    notice = timedelta(hours=practice.policies.cancellation_notice_hours)
    return appointment.starts_at - now < notice
