"""The staff pages' queries (receptionist/store/staff.py), on SQLite and PostgreSQL: what they
return, and that they read the indexes migration 0007 added instead of a whole table.

The plans are checked on SQLite, whose planner uses no statistics, so its choice of index is
the same on a test's few rows as on a year of the book (bench/web.py measures the pages with
one). PostgreSQL's choice depends on the table's size and statistics: not checked here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from receptionist.store import Outbox, Store
from receptionist.store.models import ADMIN, Attendance, CallRecord, new_id
from receptionist.store.staff import LastAdmin, VisitFigures

T0 = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)  # a Monday, 09:00 in Chicago
DOB = date(1980, 2, 29)


async def _call(
    store: Store,
    started_at: datetime,
    *,
    livekit_call_id: str = "",
    outcome: str = "information",
    practice_id: str = "lakeside",
) -> str:
    record_id = new_id()
    await store.records.save(
        "call",
        {
            "id": record_id,
            "practice_id": practice_id,
            "livekit_call_id": livekit_call_id,
            "started_at": started_at,
            "duration_seconds": 30.0,
            "outcome": outcome,
            "outcomes": [outcome],
            "transcript": [{"role": "user", "text": "hello"}],
            "events": [],
        },
    )
    return record_id


async def _message(store: Store, at: datetime, urgency: str = "routine", **values: Any) -> str:
    message_id, where = await store.records.add_message(
        practice_id=values.pop("practice_id", "lakeside"),
        callback_number="+14145550123",
        reason="call me back",
        urgency=urgency,
        created_at=at,
        **values,
    )
    assert where == "stored"
    return message_id


async def test_call_record_of_a_livekit_call_id_is_the_newest(store: Store):
    await _call(store, T0, livekit_call_id="SCL_one")
    newer = await _call(store, T0 + timedelta(minutes=5), livekit_call_id="SCL_one")
    other = await _call(store, T0, livekit_call_id="SCL_two")
    assert await store.staff.call_record_id_for("SCL_one") == newer
    assert await store.staff.call_record_id_for("SCL_two") == other
    assert await store.staff.call_record_id_for("SCL_none") is None
    assert await store.staff.call_record_id_for("") is None


async def test_call_log_pages_newest_first_per_location_and_merged(store: Store):
    here = [await _call(store, T0 - timedelta(hours=i * 2)) for i in range(4)]
    there = [
        await _call(store, T0 - timedelta(hours=i * 2 + 1), practice_id="uptown") for i in range(3)
    ]
    emergency = await _call(store, T0 - timedelta(hours=9), outcome="emergency")

    page = await store.staff.staff_calls(["lakeside"], limit=3)
    assert [c.id for c in page] == here[:3]
    older = await store.staff.staff_calls(["lakeside"], before=page[-1].started_at, limit=3)
    assert [c.id for c in older] == [here[3], emergency]
    assert [c.id for c in await store.staff.staff_calls(["lakeside"], outcome="emergency")] == [
        emergency
    ]

    merged = await store.staff.staff_calls(["lakeside", "uptown"], limit=5)
    assert [c.id for c in merged] == [here[0], there[0], here[1], there[1], here[2]]
    assert [c.id for c in await store.staff.staff_calls(["uptown", "uptown"], limit=5)] == there
    assert await store.staff.staff_calls(["elsewhere"]) == []


async def test_message_queue_open_and_handled(store: Store):
    routine_old = await _message(store, T0 - timedelta(hours=5))
    soon = await _message(store, T0 - timedelta(hours=4), "soon")
    urgent = await _message(store, T0 - timedelta(hours=1), "urgent")
    security = await _message(store, T0 - timedelta(hours=2), kind="security")
    routine_new = await _message(store, T0 - timedelta(hours=3))
    await _message(store, T0, "urgent", practice_id="uptown")

    queue = await store.staff.staff_messages(["lakeside"], handled=False)
    assert [m.id for m in queue] == [security, urgent, soon, routine_old, routine_new]
    assert await store.staff.open_message_count(["lakeside"]) == (5, T0 - timedelta(hours=1))

    user = new_id()
    assert await store.staff.handle_message(soon, user_id=user, note="done", at=T0)
    assert await store.staff.handle_message(
        routine_old, user_id=user, note="", at=T0 + timedelta(1)
    )
    assert not await store.staff.handle_message(soon, user_id=user, note="again", at=T0)
    handled = await store.staff.staff_messages(["lakeside"], handled=True)
    assert [m.id for m in handled] == [routine_old, soon]
    assert [m.id for m in await store.staff.staff_messages(["lakeside"], handled=False)] == [
        security,
        urgent,
        routine_new,
    ]
    assert (await store.staff.open_message_count(["lakeside", "uptown"]))[0] == 4


async def test_audit_writes_a_row_per_patient_and_reads_names_back(store: Store):
    ann, _ = await store.appointments.register_patient("lakeside", "Ann Lee", DOB, "+14145550123")
    bob, _ = await store.appointments.register_patient("lakeside", "Bob Stone", DOB, "+14145550124")
    user = await store.staff.add_staff_user(
        username="maria", full_name="Maria", role="staff", password_hash="x", at=T0
    )
    long_action = "viewed_today" + "x" * 100
    written = await store.staff.audit(
        at=T0,
        user_id=user.id,
        action=long_action,
        subject="lakeside 2030-03-04",
        patient_ids=[ann.id, None, ann.id, bob.id],
    )
    assert written == 2
    assert (
        await store.staff.audit(at=T0 + timedelta(seconds=1), user_id=None, action="signed_in") == 1
    )

    rows = await store.staff.audit_entries()
    assert [(r.entry.action[:12], r.username, r.patient_name) for r in rows][0] == (
        "signed_in",
        None,
        None,
    )
    assert {(r.username, r.patient_name) for r in rows[1:]} == {
        ("maria", "Ann Lee"),
        ("maria", "Bob Stone"),
    }
    assert all(len(r.entry.action) == 40 for r in rows[1:])
    only_ann = await store.staff.audit_entries(patient_id=ann.id)
    assert [r.patient_name for r in only_ann] == ["Ann Lee"]
    first, second = rows[1].entry, rows[2].entry
    assert [r.entry.id for r in await store.staff.audit_entries(before=(first.at, first.id))] == [
        second.id
    ]


MAX_FAILURES = 5
LOCK_UNTIL = T0 + timedelta(minutes=15)


async def _begin(store: Store, username: str = "maria", *, now: datetime = T0):
    return await store.staff.begin_sign_in(
        username, now=now, max_failures=MAX_FAILURES, lock_until=now + timedelta(minutes=15)
    )


async def test_parallel_sign_in_attempts_from_two_processes_get_max_failures_checks(
    store: Store, db_url: str, outbox: Outbox
):
    """26 attempts begun at once from two app processes (two engines on one book): exactly
    `MAX_FAILURES` are admitted to a password check, the last of them locks the account, and
    every attempt begun after it is refused, however many are still being checked."""
    user = await store.staff.add_staff_user(
        username="maria", full_name="Maria", role="staff", password_hash="x", at=T0
    )
    async with Store(db_url, outbox=outbox) as other:
        attempts = await asyncio.gather(*(_begin(s) for s in [store, other] * 13))
    admitted = [a for a in attempts if a.admitted]
    assert len(admitted) == MAX_FAILURES
    assert sum(a.locks for a in admitted) == 1
    assert {a.refused for a in attempts if not a.admitted} == {"account locked"}
    row = await store.staff.staff_user(user.id)
    assert row.failed_logins == MAX_FAILURES and row.locked_until == LOCK_UNTIL
    assert (await _begin(store, now=LOCK_UNTIL - timedelta(seconds=1))).refused == "account locked"

    again = await _begin(store, now=LOCK_UNTIL)  # the lock has run out: counting starts again
    assert again.admitted and not again.locks
    row = await store.staff.staff_user(user.id)
    assert row.failed_logins == 1 and row.locked_until is None
    await store.staff.login_succeeded(user.id)  # the right password ends the run of failures
    row = await store.staff.staff_user(user.id)
    assert row.failed_logins == 0 and row.locked_until is None


async def test_a_right_password_inside_the_allowed_attempts_clears_the_lock(store: Store):
    user = await store.staff.add_staff_user(
        username="maria", full_name="Maria", role="staff", password_hash="x", at=T0
    )
    attempts = [await _begin(store) for _ in range(MAX_FAILURES)]
    assert [a.locks for a in attempts] == [False] * (MAX_FAILURES - 1) + [True]
    assert (await store.staff.staff_user(user.id)).locked_until == LOCK_UNTIL
    await store.staff.login_succeeded(user.id)  # the fifth attempt's password was right
    assert (await _begin(store)).admitted


async def test_unknown_and_deactivated_accounts_are_refused_before_any_check(store: Store):
    user = await store.staff.add_staff_user(
        username="maria", full_name="Maria", role="staff", password_hash="x", at=T0
    )
    unknown = await _begin(store, "nobody")
    assert unknown.user is None and unknown.refused == "unknown username"
    await store.staff.update_staff_user(user.id, active=False)
    gone = await _begin(store)
    assert gone.refused == "deactivated account" and not gone.admitted
    assert (await store.staff.staff_user(user.id)).failed_logins == 0


async def _active_admins(store: Store) -> set[str]:
    return {u.username for u in await store.staff.staff_users() if u.active and u.role == ADMIN}


async def test_two_admins_removing_each_other_at_once_leave_one(
    store: Store, db_url: str, outbox: Outbox
):
    """Each admin, in their own app process, demotes or deactivates the other at the same
    moment: one change wins, the other is refused, the practice keeps an active admin."""
    ids = {}
    for name in ("ana", "ben"):
        user = await store.staff.add_staff_user(
            username=name, full_name=name, role=ADMIN, password_hash="x", at=T0
        )
        ids[name] = user.id
    await store.staff.add_staff_user(username="desk", full_name="Desk", role="staff",
                               password_hash="x", at=T0)  # fmt: skip
    changes = [
        ({"role": "staff"}, {"role": "staff"}),
        ({"active": False}, {"active": False}),
        ({"role": "staff"}, {"active": False}),
    ]
    async with Store(db_url, outbox=outbox) as other:
        for first, second in changes:
            for user_id in ids.values():
                await store.staff.update_staff_user(user_id, role=ADMIN, active=True)
            results = await asyncio.gather(
                store.staff.update_staff_user(ids["ben"], **first),
                other.staff.update_staff_user(ids["ana"], **second),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, LastAdmin)]
            assert len(refused) == 1 and True in results, (first, second, results)
            assert len(await _active_admins(store)) == 1, (first, second)
    [last] = await _active_admins(store)
    with pytest.raises(LastAdmin):  # and the one left cannot be removed on its own either
        await store.staff.update_staff_user(ids[last], role="staff")
    other_id = ids["ben" if last == "ana" else "ana"]
    assert await store.staff.update_staff_user(other_id, role=ADMIN, active=True)
    assert await _active_admins(store) == {"ana", "ben"}


async def test_bookings_made_this_week_by_the_assistant_and_by_staff(store: Store):
    patient, _ = await store.appointments.register_patient(
        "lakeside", "Ann Lee", DOB, "+14145550123"
    )

    async def book(start: datetime, **values: Any):
        return await store.appointments.book(
            practice_id="lakeside",
            provider_id=values.pop("provider_id", "dr-a"),
            patient_id=patient.id,
            visit_type="exam",
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            **values,
        )

    soon = datetime.now(UTC) + timedelta(days=3)
    await book(soon, call_id="SCL_one")
    await book(soon + timedelta(hours=1), booked_by=new_id())
    moved = await book(soon + timedelta(hours=2), call_id="SCL_two")
    await store.appointments.reschedule(
        moved.id,
        patient_id=patient.id,
        provider_id="dr-b",
        starts_at=soon + timedelta(hours=3),
        ends_at=soon + timedelta(hours=3, minutes=30),
    )
    week = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    assert await store.staff.bookings_made_between(["lakeside"], *week) == (2, 1)
    assert await store.staff.bookings_made_between(["elsewhere"], *week) == (0, 0)
    later = week[1], week[1] + timedelta(days=7)
    assert await store.staff.bookings_made_between(["lakeside"], *later) == (0, 0)


async def _plans(store: Store, run: Callable[[], Awaitable[object]]) -> list[str]:
    """SQLite's query plan of each statement `run` sends (EXPLAIN QUERY PLAN, same parameters)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    async with store.engine.connect() as conn:
        for statement, parameters in sent:
            result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append(" | ".join(row[3] for row in result.all()))
    return plans


