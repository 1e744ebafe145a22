"""Warm transfer: the caller holds, a staff member is dialled and briefed, then they talk.

Chosen by `[practice.transfers] mode` (warm, or warm_then_cold); cold stays the default. One
attempt, in a task of its own that holds the call's transfer lock until it is over:

1. the caller hears a short line, then hold audio on its own track; their words are not turns;
2. the staff member is dialled into the same room over the outbound trunk; from the moment their
   leg joins, the two phone legs are kept from hearing each other (receptionist/call/legs.py);
3. the agent briefs the staff member (receptionist/call/briefing.py), whom only it can hear, and
   asks: yes or 1 connects, no or 2 declines;
4. connect: the legs hear each other, nobody hears the agent any more, hold stops and the session
   ends; the attempt then waits for either phone to hang up and ends the call for the other;
5. decline, no answer, busy, a failed dial or the hold limit: the staff leg is ended and the
   caller hears why and is offered a message (warm_then_cold: an unreachable line is handed over
   cold instead, so their phone system's voicemail or hunt group takes the call).

The caller hanging up at any point ends the staff leg. The hold never lasts longer than
`hold_limit_seconds`. What happened goes into the call's timeline (`warm_transfer` events) and
its outcome, as the cold transfer's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import StrEnum
from typing import Any

from livekit.agents import AgentSession

from receptionist.call.briefing import ASK_AGAIN, StaffAnswer, briefing, read_answer, read_key
from receptionist.call.control import TransferResult
from receptionist.call.legs import Legs, StaffCall, dialled_number
from receptionist.call.sip import Dialled
from receptionist.call.speech import speak
from receptionist.call.state import CallState
from receptionist.domain.languages import DEFAULT, catalogue
from receptionist.domain.lines import Line
from receptionist.domain.practice import TransferMode

log = logging.getLogger("receptionist.call")

# What the caller hears, in English (prompts/en/lines.toml); a call says its own language's.
HOLD_LINE = catalogue(DEFAULT).line("hold")
DECLINED = catalogue(DEFAULT).line("declined")
UNREACHED = catalogue(DEFAULT).line("unreached")
HELD_TOO_LONG = catalogue(DEFAULT).line("held_too_long")
STAFF_THANKS = "Thank you. I'll let the caller know. Goodbye."
STAFF_TOO_LATE = "I'm sorry, the caller couldn't hold any longer. I'll take a message. Goodbye."

ANSWER_WAIT = 10.0  # seconds the staff member has to answer once the question has been asked
ASKS = 2  # times the question is asked again before silence counts as a decline
BRIEF_RESERVE = 15  # seconds of the hold limit kept for the briefing when setting the ringing
MIN_RINGING = 5
BRIEFING_TIMEOUT = 45.0  # longest wait for the briefing to play
SPEAKING_WAIT = 5.0  # longest the hold plays on under the caller's line before it stops
STAFF_PREFIX = "staff-"

ColdTransfer = Callable[[AgentSession, CallState, str], Awaitable[TransferResult]]


class Ending(StrEnum):
    """How a warm attempt ended, as the staff app shows it."""

    CONNECTED = "connected"
    DECLINED = "declined by staff"
    STAFF_LEFT = "staff hung up before answering"
    NO_REPLY = "staff did not answer the question"
    NO_ANSWER = "no answer"
    BUSY = "busy"
    FAILED = "call to staff failed"
    NO_TRUNK = "no outbound trunk"
    HOLD_LIMIT = "hold limit reached"
    CALLER_LEFT = "caller hung up on hold"


DIALLED = {Line.NO_ANSWER: Ending.NO_ANSWER, Line.BUSY: Ending.BUSY, Line.FAILED: Ending.FAILED}
# Said to the caller when the attempt ends without them talking to anyone.
CALLER_LINES = {
    Ending.DECLINED: "declined",
    Ending.STAFF_LEFT: "declined",
    Ending.NO_REPLY: "declined",
    Ending.HOLD_LIMIT: "held_too_long",
}
# Endings after which warm_then_cold hands the caller over cold: the line was never reached.
UNREACHABLE = (Ending.NO_ANSWER, Ending.BUSY, Ending.FAILED)

_RUNNING: set[asyncio.Task[None]] = set()


def wanted(state: CallState) -> bool:
    """Whether this call's transfers are warm: the practice chose it and the room allows it."""
    return state.practice.transfers.warm and state.control.legs is not None


