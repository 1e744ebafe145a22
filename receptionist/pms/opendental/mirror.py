"""A local mirror of what availability needs from one Open Dental office, and the open-times rule.

A caller must not wait on the office's API for every question, so the mirror keeps operatories,
schedules (provider schedules and blockouts) and appointments for the days asked about, and
refreshes them only when stale:

- **appointments** incrementally: `GET /appointments?DateTStamp=<the last serverDateTime>` returns
  only what was added or changed since (a move out of the window, a break, a new booking at the
  desk), per the appointments page. Two seconds of overlap cover rows stamped in the same second
  as the last answer (DateTStamp has whole seconds); rows are keyed by AptNum, so a row read
  twice is the same row.
- **schedules** by re-reading the days held (the schedules page documents no DateTStamp filter),
  less often (`schedules_refresh_seconds`).

Open times follow Open Dental's guide ("API Guide - Finding Appointment Openings"): each
provider schedule, in each of its operatories, minus the blockouts on that operatory, minus the
operatory's appointments (AptDateTime plus `Pattern` length, 5 minutes a character), skipping
Broken, UnschedList and Planned ones (and patient notes). One rule of ours on top: a provider is
never offered at a time they already have an appointment in another operatory (an appointment
occupies its hygienist when it has one, else its provider), the `Book` port's "no overlap".
"""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from receptionist.domain.books import MINUTES_PER_PATTERN_CHAR, OpenDental
from receptionist.pms.opendental.client import (
    DATE,
    DATETIME,
    OpenDentalClient,
    Row,
    od_datetime,
    parse_datetime,
)

NOT_BLOCKING = frozenset({"Broken", "UnschedList", "Planned", "PtNote", "PtNoteCompleted"})
STAMP_OVERLAP = timedelta(seconds=2)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class OdAppointment:
    """The fields of an Open Dental appointment that availability and the book use."""

    num: int
    pat: int
    op: int
    prov: int
    hyg: int
    start: datetime  # aware, the office's zone
    end: datetime
    status: str
    note: str
    appointment_type: int
    stamp: str

    @property
    def blocks(self) -> bool:
        return self.status not in NOT_BLOCKING

    @property
    def occupant(self) -> int:
        """Whose time it takes: the hygienist when there is one, else the provider."""
        return self.hyg or self.prov

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end

    @classmethod
    def from_row(cls, row: Row, tz: ZoneInfo) -> OdAppointment:
        start = parse_datetime(str(row["AptDateTime"])).replace(tzinfo=tz)
        minutes = len(str(row.get("Pattern", ""))) * MINUTES_PER_PATTERN_CHAR
        return cls(
            num=int(row["AptNum"]),
            pat=int(row["PatNum"]),
            op=int(row.get("Op", 0)),
            prov=int(row.get("ProvNum", 0)),
            hyg=int(row.get("ProvHyg", 0)),
            start=start,
            end=start + timedelta(minutes=minutes),
            status=str(row.get("AptStatus", "")),
            note=str(row.get("Note", "")),
            appointment_type=int(row.get("AppointmentTypeNum", 0)),
            stamp=str(row.get("DateTStamp", "")),
        )


@dataclass(frozen=True)
class Schedule:
    day: date
    start: time
    stop: time
    kind: str  # Provider | Blockout (Practice and Employee rows are not kept)
    prov: int
    ops: tuple[int, ...]

    @classmethod
    def from_row(cls, row: Row) -> Schedule:
        ops = tuple(int(o) for o in str(row.get("operatories", "")).split(",") if o.strip())
        return cls(
            day=datetime.strptime(str(row["SchedDate"]), DATE).date(),
            start=time.fromisoformat(str(row["StartTime"])),
            stop=time.fromisoformat(str(row["StopTime"])),
            kind=str(row["SchedType"]),
            prov=int(row.get("ProvNum", 0)),
            ops=ops,
        )


def subtract(spans: Iterable[Span], taken: Iterable[Span]) -> list[Span]:
    """`spans` minus `taken`, sorted."""
    result = sorted(spans)
    for t_start, t_end in sorted(taken):
        kept: list[Span] = []
        for start, end in result:
            if t_end <= start or end <= t_start:
                kept.append((start, end))
                continue
            if start < t_start:
                kept.append((start, t_start))
            if t_end < end:
                kept.append((t_end, end))
        result = kept
    return result


