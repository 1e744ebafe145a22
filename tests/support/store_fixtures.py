"""The store fixtures: every test that asks for `store` runs on SQLite and on PostgreSQL.

The conftest modules of tests/store, tests/web and tests/notify re-export these fixtures (pytest
finds fixtures by name in a conftest); `require_postgres` is for tests that need the server itself.

PostgreSQL comes from TEST_POSTGRES_URL if set (a server where we may create databases), else a
throwaway cluster started with initdb/pg_ctl for the test session. Without PostgreSQL the
PostgreSQL half is skipped locally but FAILS under CI=true, so CI cannot pass without it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from receptionist.store import Outbox, Store, upgrade
from tests.support.backends import PostgresServer, run_sync, start_postgres
from tests.support.pgcluster import ClusterUnavailable


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | str]:
    """The PostgreSQL server for this test session, or why there is none."""
    try:
        server = start_postgres()
    except ClusterUnavailable as exc:
        yield str(exc)
        return
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_sync(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


def require_postgres(request: pytest.FixtureRequest) -> PostgresServer:
    """The session's PostgreSQL server; skips without one (fails under CI=true)."""
    server = request.getfixturevalue("pg_server")
    if isinstance(server, str):
        message = f"PostgreSQL unavailable: {server}"
        if _in_ci():
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)
    return server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A fresh, migrated database URL on each backend."""
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


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox")


@pytest.fixture
async def store(db_url: str, outbox: Outbox) -> AsyncIterator[Store]:
    s = Store(db_url, outbox=outbox)
    try:
        yield s
    finally:
        await s.close()
