"""A location whose schedule is in Open Dental: the staff pages do not book, move or cancel in the
built-in book behind the practice's back (they refuse and say where to do it), on SQLite and
PostgreSQL. The staff pages on the PMS's own day are issue 19's next part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from receptionist.domain.practice import PracticeDirectory
from receptionist.store import Store
from receptionist.store.models import Appointment, AppointmentStatus
from receptionist.web.app import create_app
from tests.support.opendental import od_practice
from tests.support.web import Clock, add_user, app_settings, sign_in

# Tuesday 5 March 2030, 10:00 in Chicago: inside the example practice's hours.
TUESDAY_10 = datetime(2030, 3, 5, 16, 0, tzinfo=UTC)


@pytest.fixture
async def od_client(
    db_url: str, store: Store, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    practice = od_practice("http://127.0.0.1:9")  # never reached: the pages refuse first
    app = create_app(
        app_settings(db_url, tmp_path),
        store=store,
        directory=PracticeDirectory([practice]),
        clock=Clock(),
        background=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await add_user(store)
        yield client, await sign_in(client), practice.id


async def test_booking_at_an_open_dental_location_is_refused_and_writes_nothing(od_client, store):
    client, csrf, practice_id = od_client
    patient, _ = await store.appointments.register_patient(
        practice_id, "Ann Lee", date(1980, 2, 29), "+14145550123", new_patient=False
    )
    page = await client.get("/book", params={"practice": practice_id, "patient": patient.id})
    assert page.status_code == 409 and "Open Dental" in page.text
    posted = await client.post(
        "/book",
        data={
            "csrf_token": csrf,
            "practice": practice_id,
            "patient": patient.id,
            "visit": "checkup",
            "provider": "dr-okafor",
            "start": TUESDAY_10.isoformat(),
        },
    )
    assert posted.status_code == 409 and "Open Dental" in posted.text
    assert await _visits(store) == []


async def test_a_visit_left_in_the_builtin_book_is_not_cancelled_there(od_client, store):
    # A location that moved to Open Dental may still hold visits booked before the switch.
    client, csrf, practice_id = od_client
    patient, _ = await store.appointments.register_patient(
        practice_id, "Ann Lee", date(1980, 2, 29), "+14145550123", new_patient=False
    )
    visit = await store.appointments.book(
        practice_id=practice_id,
        provider_id="dr-okafor",
        patient_id=patient.id,
        visit_type="checkup",
        starts_at=TUESDAY_10,
        ends_at=TUESDAY_10 + timedelta(minutes=60),
        call_id="SCL_call1",
    )
    cancelled = await client.post(f"/appointments/{visit.id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 409 and "Open Dental" in cancelled.text
    rows = await _visits(store)
    assert [r.status for r in rows] == [AppointmentStatus.BOOKED]


async def _visits(store: Store) -> list[Appointment]:
    async with store.sessions.session(write=False) as s:
        return list(await s.scalars(select(Appointment)))


async def test_a_nexhealth_location_is_refused_naming_nexhealth(
    db_url: str, store: Store, tmp_path: Path
):
    from tests.support.nexhealth import nh_practice

    practice = nh_practice()
    app = create_app(
        app_settings(db_url, tmp_path),
        store=store,
        directory=PracticeDirectory([practice]),
        clock=Clock(),
        background=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await add_user(store)
        await sign_in(client)
        patient, _ = await store.appointments.register_patient(
            practice.id, "Ann Lee", date(1980, 2, 29), "+14145550123", new_patient=False
        )
        page = await client.get("/book", params={"practice": practice.id, "patient": patient.id})
    assert page.status_code == 409 and "NexHealth" in page.text and "Open Dental" not in page.text
