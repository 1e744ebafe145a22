"""The notification queue: claiming due notifications, recording how sending went, counting.

`store.notifications`. Rows are written with their message (`Records.insert_once`); the background
sender (`receptionist.notify`) claims them here. A claim sets `sending`, a lease and `attempts + 1`
in one write transaction, so two senders (two processes, two hosts) never hold the same row at
once: PostgreSQL locks the chosen rows with `FOR UPDATE SKIP LOCKED` (a second sender skips them
instead of waiting), SQLite's write transactions take the database's write lock up front
(`BEGIN IMMEDIATE`), so claims are serialised.

The claimed `attempts` is the claim's fencing token: a sender whose lease expired (and whose row
another sender has claimed since) cannot record over the newer claim, because its updates match
`attempts` too. A sender that dies between sending and recording leaves the row `sending`; when the
lease expires it is claimed again and sent again with the same id (the receiver's idempotency key).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, type_coerce, update

from receptionist.store.engine import rows_changed
from receptionist.store.models import (
    GAVE_UP,
    NOTIFICATION_STATUSES,
    PENDING,
    SENDING,
    SENT,
    Message,
    Notification,
    UTCDateTime,
)
from receptionist.store.sessions import Repository

ERROR_LENGTH = 200  # notifications.last_error


@dataclass(frozen=True)
class Claimed:
    """A notification this sender now holds, with the message it announces (None if that message
    is gone). `notification.attempts` is this claim's number: pass it back when recording."""

    notification: Notification
    message: Message | None


