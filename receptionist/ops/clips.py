"""Rendering the apology clips that calls play when the speech pipeline has failed.

`receptionist render-clips` writes them to `assets/clips/` (espeak-ng offline, or the configured
cloud TTS for a voice that matches the agent's); calls only play them (`receptionist.call.clips`).
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

from livekit import rtc
from livekit.agents import tts

from receptionist.call.clips import CLIPS_DIR, SAMPLE_RATE

# The words of each clip: what the caller hears when nothing else can speak.
CLIP_TEXT = {
    "trouble-transfer": (
        "I'm sorry, I'm having technical trouble. Please hold while I connect you to our team."
    ),
    "trouble-goodbye": (
        "I'm sorry, I'm having technical trouble and can't help you right now. "
        "Please call the office again in a few minutes. Goodbye."
    ),
}


def clip_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def render_with_espeak(name: str, text: str, out_dir: Path = CLIPS_DIR) -> Path:
    """Renders a clip offline with espeak-ng, resampled by sox to 16 kHz mono."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{name}.espeak.wav"
    target = out_dir / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(target)], check=True
    )
    raw.unlink()
    return target


async def render_with_tts(
    name: str, text: str, tts_engine: tts.TTS, out_dir: Path = CLIPS_DIR
) -> Path:
    """Renders a clip with the configured cloud TTS, for a voice that matches the agent's."""
    target = out_dir / f"{name}.wav"
    frame = await tts_engine.synthesize(text).collect()
    resampled = rtc.AudioResampler(frame.sample_rate, SAMPLE_RATE, num_channels=1)
    frames = resampled.push(frame) + resampled.flush()
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a one-off command)
    with wave.open(str(target), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        for f in frames:
            wav.writeframes(f.data.tobytes())
    return target