async def test_staff_queries_read_their_indexes_on_sqlite(store: Store):
    if store.dialect != "sqlite":
        return  # PostgreSQL's plan depends on statistics (see the module's docstring)
    await _call(store, T0, livekit_call_id="SCL_one")
    await _message(store, T0)
    week = (T0, T0 + timedelta(days=7))
    one_call = CallRecord(livekit_call_id="SCL_one", patient_ids=[])
    expected: list[tuple[str, Callable[[], Awaitable[object]], str]] = [
        ("ix_calls_livekit_call_id", lambda: store.staff.call_record_id_for("SCL_one"), ""),
        ("ix_calls_practice_start", lambda: store.staff.staff_calls(["lakeside"]), "TEMP B-TREE"),
        (
            "ix_calls_practice_start",
            lambda: store.staff.staff_calls(["lakeside", "uptown"], before=T0, outcome="booked"),
            "TEMP B-TREE",
        ),
        ("ix_calls_practice_start", lambda: store.staff.calls_between(["lakeside"], *week), ""),
        (
            "ix_messages_practice_handled",
            lambda: store.staff.staff_messages(["lakeside"], handled=True),
            "TEMP B-TREE",
        ),
        (
            "ix_messages_practice_handled",
            lambda: store.staff.staff_messages(["lakeside"], handled=False),
            "",
        ),
        ("ix_messages_practice_handled", lambda: store.staff.open_message_count(["lakeside"]), ""),
        (
            "ix_appointments_practice_created",
            lambda: store.staff.bookings_made_between(["lakeside"], *week),
            "",
        ),
        ("ix_appointments_call_id", lambda: store.staff.call_patient_ids(one_call), "SCAN"),
        ("ix_messages_call_id", lambda: store.staff.call_patient_ids(one_call), "SCAN"),
    ]
    for index, run, never in expected:
        plans = await _plans(store, run)
        assert plans, index
        for plan in plans:
            assert f"INDEX {index}" in plan, (index, plan)
            assert not never or never not in plan, (index, plan)


