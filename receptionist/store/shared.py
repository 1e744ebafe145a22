"""One store per process, built from settings on first use.

A worker process runs one call at a time; its tools share the store (and its connection pool)
rather than opening a database connection per tool call. On first use any records left in the
local outbox by an earlier outage are flushed, in the background: the first tool call of a call
must not wait for (or on a dead database, time out on) someone else's old records.
"""

from __future__ import annotations

import asyncio
import logging

from receptionist.store.repo import Store

log = logging.getLogger(__name__)
_stores: dict[str, Store] = {}
_flushes: set[asyncio.Task[None]] = set()  # strong references until each flush is done


async def shared_store(url: str | None = None) -> Store:
    if url is None:
        from receptionist.settings import load_settings

        url = load_settings().database_url
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = Store(url)
        task = asyncio.get_running_loop().create_task(_flush(store), name="outbox-flush")
        _flushes.add(task)
        task.add_done_callback(_flushes.discard)
    return store


async def _flush(store: Store) -> None:
    try:
        flushed = await store.flush_outbox()
        if flushed:
            log.info("wrote %d records kept in the outbox", flushed)
    except Exception as exc:  # the call goes on; the outbox waits for the next flush
        log.warning("outbox flush failed at start-up (%s)", type(exc).__name__)


async def wait_for_flushes() -> None:
    """Waits for background outbox flushes (tests, and shutdown if it wants them done)."""
    if _flushes:
        await asyncio.gather(*list(_flushes), return_exceptions=True)
