"""`agent.py` refuses to start with a clear list of fixes, never a traceback or a silent exit 0."""

import os
import subprocess
import sys

from receptionist.paths import REPO_ROOT


def run_agent(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    base.pop("PROVIDER_FACTORY", None)
    base.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}", **env)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "agent.py"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env
        env=base,
        timeout=120,
    )


def test_console_without_keys_names_what_is_missing_and_exits_non_zero(tmp_path):
    result = run_agent("console", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "DEEPGRAM_API_KEY is not set" in result.stderr
    assert "OPENAI_API_KEY is not set" in result.stderr
    assert "receptionist migrate" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_text_console_without_keys_names_only_the_model_key(tmp_path):
    """Typing uses no speech recognition or voice: `console --text` needs OPENAI_API_KEY alone."""
    result = run_agent("console", "--text", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "OPENAI_API_KEY is not set" in result.stderr
    assert "DEEPGRAM_API_KEY" not in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_start_without_livekit_url_exits_non_zero(tmp_path):
    result = run_agent("start", tmp_path=tmp_path, DEEPGRAM_API_KEY="x", OPENAI_API_KEY="y")
    assert result.returncode == 2
    assert "LIVEKIT_URL is not set" in result.stderr


def test_broken_practice_file_names_the_field(tmp_path):
    broken = tmp_path / "practice.toml"
    broken.write_text('[practice]\nname = "X"\ntimezone = "Mars/Olympus"\nregion = "US"\n')
    result = run_agent("console", tmp_path=tmp_path, PRACTICE_FILE=str(broken))
    assert result.returncode == 2
    assert "timezone" in result.stderr and "Mars/Olympus" in result.stderr
    assert "Traceback" not in result.stderr