async def test_a_new_patients_no_show_leaves_them_new_and_the_week_counts_it(store: Store):
    """Issue 23: a visit the desk marked as a no-show did not take place, so the patient can
    still book the new patient exam; the week's figures count arrived, no-shows, cancellations."""
    now = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    carla, _ = await store.appointments.register_patient(
        "lakeside", "Carla Diaz", date(1992, 7, 14), "+14145550123", new_patient=True
    )
    dan, _ = await store.appointments.register_patient("lakeside", "Dan Wu", date(1970, 1, 1), "")

    async def visit(patient_id: str, hours: int):
        return await store.appointments.book(
            practice_id="lakeside",
            provider_id="dr-okafor",
            patient_id=patient_id,
            visit_type="new-patient",
            starts_at=now + timedelta(hours=hours),
            ends_at=now + timedelta(hours=hours, minutes=30),
        )

    exam, came = await visit(carla.id, 1), await visit(dan.id, 2)
    gone = await visit(dan.id, 3)
    await store.appointments.cancel(gone.id, patient_id=dan.id)
    later = now + timedelta(hours=4)
    assert not await store.appointments.is_new_patient(carla.id, now=later)  # seen, so far
    marked = await store.staff.set_attendance(exam.id, Attendance.NO_SHOW, by="u1", at=later)
    assert marked is not None and marked.attendance == "no_show" and marked.status == "booked"
    assert await store.appointments.is_new_patient(carla.id, now=later)  # she never came
    await store.staff.set_attendance(came.id, Attendance.ARRIVED, by="u1", at=later)
    assert await store.staff.set_attendance(gone.id, Attendance.ARRIVED, by="u1", at=later) is None
    figures = await store.staff.visit_figures(["lakeside"], now, now + timedelta(days=1))
    assert figures == VisitFigures(booked=2, arrived=1, no_shows=1, cancelled=1)
