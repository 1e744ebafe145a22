"""`receptionist demo-data`: a morning at the front desk, made up, to try the staff app and calls.

A newcomer opens the staff app and should see what a desk sees at 7:55 on a working day: a day
sheet with visits from open to close, an urgent message left overnight, and yesterday's calls
with what was said. So the demo loads, in the example practice: eight made-up patients; visits
through the practice's next open day ("today" when it is open), one per patient, spread over the
providers; a visit in the coming days for the four patients the docs use on calls (Ann Lee, Bob
Stone, ...); a routine message and an urgent one left overnight; and four calls (yesterday's
three with transcripts, and the one behind the routine message).

Everything has a fixed id (uuid5), so running it twice adds nothing, and running it on a later day
adds that day's visits. The visits are written straight into the book as staff would (the notice
callers must give does not apply: they were booked long ago), never through a phone call's rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from receptionist.appointments import find_open_times
from receptionist.appointments.availability import Slot
from receptionist.domain.calls import Outcome
from receptionist.domain.practice import Practice
from receptionist.store import SlotTaken, Store
from receptionist.store.models import Patient

DEMO_NAMESPACE = uuid.UUID("5b0c7f7e-1d2a-4c55-9a53-0d3c1e0de111")
# The demo call's LiveKit id: its bookings and message point at it, so the staff app links them.
DEMO_CALL_ID = "SCL_demo"
# The four the docs and the try-out use on calls, then four more for a full day sheet.
DEMO_PATIENTS = [
    ("Ann Lee", date(1980, 2, 29), "+14144007103"),
    ("Bob Stone", date(1975, 6, 1), "+14145550123"),
    ("Carla Diaz", date(1992, 7, 14), "+14145550177"),
    ("Dev Patel", date(2011, 9, 3), "+14145550188"),
    ("Elena Rossi", date(1988, 11, 2), "+14145550131"),
    ("Frank Okoro", date(1964, 4, 19), "+14145550142"),
    ("Grace Kim", date(1999, 1, 25), "+14145550153"),
    ("Hugo Lambert", date(1957, 8, 8), "+14145550164"),
]
CALLERS = DEMO_PATIENTS[:4]  # the docs' and the try-out's callers: a visit in the coming days
BOOKED_LONG_AGO = timedelta(days=30)  # "now" for the day sheet's searches: no notice rule binds


@dataclass
class DemoResult:
    patients: list[Patient]
    day_sheet: date | None  # the day whose sheet the demo filled (today when open)
    next_visits: dict[str, datetime]  # patient id -> their next visit (local time)
    booked: int  # appointments added by this run


def demo_id(key: str) -> str:
    return str(uuid.uuid5(DEMO_NAMESPACE, key))


async def load_demo(store: Store, practice: Practice) -> DemoResult:
    """The demo morning in `practice`'s book (safe to run twice)."""
    patients = [
        (await store.appointments.register_patient(practice.id, name, born, phone))[0]
        for name, born, phone in DEMO_PATIENTS
    ]
    now = practice.now()
    visits = _visit_types(practice)
    result = DemoResult(patients, None, {}, 0)
    for index, patient in enumerate(patients):
        await _day_sheet_visit(store, practice, patient, visits[index % len(visits)], index, result)
    for index, patient in enumerate(patients[: len(CALLERS)]):
        key, starts = f"appointment-{index}", now.date() + timedelta(days=1 + index)
        visit = visits[index % len(visits)]
        slots = await find_open_times(
            practice, store.appointments, visit, now=now, patient_id=patient.id, date_from=starts
        )
        await _book(store, practice, patient, slots, key, result)
    await _messages_and_calls(store, practice, patients, now)
    return result


def _visit_types(practice: Practice) -> list[str]:
    """The visit types an existing patient books (the demo patients are all on file)."""
    known = [v.id for v in practice.visit_types if v.patients.value != "new"]
    return known or [practice.visit_types[0].id]


async def _day_sheet_visit(
    store: Store, practice: Practice, patient: Patient, visit: str, index: int, result: DemoResult
) -> None:
    """One visit on the practice's next open day, at the first time still free then."""
    today = practice.now().date()
    day = result.day_sheet or today
    slots = await find_open_times(
        practice,
        store.appointments,
        visit,
        now=practice.now() - BOOKED_LONG_AGO,
        patient_id=patient.id,
        date_from=max(day, today),
        date_to=max(day, today) + timedelta(days=14),
        limit=12,
    )
    if result.day_sheet is None and slots:
        result.day_sheet = slots[0].day
    on_the_day = [s for s in slots if s.day == result.day_sheet]
    key = f"day-sheet-{result.day_sheet}-{index}"
    await _book(store, practice, patient, on_the_day, key, result, call_id="")