def union(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


class Mirror:
    """One office's schedules and appointments for the days asked about, kept fresh."""

    def __init__(
        self,
        client: OpenDentalClient,
        config: OpenDental,
        tz: ZoneInfo,
        *,
        monotonic: Callable[[], float] = clock.monotonic,
    ) -> None:
        self._client, self._config, self._tz, self._monotonic = client, config, tz, monotonic
        self._lock = asyncio.Lock()
        self.operatories: dict[int, Row] = {}
        self.appointments: dict[int, OdAppointment] = {}
        self._on_day: dict[date, set[int]] = {}  # AptNums by local start date: searches scan a day
        self._schedules: dict[date, list[Schedule]] = {}
        self._first: date | None = None
        self._last: date | None = None
        self._stamp = ""  # the serverDateTime of the last appointments read
        self._appointments_at = 0.0
        self._schedules_at = 0.0

    # --- keeping it current ----------------------------------------------------------------------

    async def ensure(self, first: date, last: date) -> None:
        """Holds `first`..`last`, refreshed if older than the configured ages."""
        async with self._lock:
            if not self.operatories:
                rows, _ = await self._client.get_all("operatories")
                self.operatories = {int(r["OperatoryNum"]): r for r in rows}
            if self._first is None or self._last is None:
                await self._load(first, last)
                self._first, self._last = first, last
                self._stamp_now()
                return
            if first < self._first:
                await self._load(first, self._first - timedelta(days=1))
                self._first = first
            if last > self._last:
                await self._load(self._last + timedelta(days=1), last)
                self._last = last
            now = self._monotonic()
            if now - self._schedules_at >= self._config.schedules_refresh_seconds:
                await self._load_schedules(self._first, self._last)
                self._schedules_at = now
            if now - self._appointments_at >= self._config.refresh_seconds:
                await self._changed_appointments()

    def _stamp_now(self) -> None:
        self._appointments_at = self._schedules_at = self._monotonic()

    async def _load(self, first: date, last: date) -> None:
        await self._load_schedules(first, last)
        rows, server_time = await self._client.get_all(
            "appointments",
            dateStart=first.strftime(DATE),
            dateEnd=last.strftime(DATE),
            **self._clinic(),
        )
        self.upsert(rows)
        self._advance(server_time)

    async def _load_schedules(self, first: date, last: date) -> None:
        rows, _ = await self._client.get_all(
            "schedules", dateStart=first.strftime(DATE), dateEnd=last.strftime(DATE)
        )
        fresh: dict[date, list[Schedule]] = {}
        day = first
        while day <= last:
            fresh[day] = []
            day += timedelta(days=1)
        for row in rows:
            if row.get("SchedType") in ("Provider", "Blockout"):
                schedule = Schedule.from_row(row)
                fresh.setdefault(schedule.day, []).append(schedule)
        self._schedules.update(fresh)

    async def _changed_appointments(self) -> None:
        if not self._stamp:  # nothing read carried a server time yet: read the window again
            assert self._first is not None and self._last is not None
            await self._load(self._first, self._last)
        else:
            since = parse_datetime(self._stamp) - STAMP_OVERLAP
            rows, server_time = await self._client.get_all(
                "appointments", DateTStamp=od_datetime(since), **self._clinic()
            )
            self.upsert(rows)
            self._advance(server_time)
        self._appointments_at = self._monotonic()

    def _advance(self, server_time: str) -> None:
        if server_time and server_time > self._stamp:
            self._stamp = server_time

    def _clinic(self) -> dict[str, str | int]:
        return {"ClinicNum": self._config.clinic} if self._config.clinic else {}

    def upsert(self, rows: Iterable[Row]) -> list[OdAppointment]:
        """Takes appointments read anywhere (a pre-write check, a patient's list) into the
        mirror: what the book learned is what the next search sees."""
        read = [OdAppointment.from_row(r, self._tz) for r in rows]
        for appointment in read:
            before = self.appointments.get(appointment.num)
            if before is not None:
                self._on_day.get(before.start.date(), set()).discard(before.num)
            self.appointments[appointment.num] = appointment
            self._on_day.setdefault(appointment.start.date(), set()).add(appointment.num)
        return read

    def on_day(self, day: date) -> list[OdAppointment]:
        """The appointments that may overlap `day` (starting on it or the evening before)."""
        nums = self._on_day.get(day, set()) | self._on_day.get(day - timedelta(days=1), set())
        return [self.appointments[n] for n in nums]

    def take_schedules(self, day: date, rows: Iterable[Row]) -> None:
        self._schedules[day] = [
            Schedule.from_row(r) for r in rows if r.get("SchedType") in ("Provider", "Blockout")
        ]

    # --- open times ------------------------------------------------------------------------------

    def _usable(self, op: int) -> bool:
        row = self.operatories.get(op)
        if row is None or str(row.get("IsHidden", "false")) == "true":
            return False
        if self._config.clinic and int(row.get("ClinicNum", 0)) != self._config.clinic:
            return False
        return not self._config.operatories or op in self._config.operatories

    def _default_ops(self, prov: int) -> tuple[int, ...]:
        """A schedule naming no operatory: the provider's own chairs (ProvDentist/Hygienist)."""
        return tuple(
            num
            for num, row in self.operatories.items()
            if prov in (int(row.get("ProvDentist", 0)), int(row.get("ProvHygienist", 0)))
        )

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self._tz)

    def open_by_operatory(
        self, prov: int, day: date, *, ignore: int | None = None
    ) -> dict[int, list[Span]]:
        """The provider's open spans on `day`, per operatory. `ignore`: an appointment that
        does not count (the one being moved)."""
        schedules = self._schedules.get(day, [])
        spans: dict[int, list[Span]] = {}
        for s in schedules:
            if s.kind != "Provider" or s.prov != prov:
                continue
            for op in s.ops or self._default_ops(prov):
                if self._usable(op):
                    spans.setdefault(op, []).append((self._at(day, s.start), self._at(day, s.stop)))
        if not spans:
            return {}
        start_of_day, end_of_day = self._at(day, time(0)), self._at(day, time(23, 59, 59))
        todays = self.on_day(day)
        own = [
            (a.start, a.end)
            for a in todays
            if a.blocks
            and a.occupant == prov
            and a.num != ignore
            and a.overlaps(start_of_day, end_of_day)
        ]
        result: dict[int, list[Span]] = {}
        for op, op_spans in spans.items():
            blockouts = [
                (self._at(day, s.start), self._at(day, s.stop))
                for s in schedules
                if s.kind == "Blockout" and (not s.ops or op in s.ops)
            ]
            booked = [
                (a.start, a.end)
                for a in todays
                if a.blocks
                and a.op == op
                and a.num != ignore
                and a.overlaps(start_of_day, end_of_day)
            ]
            free = subtract(union(op_spans), [*blockouts, *booked, *own])
            if free:
                result[op] = free
        return result

    def fitting_operatory(
        self, prov: int, start: datetime, end: datetime, *, ignore: int | None = None
    ) -> int | None:
        """An operatory where the provider is open for the whole of [start, end), or None."""
        local = start.astimezone(self._tz)
        for op, spans in sorted(self.open_by_operatory(prov, local.date(), ignore=ignore).items()):
            if any(s <= local and end.astimezone(self._tz) <= e for s, e in spans):
                return op
        return None

    def closed(self, prov: int, start: datetime, end: datetime) -> list[Span]:
        """When the provider cannot be booked within [start, end): the complement of their
        open time (every operatory together), day by day, as the `Book` port's busy times."""
        first = start.astimezone(self._tz).date()
        last = end.astimezone(self._tz).date()
        result: list[Span] = []
        day = first
        while day <= last:
            window = (
                max(start, self._at(day, time(0))),
                min(end, self._at(day + timedelta(days=1), time(0))),
            )
            if window[0] < window[1]:
                open_spans = union(
                    s for spans in self.open_by_operatory(prov, day).values() for s in spans
                )
                result += subtract([window], open_spans)
            day += timedelta(days=1)
        return result


__all__ = ["DATETIME", "Mirror", "OdAppointment", "Schedule", "subtract", "union"]
