"""The practice as callers meet it today: practice.toml's profile plus the closures staff added
in the staff app (a snow day, closing early), read at the start of every call so they take
effect without a restart. The greeting, availability and after-hours routing all use it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from receptionist.domain.practice import Closure, Interval, Practice
from receptionist.store import Store
from receptionist.store.models import StaffClosure


def as_closure(row: StaffClosure) -> Closure:
    hours = None
    if row.start_time is not None and row.end_time is not None:
        hours = Interval(start=row.start_time, end=row.end_time)
    return Closure(start=row.start, end=row.end, reason=row.reason, hours=hours)


def with_staff_closures(practice: Practice, rows: Iterable[StaffClosure]) -> Practice:
    return practice.with_closures(as_closure(row) for row in rows)


async def practice_today(store: Store, practice: Practice, today: date) -> Practice:
    """The profile with the staff's closures from `today` on."""
    return with_staff_closures(practice, await store.closures.closures_from(practice.id, today))
