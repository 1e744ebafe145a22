"""The desk's changes under real concurrency, on SQLite and PostgreSQL (issue 23): two screens
undoing one cancellation at once book the time once; a walk-in booked inside the notice on two
screens for the same time is booked once. Final state is asserted, never timings."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import select

from receptionist.store.models import Appointment
from tests.support.web import add_user, csrf_of, sign_in
from tests.web.test_today import appointments, at, patient

MONDAY = date(2030, 3, 4)  # the rig's day: 08:00 in Chicago


async def _screens(rig, count: int = 2):
    clients = []
    for i in range(count):
        await add_user(rig.store, f"desk{i}", full_name=f"Desk {i}")
        client = rig.client_for()
        await sign_in(client, f"desk{i}")
        clients.append((client, await csrf_of(client)))
    return clients


async def test_two_screens_undoing_one_cancellation_book_the_time_once(rig):
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    visit = await rig.store.appointments.book(
        practice_id="lakeside",
        provider_id="dr-a",
        patient_id=ann,
        visit_type="exam",
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 9) + timedelta(minutes=30),
    )
    await rig.store.appointments.cancel(visit.id, patient_id=ann)
    screens = await _screens(rig)
    answers = await asyncio.gather(
        *(
            client.post(f"/appointments/{visit.id}/undo", data={"csrf_token": csrf})
            for client, csrf in screens
        )
    )
    done, refused = sorted(answers, key=lambda r: r.status_code)
    # The loser is refused by the book (the time, or the patient, is taken) or finds it undone.
    assert done.status_code == 303 and refused.status_code in (409, 422)
    assert "booked again" in refused.text or "not undone" in refused.text
    booked = [a for a in await appointments(rig) if a.status == "booked"]
    assert len(booked) == 1 and booked[0].starts_at == at(MONDAY, 9)
    async with rig.store.sessions.session(write=False) as s:
        old = await s.scalar(select(Appointment).where(Appointment.id == visit.id))
    assert old.undone_as == booked[0].id and booked[0].replaces_id == visit.id


async def test_two_screens_booking_one_walk_in_time_book_it_once(rig):
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    screens = await _screens(rig)
    answers = await asyncio.gather(
        *(
            client.post(
                "/book",
                data={
                    "csrf_token": csrf,
                    "practice": "lakeside",
                    "patient": who,
                    "visit": "exam",
                    "provider": "dr-a",
                    "start": at(MONDAY, 8, 30).isoformat(),
                    "override_notice": "yes",
                },
            )
            for (client, csrf), who in zip(screens, (ann, bob), strict=True)
        )
    )
    assert sorted(r.status_code for r in answers) == [303, 409]
    booked = [a for a in await appointments(rig) if a.status == "booked"]
    assert [a.starts_at for a in booked] == [at(MONDAY, 8, 30)]
