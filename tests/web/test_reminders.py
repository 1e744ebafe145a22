"""Reminders: the day's reminder calls as the front desk reads them (those to follow up first),
and the "don't call me" list, with adding and removing a patient on it.

The calls are recorded through the store exactly as the runner and the call do (claims, choices,
finished attempts, skips, opt-outs), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from receptionist.domain.lines import Line
from receptionist.store.models import AuditEntry, ReminderOptOut, ReminderStatus
from receptionist.store.reminders import VISIT_CANCELLED, Wanted
from tests.support.web import Clock, Rig

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = date(2030, 3, 4)
SUNDAY = date(2030, 3, 3)
TUESDAY = date(2030, 3, 5)
LEASE = timedelta(minutes=15)
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> Carl'


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture
def clock() -> Clock:
    """Monday 18:00 in Chicago: the day's reminder calls are done (one still under way)."""
    return Clock(at(MONDAY, 17, 58).astimezone(UTC))


@dataclass
class Visit:
    patient_id: str
    appointment_id: str
    reminder_id: str = ""


async def visit(
    rig: Rig, name: str, hour: int, *, phone: str = "+14145550123", practice_id: str = "lakeside"
) -> Visit:
    patient, _ = await rig.store.appointments.register_patient(
        practice_id, name, date(1980, 1, 1), phone
    )
    appointment = await rig.store.appointments.book(
        practice_id=practice_id,
        provider_id="dr-a",
        patient_id=patient.id,
        visit_type="exam",
        starts_at=at(TUESDAY, hour),
        ends_at=at(TUESDAY, hour, 30),
    )
    return Visit(patient.id, appointment.id)


async def claim(rig: Rig, v: Visit, when: datetime, *, seen: int = 0, practice_id="lakeside"):
    [claimed] = await rig.store.reminders.claim_reminders(
        practice_id,
        [Wanted(v.appointment_id, v.patient_id, seen)],
        now=when,
        lease=LEASE,
        max_in_flight=10,
    )
    v.reminder_id = claimed.reminder_id
    return claimed.attempt


async def call(
    rig: Rig,
    v: Visit,
    when: datetime,
    *,
    seen: int = 0,
    line: str = "answered",
    sip: int | None = 200,
    by: str = "person",
    choice: str = "",
    status: str = ReminderStatus.PENDING,
    reason: str = "",
    practice_id: str = "lakeside",
) -> None:
    """One reminder call, recorded as the outbound call records it: a choice, then the end."""
    attempt = await claim(rig, v, when, seen=seen, practice_id=practice_id)
    if choice:
        assert await rig.store.reminders.reminder_choice(
            v.reminder_id, attempt=attempt, status=choice, now=when + timedelta(minutes=1)
        )
    assert await rig.store.reminders.finish_reminder_attempt(
        v.reminder_id,
        attempt=attempt,
        now=when + timedelta(minutes=1),
        line=line,
        answered_by=by,
        sip_status=sip,
        call_id=f"SCL_{attempt}",
        status=status,
        retry_at=when + timedelta(hours=2) if status == ReminderStatus.PENDING else None,
        reason=reason,
    )


@dataclass
class Day:
    ann: Visit  # confirmed
    bob: Visit  # busy, no answer, then every attempt used
    carl: Visit  # wants another time (hostile name)
    dee: Visit  # a voicemail
    eve: Visit  # "stop calling me"
    fay: Visit  # no usable number: not called
    gus: Visit  # wrong number
    hal: Visit  # being called now
    ivy: Visit  # called on Sunday


