"""Reminder calls the practice places: dial the patient, tell a person from a machine, and take
the patient's answer by voice or keypad.

A job whose dispatch metadata names a reminder (`ReminderJob`, dispatched by
`receptionist reminders run`) runs `run_reminder_call` instead of answering a caller:

1. it checks the job still holds its reminder (the claim's attempt number is the fence), builds
   the session (the agent waits silently) and starts LiveKit's answering-machine detection (AMD)
   before dialling, so no audio is missed;
2. just before dialling it checks in the book that the claim still holds, the visit is still
   booked at the time it will say and the patient has not opted out (a cancel, move or opt-out
   after the claim); if not, nothing is dialled and the attempt ends saying why;
3. it dials over the outbound trunk (CreateSIPParticipant: the practice's number as caller id,
   a ringing timeout, wait until answered); busy, no answer or failure end the attempt at once;
4. a machine: AMD waits for the greeting to end (the beep), the agent leaves a message with no
   health details (the practice, "about your appointment", a number to call back) and hangs up;
5. a person (or no verdict): the agent asks for the patient by first name; then states the visit
   and takes 1 confirm / 2 cancel / 3 another time / 0 staff, by keypad (read here, in code)
   or by voice (the model calls tools/reminders.py), both landing on the same `ReminderCall`
   methods (receptionist/reminders/call.py: what each answer does, without LiveKit);
6. what happened is recorded on the attempt (line, SIP status, person or machine, choice), and
   the reminder moves on (confirmed, cancelled, retried later, given up, ...):
   `ReminderCall.finish`.

No phone number or name is logged; the room is named after the reminder's id and attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, JobContext, get_job_context, room_io

from receptionist.call import language, sip
from receptionist.call.clips import RoomClipPlayer
from receptionist.call.control import CallControl
from receptionist.call.mailbox import wait_for_quiet
from receptionist.call.providers import build_providers
from receptionist.call.session import (
    Worker,
    attach_call_handling,
    build_session,
    noise_filter,
    todays_practice,
)
from receptionist.call.sip import LiveKitClient, Outgoing
from receptionist.call.speech import speak
from receptionist.call.state import CallState
from receptionist.call.transfer import operator_escape
from receptionist.call.usage import count_usage
from receptionist.domain.calls import CallInfo
from receptionist.domain.lines import Line
from receptionist.domain.phone import normalize
from receptionist.logs import bind_call
from receptionist.reminders.call import ReminderCall, Stage
from receptionist.reminders.rules import ReminderJob
from receptionist.store import StoreError
from receptionist.store.models import ReminderStatus
from receptionist.telemetry import metrics

if TYPE_CHECKING:
    from livekit.agents.voice.amd import AMD

log = logging.getLogger("receptionist.reminders")

PATIENT = "patient"  # the SIP participant's identity: never the number
MAX_CALL_SECONDS = 600
PERSON, MACHINE, UNKNOWN_ANSWER = "person", "machine", "unknown"
# Tries in all when the SIP bridge refuses to dial at all (receptionist/call/sip.py: BRIDGE_BUSY).
BRIDGE_BUSY_TRIES = 4
LINE_TIMEOUT = 30.0  # longest wait for one of our lines to play out (the visit line is long)
KEYPAD = frozenset("0123456789*#")  # a DTMF event is exactly one of these; anything else is noise

INSTRUCTIONS = """\
You are the automated assistant of {practice}, on a reminder call the practice placed to one of
its patients, {first_name}. Speak briefly and warmly; one or two sentences at a time.

- You have already asked whether you are speaking with {first_name}. If the person says yes,
  call patient_on_the_line. If it is someone else, or {first_name} cannot come to the phone,
  call not_the_patient; tell that person nothing about any appointment.
- Once the patient is on the line, say the appointment line the tool gives you, then record what
  they want with reminder_answer: confirm, cancel, another_time, or stop_calling if they ask not
  to get these calls. Anyone may ask for stop_calling at any time.
- For another_time, follow what reminder_answer tells you: check their date of birth with
  verify_patient before discussing anything beyond the time, then find_open_times and
  reschedule_appointment; or let them know the team will call them back.
- A person who asks for the front desk: transfer_to_staff.
- Never give medical advice. When everything is settled, say goodbye and call end_call.
"""


@dataclass
class ReminderCallState(CallState):
    """A call's state (what every tool reads), plus the reminder this call is about."""

    reminder: ReminderCall | None = None


