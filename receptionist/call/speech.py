"""Lines said from code (not the model): said, waited for, and never allowed to hang the call.

The transfer paths (cold and warm), the silence watch and the reminder calls say fixed lines and
then act (transfer, hang up, dial). A broken TTS must not stop that action, so each line is waited
for with a timeout and a failure is logged, not raised.
"""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import AgentSession

log = logging.getLogger("receptionist.call")

# Longest we wait for a line to play before acting anyway (TTS may be down).
LINE_TIMEOUT = 10.0


async def speak(
    session: AgentSession, text: str, *, timeout: float = LINE_TIMEOUT, to_chat: bool = True
) -> None:
    """Says `text` and waits for it to play out, but never hangs the call on a broken TTS.

    `to_chat=False` keeps the line out of the model's conversation (a briefing for the staff is
    not something the caller said or heard)."""
    try:
        handle = session.say(text, allow_interruptions=False, add_to_chat_ctx=to_chat)
        # asyncio.timeout, not wait_for, which on Python 3.11 can swallow a cancellation of the
        # caller (a warm transfer cancels its hold phase when the caller hangs up).
        async with asyncio.timeout(timeout):
            await handle.wait_for_playout()
    except Exception as exc:  # a failing TTS must not stop what follows the line
        log.warning("could not play a line", extra={"error": type(exc).__name__})