async def a_day_of_calls(rig: Rig) -> Day:
    d = Day(
        ann=await visit(rig, "Ann Lee", 8),
        bob=await visit(rig, "Bob Stone", 9),
        carl=await visit(rig, HOSTILE, 10),
        dee=await visit(rig, "Dee Park", 11),
        eve=await visit(rig, "Eve Moss", 12),
        fay=await visit(rig, "Fay Wong", 13, phone="unknown"),
        gus=await visit(rig, "Gus Hale", 14),
        hal=await visit(rig, "Hal Reed", 15),
        ivy=await visit(rig, "Ivy Cole", 16),
    )
    await call(rig, d.ivy, at(SUNDAY, 11), choice=ReminderStatus.CONFIRMED)
    await call(rig, d.ann, at(MONDAY, 9, 5), choice=ReminderStatus.CONFIRMED)
    await call(rig, d.bob, at(MONDAY, 9, 10), line="busy", sip=486, by="", reason="busy")
    await call(
        rig, d.bob, at(MONDAY, 11, 10), seen=1, line="no_answer", sip=480, by="", reason="no answer"
    )
    await call(
        rig,
        d.bob,
        at(MONDAY, 13, 10),
        seen=2,
        line="no_answer",
        sip=408,
        by="",
        status=ReminderStatus.GAVE_UP,
        reason="no answer; every attempt used",
    )
    await call(rig, d.carl, at(MONDAY, 9, 15), choice=ReminderStatus.CALL_BACK)
    await call(rig, d.dee, at(MONDAY, 9, 20), by="machine", choice=ReminderStatus.LEFT_MESSAGE)
    await call(rig, d.eve, at(MONDAY, 9, 25), choice=ReminderStatus.OPTED_OUT)
    await rig.store.reminders.opt_out(
        "lakeside", d.eve.patient_id, now=at(MONDAY, 9, 26), call_id="SCL_1"
    )
    await rig.store.reminders.skip_reminder(
        "lakeside",
        Wanted(d.fay.appointment_id, d.fay.patient_id),
        reason="no usable phone number",
        now=at(MONDAY, 9, 0),
    )
    await call(rig, d.gus, at(MONDAY, 9, 30), choice=ReminderStatus.WRONG_NUMBER)
    await claim(rig, d.hal, at(MONDAY, 17, 55))
    return d


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert found, section_id
    return found.group(1)


def rows(html: str) -> list[str]:
    return re.findall(r"<tr(?: class=\"[^\"]*\")?>(.*?)</tr>", html, re.S)


def row_of(html: str, name: str) -> str:
    [found] = [r for r in rows(html) if name in r]
    return found


async def audit(rig: Rig, action: str) -> list[AuditEntry]:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def opt_out_rows(rig: Rig) -> list[ReminderOptOut]:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(ReminderOptOut)))


# --- the day's calls ----------------------------------------------------------------------------


async def test_the_days_calls_in_plain_words_with_those_to_follow_up_first(staff_client, rig):
    client, _ = staff_client
    d = await a_day_of_calls(rig)
    page = await client.get("/reminders")
    assert page.status_code == 200
    html = page.text
    assert "Monday 04 March 2030 (today)" in html
    assert '<a href="/reminders" aria-current="page">Reminders</a>' in html
    assert "9 calls placed; 4 for the front desk to follow up." in html

    desk = section(html, "for-staff")
    names = [n for r in rows(desk) for n in ("Fay", "Carl", "Gus", "Bob") if n in r]
    assert names == ["Fay", "Carl", "Gus", "Bob"]  # in time order (Fay's skip was at 09:00)
    assert all("needs-staff" in c for c in re.findall(r'<tr class="([^"]*)">', desk))
    fay = row_of(desk, "Fay Wong")
    assert "Not called" in fay and "no usable phone number" in fay and "(no phone number)" in fay
    carl = row_of(desk, "Carl")
    assert "Wants another time: call them back" in carl and "A person" in carl
    assert '<a href="tel:+14145550123">+14145550123</a>' in carl
    gus = row_of(desk, "Gus Hale")
    assert "Wrong number: check the number on file" in gus
    bob = row_of(desk, "Bob Stone")
    assert (
        "13:10" in bob and "<td>3</td>" in bob and "No answer" in bob and "408 (no answer)" in bob
    )
    assert "Not reached after every attempt: call them" in bob and "every attempt used" in bob

    rest = section(html, "calls")
    names = [n for r in rows(rest) for n in ("Ann", "Bob", "Dee", "Eve", "Hal") if n in r]
    assert names == ["Ann", "Bob", "Dee", "Eve", "Bob", "Hal"]
    ann = row_of(rest, "Ann Lee")
    assert all(w in ann for w in ("09:05", "<td>1</td>", "Answered", "200 (answered)", "Confirmed"))
    assert f'<a href="/appointments/{d.ann.appointment_id}">08:00</a>' in ann
    assert 'href="/today?practice=lakeside&amp;date=2030-03-05">Tue 05 Mar</a>' in ann
    assert "exam, Dr. Able" in ann
    first, second = [r for r in rows(rest) if "Bob Stone" in r]
    assert "Busy" in first and "486 (busy)" in first and "Tried again later</strong></td>" in first
    assert "No answer" in second and "480 (unavailable)" in second and "<td>2</td>" in second
    dee = row_of(rest, "Dee Park")
    assert "Voicemail" in dee and "Left a voicemail message" in dee
    assert "Asked not to be called again" in row_of(rest, "Eve Moss")
    hal = row_of(rest, "Hal Reed")
    assert "Calling now" in hal and "Ringing or on the line" in hal
    assert "Ivy Cole" not in html  # called on Sunday

    opt_outs = section(html, "opt-outs")
    eve = row_of(opt_outs, "Eve Moss")
    assert "Mon 04 Mar 2030" in eve and "asked on a reminder call" in eve


