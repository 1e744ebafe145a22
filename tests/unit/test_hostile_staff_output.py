"""Our own messages and outside text print literally in the staff and SIP commands: a `[practice]`
in a fix is not Rich markup, and object names or arguments with markup or escape sequences do not
crash a command or act on the terminal."""

from __future__ import annotations

import json

import pytest
from livekit import api
from typer.testing import CliRunner

from receptionist.ops.cli import app
from receptionist.ops.sip import cli as sip_cli
from receptionist.ops.sip.provisioning import Existing
from receptionist.paths import REPO_ROOT

LIVEKIT = {"LIVEKIT_URL": "ws://127.0.0.1:9", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}


@pytest.fixture
def nameless_practice(tmp_path, monkeypatch):
    text = (REPO_ROOT / "practice.toml").read_text(encoding="utf-8")
    path = tmp_path / "practice.toml"
    path.write_text(text.replace('name = "Lakeside Family Dental"\n', "", 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("PRACTICE_FILE", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/book.db")
    monkeypatch.setenv("COLUMNS", "1000")
    for name, value in LIVEKIT.items():
        monkeypatch.setenv(name, value)
    return path


def test_staff_commands_print_a_practice_problem_whole(nameless_practice):
    result = CliRunner().invoke(app, ["appointments"])
    assert result.exit_code == 2
    assert "practice.name: is required: add it under [practice]" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash


def test_sip_setup_prints_a_practice_problem_whole(nameless_practice):
    result = CliRunner().invoke(app, ["sip", "setup", "--dry-run"])
    assert result.exit_code == 2
    assert "add it under [practice]" in result.output


def test_sip_explain_echoes_markup_and_escapes_literally():
    result = CliRunner().invoke(app, ["sip", "explain", "[/]\x1b]0;x\x07"])
    assert result.exit_code == 2  # unknown code, explained: no MarkupError
    assert "[/]" in result.output and "\x1b" not in result.output


def test_sip_doctor_prints_hostile_object_names_literally(monkeypatch, nameless_practice):
    # Trunk names come from the server: whoever can write there controls them.
    trunk = api.SIPInboundTrunkInfo(
        sip_trunk_id="ST_1",
        name="[/b][link=https://evil.example]x[/link]\x1b]0;t\x07",
        numbers=["+14145550100"],
    )
    monkeypatch.setattr(sip_cli, "_with_api", lambda *_: Existing([trunk], [], []))
    result = CliRunner().invoke(app, ["sip", "doctor"])
    assert result.exit_code == 1  # the open trunk is an error finding, reported, not a crash
    assert "[/b][link=https://evil.example]" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_settings_problems_in_render_clips_exit_cleanly(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    result = CliRunner().invoke(app, ["render-clips", "--engine", "tts"])
    assert result.exit_code == 2
    assert "LOG_LEVEL is invalid" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_sip_doctor_reports_a_broken_practice_and_still_checks_the_server(
    monkeypatch, nameless_practice
):
    monkeypatch.setattr(sip_cli, "_with_api", lambda *_: Existing([], [], []))
    result = CliRunner().invoke(app, ["sip", "doctor", "--json"])
    assert result.exit_code == 1
    codes = [f["code"] for f in json.loads(result.output)["findings"]]
    assert codes[0] == "practice-unreadable"
