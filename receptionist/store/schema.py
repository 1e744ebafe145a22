"""Schema migrations: apply them (`receptionist migrate`) and check them at agent start-up.

The agent refuses to take calls against a database whose schema is not at the newest migration:
booking against an old schema fails on a patient's call; failing at start-up with the command to
run is kinder to everyone.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from receptionist.paths import REPO_ROOT
from receptionist.store.engine import make_engine, normalize_url, safe_url

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


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


async def _migrate(url: str, action, revision: str) -> str:
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


def _sqlite_file_missing(parsed: URL) -> bool:
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).expanduser().exists()


async def check_schema(url: str) -> None:
    """Raises `SchemaError` unless the database at `url` is reachable and at head."""
    fix = "run `uv run receptionist migrate` (it uses DATABASE_URL)"
    parsed = normalize_url(url)
    if _sqlite_file_missing(parsed):
        raise SchemaError(f"there is no database file at {parsed.database}: {fix}")
    try:
        current = await current_revision(url)
    except Exception as exc:  # driver errors vary by backend; all mean "cannot read the schema"
        raise SchemaError(
            f"cannot open the database at {safe_url(url)} ({type(exc).__name__}): check "
            "DATABASE_URL and that the server is running, then " + fix
        ) from exc
    head = head_revision()
    if current is None:
        raise SchemaError(f"the database at {safe_url(url)} has no tables yet: {fix}")
    if current != head:
        raise SchemaError(
            f"the database at {safe_url(url)} is at migration {current}, "
            f"this code needs {head}: {fix}"
        )
