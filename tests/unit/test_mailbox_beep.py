"""A voicemail message starts only once the mailbox's beep is over and the line is quiet."""

from __future__ import annotations

import numpy as np

from receptionist.call.mailbox import QUIET_FOR, QuietWatch

RATE = 16000
FRAME = 0.01  # seconds per frame, as LiveKit delivers them


def tone(seconds: float, amplitude: float = 16000.0) -> list[np.ndarray]:
    """A 1 kHz beep in 10 ms frames."""
    t = np.arange(int(seconds * RATE)) / RATE
    samples = (amplitude * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    return np.split(samples, len(samples) // int(FRAME * RATE))


def hiss(seconds: float, level: float = 60.0) -> list[np.ndarray]:
    """A quiet line's noise, well under any voice or beep."""
    samples = np.random.default_rng(7).normal(0, level, int(seconds * RATE)).astype(np.int16)
    return np.split(samples, len(samples) // int(FRAME * RATE))


def seconds_until_quiet(frames: list[np.ndarray]) -> float | None:
    watch = QuietWatch()
    for n, frame in enumerate(frames, start=1):
        if watch.hear(frame, FRAME):
            return n * FRAME
    return None


def test_the_beep_is_not_quiet():
    assert seconds_until_quiet(tone(2.0)) is None


def test_quiet_is_declared_only_after_the_beep_and_a_pause():
    heard = seconds_until_quiet(tone(0.5) + hiss(1.0))
    assert heard is not None and abs(heard - (0.5 + QUIET_FOR)) < FRAME / 2


def test_a_second_beep_starts_the_pause_again():
    frames = tone(0.5) + hiss(QUIET_FOR / 2) + tone(0.5) + hiss(1.0)
    heard = seconds_until_quiet(frames)
    assert heard is not None and heard > 1.0 + QUIET_FOR / 2 + QUIET_FOR - FRAME


def test_an_empty_frame_counts_as_quiet():
    watch = QuietWatch(needed=FRAME)
    assert watch.hear(np.zeros(0, dtype=np.int16), FRAME)
