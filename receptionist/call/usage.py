"""What a call's models used, counted for the operator when the call ends.

LiveKit's usage collector (`session.usage.model_usage`) adds up each model's figures over the
call: LLM tokens, seconds of audio sent to STT, characters given to TTS. The same figures are
stored with the call record; here they move the receptionist's counters (telemetry.metrics),
labelled by the provider and model names the session reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from livekit.agents.metrics.usage import LLMModelUsage, ModelUsage, STTModelUsage, TTSModelUsage

from receptionist.telemetry import metrics


def count_usage(practice_id: str, usage: Iterable[ModelUsage]) -> None:
    """Adds one call's model usage to the counters (other kinds, e.g. the turn detector's
    requests, cost nothing per call and are left out)."""
    for used in usage:
        if isinstance(used, LLMModelUsage):
            metrics.llm_tokens(
                practice_id,
                used.provider,
                used.model,
                input=used.input_tokens,
                cached_input=used.input_cached_tokens,
                output=used.output_tokens,
            )
        elif isinstance(used, STTModelUsage):
            metrics.stt_audio(practice_id, used.provider, used.model, used.audio_duration)
        elif isinstance(used, TTSModelUsage):
            metrics.tts_characters(practice_id, used.provider, used.model, used.characters_count)
