"""Every store query, on SQLite and PostgreSQL (the `store` fixture is parametrised over both)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from receptionist.store import NotFound, SlotTaken, Store, name_key
from receptionist.store.models import AppointmentStatus

T0 = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
DOB = date(1980, 2, 29)


async def _patient(store: Store, name: str = "Ann Lee", dob: date = DOB) -> str:
    patient, _ = await store.appointments.register_patient("lakeside", name, dob, "+14145550123")
    return patient.id


async def _book(store: Store, patient_id: str, start: datetime, minutes: int = 60, provider="dr-a"):
    return await store.appointments.book(
        practice_id="lakeside",
        provider_id=provider,
        patient_id=patient_id,
        visit_type="checkup",
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        call_id="CA_test",
    )


def test_name_key_ignores_case_accents_and_punctuation():
    assert name_key("José  O'Brien-Smith ") == name_key("jose obrien smith")
    assert name_key("Ann Lee") != name_key("Anne Lee")


async def test_register_and_find_patient(store: Store):
    patient, created = await store.appointments.register_patient(
        "lakeside", " Ann  Lee ", DOB, "+14145550123"
    )
    assert created and patient.full_name == "Ann Lee"
    again, created_again = await store.appointments.register_patient(
        "lakeside", "ann lee", DOB, "+14145550999"
    )
    assert not created_again and again.id == patient.id
    assert (await store.appointments.find_patient("lakeside", "ANN LEE", DOB)).id == patient.id
    assert await store.appointments.find_patient("lakeside", "Ann Lee", date(1980, 3, 1)) is None
    assert await store.appointments.find_patient("other-practice", "Ann Lee", DOB) is None
    assert (await store.appointments.get_patient(patient.id)).date_of_birth == DOB
    assert await store.count("patient") == 1


async def test_book_refuses_overlaps_but_allows_adjacent_and_other_providers(store: Store):
    # Other patients try the provider's taken hour (a patient's own overlaps are refused by a
    # rule of their own: test_patient_rules.py).
    pid = await _patient(store)
    other = await _patient(store, "Bob Stone")
    third = await _patient(store, "Cy Park")
    await _book(store, pid, T0)
    with pytest.raises(SlotTaken, match="just taken"):
        await _book(store, other, T0 + timedelta(minutes=30))
    with pytest.raises(SlotTaken):
        await _book(store, other, T0 - timedelta(minutes=15), minutes=120)  # encloses it
    await _book(store, pid, T0 + timedelta(hours=1))  # back to back is fine
    await _book(store, pid, T0 - timedelta(hours=1))
    await _book(store, third, T0, provider="dr-b")  # another provider, same time
    busy = await store.appointments.busy(["dr-a"], T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert sorted(b.starts_at for b in busy) == [
        T0 - timedelta(hours=1),
        T0,
        T0 + timedelta(hours=1),
    ]
    assert await store.appointments.busy([], T0, T0 + timedelta(hours=1)) == []


async def test_times_round_trip_as_the_same_instant(store: Store):
    pid = await _patient(store)
    chicago = T0.astimezone(ZoneInfo("America/Chicago"))
    booked = await _book(store, pid, chicago)
    fetched = await store.appointments.get_appointment(booked.id)
    assert fetched.starts_at == T0 and fetched.starts_at.tzinfo is not None
    with pytest.raises(Exception, match="naive"):
        await _book(store, pid, datetime(2027, 3, 2, 9, 0))


async def test_database_itself_refuses_overlap_on_raw_insert_and_update(store: Store):
    pid = await _patient(store)
    first = await _book(store, pid, T0)
    second = await _book(store, pid, T0 + timedelta(hours=2))
    params = {"pid": pid, "s": T0 + timedelta(minutes=10), "e": T0 + timedelta(minutes=40)}
    if store.dialect == "sqlite":
        params = {
            k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in params.items()
        }
    async with store.engine.connect() as conn:
        with pytest.raises(Exception, match="(?i)overlap|exclu|conflict"):
            await conn.execute(
                text(
                    "INSERT INTO appointments (id, practice_id, provider_id, patient_id,"
                    " visit_type, starts_at, ends_at, status, call_id, created_at) VALUES"
                    " ('raw-1', 'lakeside', 'dr-a', :pid, 'checkup', :s, :e, 'booked', '', :s)"
                ),
                params,
            )
        await conn.rollback()
        with pytest.raises(Exception, match="(?i)overlap|exclu|conflict"):
            await conn.execute(
                text("UPDATE appointments SET starts_at = :s, ends_at = :e WHERE id = :id"),
                {"s": params["s"], "e": params["e"], "id": second.id},
            )
        await conn.rollback()
    assert (await store.appointments.get_appointment(first.id)).status == AppointmentStatus.BOOKED


async def test_cancelled_time_can_be_booked_again(store: Store):
    pid = await _patient(store)
    appointment = await _book(store, pid, T0)
    cancelled = await store.appointments.cancel(appointment.id, patient_id=pid)
    assert cancelled.status == AppointmentStatus.CANCELLED and cancelled.cancelled_at is not None
    await _book(store, pid, T0)
    with pytest.raises(NotFound):
        await store.appointments.cancel(appointment.id, patient_id=pid)  # already cancelled


async def test_cannot_cancel_someone_elses_appointment(store: Store):
    ann = await _patient(store, "Ann Lee")
    bob = await _patient(store, "Bob Stone", date(1975, 6, 1))
    appointment = await _book(store, ann, T0)
    with pytest.raises(NotFound):
        await store.appointments.cancel(appointment.id, patient_id=bob)
    with pytest.raises(NotFound):
        await store.appointments.reschedule(
            appointment.id,
            patient_id=bob,
            provider_id="dr-a",
            starts_at=T0 + timedelta(days=1),
            ends_at=T0 + timedelta(days=1, hours=1),
        )
    assert (
        await store.appointments.get_appointment(appointment.id)
    ).status == AppointmentStatus.BOOKED


async def test_upcoming_for_patient_lists_own_booked_future_soonest_first(store: Store):
    ann = await _patient(store, "Ann Lee")
    bob = await _patient(store, "Bob Stone", date(1975, 6, 1))
    later = await _book(store, ann, T0 + timedelta(days=3))
    sooner = await _book(store, ann, T0 + timedelta(days=1))
    await _book(store, ann, T0 - timedelta(days=3))  # past
    gone = await _book(store, ann, T0 + timedelta(days=5))
    await store.appointments.cancel(gone.id, patient_id=ann)
    await _book(store, bob, T0 + timedelta(days=2), provider="dr-b")
    upcoming = await store.appointments.upcoming_for_patient(ann, after=T0)
    assert [a.id for a in upcoming] == [sooner.id, later.id]


async def test_reschedule_moves_in_one_transaction(store: Store):
    ann = await _patient(store, "Ann Lee")
    bob = await _patient(store, "Bob Stone", date(1975, 6, 1))
    mine = await _book(store, ann, T0)
    await _book(store, bob, T0 + timedelta(hours=3))
    # Overlapping its own old time is fine: the old row stops being booked first.
    moved = await store.appointments.reschedule(
        mine.id,
        patient_id=ann,
        provider_id="dr-a",
        starts_at=T0 + timedelta(minutes=30),
        ends_at=T0 + timedelta(minutes=90),
        call_id="CA_2",
    )
    assert moved.replaces_id == mine.id and moved.status == AppointmentStatus.BOOKED
    assert (
        await store.appointments.get_appointment(mine.id)
    ).status == AppointmentStatus.RESCHEDULED
    # Onto Bob's time: refused, and nothing changes.
    with pytest.raises(SlotTaken):
        await store.appointments.reschedule(
            moved.id,
            patient_id=ann,
            provider_id="dr-a",
            starts_at=T0 + timedelta(hours=3),
            ends_at=T0 + timedelta(hours=4),
        )
    assert (await store.appointments.get_appointment(moved.id)).status == AppointmentStatus.BOOKED
    assert [
        a.id
        for a in await store.appointments.upcoming_for_patient(ann, after=T0 - timedelta(days=1))
    ] == [moved.id]


async def test_appointments_between_for_staff(store: Store):
    ann = await _patient(store)
    a = await _book(store, ann, T0)
    b = await _book(store, ann, T0 + timedelta(hours=2), provider="dr-b")
    c = await _book(store, ann, T0 + timedelta(days=1))
    await store.appointments.cancel(c.id, patient_id=ann)
    day = await store.appointments.appointments_between(
        "lakeside", T0 - timedelta(hours=1), T0 + timedelta(hours=23)
    )
    assert [(x.id, p.full_name) for x, p in day] == [(a.id, "Ann Lee"), (b.id, "Ann Lee")]
    everything = await store.appointments.appointments_between(
        None, T0 - timedelta(days=1), T0 + timedelta(days=2), include_inactive=True
    )
    assert len(everything) == 3
    assert (
        await store.appointments.appointments_between("elsewhere", T0, T0 + timedelta(days=2)) == []
    )


async def test_messages_are_idempotent_and_can_be_handled(store: Store):
    message_id, where = await store.records.add_message(
        practice_id="lakeside",
        caller_name="Ann Lee",
        callback_number="+14145550123",
        reason="question about a bill",
        urgency="soon",
        call_id="CA_1",
    )
    assert where == "stored"
    row = {
        "id": message_id,
        "practice_id": "lakeside",
        "callback_number": "+14145550123",
        "reason": "duplicate",
        "urgency": "soon",
        "caller_name": "",
        "call_id": "",
        "created_at": T0,
    }
    assert await store.records.insert_once("message", row) is False  # same id: not written twice
    [message] = await store.records.open_messages("lakeside")
    assert message.reason == "question about a bill" and message.urgency == "soon"
    assert await store.records.mark_message_handled(message_id) is True
    assert await store.records.mark_message_handled(message_id) is False
    assert await store.records.open_messages() == []
    with pytest.raises(Exception, match="(?i)check|constraint"):
        await store.records.add_message(
            practice_id="lakeside", callback_number="+1", reason="x", urgency="whenever"
        )


async def test_call_records_round_trip(store: Store):
    usage = {"llm_prompt_tokens": 1234, "tts_characters": 456, "stt_audio_seconds": 61.5}
    await store.records.save(
        "call",
        {
            "practice_id": "lakeside",
            "caller": "+14145550123",
            "dialled": "+14145550100",
            "livekit_call_id": "SCL_abc",
            "sip_call_id": "abc@host",
            "started_at": T0,
            "duration_seconds": 95.5,
            "outcome": "booked",
            "outcomes": ["booked", "information"],
            "usage": usage,
            "transcript": None,
        },
    )
    await store.records.save(
        "call",
        {
            "practice_id": "lakeside",
            "caller": "unknown",
            "dialled": "unknown",
            "livekit_call_id": "",
            "sip_call_id": "",
            "started_at": T0 + timedelta(hours=1),
            "duration_seconds": 3.0,
            "outcome": "abandoned",
            "outcomes": [],
            "usage": None,
        },
    )
    calls = await store.records.recent_calls("lakeside")
    assert [c.outcome for c in calls] == ["abandoned", "booked"]
    assert calls[1].usage == usage and calls[1].outcomes == ["booked", "information"]
    assert calls[1].started_at == T0
    assert len(await store.records.recent_calls(limit=1)) == 1


async def test_appointments_longer_than_eight_hours_are_refused(store: Store):
    pid = await _patient(store)
    with pytest.raises(Exception, match="(?i)too_long|max_length|check"):
        await _book(store, pid, T0, minutes=8 * 60 + 15)
    await _book(store, pid, T0, minutes=8 * 60)
    other = await _patient(store, "Bob Stone")
    with pytest.raises(SlotTaken):  # a long booking still blocks its whole span
        await _book(store, other, T0 + timedelta(hours=7, minutes=45), minutes=30)


async def test_busy_finds_a_long_appointment_that_began_before_the_window(store: Store):
    pid = await _patient(store)
    long_one = await _book(store, pid, T0 - timedelta(hours=7, minutes=59), minutes=8 * 60)
    busy = await store.appointments.busy(["dr-a"], T0, T0 + timedelta(hours=1))
    assert [(b.starts_at, b.ends_at) for b in busy] == [(long_one.starts_at, long_one.ends_at)]
    assert (
        await store.appointments.busy(
            ["dr-a"], long_one.ends_at, long_one.ends_at + timedelta(hours=1)
        )
        == []
    )


async def test_new_patient_stays_new_until_a_booked_visit_has_started(store: Store):
    now = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    carla, created = await store.appointments.register_patient(
        "lakeside", "Carla Diaz", date(1992, 7, 14), "+14145550123", new_patient=True
    )
    staff_loaded, _ = await store.appointments.register_patient(
        "lakeside", "Dan Wu", date(1970, 1, 1), ""
    )
    assert created and await store.appointments.is_new_patient(carla.id, now=now)
    assert not await store.appointments.is_new_patient(staff_loaded.id, now=now)
    exam = await store.appointments.book(
        practice_id="lakeside",
        provider_id="dr-okafor",
        patient_id=carla.id,
        visit_type="new-patient",
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1),
    )
    assert await store.appointments.is_new_patient(carla.id, now=now)  # booked, not yet seen
    assert not await store.appointments.is_new_patient(
        carla.id, now=exam.starts_at + timedelta(hours=2)
    )
    await store.appointments.cancel(exam.id, patient_id=carla.id)
    assert await store.appointments.is_new_patient(
        carla.id, now=exam.starts_at + timedelta(hours=2)
    )


async def test_database_errors_never_carry_the_values_into_logs(store: Store):
    # SQLAlchemy puts a failed statement's parameters into the exception text, and exception
    # text ends up in logs (log.exception, exc_info): the engines hide them.
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as caught:
        await store.records.add_message(
            practice_id="lakeside",
            caller_name="Ann Lee",
            callback_number="+14145550123",
            reason="tooth pain since the extraction",
            urgency="whenever",  # refused by the urgency check constraint
        )
    text = f"{caught.value}\n{caught.value!r}"
    for value in ("+14145550123", "Ann Lee", "tooth pain", "whenever"):
        assert value not in text
    assert "ck_messages_urgency" in text or "CHECK" in text.upper()
