"""Schema migrations: apply them (`receptionist migrate`) and check them at agent start-up.

The agent refuses to take calls against a database whose schema is not at the newest migration:
booking against an old schema fails on a patient's call; failing at start-up with the command to
run is kinder to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from receptionist.paths import REPO_ROOT
from receptionist.store.engine import make_engine, normalize_url, safe_url, sqlite_file

ALEMBIC_INI = REPO_ROOT / "alembic.ini"
MIGRATE = "run `uv run receptionist migrate` (it uses DATABASE_URL)"
# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_SQLITE_DAMAGED = {11: "corrupt", 26: "not a database"}
_SQLITE_DAMAGED_TEXT = {"database disk image is malformed": 11, "file is not a database": 26}


class SchemaError(RuntimeError):
    """The database is unreachable or not at the newest migration; the message says what to do."""


def alembic_config(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return heads[0] if len(heads) == 1 else ",".join(sorted(heads))


def _prepare_sqlite_dir(url: str) -> None:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


async def upgrade(url: str, revision: str = "head") -> str:
    """Applies migrations up to `revision`; returns the revision the database is now at."""
    return await _migrate(url, command.upgrade, revision)


async def downgrade(url: str, revision: str) -> str:
    """Reverts migrations down to `revision` ("base" empties the schema)."""
    return await _migrate(url, command.downgrade, revision)


async def _migrate(url: str, action: Callable[[Config, str], None], revision: str) -> str:
    _prepare_sqlite_dir(url)
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def _run(sync_conn: Connection) -> None:
                config.attributes["connection"] = sync_conn
                action(config, revision)

            await conn.run_sync(_run)
            await conn.commit()
            return await conn.run_sync(_current) or "(empty)"
    except Exception as exc:
        if damaged := damaged_file_problem(url, exc):
            raise SchemaError(damaged) from exc
        raise
    finally:
        await engine.dispose()


def _current(sync_conn: Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


def _sqlite_path(parsed: URL) -> Path | None:
    """The file a SQLite URL names (None for other databases and in-memory SQLite)."""
    return sqlite_file(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def _sqlite_file_missing(parsed: URL) -> bool:
    path = _sqlite_path(parsed)
    return path is not None and not path.exists()


def _sqlite_damage(exc: BaseException) -> str | None:
    """What SQLite said is wrong with the file, if `exc` (or what it wraps) says it is damaged."""
    seen: BaseException | None = exc
    for _ in range(8):  # the exception, what SQLAlchemy wraps, what that was raised from
        if seen is None:
            break
        code = getattr(seen, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_DAMAGED:
            return _SQLITE_DAMAGED[code & 0xFF]
        for text, primary in _SQLITE_DAMAGED_TEXT.items():
            if text in str(seen):
                return _SQLITE_DAMAGED[primary]
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def damaged_file_problem(url: str, exc: BaseException) -> str | None:
    """The message for a damaged SQLite file, or None if `exc` says something else."""
    path = _sqlite_path(normalize_url(url))
    damage = _sqlite_damage(exc) if path is not None else None
    if path is None or damage is None:
        return None
    return (
        f"the SQLite file {path} is damaged (SQLite says: {damage}); this is not a connection "
        f"problem and migrating will not repair it. Stop the receptionist, move {path.name} "
        f"(and any {path.name}-wal and {path.name}-shm beside it) out of {path.parent}, copy "
        f"your newest backup of the book to {path}, then {MIGRATE}. Without a backup, "
        f"`sqlite3 {path.name} .recover | sqlite3 recovered.db` may save part of it."
    )


def _open_problem(url: str, exc: BaseException) -> str:
    """Why the database could not be opened (other than damage), in words that fit the backend."""
    path = _sqlite_path(normalize_url(url))
    if path is not None:
        return (
            f"cannot open the SQLite file {path} ({type(exc).__name__}): check that DATABASE_URL "
            f"names the right file and that this user may read and write it and {path.parent}"
        )
    return (
        f"cannot open the database at {safe_url(url)} ({type(exc).__name__}): check "
        "DATABASE_URL and that the server is running"
    )


def migration_problem(url: str, exc: BaseException) -> str:
    """A failed `receptionist migrate`, explained: damaged file, unreachable server, or other."""
    if damaged := damaged_file_problem(url, exc):
        return damaged
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return _open_problem(url, exc) + ", then run `uv run receptionist migrate` again"
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"migration failed on {safe_url(url)}: {type(exc).__name__}: {first_line}"


async def check_schema(url: str) -> None:
    """Raises `SchemaError` unless the database at `url` is reachable and at head."""
    fix = MIGRATE
    parsed = normalize_url(url)
    if _sqlite_file_missing(parsed):
        raise SchemaError(f"there is no database file at {parsed.database}: {fix}")
    try:
        current = await current_revision(url)
    except Exception as exc:  # driver errors vary by backend; all mean "cannot read the schema"
        if damaged := damaged_file_problem(url, exc):
            raise SchemaError(damaged) from exc
        raise SchemaError(f"{_open_problem(url, exc)}, then {fix}") from exc
    head = head_revision()
    if current is None:
        raise SchemaError(f"the database at {safe_url(url)} has no tables yet: {fix}")
    if current != head:
        raise SchemaError(
            f"the database at {safe_url(url)} is at migration {current}, "
            f"this code needs {head}: {fix}"
        )
