"""Calls: the log with outcome, duration, transfer and model usage; one call's timeline and
transcript."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from receptionist.domain.practice import PracticeDirectory
from receptionist.store.models import AuditEntry
from receptionist.web import create_app
from tests.support.web import (
    MONDAY_8AM,
    PASSWORD,
    Rig,
    add_user,
    app_settings,
    post_login,
    web_practice,
)

USAGE = {
    "models": [
        {"type": "llm_usage", "provider": "openai", "model": "gpt-4.1-mini",
         "input_tokens": 2100, "output_tokens": 150},
        {"type": "tts_usage", "provider": "openai", "model": "gpt-4o-mini-tts",
         "characters_count": 640},
        {"type": "stt_usage", "provider": "deepgram", "model": "nova-3", "audio_duration": 74.2},
    ]
}  # fmt: skip
EVENTS = [  # stored in the order written; the page sorts by time
    {"at": "2030-03-04T13:01:10+00:00", "kind": "transfer_failed", "detail": "busy"},
    {"at": "2030-03-04T13:00:05+00:00", "kind": "identity_checked", "detail": "verified"},
    {"at": "2030-03-04T13:00:40+00:00", "kind": "times_offered", "detail": "3 for checkup"},
    {"at": "2030-03-04T13:01:30+00:00", "kind": "message_taken", "detail": "<b>urgent</b>"},
]
TRANSCRIPT = [
    {"role": "assistant", "text": "Lakeside Family Dental, how can I help?"},
    {"role": "user", "text": "<script>steal()</script> I need a cleaning"},
]


async def call(rig: Rig, record_id: str, minutes_ago: float, **values) -> None:
    row = {
        "id": record_id,
        "practice_id": "lakeside",
        "caller": "+14145550123",
        "dialled": "+14145550100",
        "livekit_call_id": f"SCL_{record_id}",
        "started_at": MONDAY_8AM - timedelta(minutes=minutes_ago),
        "duration_seconds": 74.0,
        "outcome": "information",
        "outcomes": ["information"],
        **values,
    }
    assert await rig.store.records.insert_once("call", row)


async def test_the_call_log_shows_what_an_owner_asks_about(staff_client, rig):
    client, _ = staff_client
    await call(rig, "c1", 60, outcome="message", outcomes=["message"], usage=USAGE, events=EVENTS)
    await call(
        rig, "c2", 30, outcome="transferred", outcomes=["transferred"], duration_seconds=3725
    )
    await call(rig, "c3", 10, outcome="abandoned", outcomes=[], caller="unknown")
    page = await client.get("/calls")
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)[1:]
    assert [re.search(r'href="/calls/(\w+)"', r).group(1) for r in rows] == ["c3", "c2", "c1"]
    c1, c2, c3 = rows[2], rows[1], rows[0]
    assert "Mon 04 Mar 07:00" in c1 and "message" in c1 and "1:14" in c1
    assert "failed: busy" in c1
    assert "llm openai gpt-4.1-mini: 2,100 in / 150 out tokens" in c1
    assert "tts openai gpt-4o-mini-tts: 640 characters" in c1 and "74 s audio" in c1
    assert "put through" in c2 and "1:02:05" in c2
    assert "abandoned" in c3 and "none" in c3
    only = await client.get("/calls", params={"outcome": "transferred"})
    assert re.findall(r'href="/calls/(\w+)"', only.text) == ["c2"]


async def test_the_call_log_pages_back(staff_client, rig):
    client, _ = staff_client
    for i in range(55):
        await call(rig, f"p{i:02d}", i)
    first = await client.get("/calls")
    assert len(re.findall(r'href="/calls/p\d+"', first.text)) == 50
    older = re.search(r'href="(/calls\?before=[^"]+)"', first.text).group(1)
    second = await client.get(older.replace("&amp;", "&"))
    assert re.findall(r'href="/calls/(p\d+)"', second.text) == [f"p{i}" for i in range(50, 55)]


async def test_a_call_page_shows_the_steps_in_order_and_the_transcript_when_kept(
    db_url, store, clock, tmp_path
):
    keeps = web_practice(records={"transcripts": True})
    app = create_app(
        app_settings(db_url, tmp_path),
        store=store,
        directory=PracticeDirectory([keeps]),
        clock=clock,
    )
    rig = Rig(app, None, store, clock, keeps, None)  # type: ignore[arg-type]
    await call(rig, "kept", 5, events=EVENTS, transcript=TRANSCRIPT, usage=USAGE)
    await add_user(store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await post_login(client, "maria", PASSWORD)
        page = await client.get("/calls/kept")
    html = page.text
    steps = re.findall(r"<strong>([A-Z][a-z ]+)</strong>", html.split("What the assistant did")[1])
    assert steps[:4] == ["Identity checked", "Times offered", "Transfer failed", "Message taken"]
    assert "07:00:05" in html and "&lt;b&gt;urgent&lt;/b&gt;" in html
    assert "Lakeside Family Dental, how can I help?" in html
    assert "&lt;script&gt;steal()&lt;/script&gt; I need a cleaning" in html
    assert "<script>steal" not in html
    assert '<a href="tel:+14145550123">+14145550123</a>' in html


async def test_without_transcripts_the_page_says_so_and_views_are_audited(staff_client, rig):
    client, _ = staff_client
    await call(rig, "plain", 5)
    page = await client.get("/calls/plain")
    assert "does not keep transcripts" in page.text and "No steps were recorded" in page.text
    assert (await client.get("/calls/nothing-here")).status_code == 404
    missing = await client.get("/calls/from/SCL_unknown")
    assert missing.status_code == 404 and "not in the book yet" in missing.text
    async with rig.store.sessions.session(write=False) as s:
        actions = list(
            await s.scalars(select(AuditEntry.subject).where(AuditEntry.action == "viewed_call"))
        )
    assert actions == ["call plain"]


async def test_a_call_with_unreadable_events_still_shows_in_the_log_and_its_page(staff_client, rig):
    odd = ["not an event", {"at": "yesterday", "kind": "transfer_failed", "detail": "busy"}]
    await call(rig, "odd", 5, events=odd)
    client, _ = staff_client
    log = await client.get("/calls")
    assert log.status_code == 200 and "failed: busy" in log.text
    page = await client.get("/calls/odd")
    assert page.status_code == 200 and "Transfer failed" in page.text


async def test_a_call_page_shows_how_long_the_caller_waited_for_replies(staff_client, rig):
    replies = [{"at": 1.0, "wait_s": w} for w in (0.62, 0.71, 1.93)]
    await call(rig, "timed", 5, usage={**USAGE, "replies": replies})
    await call(rig, "older", 6, usage=USAGE)  # recorded before reply times were kept
    await call(rig, "odd", 7, usage={"replies": [{"wait_s": "slow"}, "junk"]})
    client, _ = staff_client

    def reply_time(html: str) -> str:
        return re.search(r'<dd id="reply-time">(.*?)</dd>', html).group(1)

    timed = (await client.get("/calls/timed")).text
    assert reply_time(timed) == "0.7 s typical, 1.9 s at most (3 replies)"
    assert "gpt-4.1-mini" in timed  # the model usage beside it is still read
    assert reply_time((await client.get("/calls/older")).text) == "not recorded"
    assert reply_time((await client.get("/calls/odd")).text) == "not recorded"
