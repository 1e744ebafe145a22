"""`receptionist locks`: staff see a lock that guesses over many calls left, and clear it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app
from receptionist.store import Outbox, Store, name_key, upgrade


@pytest.fixture
def book(tmp_path, monkeypatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/book.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "200")
    asyncio.run(upgrade(url))
    return url


def _fail_checks(url: str, tmp_path, n: int) -> None:
    async def go() -> None:
        store = Store(url, outbox=Outbox(tmp_path / "outbox"))
        now = datetime.now(UTC)
        for i in range(n):
            await store.identity.record_identity_failure(
                "lakeside",
                name_key("Ann Lee"),
                f"+1414555016{i}",
                call_id="SCL_x",
                at=now - timedelta(minutes=i),
            )
        await store.close()

    asyncio.run(go())


def test_staff_list_a_lock_and_clear_it(book, tmp_path):
    _fail_checks(book, tmp_path, 5)
    runner = CliRunner()
    listed = runner.invoke(app, ["locks", "list"])
    assert (
        listed.exit_code == 0 and "name ann lee" in listed.output and "5 (limit 5)" in listed.output
    )
    cleared = runner.invoke(app, ["locks", "clear", "--name", "Ann  LEE"])
    assert cleared.exit_code == 0 and "Cleared 5" in cleared.output
    assert "No identity locks" in runner.invoke(app, ["locks", "list"]).output


def test_clear_needs_a_name_or_a_number(book):
    result = CliRunner().invoke(app, ["locks", "clear"])
    assert result.exit_code == 1 and "--name" in result.output
