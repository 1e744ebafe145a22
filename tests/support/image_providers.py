"""Test doubles for the worker running INSIDE the built image (tests/e2e/test_image.py).

The image carries the product, not its tests: the test mounts tests/ into the container at
/app/tests and selects these with `PROVIDER_FACTORY=tests.support.image_providers:build`, the
seam every e2e worker uses. They are the e2e doubles (tests/support/e2e_providers.py: `HeardSTT`,
the scripted LLM, espeak-ng's voice), with two differences:

- The voice: espeak-ng is not in the image, and must not be (the image is lean). `RemoteVoice`
  asks the test process for each sentence over a Unix socket mounted into the container
  (`E2E_SPEECH_SOCKET`); tests/support/image.py's `SpeechServer` speaks it there with the e2e
  doubles' own `speak`, so the caller still hears real espeak-ng speech over RTP.
- The model books: a new patient is registered, offered the first open new-patient exam, says
  yes, is booked, and the agent ends the call (`books`). The caller's words are a fixed sentence
  (`HeardSTT`), so the model reads the state of the call from its tool results, not the words.

Only this module's `build` runs in the container; it imports nothing the image lacks.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid

from livekit.agents import APIConnectOptions, llm, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from receptionist.call.providers import Providers
from receptionist.settings import Settings
from tests.support.e2e_providers import ESPEAK_RATE, GOODBYE, HeardSTT
from tests.support.scripted_llm import Call, Say, ScriptedLLM

SOCKET_ENV = "E2E_SPEECH_SOCKET"
PATIENT_NAME = "Jamie Rivera"
PATIENT_BORN = "1990-03-03"
VISIT_TYPE = "new-patient"
# What the STT double hears for every segment of the caller's speech.
CALLER_SAYS = (
    "I am a new patient, Jamie Rivera, born on March 3rd 1990, and I would like the first new "
    "patient exam you have."
)
OFFER = "I have a new patient exam for you. Shall I book it?"
ANSWER = "I can help you with that."


async def remote_speak(socket_path: str, text: str) -> tuple[bytes, int]:
    """The PCM and sample rate of `text`, spoken by the test process (one request a sentence:
    a JSON line out; the rate on a line, then the PCM, back)."""
    reader, writer = await asyncio.open_unix_connection(socket_path)
    try:
        writer.write(json.dumps({"text": text}).encode() + b"\n")
        await writer.drain()
        rate = int((await reader.readline()).decode().strip() or ESPEAK_RATE)
        return await reader.read(), rate
    finally:
        writer.close()


class RemoteVoice(tts.TTS):
    """espeak-ng's voice, rendered outside the container (16-bit mono PCM)."""

    def __init__(self, socket_path: str) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=ESPEAK_RATE,
            num_channels=1,
        )
        self.socket_path = socket_path

    @property
    def model(self) -> str:
        return "espeak-ng (remote)"

    @property
    def provider(self) -> str:
        return "test-double"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _RemoteStream(tts=self, input_text=text, conn_options=conn_options)


class _RemoteStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        owner: RemoteVoice = self._tts  # type: ignore[assignment]
        pcm, rate = await remote_speak(owner.socket_path, self._input_text)
        output_emitter.initialize(
            request_id=uuid.uuid4().hex, sample_rate=rate, num_channels=1, mime_type="audio/pcm"
        )
        output_emitter.push(pcm)
        output_emitter.flush()


def books(chat_ctx: llm.ChatContext) -> Say | Call:
    """The scripted model of the booking call: register, offer, book, end the call, goodbye."""
    items = [i for i in chat_ctx.items if i.type in ("message", "function_call_output")]
    last = items[-1] if items else None
    if last is None:
        return Say(ANSWER)
    if last.type == "function_call_output":
        following: dict[str, Say | Call] = {
            "register_patient": Call("find_open_times", visit_type=VISIT_TYPE),
            "find_open_times": Say(OFFER),
            "book_appointment": Call("end_call"),
            "end_call": Say(GOODBYE),
        }
        return following.get(last.name, Say(ANSWER))
    if last.type == "message" and last.role == "user":
        offered = [
            i for i in items if i.type == "function_call_output" and i.name == "find_open_times"
        ]
        if not offered:
            return Call("register_patient", full_name=PATIENT_NAME, date_of_birth=PATIENT_BORN)
        options = re.findall(r"opt-[0-9a-f]{6}", offered[-1].output)
        if options:
            return Call("book_appointment", option_id=options[0])
    return Say(ANSWER)


def build(settings: Settings) -> Providers:
    """PROVIDER_FACTORY entry point inside the image: the e2e doubles, the remote voice, the
    booking model, VAD-based turn detection (as the e2e worker's)."""
    return Providers(
        stt=HeardSTT(os.environ.get("E2E_CALLER_SAYS", CALLER_SAYS)),
        llm=ScriptedLLM(then=books),
        tts=RemoteVoice(os.environ[SOCKET_ENV]),
        turn_detection="vad",
    )
