"""A receptionist call in-process: the real agent and call handling, test doubles at the edges.

The scripted LLM stands in for OpenAI; a recording API client stands in for the LiveKit server's
SIP and room APIs, so tests can assert the exact TransferSIPParticipant and DeleteRoom requests;
a recording clip player stands in for publishing audio to the room.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livekit import api
from livekit.agents import AgentSession
from livekit.agents.testing import fake_job_context

from receptionist.call.control import CallControl
from receptionist.call.lifecycle import CallLifecycle
from receptionist.call.providers import Providers
from receptionist.call.session import (
    Receptionist,
    attach_call_handling,
    build_session,
    todays_practice,
)
from receptionist.call.state import CallState
from receptionist.domain.calls import CallInfo
from receptionist.domain.practice import Practice, load_directory
from receptionist.paths import REPO_ROOT
from receptionist.settings import Settings, load_settings
from receptionist.store import Store, open_store
from tools import receptionist_tools

CALLER_ATTRIBUTES = {
    "sip.phoneNumber": "4144007103",
    "sip.trunkPhoneNumber": "+14145550100",
    "sip.callID": "SCL_test123",
    "sip.callIDFull": "abc-123@carrier",
    "sip.trunkID": "ST_test",
    "sip.ruleID": "SDR_test",
}
# Tuesday 10:00 in Milwaukee (open) and Saturday 10:00 (closed), as UTC instants.
OPEN_TIME = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
CLOSED_TIME = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


class _Recorder:
    def __init__(self, owner: RecordingLiveKitAPI) -> None:
        self._owner = owner


class _SipService(_Recorder):
    async def transfer_sip_participant(self, request: api.TransferSIPParticipantRequest) -> Any:
        self._owner.transfers.append(request)
        self._owner.ringing = True
        try:
            await asyncio.sleep(self._owner.transfer_seconds)  # the REFER ringing at the far end
        finally:
            self._owner.ringing = False
        if self._owner.transfer_error is not None:
            raise self._owner.transfer_error
        return self._owner.transfer_response


class _RoomService(_Recorder):
    async def delete_room(self, request: api.DeleteRoomRequest) -> Any:
        self._owner.deleted_rooms.append(request.room)
        self._owner.deleted_while_ringing |= self._owner.ringing
        return api.DeleteRoomResponse()


class RecordingLiveKitAPI:
    """Records the SIP and room requests the agent sends; can be told to refuse transfers."""

    def __init__(self) -> None:
        self.transfers: list[api.TransferSIPParticipantRequest] = []
        self.deleted_rooms: list[str] = []
        self.transfer_error: Exception | None = None
        # What the server answers when it raises nothing (ONGOING, as livekit-server 1.13 sends).
        self.transfer_response = api.TransferSIPParticipantResponse()
        self.transfer_seconds = 0.0
        self.ringing = False
        self.deleted_while_ringing = False  # hanging up under a ringing transfer drops the caller
        self.sip = _SipService(self)
        self.room = _RoomService(self)


def sip_error(code: int, status: str) -> api.SipCallError:
    return api.SipCallError(
        "unavailable",
        f"transfer failed: {code} {status}",
        status=503,
        metadata={"sip_status_code": str(code), "sip_status": status},
    )


@dataclass
class RecordingClips:
    played: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # the language of each clip played

    async def play(self, name: str, lang: str = "en") -> None:
        self.played.append(name)
        self.languages.append(lang)


@dataclass
class Call:
    session: AgentSession[CallState]
    state: CallState
    api: RecordingLiveKitAPI
    clips: RecordingClips
    lifecycle: CallLifecycle
    finished: list[CallState]

    async def keep_talking_until_ended(self, text: str, timeout: float = 20.0) -> None:
        """Sends caller turns until the session gives up (for provider-outage tests)."""
        async with asyncio.timeout(timeout):
            while not self.finished:
                with contextlib.suppress(RuntimeError):  # closed, still finishing the call
                    self.session.generate_reply(user_input=text)
                await asyncio.sleep(0.3)

    async def ended(self, timeout: float = 10.0) -> None:
        """Waits until the session has closed and the call has been cleaned up."""
        async with asyncio.timeout(timeout):
            while not self.finished:
                await asyncio.sleep(0.02)


def example_practice() -> Practice:
    return load_directory(REPO_ROOT / "practice.toml").default


@asynccontextmanager
async def receptionist_call(
    llm: Any,
    *,
    practice: Practice | None = None,
    at: datetime = OPEN_TIME,
    attributes: dict[str, str] | None = None,
    is_sip: bool = True,
    settings: Settings | None = None,
    tts: Any = None,
    stt: Any = None,
    user_away_timeout: float | None = None,
    store: Store | None = None,
    prepare: Callable[[CallState], None] | None = None,
) -> AsyncIterator[Call]:
    """Starts a call to the receptionist and yields it; the greeting has been queued.

    `store` is the test's own book (the caller closes it); without it the call uses the
    settings' book, as in production."""
    practice = practice or example_practice()
    settings = settings or load_settings()
    info = CallInfo.from_attributes(
        CALLER_ATTRIBUTES if attributes is None else attributes, practice.region, is_sip=is_sip
    )
    fake_api = RecordingLiveKitAPI()
    clips = RecordingClips()
    state = CallState(
        info=info,
        practice=practice,
        store=open_store(settings),  # the settings' book, as in production; tests swap in theirs
        control=CallControl(
            fake_api,
            room_name="call-test",
            participant_identity="sip_caller" if is_sip else "",
            ringing_timeout=settings.transfer_ringing_timeout,
        ),
        clips=clips,
        started_at=at,
        clock=lambda: at,
        caller_identity="sip_caller" if is_sip else "browser_user",
        room_name="call-test",
    )
    default_store = state.store
    if store is not None:
        state.store = store
    if prepare is not None:
        prepare(state)
    if state.store is not default_store:  # a test's own book: its staff closures apply, as live
        state.practice = await todays_practice(state.store, state.practice, at)
    finished: list[CallState] = []

    async def on_finished(done: CallState) -> None:
        finished.append(done)

    # The production session, with test doubles for the providers and no audio: turns are
    # driven by `session.run(user_input=...)`. Silence checks only when a test asks for them.
    settings = settings.model_copy(update={"silence_timeout": user_away_timeout or 3600.0})
    providers = Providers(stt=stt, llm=llm, tts=tts, turn_detection="manual")
    with fake_job_context():
        session = build_session(settings, providers, state, vad=None)
        lifecycle = attach_call_handling(session, state, settings, on_finished=on_finished)
        await session.start(Receptionist(state.practice, receptionist_tools()))
        try:
            yield Call(session, state, fake_api, clips, lifecycle, finished)
        finally:
            await state.keypad.drain()
            await session.aclose()
            await default_store.close()
