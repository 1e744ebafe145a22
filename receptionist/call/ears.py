"""The staff member's spoken answer during a warm transfer, heard with the call's own STT.

The session stays linked to the caller while the staff member is briefed, so the staff's words
must not enter the caller's conversation: `Ears` listens to the staff's audio track apart and
hands each thing they say to the warm transfer (receptionist/call/warm.py via `RoomLegs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents import stt as agents_stt

log = logging.getLogger("receptionist.call")

ANSWER_SAMPLE_RATE = 16000


class Ears:
    """The staff member's answer, heard by the call's own STT on the staff's audio track.

    The session stays linked to the caller throughout (its input is paused while they hold), so
    the staff's words never enter the caller's conversation; this stream hears them instead.
    A non-streaming STT is cut into utterances by the session's VAD."""

    def __init__(self, room: rtc.Room, identity: str, session: AgentSession) -> None:
        self._room = room
        self._identity = identity
        self._session = session
        self.heard: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        recogniser = self._recogniser()
        if recogniser is None:
            log.warning("no speech recogniser for the staff's answer: keypad only")
            return
        track = await self._track()
        audio = rtc.AudioStream.from_track(track=track, sample_rate=ANSWER_SAMPLE_RATE)
        stream = recogniser.stream()
        feeding = asyncio.create_task(_feed(audio, stream))
        try:
            async for event in stream:
                if event.type == agents_stt.SpeechEventType.FINAL_TRANSCRIPT:
                    text = event.alternatives[0].text if event.alternatives else ""
                    if text.strip():
                        self.heard.put_nowait(text)
        except Exception as exc:  # the keypad still works
            log.warning("staff speech recognition stopped (%s)", type(exc).__name__)
        finally:
            feeding.cancel()
            with contextlib.suppress(Exception):
                await stream.aclose()
            with contextlib.suppress(Exception):
                await audio.aclose()

    def _recogniser(self) -> agents_stt.STT | None:
        stt, vad = self._session.stt, self._session.vad
        if stt is None:
            return None
        if stt.capabilities.streaming:
            return stt
        return agents_stt.StreamAdapter(stt=stt, vad=vad) if vad is not None else None

    async def _track(self) -> rtc.Track:
        """The staff's audio track, once the agent has subscribed to it."""
        arrived: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

        def on_track(
            track: rtc.Track, _: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
        ) -> None:
            mine = participant.identity == self._identity
            if mine and track.kind == rtc.TrackKind.KIND_AUDIO and not arrived.done():
                arrived.set_result(track)

        self._room.on("track_subscribed", on_track)
        try:
            person = self._room.remote_participants.get(self._identity)
            for publication in person.track_publications.values() if person else ():
                if publication.track is not None and publication.kind == rtc.TrackKind.KIND_AUDIO:
                    return publication.track
            return await arrived
        finally:
            self._room.off("track_subscribed", on_track)


async def _feed(audio: rtc.AudioStream, stream: agents_stt.RecognizeStream) -> None:
    async for event in audio:
        stream.push_frame(event.frame)
    stream.end_input()
