"""The front desk's morning in a real browser (Chromium through Playwright), on SQLite and
PostgreSQL (issue 23): finding any patient and their page, a walk-in booked inside the callers'
notice, a cancellation with a reason and its undo, check-in and no-show.

Each flow ends in what the page shows and what the book holds (rows, audit entries). The clock is
the rig's: Monday 4 March 2030, 08:00 in Chicago, the office just opening.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from playwright.async_api import Page, expect
from sqlalchemy import select

from receptionist.store.models import Appointment, AuditEntry, new_id
from tests.web import browser as rig
from tests.web.browser import MODULE_LOOP, Site

browser = rig.browser
db_url = rig.db_url
store = rig.store
practice = rig.practice
site = rig.site

pytestmark = MODULE_LOOP

ANN = ("Ann Lee", date(1980, 2, 29), "+14145550142")
BOB = ("Bob Stone", date(1975, 6, 1), "+14145550123")
ANNA = ("Anna Leeds", date(1990, 7, 14), "+14145550177")


async def follow(page: Page, target) -> None:
    async with page.expect_navigation():
        await target.click()


def local(site: Site, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=site.practice.tz)


async def register(site: Site, name: str, born: date, phone: str) -> str:
    patient, _ = await site.store.appointments.register_patient(site.practice.id, name, born, phone)
    return patient.id


async def book(
    site: Site, patient_id: str, start: datetime, *, visit: str = "checkup", call_id: str = ""
) -> Appointment:
    kind = site.practice.visit_type(visit)
    provider = next(p for p in site.practice.providers if p.role.lower() in kind.roles)
    return await site.store.appointments.book(
        practice_id=site.practice.id,
        provider_id=provider.id,
        patient_id=patient_id,
        visit_type=visit,
        starts_at=start,
        ends_at=start + kind.duration,
        call_id=call_id,
    )


async def call_record(
    site: Site, caller: str, started_at: datetime, *, patient_ids: list[str] | None = None
) -> str:
    record_id = new_id()
    await site.store.records.save(
        "call",
        {
            "id": record_id,
            "practice_id": site.practice.id,
            "caller": caller,
            "livekit_call_id": f"SCL_{record_id[:8]}",
            "started_at": started_at,
            "duration_seconds": 42.0,
            "outcome": "information",
            "outcomes": ["information"],
            "events": [],
            "patient_ids": patient_ids,
        },
    )
    return record_id


async def audit(site: Site, action: str) -> list[AuditEntry]:
    async with site.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# --- 1. finding patients -------------------------------------------------------------------------


async def test_finding_a_patient_by_name_phone_or_birth_date_and_their_page(site: Site):
    page, now = site.page, site.clock.now
    today = now.astimezone(site.practice.tz).date()
    ann = await register(site, *ANN)
    await register(site, *BOB)
    anna = await register(site, *ANNA)
    past = await book(site, ann, local(site, today - timedelta(days=14), 9))
    soon = await book(site, ann, local(site, today, 11), call_id="SCL_booked")
    later = await book(site, ann, local(site, today + timedelta(days=9), 10))
    yesterday = await call_record(site, ANN[2], now - timedelta(hours=20))
    await call_record(site, BOB[2], now - timedelta(hours=19), patient_ids=[])
    await site.store.records.add_message(
        practice_id=site.practice.id,
        caller_name="Ann Lee",
        callback_number=ANN[2],
        reason="Asks whether she can bring her daughter",
        created_at=now - timedelta(hours=10),
    )

    await site.sign_in()
    await follow(page, page.get_by_role("link", name="Patients", exact=True))
    box = page.get_by_label("Name, phone or date of birth")
    search = page.get_by_role("button", name="Search")
    results = page.locator("table.patients tbody tr")

    await box.fill("lee")  # part of a name: Ann Lee and Anna Leeds
    await follow(page, search)
    await expect(results).to_have_count(2)
    await expect(results.nth(0)).to_contain_text("Ann Lee")
    await expect(results.nth(1)).to_contain_text("Anna Leeds")
    for typed in ("(414) 555-0142", "414.555.0142", "+1 414 555 0142", "1980-02-29", "2/29/1980"):
        await box.fill(typed)
        await follow(page, search)
        await expect(results).to_have_count(1)
        await expect(results.first).to_contain_text("Ann Lee")
    await box.fill("555-01")
    await follow(page, search)
    await expect(page.get_by_role("alert")).to_contain_text("not a full phone number for US")
    await expect(results).to_have_count(0)
    assert [e for e in site.console_errors if "status of 400" not in e] == []
    site.console_errors.clear()  # the refused search's 400, as the browser reports it

    await box.fill("Ann Lee")
    await follow(page, search)
    await follow(page, results.first.get_by_role("link", name="Ann Lee"))
    assert site.path() == f"/patients/{ann}"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee")
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming visits"))
    await expect(upcoming.locator("tbody tr")).to_have_count(2)
    await expect(upcoming.locator("tbody tr").first).to_contain_text(
        local(site, today, 11).strftime("%a %d %b %Y 11:00")
    )
    past_visits = page.locator("section", has=page.get_by_role("heading", name="Past visits"))
    await expect(past_visits.locator("tbody tr")).to_have_count(1)
    calls = page.locator("section", has=page.get_by_role("heading", name="Calls"))
    await expect(calls.locator("tbody tr")).to_have_count(1)  # hers, not Bob's
    await expect(calls.get_by_role("link")).to_have_attribute("href", f"/calls/{yesterday}")
    messages = page.locator("section", has=page.get_by_role("heading", name="Messages"))
    await expect(messages).to_contain_text("Asks whether she can bring her daughter")
    seen = {e.patient_id for e in await audit(site, "viewed_patient")}
    assert seen == {ann}
    searched = {e.patient_id for e in await audit(site, "patient_search")}
    assert searched == {ann, anna}  # each patient a result list showed

    # Linked from Today, the call page, Calls (with the name) and Messages (with today's visit).
    await page.goto("/today")
    await follow(
        page, page.locator("section.provider tbody tr").first.get_by_role("link", name="Ann Lee")
    )
    assert site.path() == f"/patients/{ann}"
    await page.goto("/calls")
    row = page.locator("table.calls tbody tr", has_text=ANN[2])
    await expect(row).to_contain_text("Ann Lee")
    bob_row = page.locator("table.calls tbody tr", has_text=BOB[2])
    await expect(bob_row).to_contain_text("Bob Stone")
    await follow(page, row.get_by_role("link", name="Ann Lee"))
    assert site.path() == f"/patients/{ann}"
    await page.goto(f"/calls/{yesterday}")
    await follow(page, page.locator("dl.facts").get_by_role("link", name="Ann Lee"))
    assert site.path() == f"/patients/{ann}"
    await page.goto("/messages")
    message = page.locator("li.message", has_text="bring her daughter")
    await expect(message.locator(".today-visit")).to_contain_text("Booked today at 11:00")
    await follow(page, message.get_by_role("link", name="Ann Lee's record"))
    assert site.path() == f"/patients/{ann}"
    assert {soon.id, later.id, past.id} <= {a.id for a in await _visits(site, ann)}
    assert site.console_errors == []


async def test_calls_filtered_by_date_show_only_those_days(site: Site):
    page, now = site.page, site.clock.now
    ann = await register(site, *ANN)
    old = await call_record(site, ANN[2], now - timedelta(days=6), patient_ids=[ann])
    recent = await call_record(site, BOB[2], now - timedelta(days=1))
    await site.sign_in()
    await page.goto("/calls")
    rows = page.locator("table.calls tbody tr")
    await expect(rows).to_have_count(2)
    day = (now - timedelta(days=6)).astimezone(site.practice.tz).date()
    await page.get_by_label("From").fill(day.isoformat())
    await page.get_by_label("To").fill(day.isoformat())
    await follow(page, page.get_by_role("button", name="Show"))
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link").first).to_have_attribute("href", f"/calls/{old}")
    await expect(rows.first).to_contain_text("Ann Lee")
    assert recent not in await page.content()
    later = (now - timedelta(days=2)).astimezone(site.practice.tz).date()
    await page.get_by_label("From").fill(later.isoformat())
    await page.get_by_label("To").fill(day.isoformat())
    await follow(page, page.get_by_role("button", name="Show"))
    await expect(page.get_by_role("alert")).to_have_text(
        "The last day is before the first: swap them."
    )


async def _visits(site: Site, patient_id: str) -> list[Appointment]:
    async with site.store.sessions.session(write=False) as s:
        return list(
            await s.scalars(select(Appointment).where(Appointment.patient_id == patient_id))
        )


# --- 2. a walk-in and a move into today, inside the callers' notice ------------------------------


def offered_starts(texts: list[str]) -> list[str]:
    """The HH:MM of each open-time button ("Mon 04 Mar 09:15 with Maria Santos")."""
    return [text.split()[3] for text in texts]


async def test_a_walk_in_today_is_booked_inside_the_callers_notice_with_the_override_audited(
    site: Site,
):
    page = site.page
    site.clock.advance(minutes=5)  # 08:05: the desk has just opened
    today = site.clock.now.astimezone(site.practice.tz).date()
    ann = await register(site, *ANN)
    # Her filling with Dr. Okafor at 10:00-10:45: no check-up with anyone may clash with it.
    filling = await book(site, ann, local(site, today, 10), visit="filling", call_id="SCL_x")

    await site.sign_in()
    await page.goto(f"/book?patient={ann}&visit=checkup&date={today.isoformat()}")
    rule = page.locator(".notice-rule")
    await expect(rule).to_contain_text("Callers need 24 hours' notice for check-up and cleaning")
    await expect(page.get_by_role("heading", name=re.compile("^Nothing open on"))).to_be_visible()
    await page.get_by_label("Inside the callers' notice").check()
    await follow(page, page.get_by_role("button", name="Show open times"))
    await expect(rule).to_contain_text("Ticked: times from now on")
    await expect(page.get_by_role("heading", name=re.compile("^Open on Monday"))).to_be_visible()
    buttons = page.locator("ul.times button")
    starts = offered_starts(await buttons.all_inner_texts())
    assert starts[0] == "08:15"  # the next start on the grid, not tomorrow
    clashing = {
        f"{h:02d}:{m:02d}" for h, m in ((9, 15), (9, 30), (9, 45), (10, 0), (10, 15), (10, 30))
    }
    assert not clashing & set(starts), starts
    assert "10:45" in starts

    await follow(page, buttons.filter(has_text="08:15").first)
    assert site.path() == "/today"
    await expect(page.get_by_role("status").first).to_have_text("Booked.")
    row = page.locator("section.provider tbody tr", has_text="check-up and cleaning")
    await expect(row).to_contain_text("Ann Lee")
    await expect(row.get_by_role("link").first).to_have_text(re.compile("^08:15"))
    visits = [a for a in await _visits(site, ann) if a.id != filling.id]
    [walk_in] = visits
    assert walk_in.booked_by == (await site.user("maria")).id
    assert walk_in.starts_at == local(site, today, 8, 15)
    [entry] = await audit(site, "booked")
    assert entry.patient_id == ann and "inside the callers' notice (staff override)" in entry.detail


async def test_without_the_tick_a_time_inside_the_notice_is_refused_and_callers_rules_stay(
    site: Site,
):
    page = site.page
    today = site.clock.now.astimezone(site.practice.tz).date()
    ann = await register(site, *ANN)
    await site.sign_in()
    await page.goto(f"/book?patient={ann}&visit=checkup&date={today.isoformat()}")
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = {
        "csrf_token": token,
        "practice": site.practice.id,
        "patient": ann,
        "visit": "checkup",
        "provider": "maria-santos",
        "start": local(site, today, 11).isoformat(),
    }
    refused = await page.request.post("/book", form=posted)
    assert refused.status == 409  # no tick: the callers' notice applies to staff too
    assert await _visits(site, ann) == []
    booked = await page.request.post("/book", form={**posted, "override_notice": "yes"})
    assert booked.ok
    [visit] = await _visits(site, ann)
    assert visit.starts_at == local(site, today, 11)
    past = {**posted, "override_notice": "yes", "start": local(site, today, 7).isoformat()}
    assert (await page.request.post("/book", form=past)).status == 409  # never the past


async def test_a_visit_is_moved_into_today_inside_the_notice(site: Site):
    page = site.page
    site.clock.advance(minutes=5)
    today = site.clock.now.astimezone(site.practice.tz).date()
    bob = await register(site, *BOB)
    visit = await book(site, bob, local(site, today + timedelta(days=2), 9), visit="checkup")
    await site.sign_in()
    await page.goto(f"/appointments/{visit.id}?date={today.isoformat()}")
    await expect(page.locator(".notice-rule")).to_contain_text("Callers need 24 hours' notice")
    await page.get_by_label("Inside the callers' notice").check()
    await follow(page, page.get_by_role("button", name="Show open times"))
    await follow(page, page.locator("ul.times button").filter(has_text="13:00").first)
    await expect(page.get_by_role("status").first).to_have_text(
        "Moved. The old time is free again."
    )
    [new] = [a for a in await _visits(site, bob) if a.status == "booked"]
    assert new.starts_at == local(site, today, 13) and new.replaces_id == visit.id
    [entry] = await audit(site, "moved")
    assert "inside the callers' notice (staff override)" in entry.detail


# --- 3. cancel with a reason and undo; arrived and no-show ---------------------------------------


async def test_cancelling_asks_to_confirm_keeps_the_reason_and_undo_books_the_time_again(
    site: Site,
):
    page = site.page
    tomorrow = site.clock.now.astimezone(site.practice.tz).date() + timedelta(days=1)
    ann = await register(site, *ANN)
    visit = await book(site, ann, local(site, tomorrow, 9), call_id="SCL_ann")
    await site.sign_in()
    await page.goto(f"/appointments/{visit.id}")
    await follow(page, page.get_by_role("link", name="Cancel this appointment"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Cancel check-up")
    assert (await site.store.appointments.get_appointment(visit.id)).status == "booked"
    await page.get_by_label("Reason for cancelling").fill("Ann is ill; she will call to rebook")
    await follow(page, page.get_by_role("button", name="Yes, cancel it"))
    assert site.path() == f"/appointments/{visit.id}"
    await expect(page.get_by_role("status").first).to_have_text(
        "Cancelled. The time is free again."
    )
    await expect(page.locator("#cancelled")).to_contain_text(
        "by Maria Santos: Ann is ill; she will call to rebook"
    )
    cancelled = await site.store.appointments.get_appointment(visit.id)
    maria = await site.user("maria")
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancelled_by) == (
        "cancelled",
        "Ann is ill; she will call to rebook",
        maria.id,
    )

    await follow(page, page.get_by_role("button", name="Undo the cancellation"))
    await expect(page.get_by_role("status").first).to_have_text(
        "Cancellation undone: the visit is booked again at its time."
    )
    [again] = [a for a in await _visits(site, ann) if a.status == "booked"]
    assert (again.starts_at, again.provider_id, again.visit_type) == (
        visit.starts_at,
        visit.provider_id,
        visit.visit_type,
    )
    assert again.replaces_id == visit.id
    assert (await site.store.appointments.get_appointment(visit.id)).undone_as == again.id
    [undone] = await audit(site, "cancel_undone")
    assert undone.patient_id == ann
    await page.goto(f"/appointments/{visit.id}")
    await expect(page.get_by_role("button", name="Undo the cancellation")).to_have_count(0)

    # Cancelled again, and the time taken meanwhile: the undo is refused and books nothing.
    await page.goto(f"/appointments/{again.id}/cancel")
    await page.get_by_label("Reason for cancelling").fill("Moving away")
    await follow(page, page.get_by_role("button", name="Yes, cancel it"))
    bob = await register(site, *BOB)
    await book(site, bob, local(site, tomorrow, 9))
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="Undo the cancellation").click()
    assert (await posted.value).status == 409
    await expect(page.get_by_role("alert")).to_contain_text("The cancellation was not undone")
    assert [a for a in await _visits(site, ann) if a.status == "booked"] == []


async def test_arrived_and_no_show_are_set_from_today_and_counted_in_the_week(site: Site):
    page = site.page
    site.clock.advance(minutes=5)
    today = site.clock.now.astimezone(site.practice.tz).date()
    ann, bob = await register(site, *ANN), await register(site, *BOB)
    anna = await register(site, *ANNA)
    first = await book(site, ann, local(site, today, 8))
    late = await book(site, bob, local(site, today, 10), visit="filling")
    gone = await book(site, anna, local(site, today, 11), visit="filling")
    await site.store.appointments.cancel(gone.id, patient_id=anna)

    await site.sign_in()
    await page.goto("/today")
    await expect(page.get_by_role("button", name="Bob Stone did not come")).to_have_count(0)
    await follow(page, page.get_by_role("button", name="Ann Lee arrived"))
    await expect(page.get_by_role("status").first).to_have_text("Marked as arrived.")
    ann_row = page.locator("section.provider tbody tr", has_text="Ann Lee")
    await expect(ann_row.locator(".attendance")).to_contain_text("Arrived")

    site.clock.advance(hours=2, minutes=15)  # 10:20: Bob has not come
    await page.goto("/today")
    await site.sign_in()  # signed out meanwhile (idle); back to Today
    assert site.path() == "/today"
    await follow(page, page.get_by_role("button", name="Bob Stone did not come"))
    await expect(page.get_by_role("status").first).to_have_text("Marked as a no-show.")
    bob_row = page.locator("section.provider tbody tr", has_text="Bob Stone")
    await expect(bob_row.locator(".attendance")).to_contain_text("No-show")
    assert (await site.store.appointments.get_appointment(first.id)).attendance == "arrived"
    marked = await site.store.appointments.get_appointment(late.id)
    assert (marked.attendance, marked.status) == ("no_show", "booked")  # it kept its time
    assert marked.attendance_by == (await site.user("maria")).id

    await follow(page, page.get_by_role("link", name="This week"))
    await expect(page.locator("#visits")).to_have_text("2")
    await expect(page.locator("#arrived")).to_have_text("1")
    await expect(page.locator("#no-shows")).to_have_text("1")
    await expect(page.locator("#cancelled")).to_have_text("1")
    assert [e.detail for e in await audit(site, "attendance")] == ["arrived", "no_show"]
