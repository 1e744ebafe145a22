"""Open times of one NexHealth location, kept locally so a search costs no request when fresh.

NexHealth computes availability itself (`GET /available_slots`: working hours, minus schedule
blocks, minus what the PMS has booked, per operatory), so the mirror does not re-derive it: it
asks for 5-minute slots every 5 minutes for every mapped provider over the days held, and keeps
their union as each provider's open spans per day. Their complement is the `Book` port's busy
time; practice.toml's hours and closures still bound what is offered (availability.py). One
request covers every provider and up to `MAX_DAYS` days; a day is read again once older than
`refresh_seconds`, and `forget` drops a day the book has just written into.

What a 5-minute grid cannot say is whether a longer visit fits in one chair: the book asks
NexHealth for that start time with the visit's own length right before writing.
"""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from receptionist.domain.books import NexHealth
from receptionist.pms.nexhealth.client import NexHealthClient, Params, Row

GRID_MINUTES = 5
MAX_DAYS = 31  # days per request: NexHealth answers large ranges slowly (Available Slots page)

Span = tuple[datetime, datetime]


def parse_time(value: object) -> datetime:
    """NexHealth's ISO 8601 times (with an offset; a trailing Z is UTC)."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def union(spans: list[Span]) -> list[Span]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def subtract(window: Span, spans: list[Span]) -> list[Span]:
    """`window` minus the sorted, disjoint `spans`."""
    start, end = window
    result: list[Span] = []
    for s, e in spans:
        if e <= start or s >= end:
            continue
        if s > start:
            result.append((start, s))
        start = max(start, e)
    if start < end:
        result.append((start, end))
    return result


class SlotsMirror:
    """Every mapped provider's open spans by day, from NexHealth's available slots."""

    def __init__(
        self,
        client: NexHealthClient,
        config: NexHealth,
        tz: ZoneInfo,
        *,
        monotonic: Callable[[], float] = clock.monotonic,
    ) -> None:
        self._client, self._config, self._tz, self._monotonic = client, config, tz, monotonic
        self._lock = asyncio.Lock()
        self._open: dict[tuple[int, date], list[Span]] = {}
        self._read_at: dict[date, float] = {}

    def slot_params(self, first: date, days: int, pids: list[int], minutes: int) -> Params:
        """The `/available_slots` query: this location, these providers, `minutes` long."""
        params: Params = {
            "start_date": first.isoformat(),
            "days": days,
            "lids": [self._config.location_id],
            "pids": pids,
            "slot_length": minutes,
            "slot_interval": GRID_MINUTES,
        }
        if self._config.operatories:
            params["operatory_ids"] = list(self._config.operatories)
        return params

    async def ensure(self, first: date, last: date) -> None:
        """Holds `first`..`last`, each day read within `refresh_seconds`."""
        async with self._lock:
            now = self._monotonic()
            held = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            refresh = self._config.refresh_seconds
            stale = [d for d in held if d not in self._read_at or now - self._read_at[d] >= refresh]
            while stale:
                start = stale[0]
                days = min(MAX_DAYS, (stale[-1] - start).days + 1)
                await self._load(start, days)
                stale = [d for d in stale if d >= start + timedelta(days=days)]

    async def _load(self, first: date, days: int) -> None:
        pids = sorted(set(self._config.providers.values()))
        data = await self._client.get(
            "available_slots", **self.slot_params(first, days, pids, GRID_MINUTES)
        )
        spans: dict[tuple[int, date], list[Span]] = {}
        for entry in data if isinstance(data, list) else []:
            pid = int(entry.get("pid", 0))
            for slot in entry.get("slots") or []:
                start = parse_time(slot["time"]).astimezone(self._tz)
                end = parse_time(slot["end_time"]).astimezone(self._tz)
                spans.setdefault((pid, start.date()), []).append((start, end))
        read_at = self._monotonic()
        for n in range(days):
            day = first + timedelta(days=n)
            for pid in pids:
                self._open[(pid, day)] = union(spans.get((pid, day), []))
            self._read_at[day] = read_at

    def forget(self, day: date) -> None:
        """`day` changed (we wrote into it): the next search reads it again."""
        self._read_at.pop(day, None)

    def closed(self, pid: int, start: datetime, end: datetime) -> list[Span]:
        """When the provider cannot be booked within [start, end), day by day."""
        result: list[Span] = []
        day = start.astimezone(self._tz).date()
        last = end.astimezone(self._tz).date()
        while day <= last:
            midnight = datetime.combine(day, time(0), tzinfo=self._tz)
            window = (max(start, midnight), min(end, midnight + timedelta(days=1)))
            if window[0] < window[1]:
                result += subtract(window, self._open.get((pid, day), []))
            day += timedelta(days=1)
        return result


def first_operatory(data: object, pid: int, start: datetime) -> int | None:
    """The operatory NexHealth offers `pid` at exactly `start` in an `/available_slots`
    answer, or None when that time is not offered."""
    for entry in data if isinstance(data, list) else []:
        if int(entry.get("pid", 0)) != pid:
            continue
        for slot in entry.get("slots") or []:
            if parse_time(slot["time"]) == start:
                op = slot.get("operatory_id")
                return int(op) if op is not None else 0
    return None


__all__ = ["Row", "SlotsMirror", "first_operatory", "parse_time", "subtract", "union"]
