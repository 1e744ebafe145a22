"""Taking a message for the staff: reason, callback number, urgency. Never lost: if the database is
down the message waits in the local outbox."""

from __future__ import annotations

import logging
from typing import Literal

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import ToolError

from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.messages import leave_message
from receptionist.domain.phone import mask
from receptionist.domain.text import clean_free_text
from tools._args import callback_number as callback_number_of
from tools._args import clean_text

log = logging.getLogger(__name__)
MAX_NAME = 80
NOT_SAVED = (
    "The message could NOT be saved. Do not tell the caller it was. Apologise, and transfer them "
    "to the staff with transfer_to_staff; if nobody can take the call, ask them to call the "
    "office again later."
)


async def save_message(
    state: CallState, *, caller_name: str, reason: str, callback_number: str, urgency: str
) -> Literal["stored", "queued"]:
    """Stores the message, or keeps it in the outbox if the database is down."""
    where = await leave_message(
        state.store,
        state.practice,
        caller_name=caller_name,
        callback_number=callback_number,
        reason=reason,
        urgency=urgency,
        patient_id=state.identity.patient_id,
        call_id=state.info.call_id,
    )
    state.record(Outcome.MESSAGE)
    state.note("message_taken", urgency if where == "stored" else f"{urgency}, kept in the outbox")
    return where


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
    state = ctx.userdata
    name = clean_free_text(caller_name, limit=MAX_NAME)
    if len(name) < 2:
        raise ToolError("Ask for the caller's name for the message.")
    text = clean_text(reason, "The reason")
    number = callback_number_of(state, callback_number)
    ctx.disallow_interruptions()
    try:
        await save_message(
            state, caller_name=name, reason=text, callback_number=number, urgency=urgency
        )
    except Exception as exc:  # refused by the database, or the outbox cannot keep it
        # Type only: the exception text could carry the caller's words or number.
        log.error("message not saved (%s)", type(exc).__name__)
        raise ToolError(NOT_SAVED) from None
    return (
        f"Message saved for the team, callback number ending {mask(number)[-4:]}. Tell the caller "
        "the team will call them back."
    )


MESSAGE_TOOLS = [take_message]
