"""Leaving a voicemail: wait for the mailbox's beep to end before speaking.

LiveKit's answering-machine detection can release its "machine" verdict while the beep still
sounds (seen on our stack: the verdict 0.1 s before a 0.5 s beep ended, and the message reaching
the mailbox 0.03-0.15 s after it), and the session's VAD does not count a pure tone as speech,
so the session cannot say when the beep is over. A message spoken into the beep loses its first
words to a mailbox that starts recording after it. This module listens to the line's own audio
and returns once it has been quiet for a moment.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np
from livekit import rtc

log = logging.getLogger("receptionist.reminders")

QUIET_LEVEL = (
    500.0  # RMS of 16-bit samples (about -36 dBFS): below a beep or a voice, above a line's hiss
)
QUIET_FOR = 0.3  # seconds of quiet that mean the mailbox is recording
QUIET_LIMIT = 8.0  # a mailbox that never goes quiet gets the message after this many seconds


@dataclass
class QuietWatch:
    """Counts how long the line has been quiet, frame by frame."""

    level: float = QUIET_LEVEL
    needed: float = QUIET_FOR
    quiet: float = 0.0

    def hear(self, samples: np.ndarray, seconds: float) -> bool:
        """Takes one frame's 16-bit samples; True once the line has been quiet long enough."""
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
        self.quiet = 0.0 if rms >= self.level else self.quiet + seconds
        return self.quiet >= self.needed


def _audio_track(room: rtc.Room, identity: str) -> rtc.Track | None:
    participant = room.remote_participants.get(identity)
    if participant is None:
        return None
    for publication in participant.track_publications.values():
        if publication.kind == rtc.TrackKind.KIND_AUDIO and publication.track is not None:
            return publication.track
    return None


async def wait_for_quiet(room: rtc.Room, identity: str, limit: float = QUIET_LIMIT) -> None:
    """Returns once `identity`'s audio has been quiet for QUIET_FOR seconds, or after `limit`."""
    track = _audio_track(room, identity)
    if track is None:
        return  # nobody to wait for: the mailbox hung up or never published audio
    stream = rtc.AudioStream.from_track(track=track, sample_rate=16000, num_channels=1)
    watch = QuietWatch()
    try:
        async with asyncio.timeout(limit):
            async for event in stream:
                frame = event.frame
                if watch.hear(np.frombuffer(frame.data, dtype=np.int16), frame.duration):
                    return
    except TimeoutError:
        log.info("the mailbox still sounds after %.0f s: leaving the message anyway", limit)
    finally:
        await stream.aclose()
