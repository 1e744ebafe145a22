"""The app on a real uvicorn server: the lifespan runs the notification sender and stops it."""

from __future__ import annotations

import asyncio

import httpx
from typer.testing import CliRunner

from receptionist.domain.practice import PracticeDirectory
from receptionist.ops.cli import app as cli
from receptionist.web import create_app
from tests.support.web import PASSWORD, add_user, app_settings, post_login, web_practice
from tests.web.live import live_server


def _sender_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "notification-sender"]


async def test_a_real_server_serves_the_app_and_runs_the_sender_while_it_runs(
    db_url, store, tmp_path
):
    app = create_app(
        app_settings(db_url, tmp_path),
        store=store,
        directory=PracticeDirectory([web_practice()]),
    )
    await add_user(store)
    async with live_server(app) as base_url:
        [sender] = _sender_tasks()
        assert not sender.done()
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/today")).status_code == 303
            assert (await post_login(client, "maria", PASSWORD)).status_code == 303
            page = await client.get("/today")
            assert page.status_code == 200 and "Maria Santos" in page.text
    assert sender.done() and not sender.cancelled()  # it stopped when asked, not killed
    assert _sender_tasks() == []


def test_receptionist_web_refuses_to_start_until_the_book_is_ready(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/missing.db")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    result = CliRunner().invoke(cli, ["web"])
    assert result.exit_code == 2
    assert "cannot start yet" in result.output and "receptionist migrate" in result.output
