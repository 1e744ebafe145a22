"""Failed identity checks kept across calls, for the practice's lock-out (`[identity]` in
practice.toml): per patient name (its match key) and per caller number, within a time window.

`store.identity`: a repository of `Store` (repo.py), beside the table it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select

from receptionist.store.engine import rows_changed
from receptionist.store.models import IdentityFailure, new_id
from receptionist.store.sessions import Repository

UNKNOWN = "unknown"


@dataclass(frozen=True)
class FailureCounts:
    """Failed checks within the window: for the name tried, and from the caller's number."""

    by_name: int
    by_number: int

    def reaches(self, limit: int) -> bool:
        return self.by_name >= limit or self.by_number >= limit


@dataclass(frozen=True)
class Lock:
    """A name or number with enough recent failures to be locked (for the staff's view)."""

    practice_id: str
    what: str  # "name" | "number"
    key: str  # the name's match key, or the E.164 number
    failures: int
    last_at: datetime


class IdentityFailures(Repository):
    """`store.identity`: the `identity_failures` table."""

    async def record_identity_failure(
        self,
        practice_id: str,
        name_key: str,
        caller: str,
        *,
        call_id: str,
        at: datetime,
    ) -> None:
        async with self._sessions.session(write=True) as s:
            s.add(
                IdentityFailure(
                    id=new_id(),
                    practice_id=practice_id,
                    name_key=name_key,
                    caller=caller,
                    call_id=call_id,
                    created_at=at,
                )
            )

    async def identity_failures(
        self, practice_id: str, name_key: str, caller: str, *, since: datetime
    ) -> FailureCounts:
        """Failures since `since` for this name, and from this number (none for `unknown`)."""
        recent = (IdentityFailure.practice_id == practice_id, IdentityFailure.created_at >= since)
        async with self._sessions.session(write=False) as s:
            by_name = await s.scalar(
                select(func.count()).where(*recent, IdentityFailure.name_key == name_key)
            )
            by_number: int | None = 0
            if caller != UNKNOWN:
                by_number = await s.scalar(
                    select(func.count()).where(*recent, IdentityFailure.caller == caller)
                )
        return FailureCounts(int(by_name or 0), int(by_number or 0))

    async def identity_locks(
        self, *, since: datetime, limit: int, practice_id: str | None = None
    ) -> list[Lock]:
        """Names and numbers with at least `limit` failures since `since`, most recent first."""
        found: list[Lock] = []
        columns = (("name", IdentityFailure.name_key), ("number", IdentityFailure.caller))
        for what, column in columns:
            query = (
                select(
                    IdentityFailure.practice_id,
                    column,
                    func.count(),
                    func.max(IdentityFailure.created_at),
                )
                .where(IdentityFailure.created_at >= since, column != UNKNOWN)
                .group_by(IdentityFailure.practice_id, column)
                .having(func.count() >= limit)
            )
            if practice_id:
                query = query.where(IdentityFailure.practice_id == practice_id)
            async with self._sessions.session(write=False) as s:
                rows = (await s.execute(query)).all()
            found += [Lock(p, what, key, n, _aware(last)) for p, key, n, last in rows]
        return sorted(found, key=lambda lock: lock.last_at, reverse=True)

    async def clear_identity_failures(
        self, practice_id: str, *, name_key: str = "", caller: str = ""
    ) -> int:
        """Lifts a lock: forgets the failures of a name and/or from a number. Returns how many."""
        conditions = []
        if name_key:
            conditions.append(IdentityFailure.name_key == name_key)
        if caller:
            conditions.append(IdentityFailure.caller == caller)
        if not conditions:
            return 0
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                delete(IdentityFailure).where(
                    IdentityFailure.practice_id == practice_id, or_(*conditions)
                )
            )
            return rows_changed(result)


def _aware(value: datetime | str) -> datetime:
    """Aggregates come back without the column type's conversion (SQLite: naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