async def test_every_other_result_and_when_a_patient_not_reached_is_tried_again(staff_client, rig):
    client, _ = staff_client
    joy = await visit(rig, "Joy Fox", 8)
    await call(rig, joy, at(MONDAY, 15, 40), reason="answered, nothing chosen")
    lost = await visit(rig, "Len Ray", 9)
    await claim(rig, lost, at(MONDAY, 10))  # its job died: no report, the lease ran out
    kim = await visit(rig, "Kim Day", 10)
    await call(rig, kim, at(MONDAY, 10, 5), choice="staff")
    lou = await visit(rig, "Lou Yee", 11)
    await rig.store.appointments.reschedule(
        lou.appointment_id,
        patient_id=lou.patient_id,
        provider_id="dr-b",
        starts_at=at(TUESDAY, 16),
        ends_at=at(TUESDAY, 16, 30),
    )
    await call(rig, lou, at(MONDAY, 10, 10), choice="moved")
    max_ = await visit(rig, "Max Orr", 12)
    await rig.store.appointments.cancel(max_.appointment_id, patient_id=max_.patient_id)
    await call(rig, max_, at(MONDAY, 10, 15), choice="cancelled")
    html = (await client.get("/reminders")).text
    rest, desk = section(html, "calls"), section(html, "for-staff")
    joy_row = row_of(rest, "Joy Fox")
    assert "Answered" in joy_row
    assert (
        "Tried again later</strong>: answered, nothing chosen; next try from Mon 17:40" in joy_row
    )
    len_row = row_of(rest, "Len Ray")
    assert (
        "No report" in len_row and "Tried again later</strong>: no report from the call" in len_row
    )
    assert "Put through to the front desk" in row_of(desk, "Kim Day")
    lou_row = row_of(rest, "Lou Yee")
    assert "Moved the visit to another time" in lou_row and "(now moved)" in lou_row
    max_row = row_of(rest, "Max Orr")
    assert "Cancelled the visit" in max_row and "(now cancelled)" in max_row


async def test_a_call_the_book_stopped_before_dialling_reads_as_not_called(staff_client, rig):
    # The visit was cancelled after the runner queued its reminder: the job checked the book
    # just before dialling and placed no call. Staff read that, not a raw "not_dialled".
    ned = await visit(rig, "Ned Poe", 8)
    await call(
        rig,
        ned,
        at(MONDAY, 10, 20),
        line=Line.NOT_DIALLED,
        sip=None,
        by="",
        status=ReminderStatus.CANCELLED,
        reason=VISIT_CANCELLED,
    )
    ned_row = row_of(section((await staff_client[0].get("/reminders")).text, "calls"), "Ned Poe")
    assert "Not called (the visit or the patient changed after it was queued)" in ned_row
    assert "not_dialled" not in ned_row and "not dialled" not in ned_row


