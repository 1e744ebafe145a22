"""Closures and hours: practice.toml's shown read-only; a closure staff add reaches the next call
(`practice_today`, what the greeting, availability and after-hours routing read)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from receptionist.domain.closures import practice_today
from receptionist.store.models import AuditEntry
from tests.support.web import Rig

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = date(2030, 3, 5)


async def add(client, csrf: str, **fields: str):
    return await client.post(
        "/closures", data={"csrf_token": csrf, "practice": "lakeside", **fields}
    )


async def next_call_sees(rig: Rig):
    return await practice_today(rig.store, rig.practice, rig.clock.now.astimezone(CHICAGO).date())


async def test_the_page_shows_the_profiles_hours_and_closures(staff_client):
    client, _ = staff_client
    page = await client.get("/closures")
    assert page.status_code == 200
    assert "<th>Monday</th><td>08:00&ndash;17:00</td>" in page.text
    assert "<th>Saturday</th><td>closed</td>" in page.text
    assert "Casey Hygienist (hygienist)" in page.text


async def test_a_closure_added_here_is_what_the_next_call_sees(staff_client, rig):
    client, csrf = staff_client
    added = await add(client, csrf, start="2030-03-05", reason="Closed because of snow")
    assert added.status_code == 303 and "notice=closure_added" in added.headers["location"]
    practice = await next_call_sees(rig)
    closure = practice.closure_on(TUESDAY)
    assert closure is not None and closure.reason == "Closed because of snow"
    assert not practice.is_open(datetime(2030, 3, 5, 10, tzinfo=CHICAGO))
    assert practice.is_open(datetime(2030, 3, 6, 10, tzinfo=CHICAGO))
    page = await client.get("/closures")
    assert "Closed because of snow" in page.text and "Maria Santos" in page.text
    # booking on that day from the screen offers the next open day instead
    ann, _ = await rig.store.appointments.register_patient(
        "lakeside", "Ann Lee", date(1980, 1, 1), "unknown"
    )
    book = await client.get(
        "/book", params={"patient": ann.id, "visit": "exam", "date": TUESDAY.isoformat()}
    )
    assert "Nothing open on Tuesday 05 March 2030" in book.text
    today = await client.get("/today", params={"date": TUESDAY.isoformat()})
    assert "Closed all day: Closed because of snow." in today.text

    closure_id = re.search(r'action="/closures/([^/]+)/remove"', page.text).group(1)
    removed = await client.post(
        f"/closures/{closure_id}/remove", data={"csrf_token": csrf, "practice": "lakeside"}
    )
    assert removed.status_code == 303 and "notice=closure_removed" in removed.headers["location"]
    assert (await next_call_sees(rig)).closure_on(TUESDAY) is None
    async with rig.store.sessions.session(write=False) as s:
        actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))
    assert "closure_added" in actions and "closure_removed" in actions


async def test_part_of_a_day_and_a_range(staff_client, rig):
    client, csrf = staff_client
    part = await add(
        client,
        csrf,
        start="2030-03-05",
        start_time="12:00",
        end_time="17:00",
        reason="staff meeting",
    )
    assert part.status_code == 303
    ranged = await add(client, csrf, start="2030-03-11", end="2030-03-13", reason="renovation")
    assert ranged.status_code == 303
    practice = await next_call_sees(rig)
    assert practice.is_open(datetime(2030, 3, 5, 11, tzinfo=CHICAGO))
    assert not practice.is_open(datetime(2030, 3, 5, 13, tzinfo=CHICAGO))
    assert [(c.hours.start, c.hours.end) for c in practice.closures if c.hours] == [
        (time(12), time(17))
    ]
    assert all(practice.closure_on(date(2030, 3, d)) for d in (11, 12, 13))
    assert practice.closure_on(date(2030, 3, 14)) is None


async def test_closures_the_rules_refuse(staff_client, rig):
    client, csrf = staff_client
    cases = {
        "in the past": {"start": "2030-03-01", "reason": "late"},
        "swap them": {"start": "2030-03-06", "end": "2030-03-05", "reason": "x y"},
        "give both times": {"start": "2030-03-06", "start_time": "12:00", "reason": "x y"},
        "after the closing time": {
            "start": "2030-03-06", "start_time": "12:00", "end_time": "11:00", "reason": "x y",
        },
        "reason is missing": {"start": "2030-03-06", "reason": " "},
        "not a date": {"start": "next week", "reason": "x y"},
    }  # fmt: skip
    for expected, fields in cases.items():
        refused = await add(client, csrf, **fields)
        assert refused.status_code == 400 and expected in refused.text, expected
    assert await rig.store.closures.closures_from("lakeside", date(2030, 3, 1)) == []
