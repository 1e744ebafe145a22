"""`demo-data` shows a real morning at the desk (issue 23): a full day sheet on the practice's next
open day (today when it is open), an urgent message left overnight, and yesterday's calls with
transcripts. Before, it made four visits on four later days, one routine message and one call,
so the staff app's Today page was empty."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from receptionist.domain.practice import load_practice
from receptionist.ops.demo import DEMO_PATIENTS, load_demo
from receptionist.paths import REPO_ROOT
from receptionist.store import Store

DAY_SHEET_VISITS = len(DEMO_PATIENTS)  # one each


async def test_the_demo_fills_a_day_sheet_and_leaves_an_overnight_urgent_message(store: Store):
    practice = load_practice(REPO_ROOT / "practice.toml")
    result = await load_demo(store, practice)
    today = practice.now().date()
    assert result.day_sheet is not None and result.day_sheet >= today
    assert practice.hours.on(result.day_sheet.weekday()), "a day the practice opens"
    start = datetime.combine(result.day_sheet, time(0), practice.tz)
    day = await store.appointments.appointments_between(
        practice.id, start, start + timedelta(days=1)
    )
    assert len({p.id for _, p in day}) == DAY_SHEET_VISITS
    assert len({a.provider_id for a, _ in day}) >= 2, "spread over the providers"

    messages = await store.records.open_messages(practice.id)
    [urgent] = [m for m in messages if m.urgency == "urgent"]
    opened = datetime.combine(today, time(0), practice.tz)
    assert urgent.created_at < opened, "left overnight, before the desk opens"
    assert urgent.patient_id is not None

    calls = await store.records.recent_calls(practice.id)
    yesterday = [c for c in calls if c.started_at.astimezone(practice.tz).date() < today]
    assert len(yesterday) >= 3
    assert all(c.transcript for c in yesterday), "what was said, to read on the call page"
    assert urgent.call_id in {c.livekit_call_id for c in calls}


async def test_loading_the_demo_twice_adds_nothing(store: Store):
    practice = load_practice(REPO_ROOT / "practice.toml")
    first = await load_demo(store, practice)
    again = await load_demo(store, practice)
    assert first.booked >= DAY_SHEET_VISITS and again.booked == 0
    assert again.day_sheet == first.day_sheet
    assert len(await store.records.open_messages(practice.id)) == 2
    assert len(await store.records.recent_calls(practice.id)) == 4