async def test_another_day_and_a_bad_date(staff_client, rig):
    client, _ = staff_client
    await a_day_of_calls(rig)
    sunday = await client.get("/reminders", params={"date": SUNDAY.isoformat()})
    html = sunday.text
    assert "Sunday 03 March 2030" in html and "(today)" not in html.split("</h1>")[0]
    assert "Ivy Cole" in section(html, "calls") and "Ann Lee" not in html
    assert "Nothing to follow up." in section(html, "for-staff")
    assert "1 call placed." in html
    nonsense = await client.get("/reminders", params={"date": "tomorrow"})
    assert nonsense.status_code == 200 and "Monday 04 March 2030 (today)" in nonsense.text
    elsewhere = await client.get("/reminders", params={"practice": "elsewhere"})
    assert elsewhere.status_code == 404


async def test_a_hostile_patient_name_is_shown_as_text(staff_client, rig):
    client, _ = staff_client
    d = await a_day_of_calls(rig)
    await rig.store.reminders.opt_out(
        "lakeside", d.carl.patient_id, now=rig.clock.now, source="staff"
    )
    html = (await client.get("/reminders")).text
    escaped = (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt; Carl"
    )
    assert escaped in section(html, "for-staff") and escaped in section(html, "opt-outs")
    assert "<script>alert" not in html and "<img" not in html and 'onerror="' not in html
    assert "<script" not in html.split("</head>")[1]


async def test_viewing_the_page_is_audited_with_every_patient_on_it(staff_client, rig):
    client, _ = staff_client
    d = await a_day_of_calls(rig)
    await client.get("/reminders")
    viewed = await audit(rig, "viewed_reminders")
    [maria] = await rig.store.staff.staff_users()
    shown = [d.ann, d.bob, d.carl, d.dee, d.eve, d.fay, d.gus, d.hal]
    assert {e.patient_id for e in viewed} == {v.patient_id for v in shown}
    assert {(e.user_id, e.subject) for e in viewed} == {(maria.id, "lakeside 2030-03-04")}
    assert viewed[0].detail == "9 calls, 1 not called, 1 opt-outs"
    # Nothing about a patient is in an address on the page: ids and dates only.
    html = (await client.get("/reminders")).text
    uuid = r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"  # random ids may hold "1980" by chance
    for href in re.findall(r'(?:href|action)="([^"]+)"', html):
        bare = re.sub(uuid, "<id>", href)
        assert "Lee" not in bare and "1980" not in bare, href


async def test_the_other_practices_calls_are_not_shown(staff_client, rig):
    client, _ = staff_client
    other = await visit(rig, "Zed Other", 9, practice_id="elsewhere")
    await call(rig, other, at(MONDAY, 10), choice=ReminderStatus.CALL_BACK, practice_id="elsewhere")
    html = (await client.get("/reminders")).text
    assert "Zed Other" not in html and "0 calls placed." in html


# --- the opt-out list ---------------------------------------------------------------------------


async def test_staff_add_a_patient_who_asked_not_to_be_called(staff_client, rig):
    client, csrf = staff_client
    ann = await visit(rig, "Ann Lee", 8)
    form = {"csrf_token": csrf, "practice": "lakeside", "date": "2030-03-03"}
    added = await client.post(
        "/reminders/opt-outs", data={**form, "name": "ann  lee", "dob": "1980-01-01"}
    )
    assert added.status_code == 303
    assert added.headers["location"] == (
        "/reminders?practice=lakeside&date=2030-03-03&notice=opt_out_added"
    )
    [row] = await opt_out_rows(rig)
    assert (row.practice_id, row.patient_id, row.source) == ("lakeside", ann.patient_id, "staff")
    # The runner's next pass sees it: that visit is not called.
    [candidate] = await rig.store.reminders.reminder_candidates(
        "lakeside", start=at(TUESDAY, 0), end=at(TUESDAY, 23)
    )
    assert candidate.opted_out
    page = await client.get(added.headers["location"])
    assert "Recorded: that patient gets no more reminder calls." in page.text
    assert "added by staff" in section(page.text, "opt-outs")
    again = await client.post(
        "/reminders/opt-outs", data={**form, "name": "Ann Lee", "dob": "1980-01-01"}
    )
    assert again.headers["location"].endswith("notice=opt_out_already")
    assert len(await opt_out_rows(rig)) == 1
    [maria] = await rig.store.staff.staff_users()
    entries = await audit(rig, "reminder_opt_out_added")
    assert [(e.user_id, e.patient_id) for e in entries] == [(maria.id, ann.patient_id)] * 2
    assert "Ann" not in entries[0].subject + entries[0].detail


