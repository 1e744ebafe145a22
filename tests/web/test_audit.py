"""Who saw this patient? Every page drawn with a patient's data is in that patient's audit: a
call's page (the patients the caller proved to be, and those it booked or moved for, or took a
message from) and a patient's booking or appointment page, also when it is shown again after a
refused booking, move or cancellation.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from receptionist.call.records import finish_call
from receptionist.domain.calls import CallInfo
from receptionist.domain.verification import Verdict, Verifier
from receptionist.store import Store
from receptionist.store.models import AuditEntry
from tests.support.states import call_state
from tests.support.web import MONDAY_8AM, Rig, web_practice
from tests.web.test_calls import call
from tests.web.test_today import TUESDAY, WEDNESDAY, at, patient, post_book

ANN_BORN = date(1980, 2, 29)


async def visit(rig: Rig, patient_id: str, start, *, call_id: str, booked_by: str | None = None):
    return await rig.store.appointments.book(
        practice_id="lakeside",
        provider_id="dr-a",
        patient_id=patient_id,
        visit_type="exam",
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        call_id=call_id,
        booked_by=booked_by,
    )


async def audit_page(client, patient_id: str) -> list[tuple[str, str]]:
    """The admin's Audit page filtered to one patient: (what was done, to what) per row."""
    page = await client.get("/audit", params={"patient": patient_id})
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)[1:]
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    return [(c[2], c[3]) for c in cells]


async def entries(rig: Rig, patient_id: str) -> list[AuditEntry]:
    """The patient's audit entries (the query behind the filtered Audit page)."""
    return [r.entry for r in await rig.store.staff.audit_entries(patient_id=patient_id)]


async def test_viewing_a_call_is_in_the_audit_of_each_patient_it_booked_for_or_took_a_message_of(
    admin_client, rig
):
    client, _ = admin_client
    ann = await patient(rig, "Ann Lee", ANN_BORN)
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    cara = await patient(rig, "Cara Diaz", date(1990, 7, 7))
    dan = await patient(rig, "Dan Ode", date(1960, 1, 2))
    [boss] = await rig.store.staff.staff_users()
    await call(rig, "c1", 30, outcome="booked", outcomes=["booked", "message"])  # SCL_c1
    await call(rig, "c0", 20, livekit_call_id="")  # a record without a LiveKit call id
    await visit(rig, ann, at(TUESDAY, 9), call_id="SCL_c1")
    booked = {"practice_id": "lakeside", "callback_number": "+14145550123"}
    await rig.store.records.add_message(
        **booked, reason="Ann asks about her bill", patient_id=ann, call_id="SCL_c1"
    )
    earlier = await visit(rig, bob, at(TUESDAY, 10), call_id="SCL_other")
    # Bob moved his visit on the call: the new row carries its id
    await rig.store.appointments.reschedule(
        earlier.id,
        patient_id=bob,
        provider_id="dr-a",
        starts_at=at(WEDNESDAY, 10),
        ends_at=at(WEDNESDAY, 10) + timedelta(minutes=30),
        call_id="SCL_c1",
    )
    await rig.store.records.add_message(**booked, reason="someone unverified", call_id="SCL_c1")
    await visit(rig, cara, at(TUESDAY, 11), call_id="SCL_other")  # another call's patient
    await visit(rig, dan, at(TUESDAY, 12), call_id="", booked_by=boss.id)  # booked by staff

    assert (await client.get("/calls/c1")).status_code == 200
    assert (await client.get("/calls/c0")).status_code == 200

    assert ("viewed call", "call c1") in await audit_page(client, ann)
    assert ("viewed call", "call c1") in await audit_page(client, bob)
    for other in (cara, dan):  # neither call shows them: their audit holds no view of either
        assert not [row for row in await audit_page(client, other) if row[0] == "viewed call"]
    views = [e for e in (await rig.store.staff.audit_entries()) if e.entry.action == "viewed_call"]
    assert sorted((v.entry.subject, v.entry.patient_id or "") for v in views) == sorted(
        [("call c1", ann), ("call c1", bob), ("call c0", "")]
    )


