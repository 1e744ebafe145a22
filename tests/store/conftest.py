"""Fixtures for store tests: every test runs on SQLite and on PostgreSQL.

The fixtures live in tests/support/store_fixtures.py (tests/web and tests/notify share them).
"""

from __future__ import annotations

from tests.support.store_fixtures import (  # noqa: F401  (fixtures: pytest finds them by name)
    db_url,
    outbox,
    pg_server,
    sqlite_template,
    store,
)