async def test_adding_an_unknown_patient_or_a_bad_date_changes_nothing(staff_client, rig):
    client, csrf = staff_client
    await visit(rig, "Ann Lee", 8)
    form = {"csrf_token": csrf, "practice": "lakeside"}
    unknown = await client.post(
        "/reminders/opt-outs", data={**form, "name": "Ann Lee", "dob": "1981-01-01"}
    )
    assert unknown.status_code == 404 and "No patient with that name" in unknown.text
    bad = await client.post("/reminders/opt-outs", data={**form, "name": "Ann Lee", "dob": "x"})
    assert bad.status_code == 400 and "not a date" in bad.text
    nameless = await client.post("/reminders/opt-outs", data={**form, "dob": "1980-01-01"})
    assert nameless.status_code == 400 and "name is missing" in nameless.text
    assert await opt_out_rows(rig) == []
    [search] = await audit(rig, "patient_search")
    assert search.detail == "no match" and search.patient_id is None


async def test_staff_remove_an_opt_out_and_it_is_audited(staff_client, rig):
    client, csrf = staff_client
    d = await a_day_of_calls(rig)
    page = await client.get("/reminders")
    action = f"/reminders/opt-outs/{d.eve.patient_id}/remove"
    assert f'action="{action}"' in page.text
    form = {"csrf_token": csrf, "practice": "lakeside", "date": "2030-03-04"}
    removed = await client.post(action, data=form)
    assert removed.status_code == 303
    assert removed.headers["location"].endswith("notice=opt_out_removed")
    assert await opt_out_rows(rig) == []
    assert not await rig.store.reminders.is_opted_out("lakeside", d.eve.patient_id)
    [maria] = await rig.store.staff.staff_users()
    [entry] = await audit(rig, "reminder_opt_out_removed")
    assert (entry.user_id, entry.patient_id) == (maria.id, d.eve.patient_id)
    after = await client.get(removed.headers["location"])
    assert "Nobody has opted out." in after.text
    assert "Removed: that patient gets reminder calls again." in after.text
    twice = await client.post(action, data=form)
    assert twice.status_code == 404 and "removed already" in twice.text


async def test_changes_without_the_csrf_token_are_refused(staff_client, rig):
    client, csrf = staff_client
    d = await a_day_of_calls(rig)
    ann = {"practice": "lakeside", "name": "Ann Lee", "dob": "1980-01-01"}
    remove = f"/reminders/opt-outs/{d.eve.patient_id}/remove"
    for token in ({}, {"csrf_token": "forged"}):
        refused = await client.post("/reminders/opt-outs", data={**ann, **token})
        assert refused.status_code == 403 and "security token" in refused.text
        kept = await client.post(remove, data={"practice": "lakeside", **token})
        assert kept.status_code == 403
    assert [r.patient_id for r in await opt_out_rows(rig)] == [d.eve.patient_id]
    assert await audit(rig, "reminder_opt_out_added") == []
    assert await audit(rig, "reminder_opt_out_removed") == []


async def test_the_page_and_its_forms_need_a_session(rig):
    page = await rig.client.get("/reminders", params={"date": "2030-03-04"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Freminders"
    for path in ("/reminders/opt-outs", "/reminders/opt-outs/x/remove"):
        response = await rig.client.post(path, data={"csrf_token": "x", "practice": "lakeside"})
        assert response.status_code == 303 and "/login" in response.headers["location"], path
    assert await audit(rig, "viewed_reminders") == []
