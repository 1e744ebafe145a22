"""Pre-rendered audio clips, played when the speech pipeline itself has failed.

When STT, LLM or TTS fail for good the session closes and its audio output is gone, so the apology
cannot come from TTS. These clips are WAV files shipped in `assets/clips/<language>/`, one set per
language a practice speaks (their words are the `[clips]` of prompts/<language>/lines.toml), played
on a track of our own in the call's language. `receptionist render-clips` (`receptionist.ops.clips`)
renders them; the start-up check refuses a language without them (`missing_clips`).
"""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from livekit import rtc

from receptionist.domain.languages import DEFAULT
from receptionist.paths import REPO_ROOT

log = logging.getLogger("receptionist.call")

CLIPS_DIR = REPO_ROOT / "assets" / "clips"
SAMPLE_RATE = 16000
FRAME_MS = 20


# Every clip a call may play (each language's catalogue gives their words).
CLIP_NAMES = ("trouble-transfer", "trouble-goodbye")


def clip_path(name: str, lang: str = DEFAULT) -> Path:
    return CLIPS_DIR / lang / f"{name}.wav"


def missing_clips(lang: str) -> list[str]:
    """The clips a language lacks, each with the fix (for the start-up check)."""
    return [
        f"languages: {lang!r} has no clip {clip_path(name, lang)}: run `uv run receptionist "
        "render-clips`"
        for name in CLIP_NAMES
        if not clip_path(name, lang).is_file()
    ]


def read_frames(path: Path) -> Iterator[rtc.AudioFrame]:
    """Splits a 16-bit mono WAV into 20 ms frames."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path} must be 16-bit mono PCM; re-render it with render-clips")
        rate = wav.getframerate()
        per_frame = rate * FRAME_MS // 1000
        while chunk := wav.readframes(per_frame):
            samples = len(chunk) // 2
            if samples < per_frame:
                chunk += b"\x00\x00" * (per_frame - samples)
            yield rtc.AudioFrame(chunk, rate, 1, per_frame)


class ClipPlayer(Protocol):
    async def play(self, name: str, lang: str = DEFAULT) -> None: ...


class RoomClipPlayer:
    """Publishes a clip on a track of its own, independent of the (failed) agent session."""

    def __init__(self, room: rtc.Room) -> None:
        self._room = room

    async def play(self, name: str, lang: str = DEFAULT) -> None:
        path = clip_path(name, lang)
        frames = list(read_frames(path))
        if not frames:
            return
        source = rtc.AudioSource(frames[0].sample_rate, 1)
        track = rtc.LocalAudioTrack.create_audio_track("fallback-clip", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        publication = await self._room.local_participant.publish_track(track, options)
        try:
            for frame in frames:
                await source.capture_frame(frame)
            await source.wait_for_playout()
            await asyncio.sleep(0.3)
        finally:
            await self._room.local_participant.unpublish_track(publication.sid)
            await source.aclose()
