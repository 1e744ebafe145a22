"""The staff command line against a real SQLite file: migrate, demo data, the three views."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/book.db")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_views_refuse_an_unmigrated_database_with_the_fix(env):
    result = CliRunner().invoke(app, ["appointments"])
    assert result.exit_code == 1
    assert "receptionist migrate" in result.output


def test_migrate_demo_data_and_views(env):
    runner = CliRunner()
    assert "newest" in runner.invoke(app, ["migrate"]).output
    first = runner.invoke(app, ["demo-data"])
    assert first.exit_code == 0 and "8 patients" in first.output
    again = runner.invoke(app, ["demo-data"])
    assert "0 new appointments" in again.output  # idempotent
    week = [runner.invoke(app, ["appointments", "--date", d]).output for d in _next_days(8)]
    assert sum(out.count("booked") for out in week) >= 3
    messages = runner.invoke(app, ["messages"])
    assert "Bob Stone" in messages.output and "+14145550123" in messages.output
    calls = runner.invoke(app, ["calls"])
    assert "SCL_demo" in calls.output and "1:14" in calls.output
    bad = runner.invoke(app, ["appointments", "--date", "tomorrow"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
    assert "Wrote 0" in runner.invoke(app, ["flush-outbox"]).output


def _next_days(n: int) -> list[str]:
    from receptionist.domain.practice import load_practice
    from receptionist.paths import REPO_ROOT

    today = load_practice(REPO_ROOT / "practice.toml").now().date()
    from datetime import timedelta

    return [(today + timedelta(days=i)).isoformat() for i in range(n)]


def test_demo_bookings_and_message_point_at_the_demo_call(env):
    """The staff app links a booking or message to its call by the call's LiveKit id."""
    import sqlite3

    runner = CliRunner()
    runner.invoke(app, ["migrate"])
    assert runner.invoke(app, ["demo-data"]).exit_code == 0
    db = sqlite3.connect(env / "book.db")
    calls = {row[0] for row in db.execute("SELECT livekit_call_id FROM calls")}
    booked_by = {row[0] for row in db.execute("SELECT call_id FROM appointments")} - {""}
    left_by = {row[0] for row in db.execute("SELECT call_id FROM messages")}
    assert booked_by and left_by and booked_by | left_by <= calls
