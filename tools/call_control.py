"""Tools for reaching a human, typing on the keypad, and ending the call."""

from __future__ import annotations

from typing import Literal

from livekit.agents import RunContext, function_tool, llm
from livekit.agents.beta.tools import EndCallTool

from receptionist.call import transfer
from receptionist.call.control import NOT_A_PHONE_CALL
from receptionist.call.state import CallState


@function_tool
async def transfer_to_staff(ctx: RunContext[CallState], reason: str) -> str | None:
    """Connect the caller to a member of the practice's staff by phone.

    Use when the caller asks for a person, or when you cannot help them. Do not say anything
    before calling this: the tool tells the caller they are being connected (or put on hold
    while a team member is asked), and what happened if nobody could take the call.

    Args:
        reason: A few words for the staff on why the caller needs them, e.g. "a billing
            question". No medical details.
    """
    ctx.disallow_interruptions()
    state = ctx.userdata
    result = await transfer.transfer_caller(ctx.session, state, reason)
    if result.ok or result.told_caller:  # put through, or told why not and offered a message
        return None
    if result.reason == transfer.ALREADY_TRANSFERRING:
        return "The caller is already being connected to the team. Say nothing more."
    if result.reason == NOT_A_PHONE_CALL:
        return (
            "This caller is not on a phone line, so they cannot be put through. Give them the "
            "practice's phone number from the practice information and offer to take a message."
        )
    if not result.destination:
        return (
            "No one from the team can take calls right now. Tell the caller that, and offer to "
            "take a message so the team can call them back."
        )
    return (
        "The transfer did not go through: nobody answered. Apologise, tell the caller no one could "
        "be reached right now, and offer to take a message for a call back."
    )


@function_tool
async def start_keypad_entry(
    ctx: RunContext[CallState], what: Literal["date_of_birth", "callback_number"]
) -> str:
    """Let the caller type digits on their phone's keypad instead of saying them.

    Use when you ask for a date of birth or a callback number and the caller prefers to type,
    or speech is hard to understand. The typed digits arrive as the caller's next message.

    Args:
        what: Which value the caller is about to type.
    """
    ctx.userdata.keypad.start(what)
    if what == "date_of_birth":
        return (
            "Ask the caller to type their date of birth as month, day and year, then press pound."
        )
    return "Ask the caller to type the number, including the area code, then press pound."


def end_call_tool() -> EndCallTool:
    """The framework's end-call tool: goodbye, then the session ends and the line hangs up."""
    return EndCallTool(
        delete_room=False,  # our call lifecycle deletes the room through the injected API client
        end_instructions="Say a short, warm goodbye in one sentence.",
        extra_description="Also call it after you have said goodbye at the end of a finished call.",
    )


CALL_CONTROL_TOOLS: list[llm.Tool] = [transfer_to_staff, start_keypad_entry]
