"""The language switch reaches the providers a session really runs: Deepgram's STT language and
the TTS voice (OpenAI's voice, Deepgram's Aura model), through the fallback chains too."""

from __future__ import annotations

from types import SimpleNamespace

from livekit.agents import stt, tts
from livekit.plugins import deepgram, openai

from receptionist.call.language import switch_speech
from receptionist.domain.languages import Language

SPANISH = Language("es", "2", ("espanol",), "es", "nova")
SPANISH_AURA = Language("es", "2", ("espanol",), "multi", "aura-2-celeste-es")


def test_the_stt_language_and_the_openai_voice_switch():
    ears = deepgram.STT(api_key="k", language="en-US")
    voice = openai.TTS(api_key="k", voice="ash")
    switch_speech(SimpleNamespace(stt=ears, tts=voice), SPANISH)  # type: ignore[arg-type]
    assert ears._opts.language == "es" and voice._opts.voice == "nova"


def test_every_provider_of_a_fallback_chain_switches():
    first, second = deepgram.STT(api_key="k"), deepgram.STT(api_key="k", model="nova-2")
    voices = [deepgram.TTS(api_key="k"), openai.TTS(api_key="k", voice="ash")]
    session = SimpleNamespace(
        stt=stt.FallbackAdapter([first, second]), tts=tts.FallbackAdapter(voices)
    )
    switch_speech(session, SPANISH_AURA)  # type: ignore[arg-type]
    assert first._opts.language == second._opts.language == "multi"
    assert voices[0]._opts.model == "aura-2-celeste-es"
    assert voices[1]._opts.voice == "ash"  # an Aura voice is Deepgram's: OpenAI keeps its own


def test_no_voice_named_keeps_the_settings_voice():
    voice = openai.TTS(api_key="k", voice="ash")
    switch_speech(
        SimpleNamespace(stt=None, tts=voice),  # type: ignore[arg-type]
        Language("es", "2", (), "es", ""),
    )
    assert voice._opts.voice == "ash"
