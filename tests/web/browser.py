"""A real browser on the real staff app: Playwright driving Debian's `chromium` package.

Playwright's own browser download cannot reach the internet here, so it drives the system's
Chromium (`apt-get install chromium`; CHROMIUM_PATH names another binary). There is one browser
per test module and a fresh context (its own cookies) per test. The app is served by uvicorn on a
real socket (`live.live_server`) over the store tests' fresh book on SQLite and on PostgreSQL.

Playwright's connection to the browser lives in the event loop that started it, so the browser
tests run in one event loop per module; `db_url` and `store` are redefined here to open and
close their databases in that same loop (asyncpg connections cannot cross loops).

    from tests.web import browser as rig
    browser, db_url, store, practice, site = (rig.browser, rig.db_url, rig.store,
                                              rig.practice, rig.site)
    pytestmark = rig.MODULE_LOOP
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
)
from sqlalchemy import func, select

from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.store import Outbox, Store
from receptionist.store.models import StaffUser
from receptionist.web import create_app
from tests.support.harness import example_practice
from tests.support.store_fixtures import require_postgres
from tests.support.web import PASSWORD, Clock, add_user, app_settings
from tests.web.live import live_server

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
# Where the screenshots go (e.g. SCREENSHOTS=docs/screenshots); unset: none are written, so a
# test run never changes the tree.
SCREENSHOTS_ENV = "SCREENSHOTS"
MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


def chromium_path() -> str:
    """The Chromium binary to drive; fails (never skips) with the fix when it is missing."""
    path = os.environ.get("CHROMIUM_PATH", "").strip() or CHROMIUM
    found = shutil.which(path)
    if found is None:
        pytest.fail(
            f"No Chromium at {path}: the browser tests drive the system's Chromium. Install it "
            "with `sudo apt-get install chromium` (Debian/Ubuntu), or point CHROMIUM_PATH at a "
            "Chromium binary. Playwright's own browser download is not used."
        )
    return found


def screenshot_dir() -> Path | None:
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    return Path(value) if value else None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"], headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


# --- the book, opened in the module's loop ------------------------------------------------------


@pytest_asyncio.fixture(
    loop_scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A fresh, migrated database on each backend (as tests/store/conftest.py's `db_url`)."""
    if request.param == "sqlite":
        path = tmp_path / "book.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = require_postgres(request)
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await server.create_database(name)
    try:
        yield url
    finally:
        await server.drop_database(name)


@pytest_asyncio.fixture(loop_scope="module")
async def store(db_url: str, outbox: Outbox) -> AsyncIterator[Store]:
    s = Store(db_url, outbox=outbox)
    try:
        yield s
    finally:
        await s.close()


# --- the site: the app on a socket, a browser context on it -------------------------------------


@dataclass
class Site:
    """The real app on a real socket, one browser context on it, and the handles tests need."""

    base_url: str
    app: FastAPI
    store: Store
    clock: Clock
    practice: Practice
    db_url: str
    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return "postgres" if self.db_url.startswith("postgresql") else "sqlite"

    @property
    def idle_minutes(self) -> float:
        return self.app.state.web.settings.web_idle_minutes

    def path(self, page: Page | None = None) -> str:
        """The current page's path (no host, no query)."""
        return re.sub(r"^https?://[^/]+", "", (page or self.page).url).split("?")[0]

    async def sign_in(
        self, username: str = "maria", password: str = PASSWORD, page: Page | None = None
    ) -> None:
        """Signs in through the form, as a person would."""
        page = page or self.page
        if self.path(page) != "/login":
            await page.goto("/login")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(password)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign in").click()
        assert self.path(page) != "/login", await page.locator("main").inner_text()

    async def user(self, username: str) -> StaffUser:
        found = await self.store.staff.staff_user_named(username)
        assert found is not None, username
        return found

    async def count(self, model: Any, *where: Any) -> int:
        async with self.store.sessions.session(write=False) as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)))

    async def screenshot(self, name: str, page: Page | None = None) -> Path | None:
        """Saves the page as <SCREENSHOTS>/<name>.png when SCREENSHOTS is set (SQLite run only:
        the PostgreSQL run shows the same pages)."""
        folder = screenshot_dir()
        if folder is None or self.backend != "sqlite":
            return None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        await (page or self.page).screenshot(path=str(path), full_page=True)
        return path


def _watch(page: Page, dialogs: list[str], errors: list[str]) -> None:
    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("dialog", dismiss)
    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))


@pytest.fixture
def practice() -> Practice:
    """The repo's example practice (practice.toml), as the conversation harness answers it."""
    return example_practice()


@pytest_asyncio.fixture(loop_scope="module")
async def site(
    browser: Browser,
    db_url: str,
    store: Store,
    clock: Clock,
    practice: Practice,
    tmp_path: Path,
) -> AsyncIterator[Site]:
    """The app with a staff account (maria) and an admin (amara), and a fresh browser context."""
    await add_user(store, "maria", full_name="Maria Santos")
    await add_user(store, "amara", role="admin", full_name="Dr. Amara Okafor")
    app = create_app(
        app_settings(db_url, tmp_path),
        store=store,
        directory=PracticeDirectory([practice]),
        clock=clock,
        background=False,
    )
    async with live_server(app) as base_url:
        context = await browser.new_context(base_url=base_url, viewport=VIEWPORT)
        try:
            page = await context.new_page()
            made = Site(base_url, app, store, clock, practice, db_url, context, page)
            _watch(page, made.dialogs, made.console_errors)
            yield made
        finally:
            await context.close()
