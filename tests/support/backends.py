"""PostgreSQL for the store tests and the benchmark: a server we may create databases on.

Either TEST_POSTGRES_URL (any database on a server whose user may CREATE DATABASE) or a throwaway
cluster (`tests.support.pgcluster`). A migrated template database is built once; each test
gets a fresh copy (`CREATE DATABASE ... TEMPLATE`), which is much faster than migrating each time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os

import asyncpg
from sqlalchemy.engine import make_url

from receptionist.store import upgrade
from receptionist.store.engine import normalize_url
from tests.support.pgcluster import ClusterUnavailable, TempCluster
from tests.support.pgcluster import asyncpg_kwargs as _asyncpg_kwargs

TEMPLATE = "receptionist_template"


def run_sync(coro_fn, *args):
    """Runs a coroutine to completion from sync code, even when called inside a running loop
    (session fixtures are first requested from inside async tests)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


class PostgresServer:
    def __init__(self, admin_url: str, cluster: TempCluster | None = None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster

    def url_for(self, database: str) -> str:
        return str(
            make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)
        )

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(**_asyncpg_kwargs(self.admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def prepare_template(self) -> None:
        await self._admin(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        await self._admin(f"CREATE DATABASE {TEMPLATE}")
        await upgrade(self.url_for(TEMPLATE))

    async def create_database(self, name: str) -> str:
        await self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url_for(name)

    async def create_empty_database(self, name: str) -> str:
        await self._admin(f"CREATE DATABASE {name}")
        return self.url_for(name)

    async def drop_database(self, name: str) -> None:
        await self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        else:
            with contextlib.suppress(Exception):  # the server may be the reason we are closing
                run_sync(self._admin, f"DROP DATABASE IF EXISTS {TEMPLATE}")


def start_postgres() -> PostgresServer:
    """Connects to TEST_POSTGRES_URL or starts a throwaway cluster; raises ClusterUnavailable."""
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    cluster = None
    if not url:
        cluster = TempCluster()
        url = cluster.start()
    server = PostgresServer(str(normalize_url(url).render_as_string(hide_password=False)), cluster)
    try:
        run_sync(server.prepare_template)
    except Exception as exc:
        server.close()
        raise ClusterUnavailable(f"cannot prepare a PostgreSQL test database: {exc}") from exc
    return server
