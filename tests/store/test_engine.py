"""Engine settings that protect callers: a dead or stuck database fails a tool call within
seconds (then the tool offers a message or a transfer) instead of leaving the caller in silence,
and the first tool call of a process never waits on an old outbox."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import date

import pytest

from receptionist.store import Outbox, Store, StoreUnavailable
from receptionist.store.engine import make_engine

# Generous guards, not timings: without the engine's timeouts these calls hang for a minute
# (asyncpg's default connect timeout) or 30 s (the old SQLite busy timeout).
GUARD_S = 25


async def test_a_stuck_postgres_server_fails_fast_as_unavailable(tmp_path):
    async def silent(reader, writer):  # accepts the connection, never answers the handshake
        await asyncio.sleep(3600)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = Store(f"postgresql+asyncpg://u:p@127.0.0.1:{port}/book", outbox=Outbox(tmp_path))
    try:
        async with asyncio.timeout(GUARD_S):
            with pytest.raises(StoreUnavailable):
                await store.appointments.find_patient("lakeside", "Ann Lee", date(1980, 2, 29))
    finally:
        await store.close()
        server.close()


async def test_a_locked_sqlite_database_fails_fast_as_unavailable(sqlite_template, tmp_path):
    path = tmp_path / "book.db"  # SQLite only: its write lock has no PostgreSQL counterpart
    shutil.copy(sqlite_template, path)
    db_url = f"sqlite+aiosqlite:///{path}"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    try:
        async with asyncio.timeout(GUARD_S):
            with pytest.raises(StoreUnavailable):
                await store.appointments.register_patient(
                    "lakeside", "Ann Lee", date(1980, 2, 29), ""
                )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await store.close()


def test_engines_hide_parameters_and_bound_waiting():
    sqlite_engine = make_engine("sqlite+aiosqlite:///:memory:")
    pg_engine = make_engine("postgresql://u:p@127.0.0.1:9/book")
    assert sqlite_engine.sync_engine.hide_parameters and pg_engine.sync_engine.hide_parameters
    assert pg_engine.sync_engine.pool.timeout() <= 5


async def test_a_call_start_does_not_make_the_first_tool_call_wait_for_the_outbox(
    tmp_path, monkeypatch
):
    release = asyncio.Event()
    flushed: list[str] = []

    async def slow_flush(self: Store) -> int:
        await release.wait()
        flushed.append(self.url)
        return 0

    monkeypatch.setattr(Store, "flush_outbox", slow_flush)
    url = f"sqlite+aiosqlite:///{tmp_path}/book.db"
    store = Store(url, outbox=Outbox(tmp_path / "outbox"))
    async with asyncio.timeout(GUARD_S):
        store.flush_outbox_soon()  # returns while the flush is still waiting
        store.flush_outbox_soon()  # a second call starts no second flush
        assert flushed == []
        release.set()
        await store.wait_for_outbox_flush()
    assert flushed == [url]
    await store.close()
