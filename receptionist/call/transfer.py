"""Handing the caller to a human: announce, let it play out, then REFER; say so when it fails.

Shared by the LLM's transfer tool and the keypad `0` escape hatch, which must work without the
model. The lines are fixed text, so what the caller hears does not depend on the model either.
A practice whose `[practice.transfers] mode` is warm (or warm_then_cold) gets the warm transfer
instead (receptionist/call/warm.py) wherever the call's room allows it; cold is the default.
"""

from __future__ import annotations

import logging

from livekit.agents import AgentSession

from receptionist.call import warm
from receptionist.call.briefing import KEYPAD_REASON
from receptionist.call.control import TransferResult
from receptionist.call.speech import speak
from receptionist.call.state import CallState
from receptionist.domain.languages import DEFAULT, catalogue

log = logging.getLogger("receptionist.call")

# The English lines (prompts/en/lines.toml); a call says its own language's (`state.words`).
ANNOUNCE = catalogue(DEFAULT).line("transfer_announce")
UNAVAILABLE = catalogue(DEFAULT).line("transfer_unavailable")
ALREADY_TRANSFERRING = "a transfer is already under way"


async def transfer_caller(
    session: AgentSession, state: CallState, reason: str = ""
) -> TransferResult:
    """Announces and transfers to the staff (or after-hours) line; records the outcome.

    One transfer at a time: a second request (the caller pressing 0 twice, or 0 while the model
    transfers) while one is under way is ignored rather than sending a second REFER. `reason` is
    what the staff member hears in a warm transfer's briefing.
    """
    destination = state.transfer_target
    if refused := state.control.refusal(destination):
        # staff see why nobody was put through
        state.transfer_failed(refused.reason, warm=warm.wanted(state))
        return refused
    lock = state.control.transfer_lock
    if lock.locked():
        return TransferResult(ok=False, destination=destination, reason=ALREADY_TRANSFERRING)
    if warm.wanted(state):
        await lock.acquire()  # released by the warm attempt when it is over
        return await warm.start(session, state, destination, reason, cold=cold_transfer)
    async with lock:
        return await cold_transfer(session, state, destination)


async def cold_transfer(
    session: AgentSession, state: CallState, destination: str
) -> TransferResult:
    """The announcement, then SIP REFER; the caller leaves the room when it succeeds. Called
    with the transfer lock held."""
    await speak(session, state.words.line("transfer_announce"))
    result = await state.control.transfer(destination)
    if result.ok:
        state.transferred(destination)
    else:
        state.transfer_failed(result.reason)
    return result


async def operator_escape(session: AgentSession, state: CallState) -> None:
    """Keypad `0`: stop whatever is happening and put the caller through, model or no model."""
    if state.control.transfer_lock.locked():
        return
    session.interrupt(force=True)
    result = await transfer_caller(session, state, KEYPAD_REASON)
    if result.failed and result.reason != ALREADY_TRANSFERRING and not result.told_caller:
        await speak(session, state.words.line("transfer_unavailable"))
