"""The speech pipeline and noise cancellation are built from settings."""

from types import SimpleNamespace

import pytest
from livekit import rtc
from livekit.agents import inference, llm, stt, tts
from livekit.plugins import deepgram, noise_cancellation, openai

from receptionist.call.providers import Providers, build_providers, turn_handling
from receptionist.call.session import noise_filter
from receptionist.settings import load_settings

KEYS = {"deepgram_api_key": "dg-test", "openai_api_key": "sk-test"}


def test_single_providers_are_plugin_objects_with_settings_applied():
    settings = load_settings(
        **KEYS,
        llm_model="gpt-4.1-mini",
        llm_temperature=0.2,
        tts_voice="sage",
        stt_language="en-GB",
    )
    providers = build_providers(settings, keyterms=["Lakeside Family Dental"])
    assert isinstance(providers.stt, deepgram.STT)
    assert providers.stt.model == "nova-3"
    assert providers.stt._opts.language == "en-GB"
    assert "Lakeside Family Dental" in providers.stt._opts.keyterm  # the practice's name
    assert isinstance(providers.llm, openai.LLM) and providers.llm.model == "gpt-4.1-mini"
    assert providers.llm._opts.temperature == 0.2
    assert isinstance(providers.tts, openai.TTS) and providers.tts._opts.voice == "sage"


def test_second_provider_or_model_is_wrapped_in_fallback_adapters():
    settings = load_settings(
        **KEYS,
        stt_fallback_model="nova-2-phonecall",
        llm_fallback_model="gpt-4o-mini",
        tts_fallback_provider="deepgram",
    )
    providers = build_providers(settings)
    assert isinstance(providers.stt, stt.FallbackAdapter)
    assert isinstance(providers.llm, llm.FallbackAdapter)
    assert isinstance(providers.tts, tts.FallbackAdapter)


def test_turn_handling_pins_the_local_detector_and_patient_endpointing():
    settings = load_settings(**KEYS, endpointing_min_delay=0.7, endpointing_max_delay=5.0)
    options = turn_handling(settings, Providers(stt=None, llm=None, tts=None))
    assert isinstance(options["turn_detection"], inference.TurnDetector)
    assert options["endpointing"] == {"mode": "fixed", "min_delay": 0.7, "max_delay": 5.0}
    assert options["interruption"]["mode"] == "vad"
    assert options["preemptive_generation"] == {"enabled": True}


def test_provider_factory_seam_is_used_instead_of_cloud_providers():
    settings = load_settings(provider_factory="tests.unit.test_pipeline:_fake_factory")
    assert build_providers(settings).llm == "fake-llm"


def test_provider_factory_must_name_module_and_function():
    with pytest.raises(ValueError, match="package.module:function"):
        build_providers(load_settings(provider_factory="nonsense"))


def _fake_factory(settings):
    return Providers(stt="fake-stt", llm="fake-llm", tts="fake-tts")


def _participant(kind):
    return SimpleNamespace(participant=SimpleNamespace(kind=kind))


def test_noise_cancellation_auto_is_on_only_for_livekit_cloud():
    assert noise_filter(load_settings(livekit_url="ws://127.0.0.1:7880")) is None
    choose = noise_filter(load_settings(livekit_url="wss://demo.livekit.cloud"))
    sip = choose(_participant(rtc.ParticipantKind.PARTICIPANT_KIND_SIP))
    web = choose(_participant(rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD))
    assert sip.options == noise_cancellation.BVCTelephony().options
    assert web.options == noise_cancellation.BVC().options
    assert sip.options != web.options


def test_noise_cancellation_on_and_off_override_auto():
    cloud = "wss://x.livekit.cloud"
    assert noise_filter(load_settings(noise_cancellation="off", livekit_url=cloud)) is None
    assert noise_filter(load_settings(noise_cancellation="on", livekit_url="ws://127.0.0.1:7880"))
