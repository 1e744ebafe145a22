"""Migrations apply on both backends, and start-up refuses a database that is not at head."""

from __future__ import annotations

import uuid

import pytest

from receptionist.store import SchemaError, check_schema, upgrade
from receptionist.store.schema import current_revision, downgrade, head_revision
from tests.support.store_fixtures import require_postgres


async def test_migrated_database_passes_the_check(db_url: str):
    await check_schema(db_url)
    assert await current_revision(db_url) == head_revision()


async def test_fresh_sqlite_file_is_refused_then_migrated(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/sub/dir/book.db"
    with pytest.raises(SchemaError, match="receptionist migrate"):
        await check_schema(url)
    assert await upgrade(url) == head_revision()
    await check_schema(url)
    await downgrade(url, "base")
    with pytest.raises(SchemaError, match="no tables yet.*receptionist migrate"):
        await check_schema(url)


async def test_empty_postgres_database_is_refused_then_migrated(request):
    server = require_postgres(request)
    name = f"e_{uuid.uuid4().hex[:10]}"
    url = await server.create_empty_database(name)
    try:
        with pytest.raises(SchemaError, match="no tables yet.*receptionist migrate"):
            await check_schema(url)
        await upgrade(url)
        await check_schema(url)
        await downgrade(url, "base")  # downgrade works too
        await upgrade(url)
    finally:
        await server.drop_database(name)


async def test_unreachable_database_names_the_url_without_password():
    url = "postgresql+asyncpg://staff:s3cret@127.0.0.1:9/book"
    with pytest.raises(SchemaError) as caught:
        await check_schema(url)
    assert "s3cret" not in str(caught.value) and "DATABASE_URL" in str(caught.value)


def _declared_check_names() -> dict[str, set[str]]:
    """CHECK constraint names as the models declare them (naming convention applied)."""
    from sqlalchemy import CheckConstraint

    from receptionist.store.models import Base

    names: dict[str, set[str]] = {}
    for table in Base.metadata.tables.values():
        checks = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        if checks:
            names[table.name] = checks
    return names


async def _migrated_check_names(url: str, tables) -> dict[str, set[str]]:
    from sqlalchemy import inspect

    from receptionist.store.engine import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def read(sync_conn):
                inspector = inspect(sync_conn)
                return {t: {c["name"] for c in inspector.get_check_constraints(t)} for t in tables}

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def test_check_constraint_names_match_the_models(db_url: str):
    declared = _declared_check_names()
    assert declared == {
        "appointments": {"ck_appointments_ends_after_start", "ck_appointments_status"},
        "messages": {"ck_messages_urgency"},
        "texts": {"ck_texts_status"},
    }
    migrated = await _migrated_check_names(db_url, declared)
    for table, names in declared.items():
        # PostgreSQL also has the length check added by migration 0002 (not a model constraint).
        assert names <= migrated[table], (table, migrated[table])
        assert not any(n.count("ck_") > 1 for n in migrated[table]), migrated[table]


async def test_migrated_schema_matches_the_models(db_url: str):
    """Alembic's autogenerate comparison finds nothing to change after `migrate`."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from receptionist.store.engine import make_engine
    from receptionist.store.models import Base

    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                context = MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "target_metadata": Base.metadata}
                )
                return compare_metadata(context, Base.metadata)

            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert [c for c in changes if not (isinstance(c, tuple) and c[0] == "remove_table")] == []
