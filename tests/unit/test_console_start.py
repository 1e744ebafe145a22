"""Starting LiveKit's console: which keys each mode needs, no audio device said up front (with
what to do instead), and the framework notices that do not apply here kept out of the way."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import pytest

from receptionist.call.session import (
    UNUSED_DETECTOR_NOTICE,
    call_providers,
    console_text_mode,
    quiet_framework_notices,
)
from receptionist.ops import startup
from receptionist.ops.startup import audio_problems, exit_if_not_ready, missing_keys
from receptionist.settings import load_settings
from tests.support.harness import example_practice


class Devices:
    """Stands in for the `sounddevice` module: `present` lists the kinds of device it has."""

    def __init__(self, *present: str) -> None:
        self.present = set(present)
        self.queried: list[tuple[object, str]] = []

    def query_devices(self, device=None, kind=None):
        self.queried.append((device, kind))
        if kind not in self.present:
            raise RuntimeError("Error querying device -1")  # PortAudio's words for "none"
        return {"name": f"test {kind}"}


@pytest.fixture(autouse=True)
def no_keys(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "PROVIDER_FACTORY"):
        monkeypatch.delenv(name, raising=False)


def test_text_console_needs_only_the_model_key():
    settings = load_settings()
    text = missing_keys(settings, "console", text=True)
    assert len(text) == 1 and text[0].startswith("OPENAI_API_KEY is not set")
    voice = missing_keys(settings, "console")
    assert [p.split()[0] for p in voice] == ["DEEPGRAM_API_KEY", "OPENAI_API_KEY"]
    assert missing_keys(load_settings(openai_api_key="sk-x"), "console", text=True) == []
    # Only the console types: the worker modes still need the speech keys.
    assert any("DEEPGRAM" in p for p in missing_keys(settings, "start", text=True))


def test_text_console_builds_no_speech_providers_without_a_deepgram_key():
    settings = load_settings(openai_api_key="sk-x")
    providers = call_providers(settings, example_practice(), text_only=True)
    assert providers.stt is None and providers.tts is None and providers.llm is not None
    both = load_settings(openai_api_key="sk-x", deepgram_api_key="dg-x")
    voice_ready = call_providers(both, example_practice(), text_only=True)
    assert voice_ready.stt is not None  # Ctrl-T can switch the console to voice


def test_voice_console_without_a_microphone_or_speaker_says_so_and_suggests_typing():
    [problem] = audio_problems(["console"], Devices())
    assert "No microphone or speaker found" in problem
    assert "uv run agent.py console --text" in problem and "agent.py try" in problem
    [problem] = audio_problems(["console"], Devices("output"))
    assert "No microphone found" in problem


def test_devices_present_or_typing_or_listing_pass():
    assert audio_problems(["console"], Devices("input", "output")) == []
    assert audio_problems(["console", "--text"], Devices()) == []
    assert audio_problems(["console", "--list-devices"], Devices()) == []
    assert audio_problems(["start"], Devices()) == []


def test_the_devices_asked_for_are_the_ones_checked():
    devices = Devices("input", "output")
    audio_problems(["console", "--input-device", "3", "--output-device=USB"], devices)
    assert devices.queried == [(3, "input"), ("USB", "output")]


def test_console_without_portaudio_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `import sounddevice` fails
    [problem] = audio_problems(["console", "--text"])
    assert "libportaudio2" in problem and "agent.py try" in problem


def test_agent_exits_2_with_the_message_before_starting(monkeypatch, capsys):
    """What `agent.py console` runs first: with no device it stops at once, status 2."""
    monkeypatch.setitem(sys.modules, "sounddevice", Devices())
    monkeypatch.setattr(startup, "startup_problems", lambda mode, text=False: [])
    with pytest.raises(SystemExit) as stopped:
        exit_if_not_ready(["console"])
    assert stopped.value.code == 2
    assert "No microphone or speaker found" in capsys.readouterr().err


def test_text_mode_is_read_from_the_running_console(monkeypatch):
    from livekit.agents import cli

    fake = SimpleNamespace(enabled=True, console_mode="text")
    monkeypatch.setattr(cli.AgentsConsole, "_instance", fake)
    assert console_text_mode()
    fake.console_mode = "audio"
    assert not console_text_mode()
    fake.enabled, fake.console_mode = False, "text"
    assert not console_text_mode()


def test_the_unused_turn_detector_warning_is_dropped_and_nothing_else():
    quiet_framework_notices()
    quiet_framework_notices()  # idempotent: one filter
    framework = logging.getLogger("livekit.agents")
    assert len([f for f in framework.filters if "unused" in getattr(f, "__name__", "")]) == 1

    def record(message: str) -> logging.LogRecord:
        return framework.makeRecord("livekit.agents", logging.WARNING, "x", 1, message, (), None)

    notice = f"{UNUSED_DETECTOR_NOTICE} LIVEKIT_API_KEY, LIVEKIT_API_SECRET missing; falling back"
    assert not framework.filter(record(notice))
    assert framework.filter(record("failed to recognize speech"))
