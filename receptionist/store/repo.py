"""The practice's book: one engine, one outbox, and the repositories over them.

`Store` owns what is the store's own: the engine and its `Sessions` (read and write
transactions, sessions.py), the outbox and its flushing, and closing. Everything else is a
repository, one per group of tables, each a plain class given the shared `Sessions`:
`store.appointments` (patients, appointments: appointments.py), `store.records` (messages and
call records, outbox-backed: records.py), `store.reminders`, `store.notifications`,
`store.staff`, `store.identity` (lockouts.py), `store.closures` and `store.texts` (texts.py).
A feature takes the repository it needs (the appointments service: `store.appointments`, as
its `Book` port). Every query runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from receptionist.store.appointments import AppointmentBook
from receptionist.store.closures import Closures
from receptionist.store.engine import make_engine, safe_url
from receptionist.store.errors import StoreUnavailable
from receptionist.store.lockouts import IdentityFailures
from receptionist.store.models import Appointment, CallRecord, Message, Patient
from receptionist.store.notifications import NotificationQueue
from receptionist.store.outbox import Outbox
from receptionist.store.records import Records
from receptionist.store.reminders import ReminderBook
from receptionist.store.sessions import Sessions
from receptionist.store.staff import StaffStore
from receptionist.store.texts import TextBook

log = logging.getLogger(__name__)


class Store:
    """The practice's book. One per process; cheap to share between calls."""

    def __init__(
        self,
        url: str,
        *,
        outbox: Outbox,
        engine: AsyncEngine | None = None,
        **kw: Any,
    ) -> None:
        self.url = url
        self.engine = engine or make_engine(url, **kw)
        self.sessions = Sessions(self.engine)
        self.dialect = self.sessions.dialect
        self.outbox = outbox
        self._flush: asyncio.Task[None] | None = None
        self.appointments = AppointmentBook(self.sessions)
        self.records = Records(self.sessions, outbox)
        self.reminders = ReminderBook(self.sessions)
        self.notifications = NotificationQueue(self.sessions)
        self.staff = StaffStore(self.sessions)
        self.identity = IdentityFailures(self.sessions)
        self.closures = Closures(self.sessions)
        self.texts = TextBook(self.sessions)

    def __repr__(self) -> str:
        return f"Store({safe_url(self.url)})"

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the outbox ---------------------------------------------------------------------------

    async def flush_outbox(self) -> int:
        """Writes every outbox record to the database; returns how many files were cleared.

        Stops at the first unavailable error (the rest wait for the next flush). A record the
        database rejects for any other reason is moved to `failed/`, so one bad file never
        blocks the others."""
        cleared = 0
        for item in self.outbox.pending():
            try:
                await self.records.insert_once(item.kind, item.values)
            except StoreUnavailable:
                log.warning("outbox flush paused: database still unavailable")
                break
            except (SQLAlchemyError, ValueError, KeyError, TypeError) as exc:
                log.error(
                    "outbox record %s rejected (%s): moved to failed/",
                    item.path.name,
                    type(exc).__name__,
                )
                self.outbox.quarantine(item.path)
                continue
            item.path.unlink(missing_ok=True)
            cleared += 1
        return cleared

    def flush_outbox_soon(self) -> None:
        """Once per store, in the background: writes what earlier outages left in the outbox.

        Called when a call starts: its first tool call must not wait for (or, on a dead database,
        time out on) someone else's old records."""
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(
                self._flush_logged(), name="outbox-flush"
            )

    async def wait_for_outbox_flush(self) -> None:
        """Waits for the background flush, if one was started (tests, and shutdown)."""
        if self._flush is not None:
            await asyncio.gather(self._flush, return_exceptions=True)

    async def _flush_logged(self) -> None:
        try:
            flushed = await self.flush_outbox()
            if flushed:
                log.info("wrote %d records kept in the outbox", flushed)
        except Exception as exc:  # the call goes on; the outbox waits for the next flush
            log.warning("outbox flush failed at start-up (%s)", type(exc).__name__)

    async def count(self, kind: str) -> int:
        table = {
            "message": Message,
            "call": CallRecord,
            "appointment": Appointment,
            "patient": Patient,
        }[kind]
        async with self.sessions.session(write=False) as s:
            return int(await s.scalar(select(func.count()).select_from(table)) or 0)
