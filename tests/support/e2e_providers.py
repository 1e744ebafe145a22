"""Test doubles for the paid cloud AI providers, for end-to-end calls through the real agent.

Selected with `PROVIDER_FACTORY=tests.support.e2e_providers:build`. Only STT, LLM and TTS are
replaced; everything else (agent.py, the session, VAD, the SIP bridge, the server) is real.

- `EspeakTTS` speaks with espeak-ng, so the caller receives real, audible speech over RTP. Each
  distinct sentence is rendered once per machine and reused: a cache keyed by text, voice and
  speed, in memory and on disk (`E2E_TTS_CACHE`, default `<tmp>/receptionist-espeak-cache`), so
  every job process of a worker (and every run) shares it and a call costs no espeak-ng run.
- `HeardSTT` is a non-streaming STT: the session's VAD (Silero) cuts the caller's speech into
  segments and this double "hears" a fixed sentence for any segment with real energy in it
  (`E2E_CALLER_SAYS`). That keeps the conversation deterministic without a speech model, and its
  energy check is one vectorised pass over the segment, so it costs next to nothing.
- The LLM is the scripted double: it ends the call when the caller says goodbye, says the
  goodbye after the end-call tool, and otherwise gives a short answer.
- Turn detection is VAD-only by default (fast, deterministic e2e tests);
  `E2E_TURN_DETECTION=model` keeps the production one (the local `v1-mini` end-of-turn model,
  as `receptionist/call/providers.py` builds it), which the call benchmark uses so its CPU counts.

These doubles are what the call benchmark (`bench/calls.py`) runs with: they must cost next to
nothing so that the benchmark measures the receptionist, not its test doubles.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
import uuid
import wave
from pathlib import Path

import numpy as np
from livekit.agents import APIConnectOptions, llm, stt, tts
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from receptionist.call.providers import Providers
from receptionist.settings import Settings
from tests.support.scripted_llm import Call, Say, ScriptedLLM, last_tool_output

CALLER_SAYS = "That is all I needed, thank you. Goodbye."
GOODBYE = "Thank you for calling. Goodbye!"
ANSWER = "I can help you with that."
ESPEAK_RATE = 22050


class EspeakTTS(tts.TTS):
    """Real speech from espeak-ng (16-bit mono PCM at 22.05 kHz)."""

    def __init__(self, voice: str = "en-us", words_per_minute: int = 175) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=ESPEAK_RATE,
            num_channels=1,
        )
        self.voice = voice
        self.words_per_minute = words_per_minute

    @property
    def model(self) -> str:
        return "espeak-ng"

    @property
    def provider(self) -> str:
        return "test-double"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _EspeakStream(tts=self, input_text=text, conn_options=conn_options)


class _EspeakStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        owner: EspeakTTS = self._tts  # type: ignore[assignment]
        pcm, rate = await speak(self._input_text, owner.voice, owner.words_per_minute)
        output_emitter.initialize(
            request_id=uuid.uuid4().hex, sample_rate=rate, num_channels=1, mime_type="audio/pcm"
        )
        output_emitter.push(pcm)
        output_emitter.flush()


# Rendered speech, by (text, voice, speed): this process's copy of the disk cache below.
_SPOKEN: dict[tuple[str, str, int], tuple[bytes, int]] = {}


def cache_dir() -> Path:
    """Where rendered sentences are kept; shared by a worker's job processes and across runs."""
    return Path(
        os.environ.get("E2E_TTS_CACHE") or Path(tempfile.gettempdir()) / "receptionist-espeak-cache"
    )


def _cache_path(text: str, voice: str, wpm: int) -> Path:
    digest = hashlib.sha256(f"{voice}\0{wpm}\0{text}".encode()).hexdigest()
    return cache_dir() / f"{digest}.wav"