async def _book(
    store: Store,
    practice: Practice,
    patient: Patient,
    slots: list[Slot],
    key: str,
    result: DemoResult,
    *,
    call_id: str = DEMO_CALL_ID,
) -> None:
    """Books the first of `slots` still free under the demo id `key` (once, ever). `call_id`
    empty: a day-sheet visit, booked at the desk (not anyone's "next visit" on a call)."""
    remember = bool(call_id)
    appointment_id = demo_id(key)
    existing = await store.appointments.get_appointment(appointment_id)
    if existing is not None:
        if remember:
            result.next_visits[patient.id] = existing.starts_at.astimezone(practice.tz)
        return
    for slot in slots:
        try:
            await store.appointments.book(
                practice_id=practice.id,
                provider_id=slot.provider_id,
                patient_id=patient.id,
                visit_type=slot.visit_type,
                starts_at=slot.start,
                ends_at=slot.end,
                call_id=call_id,
                appointment_id=appointment_id,
            )
        except SlotTaken:
            continue
        result.booked += 1
        if remember:
            result.next_visits[patient.id] = slot.start.astimezone(practice.tz)
        return


async def _messages_and_calls(
    store: Store, practice: Practice, patients: list[Patient], now: datetime
) -> None:
    """The overnight urgent message, a routine one, and the calls behind them and others."""
    yesterday = now.date() - timedelta(days=1)

    def at(day: date, hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), practice.tz)

    ann, bob, carla = patients[0], patients[1], patients[2]
    overnight = at(yesterday, 23, 10)
    for record in (
        _message("message-0", practice, bob, now, DEMO_CALL_ID, "routine",
                 "Question about his last invoice"),
        _message("message-overnight", practice, ann, overnight, "SCL_demo_overnight", "urgent",
                 "Lost a crown last night and the tooth is sore; asks for the first opening "
                 "this morning"),
    ):  # fmt: skip
        await store.records.insert_once("message", record)
    calls = [
        _call("call-0", practice, bob, now, DEMO_CALL_ID, 74.0, Outcome.MESSAGE, None),
        _call("call-booked", practice, carla, at(yesterday, 9, 42), "SCL_demo_booked", 131.0,
              Outcome.BOOKED, BOOKED_TRANSCRIPT),
        _call("call-hours", practice, None, at(yesterday, 12, 5), "SCL_demo_hours", 38.0,
              Outcome.INFORMATION, HOURS_TRANSCRIPT),
        _call("call-overnight", practice, ann, overnight, "SCL_demo_overnight", 96.0,
              Outcome.MESSAGE, OVERNIGHT_TRANSCRIPT),
    ]  # fmt: skip
    for record in calls:
        await store.records.insert_once("call", record)


def _message(
    key: str,
    practice: Practice,
    patient: Patient,
    when: datetime,
    call_id: str,
    urgency: str,
    reason: str,
) -> dict[str, Any]:
    return {
        "id": demo_id(key),
        "practice_id": practice.id,
        "caller_name": patient.full_name,
        "callback_number": patient.phone,
        "patient_id": patient.id,
        "reason": reason,
        "urgency": urgency,
        "call_id": call_id,
        "created_at": when,
    }


def _call(
    key: str,
    practice: Practice,
    patient: Patient | None,
    when: datetime,
    call_id: str,
    seconds: float,
    outcome: Outcome,
    transcript: list[dict[str, str]] | None,
) -> dict[str, Any]:
    return {
        "id": demo_id(key),
        "practice_id": practice.id,
        "caller": patient.phone if patient else "+14145550199",
        "dialled": practice.numbers[0] if practice.numbers else "unknown",
        "livekit_call_id": call_id,
        "sip_call_id": f"{key}@demo.example",
        "started_at": when,
        "duration_seconds": seconds,
        "outcome": outcome.value,
        "outcomes": [outcome.value],
        "usage": {"llm_prompt_tokens": 2100, "tts_characters": 640},
        "transcript": transcript,
        "patient_ids": [patient.id] if patient else [],
        "created_at": when,
    }


def _said(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "text": text} for role, text in turns]


BOOKED_TRANSCRIPT = _said(
    ("assistant", "Thank you for calling. I'm the practice's automated assistant. How can I help?"),
    ("user", "Hi, I'd like to book a cleaning please."),
    ("assistant", "Of course. May I have your full name and date of birth?"),
    ("user", "Carla Diaz, July 14, 1992."),
    ("assistant", "Thank you, Carla. I have Thursday at 9:00 or Friday at 14:30. Which suits you?"),
    ("user", "Thursday at nine works."),
    ("assistant", "You're booked for a check-up and cleaning on Thursday at 9:00. Anything else?"),
    ("user", "No, that's all, thanks."),
)
HOURS_TRANSCRIPT = _said(
    ("assistant", "Thank you for calling. I'm the practice's automated assistant. How can I help?"),
    ("user", "How late are you open on Wednesdays?"),
    ("assistant", "On Wednesdays we're open from 8:00 to 12:00 and from 13:00 to 19:00."),
    ("user", "Great, thank you. Bye."),
)
OVERNIGHT_TRANSCRIPT = _said(
    ("assistant", "The office is closed right now. I can take a message for the team."),
    ("user", "My crown came off tonight and the tooth is sore. Can someone call me first thing?"),
    ("assistant", "I'm sorry to hear that. Are you having trouble breathing or swallowing, or "
                  "swelling that is spreading?"),
    ("user", "No, nothing like that."),
    ("assistant", "I've left an urgent message for the team to call you back as soon as the office "
                  "opens. If it gets worse, call 911 or go to the emergency room."),
)  # fmt: skip