@pytest.mark.parametrize("database", ["up", "down"])
async def test_viewing_a_call_that_only_checked_who_the_caller_was_is_in_her_audit(
    admin_client, rig, db_url, tmp_path, database
):
    """A call that verified Ann (then a check of someone else failed) and registered Cara,
    booking nothing and taking no message: its transcript holds their names and dates of birth,
    so a look at it is in both audits, also when the record waited in the outbox."""
    client, _ = admin_client
    ann = await patient(rig, "Ann Lee", ANN_BORN)
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    state = call_state(
        practice=web_practice(records={"transcripts": True}),
        store=rig.store,
        info=CallInfo(caller="+14145550123", dialled="+14145550100", call_id="SCL_checked"),
        at=MONDAY_8AM,
    )
    info = state.info
    check = Verifier(
        state.identity,
        rig.store,
        state.practice,
        caller=info.caller,
        call_id=info.call_id,
        now=state.now(),
    )
    assert (await check.verify("Ann Lee", ANN_BORN)).verdict == Verdict.VERIFIED
    assert (await check.verify("Eve Nobody", date(1991, 1, 1))).verdict == Verdict.NO_MATCH
    registered = await check.register("Cara Diaz", date(1990, 7, 7), "+14145550123")
    assert registered.verdict == Verdict.REGISTERED and registered.patient is not None
    cara = registered.patient.id
    state.transcript = [{"role": "user", "text": "Ann Lee, 29 February 1980, and Cara Diaz"}]
    if database == "down":  # the record waits in the outbox, then the database is back
        down_url = (
            f"sqlite+aiosqlite:///{tmp_path}/no/dir/x.db"
            if db_url.startswith("sqlite")
            else "postgresql+asyncpg://postgres@127.0.0.1:9/none"
        )
        state.store = Store(down_url, outbox=rig.store.outbox)
        await finish_call(state, None)
        await state.store.close()
        assert [p.kind for p in rig.store.outbox.pending()] == ["call"]
        assert await rig.store.flush_outbox() == 1
    else:
        await finish_call(state, None)

    page = await client.get(f"/calls/{state.record_id}")
    assert page.status_code == 200
    seen = ("viewed call", f"call {state.record_id}")
    assert seen in await audit_page(client, ann)
    assert seen in await audit_page(client, cara)
    assert not [row for row in await audit_page(client, bob) if row[0] == "viewed call"]


async def test_a_refused_booking_shows_the_patient_again_and_is_audited_as_a_view(
    staff_client, rig
):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", ANN_BORN)
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    [maria] = await rig.store.staff.staff_users()
    await visit(rig, bob, at(TUESDAY, 9), call_id="SCL_bob")  # the time is Bob's already

    taken = await post_book(client, csrf, ann, "exam", "dr-a", at(TUESDAY, 9))
    assert taken.status_code == 409 and "no longer open" in taken.text
    assert "Ann Lee" in taken.text and "1980-02-29" in taken.text
    form = {"csrf_token": csrf, "practice": "lakeside", "patient": ann, "visit": "exam"}
    odd_time = await client.post("/book", data={**form, "provider": "dr-a", "start": "noon"})
    assert odd_time.status_code == 400 and "Ann Lee" in odd_time.text
    odd_day = await client.get("/book", params={"patient": ann, "date": "next tuesday"})
    assert odd_day.status_code == 400 and "Ann Lee" in odd_day.text

    seen = await entries(rig, ann)
    assert [(e.action, e.subject, e.user_id) for e in seen] == [
        ("viewed_patient", "booking", maria.id)
    ] * 3
    assert not [e for e in await entries(rig, bob) if e.action == "viewed_patient"]


async def test_a_refused_move_or_cancellation_shows_the_patient_again_and_is_audited_as_a_view(
    staff_client, rig
):
    client, csrf = staff_client
    ann = await patient(rig, "Ann Lee", ANN_BORN)
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    [maria] = await rig.store.staff.staff_users()
    mine = await visit(rig, ann, at(TUESDAY, 9), call_id="SCL_ann")
    await visit(rig, bob, at(WEDNESDAY, 10), call_id="SCL_bob")

    taken = await client.post(
        f"/appointments/{mine.id}/move",
        data={"csrf_token": csrf, "provider": "dr-a", "start": at(WEDNESDAY, 10).isoformat()},
    )
    assert taken.status_code == 409 and "Ann Lee" in taken.text and "1980-02-29" in taken.text
    odd = await client.post(
        f"/appointments/{mine.id}/move",
        data={"csrf_token": csrf, "provider": "dr-a", "start": "soon"},
    )
    assert odd.status_code == 400 and "Ann Lee" in odd.text
    assert (await rig.store.appointments.get_appointment(mine.id)).status == "booked"
    await rig.store.appointments.cancel(mine.id, patient_id=ann)  # cancelled meanwhile (on a call)
    again = await client.post(f"/appointments/{mine.id}/cancel", data={"csrf_token": csrf})
    assert again.status_code == 409 and "Ann Lee" in again.text

    seen = await entries(rig, ann)
    subject = f"appointment {mine.id}"
    assert [(e.action, e.subject, e.user_id) for e in seen] == [
        ("viewed_appointment", subject, maria.id)
    ] * 3
