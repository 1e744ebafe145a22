"""`receptionist notify run|status` against a real SQLite book and the real SMTP test server:
one pass, counts without patient data, settings problems with their fix, and a stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from receptionist.domain.messages import leave_message
from receptionist.domain.practice import load_directory
from receptionist.ops.cli import app
from receptionist.paths import REPO_ROOT
from receptionist.store import Outbox, Store
from tests.notify.rigs import SMTP_PASSWORD, SMTP_USER, SmtpRig
from tests.notify.support import APP_URL, CALLER, DESK, NUMBER, REASON, leaks


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpRig, ca_file: Path) -> Path:
    """A migrated book, a practice that emails DESK about urgent messages, and mail settings."""
    practice_file = tmp_path / "practice.toml"
    practice_file.write_text(
        (REPO_ROOT / "practice.toml")
        .read_text(encoding="utf-8")
        .replace("email = []", f'email = ["{DESK}"]', 1),
        encoding="utf-8",
    )
    values = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/book.db",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "PRACTICE_FILE": str(practice_file),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "receptionist@lakeside.test",
        "SMTP_USERNAME": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "SMTP_CA_FILE": str(ca_file),
        "STAFF_APP_URL": APP_URL,
        "COLUMNS": "200",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    return tmp_path


def _leave_urgent_message(env: Path) -> None:
    async def leave() -> None:
        practice = load_directory(Path(os.environ["PRACTICE_FILE"])).default
        async with Store(os.environ["DATABASE_URL"], outbox=Outbox(env / "outbox")) as store:
            where = await leave_message(
                store,
                practice,
                caller_name=CALLER,
                callback_number=NUMBER,
                reason=REASON,
                urgency="urgent",
            )
            assert where == "stored"

    asyncio.run(leave())


def test_run_once_sends_what_is_due_and_status_counts_it(env: Path, smtp: SmtpRig):
    _leave_urgent_message(env)
    runner = CliRunner()

    before = runner.invoke(app, ["notify", "status"])
    once = runner.invoke(app, ["notify", "run", "--once"])
    after = runner.invoke(app, ["notify", "status"])

    assert once.exit_code == 0, once.output
    assert "sent 1, retrying 0, gave up 0" in once.output
    assert [str(m["To"]) for m in smtp.messages] == [DESK]
    assert before.exit_code == after.exit_code == 0
    assert _row(before.output, "pending") == ["pending", "1", "0", "1"]
    assert _row(after.output, "sent") == ["sent", "1", "0", "1"]
    for output in (before.output, once.output, after.output):
        assert leaks(output) == []


def _row(table: str, status: str) -> list[str]:
    line = next(line for line in table.splitlines() if f" {status} " in line)
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


def test_missing_mail_settings_exit_2_with_the_fix_and_keep_the_notification(
    env: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpRig
):
    _leave_urgent_message(env)
    monkeypatch.delenv("SMTP_HOST")

    result = CliRunner().invoke(app, ["notify", "run", "--once"])

    assert result.exit_code == 2
    assert "SMTP_HOST is not set" in result.output and "none are lost" in result.output
    assert "Traceback" not in result.output and smtp.messages == []
    status = CliRunner().invoke(app, ["notify", "status"])
    assert _row(status.output, "pending") == ["pending", "1", "0", "1"]


def test_an_smtp_ca_file_that_is_not_a_certificate_exits_2_naming_it_and_keeps_the_notification(
    env: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpRig
):
    """Before, the sender started and every email failed its TLS set-up until it gave up."""
    _leave_urgent_message(env)
    not_a_ca = env / "ca.pem"
    not_a_ca.write_text("this is the mail server's address, not its CA\n")
    monkeypatch.setenv("SMTP_CA_FILE", str(not_a_ca))

    result = CliRunner().invoke(app, ["notify", "run", "--once"])

    assert result.exit_code == 2, result.output
    assert f"SMTP_CA_FILE names {not_a_ca}" in " ".join(result.output.split())
    assert "PEM certificate" in result.output and "none are lost" in result.output
    assert smtp.messages == []
    status = CliRunner().invoke(app, ["notify", "status"])
    assert _row(status.output, "pending") == ["pending", "1", "0", "1"]


def test_an_invalid_setting_exits_2_naming_it(env: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_PORT", "mail")
    result = CliRunner().invoke(app, ["notify", "run"])
    assert result.exit_code == 2 and "SMTP_PORT is invalid" in result.output


def test_the_long_running_sender_stops_on_sigterm(env: Path, smtp: SmtpRig):
    _leave_urgent_message(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "receptionist.ops.cli", "notify", "run", "--interval", "0.5"],
        cwd=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert len(smtp.messages) == 1
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Notification sender stopped." in output
    assert leaks(output) == []
