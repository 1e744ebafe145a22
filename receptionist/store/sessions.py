"""The one thing every repository of the store shares: transactions on the store's one engine.

`Sessions.session(write)` opens a read or a write transaction (SQLite writes take the write lock
up front: `BEGIN IMMEDIATE`, see `engine.writer`) and translates driver errors into the store's
own: `PatientBusy` / `SlotTaken` when the database refuses an overlapping appointment,
`StoreUnavailable` when it cannot be reached. Each repository (appointments.py, records.py,
reminders.py, ...) takes this object in its constructor, so they all run on one engine and one
connection pool, and none of them needs to know how the others are built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from receptionist.store.engine import writer
from receptionist.store.errors import (
    PatientBusy,
    SlotTaken,
    StoreUnavailable,
    is_overlap,
    is_patient_overlap,
    is_unavailable,
)


class Sessions:
    """Read and write transactions on one engine, and its dialect (`sqlite` / `postgresql`:
    the few queries that differ between the two read it)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.dialect = engine.dialect.name
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._writes = async_sessionmaker(writer(engine), expire_on_commit=False)

    @asynccontextmanager
    async def session(self, write: bool) -> AsyncIterator[AsyncSession]:
        maker = self._writes if write else self._read
        try:
            async with maker() as session, session.begin():
                yield session
        except IntegrityError as exc:
            if is_patient_overlap(exc):
                raise PatientBusy("the patient has another visit at that time") from exc
            if is_overlap(exc):
                raise SlotTaken("that time was just taken") from exc
            raise
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
            raise


class Repository:
    """What every repository is built on: the store's one `Sessions`, so each runs its queries
    in transactions on the one engine and none needs to know how the others are built."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
