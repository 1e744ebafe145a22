"""Claims on recovering a call, in the practice's book: how several watchers agree on one dispatch.

Every `receptionist watch` sees the same orphaned call at about the same moment. Before it
dispatches the agent again it inserts a row keyed by (room sid, lost agent identity); the unique
constraint lets exactly one insert through, on SQLite and PostgreSQL alike, and the book is
already shared by every host (PostgreSQL in production). Room metadata cannot do this: the room
API has no compare-and-set, so two watchers could both read "unclaimed" and both write.

A dispatch can go nowhere (every worker full, the job failing to start). The call is then still
orphaned under the same key, and after `retry_after` one watcher may take the claim over: a
compare-and-set on `attempts`, so again exactly one wins, up to `max_attempts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from receptionist.store.engine import rows_changed, writer
from receptionist.store.models import CallRecovery, new_id

RETRY_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """This watcher's right to dispatch the agent into one call, for one attempt."""

    id: str
    attempt: int


class RecoveryClaims:
    """The `call_recoveries` table, seen by one watcher."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        watcher: str,
        retry_after: timedelta = RETRY_AFTER,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.dialect = engine.dialect.name
        self.watcher = watcher[:64]
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        # Writes take SQLite's lock up front (BEGIN IMMEDIATE), as the store's own writes do.
        self._sessions = async_sessionmaker(writer(engine), expire_on_commit=False)

    async def claim(self, room_sid: str, lost_agent: str, *, now: datetime) -> Claim | None:
        """The claim on recovering this call if this watcher won it, else None."""
        row_id = new_id()
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            insert(CallRecovery)
            .values(
                id=row_id,
                room_sid=room_sid,
                lost_agent=lost_agent,
                attempts=1,
                claimed_by=self.watcher,
                claimed_at=now,
                dispatch_id="",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["room_sid", "lost_agent"])
        )
        async with self._sessions() as s, s.begin():
            if rows_changed(await s.execute(statement)) == 1:
                return Claim(row_id, 1)
        return await self._take_over(room_sid, lost_agent, now=now)

    async def _take_over(self, room_sid: str, lost_agent: str, *, now: datetime) -> Claim | None:
        """Someone claimed this call already: take the claim over only if that attempt is old
        enough to have failed, and only if nobody else took it over first (compare-and-set)."""
        async with self._sessions() as s, s.begin():
            held = await s.scalar(
                select(CallRecovery).where(
                    CallRecovery.room_sid == room_sid, CallRecovery.lost_agent == lost_agent
                )
            )
            if held is None or held.attempts >= self.max_attempts:
                return None
            if held.claimed_at > now - self.retry_after:
                return None
            seen, attempt = held.attempts, held.attempts + 1  # the update refreshes `held`
            moved = await s.execute(
                update(CallRecovery)
                .where(CallRecovery.id == held.id, CallRecovery.attempts == seen)
                .values(attempts=attempt, claimed_by=self.watcher, claimed_at=now)
            )
            if rows_changed(moved) == 1:
                return Claim(held.id, attempt)
        return None

    async def dispatched(self, claim: Claim, dispatch_id: str) -> None:
        """Records which dispatch the claim led to (for the operator's audit)."""
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(CallRecovery)
                .where(CallRecovery.id == claim.id)
                .values(dispatch_id=dispatch_id[:64])
            )

    async def for_room(self, room_sid: str) -> list[CallRecovery]:
        """Every claim on one room (tests and operators)."""
        async with self._sessions() as s:
            rows = await s.scalars(
                select(CallRecovery)
                .where(CallRecovery.room_sid == room_sid)
                .order_by(CallRecovery.created_at)
            )
            return list(rows)