@dataclass(frozen=True)
class NotificationBacklog:
    """One practice's notifications on one channel that staff have not been sent yet: how many,
    since when the oldest waits (None when none does), and how many were given up on. Counts and
    times only: the operator's metrics are made from it."""

    practice_id: str
    channel: str
    waiting: int  # pending or being sent
    oldest: datetime | None  # when the oldest waiting one was written
    given_up: int


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due, or held by a sender whose lease has run out (it may have died)."""
    return or_(
        and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == SENDING, Notification.lease_until <= now),
    )


def _held(notification_id: str, attempt: int) -> ColumnElement[bool]:
    """The row as this claim left it: not re-claimed by another sender since."""
    return and_(
        Notification.id == notification_id,
        Notification.status == SENDING,
        Notification.attempts == attempt,
    )


class NotificationQueue(Repository):
    """`store.notifications`: the `notifications` table, as the sender and the staff see it."""

    async def claim_notifications(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int = 20,
        channels: tuple[str, ...] | None = None,
    ) -> list[Claimed]:
        """Takes up to `limit` due notifications (oldest due first) for `lease`.

        `channels`: only these (a channel whose settings are broken is left waiting, not tried)."""
        if channels is not None and not channels:
            return []
        query = select(Notification.id).where(_due(now))
        if channels is not None:
            query = query.where(Notification.channel.in_(channels))
        # Most passes find nothing: look first without a write transaction, which on SQLite
        # would take the write lock every few seconds from the agents writing calls.
        async with self._sessions.session(write=False) as s:
            if await s.scalar(query.limit(1)) is None:
                return []
        query = (
            query.order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite holds the write lock already
        )
        async with self._sessions.session(write=True) as s:
            ids = list(await s.scalars(query))
            if not ids:
                return []
            # Still due is checked again as the rows are changed: were the row locks ever
            # missing, a row another sender claimed meanwhile would be left to it, not sent twice.
            claim = (
                update(Notification)
                .where(Notification.id.in_(ids), _due(now))
                .values(
                    status=SENDING,
                    lease_until=now + lease,
                    attempts=Notification.attempts + 1,
                )
            )
            if s.get_bind().dialect.update_returning:
                ids = list(await s.scalars(claim.returning(Notification.id)))
            else:  # SQLite before 3.35: this transaction holds the write lock, nothing raced it
                await s.execute(claim)
            rows = await s.execute(
                select(Notification, Message)
                .outerjoin(Message, Message.id == Notification.message_id)
                .where(Notification.id.in_(ids))
                .order_by(Notification.next_attempt_at, Notification.id)
                .execution_options(populate_existing=True)
            )
            return [Claimed(n, m) for n, m in rows.all()]

    async def mark_notification_sent(
        self, notification_id: str, *, attempt: int, at: datetime
    ) -> bool:
        """Records a delivery; False if this claim no longer holds the row (its lease ran out and
        another sender claimed it)."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Notification)
                .where(_held(notification_id, attempt))
                .values(status=SENT, sent_at=at, lease_until=None, last_error="")
            )
            return bool(rows_changed(result))

    async def mark_notification_failed(
        self,
        notification_id: str,
        *,
        attempt: int,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        """Records a failed attempt: waiting again until `retry_at`, or given up when it is None.
        `error` is an exception type name, never its text (which may quote patient data)."""
        values: dict[str, object] = {"lease_until": None, "last_error": error[:ERROR_LENGTH]}
        if retry_at is None:
            values["status"] = GAVE_UP
        else:
            values.update(status=PENDING, next_attempt_at=retry_at)
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Notification).where(_held(notification_id, attempt)).values(**values)
            )
            return bool(rows_changed(result))

    async def give_up_stale_notifications(
        self, *, now: datetime, created_before: datetime, max_attempts: int
    ) -> list[Notification]:
        """Gives up due notifications already tried that are too old or tried too often (e.g. a
        sender that keeps dying mid-send). Never-tried ones are always tried once first."""
        stale = and_(
            _due(now),
            Notification.attempts > 0,
            or_(Notification.created_at < created_before, Notification.attempts >= max_attempts),
        )
        async with self._sessions.session(write=True) as s:
            found = list(
                await s.scalars(select(Notification).where(stale).with_for_update(skip_locked=True))
            )
            if found:
                await s.execute(
                    update(Notification)
                    .where(Notification.id.in_([n.id for n in found]))
                    .values(status=GAVE_UP, lease_until=None)
                )
            return found

    async def notification_counts(self, practice_id: str | None = None) -> dict[str, Counter[str]]:
        """How many notifications are in each status, per channel: {status: {channel: n}}.
        Every status is present (empty when none)."""
        query = select(Notification.status, Notification.channel, func.count()).group_by(
            Notification.status, Notification.channel
        )
        if practice_id:
            query = query.where(Notification.practice_id == practice_id)
        counts: dict[str, Counter[str]] = {status: Counter() for status in NOTIFICATION_STATUSES}
        async with self._sessions.session(write=False) as s:
            for status, channel, n in (await s.execute(query)).all():
                counts.setdefault(status, Counter())[channel] += int(n)
        return counts

    async def backlog(self) -> list[NotificationBacklog]:
        """What waits to be sent, per practice and channel (every pair with a row, so a queue
        that has emptied reads 0)."""
        unsent = Notification.status.in_((PENDING, SENDING))
        query = select(
            Notification.practice_id,
            Notification.channel,
            func.count(case((unsent, 1))),
            type_coerce(func.min(case((unsent, Notification.created_at))), UTCDateTime()),
            func.count(case((Notification.status == GAVE_UP, 1))),
        ).group_by(Notification.practice_id, Notification.channel)
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [
            NotificationBacklog(practice, channel, int(waiting), oldest, int(given_up))
            for practice, channel, waiting, oldest, given_up in rows
        ]

    async def notifications_for_message(self, message_id: str) -> list[Notification]:
        """A message's notifications (for the staff app: emailed at..., webhook retrying...)."""
        async with self._sessions.session(write=False) as s:
            result = await s.scalars(
                select(Notification)
                .where(Notification.message_id == message_id)
                .order_by(Notification.channel, Notification.destination)
            )
            return list(result)
