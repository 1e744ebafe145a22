"""The queue gauges: what waits in the book and the outbox, read every few seconds by the worker's
main process (agent.py starts `watch` when PROMETHEUS_PORT is set).

LiveKit's endpoint serves the files of prometheus_client's multiprocess mode and nothing computed
at scrape time, so the gauges are set here, on a timer, rather than by a collector. Only counts
and ages are read (the store's `backlog` queries); a failed read sets `receptionist_store_up` to 0
and leaves the last figures in place. Several workers sharing one database each report the same
queue figures (alert on their max); the outbox is each host's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from receptionist.store import Store
from receptionist.telemetry import metrics

log = logging.getLogger(__name__)

EVERY_SECONDS = 15.0


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


class BacklogGauges:
    """Sets the queue gauges from one store, one read at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def update(self, now: datetime) -> bool:
        """One read of the queues and the outbox; False if the book could not be read."""
        self._outbox()
        try:
            notifications = await self.store.notifications.backlog()
            reminders = await self.store.reminders.backlog(now=now)
        except Exception as exc:  # never ends the loop: the gauges say the book is unreachable
            log.warning("queue figures not read (%s)", type(exc).__name__)
            metrics.store_up(self.store.dialect, False)
            return False
        for queue in notifications:
            metrics.notifications(
                queue.practice_id,
                queue.channel,
                waiting=queue.waiting,
                oldest=_age(now, queue.oldest),
                given_up=queue.given_up,
            )
        for reminder in reminders:
            metrics.reminders(
                reminder.practice_id,
                waiting=reminder.waiting,
                calling=reminder.calling,
                oldest_due=_age(now, reminder.oldest_due),
            )
        metrics.store_up(self.store.dialect, True)
        return True

    def _outbox(self) -> None:
        try:
            counts = self.store.outbox.counts()
        except Exception as exc:  # an unreadable folder: start-up checks report it; keep going
            log.warning("outbox not counted (%s)", type(exc).__name__)
            return
        for kind, records in counts.items():
            metrics.outbox(kind, records)


async def watch(
    store: Store,
    *,
    every: float = EVERY_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Updates the gauges every `every` seconds until cancelled (the worker's shutdown)."""
    gauges = BacklogGauges(store)
    try:
        while True:
            await gauges.update(clock())
            await asyncio.sleep(every)
    finally:
        await store.close()
