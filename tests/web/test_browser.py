"""The staff app in a real browser (Chromium through Playwright), on SQLite and PostgreSQL.

Each flow ends in what the page shows and what the book holds. Calls are made with the
conversation harness: the real agent, tools and store, a scripted model, writing the same book
the app reads. Only the clock is ours (tests/web/conftest.py `Clock`): the app's and the calls'.

SCREENSHOTS=docs/screenshots uv run pytest tests/web/test_browser.py -k screenshots
writes docs/screenshots/<page>.png (see `test_every_page_renders_and_the_screenshots`).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from receptionist.call.prompts import greeting
from receptionist.call.records import finish_call
from receptionist.domain.practice import Practice, Records
from receptionist.store.models import Appointment, AuditEntry, Message, StaffClosure, StaffSession
from tests.conversation.book_support import option_ids, tool_results
from tests.support.harness import CALLER_ATTRIBUTES, Call, receptionist_call
from tests.support.scripted_llm import Call as Step
from tests.support.scripted_llm import Say, ScriptedLLM
from tests.support.web import add_user
from tests.web import browser as rig
from tests.web.browser import MODULE_LOOP, Site

# One Chromium for the module, a fresh context and book per test (see tests/web/browser.py).
browser = rig.browser
db_url = rig.db_url
store = rig.store
practice = rig.practice
site = rig.site

pytestmark = MODULE_LOOP

CALLER = "+14145550142"  # made up: 555-01xx numbers are reserved for fiction
ANN = ("Ann Lee", date(1980, 2, 29))


# --- helpers ------------------------------------------------------------------------------------


async def phone_call(
    site: Site,
    script: ScriptedLLM,
    turns: Sequence[str],
    *,
    at: datetime | None = None,
    caller: str = CALLER,
    call_id: str = "SCL_browser1",
    practice: Practice | None = None,
    seconds_per_turn: float = 0.0,
    usage: dict | None = None,
) -> tuple[Call, list[Any]]:
    """One call through the harness into the site's book; its record is written when it ends.

    The harness reads the practice with the closures staff added, as `run_call` does. The
    call's clock stands at `at`, moved on `seconds_per_turn` by each caller turn (for a readable
    timeline)."""
    start = at or site.clock.now
    attributes = {**CALLER_ATTRIBUTES, "sip.phoneNumber": caller, "sip.callID": call_id}
    elapsed = [0.0]
    results = []
    async with receptionist_call(
        script,
        practice=practice or site.practice,
        at=start,
        attributes=attributes,
        store=site.store,
    ) as call:
        call.state.clock = lambda: start + timedelta(seconds=elapsed[0])
        await first_words(call)
        for turn in turns:
            elapsed[0] += seconds_per_turn
            results.append(await call.session.run(user_input=turn))
        elapsed[0] += seconds_per_turn
    await finish_call(call.state, usage=usage)  # the call record, as the worker writes it
    return call, results


def assistant_texts(call: Call) -> list[str]:
    return [
        item.text_content
        for item in call.session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


async def first_words(call: Call) -> str:
    async with asyncio.timeout(10):
        while not assistant_texts(call):
            await asyncio.sleep(0.02)
    return assistant_texts(call)[0]


async def add_message(site: Site, name: str, minutes_ago: int, **values: Any) -> str:
    message_id, where = await site.store.records.add_message(
        practice_id=site.practice.id,
        caller_name=name,
        callback_number=values.pop("callback_number", "+14145550177"),
        reason=values.pop("reason", f"{name} would like a call back"),
        created_at=site.clock.now - timedelta(minutes=minutes_ago),
        **values,
    )
    assert where == "stored"
    return message_id


async def follow(page: Page, link: Locator) -> None:
    """Clicks a link or button and waits for the page it leads to."""
    async with page.expect_navigation():
        await link.click()


async def caller_names(page: Page) -> list[str]:
    return await page.locator("li.message p.caller strong").all_inner_texts()


# --- signing in ---------------------------------------------------------------------------------


async def test_signing_in_through_the_form_and_a_wrong_password_is_refused(site: Site):
    page = site.page
    await page.goto("/login")
    await page.get_by_label("Username").fill("maria")
    await page.get_by_label("Password").fill("not the password at all")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="Sign in").click()
    assert (await posted.value).status == 401
    assert site.path() == "/login"
    await expect(page.get_by_role("alert")).to_contain_text("did not work")
    assert await site.count(StaffSession) == 0
    assert "staff_session" not in {c["name"] for c in await site.context.cookies()}

    await site.sign_in("maria")
    assert site.path() == "/today"
    await expect(page.locator("header .who")).to_have_text("Maria Santos")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("(today)")
    maria = await site.user("maria")
    assert await site.count(StaffSession, StaffSession.user_id == maria.id) == 1
    [cookie] = [c for c in await site.context.cookies() if c["name"] == "staff_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert await site.count(AuditEntry, AuditEntry.action == "sign_in_failed") == 1
    assert await site.count(AuditEntry, AuditEntry.action == "signed_in") == 1


# --- what a call did, on Today and Messages -----------------------------------------------------


async def test_a_calls_booking_and_urgent_message_show_on_today_and_top_of_messages(site: Site):
    ann, _ = await site.store.appointments.register_patient(site.practice.id, *ANN, "+14145550142")
    script = ScriptedLLM(
        [
            Step("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Step("find_open_times", visit_type="checkup"),
            Say("The first time I have is tomorrow morning. Shall I book it?"),
            lambda ctx: Step("book_appointment", option_id=option_ids(ctx)[0]),
            Step(
                "take_message",
                caller_name="Ann Lee",
                reason="Swelling on the left side of her jaw since last night",
                urgency="urgent",
            ),
            Say("You're booked, and I've passed the swelling on to the team as urgent."),
        ]
    )
    call, _ = await phone_call(
        site,
        script,
        [
            "Hi, it's Ann Lee, born February 29th 1980. I'd like a cleaning.",
            "Yes please. And my jaw is swollen, can someone call me back today?",
        ],
    )
    [appointment] = await site.store.appointments.upcoming_for_patient(ann.id, after=site.clock.now)
    assert appointment.call_id == "SCL_browser1" and appointment.booked_by is None
    messages = await site.store.records.open_messages(site.practice.id)
    [urgent] = [m for m in messages if m.urgency == "urgent"]
    assert (urgent.caller_name, urgent.callback_number, urgent.call_id) == (
        "Ann Lee",
        CALLER,
        "SCL_browser1",
    )
    # Two callers who have waited longer (the tool stamps the message with the machine's
    # clock, so "longer" is counted from it): the urgent one must still come first.
    for name, minutes, urgency in (("Bob Stone", 90, "routine"), ("Grace Whitfield", 60, "soon")):
        await site.store.records.add_message(
            practice_id=site.practice.id,
            caller_name=name,
            callback_number="+14145550177",
            reason=f"{name} would like a call back",
            urgency=urgency,
            created_at=urgent.created_at - timedelta(minutes=minutes),
        )

    page = site.page
    await site.sign_in()
    day = appointment.starts_at.astimezone(site.practice.tz).date()
    await page.goto(f"/today?date={day.isoformat()}")
    provider = site.practice.provider(appointment.provider_id)
    column = page.locator("section.provider", has=page.get_by_role("heading", name=provider.name))
    row = column.locator("tbody tr", has_text="Ann Lee")
    await expect(row).to_have_count(1)
    visit = site.practice.visit_type(appointment.visit_type)
    local = appointment.starts_at.astimezone(site.practice.tz)
    await expect(row).to_contain_text(visit.name)
    await expect(row.get_by_role("link").first).to_have_text(re.compile(f"^{local:%H:%M}"))
    link = row.get_by_role("link", name="the assistant, on a call")
    await follow(page, link)
    assert site.path() == f"/calls/{call.state.record_id}"
    timeline = page.locator("ol.timeline")
    for step in ("Identity checked", "Times offered", "Booked", "Message taken"):
        await expect(timeline).to_contain_text(step)

    await follow(page, page.get_by_role("link", name="Messages", exact=True))
    assert await caller_names(page) == ["Ann Lee", "Grace Whitfield", "Bob Stone"]
    top = page.locator("li.message").first
    await expect(top.locator(".badge.urgent")).to_have_text("urgent")
    await expect(top.locator(".reason")).to_have_text(
        "Swelling on the left side of her jaw since last night"
    )
    await expect(top.get_by_role("link", name=CALLER)).to_have_attribute("href", f"tel:{CALLER}")
    await expect(top.get_by_role("link", name="the call")).to_have_attribute(
        "href", "/calls/from/SCL_browser1"
    )


async def test_marking_a_message_handled_with_a_note(site: Site):
    message_id = await add_message(
        site, "Hannah Brooks", 25, urgency="urgent", reason="Crown came off this morning"
    )
    await site.sign_in()
    page = site.page
    await page.goto("/messages")
    site.clock.advance(minutes=7)
    item = page.locator("li.message", has_text="Hannah Brooks")
    await item.get_by_label("Note").fill("Called back, booked her in at 2 pm today")
    await follow(page, item.get_by_role("button", name="Handled"))
    await expect(page.get_by_role("status").first).to_have_text("Marked as handled.")
    await expect(page.locator("li.message")).to_have_count(0)
    await expect(page.get_by_text("No open messages.")).to_be_visible()
    await expect(page.get_by_role("link", name="Open (0)")).to_be_visible()

    await follow(page, page.get_by_role("link", name="Handled", exact=True))
    done = page.locator("li.message", has_text="Hannah Brooks")
    when = site.clock.now.astimezone(site.practice.tz)
    await expect(done.locator(".handled")).to_have_text(
        f"Handled by Maria Santos on {when:%a %d %b %H:%M}: "
        "Called back, booked her in at 2 pm today"
    )
    await expect(done.get_by_role("button")).to_have_count(0)
    row = await site.store.staff.get_message(message_id)
    maria = await site.user("maria")
    assert row.handled_by == maria.id and row.handled_at == site.clock.now
    assert row.handled_note == "Called back, booked her in at 2 pm today"


# --- closures reach the next call ---------------------------------------------------------------


async def test_a_closure_added_in_the_browser_reaches_the_next_calls_greeting_and_times(
    site: Site,
):
    tomorrow = site.clock.now.astimezone(site.practice.tz).date() + timedelta(days=1)
    ten_am = datetime.combine(tomorrow, datetime.min.time(), tzinfo=site.practice.tz).replace(
        hour=10
    )
    assert site.practice.is_open(ten_am)  # an ordinary open morning in practice.toml

    def emergency_times() -> ScriptedLLM:
        return ScriptedLLM(
            [
                Step(
                    "find_open_times",
                    visit_type="emergency",
                    date_from=tomorrow.isoformat(),
                    date_to=(tomorrow + timedelta(days=1)).isoformat(),
                ),
                Say("I have these times."),
            ]
        )

    async def offered_days(call: Call, results: list[Any]) -> set[date]:
        [(output, is_error)] = tool_results(results[0], "find_open_times")
        assert not is_error, output
        ids = re.findall(r"opt-[0-9a-f]{6}", output)
        assert ids, output
        return {call.state.offers.get(i).start.astimezone(site.practice.tz).date() for i in ids}

    before, results = await phone_call(
        site, emergency_times(), ["I broke a tooth."], at=ten_am, call_id="SCL_before"
    )
    assert await first_words(before) == greeting(before.state.practice, is_open=True)
    assert tomorrow in await offered_days(before, results)

    await site.sign_in()
    page = site.page
    await follow(page, page.get_by_role("link", name="Closures and hours"))
    await page.get_by_label("First day").fill(tomorrow.isoformat())
    await page.get_by_label("Reason").fill("Closed because of snow")
    await follow(page, page.get_by_role("button", name="Add closure"))
    await expect(page.get_by_role("status").first).to_contain_text("Closure added")
    row = page.locator("table tbody tr", has_text="Closed because of snow")
    await expect(row).to_contain_text(f"{tomorrow:%a %d %b %Y}")
    await expect(row).to_contain_text("all day")
    await expect(row).to_contain_text("Maria Santos")
    [closure] = await site.store.closures.closures_from(site.practice.id, tomorrow)
    maria = await site.user("maria")
    assert (closure.start, closure.end, closure.created_by) == (tomorrow, None, maria.id)

    after, results = await phone_call(
        site, emergency_times(), ["I broke a tooth."], at=ten_am, call_id="SCL_after"
    )
    assert not after.state.practice.is_open(ten_am)
    assert after.state.practice.closure_on(tomorrow).reason == "Closed because of snow"
    assert await first_words(after) == greeting(after.state.practice, is_open=False)
    days = await offered_days(after, results)
    assert tomorrow not in days and days == {tomorrow + timedelta(days=1)}


# --- what the app refuses -----------------------------------------------------------------------


async def test_pages_redirect_to_sign_in_without_a_session_and_then_come_back(site: Site):
    page = site.page
    pages = ("/today", "/messages", "/calls", "/reminders", "/week", "/closures", "/accounts")
    for path in (*pages, "/audit"):
        response = await page.goto(path)
        assert response is not None and response.ok  # the sign-in page, after the redirect
        assert site.path() == "/login", path
        assert parse_qs(urlsplit(page.url).query)["next"] == [path]
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await expect(page.locator("header")).to_have_count(0)  # no menu, no names
    api = await page.request.get("/api/messages/count")
    assert api.status == 401
    await page.goto("/messages")
    await site.sign_in()
    assert site.path() == "/messages"  # back where they were going


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site):
    message_id = await add_message(site, "Lucy Tran", 5, urgency="urgent")
    await site.sign_in()
    page = site.page
    tomorrow = site.clock.now.astimezone(site.practice.tz).date() + timedelta(days=1)

    await page.goto("/closures")
    await page.get_by_label("First day").fill(tomorrow.isoformat())
    await page.get_by_label("Reason").fill("Closed because of snow")
    removed = await page.evaluate(
        """() => { const f = document.querySelector('form[action="/closures"]');
                   const i = f.querySelector('input[name="csrf_token"]'); i.remove();
                   return !f.querySelector('input[name="csrf_token"]'); }"""
    )
    assert removed
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="Add closure").click()
    assert (await posted.value).status == 403
    await expect(page.locator("main")).to_contain_text("security token is missing")

    await page.goto("/messages")
    item = page.locator("li.message", has_text="Lucy Tran")
    await item.get_by_label("Note").fill("called back")
    await item.locator('input[name="csrf_token"]').evaluate("i => i.remove()")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await item.get_by_role("button", name="Handled").click()
    assert (await posted.value).status == 403

    assert await site.count(StaffClosure) == 0
    assert (await site.store.staff.get_message(message_id)).handled_at is None
    for action in ("closure_added", "message_handled"):
        assert await site.count(AuditEntry, AuditEntry.action == action) == 0


async def test_a_callers_markup_is_shown_as_text_and_nothing_runs(site: Site):
    name = "<script>alert(1)</script>"
    reason = "[link=https://evil.example]click here[/link] <img src=x onerror=alert(2)> & more"
    script = ScriptedLLM(
        [
            Step("take_message", caller_name=name, reason=reason, urgency="urgent"),
            Say("I've passed that on."),
        ]
    )
    await phone_call(site, script, [f"My name is {name}. {reason}"], call_id="SCL_markup")
    [stored] = await site.store.records.open_messages(site.practice.id)
    assert (stored.caller_name, stored.reason) == (name, reason)  # kept as said

    await site.sign_in()
    page = site.page
    await page.goto("/messages")
    item = page.locator("li.message").first
    await expect(item.locator("p.caller strong")).to_have_text(name)
    await expect(item.locator("p.reason")).to_have_text(reason)
    assert await page.locator("main script, main img, main a[href*='evil']").count() == 0
    await follow(page, item.get_by_role("link", name="the call"))
    await expect(page.locator("ol.timeline")).to_contain_text("Message taken")
    await page.wait_for_timeout(300)  # time for anything that might run
    assert site.dialogs == []
    assert site.console_errors == []  # no script refused by the CSP either: none was there
    assert await page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0


async def test_idle_sign_out_lands_on_the_sign_in_page(site: Site):
    await site.sign_in()
    page = site.page
    idle = site.idle_minutes
    site.clock.advance(minutes=idle - 1)
    await follow(page, page.get_by_role("link", name="Messages", exact=True))
    assert site.path() == "/messages"  # activity: the idle time starts again
    site.clock.advance(minutes=idle - 1)
    await follow(page, page.get_by_role("link", name="Calls", exact=True))
    assert site.path() == "/calls"

    site.clock.advance(minutes=idle + 1)
    await follow(page, page.get_by_role("link", name="Today", exact=True))
    assert site.path() == "/login"
    assert "expired=1" in page.url
    await expect(page.get_by_role("status")).to_contain_text(f"{int(idle)} minutes")
    await expect(page.locator("header")).to_have_count(0)
    assert await site.count(StaffSession) == 0
    await page.goto("/calls")
    assert site.path() == "/login"  # the session is gone, not just hidden


# --- every page, and the screenshots ------------------------------------------------------------


async def test_every_page_renders_and_the_screenshots(site: Site):
    """Every page in the browser over a morning's demo data: no script errors, no CSP refusals,
    nothing fails to load. With SCREENSHOTS set (SQLite run), each page is saved as
    <SCREENSHOTS>/<page>.png (1280 wide, the whole page)."""
    page = site.page
    demo = await load_demo(site)

    # 08:10, the front desk opens up: the callback queue, a message handled, a closure added.
    site.clock.now = demo.at(8, 10)
    await site.sign_in("maria")
    await follow(page, page.get_by_role("link", name="Messages", exact=True))
    lucy = page.locator("li.message", has_text="Lucy Tran")
    await lucy.get_by_label("Note").fill("Called back: yes, Guardian is billed directly.")
    site.clock.advance(minutes=4)
    await follow(page, lucy.get_by_role("button", name="Handled"))
    site.clock.advance(minutes=6)
    await follow(page, page.get_by_role("link", name="Closures and hours"))
    await page.get_by_label("First day").fill(demo.thursday.isoformat())
    await page.get_by_label("Closed from").fill("13:00")
    await page.get_by_label("Open again at").fill("17:00")
    await page.get_by_label("Reason").fill("Team meeting in the afternoon")
    await follow(page, page.get_by_role("button", name="Add closure"))
    await expect(page.get_by_role("status").first).to_contain_text("Closure added")
    site.clock.advance(minutes=1)
    await follow(page, page.get_by_role("button", name="Sign out"))

    # 11:40, the practice owner looks in: every page.
    site.clock.now = demo.at(11, 40)
    await page.goto("/login")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await site.screenshot("login")
    await site.sign_in("amara")
    [ann] = await site.store.staff.search_patients(demo.practice.id, name="Ann Lee")
    pages = [
        ("today", "/today", "(today)"),
        ("patients", "/patients", "Patients at"),
        ("patient", f"/patients/{ann.id}", "Ann Lee"),
        ("messages", "/messages", "Messages"),
        ("calls", "/calls", "Calls"),
        ("call", f"/calls/{demo.call_record_id}", "Call of"),
        ("reminders", "/reminders", "Reminder calls"),
        ("week", "/week", "week of"),
        ("closures", "/closures", "Closures and hours"),
        ("accounts", "/accounts", "Staff accounts"),
        ("audit", "/audit", "Audit log"),
    ]
    for name, path, heading in pages:
        site.clock.advance(seconds=40)
        response = await page.goto(path)
        assert response is not None and response.status == 200, path
        await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        await site.screenshot(name)
    assert site.console_errors == [] and site.dialogs == []

    await page.goto("/today")
    await expect(page.locator("section.provider tbody tr")).to_have_count(demo.appointments_today)
    await page.goto("/messages")
    assert (await caller_names(page))[0] == demo.urgent_caller
    await page.goto("/week")
    await expect(page.locator("#booked-by-assistant")).to_have_text(str(demo.booked_by_calls))
    await expect(page.locator("#booked-by-staff")).to_have_text(str(demo.booked_by_staff))


# --- demo data for the screenshots: a made-up practice morning ----------------------------------

# Tuesday 9 March 2027 at the example practice (America/Chicago).
DEMO_DAY = date(2027, 3, 9)
DEMO_PATIENTS = {  # made up, with 555-01xx numbers
    "ann": ("Ann Lee", date(1980, 2, 29), "+14145550142"),
    "bob": ("Bob Stone", date(1975, 6, 1), "+14145550123"),
    "priya": ("Priya Raman", date(1991, 11, 3), "+14145550168"),
    "tomas": ("Tomás Herrera", date(1968, 4, 17), "+14145550131"),
    "grace": ("Grace Whitfield", date(1987, 9, 22), "+14145550156"),
    "dmitri": ("Dmitri Volkov", date(1959, 1, 30), "+14145550119"),
    "hannah": ("Hannah Brooks", date(2001, 5, 12), "+14145550184"),
    "kwame": ("Kwame Mensah", date(1983, 8, 8), "+14145550107"),
    "lucy": ("Lucy Tran", date(1995, 12, 19), "+14145550172"),
    "oliver": ("Oliver Grant", date(2012, 3, 2), "+14145550145"),
}


def demo_usage(seconds: float) -> dict:
    """Model usage of the size a call of `seconds` reports (LiveKit's per-model summary)."""
    return {
        "models": [
            {
                "type": "llm_usage",
                "provider": "openai",
                "model": "gpt-4.1-mini",
                "input_tokens": int(seconds * 58),
                "output_tokens": int(seconds * 2.4),
            },
            {
                "type": "tts_usage",
                "provider": "cartesia",
                "model": "sonic-2",
                "characters_count": int(seconds * 7.5),
            },
            {
                "type": "stt_usage",
                "provider": "deepgram",
                "model": "nova-3",
                "audio_duration": seconds,
            },
        ],
        "replies": [{"at": 0.0, "wait_s": 0.7 + (i % 3) / 10} for i in range(int(seconds / 10))],
    }


@dataclass
class Demo:
    practice: Practice
    call_record_id: str
    appointments_today: int
    booked_by_calls: int
    booked_by_staff: int
    urgent_caller: str

    def at(self, hour: int, minute: int = 0, day: date = DEMO_DAY) -> datetime:
        """A wall-clock time at the practice, as the UTC instant the clocks hold."""
        local = datetime.combine(day, time(hour, minute), tzinfo=self.practice.tz)
        return local.astimezone(UTC)

    @property
    def thursday(self) -> date:
        return DEMO_DAY + timedelta(days=2)


async def load_demo(site: Site) -> Demo:
    """A Tuesday morning at the example practice: the day's visits (booked on calls and by
    staff), Monday's calls, two calls this morning through the harness (after hours, a swollen
    jaw: an urgent visit and an urgent message; a check-up booking), the callback queue, a
    closure and four accounts. Every name, birth date and number is made up (555-01xx)."""
    store, practice = site.store, site.practice
    demo = Demo(practice, "", 0, 0, 0, DEMO_PATIENTS["ann"][0])
    monday = DEMO_DAY - timedelta(days=1)
    site.clock.now = demo.at(7, 0)
    maria, amara = await site.user("maria"), await site.user("amara")
    jordan = await add_user(store, "jordan", full_name="Jordan Price")
    sam = await add_user(store, "sam", full_name="Sam Keller")
    await store.staff.update_staff_user(sam.id, active=False)
    for user in (amara, maria, jordan, sam):
        await store.staff.update_staff_user(user.id, created_at=demo.at(9, 0, date(2027, 1, 25)))
    patients = {
        key: (await store.appointments.register_patient(practice.id, name, born, phone))[0]
        for key, (name, born, phone) in DEMO_PATIENTS.items()
    }
    made_at: dict[str, datetime] = {}  # appointment id -> when it was booked

    # Today's visits: (patient, provider, visit, starts, booked on a call or by whom, when).
    todays_visits = [
        ("grace", "maria-santos", "checkup", (8, 0), maria.id, (11, 5)),
        ("tomas", "dr-okafor", "filling", (8, 30), jordan.id, (10, 20)),
        ("dmitri", "dr-okafor", "filling", (9, 30), "SCL_demo_mon_2", (10, 17)),
        ("hannah", "maria-santos", "checkup", (9, 30), "SCL_demo_mon_0", (8, 7)),
        ("bob", "maria-santos", "checkup", (11, 0), jordan.id, (14, 40)),
        ("lucy", "dr-okafor", "filling", (14, 0), "SCL_demo_mon_4", (13, 32)),
        ("oliver", "maria-santos", "checkup", (15, 0), maria.id, (16, 2)),
    ]
    for key, provider, visit_type, starts, who, booked in todays_visits:
        start = demo.at(*starts)
        on_call = who.startswith("SCL_")
        row = await store.appointments.book(
            practice_id=practice.id,
            provider_id=provider,
            patient_id=patients[key].id,
            visit_type=visit_type,
            starts_at=start,
            ends_at=start + timedelta(minutes=practice.visit_type(visit_type).duration_minutes),
            call_id=who if on_call else "",
            booked_by=None if on_call else who,
        )
        made_at[row.id] = demo.at(*booked, monday)

    # Monday's calls, as the worker records them.
    monday_calls = [
        (8, 5, ["booked"], 142, "+14145550184"),
        (9, 40, ["information"], 63, "+14145550191"),
        (10, 15, ["booked"], 171, "+14145550119"),
        (12, 2, ["message", "transferred"], 88, "+14145550133"),
        (13, 30, ["booked"], 124, "+14145550172"),
        (15, 55, ["abandoned"], 9, "unknown"),
        (18, 20, ["message"], 77, "+14145550156"),
    ]
    for index, (hour, minute, outcomes, seconds, caller) in enumerate(monday_calls):
        started = demo.at(hour, minute, monday)
        events = [
            {
                "at": (started + timedelta(seconds=30 + 10 * n)).isoformat(),
                "kind": kind,
                "detail": "",
            }
            for n, kind in enumerate(outcomes)
        ]
        if "transferred" in outcomes:
            events.insert(
                0,
                {
                    "at": (started + timedelta(seconds=25)).isoformat(),
                    "kind": "transfer_failed",
                    "detail": "486 Busy Here",
                },
            )
        await store.records.insert_once(
            "call",
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-call-{index}")),
                "practice_id": practice.id,
                "caller": caller,
                "dialled": practice.phone,
                "livekit_call_id": f"SCL_demo_mon_{index}",
                "started_at": started,
                "duration_seconds": float(seconds),
                "outcome": outcomes[-1] if "transferred" in outcomes else outcomes[0],
                "outcomes": outcomes,
                "usage": demo_usage(seconds),
                "events": events,
            },
        )

    # This morning's calls, through the agent. 07:12, before opening: a swollen jaw.
    with_transcripts = practice.model_copy(update={"records": Records(transcripts=True)})
    ann = DEMO_PATIENTS["ann"]
    urgent_call, _ = await phone_call(
        site,
        ScriptedLLM(
            [
                Say("I'm sorry to hear that. May I have your full name and date of birth?"),
                Step("verify_patient", full_name=ann[0], date_of_birth=ann[1].isoformat()),
                Step("find_open_times", visit_type="emergency", date_from=DEMO_DAY.isoformat()),
                Say(
                    "Thank you, Ann. The first urgent visit is today at 8 AM with "
                    "Dr. Amara Okafor. Shall I book it?"
                ),
                lambda ctx: Step("book_appointment", option_id=option_ids(ctx)[0]),
                Step(
                    "take_message",
                    caller_name=ann[0],
                    reason="Swelling on the left side of the jaw since last night, painful "
                    "to chew. Booked for 8 AM; please call if anything earlier opens.",
                    urgency="urgent",
                ),
                Say(
                    "You're booked for 8 AM today with Dr. Okafor, and I've passed a note to "
                    "the team as urgent: they'll call you when the office opens."
                ),
            ]
        ),
        [
            "Hi, my jaw is really swollen on the left side and it hurts to chew.",
            "Ann Lee, February 29th, 1980.",
            "Yes please. And can someone call me as soon as they're in?",
        ],
        at=demo.at(7, 12),
        caller=ann[2],
        call_id="SCL_demo_tue_1",
        practice=with_transcripts,
        seconds_per_turn=21,
        usage=demo_usage(84),
    )
    demo.call_record_id = urgent_call.state.record_id
    # 09:05: a check-up, booked for a later day.
    priya = DEMO_PATIENTS["priya"]
    await phone_call(
        site,
        ScriptedLLM(
            [
                Step("verify_patient", full_name=priya[0], date_of_birth=priya[1].isoformat()),
                Step("find_open_times", visit_type="checkup", part_of_day="morning"),
                Say("I have Wednesday at 8 AM with Maria Santos. Would that work?"),
                lambda ctx: Step("book_appointment", option_id=option_ids(ctx)[0]),
                Say("You're booked. Is there anything else?"),
            ]
        ),
        [
            "Hello, Priya Raman, born November 3rd 1991. I need my cleaning, mornings.",
            "Yes, Wednesday is great.",
        ],
        at=demo.at(9, 5),
        caller=priya[2],
        call_id="SCL_demo_tue_2",
        practice=with_transcripts,
        seconds_per_turn=25,
        usage=demo_usage(75),
    )

    # The callback queue (Lucy's is handled in the browser by the test).
    async def message(name, at, reason, number, **values):
        await store.records.add_message(
            practice_id=practice.id,
            caller_name=name,
            callback_number=number,
            reason=reason,
            created_at=at,
            **values,
        )

    await message(
        "Marcus Bell",
        demo.at(12, 3, monday),
        "Asked about whitening prices; please call after 5 pm.",
        "+14145550133",
        call_id="SCL_demo_mon_3",
    )
    await message(
        "Lucy Tran",
        demo.at(13, 33, monday),
        "Does the practice take Guardian dental insurance?",
        "+14145550172",
        call_id="SCL_demo_mon_4",
    )
    await message(
        "Grace Whitfield",
        demo.at(18, 21, monday),
        "Wants to move Friday's check-up to the week after.",
        "+14145550156",
        urgency="soon",
        call_id="SCL_demo_mon_6",
    )
    await message(
        "dana kowalski",
        demo.at(9, 34),
        "Identity checks locked: 3 failed attempts within 24 h (for the name 'dana kowalski': "
        "3; from ***-***-0188: 3). Nothing was disclosed. Call the patient back to confirm "
        "who they are; clear the lock with `receptionist locks clear`.",
        "+14145550188",
        urgency="soon",
        kind="security",
    )
    await store.closures.add_closure(
        practice.id,
        start=DEMO_DAY + timedelta(days=10),
        end=None,
        reason="Closed for staff training",
        created_by=amara.id,
    )

    # What the calls wrote carries the machine's time (the tools take no clock): put it at the
    # calls' own times, so the week's figures and the queue read as that morning.
    call_times = {"SCL_demo_tue_1": demo.at(7, 13), "SCL_demo_tue_2": demo.at(9, 6)}
    async with store.sessions.session(write=True) as s:
        for call_id, at in call_times.items():
            await s.execute(update(Message).where(Message.call_id == call_id).values(created_at=at))
            await s.execute(
                update(Appointment).where(Appointment.call_id == call_id).values(created_at=at)
            )
        for appointment_id, at in made_at.items():
            await s.execute(
                update(Appointment).where(Appointment.id == appointment_id).values(created_at=at)
            )
        rows = list(await s.scalars(select(Appointment).where(Appointment.status == "booked")))
    demo.appointments_today = sum(
        1 for a in rows if a.starts_at.astimezone(practice.tz).date() == DEMO_DAY
    )
    demo.booked_by_staff = sum(1 for a in rows if a.booked_by)
    demo.booked_by_calls = len(rows) - demo.booked_by_staff
    return demo
