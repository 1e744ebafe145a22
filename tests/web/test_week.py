"""This week: the figures an owner asks for, counted over the practice's own Monday to Sunday."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from receptionist.store.models import Appointment, new_id
from tests.support.web import Rig

CHICAGO = ZoneInfo("America/Chicago")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in March 2030 (the week of Monday the 4th; DST starts Sunday the 10th)."""
    return datetime(2030, 3, day, hour, minute, tzinfo=CHICAGO)


async def seed_week(rig: Rig) -> None:
    calls = [
        (local(4, 9), "booked", ["booked"]),
        (local(4, 18, 30), "message", ["message"]),  # after closing
        (local(5, 7), "transferred", ["transferred"]),  # before opening
        (local(6, 12), "abandoned", []),
        (local(7, 10), "information", ["information"]),  # a closure staff added
        (local(9, 11), "emergency", ["emergency", "message"]),  # Saturday
        (local(3, 23, 30), "booked", ["booked"]),  # the Sunday before: not this week
        (local(11, 0, 30), "booked", ["booked"]),  # the Monday after: not this week
    ]
    for index, (started, outcome, outcomes) in enumerate(calls):
        # Reply times: 1.0 s and 1.0 + index/10 s per call; the week's are those of calls 0-5.
        replies = [{"at": 1.0, "wait_s": 1.0}, {"at": 2.0, "wait_s": 1.0 + index / 10}]
        await rig.store.records.insert_once(
            "call",
            {
                "id": f"call-{index}",
                "practice_id": "lakeside",
                "started_at": started,
                "outcome": outcome,
                "outcomes": outcomes,
                "usage": {"models": [], "replies": replies} if index != 3 else None,
            },
        )
    await rig.store.closures.add_closure(
        "lakeside", start=date(2030, 3, 7), end=None, reason="training"
    )
    ann, _ = await rig.store.appointments.register_patient(
        "lakeside", "Ann Lee", date(1980, 2, 29), "unknown"
    )
    [staff] = await rig.store.staff.staff_users()
    made = [  # (created, starts, booked_by, replaces)
        (local(4, 9), local(12, 9), None, None),
        (local(5, 7), local(13, 9), None, None),
        (local(6, 10), local(14, 9), staff.id, None),
        (local(6, 11), local(15, 9), None, "an-old-one"),  # a move, not a booking
        (local(1, 9), local(18, 9), None, None),  # made the week before
    ]
    async with rig.store.sessions.session(write=True) as s:
        for created, starts, booked_by, replaces in made:
            s.add(
                Appointment(
                    id=new_id(),
                    practice_id="lakeside",
                    provider_id="dr-a",
                    patient_id=ann.id,
                    visit_type="exam",
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=30),
                    status="booked",
                    call_id="" if booked_by else "SCL_x",
                    booked_by=booked_by,
                    replaces_id=replaces,
                    created_at=created,
                )
            )
    messages = [
        (local(4, 18, 31), "urgent", "callback"),
        (local(5, 9), "routine", "security"),
        (local(8, 9), "soon", "callback"),
        (local(1, 9), "urgent", "callback"),  # the week before
    ]
    for created, urgency, kind in messages:
        await rig.store.records.add_message(
            practice_id="lakeside",
            callback_number="+14145550123",
            reason="call me",
            urgency=urgency,
            kind=kind,
            created_at=created,
        )


def figure(html: str, name: str) -> int:
    return int(re.search(rf'<dd id="{name}">(\d+)</dd>', html).group(1))


async def test_the_weeks_figures(staff_client, rig):
    client, _ = staff_client
    await seed_week(rig)
    page = await client.get("/week", params={"date": "2030-03-06"})  # any day of the week
    html = page.text
    assert page.status_code == 200 and "week of Monday 04 March 2030" in html
    assert figure(html, "calls") == 6
    assert figure(html, "after-hours") == 4
    assert figure(html, "booked-by-assistant") == 2
    assert figure(html, "booked-by-staff") == 1
    assert figure(html, "messages") == 3
    assert figure(html, "urgent") == 2
    assert figure(html, "transfers") == 1
    assert figure(html, "abandoned") == 1
    assert figure(html, "emergencies") == 1
    # Calls 0, 1, 2, 4, 5 (call 3 kept none): 1.0 x5, then 1.0, 1.1, 1.2, 1.4, 1.5
    assert re.search(r'<dd id="reply-time">(.*?)</dd>', html).group(1) == (
        "1.0 s <small>typical; 1.5 s at most (10 replies)</small>"
    )
    days = re.findall(r"<tr><td>(\w+) \d\d \w+</td><td>(\d+)</td><td>(\d+)</td>", html)
    assert days == [
        ("Monday", "2", "1"),
        ("Tuesday", "1", "1"),
        ("Wednesday", "1", "0"),
        ("Thursday", "1", "1"),
        ("Friday", "0", "0"),
        ("Saturday", "1", "1"),
        ("Sunday", "0", "0"),
    ]
    following = await client.get("/week", params={"date": "2030-03-11"})
    assert figure(following.text, "calls") == 1
    empty = await client.get("/week", params={"date": "2030-04-01"})
    assert '<dd id="reply-time"><small>no replies recorded</small></dd>' in empty.text
