"""Builds the speech pipeline (STT, LLM, TTS, VAD, turn handling) from settings.

Plugin objects with provider keys, not LiveKit Inference model strings, so the same build runs on
LiveKit Cloud and on a self-hosted server. A second provider or model, when configured, is wrapped
with the framework's fallback adapters. `PROVIDER_FACTORY` is the documented seam that tests use to
put test doubles in place of the paid cloud providers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import NOT_GIVEN, TurnHandlingOptions, inference, llm, stt, tts
from livekit.agents.voice.turn import TurnDetectionMode
from livekit.plugins import deepgram, openai

from receptionist.settings import Settings

# Words the phone-audio STT should favour: dental vocabulary callers use.
DENTAL_KEYTERMS = [
    "cleaning",
    "checkup",
    "crown",
    "filling",
    "root canal",
    "hygienist",
    "Invisalign",
]


@dataclass
class Providers:
    """What a session speaks and listens with. `turn_detection` None means the local detector;
    `stt` and `tts` None mean a typed conversation (`console --text` without a Deepgram key,
    `agent.py try`): nothing is heard or said aloud."""

    stt: stt.STT | None
    llm: llm.LLM
    tts: tts.TTS | None
    turn_detection: TurnDetectionMode | None = None


def build_providers(settings: Settings, keyterms: list[str] | None = None) -> Providers:
    """The providers the settings describe, or whatever `PROVIDER_FACTORY` returns."""
    if settings.provider_factory:
        return load_factory(settings.provider_factory)(settings)
    return Providers(
        stt=build_stt(settings, keyterms or []),
        llm=build_llm(settings),
        tts=build_tts(settings),
    )


def load_factory(spec: str) -> Callable[[Settings], Providers]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"PROVIDER_FACTORY={spec!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


def build_stt(settings: Settings, keyterms: list[str]) -> stt.STT:
    key = settings.deepgram_api_key.get_secret_value()
    terms = [*keyterms, *DENTAL_KEYTERMS]

    def make(model: str) -> stt.STT:
        # Keyterm prompting exists only on Nova-3 models; other models reject the option.
        return deepgram.STT(
            model=model,
            language=settings.stt_language,
            smart_format=True,
            api_key=key,
            keyterm=terms if model.startswith("nova-3") else NOT_GIVEN,
        )

    primary = make(settings.stt_model)
    if not settings.stt_fallback_model:
        return primary
    return stt.FallbackAdapter([primary, make(settings.stt_fallback_model)])


def build_llm(settings: Settings) -> llm.LLM:
    key = settings.openai_api_key.get_secret_value()

    def make(model: str) -> llm.LLM:
        return openai.LLM(model=model, temperature=settings.llm_temperature, api_key=key)

    primary = make(settings.llm_model)
    if not settings.llm_fallback_model:
        return primary
    return llm.FallbackAdapter([primary, make(settings.llm_fallback_model)])


def build_tts(settings: Settings) -> tts.TTS:
    primary = _tts(settings, settings.tts_provider, settings.tts_voice)
    if not settings.tts_fallback_provider:
        return primary
    voice = settings.tts_fallback_voice or settings.tts_voice
    return tts.FallbackAdapter([primary, _tts(settings, settings.tts_fallback_provider, voice)])


def _tts(settings: Settings, provider: str, voice: str) -> tts.TTS:
    if provider == "deepgram":
        model = voice if voice.startswith("aura") else "aura-2-thalia-en"
        return deepgram.TTS(model=model, api_key=settings.deepgram_api_key.get_secret_value())
    return openai.TTS(
        model=settings.tts_model,
        voice=voice,
        instructions="Speak as a warm, calm dental receptionist on the phone, at an even pace.",
        api_key=settings.openai_api_key.get_secret_value(),
    )


def turn_handling(settings: Settings, providers: Providers) -> TurnHandlingOptions:
    """Turn-taking options: local end-of-turn model, VAD interruptions, patient endpointing.

    The local `v1-mini` detector is pinned because the default switches to a Cloud model in
    dev/console mode when LiveKit credentials are present, and a self-hosted server has no such
    model. Adaptive interruption also needs Cloud, so interruptions use VAD.
    """
    detection = providers.turn_detection
    if detection is None:
        detection = inference.TurnDetector(version="v1-mini")
    return {
        "turn_detection": detection,
        "endpointing": {
            "mode": "fixed",
            "min_delay": settings.endpointing_min_delay,
            "max_delay": settings.endpointing_max_delay,
        },
        "interruption": {"mode": "vad", "min_duration": 0.6},
        "preemptive_generation": {"enabled": settings.preemptive_generation},
    }
