"""Closures staff add in the staff app: a mixin of `Store`, read at the start of every call."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from receptionist.store.engine import rows_changed
from receptionist.store.models import StaffClosure, new_id, utcnow


class _Sessions(Protocol):
    def _session(self, write: bool) -> AbstractAsyncContextManager[AsyncSession]: ...


class Closures:
    async def add_closure(
        self: _Sessions,
        practice_id: str,
        *,
        start: date,
        end: date | None,
        reason: str,
        start_time: time | None = None,
        end_time: time | None = None,
        created_by: str | None = None,
    ) -> StaffClosure:
        closure = StaffClosure(
            id=new_id(),
            practice_id=practice_id,
            start=start,
            end=end,
            start_time=start_time,
            end_time=end_time,
            reason=reason,
            created_by=created_by,
            created_at=utcnow(),
        )
        async with self._session(write=True) as s:
            s.add(closure)
        return closure

    async def closures_from(self: _Sessions, practice_id: str, day: date) -> list[StaffClosure]:
        """The practice's closures still in force on or after `day`, soonest first."""
        async with self._session(write=False) as s:
            result = await s.scalars(
                select(StaffClosure)
                .where(
                    StaffClosure.practice_id == practice_id,
                    StaffClosure.removed_at.is_(None),
                    or_(StaffClosure.end >= day, StaffClosure.start >= day),
                )
                .order_by(StaffClosure.start)
            )
            return list(result)

    async def remove_closure(self: _Sessions, closure_id: str, *, at: datetime) -> bool:
        async with self._session(write=True) as s:
            result = await s.execute(
                update(StaffClosure)
                .where(StaffClosure.id == closure_id, StaffClosure.removed_at.is_(None))
                .values(removed_at=at)
            )
            return bool(rows_changed(result))
