"""The staff app over HTTP, on SQLite and PostgreSQL: the real app (`create_app`) with the real
store, driven through httpx's ASGI transport. Only the clock is ours: tests move it forward to
check idle sign-out and lock-out expiry without waiting.

The store fixtures are the store tests' own (a fresh migrated database per test on each backend);
the helpers the tests import are in tests/support/web.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from receptionist.domain.practice import PracticeDirectory
from receptionist.store import Store
from receptionist.web import create_app
from tests.support import store_fixtures
from tests.support.web import Clock, Rig, add_user, app_settings, sign_in, web_practice

# The store tests' fixtures, so every page is tested on SQLite and PostgreSQL alike.
pg_server = store_fixtures.pg_server
sqlite_template = store_fixtures.sqlite_template
db_url = store_fixtures.db_url
outbox = store_fixtures.outbox
store = store_fixtures.store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def rig(db_url: str, store: Store, clock: Clock, tmp_path: Path) -> AsyncIterator[Rig]:
    practice = web_practice()
    settings = app_settings(db_url, tmp_path)
    app = create_app(
        settings,
        store=store,
        directory=PracticeDirectory([practice]),
        clock=clock,
        background=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Rig(app, client, store, clock, practice, settings)


@pytest.fixture
async def staff_client(rig: Rig) -> tuple[httpx.AsyncClient, str]:
    """A signed-in staff member (role staff): the client and its CSRF token."""
    await add_user(rig.store)
    return rig.client, await sign_in(rig.client)


@pytest.fixture
async def admin_client(rig: Rig) -> tuple[httpx.AsyncClient, str]:
    await add_user(rig.store, "boss", role="admin", full_name="Dr. Boss")
    return rig.client, await sign_in(rig.client, "boss")
