"""`find_open_times` over the store gives what the pure `open_times` gives over the same
bookings, for hundreds of random searches, on SQLite and PostgreSQL.

The store-backed search reads the book a few days at a time and stops as soon as it has enough
(availability.py `Search.reads`), and the store hands the rows back its own fast way
(store/appointments.py `_busy_where`); the pure form takes every booking at once, as built
here in Python. Any difference in the days read, the windows, the early stop or the times'
conversion shows up as a different answer to some search. The book is random but seeded:
odd start times (quarter past, seconds, microseconds), long visits, cancelled ones, patients
with several visits, across the spring-forward change (2027-03-14, America/Chicago).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from receptionist.appointments import Refused, find_open_times, open_times
from receptionist.appointments.availability import PartOfDay
from receptionist.domain.practice import Practice, parse_practice
from receptionist.store import Busy, Store
from receptionist.store.models import Appointment, Patient
from tests.support.profiles import SCHEDULING

FIRST_DAY = date(2027, 3, 1)  # a Monday; the clocks go forward on the 14th
DAYS = 28
SEARCHES = 300


def _practice() -> Practice:
    """The scheduling profile (two dentists, a hygienist, a lunch break, closures) with a
    closed afternoon, a 30-minute step, a long visit type and no lead time on one."""
    profile = {
        **SCHEDULING,
        "closures": [
            *SCHEDULING["closures"],
            {"date": "2027-03-16", "hours": ["15:00", "17:00"], "reason": "staff meeting"},
        ],
        "booking": {"step_minutes": 30, "horizon_days": 60},
        "visit_types": [
            *SCHEDULING["visit_types"],
            {"id": "long", "name": "crown", "duration_minutes": 90, "roles": ["dentist"]},
            {
                "id": "quick",
                "name": "check",
                "duration_minutes": 15,
                "roles": ["dentist", "hygienist"],
                "lead_time_hours": 0,
            },
        ],
    }
    return parse_practice(profile)


def _book_rows(practice: Practice, rng: random.Random, patients: list[str]) -> list[dict]:
    """Random visits for every provider on every day, none overlapping for a provider or a
    patient (the database refuses those): each half hour is booked with some chance, with a
    visit of 15 minutes to 2 hours starting on or just after it."""
    rows: list[dict] = []
    busy_until: dict[str, datetime] = {}  # provider or patient -> the end of their last visit
    tz = practice.tz
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for provider in practice.providers:
            clock = datetime.combine(day, datetime.min.time(), tzinfo=tz).replace(hour=7)
            while clock.hour < 18:
                clock += timedelta(minutes=30)
                if rng.random() > 0.6:
                    continue
                start = clock.astimezone(UTC) + rng.choice(
                    [timedelta(0)] * 6
                    + [timedelta(minutes=15), timedelta(seconds=30, microseconds=250)]
                )
                end = start + timedelta(minutes=rng.choice([15, 30, 30, 60, 90, 120]))
                free = [p for p in patients if busy_until.get(p, start) <= start]
                if busy_until.get(provider.id, start) > start or not free:
                    continue
                patient = rng.choice(free)
                status = "cancelled" if rng.random() < 0.1 else "booked"
                if status == "booked":
                    busy_until[provider.id] = busy_until[patient] = end
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "practice_id": practice.id,
                        "provider_id": provider.id,
                        "patient_id": patient,
                        "visit_type": "exam",
                        "starts_at": start,
                        "ends_at": end,
                        "status": status,
                        "call_id": "",
                        "created_at": start,
                    }
                )
    return rows


def _search(rng: random.Random, practice: Practice, rows: list[dict]) -> dict:
    """A random search: visit type, moment, range, part of the day, provider, limit, and
    sometimes a patient (moving one of their visits)."""
    visit = rng.choice(practice.visit_types)
    now = datetime.combine(
        FIRST_DAY + timedelta(days=rng.randrange(DAYS - 3)),
        datetime.min.time(),
        tzinfo=practice.tz,
    ) + timedelta(minutes=rng.randrange(0, 24 * 60, 7))
    today = now.date()
    search: dict = {"visit": visit.id, "now": now}
    if rng.random() < 0.7:
        search["date_from"] = today + timedelta(days=rng.randrange(-1, 10))
    if rng.random() < 0.4:
        search["date_to"] = today + timedelta(days=rng.randrange(0, 20))
    search["part_of_day"] = rng.choice(list(PartOfDay))
    if rng.random() < 0.3:
        search["provider_id"] = rng.choice([p.id for p in practice.providers])
    search["limit"] = rng.choice([1, 2, 3, 3, 3, 5, 8])
    if rng.random() < 0.4:
        visit_row = rng.choice(rows)
        search["patient_id"] = visit_row["patient_id"]
        if rng.random() < 0.5 and visit_row["status"] == "booked":
            search["moving"] = visit_row["id"]
    return search


def _busy(rows: list[dict], patient: str | None = None, moving: str | None = None) -> list[Busy]:
    """The booked visits among `rows` (of `patient` only, when given, but `moving`)."""
    return [
        Busy(r["provider_id"], r["starts_at"], r["ends_at"])
        for r in rows
        if r["status"] == "booked"
        and (patient is None or r["patient_id"] == patient)
        and r["id"] != moving
    ]


async def test_store_search_matches_the_pure_search_on_random_books(store: Store):
    practice = _practice()
    rng = random.Random(22)
    patients = [
        {
            "id": str(uuid.uuid4()),
            "practice_id": practice.id,
            "full_name": f"Patient {i}",
            "name_key": f"patient {i}",
            "date_of_birth": date(1960, 1, 1) + timedelta(days=i),
            "phone": "unknown",
            "created_at": datetime(2027, 1, 1, tzinfo=UTC),
        }
        for i in range(12)  # few patients: most have several visits
    ]
    rows = _book_rows(practice, rng, [p["id"] for p in patients])
    async with store.engine.begin() as conn:
        await conn.execute(insert(Patient.__table__), patients)
        await conn.execute(insert(Appointment.__table__), rows)
    everyone = _busy(rows)

    compared = offered = 0
    for _ in range(SEARCHES):
        search = _search(rng, practice, rows)
        visit, now = search.pop("visit"), search.pop("now")
        patient, moving = search.pop("patient_id", None), search.pop("moving", None)
        own = _busy(rows, patient, moving)
        try:
            expected = open_times(
                practice,
                practice.visit_type(visit),
                everyone,
                now=now,
                patient_busy=own if patient else (),
                **search,
            )
        except Refused as refused:
            expected = refused.reason
        try:
            got = await find_open_times(
                practice,
                store.appointments,
                visit,
                now=now,
                patient_id=patient,
                moving=moving,
                **search,
            )
        except Refused as refused:
            got = refused.reason
        assert got == expected, (visit, now, patient, moving, search)
        compared += 1
        offered += isinstance(got, list) and bool(got)
    assert compared == SEARCHES
    assert offered > SEARCHES // 2  # most searches found times: the book is not all full