class ReminderCaller(Agent):
    """The agent on a reminder call. It speaks only once the line is answered (`run_reminder_call`
    says the opening), so nothing plays into the ringing."""

    def __init__(self, call: ReminderCall, tools: Sequence[Any]) -> None:
        super().__init__(
            instructions=INSTRUCTIONS.format(
                practice=call.practice.name, first_name=call.first_name
            )
            + call.words.reminder["speak"],
            tools=list(tools),
        )
        self.call = call


class ReminderKeys:
    """The patient's keypad on a reminder call: 1 yes / confirm, 2 cancel, 3 another time,
    0 staff. Decided in code: it works whatever the model or the speech recogniser does."""

    def __init__(self, session: AgentSession, state: ReminderCallState) -> None:
        self._session = session
        self._state = state
        self._tasks: set[asyncio.Task[None]] = set()

    def press(self, digit: str) -> None:
        task = asyncio.ensure_future(self._on(digit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _on(self, digit: str) -> None:
        call, session = self._state.reminder, self._session
        if call is None or digit not in KEYPAD:  # exactly one key: "", "12" are not a press
            return
        if call.answered_by in ("", UNKNOWN_ANSWER):
            call.answered_by = PERSON  # a machine does not press keys (AMD heard no speech)
        if digit == "0":
            await call.handed_to_staff()
            await operator_escape(session, self._state)
            return
        if call.stage is Stage.IDENTITY and digit == "1":
            session.interrupt(force=True)
            await speak(session, call.patient_confirmed_identity(), timeout=LINE_TIMEOUT)
        elif call.stage is Stage.CHOICE and digit in ("1", "2"):
            session.interrupt(force=True)
            line = await (call.confirm() if digit == "1" else call.cancel())
            await speak(session, line, timeout=LINE_TIMEOUT)
            session.shutdown()  # the lifecycle hangs up and records the attempt
        elif call.stage is Stage.CHOICE and digit == "3":
            session.interrupt(force=True)
            await call.another_time()
            session.generate_reply(
                user_input="(pressed 3 on the keypad: I need another time)",
            )


def patient_leg(call: ReminderCall) -> Outgoing:
    """The patient's leg: their number as the practice's region reads it, the practice's number
    as caller id, the reminders' ringing time, and ten minutes at most."""
    return Outgoing(
        identity=PATIENT,
        number=normalize(call.patient.phone, call.practice.region),
        trunk_id=call.job.trunk_id,
        caller_id=call.practice.numbers[0],
        ringing_seconds=call.job.ringing_seconds,
        max_seconds=MAX_CALL_SECONDS,
        name="patient",
    )


async def dial(
    client: LiveKitClient, call: ReminderCall, room: str, *, busy_pause: float = sip.BUSY_PAUSE
) -> bool:
    """Places the call; True once answered. How the line answered is recorded on `call`.

    Each try first asks the book whether the call is still wanted (`ReminderCall.may_dial`): no
    INVITE for a visit cancelled or moved, or a patient opted out, since the claim (may_dial
    records why). A bridge that turns the call away before dialling ("cpu exhausted": livekit-sip
    above its CPU limit) is asked again a few times first: that is not the patient's line being
    busy."""
    dialled = await sip.dial(
        client,
        room,
        patient_leg(call),
        label="reminder call",
        logger=log,
        wanted=call.may_dial,
        tries=BRIDGE_BUSY_TRIES,
        busy_pause=busy_pause,
    )
    if dialled.line is Line.NOT_DIALLED:
        return False
    call.line, call.sip_status = dialled.line, dialled.sip_status
    if not dialled.answered:
        return False
    call.call_id = dialled.call_id
    if call.call_id:
        bind_call(call.call_id)
    return True


async def answered_by(session: AgentSession, detector: AMD) -> str:
    """person, machine or unknown: LiveKit's AMD verdict on the greeting (no verdict: unknown,
    treated as a person: a person who says nothing still gets the question)."""
    try:
        result = await detector.execute()
    except Exception as exc:
        log.warning("answering-machine detection gave no verdict (%s)", type(exc).__name__)
        return UNKNOWN_ANSWER
    if result.is_machine:
        return (
            MACHINE
            if result.category.value == "machine-vm"
            else f"{MACHINE}:{result.category.value}"
        )
    return PERSON if result.is_human else UNKNOWN_ANSWER


async def converse(
    session: AgentSession, call: ReminderCall, verdict: str, room: rtc.Room | None = None
) -> None:
    """After the answer: a message on a voicemail (after its beep), else the question for the
    patient."""
    if call.stage is not Stage.IDENTITY:  # keys were pressed while AMD listened: a person
        call.answered_by = PERSON
        return
    if verdict == MACHINE:
        call.answered_by = MACHINE
        if room is not None:
            await wait_for_quiet(room, PATIENT)
        await speak(session, call.voicemail(), timeout=LINE_TIMEOUT)
        await call.left_message()
        session.shutdown()
        return
    if verdict.startswith(MACHINE):  # a machine with no room for a message, or a phone menu
        call.answered_by = MACHINE
        session.shutdown()  # nothing chosen: tried again after the spacing
        return
    call.answered_by = verdict
    session.say(call.opening())


async def run_reminder_call(
    ctx: JobContext, worker: Worker, job: ReminderJob, tools: Callable[[], Sequence[Any]]
) -> None:
    """The whole reminder call, from the dispatch to the recorded attempt."""
    from livekit.agents.voice.amd import AMD  # the framework's answering-machine detection

    settings, store = worker.settings, worker.store
    bind_call(f"reminder-{job.reminder_id[:8]}-{job.attempt}")
    await ctx.connect()
    found = None
    try:
        found = await store.reminders.reminder_job(job.reminder_id)
    except StoreError as exc:
        log.warning("reminder not read (%s): no call placed", type(exc).__name__)
    base = worker.practices.get(job.practice_id)
    if (
        found is None
        or base is None
        or found[0].attempts != job.attempt
        or found[0].status != ReminderStatus.CALLING
    ):
        log.warning("this job no longer holds its reminder: no call placed")
        ctx.shutdown(reason="reminder not held")
        return
    _, appointment, patient = found
    now = datetime.now(UTC)
    practice = await todays_practice(store, base, now)
    call = ReminderCall(job, practice, appointment, patient, store)
    state = ReminderCallState(
        info=CallInfo(
            caller=normalize(patient.phone, practice.region),
            dialled=practice.numbers[0],
            is_sip=True,
        ),
        practice=practice,
        store=store,
        control=CallControl(
            ctx.api,
            room_name=ctx.room.name,
            participant_identity=PATIENT,
            ringing_timeout=settings.transfer_ringing_timeout,
        ),
        clips=RoomClipPlayer(ctx.room),
        started_at=now,
        caller_identity=PATIENT,
        room_name=ctx.room.name,
        reminder=call,
    )
    # The patient's language: the call's lines, and its STT and voice (the first words too).
    state.language, state.language_chosen = call.language, True
    providers = build_providers(settings, keyterms=[practice.name])
    session = build_session(settings, providers, state, worker.vad)
    spoken = language.by_code(state, call.language)
    if spoken is not None and spoken.code != practice.languages[0]:
        language.switch_speech(session, spoken)

    async def finished(_: CallState) -> None:
        try:
            await call.finish()
        finally:
            count_usage(practice.id, session.usage.model_usage)
            line = call.line or Line.FAILED  # as the attempt is recorded
            metrics.reminder_call(practice.id, line=line.value, result=call.status)
            get_job_context().shutdown(reason="reminder call finished")

    lifecycle = attach_call_handling(session, state, settings, on_finished=finished)
    keys = ReminderKeys(session, state)
    ctx.room.on("sip_dtmf_received", lambda ev: keys.press(ev.digit))
    ctx.add_shutdown_callback(lifecycle.wait)
    await session.start(
        agent=ReminderCaller(call, tools()),
        room=ctx.room,
        room_options=room_io.RoomOptions(
            participant_identity=PATIENT,
            audio_input=room_io.AudioInputOptions(noise_cancellation=noise_filter(settings)),
        ),
        session_host=False,  # as on an inbound phone call (receptionist.call.session)
    )
    detector = AMD(
        session,
        participant_identity=PATIENT,
        interrupt_on_machine=True,
        ivr_detection=False,
        suppress_compatibility_warning=True,
    )
    async with detector:
        if not await dial(ctx.api, call, ctx.room.name):
            session.shutdown()  # the lifecycle deletes the room and records the attempt
            return
        verdict = await answered_by(session, detector)
    await converse(session, call, verdict, ctx.room)
