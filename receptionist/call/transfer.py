"""Handing the caller to a human: announce, let it play out, then REFER; say so when it fails.

Shared by the LLM's transfer tool and the keypad `0` escape hatch, which must work without the
model. The lines are fixed text, so what the caller hears does not depend on the model either.
"""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import AgentSession

from receptionist.call.control import TransferResult
from receptionist.call.state import CallState

log = logging.getLogger("receptionist.call")

ANNOUNCE = "One moment please, I'm connecting you to our team now."
UNAVAILABLE = (
    "I'm sorry, I couldn't reach anyone on our team just now. "
    "I can take a message and someone will call you back. What would you like me to pass on?"
)
ALREADY_TRANSFERRING = "a transfer is already under way"
# Longest we wait for the announcement to play before transferring anyway (TTS may be down).
ANNOUNCE_TIMEOUT = 10.0


async def speak(session: AgentSession, text: str, *, timeout: float = ANNOUNCE_TIMEOUT) -> None:
    """Says `text` and waits for it to play out, but never hangs the call on a broken TTS."""
    try:
        handle = session.say(text, allow_interruptions=False)
        await asyncio.wait_for(handle.wait_for_playout(), timeout)
    except Exception as exc:  # a failing TTS must not stop the transfer
        log.warning(
            "could not play a line before transferring", extra={"error": type(exc).__name__}
        )


async def transfer_caller(session: AgentSession, state: CallState) -> TransferResult:
    """Announces and transfers to the staff (or after-hours) line; records the outcome.

    One transfer at a time: a second request (the caller pressing 0 twice, or 0 while the model
    transfers) while one is under way is ignored rather than sending a second REFER.
    """
    destination = state.transfer_target
    if refused := state.control.refusal(destination):
        state.note("transfer_failed", refused.reason)  # staff see why nobody was put through
        return refused
    if state.control.transfer_lock.locked():
        return TransferResult(ok=False, destination=destination, reason=ALREADY_TRANSFERRING)
    async with state.control.transfer_lock:
        await speak(session, ANNOUNCE)
        result = await state.control.transfer(destination)
    if result.ok:
        state.transferred(destination)
    else:
        state.note("transfer_failed", result.reason)
    return result


async def operator_escape(session: AgentSession, state: CallState) -> None:
    """Keypad `0`: stop whatever is happening and put the caller through, model or no model."""
    if state.control.transfer_lock.locked():
        return
    session.interrupt(force=True)
    result = await transfer_caller(session, state)
    if result.failed and result.reason != ALREADY_TRANSFERRING:
        await speak(session, UNAVAILABLE)
