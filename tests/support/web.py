"""The staff app under test: its practice, clock, rig (app + client + book) and sign-in steps,
shared by tests/web's conftest (the fixtures), its test modules and the browser tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import httpx
from fastapi import FastAPI

from receptionist.domain.practice import Practice
from receptionist.settings import Settings, load_settings
from receptionist.store import Store
from receptionist.store.models import StaffUser
from receptionist.web.auth import hash_password
from tests.support.profiles import with_new_exam

PASSWORD = "correct horse battery"
# Monday 4 March 2030, 08:00 in Chicago: the office opens; the week's visits are ahead.
MONDAY_8AM = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)


def web_practice(**overrides: object) -> Practice:
    """The store tests' practice plus a new-patient visit, transcripts off unless asked."""
    return with_new_exam(**overrides)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime = MONDAY_8AM) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Rig:
    """One app over one fresh book, with the handles tests need."""

    app: FastAPI
    client: httpx.AsyncClient
    store: Store
    clock: Clock
    practice: Practice
    settings: Settings

    @property
    def web(self):
        return self.app.state.web

    def client_for(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """Another browser (its own cookies), optionally from another address."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url=str(self.client.base_url))


def app_settings(db: str, tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        database_url=db,
        outbox_dir=str(tmp_path / "outbox"),
        practice_file=str(tmp_path / "unused-practice.toml"),  # the directory is passed in
        **overrides,
    )


@cache
def _hash(password: str) -> str:
    return hash_password(password)  # Argon2 is slow on purpose: once per password per run


async def add_user(
    store: Store,
    username: str = "maria",
    *,
    role: str = "staff",
    full_name: str = "Maria Santos",
    password: str = PASSWORD,
) -> StaffUser:
    return await store.staff.add_staff_user(
        username=username,
        full_name=full_name,
        role=role,
        password_hash=_hash(password),
        at=datetime.now(UTC),
    )


async def post_login(
    client: httpx.AsyncClient, username: str, password: str, *, next: str = ""
) -> httpx.Response:
    """Submits the sign-in form the way a browser does (its token from the form and cookie)."""
    page = await client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    form = {"login_token": token.group(1), "username": username, "password": password}
    if next:
        form["next"] = next
    return await client.post("/login", data=form)


async def sign_in(
    client: httpx.AsyncClient, username: str = "maria", password: str = PASSWORD
) -> str:
    """Signs in and returns the session's CSRF token (read from a page, like a form would)."""
    response = await post_login(client, username, password)
    assert response.status_code == 303, response.text
    return await csrf_of(client)


async def csrf_of(client: httpx.AsyncClient, path: str = "/closures") -> str:
    page = await client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, f"no CSRF token on {path}: {page.status_code}"
    return found.group(1)
