"""Many callers, one time: the database lets exactly one booking through, on both backends.

Each attempt uses its own `Store` (its own engine and connection), like separate worker processes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from receptionist.appointments import (
    Appointments,
    Caller,
    Offers,
    Reason,
    Refused,
    find_open_times,
)
from receptionist.store import Outbox, Store
from receptionist.store.models import AppointmentStatus
from tests.support.profiles import LAKESIDE
from tests.support.profiles import practice as make_practice
from tools._refusals import rule

ATTEMPTS = 24
NOW = datetime(2027, 3, 1, 7, 0)  # a Monday, before opening


async def test_concurrent_bookings_of_one_slot_exactly_one_wins(db_url: str, tmp_path):
    practice = make_practice()
    now = NOW.replace(tzinfo=practice.tz)
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    patients = [
        (
            await setup.appointments.register_patient(
                "lakeside", f"Patient {i}", date(1990, 1, 1 + i % 28), ""
            )
        )[0].id
        for i in range(ATTEMPTS)
    ]
    [slot, *_] = await find_open_times(practice, setup.appointments, "checkup", now=now)
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(ATTEMPTS)]
    offers = []
    for _ in range(ATTEMPTS):
        o = Offers()
        [(option_id, _slot)] = o.add([slot])
        offers.append((o, option_id))

    async def attempt(i: int):
        o, option_id = offers[i]
        try:
            caller = Caller(patients[i], f"CA_{i}", o)
            return (
                await Appointments(stores[i].appointments, practice).book(
                    caller, option_id, now=now
                )
            ).appointment
        except Refused as gone:
            return gone

    try:
        results = await asyncio.gather(*(attempt(i) for i in range(ATTEMPTS)))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    winners = [r for r in results if not isinstance(r, Refused)]
    losers = [r.refusal for r in results if isinstance(r, Refused)]
    assert len(winners) == 1, results
    assert len(losers) == ATTEMPTS - 1
    for gone in losers:
        assert gone.reason is Reason.TAKEN
        assert gone.fresh, "the caller must get fresh options"
        assert all(f.start != slot.start or f.provider_id != slot.provider_id for f in gone.fresh)
    booked = await setup.appointments.appointments_between("lakeside", slot.start, slot.end)
    assert [(a.status, a.patient_id) for a, _ in booked] == [
        (AppointmentStatus.BOOKED, winners[0].patient_id)
    ]
    await setup.close()


async def test_concurrent_registration_of_one_person_creates_one_patient(db_url: str, tmp_path):
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(8)]
    try:
        results = await asyncio.gather(
            *(
                s.appointments.register_patient("lakeside", "Ann Lee", date(1980, 1, 2), "")
                for s in stores
            )
        )
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert len({p.id for p, _ in results}) == 1
    assert sum(created for _, created in results) == 1


# --- the booking caps under concurrency ----------------------------------------------------------
# One turn's tool calls run concurrently (a model may call book_appointment six times at once), and
# two calls or two staff screens may book for one patient at the same moment: every cap must hold
# in the database's final state, not just when the bookings come one after another.

NEW_EXAM = {
    "id": "new-exam",
    "name": "new patient exam",
    "duration_minutes": 30,
    "roles": ["dentist"],
    "patients": "new",
    "lead_time_hours": 1,
}


def _capped(**booking: int):
    return make_practice(
        booking={"max_per_call": 20, "max_upcoming_per_patient": 50, **booking},
        visit_types=[*LAKESIDE["visit_types"], NEW_EXAM],
    )


async def _times(practice, store: Store, visit: str, count: int, now: datetime):
    """`count` open times on different days (so one patient may hold them all)."""
    slots = await find_open_times(practice, store.appointments, visit, now=now, limit=count)
    assert len({s.day for s in slots}) == count, slots
    return slots


async def _book_all(practice, attempts):
    """Runs (store, offers, option_id, patient_id, call_id) bookings at once; returns the
    refusals' messages (the bookings themselves are read back from the database)."""

    async def one(store, offers, option_id, patient_id, call_id):
        try:
            await Appointments(store.appointments, practice).book(
                Caller(patient_id, call_id, offers), option_id, now=NOW.replace(tzinfo=practice.tz)
            )
        except Refused as refused:  # phrased as the model reads it
            return f"{refused.reason}: {rule(refused.refusal)}"
        return None

    results = await asyncio.gather(*(one(*a) for a in attempts))
    return [r for r in results if r is not None]


async def _booked_for(store: Store, patient_id: str) -> list:
    return await store.appointments.upcoming_for_patient(patient_id, after=NOW.replace(tzinfo=UTC))


async def test_parallel_bookings_in_one_call_stop_at_the_per_call_cap(store: Store):
    practice = _capped(max_per_call=3)
    now = NOW.replace(tzinfo=practice.tz)
    ann, _ = await store.appointments.register_patient("lakeside", "Ann Lee", date(1980, 2, 29), "")
    offers = Offers()  # one call: one set of offers, six book_appointment calls in one turn
    chosen = offers.add(await _times(practice, store, "exam", 6, now))
    refusals = await _book_all(
        practice, [(store, offers, option_id, ann.id, "CA_1") for option_id, _ in chosen]
    )
    assert len(await _booked_for(store, ann.id)) == 3
    assert len(refusals) == 3
    assert all(r.startswith("call_limit:") for r in refusals), refusals
    assert all("the most one call can book" in r for r in refusals), refusals


async def test_two_calls_from_one_new_patient_book_one_new_patient_exam(db_url: str, tmp_path):
    practice = _capped()
    now = NOW.replace(tzinfo=practice.tz)
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    carla, _ = await setup.appointments.register_patient(
        "lakeside", "Carla Diaz", date(1992, 7, 14), "", new_patient=True
    )
    slots = await _times(practice, setup, "new-exam", 4, now)
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in slots]  # four processes
    attempts = []
    for i, (s, slot) in enumerate(zip(stores, slots, strict=True)):
        offers = Offers()
        [(option_id, _)] = offers.add([slot])
        attempts.append((s, offers, option_id, carla.id, f"CA_{i}"))
    try:
        refusals = await _book_all(practice, attempts)
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    booked = await _booked_for(setup, carla.id)
    await setup.close()
    assert [a.visit_type for a in booked] == ["new-exam"]
    assert len(refusals) == 3
    assert all(r.startswith("second_new_patient_visit:") for r in refusals), refusals
    assert all("already has a new patient exam booked" in r for r in refusals), refusals


async def test_concurrent_bookings_stop_at_the_per_patient_cap(db_url: str, tmp_path):
    practice = _capped(max_upcoming_per_patient=2)
    now = NOW.replace(tzinfo=practice.tz)
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    ann, _ = await setup.appointments.register_patient("lakeside", "Ann Lee", date(1980, 2, 29), "")
    slots = await _times(practice, setup, "exam", 6, now)
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in slots]
    attempts = []
    for i, (s, slot) in enumerate(zip(stores, slots, strict=True)):
        offers = Offers()  # six calls (or screens), each with its own offer
        [(option_id, _)] = offers.add([slot])
        attempts.append((s, offers, option_id, ann.id, f"CA_{i}"))
    try:
        refusals = await _book_all(practice, attempts)
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    booked = await _booked_for(setup, ann.id)
    await setup.close()
    assert len(booked) == 2
    assert len(refusals) == 4
    assert all(r.startswith("upcoming_limit:") for r in refusals), refusals
    assert all("2 upcoming visits" in r for r in refusals), refusals
