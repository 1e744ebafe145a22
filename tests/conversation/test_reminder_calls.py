"""A reminder call the practice placed, in-process: the real reminder agent, its tools, keypad
and end-of-call recording, with the scripted model and a real SQLite book. Each path ends in the
database state it promised (the reminder, the attempt, the appointment, the opt-out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from livekit import api
from livekit.agents import AgentSession
from livekit.agents.testing import fake_job_context

from receptionist.call.control import CallControl
from receptionist.call.lifecycle import CallLifecycle
from receptionist.call.outbound import (
    MACHINE,
    PERSON,
    ReminderCaller,
    ReminderCallState,
    ReminderKeys,
    converse,
    dial,
)
from receptionist.call.providers import Providers
from receptionist.call.session import attach_call_handling, build_session
from receptionist.domain.calls import CallInfo
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice
from receptionist.reminders.call import ReminderCall, Stage
from receptionist.reminders.rules import ReminderJob
from receptionist.settings import load_settings
from receptionist.store import Store
from receptionist.store.models import AppointmentStatus, ReminderStatus
from receptionist.store.reminders import OPTED_OUT, VISIT_CANCELLED, VISIT_MOVED, Wanted
from tests.conversation.book_support import ANN, book_directly, practice_book, tool_results
from tests.support.harness import RecordingClips, RecordingLiveKitAPI, example_practice, sip_error
from tests.support.scripted_llm import Call, Say, ScriptedLLM
from tools.reminders import reminder_tools

# Monday 30 Nov 2026, 10:00 in Chicago; Ann's check-up is Tuesday 1 Dec at 9:00 (23 hours on).
NOW = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
VISIT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@dataclass
class ReminderRun:
    session: AgentSession
    state: ReminderCallState
    call: ReminderCall
    keys: ReminderKeys
    api: RecordingLiveKitAPI
    store: Store
    reminder_id: str
    lifecycle: CallLifecycle

    async def reminder(self):
        reminder, appointment, _ = await self.store.reminders.reminder_job(self.reminder_id)
        return reminder, appointment

    async def attempt(self):
        [result] = await self.store.reminders.reminder_results(
            None, start=NOW - timedelta(days=1), end=NOW + timedelta(days=1)
        )
        return result.attempt

    async def end(self) -> None:
        await self.keys.drain()
        await self.session.aclose()
        await self.lifecycle.wait()
        await self.call.finish()


def _practice(**policies) -> Practice:
    practice = example_practice()
    update = {"reminders": practice.reminders.model_copy(update={"enabled": True})}
    if policies:
        update["policies"] = practice.policies.model_copy(update=policies)
    return practice.model_copy(update=update)


@asynccontextmanager
async def reminder_call(
    tmp_path,
    llm,
    *,
    practice: Practice | None = None,
    answered: str = PERSON,
    last_spoke: str = "",
) -> AsyncIterator[ReminderRun]:
    """Ann's reminder claimed by a runner, its call answered by `answered`, the opening said.
    `last_spoke`: the language of an earlier call of Ann's, recorded as a call's end does."""
    practice = practice or _practice()
    async with practice_book(tmp_path) as store:
        visit = await book_directly(store, ANN, VISIT)
        if last_spoke:
            await store.records.save(
                "call",
                {
                    "practice_id": practice.id,
                    "started_at": NOW - timedelta(days=3),
                    "outcome": "booked",
                    "language": last_spoke,
                    "patient_ids": [visit.patient_id],
                },
            )
        want = Wanted(visit.id, visit.patient_id, 0)
        [claim] = await store.reminders.claim_reminders(
            practice.id, [want], now=NOW, lease=timedelta(minutes=15), max_in_flight=5
        )
        job = ReminderJob(claim.reminder_id, claim.attempt, practice.id, "ST_out", 30)
        _, appointment, patient = await store.reminders.reminder_job(claim.reminder_id)
        call = ReminderCall(job, practice, appointment, patient, store, clock=lambda: NOW)
        call.line, call.sip_status = Line.ANSWERED, 200
        fake_api = RecordingLiveKitAPI()
        settings = load_settings().model_copy(update={"silence_timeout": 3600.0})
        state = ReminderCallState(
            info=CallInfo(caller="+14144007103", dialled=practice.numbers[0], is_sip=True),
            practice=practice,
            store=store,
            control=CallControl(
                fake_api, room_name=job.room, participant_identity="patient", ringing_timeout=30
            ),
            clips=RecordingClips(),
            started_at=NOW,
            clock=lambda: NOW,
            caller_identity="patient",
            room_name=job.room,
            reminder=call,
        )

        async def on_finished(_state) -> None:
            await call.finish()

        providers = Providers(stt=None, llm=llm, tts=None, turn_detection="manual")
        with fake_job_context():
            session = build_session(settings, providers, state, vad=None)
            lifecycle = attach_call_handling(session, state, settings, on_finished=on_finished)
            keys = ReminderKeys(session, state)
            await session.start(ReminderCaller(call, reminder_tools()))
            await converse(session, call, answered)
            run = ReminderRun(
                session, state, call, keys, fake_api, store, claim.reminder_id, lifecycle
            )
            try:
                yield run
            finally:
                await run.end()


# --- the keypad -------------------------------------------------------------------------------


async def test_pressing_1_then_1_confirms_the_visit_and_ends_the_call(tmp_path):
    async with reminder_call(tmp_path, ScriptedLLM()) as run:
        assert run.call.stage is Stage.IDENTITY
        run.keys.press("1")
        await run.keys.drain()
        assert run.call.stage is Stage.CHOICE
        run.keys.press("1")
        await run.keys.drain()
        reminder, appointment = await run.reminder()
        assert reminder.status == ReminderStatus.CONFIRMED and reminder.confirmed_at == NOW
        assert appointment.status == "booked"
    attempt = await run.attempt()
    assert (attempt.line, attempt.answered_by, attempt.sip_status, attempt.choice) == (
        "answered",
        PERSON,
        200,
        ReminderStatus.CONFIRMED,
    )
    assert run.api.deleted_rooms == [run.call.job.room]  # the lifecycle hung up: BYE


async def test_a_patient_who_last_spoke_spanish_is_reminded_in_spanish(tmp_path):
    """The language of Ann's last call (stored on her record) is the reminder call's: its lines,
    its date ("martes 1 de diciembre a las 9:00"), its answers."""
    async with reminder_call(tmp_path, ScriptedLLM(), last_spoke="es") as run:
        for digit in "11":
            run.keys.press(digit)
            await run.keys.drain()
        reminder, _ = await run.reminder()
        said = [m.text_content for m in run.session.history.items if m.type == "message"]
    assert run.call.opening().startswith("Hola, le llama la asistente de Lakeside Family Dental")
    assert "Le recordamos su cita, mañana (martes) a las 9:00." in said[0]
    assert said[-1] == "Su cita queda confirmada. Le esperamos. ¡Adiós!"
    assert reminder.status == ReminderStatus.CONFIRMED
    assert run.call.language == "es" and "Spanish" in run.session.current_agent.instructions


async def test_pressing_2_cancels_under_the_practice_policy(tmp_path):
    practice = _practice(cancellation_notice_hours=48, cancellation="A late cancellation fee.")
    async with reminder_call(tmp_path, ScriptedLLM(), practice=practice) as run:
        for digit in "12":
            run.keys.press(digit)
            await run.keys.drain()
        reminder, appointment = await run.reminder()
        said = [m.text_content for m in run.session.history.items if m.type == "message"]
    assert "Please note our policy: A late cancellation fee." in said[-1]
    assert (
        appointment.status == AppointmentStatus.CANCELLED
        and reminder.status == ReminderStatus.CANCELLED
    )


async def test_the_keypad_decides_nothing_before_the_patient_is_on_the_line(tmp_path):
    async with reminder_call(tmp_path, ScriptedLLM()) as run:
        run.keys.press("2")  # cancel, before anyone said who they are: ignored
        await run.keys.drain()
        reminder, appointment = await run.reminder()
        assert reminder.status == "calling" and appointment.status == "booked"


@pytest.mark.parametrize("then", ["1", "2"])
async def test_a_key_that_is_not_one_digit_does_nothing_to_the_visit(tmp_path, then):
    """An empty or several-character DTMF digit, or a key with no meaning here, is ignored: it
    neither cancels nor confirms. 1 and 2 afterwards still do what they say."""
    async with reminder_call(tmp_path, ScriptedLLM()) as run:
        run.keys.press("1")  # it is Ann
        await run.keys.drain()
        for noise in ("", "12", "21", "*"):
            run.keys.press(noise)
            await run.keys.drain()
            reminder, appointment = await run.reminder()
            assert (reminder.status, appointment.status) == ("calling", "booked"), noise
            assert run.call.stage is Stage.CHOICE
        run.keys.press(then)
        await run.keys.drain()
        reminder, appointment = await run.reminder()
    if then == "1":
        assert (reminder.status, appointment.status) == (ReminderStatus.CONFIRMED, "booked")
    else:
        assert (reminder.status, appointment.status) == (
            ReminderStatus.CANCELLED,
            AppointmentStatus.CANCELLED,
        )


# --- by voice ---------------------------------------------------------------------------------


async def test_confirm_by_voice(tmp_path):
    script = ScriptedLLM(
        [
            Call("patient_on_the_line"),
            Say("Thank you, Ann. This is a reminder of your check-up..."),
            Call("reminder_answer", answer="confirm"),
            Say("Your appointment is confirmed. Goodbye!"),
        ]
    )
    async with reminder_call(tmp_path, script) as run:
        result = await run.session.run(user_input="Yes, this is Ann.")
        [(output, is_error)] = tool_results(result, "patient_on_the_line")
        assert not is_error and "tomorrow (Tuesday) at 9 AM" in output
        result = await run.session.run(user_input="Yes, I'll be there.")
        [(output, is_error)] = tool_results(result, "reminder_answer")
        assert not is_error and "confirmed" in output
        reminder, _ = await run.reminder()
        assert reminder.status == ReminderStatus.CONFIRMED


async def test_nothing_about_the_visit_before_the_patient_is_on_the_line(tmp_path):
    script = ScriptedLLM([Call("reminder_answer", answer="cancel"), Say("Am I speaking with Ann?")])
    async with reminder_call(tmp_path, script) as run:
        result = await run.session.run(user_input="Cancel it.")
        [(output, is_error)] = tool_results(result, "reminder_answer")
        assert is_error and "patient_on_the_line" in output
        reminder, appointment = await run.reminder()
        assert reminder.status == "calling" and appointment.status == "booked"


async def test_stop_calling_me_opts_out_for_good(tmp_path):
    script = ScriptedLLM(
        [Call("reminder_answer", answer="stop_calling"), Say("We won't call again. Goodbye!")]
    )
    async with reminder_call(tmp_path, script) as run:
        await run.session.run(user_input="Stop calling me.")
        reminder, appointment = await run.reminder()
        assert reminder.status == ReminderStatus.OPTED_OUT and appointment.status == "booked"
        assert await run.store.reminders.is_opted_out(run.call.practice.id, run.call.patient.id)


async def test_a_wrong_number_hears_nothing_about_the_patient_and_is_not_called_again(tmp_path):
    script = ScriptedLLM(
        [Call("not_the_patient", wrong_number=True), Say("Sorry to bother you. Goodbye.")]
    )
    async with reminder_call(tmp_path, script) as run:
        result = await run.session.run(user_input="There's no Ann here.")
        [(output, is_error)] = tool_results(result, "not_the_patient")
        assert not is_error and "say nothing about any appointment" in output
        reminder, _ = await run.reminder()
        assert reminder.status == ReminderStatus.WRONG_NUMBER


async def test_the_patient_not_home_is_tried_again_later(tmp_path):
    script = ScriptedLLM([Call("not_the_patient", wrong_number=False), Say("I'll try later.")])
    async with reminder_call(tmp_path, script) as run:
        await run.session.run(user_input="Ann's at work.")
    reminder, _ = await run.reminder()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.next_attempt_at == NOW + run.call.practice.reminders.retry_after


async def test_another_time_leaves_it_to_the_team_unless_moved(tmp_path):
    script = ScriptedLLM(
        [
            Call("patient_on_the_line"),
            Say("..."),
            Call("reminder_answer", answer="another_time"),
            Say("What is your date of birth?"),
        ]
    )
    async with reminder_call(tmp_path, script) as run:
        await run.session.run(user_input="It's me.")
        result = await run.session.run(user_input="I can't make it, I need another time.")
        [(output, _)] = tool_results(result, "reminder_answer")
        assert "verify_patient" in output
    reminder, appointment = await run.reminder()
    assert reminder.status == ReminderStatus.CALL_BACK and appointment.status == "booked"


# --- machines and unanswered lines --------------------------------------------------------------


async def test_a_voicemail_gets_a_message_without_health_details(tmp_path):
    async with reminder_call(tmp_path, ScriptedLLM(), answered=MACHINE) as run:
        message = run.call.voicemail()
        assert "Lakeside" in message and "(414) 555-0100" in message
        assert "Ann" not in message and "check" not in message.lower()
        reminder, _ = await run.reminder()
        assert reminder.status == ReminderStatus.LEFT_MESSAGE
    attempt = await run.attempt()
    assert attempt.answered_by == MACHINE and attempt.choice == ReminderStatus.LEFT_MESSAGE


async def test_busy_is_retried_after_the_spacing(tmp_path):
    async with reminder_call(tmp_path, ScriptedLLM()) as run:
        client = RecordingLiveKitAPI()

        async def busy(request, timeout=None):
            client.placed = request
            raise sip_error(486, "Busy Here")

        client.sip.create_sip_participant = busy
        run.call.line = None
        assert not await dial(client, run.call, "reminder-room")
        request = client.placed
        assert request.sip_number == "+14145550100" and request.wait_until_answered
        assert request.sip_call_to == "+14144007103" and request.sip_trunk_id == "ST_out"
        assert request.ringing_timeout.seconds == 30
        assert run.call.line is Line.BUSY and run.call.sip_status == 486
        run.call.answered_by = ""
    reminder, _ = await run.reminder()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.next_attempt_at == NOW + run.call.practice.reminders.retry_after
    attempt = await run.attempt()
    assert (attempt.line, attempt.sip_status) == ("busy", 486)


# --- a visit cancelled or moved, or an opt-out, after the claim ---------------------------------


class RecordingDialler(RecordingLiveKitAPI):
    """The fake LiveKit API, also recording every CreateSIPParticipant (and answering it)."""

    def __init__(self) -> None:
        super().__init__()
        self.dialled: list[api.CreateSIPParticipantRequest] = []
        self.sip.create_sip_participant = self._dial

    async def _dial(self, request, timeout=None):
        self.dialled.append(request)
        return api.SIPParticipantInfo(sip_call_id="SCL_dialled")


async def _move(run: ReminderRun) -> None:
    visit = run.call.appointment
    starts = visit.starts_at + timedelta(days=1)
    await run.store.appointments.reschedule(
        visit.id,
        patient_id=visit.patient_id,
        provider_id=visit.provider_id,
        starts_at=starts,
        ends_at=starts + (visit.ends_at - visit.starts_at),
    )


CHANGES = {
    # on an inbound call (tools/booking.py), in the staff app, or the staff's opt-out list
    "cancelled": (
        lambda run: run.store.appointments.cancel(
            run.call.appointment.id, patient_id=run.call.patient.id
        ),
        ReminderStatus.CANCELLED,
        VISIT_CANCELLED,
    ),
    "moved": (_move, ReminderStatus.MOVED, VISIT_MOVED),
    "opted out": (
        lambda run: run.store.reminders.opt_out(
            run.call.practice.id, run.call.patient.id, now=NOW, source="staff"
        ),
        ReminderStatus.OPTED_OUT,
        OPTED_OUT,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_no_call_is_placed_about_a_visit_changed_after_the_claim(tmp_path, change):
    make, status, reason = CHANGES[change]
    async with reminder_call(tmp_path, ScriptedLLM()) as run:
        await make(run)
        client = RecordingDialler()
        run.call.line, run.call.sip_status, run.call.answered_by = None, None, ""  # not dialled yet
        assert not await dial(client, run.call, run.call.job.room)
        assert client.dialled == []  # no CreateSIPParticipant: the patient's phone never rang
        assert run.call.line is Line.NOT_DIALLED
    reminder, _ = await run.reminder()
    assert (reminder.status, reminder.reason) == (status, reason)
    attempt = await run.attempt()
    assert (attempt.line, attempt.sip_status, attempt.answered_by) == ("not_dialled", None, "")