async def start(
    session: AgentSession,
    state: CallState,
    destination: str,
    reason: str,
    *,
    cold: ColdTransfer,
) -> TransferResult:
    """Runs a warm transfer; called with the transfer lock held, which the attempt releases when
    it is over (once connected: when the call ends). Returns once the outcome is known and the
    caller has been told (or connected); `cold` is the cold transfer, for warm_then_cold."""
    try:
        attempt = WarmTransfer(session, state, destination, reason, cold=cold)
    except BaseException:
        state.control.transfer_lock.release()
        raise
    task = asyncio.create_task(attempt.run())  # outlives the tool call that started it
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return await asyncio.shield(attempt.decided)


class WarmTransfer:
    """One warm transfer attempt, from the hold line to the end of the call or the caller's
    return to the assistant."""

    def __init__(
        self,
        session: AgentSession,
        state: CallState,
        destination: str,
        reason: str,
        *,
        cold: ColdTransfer,
    ) -> None:
        assert state.control.legs is not None
        self.session = session
        self.state = state
        self.legs: Legs = state.control.legs
        self.destination = destination
        self.reason = reason
        self.cold = cold
        self.staff = STAFF_PREFIX + secrets.token_hex(4)  # never a phone number
        self.decided: asyncio.Future[TransferResult] = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()
        self.dialled = False
        self.answered = False
        self._telling: asyncio.Task[None] | None = None

    # --- the attempt -------------------------------------------------------------------------

    async def run(self) -> None:
        """The whole attempt; always ends with the lock released and the outcome decided."""
        try:
            ending = await self._until_decided()
            if ending is Ending.CONNECTED:
                await self._connected()
            else:
                await self._not_connected(ending)
        except Exception as exc:
            log.error("warm transfer failed (%s)", type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._not_connected(Ending.FAILED)
        finally:
            with contextlib.suppress(Exception):
                await self.legs.close()
            self._decide(TransferResult(False, self.destination, reason=Ending.FAILED.value))
            self.state.control.transfer_lock.release()

    async def _until_decided(self) -> Ending:
        """Hold, dial, brief: the staff's answer, or what cut it short (the caller hanging up,
        the hold limit)."""
        trunk = await self._trunk()
        if not trunk:
            return Ending.NO_TRUNK
        phases = asyncio.create_task(self._hold_dial_brief(trunk))
        caller_left = self.legs.left(self.legs.caller)
        limit = self.state.practice.transfers.hold_limit_seconds
        racing: set[asyncio.Future[Any]] = {phases, caller_left}  # Any: an Ending and a None
        await asyncio.wait(racing, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if phases.done():
            return phases.result()
        phases.cancel()
        await asyncio.wait({phases}, timeout=5.0)  # bounded: the caller is waiting
        return Ending.CALLER_LEFT if caller_left.done() else Ending.HOLD_LIMIT

    async def _trunk(self) -> str | None:
        try:
            return await self.legs.outbound_trunk(self.state.practice)
        except Exception as exc:
            log.warning("outbound trunk not found (%s)", type(exc).__name__)
            return None

    async def _hold_dial_brief(self, trunk: str) -> Ending:
        state = self.state
        ready = asyncio.create_task(self.legs.ready_hold())  # published while the line plays
        try:
            await speak(self.session, self.state.words.line("hold"))
            await ready
        finally:
            ready.cancel()  # the caller hung up during the line: stop_hold closes what was made
        self._caller_input(False)  # what the caller says on hold is not a turn
        await self.legs.start_hold(state.practice.transfers.hold_audio)
        await self.legs.agent_heard_by(caller=False, staff=self.staff)
        state.note("warm_transfer", "dialling the team")
        self.dialled = True
        dialled = await self.legs.dial(self._staff_call(trunk))
        if not dialled.answered:
            return self._unanswered(dialled)
        self.answered = True
        state.note("warm_transfer", "staff answered")
        return await self._brief()

    def _staff_call(self, trunk: str) -> StaffCall:
        practice = self.state.practice
        left = practice.transfers.hold_limit_seconds - BRIEF_RESERVE - self._held()
        ringing = max(MIN_RINGING, min(int(self.state.control.ringing_timeout), int(left)))
        return StaffCall(
            identity=self.staff,
            number=dialled_number(self.destination),
            trunk_id=trunk,
            caller_id=practice.numbers[0] if practice.numbers else "",
            ringing_seconds=ringing,
        )

    def _unanswered(self, dialled: Dialled) -> Ending:
        log.info("staff line not reached", extra={"line": dialled.line.value})
        return DIALLED.get(dialled.line, Ending.FAILED)

    # --- the briefing ------------------------------------------------------------------------

    async def _brief(self) -> Ending:
        """Briefs the staff member and waits for yes/1 or no/2 (asked again if unclear)."""
        keys = self.legs.keys(self.staff)
        words = self.legs.words(self.staff, self.session)
        gone = self.legs.left(self.staff)
        playing: asyncio.Task[None] | None
        playing = self._to_staff(briefing(self.state, self.reason), BRIEFING_TIMEOUT)
        self.state.note("warm_transfer", "staff briefed")
        asks = 0
        while True:
            heard = await _next(keys, words, gone, playing)
            if heard is None:  # the question was asked and nothing came
                asks += 1
                if asks > ASKS:
                    return Ending.NO_REPLY
                playing = self._to_staff(ASK_AGAIN)
                continue
            kind, value = heard
            if kind == "gone":
                return Ending.STAFF_LEFT
            if kind == "played":
                playing = None
                continue
            answer = read_key(value) if kind == "key" else read_answer(value)
            if answer is not None:
                self._stop_telling()
                return Ending.CONNECTED if answer is StaffAnswer.CONNECT else Ending.DECLINED
            if kind == "said" and (playing is None or playing.done()):
                playing = self._to_staff(ASK_AGAIN)

    def _to_staff(self, text: str, timeout: float = 15.0) -> asyncio.Task[None]:
        """Says `text` on the staff member's own track (the caller cannot hear it), kept out
        of the caller's conversation with the model."""
        self._telling = asyncio.create_task(_tell(self.legs, self.session, text, timeout))
        return self._telling

    def _stop_telling(self) -> None:
        """Stops the line the staff member is hearing (they answered before it ended)."""
        if self._telling is not None:
            self._telling.cancel()
        self.legs.quiet_staff()

    # --- connected ---------------------------------------------------------------------------

    async def _connected(self) -> None:
        """Joins the legs, takes the agent out of the audio path, then waits for a hang-up."""
        self.state.note("warm_transfer", "staff agreed")
        caller_left, staff_left = self.legs.left(self.legs.caller), self.legs.left(self.staff)
        await self.legs.agent_heard_by(caller=False, staff=None)  # nobody hears the agent now
        await self.legs.join(self.staff)
        await self.legs.stop_hold()
        held = self._held()
        self.state.transferred(self.destination, warm=True)
        self.state.note("warm_transfer", f"connected after {held:.0f} s on hold")
        log.info("warm transfer connected", extra={"held_seconds": round(held, 1)})
        self._decide(TransferResult(ok=True, destination=self.destination))
        with contextlib.suppress(Exception):
            self.session.shutdown(drain=False)  # the agent is done; the call goes on without it
        talking = time.monotonic()
        await asyncio.wait({caller_left, staff_left}, return_when=asyncio.FIRST_COMPLETED)
        who = "caller" if caller_left.done() else "staff"
        self.state.note(
            "warm_transfer", f"{who} hung up after {time.monotonic() - talking:.0f} s talking"
        )
        await self.state.control.hang_up()  # the other phone hangs up too; the room is closed

    # --- not connected -----------------------------------------------------------------------

    async def _not_connected(self, ending: Ending) -> None:
        """Ends the staff leg, records why, and gives the caller back to the assistant (or,
        for warm_then_cold and an unreachable line, hands them over cold)."""
        if self.decided.done():
            return
        await self._end_staff_leg(ending)
        self.state.note("warm_transfer", ending.value)
        self.state.transfer_failed(f"warm: {ending.value}", warm=True)  # the staff app's summary
        if ending is Ending.CALLER_LEFT:
            self._decide(TransferResult(False, self.destination, reason=ending, told_caller=True))
            return
        if ending is Ending.NO_TRUNK or (
            ending in UNREACHABLE
            and self.state.practice.transfers.mode is TransferMode.WARM_THEN_COLD
        ):
            await self._handed_over_cold()
            return
        line = CALLER_LINES.get(ending, "unreached")
        await self._back_to_caller(self.state.words.line(line))
        self._decide(TransferResult(False, self.destination, reason=ending, told_caller=True))

    async def _end_staff_leg(self, ending: Ending) -> None:
        if not self.dialled:
            return
        if self.answered and ending in (Ending.DECLINED, Ending.NO_REPLY, Ending.HOLD_LIMIT):
            self._stop_telling()
            farewell = STAFF_TOO_LATE if ending is Ending.HOLD_LIMIT else STAFF_THANKS
            await self._to_staff(farewell)
        await self.legs.remove(self.staff)

    async def _handed_over_cold(self) -> None:
        await self._back_to_caller(None)
        result = await self.cold(self.session, self.state, self.destination)
        if result.failed:
            await speak(self.session, self.state.words.line("unreached"))
            result = replace(result, told_caller=True)
        self._decide(result)

    async def _back_to_caller(self, line: str | None) -> None:
        """The caller hears the agent again: the line starts over the hold, which then stops."""
        self._interrupt()
        await self.legs.agent_heard_by(caller=True, staff=None)
        if line is None:
            await self.legs.stop_hold()
            self._caller_input(True)
            return
        started, forget = _next_playback(self.session)
        try:
            handle = self.session.say(line, allow_interruptions=False)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SPEAKING_WAIT):
                    await started
        except Exception as exc:  # closing session: stop the hold all the same
            log.warning("could not tell the caller (%s)", type(exc).__name__)
            await self.legs.stop_hold()
            return
        finally:
            forget()
        await self.legs.stop_hold()
        self._caller_input(True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30.0):
                await handle.wait_for_playout()

    # --- small things ------------------------------------------------------------------------

    def _held(self) -> float:
        return time.monotonic() - self.started

    def _decide(self, result: TransferResult) -> None:
        if not self.decided.done():
            self.decided.set_result(result)

    def _interrupt(self) -> None:
        with contextlib.suppress(Exception):
            self.session.interrupt(force=True)

    def _caller_input(self, on: bool) -> None:
        with contextlib.suppress(Exception):
            if self.session.input.audio is not None:  # none in text sessions and tests
                self.session.input.set_audio_enabled(on)


async def _tell(legs: Legs, session: AgentSession, text: str, timeout: float) -> None:
    """One line to the staff member; a broken TTS is logged, never raised (the transfer goes on)."""
    try:
        async with asyncio.timeout(timeout):
            await legs.tell_staff(text, session)
    except Exception as exc:
        log.warning("could not say a line to the staff (%s)", type(exc).__name__)


async def _next(
    keys: asyncio.Queue[str],
    words: asyncio.Queue[str],
    gone: asyncio.Future[None],
    playing: asyncio.Task[None] | None,
) -> tuple[str, Any] | None:
    """The next thing from the staff member: ("key", digit), ("said", text), ("gone", None),
    ("played", None) when the agent's line ends, or None after ANSWER_WAIT of nothing."""
    key, said = asyncio.ensure_future(keys.get()), asyncio.ensure_future(words.get())
    waiting: set[asyncio.Future[Any]] = {key, said, gone}
    if playing is not None:
        waiting.add(playing)
    try:
        done, _ = await asyncio.wait(
            waiting, timeout=None if playing else ANSWER_WAIT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for getter in (key, said):
            getter.cancel()
    if gone in done:
        return ("gone", None)
    for kind, getter in (("key", key), ("said", said)):
        if getter in done and not getter.cancelled():
            return (kind, getter.result())
    if playing is not None and playing in done:
        return ("played", None)
    return None


def _next_playback(session: AgentSession) -> tuple[asyncio.Future[None], Callable[[], None]]:
    """A future for the next time the agent's audio starts playing (done at once when the
    session has no audio output), and how to stop listening. The agent's state cannot tell:
    it may still be "speaking" from the line just said to the staff member."""
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    output = session.output.audio
    if output is None:
        started.set_result(None)
        return started, lambda: None

    def on_started(_: Any) -> None:
        if not started.done():
            started.set_result(None)

    output.on("playback_started", on_started)
    return started, lambda: output.off("playback_started", on_started)
