"""Rendering the apology clips that calls play when the speech pipeline has failed.

`receptionist render-clips` writes them to `assets/clips/<language>/` for every language with a
catalogue (prompts/<language>/lines.toml, whose `[clips]` are their words), with espeak-ng offline
or the configured cloud TTS for a voice that matches the agent's; calls only play them
(`receptionist.call.clips`).
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

from livekit import rtc
from livekit.agents import tts

from receptionist.call.clips import CLIP_NAMES, CLIPS_DIR, SAMPLE_RATE
from receptionist.domain.languages import CATALOGUE_FILE, DEFAULT, PROMPTS_DIR, catalogue

# espeak-ng's voice for a language, where its code is not the language's own.
ESPEAK_VOICES = {"en": "en-us"}


def clip_texts(lang: str) -> dict[str, str]:
    """The words of each clip in `lang`: what the caller hears when nothing else can speak."""
    words = catalogue(lang).clips
    return {name: words[name] for name in CLIP_NAMES}


def catalogued_languages() -> list[str]:
    """Every language with a catalogue under prompts/ (the default first)."""
    found = sorted(p.parent.name for p in PROMPTS_DIR.glob(f"*/{CATALOGUE_FILE}"))
    return sorted(found, key=lambda code: code != DEFAULT)


# The default language's clips, as before there were languages.
CLIP_TEXT = clip_texts(DEFAULT)


def clip_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def render_with_espeak(
    name: str, text: str, out_dir: Path = CLIPS_DIR / DEFAULT, lang: str = DEFAULT
) -> Path:
    """Renders a clip offline with espeak-ng (its voice for `lang`), resampled by sox to 16 kHz
    mono."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{name}.espeak.wav"
    target = out_dir / f"{name}.wav"
    voice = ESPEAK_VOICES.get(lang, lang)
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(target)], check=True
    )
    raw.unlink()
    return target


async def render_with_tts(
    name: str, text: str, tts_engine: tts.TTS, out_dir: Path = CLIPS_DIR / DEFAULT
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
