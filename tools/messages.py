"""Taking a message for the staff: reason, callback number, urgency. Never lost: if the database is
down the message waits in the local outbox."""

from __future__ import annotations

from typing import Literal

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import ToolError

from receptionist.domain.calls import CallState, Outcome
from receptionist.domain.phone import UNKNOWN, mask, normalize
from tools._shared import clean_text, practice_of, state_of, store_of


async def save_message(
    state: CallState, *, caller_name: str, reason: str, callback_number: str, urgency: str
) -> Literal["stored", "queued"]:
    """Stores the message, or keeps it in the outbox if the database is down."""
    practice = practice_of(state)
    store = await store_of(state)
    _, where = await store.add_message(
        practice_id=practice.id,
        caller_name=caller_name,
        callback_number=callback_number,
        reason=reason,
        urgency=urgency,
        patient_id=state.patient_id,
        call_id=state.info.call_id,
    )
    state.record(Outcome.MESSAGE)
    return where


def callback_for(state: CallState, given: str) -> str:
    practice = practice_of(state)
    number = normalize(given, practice.region) if given.strip() else state.info.caller
    if number == UNKNOWN:
        raise ToolError("Ask for the best callback number, with the area code, and repeat it back.")
    return number


@function_tool
async def take_message(
    ctx: RunContext[CallState],
    caller_name: str,
    reason: str,
    callback_number: str = "",
    urgency: Literal["routine", "soon", "urgent"] = "routine",
) -> str:
    """Leave a message for the staff to call the caller back.

    Args:
        caller_name: The caller's name.
        reason: What it is about, in a sentence; no diagnosis.
        callback_number: Number to call back; empty to use the number they are calling from.
        urgency: How soon the staff should call back.
    """
    state = state_of(ctx)
    name = " ".join(caller_name.split())[:80]
    if len(name) < 2:
        raise ToolError("Ask for the caller's name for the message.")
    text = clean_text(reason, "The reason")
    number = callback_for(state, callback_number)
    ctx.disallow_interruptions()
    await save_message(
        state, caller_name=name, reason=text, callback_number=number, urgency=urgency
    )
    return (
        f"Message saved for the team, callback number ending {mask(number)[-4:]}. Tell the caller "
        "the team will call them back."
    )


MESSAGE_TOOLS = [take_message]
