"""Tools for a reminder call the practice placed (receptionist/call/outbound.py): the patient is
on the line, someone else answered, and what the patient wants done with the visit.

Thin: each lands on the call's `ReminderCall` (receptionist/reminders/call.py), the same methods
the keypad uses. The visit is never described before the patient is on the line.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import ToolError

from receptionist.call.outbound import ReminderCallState
from receptionist.reminders.call import ReminderCall, Stage
from receptionist.store import StoreUnavailable
from tools._args import DB_DOWN
from tools.booking import find_open_times, reschedule_appointment, verify_patient
from tools.call_control import end_call_tool, transfer_to_staff


def _call(ctx: RunContext[ReminderCallState]) -> ReminderCall:
    call = getattr(ctx.userdata, "reminder", None)
    if call is None:
        raise ToolError("This is not a reminder call; these tools do not apply.")
    return call


@function_tool
async def patient_on_the_line(ctx: RunContext[ReminderCallState]) -> str:
    """The person on the phone said they are the patient this reminder is for."""
    call = _call(ctx)
    if call.stage is Stage.DONE:
        return "This call is already settled. Say goodbye and call end_call."
    return f"Say exactly this, then wait for their answer: {call.patient_confirmed_identity()}"


@function_tool
async def not_the_patient(ctx: RunContext[ReminderCallState], wrong_number: bool) -> str:
    """Someone other than the patient answered.

    Args:
        wrong_number: True if the patient cannot be reached at this number at all (they do not
            know the patient); False if the patient just cannot come to the phone now.
    """
    call = _call(ctx)
    with contextlib.suppress(StoreUnavailable):  # then nothing is kept: tried again later
        await call.not_the_patient(wrong_number=wrong_number)
    if wrong_number:
        return (
            "Apologise for the call in one sentence, say nothing about any appointment or the "
            "patient, say goodbye and call end_call."
        )
    return (
        f"Say you will try {call.first_name} again another time, without mentioning any "
        "appointment or why you are calling beyond the practice's name. Say goodbye and call "
        "end_call."
    )


@function_tool
async def reminder_answer(
    ctx: RunContext[ReminderCallState],
    answer: Literal["confirm", "cancel", "another_time", "stop_calling"],
) -> str:
    """Record what the patient wants done after hearing the reminder.

    Args:
        answer: confirm (they will come), cancel (cancel the visit), another_time (they need a
            different time), stop_calling (they do not want reminder calls any more).
    """
    call = _call(ctx)
    if answer == "stop_calling":
        return _then_goodbye(await _stored(call.opt_out()))
    if call.stage is Stage.IDENTITY:
        raise ToolError(
            f"First make sure you are speaking with {call.first_name}: ask, and call "
            "patient_on_the_line when they say yes. Say nothing about the visit before that."
        )
    if call.stage is Stage.DONE and call.status:
        return "Their answer is already recorded. Say goodbye and call end_call."
    if answer == "confirm":
        return _then_goodbye(await _stored(call.confirm()))
    if answer == "cancel":
        ctx.disallow_interruptions()
        return _then_goodbye(await _stored(call.cancel()))
    await call.another_time()
    return (
        "They need another time. Ask for their full name and date of birth and call "
        "verify_patient before discussing anything else; then find_open_times for the same visit "
        "type, offer two or three times and move it with reschedule_appointment. If they cannot "
        "choose now, tell them the team will call them back to find a time. Then say goodbye and "
        "call end_call."
    )


async def _stored(pending: Any) -> str:
    try:
        return await pending
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None


def _then_goodbye(line: str) -> str:
    return f"Say exactly this, then call end_call: {line}"


REMINDER_TOOLS = [patient_on_the_line, not_the_patient, reminder_answer]


def reminder_tools() -> list[Any]:
    """One reminder call's tools: its own, moving the visit, the front desk, and a fresh
    end-call tool (the framework's, which keeps state)."""
    return [
        *REMINDER_TOOLS,
        verify_patient,
        find_open_times,
        reschedule_appointment,
        transfer_to_staff,
        end_call_tool(),
    ]
