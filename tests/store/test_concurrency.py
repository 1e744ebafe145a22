"""Many callers, one time: the database lets exactly one booking through, on both backends.

Each attempt uses its own `Store` (its own engine and connection), like separate worker processes.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from receptionist.domain.scheduling import Offers, SlotGone, book_offered, find_open_times
from receptionist.store import Outbox, Store
from receptionist.store.models import BOOKED
from tests.store.practice_fixture import test_practice as make_practice

ATTEMPTS = 24
NOW = datetime(2027, 3, 1, 7, 0)  # a Monday, before opening


async def test_concurrent_bookings_of_one_slot_exactly_one_wins(db_url: str, tmp_path):
    practice = make_practice()
    now = NOW.replace(tzinfo=practice.tz)
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    patients = [
        (await setup.register_patient("lakeside", f"Patient {i}", date(1990, 1, 1 + i % 28), ""))[
            0
        ].id
        for i in range(ATTEMPTS)
    ]
    [slot, *_] = await find_open_times(practice, setup, "checkup", now=now)
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(ATTEMPTS)]
    offers = []
    for _ in range(ATTEMPTS):
        o = Offers()
        [(option_id, _slot)] = o.add([slot])
        offers.append((o, option_id))

    async def attempt(i: int):
        o, option_id = offers[i]
        try:
            return await book_offered(
                practice,
                stores[i],
                o,
                option_id,
                patient_id=patients[i],
                call_id=f"CA_{i}",
                now=now,
            )
        except SlotGone as gone:
            return gone

    try:
        results = await asyncio.gather(*(attempt(i) for i in range(ATTEMPTS)))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    winners = [r for r in results if not isinstance(r, SlotGone)]
    losers = [r for r in results if isinstance(r, SlotGone)]
    assert len(winners) == 1, results
    assert len(losers) == ATTEMPTS - 1
    for gone in losers:
        assert str(gone) == "that time was just taken"
        assert gone.fresh, "the caller must get fresh options"
        assert all(f.start != slot.start or f.provider_id != slot.provider_id for f in gone.fresh)
    booked = await setup.appointments_between("lakeside", slot.start, slot.end)
    assert [(a.status, a.patient_id) for a, _ in booked] == [(BOOKED, winners[0].patient_id)]
    await setup.close()


async def test_concurrent_registration_of_one_person_creates_one_patient(db_url: str, tmp_path):
    stores = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(8)]
    try:
        results = await asyncio.gather(
            *(s.register_patient("lakeside", "Ann Lee", date(1980, 1, 2), "") for s in stores)
        )
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert len({p.id for p, _ in results}) == 1
    assert sum(created for _, created in results) == 1
