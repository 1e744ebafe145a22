"""Database engines: SQLite (default, a file) or PostgreSQL (asyncpg) from one URL.

SQLite is made safe for several writers (one worker process per call): WAL journal, a busy
timeout so writers queue instead of failing, foreign keys on, and write transactions opened with
`BEGIN IMMEDIATE` so the overlap trigger's check and the insert happen under the write lock.

Both engines hide statement parameters from exception text (`hide_parameters`): they are patient
data (names, dates of birth, phone numbers) and exception text ends up in logs. And both give up
quickly when the database is unreachable or stuck (connect, statement and pool timeouts): a caller
waiting on a dead database hears silence, so a tool should fail within seconds and fall back to a
message or a transfer.

The SQLite book holds every patient's name, date of birth and phone number, so its file is
created owner-only (0600) before SQLite first opens it; SQLite gives the `-wal` and `-shm` files it
creates beside it the same mode. A file (or companion) that other users can read, left by an
older version or a copy, is tightened to owner-only when the engine opens it, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600  # owner read/write: the SQLite book and its companions
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
SQLITE_BUSY_TIMEOUT_S = 5.0  # a writer waits this long for the write lock, then fails
PG_CONNECT_TIMEOUT_S = 3.0  # asyncpg: establishing a connection
PG_COMMAND_TIMEOUT_S = 5.0  # asyncpg: any one statement
POOL_TIMEOUT_S = 5.0  # waiting for a pooled connection


class DatabaseUrlError(ValueError):
    """DATABASE_URL names no database we can use; the message says what to write instead."""


def normalize_url(url: str) -> URL:
    """Accepts the URLs people paste (`postgres://`, `postgresql://`, `sqlite:///`) and picks the
    async driver we ship (asyncpg, aiosqlite)."""
    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseUrlError(
            "DATABASE_URL is not a database URL: use sqlite+aiosqlite:///path/to/file.db or "
            "postgresql+asyncpg://user:password@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise DatabaseUrlError(
        f"DATABASE_URL uses {backend!r}: only SQLite (sqlite+aiosqlite:///file.db) and PostgreSQL "
        "(postgresql+asyncpg://...) are supported"
    )


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return normalize_url(str(url) if isinstance(url, URL) else url).render_as_string(
            hide_password=True
        )
    except DatabaseUrlError:
        return "(invalid DATABASE_URL)"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; keyword arguments (including `connect_args`) override the defaults."""
    parsed = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **kwargs.pop("connect_args", {})}
        engine = create_async_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    connect_args = {
        "timeout": PG_CONNECT_TIMEOUT_S,
        "command_timeout": PG_COMMAND_TIMEOUT_S,
        **kwargs.pop("connect_args", {}),
    }
    return create_async_engine(parsed, connect_args=connect_args, **kwargs)


def sqlite_file(database: str | None) -> Path | None:
    """The file a SQLite URL's database part names (None for in-memory and URI forms)."""
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_private(path: Path) -> None:
    """Creates `path` owner-only if it does not exist; tightens it and its `-wal`, `-shm` and
    `-journal` files if other users may read them. Never raises: when the folder is missing or
    out of reach, SQLite's own open says so."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
        return
    except FileExistsError:
        pass
    except OSError:
        return
    for companion in (path, *(path.with_name(path.name + end) for end in SQLITE_COMPANIONS)):
        _tighten(companion)


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # no such companion (the usual case)
    if not mode & 0o077:
        return
    try:
        path.chmod(mode & 0o700)  # e.g. 644 -> 600
    except OSError:
        log.warning(
            "%s holds patient data and other users may read it (mode %o); this user cannot "
            "change that: run `chmod 600 %s` as its owner",
            path,
            mode,
            path,
        )
        return
    log.warning("%s was readable by other users (mode %o): now owner-only", path, mode)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "do_connect")
    def _before_open(*_: Any) -> None:
        path = sqlite_file(sync_engine.url.database)
        if path is not None:
            make_private(path)

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so `BEGIN IMMEDIATE` can be emitted.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if sync_engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine with write transactions that take SQLite's write lock up front."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def rows_changed(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an INSERT, UPDATE or DELETE changed (the driver's rowcount).

    `Session.execute` returns a CursorResult for these statements but is typed as returning any
    Result (SQLAlchemy issue 9185), so the count is read here, in one place, after checking."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no rowcount: not an INSERT/UPDATE/DELETE")
    return result.rowcount
