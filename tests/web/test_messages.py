"""Messages: the callback queue in the right order, marking one handled, the live count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from receptionist.store.models import AuditEntry, StaffSession
from tests.support.web import MONDAY_8AM, Rig

HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_REASON = "[link=https://evil.example]click[/link] <img src=x onerror=alert(1)> & more"


async def message(rig: Rig, name: str, minutes_ago: int, **values) -> str:
    message_id, where = await rig.store.records.add_message(
        practice_id="lakeside",
        caller_name=name,
        callback_number=values.pop("callback_number", "+14145550123"),
        reason=values.pop("reason", f"{name} would like a call back"),
        created_at=MONDAY_8AM - timedelta(minutes=minutes_ago),
        **values,
    )
    assert where == "stored"
    return message_id


async def test_the_queue_puts_urgent_and_security_first_and_links_numbers_and_calls(
    staff_client, rig
):
    client, _ = staff_client
    await message(rig, "Routine Rita", 90)
    await message(rig, "Soon Sam", 80, urgency="soon")
    await message(rig, "Urgent Una", 10, urgency="urgent", call_id="SCL_una")
    await message(rig, "Security Notice", 5, kind="security", callback_number="unknown")
    await message(rig, "Urgent Ulf", 60, urgency="urgent")
    page = await client.get("/messages")
    assert page.status_code == 200
    names = re.findall(r'<p class="caller"><strong>([^<]+)</strong>', page.text)
    # urgent and security first (longest waiting first), then soon, then routine
    assert names == ["Urgent Ulf", "Urgent Una", "Security Notice", "Soon Sam", "Routine Rita"]
    assert '<a href="tel:+14145550123">+14145550123</a>' in page.text
    assert 'href="/calls/from/SCL_una"' in page.text
    assert "Open (5)" in page.text and "Mon 04 Mar 07:50" in page.text  # Chicago time


async def test_marking_handled_records_who_when_and_a_note(staff_client, rig):
    client, csrf = staff_client
    ann, _ = await rig.store.appointments.register_patient(
        "lakeside", "Ann Lee", MONDAY_8AM.date(), "unknown"
    )
    message_id = await message(rig, "Ann Lee", 30, patient_id=ann.id)
    rig.clock.advance(minutes=7)
    done = await client.post(
        f"/messages/{message_id}/handled",
        data={"csrf_token": csrf, "note": "Called back,\n booked Tuesday"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/messages?notice=handled"
    row = await rig.store.staff.get_message(message_id)
    [maria] = await rig.store.staff.staff_users()
    assert row.handled_by == maria.id and row.handled_at == rig.clock.now
    assert row.handled_note == "Called back, booked Tuesday"
    assert "No open messages" in (await client.get("/messages")).text
    handled = await client.get("/messages", params={"status": "handled"})
    assert (
        "Handled by Maria Santos on Mon 04 Mar 08:07: Called back, booked Tuesday" in handled.text
    )
    again = await client.post(f"/messages/{message_id}/handled", data={"csrf_token": csrf})
    assert again.headers["location"] == "/messages?notice=already_handled"
    assert (
        await rig.store.staff.get_message(message_id)
    ).handled_note == "Called back, booked Tuesday"
    async with rig.store.sessions.session(write=False) as s:
        entries = list(
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "message_handled"))
        )
    assert [(e.patient_id, e.user_id) for e in entries] == [(ann.id, maria.id)]


async def test_the_live_count_says_nothing_about_patients_and_is_not_activity(staff_client, rig):
    client, _ = staff_client
    await message(rig, "Ann Lee", 5, urgency="urgent")
    page = await client.get("/messages")
    newest = re.search(r'data-newest="([^"]+)"', page.text).group(1)
    async with rig.store.sessions.session(write=False) as s:
        seen_before = (await s.scalars(select(StaffSession))).one().last_seen_at
    rig.clock.advance(minutes=3)
    count = await client.get("/api/messages/count")
    assert count.json() == {"open": 1, "newest": newest}
    await message(rig, "Bob Stone", 1)
    later = (await client.get("/api/messages/count")).json()
    assert later["open"] == 2 and later["newest"] != newest
    async with rig.store.sessions.session(write=False) as s:
        assert (await s.scalars(select(StaffSession))).one().last_seen_at == seen_before


async def test_caller_text_is_shown_literally(staff_client, rig):
    client, _ = staff_client
    await message(rig, HOSTILE_NAME, 5, reason=HOSTILE_REASON, urgency="urgent")
    await rig.store.records.insert_once(
        "message",  # an old row from before intake cleaning: a bidi override and an escape
        {
            "id": "old-row",
            "practice_id": "lakeside",
            "caller_name": "Eve\u202eevil",
            "callback_number": "+14145550199",
            "reason": "bell\x1b[31m red",
            "created_at": datetime(2030, 3, 1, tzinfo=UTC),
        },
    )
    html = (await client.get("/messages")).text
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html
    assert (
        "[link=https://evil.example]click[/link] &lt;img src=x onerror=alert(1)&gt; &amp; more"
        in html
    )
    assert "Eve\\u202eevil" in html and "bell\\x1b[31m red" in html
    assert "\u202e" not in html and "\x1b" not in html
