"""How often a search reads the book: each read is a round trip and a transaction, the larger part
of a search's time (issue 22 §3), so a full book must not cost one read per day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from receptionist.appointments import find_open_times, open_times
from receptionist.domain.practice import parse_practice
from receptionist.store import Busy
from tests.support.profiles import WEEKDAYS

PRACTICE = parse_practice(
    {
        "id": "full",
        "name": "Full Dental",
        "timezone": "America/Chicago",
        "region": "US",
        "hours": {d: [["08:00", "17:00"]] for d in WEEKDAYS},
        "providers": [{"id": "dr-a", "name": "Dr. A", "role": "dentist"}],
        "visit_types": [
            {"id": "exam", "name": "exam", "duration_minutes": 30, "roles": ["dentist"]},
        ],
        "booking": {"horizon_days": 90},
    }
)
MONDAY = date(2027, 3, 1)


class CountingBook:
    """An in-memory book over given busy intervals that counts the reads of providers' time."""

    def __init__(self, busy: list[Busy]) -> None:
        self._busy = busy
        self.reads = 0

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        self.reads += 1
        ids = set(provider_ids)
        overlapping = (b for b in self._busy if b.starts_at < end and start < b.ends_at)
        return [b for b in overlapping if b.provider_id in ids]

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        return []


def full_book(weeks: int, room_every: int) -> list[Busy]:
    """Every working day booked from opening to closing, except every `room_every`-th working
    day, which keeps its last half hour free."""
    busy, working = [], 0
    for offset in range(weeks * 7):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        working += 1
        opens = datetime.combine(day, time(8), tzinfo=PRACTICE.tz)
        closes = datetime.combine(day, time(17), tzinfo=PRACTICE.tz)
        if working % room_every == 0:
            closes -= timedelta(minutes=30)
        busy.append(Busy("dr-a", opens, closes))
    return busy


async def test_a_full_book_with_room_one_day_in_three_is_read_twice_not_once_a_day():
    busy = full_book(weeks=6, room_every=3)
    book = CountingBook(busy)
    now = datetime.combine(MONDAY, time(7), tzinfo=PRACTICE.tz)
    found = await find_open_times(
        PRACTICE, book, "exam", now=now, date_from=MONDAY, date_to=MONDAY + timedelta(days=30)
    )
    expected = open_times(
        PRACTICE,
        PRACTICE.visit_types[0],
        busy,
        now=now,
        date_from=MONDAY,
        date_to=MONDAY + timedelta(days=30),
    )
    assert [s.start.date() for s in found] == [
        date(2027, 3, 3),
        date(2027, 3, 8),
        date(2027, 3, 11),
    ]
    assert found == expected
    # The first read (four working days: three options and a spare) finds one day with room:
    # the next reads the two missing days at that rate (eight working days), not one or two
    # days at a time (five reads before).
    assert book.reads == 2
