"""Test doubles for the paid cloud AI providers, for end-to-end calls through the real agent.

Selected with `PROVIDER_FACTORY=tests.support.e2e_providers:build`. Only STT, LLM and TTS are
replaced; everything else (agent.py, the session, VAD, the SIP bridge, the server) is real.

- `EspeakTTS` speaks with espeak-ng, so the caller receives real, audible speech over RTP.
- `HeardSTT` is a non-streaming STT: the session's VAD (Silero) cuts the caller's speech into
  segments and this double "hears" a fixed sentence for any segment with real energy in it
  (`E2E_CALLER_SAYS`). That keeps the conversation deterministic without a speech model.
- The LLM is the scripted double: it ends the call when the caller says goodbye, says the
  goodbye after the end-call tool, and otherwise gives a short answer.
"""

from __future__ import annotations

import array
import asyncio
import os
import tempfile
import uuid
import wave
from pathlib import Path

from livekit import rtc
from livekit.agents import APIConnectOptions, llm, stt, tts
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from receptionist.call.providers import Providers
from receptionist.settings import Settings
from tests.support.scripted_llm import Call, Say, ScriptedLLM

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


async def speak(text: str, voice: str = "en-us", wpm: int = 175) -> tuple[bytes, int]:
    """Runs espeak-ng into a temporary WAV file and returns its PCM and sample rate."""
    with tempfile.TemporaryDirectory() as folder:
        wav_path = Path(folder) / "speech.wav"
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav_path), text,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"espeak-ng failed: {err.decode(errors='replace')}")
        with wave.open(str(wav_path), "rb") as wav:
            return wav.readframes(wav.getnframes()), wav.getframerate()


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
        frame = rtc.combine_audio_frames(buffer)
        text = self.transcript if _rms(frame) >= self.min_rms else ""
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=text, confidence=1.0)],
        )


def _rms(frame: rtc.AudioFrame) -> float:
    samples = array.array("h", bytes(frame.data))
    if not samples:
        return 0.0
    return (sum(s * s for s in samples) / len(samples)) ** 0.5


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


def build(settings: Settings) -> Providers:
    """PROVIDER_FACTORY entry point: doubles for STT/LLM/TTS, VAD-based turn detection."""
    return Providers(
        stt=HeardSTT(os.environ.get("E2E_CALLER_SAYS", CALLER_SAYS)),
        llm=ScriptedLLM(then=respond),
        tts=EspeakTTS(),
        turn_detection="vad",
    )
