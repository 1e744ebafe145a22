"""Settings that look fine but used to crash later: every way the worker starts reports them like
any other start-up problem (exit 2, the fix, no traceback), and LOG_LEVEL takes the usual
spellings and hands LiveKit a name it accepts."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from livekit.agents import AgentServer
from livekit.agents.cli._legacy import LogLevel

from receptionist.ops.startup import exit_if_not_ready, startup_problems
from receptionist.paths import REPO_ROOT
from receptionist.settings import SettingsError, load_settings

KEYS = {"DEEPGRAM_API_KEY": "dg", "OPENAI_API_KEY": "oa"}
LIVEKIT = {"LIVEKIT_URL": "ws://127.0.0.1:9", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}


def run_agent(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    """`agent.py <args>` with only `env` set on top of a clean environment (no keys, no .env)."""
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_URL"))}
    base.pop("PROVIDER_FACTORY", None)
    base.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}",
        OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "agent.py"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=base,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ("debug", "DEBUG"),
        ("INFO", "INFO"),
        ("warn", "WARN"),
        ("WARN", "WARN"),
        ("warning", "WARN"),
        ("WARNING", "WARN"),
        ("Error", "ERROR"),
        ("critical", "CRITICAL"),
        (" info ", "INFO"),
    ],
)
def test_log_level_takes_the_usual_spellings_and_livekit_accepts_the_result(
    monkeypatch, written, level
):
    monkeypatch.setenv("LOG_LEVEL", written)
    settings = load_settings()
    assert settings.log_level == level
    server = AgentServer(log_level=settings.log_level)  # raised ValueError for "WARNING"
    assert LogLevel(server.log_level)  # what LiveKit's own CLI builds its defaults from
    logging.getLogger("receptionist.test").setLevel(settings.log_level)  # and Python's logging


def test_an_unknown_log_level_is_refused_with_the_spellings(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "LOG_LEVEL is invalid" in str(err.value)
    assert "warn (or warning)" in str(err.value) and "Value error" not in str(err.value)


def test_the_outbox_folder_is_a_start_up_check(monkeypatch, tmp_path):
    not_a_folder = tmp_path / "outbox"
    not_a_folder.write_text("a file where the folder should be")
    monkeypatch.setenv("OUTBOX_DIR", str(not_a_folder))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/book.db")
    problems = startup_problems("console")
    [outbox] = [p for p in problems if "OUTBOX_DIR" in p]
    assert str(not_a_folder) in outbox and "is a file, not a folder" in outbox


def test_a_missing_outbox_folder_is_created_owner_only_at_start_up(monkeypatch, tmp_path):
    folder = tmp_path / "spool" / "outbox"
    monkeypatch.setenv("OUTBOX_DIR", str(folder))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/book.db")
    problems = startup_problems("console")
    assert not [p for p in problems if "OUTBOX_DIR" in p]
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", ["console", "start", "dev", "connect"])
def test_an_unsupported_database_url_is_a_start_up_problem_in_every_call_mode(
    monkeypatch, capsys, mode
):
    for name, value in {**KEYS, **LIVEKIT, "DATABASE_URL": "mysql://u:p@db/book"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        exit_if_not_ready([mode])
    assert exit_.value.code == 2
    stderr = capsys.readouterr().err
    assert "DATABASE_URL uses 'mysql'" in stderr and ":p@" not in stderr


@pytest.mark.parametrize("argv", [[], ["--help"], ["download-files"]])
def test_bad_settings_stop_the_other_modes_too(monkeypatch, capsys, argv):
    # agent.py reads the settings when it loads, whatever the command.
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(SystemExit) as exit_:
        exit_if_not_ready(argv)
    assert exit_.value.code == 2
    assert "LOG_LEVEL is invalid" in capsys.readouterr().err


def test_agent_py_start_with_an_unsupported_database_url_exits_2_without_a_traceback(tmp_path):
    result = run_agent(
        "start", tmp_path=tmp_path, DATABASE_URL="mysql://u:p@db/book", **KEYS, **LIVEKIT
    )
    assert result.returncode == 2, result.stderr
    assert "DATABASE_URL uses 'mysql'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_agent_py_with_bad_settings_exits_2_without_a_traceback_in_any_mode(tmp_path):
    result = run_agent("--help", tmp_path=tmp_path, LOG_LEVEL="chatty")
    assert result.returncode == 2
    assert "LOG_LEVEL is invalid" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_agent_py_loads_with_log_level_warning(tmp_path):
    result = run_agent("--help", tmp_path=tmp_path, LOG_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
