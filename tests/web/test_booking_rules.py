"""The staff screens under the agent's booking rules, on SQLite and PostgreSQL: the times shown
for a patient never clash with that patient's own visits, the caps hold when two screens book at
once, and any name a patient can have registers and is found."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from tests.web.test_today import (
    TUESDAY,
    WEDNESDAY,
    appointments,
    at,
    book_by_call,
    offered,
    patient,
    post_book,
)


async def test_the_book_page_offers_no_time_that_clashes_with_the_patients_visit(staff_client, rig):
    client, csrf = staff_client
    bob = await patient(rig, "Bob Stone", date(1975, 6, 1))
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    await book_by_call(rig, bob, "dr-a", at(TUESDAY, 8))  # an exam with Dr. Able, 8:00-8:30
    page = await client.get(
        "/book", params={"patient": bob, "visit": "checkup", "date": TUESDAY.isoformat()}
    )
    times = offered(page.text)
    assert ("hy-c", at(TUESDAY, 8)) not in times and ("hy-c", at(TUESDAY, 8, 15)) not in times
    assert times[0] == ("hy-c", at(TUESDAY, 8, 30))  # right after his exam
    assert ("hy-c", at(TUESDAY, 9)) in times
    others = offered(
        (
            await client.get(
                "/book", params={"patient": ann, "visit": "checkup", "date": TUESDAY.isoformat()}
            )
        ).text
    )
    assert others[0] == ("hy-c", at(TUESDAY, 8))  # Bob's visit is no one else's business
    booked = await post_book(client, csrf, bob, "checkup", *times[0])
    assert booked.status_code == 303
    assert len(await appointments(rig)) == 2


async def test_the_move_page_leaves_out_the_patients_other_visits_not_the_one_moved(
    staff_client, rig
):
    client, _ = staff_client
    ann = await patient(rig, "Ann Lee", date(1980, 2, 29))
    exam = await book_by_call(rig, ann, "dr-a", at(WEDNESDAY, 9))
    await book_by_call(rig, ann, "dr-a", at(WEDNESDAY, 11))  # another of hers, with Dr. Able
    page = await client.get(
        f"/appointments/{exam.id}", params={"date": WEDNESDAY.isoformat(), "provider": "dr-b"}
    )
    times = offered(page.text)
    assert ("dr-b", at(WEDNESDAY, 9)) in times  # the visit being moved is no obstacle
    assert ("dr-b", at(WEDNESDAY, 11)) not in times  # her other visit is
    assert ("dr-b", at(WEDNESDAY, 10, 45)) not in times and ("dr-b", at(WEDNESDAY, 11, 30)) in times


async def test_two_screens_booking_a_new_patient_exam_at_once_book_one(staff_client, rig):
    client, csrf = staff_client
    nina = await patient(rig, "Nina New", date(1990, 1, 2), new=True)
    results = await asyncio.gather(
        post_book(client, csrf, nina, "new-exam", "dr-a", at(TUESDAY, 9)),
        post_book(client, csrf, nina, "new-exam", "dr-b", at(WEDNESDAY, 9)),
    )
    assert sorted(r.status_code for r in results) == [303, 422]
    refused = next(r for r in results if r.status_code == 422)
    assert "already has a new patient exam booked" in refused.text
    assert [a.visit_type for a in await appointments(rig)] == ["new-exam"]


async def test_a_name_that_grows_when_matched_registers_and_is_found(staff_client, rig):
    # U+FDFA is one character that becomes 18 when names are matched: ten of them made a key
    # too long for its column, and registering was an HTTP 500 on PostgreSQL.
    client, csrf = staff_client
    name = "ﷺ" * 10 + " Lee"
    form = {"csrf_token": csrf, "practice": "lakeside", "name": name, "dob": "1990-01-02"}
    registered = await client.post("/patients", data=form)
    assert registered.status_code == 303 and "notice=registered" in registered.headers["location"]
    patient_id = re.search(r"patient=([0-9a-f-]+)", registered.headers["location"]).group(1)
    found = await client.post("/patients/find", data=form)
    assert found.status_code == 303 and f"patient={patient_id}" in found.headers["location"]
    again = await client.post("/patients", data=form)
    assert "notice=already_patient" in again.headers["location"]
    assert await rig.store.count("patient") == 1
