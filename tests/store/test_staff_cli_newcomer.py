"""What a newcomer sees from the staff command: demo data that shows itself (who, born when,
which day to look at) and views that keep callers' numbers and outcomes whole in 80 columns."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/book.db")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "80")
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return runner


def test_demo_data_prints_who_was_created_and_a_day_with_visits(env):
    result = env.invoke(app, ["demo-data"])
    assert result.exit_code == 0
    assert "Ann Lee" in result.output and "February 29, 1980" in result.output
    day = re.search(r"appointments --date (\d{4}-\d{2}-\d{2})", result.output)
    assert day is not None
    shown = env.invoke(app, ["appointments", "--date", day.group(1)])
    assert "booked" in shown.output  # the day it points at really has visits


def test_calls_and_messages_keep_numbers_and_outcomes_whole_in_80_columns(env):
    env.invoke(app, ["demo-data"])
    calls = env.invoke(app, ["calls"]).output
    assert "+14145550123" in calls and "message" in calls and "…" not in calls
    messages = env.invoke(app, ["messages"]).output
    assert "+14145550123" in messages and "…" not in messages
    assert max(len(line) for line in calls.splitlines()) <= 80
