"""Migrations apply on both backends, and start-up refuses a database that is not at head."""

from __future__ import annotations

import uuid

import pytest

from receptionist.store import SchemaError, check_schema, upgrade
from receptionist.store.schema import current_revision, downgrade, head_revision
from tests.store.conftest import require_postgres


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