def _read_wav(data: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()


async def speak(text: str, voice: str = "en-us", wpm: int = 175) -> tuple[bytes, int]:
    """The PCM and sample rate of `text` spoken by espeak-ng, rendered once and then reused."""
    key = (text, voice, wpm)
    if key in _SPOKEN:
        return _SPOKEN[key]
    path = _cache_path(text, voice, wpm)
    try:
        _SPOKEN[key] = _read_wav(path.read_bytes())
        return _SPOKEN[key]
    except (OSError, EOFError, wave.Error):
        pass  # not rendered yet (or a torn file): render it
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a unique name, then renamed: processes rendering the same sentence at once
    # never see each other's half-written file.
    partial = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.partial")
    proc = await asyncio.create_subprocess_exec(
        "espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(partial), text,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"espeak-ng failed: {err.decode(errors='replace')}")
    data = partial.read_bytes()
    os.replace(partial, path)
    _SPOKEN[key] = _read_wav(data)
    return _SPOKEN[key]


class HeardSTT(stt.STT):
    """Non-streaming STT double: a fixed transcript for every VAD segment that holds speech."""

    def __init__(self, transcript: str, min_rms: float = 200.0) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.transcript = transcript
        self.min_rms = min_rms

    @property
    def model(self) -> str:
        return "heard-sentence"

    @property
    def provider(self) -> str:
        return "test-double"

    async def _recognize_impl(
        self,
        buffer: stt.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        text = self.transcript if _rms(buffer) >= self.min_rms else ""
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=text, confidence=1.0)],
        )


def _rms(buffer: stt.AudioBuffer) -> float:
    """Root mean square of the 16-bit samples, one vectorised pass over each frame (no copies)."""
    frames = buffer if isinstance(buffer, list) else [buffer]
    total, count = 0.0, 0
    for frame in frames:
        samples = np.frombuffer(frame.data, dtype=np.int16)
        if samples.size:
            total += float(np.dot(samples, samples.astype(np.float64)))
            count += samples.size
    return (total / count) ** 0.5 if count else 0.0


def respond(chat_ctx: llm.ChatContext) -> Say | Call:
    """The scripted model: goodbye after end_call; end_call when the caller says goodbye."""
    items = [i for i in chat_ctx.items if i.type in ("message", "function_call_output")]
    last = items[-1] if items else None
    if last is not None and last.type == "function_call_output" and last.name == "end_call":
        return Say(GOODBYE)
    if last is not None and last.type == "message" and last.role == "user":
        heard = (last.text_content or "").lower()
        if "goodbye" in heard or "that is all" in heard:
            return Call("end_call")
    return Say(ANSWER)


# A booking call (`build_booking`): a new patient, registered and booked by the scripted model.
BOOKING_CALLER_SAYS = "Hello, I am a new patient and I would like to book an exam."
NEW_PATIENT = {"full_name": "Carla Diaz", "date_of_birth": "1992-07-14"}
BOOKED = "You are booked for a new patient exam. Is there anything else I can help with?"
# What each of the scripted model's turns reports using, so the usage counters have figures.
TURN_USAGE = llm.CompletionUsage(prompt_tokens=900, completion_tokens=40, total_tokens=940)


def respond_booking(chat_ctx: llm.ChatContext) -> Say | Call:
    """The scripted model of a booking call, driven by what the tools have answered so far: the
    caller's words register them as a new patient, then the new-patient exam's times are found
    and the first is booked, and the booking is confirmed; anything said later gets a short
    answer (the caller hangs up)."""
    items = [i for i in chat_ctx.items if i.type in ("message", "function_call_output")]
    answered = {i.name for i in items if i.type == "function_call_output"}
    last = items[-1] if items else None
    if last is None or (last.type == "message" and last.role != "user"):
        return Say(ANSWER)
    if "book_appointment" in answered:
        return Say(BOOKED if last.type == "function_call_output" else ANSWER)
    if "register_patient" not in answered:
        return Call("register_patient", **NEW_PATIENT)
    if "find_open_times" not in answered:
        return Call("find_open_times", visit_type="new-patient")
    options = re.findall(r"opt-[0-9a-f]{6}", last_tool_output(chat_ctx, "find_open_times"))
    return Call("book_appointment", option_id=options[0])


def build_booking(settings: Settings) -> Providers:
    """PROVIDER_FACTORY for a call that books (tests/e2e/test_metrics_calls.py)."""
    return Providers(
        stt=HeardSTT(BOOKING_CALLER_SAYS),
        llm=ScriptedLLM(then=respond_booking, usage=TURN_USAGE),
        tts=EspeakTTS(),
        turn_detection="vad",
    )


def build(settings: Settings) -> Providers:
    """PROVIDER_FACTORY entry point: doubles for STT/LLM/TTS; VAD-based turn detection unless
    `E2E_TURN_DETECTION=model` (None: the production detector, chosen by the session builder)."""
    model = os.environ.get("E2E_TURN_DETECTION", "vad").strip().lower() == "model"
    return Providers(
        stt=HeardSTT(os.environ.get("E2E_CALLER_SAYS", CALLER_SAYS)),
        llm=ScriptedLLM(then=respond),
        tts=EspeakTTS(),
        turn_detection=None if model else "vad",
    )
