"""Today and booking from the screen: the same rules and database guarantees as the agent."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from receptionist.store.models import Appointment, AuditEntry
from tests.support.web import Rig

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = date(2030, 3, 5)
WEDNESDAY = date(2030, 3, 6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def offered(html: str) -> list[tuple[str, datetime]]:
    """The (provider, start) of each open-time button on a page."""
    pairs = re.findall(
        r'name="provider" value="([^"]+)">\s*<input type="hidden" name="start" value="([^"]+)"',
        html,
    )
    return [(provider, datetime.fromisoformat(start)) for provider, start in pairs]


async def patient(rig: Rig, name: str, born: date, *, new: bool = False) -> str:
    row, _ = await rig.store.appointments.register_patient(
        "lakeside", name, born, "+14145550123", new_patient=new
    )
    return row.id


async def book_by_call(
    rig: Rig, patient_id: str, provider: str, start: datetime, *, minutes: int = 30
) -> Appointment:
    return await rig.store.appointments.book(
        practice_id="lakeside",
        provider_id=provider,
        patient_id=patient_id,
        visit_type="exam",
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        call_id="SCL_call1",
    )


async def appointments(rig: Rig) -> list[Appointment]:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(Appointment).order_by(Appointment.created_at)))


async def audit(rig: Rig, action: str) -> list[AuditEntry]:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def post_book(client, csrf: str, patient_id: str, visit: str, provider: str, start):
    return await client.post(
        "/book",
        data={
            "csrf_token": csrf,
            "practice": "lakeside",
            "patient": patient_id,
            "visit": visit,
            "provider": provider,
            "start": start.isoformat(),
        },
    )


async def test_today_lists_the_days_visits_by_provider_with_who_booked_each(staff_client, rig):
    client, _ = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    by_call = await book_by_call(rig, ann, "dr-a", at(TUESDAY, 9))
    [maria] = await rig.store.staff.staff_users()
    await rig.store.appointments.book(
        booked_by=maria.id,
        practice_id="lakeside",
        provider_id="hy-c",
        patient_id=bob,
        visit_type="checkup",
        starts_at=at(TUESDAY, 10),
        ends_at=at(TUESDAY, 11),
    )
    await rig.store.records.insert_once(
        "call",
        {
            "id": "call-record-1",
            "practice_id": "lakeside",
            "livekit_call_id": "SCL_call1",
            "started_at": at(date(2030, 3, 4), 7, 30),
            "outcome": "booked",
        },
    )
    page = await client.get("/today", params={"date": TUESDAY.isoformat()})
    assert page.status_code == 200
    html = page.text
    assert "Tuesday 05 March 2030" in html and "2 appointments" in html
    sections = {
        name: body for name, body in re.findall(r"<h2>([^<]+)</h2>(.*?)</section>", html, re.S)
    }
    assert list(sections) == ["Dr. Able", "Dr. Baker", "Casey Hygienist"]
    assert "Ann Lee" in sections["Dr. Able"] and "09:00&ndash;09:30" in sections["Dr. Able"]
    assert 'href="/calls/from/SCL_call1"' in sections["Dr. Able"]
    assert "No appointments" in sections["Dr. Baker"]
    assert "Bob Stone" in sections["Casey Hygienist"]
    assert "Maria Santos (staff)" in sections["Casey Hygienist"]
    assert f'href="/appointments/{by_call.id}"' in html
    call = await client.get("/calls/from/SCL_call1")
    assert call.status_code == 303 and call.headers["location"] == "/calls/call-record-1"
    viewed = await audit(rig, "viewed_today")
    assert {e.patient_id for e in viewed} == {ann, bob}
    assert {e.user_id for e in viewed} == {maria.id}


async def test_staff_find_a_patient_and_book_one_of_the_offered_times(staff_client, rig):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    found = await client.post(
        "/patients/find",
        data={"csrf_token": csrf, "practice": "lakeside", "name": "ann  LEE", "dob": "1980-02-29"},
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"/book?practice=lakeside&patient={ann}"
    page = await client.get(
        found.headers["location"] + f"&visit=checkup&date={TUESDAY.isoformat()}"
    )
    assert "Ann Lee" in page.text and "existing patient" in page.text
    times = offered(page.text)
    assert times[0] == ("hy-c", at(TUESDAY, 8)) and len(times) > 3  # a whole day, not three
    booked = await post_book(client, csrf, ann, "checkup", *times[0])
    assert booked.status_code == 303
    assert booked.headers["location"] == "/today?practice=lakeside&date=2030-03-05&notice=booked"
    [row] = await appointments(rig)
    [maria] = await rig.store.staff.staff_users()
    assert (row.patient_id, row.provider_id, row.starts_at) == (ann, "hy-c", at(TUESDAY, 8))
    assert row.booked_by == maria.id and row.call_id == ""
    [entry] = await audit(rig, "booked")
    assert entry.patient_id == ann and entry.user_id == maria.id
    today = await client.get(booked.headers["location"])
    assert "Booked." in today.text and "Maria Santos (staff)" in today.text


async def test_a_time_taken_meanwhile_is_refused_with_other_times(staff_client, rig):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    page = await client.get(
        "/book",
        params={"patient": bob, "visit": "checkup", "date": TUESDAY.isoformat()},
    )
    chosen = offered(page.text)[0]
    assert (await post_book(client, csrf, ann, "checkup", *chosen)).status_code == 303
    late = await post_book(client, csrf, bob, "checkup", *chosen)  # Bob's screen was older
    assert late.status_code == 409 and "no longer open" in late.text
    assert offered(late.text)[0] == ("hy-c", at(TUESDAY, 9))  # the next free time instead
    assert [a.patient_id for a in await appointments(rig)] == [ann]


async def test_two_screens_booking_the_same_time_at_once_book_it_once(staff_client, rig):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    start = at(TUESDAY, 10)
    results = await asyncio.gather(
        post_book(client, csrf, ann, "checkup", "hy-c", start),
        post_book(client, csrf, bob, "checkup", "hy-c", start),
    )
    assert sorted(r.status_code for r in results) == [303, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert "no longer open" in refused.text or "just taken" in refused.text
    rows = await appointments(rig)
    assert len(rows) == 1 and rows[0].starts_at == start


async def test_the_new_patient_rules_hold_on_the_screen(staff_client, rig):
    client, csrf = staff_client
    registered = await client.post(
        "/patients",
        data={
            "csrf_token": csrf,
            "practice": "lakeside",
            "name": "Nina  New",
            "dob": "1990-01-02",
            "phone": "(414) 555-0177",
            "new_patient": "yes",
        },
    )
    assert registered.status_code == 303 and "notice=registered" in registered.headers["location"]
    nina = re.search(r"patient=([0-9a-f-]+)", registered.headers["location"]).group(1)
    record = await rig.store.appointments.get_patient(nina)
    assert record.full_name == "Nina New" and record.phone == "+14145550177"
    assert record.new_patient
    page = await client.get(
        "/book", params={"patient": nina, "visit": "checkup", "date": TUESDAY.isoformat()}
    )
    assert "for existing patients" in page.text and offered(page.text) == []
    refused = await post_book(client, csrf, nina, "checkup", "hy-c", at(TUESDAY, 8))
    assert refused.status_code == 422 and "for existing patients" in refused.text
    ok = await post_book(client, csrf, nina, "new-exam", "dr-a", at(TUESDAY, 9))
    assert ok.status_code == 303
    again = await post_book(client, csrf, nina, "new-exam", "dr-a", at(WEDNESDAY, 9))
    assert again.status_code == 422 and "already has a new patient exam booked" in again.text
    assert len(await appointments(rig)) == 1
    [entry] = await audit(rig, "patient_registered")
    assert entry.patient_id == nina


async def test_a_patient_cannot_be_in_two_chairs_at_once(staff_client, rig):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    await book_by_call(rig, ann, "dr-a", at(TUESDAY, 9))
    clash = await post_book(client, csrf, ann, "exam", "dr-b", at(TUESDAY, 9))
    assert clash.status_code == 422 and "already has a visit at that time" in clash.text
    assert len(await appointments(rig)) == 1


async def test_move_and_cancel_from_the_appointment_page(staff_client, rig):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    visit = await book_by_call(rig, ann, "dr-a", at(TUESDAY, 9))
    await book_by_call(rig, bob, "dr-a", at(WEDNESDAY, 10))
    page = await client.get(
        f"/appointments/{visit.id}",
        params={"date": WEDNESDAY.isoformat(), "provider": "dr-a"},
    )
    assert page.status_code == 200 and "Ann Lee" in page.text
    assert ("dr-a", at(WEDNESDAY, 10)) not in offered(page.text)  # Bob's
    taken = await client.post(
        f"/appointments/{visit.id}/move",
        data={"csrf_token": csrf, "provider": "dr-a", "start": at(WEDNESDAY, 10).isoformat()},
    )
    assert (
        taken.status_code == 409
        and (await rig.store.appointments.get_appointment(visit.id)).status == "booked"
    )
    moved = await client.post(
        f"/appointments/{visit.id}/move",
        data={"csrf_token": csrf, "provider": "dr-a", "start": at(WEDNESDAY, 9).isoformat()},
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == "/today?practice=lakeside&date=2030-03-06&notice=moved"
    old = await rig.store.appointments.get_appointment(visit.id)
    [new] = [a for a in await appointments(rig) if a.replaces_id == visit.id]
    [maria] = await rig.store.staff.staff_users()
    assert old.status == "rescheduled" and new.status == "booked"
    assert new.starts_at == at(WEDNESDAY, 9) and new.booked_by == maria.id
    cancelled = await client.post(
        f"/appointments/{new.id}/cancel", data={"csrf_token": csrf, "reason": "Patient is ill"}
    )
    assert cancelled.status_code == 303 and "notice=cancelled" in cancelled.headers["location"]
    assert (await rig.store.appointments.get_appointment(new.id)).status == "cancelled"
    twice = await client.post(
        f"/appointments/{new.id}/cancel", data={"csrf_token": csrf, "reason": "Patient is ill"}
    )
    assert twice.status_code == 409 and "no longer booked" in twice.text
    assert [e.patient_id for e in await audit(rig, "moved")] == [ann]
    assert [e.patient_id for e in await audit(rig, "cancelled")] == [ann]


async def test_patient_lookups_never_put_names_or_birth_dates_in_addresses(staff_client, rig):
    client, csrf = staff_client
    missing = await client.post(
        "/patients/find",
        data={"csrf_token": csrf, "practice": "lakeside", "name": "Zed Zee", "dob": "2001-01-01"},
    )
    assert missing.status_code == 404 and "No patient with that name" in missing.text
    bad = await client.post(
        "/patients",
        data={"csrf_token": csrf, "practice": "lakeside", "name": "X Y", "dob": "3000-01-01"},
    )
    assert bad.status_code == 400 and "in the future" in bad.text
    book_page = await client.get("/book")
    assert 'method="post" action="/patients/find"' in book_page.text
    registered = await client.post(
        "/patients",
        data={"csrf_token": csrf, "practice": "lakeside", "name": "Ann Lee", "dob": "1980-02-29"},
    )
    # The patient's id is a random UUID and may hold "1980" by chance: only the rest must not.
    uuid = r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
    location = re.sub(uuid, "<id>", registered.headers["location"])
    assert "<id>" in location and "Ann" not in location and "1980" not in location
    again = await client.post(
        "/patients",
        data={"csrf_token": csrf, "practice": "lakeside", "name": "ann lee", "dob": "1980-02-29"},
    )
    assert "notice=already_patient" in again.headers["location"]
    assert await rig.store.count("patient") == 1


async def test_patient_names_are_shown_literally_and_unknown_ids_are_not_found(staff_client, rig):
    client, _ = staff_client
    hostile = await patient(rig, "<script>alert(1)</script> [link=x]Bo[/link]", date(1990, 1, 1))
    visit = await book_by_call(rig, hostile, "dr-a", at(TUESDAY, 9))
    for path in ("/today?date=2030-03-05", f"/appointments/{visit.id}", f"/book?patient={hostile}"):
        html = (await client.get(path)).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; [link=x]Bo[/link]" in html, path
    for path in ("/today?practice=nowhere", "/appointments/nope", "/book?patient=nope"):
        assert (await client.get(path)).status_code == 404, path
