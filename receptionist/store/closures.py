"""Closures staff add in the staff app: `store.closures`, read at the start of every call."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import or_, select, update

from receptionist.store.engine import rows_changed
from receptionist.store.models import StaffClosure, new_id, utcnow
from receptionist.store.sessions import Repository


class Closures(Repository):
    """`store.closures`: the `staff_closures` table."""

    async def add_closure(
        self,
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
        async with self._sessions.session(write=True) as s:
            s.add(closure)
        return closure

    async def closures_from(self, practice_id: str, day: date) -> list[StaffClosure]:
        """The practice's closures still in force on or after `day`, soonest first."""
        async with self._sessions.session(write=False) as s:
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

    async def remove_closure(self, closure_id: str, *, at: datetime) -> bool:
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(StaffClosure)
                .where(StaffClosure.id == closure_id, StaffClosure.removed_at.is_(None))
                .values(removed_at=at)
            )
            return bool(rows_changed(result))
