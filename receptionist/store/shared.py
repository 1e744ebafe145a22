"""One store per process, built from settings on first use.

A worker process runs one call at a time; its tools share the store (and its connection pool)
rather than opening a database connection per tool call. On first use any records left in the
local outbox by an earlier outage are flushed.
"""

from __future__ import annotations

import logging

from receptionist.store.repo import Store

log = logging.getLogger(__name__)
_stores: dict[str, Store] = {}


async def shared_store(url: str | None = None) -> Store:
    if url is None:
        from receptionist.settings import load_settings

        url = load_settings().database_url
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = Store(url)
        try:
            flushed = await store.flush_outbox()
            if flushed:
                log.info("wrote %d records kept in the outbox", flushed)
        except Exception:  # the call goes on; the outbox waits for the next flush
            log.warning("outbox flush failed at start-up", exc_info=True)
    return store
