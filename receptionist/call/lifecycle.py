"""How a call ends: silence checks, hang-up, and the rescue when the speech pipeline dies.

A call never dead-ends. A silent caller is asked whether they are still there, then politely let
go. When STT, LLM or TTS fail for good the session closes; the caller then hears a pre-rendered
apology (no TTS needed) and is transferred, or told to call back, and the line is hung up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from livekit.agents import AgentSession, CloseEvent, UserStateChangedEvent

from receptionist.call.speech import speak
from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.languages import DEFAULT, Catalogue, catalogue

log = logging.getLogger("receptionist.call")

# The English lines (prompts/en/lines.toml); a call says its own language's.
STILL_THERE = catalogue(DEFAULT).line("still_there")
SILENT_GOODBYE = catalogue(DEFAULT).line("silent_goodbye")


class SilenceWatch:
    """After the session marks the caller away: ask once, then end the call if still silent."""

    def __init__(
        self,
        session: AgentSession,
        *,
        grace_seconds: float,
        transferring: Callable[[], bool],
        words: Callable[[], Catalogue] = lambda: catalogue(DEFAULT),
    ) -> None:
        """`words`: the call's language's lines at the time they are said (it may switch)."""
        self._session = session
        self._grace = grace_seconds
        self._transferring = transferring
        self._words = words
        self._task: asyncio.Task | None = None

    def on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "away" and self._transferring():
            return  # the caller is hearing the transfer ring: not silence to act on
        if ev.new_state == "away" and self._task is None:
            self._task = asyncio.create_task(self._check())
        elif ev.new_state == "speaking" and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _check(self) -> None:
        await speak(self._session, self._words().line("still_there"))
        await asyncio.sleep(self._grace)
        if self._session.user_state != "away" or self._transferring():
            self._task = None
            return
        log.info("caller silent: ending the call")
        await speak(self._session, self._words().line("silent_goodbye"))
        self._session.shutdown()


class CallLifecycle:
    """Runs once when the session closes: rescue if it failed, hang up, write the call record."""

    def __init__(
        self,
        state: CallState,
        *,
        on_finished: Callable[[CallState], Awaitable[None]] | None = None,
    ) -> None:
        self._state = state
        self._on_finished = on_finished
        self._task: asyncio.Task | None = None

    def on_close(self, ev: CloseEvent) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._finish(ev))

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _finish(self, ev: CloseEvent) -> None:
        state = self._state
        try:
            if ev.error is not None:
                failed = type(getattr(ev.error, "error", ev.error)).__name__
                await self.rescue(failed, ev.error.type)
        except Exception:  # a broken rescue must still end in a hang-up, never a silent room
            log.exception("rescue failed; hanging up")
        finally:
            await state.control.transfer_settled()  # never delete the room under a ringing REFER
            state.note("call_ended")
            await state.control.hang_up()
            if self._on_finished is not None:
                await self._on_finished(state)

    async def rescue(self, error_name: str, source: str) -> None:
        """The speech pipeline is gone: apologise from a clip, then transfer or say goodbye."""
        state = self._state
        log.error(
            "speech pipeline failed for good; rescuing the call",
            extra={"failed": source, "error": error_name},
        )
        state.note("speech_failed", source)
        await state.control.transfer_settled()  # one already ringing: no second REFER
        if Outcome.TRANSFERRED in state.outcomes:
            return
        destination = state.transfer_target
        if destination and state.info.is_sip:
            await state.clips.play("trouble-transfer", state.language)
            result = await state.control.transfer(destination)
            if result.ok:
                state.transferred(destination)
                return
            state.transfer_failed(result.reason)
        await state.clips.play("trouble-goodbye", state.language)
