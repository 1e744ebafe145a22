"""A practice.toml or a .env that is there but cannot be read as it must be (not UTF-8, nested
hundreds of levels deep, a folder named *.toml, a location that is not a table) used to end in a
traceback. Each is now a `PracticeError` or `SettingsError` naming the file and the fix, and every
way the receptionist starts (`agent.py`'s start-up checks, the `receptionist` commands, the staff
web app) prints it and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from receptionist.domain.practice import PracticeError, load_directory
from receptionist.ops.cli import app
from receptionist.paths import REPO_ROOT
from receptionist.settings import SettingsError, load_settings

GOOD = (REPO_ROOT / "practice.toml").read_text(encoding="utf-8")
LIVEKIT = {"LIVEKIT_URL": "ws://127.0.0.1:9", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}
DEPTH = 5000  # far past what tomllib's recursive parser can nest


def _not_utf8(folder: Path) -> tuple[Path, Path]:
    path = folder / "practice.toml"
    path.write_bytes("# Lakeside Dental, Café Street\n".encode("latin-1") + GOOD.encode())
    return path, path


def _nested_arrays(folder: Path) -> tuple[Path, Path]:
    path = folder / "practice.toml"
    path.write_text(f"notes = {'[' * DEPTH}{']' * DEPTH}\n{GOOD}", encoding="utf-8")
    return path, path


def _nested_tables(folder: Path) -> tuple[Path, Path]:
    path = folder / "practice.toml"
    path.write_text(f"notes = {'{a = ' * DEPTH}1{'}' * DEPTH}\n{GOOD}", encoding="utf-8")
    return path, path


def _folder_named_toml(folder: Path) -> tuple[Path, Path]:
    """PRACTICE_FILE names a folder of profiles, one of which is a folder itself."""
    practices = folder / "practices"
    practices.mkdir()
    (practices / "practice.toml").write_text(GOOD, encoding="utf-8")
    (practices / "old.toml").mkdir()
    return practices, practices / "old.toml"


def _location_not_a_table(folder: Path) -> tuple[Path, Path]:
    path = folder / "practice.toml"
    path.write_text(f'location = ["downtown"]\n{GOOD}', encoding="utf-8")
    return path, path


# Each case: writes the files, gives (PRACTICE_FILE, the file named), and a piece of the fix.
CASES: dict[str, tuple[Callable[[Path], tuple[Path, Path]], str]] = {
    "not-utf8": (_not_utf8, "is not UTF-8 text (line 1 is in another encoding): save it as UTF-8"),
    "nested-arrays": (_nested_arrays, "nested too deeply to read"),
    "nested-tables": (_nested_tables, "nested too deeply to read"),
    "folder-named-toml": (_folder_named_toml, "is a folder, not a practice file"),
    "location-not-a-table": (
        _location_not_a_table,
        "location[0]: write each location as a [[location]] table",
    ),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'book.db'}")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "400")  # messages on one line, whatever the path's length


def _agent(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`uv run agent.py <args>` as a user runs it, in `cwd` (its .env, if any), with `env`."""
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    base.pop("PROVIDER_FACTORY", None)
    base.update(env)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "agent.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=base,
        timeout=120,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES)
def test_a_practice_file_that_cannot_be_read_is_a_practice_error_naming_it(case, tmp_path):
    write, fix = CASES[case]
    practice_file, culprit = write(tmp_path)
    with pytest.raises(PracticeError) as caught:
        load_directory(practice_file)
    assert str(caught.value).startswith(f"{culprit} is invalid:")
    assert fix in str(caught.value)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", [["appointments"], ["web"], ["sip", "setup"]])
def test_receptionist_commands_print_it_and_exit_2(case, command, tmp_path, monkeypatch):
    write, fix = CASES[case]
    practice_file, culprit = write(tmp_path)
    monkeypatch.setenv("PRACTICE_FILE", str(practice_file))
    for name, value in LIVEKIT.items():  # `sip setup` needs them before it reads the profile
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(app, command)

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert str(culprit) in _one_line(result.output) and fix in _one_line(result.output)


@pytest.mark.parametrize("case", CASES)
def test_agent_py_start_up_checks_print_it_and_exit_2_without_a_traceback(case, tmp_path):
    write, fix = CASES[case]
    practice_file, culprit = write(tmp_path)
    result = _agent(
        "console",
        cwd=tmp_path,
        PRACTICE_FILE=str(practice_file),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'book.db'}",
        OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    assert result.returncode == 2, result.stderr
    assert str(culprit) in result.stderr and fix in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def _latin1_env(folder: Path) -> Path:
    env_file = folder / ".env"
    env_file.write_bytes(
        "LOG_LEVEL=info\n# Café Street office\nAGENT_NAME=desk\n".encode("latin-1")
    )
    return env_file


ENV_FIX = "is not UTF-8 text (line 2 is in another encoding): save it as UTF-8"


def test_a_dotenv_that_is_not_utf8_is_a_settings_error_naming_it(tmp_path):
    env_file = _latin1_env(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith(f"{env_file} {ENV_FIX}") and "iconv" in problem


@pytest.mark.parametrize("command", [["appointments"], ["web"], ["notify", "run", "--once"]])
def test_receptionist_commands_with_a_dotenv_that_is_not_utf8_exit_2(command, tmp_path):
    env_file = _latin1_env(tmp_path)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert f"{env_file} {ENV_FIX}" in _one_line(result.output)


@pytest.mark.parametrize("args", [["--help"], ["console"]])
def test_agent_py_with_a_dotenv_that_is_not_utf8_exits_2_without_a_traceback(args, tmp_path):
    env_file = _latin1_env(tmp_path)
    result = _agent(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{env_file} {ENV_FIX}" in _one_line(result.stderr + result.stdout)
    assert "Traceback" not in result.stderr + result.stdout


def test_a_practice_file_this_user_cannot_read_is_a_practice_error_naming_it(tmp_path, monkeypatch):
    # (Tests run as root, who may read anything: the refusal is simulated.)
    practice_file = tmp_path / "practice.toml"
    practice_file.write_text(GOOD, encoding="utf-8")
    real_read_text = Path.read_text

    def refuse(self: Path, *args, **kwargs) -> str:
        if self == practice_file:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(PracticeError) as caught:
        load_directory(practice_file)
    assert str(caught.value).startswith(f"{practice_file} is invalid:")
    assert "cannot be read (Permission denied): let the user running" in str(caught.value)
