"""The background sender: claims due notifications, sends them, records how it went.

Calls never wait for it: the agent only writes notification rows (with their message, in one
transaction) and this runs in another process (the staff app, or `receptionist notify run`), so a
mail server that is down costs a retry here, never a pause on the phone.

Delivery is at least once, with one idempotency key per notification: a sender killed after
sending and before recording leaves its claim to expire, and the next sender sends again with
the same `Idempotency-Key` / `Message-ID`, which the receiver uses to drop the copy. Failures are
recorded by exception type only: exception text can quote what it failed on (an address, a body).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from receptionist.domain.practice import PracticeDirectory
from receptionist.notify.config import problems_for, ready_channels
from receptionist.notify.content import compose
from receptionist.notify.mail import send_email
from receptionist.notify.retry import RETRY, RetryPolicy
from receptionist.notify.webhook import post_webhook
from receptionist.settings import Settings
from receptionist.store import Store, StoreUnavailable
from receptionist.store.models import EMAIL, WEBHOOK, utcnow
from receptionist.store.notifications import Claimed
from receptionist.store.outbox import OutboxError

log = logging.getLogger(__name__)

BATCH = 20  # claimed at once and sent concurrently
SEND_TIMEOUT_S = 30.0  # one attempt, whatever the channel's own timeouts say
LEASE = timedelta(minutes=2)  # well past SEND_TIMEOUT_S: a live sender never loses its claim
INTERVAL_S = 5.0  # between passes of `run_sender`


class MessageMissing(Exception):
    """The notification's message is not in the book (nothing to announce)."""


class UnknownChannel(Exception):
    """A channel this sender does not know (a newer version wrote it)."""


@dataclass
class Counts:
    """What one pass did. `unrecorded`: sent or failed, but the outcome could not be written
    (the database went away, or the claim expired and another sender took over)."""

    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    unrecorded: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.gave_up + self.unrecorded

    def add(self, other: Counts) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.gave_up += other.gave_up
        self.unrecorded += other.unrecorded

    def __str__(self) -> str:
        text = f"sent {self.sent}, retrying {self.retrying}, gave up {self.gave_up}"
        return text + (f", unrecorded {self.unrecorded}" if self.unrecorded else "")


async def deliver(claimed: Claimed, settings: Settings, directory: PracticeDirectory) -> None:
    """Composes and sends one claimed notification; raises on any failure. Records nothing."""
    notification, message = claimed.notification, claimed.message
    if message is None:
        raise MessageMissing(notification.message_id)
    practice = directory.get(notification.practice_id)
    content = compose(notification, message, practice, settings.staff_app_url)
    async with asyncio.timeout(SEND_TIMEOUT_S):
        if notification.channel == EMAIL:
            await send_email(
                content,
                notification_id=notification.id,
                to=notification.destination,
                settings=settings,
            )
        elif notification.channel == WEBHOOK:
            await post_webhook(
                content,
                notification_id=notification.id,
                url=notification.destination,
                secret=settings.webhook_secret.get_secret_value().strip(),
            )
        else:
            raise UnknownChannel(notification.channel)


async def send_due(
    store: Store,
    settings: Settings,
    directory: PracticeDirectory,
    *,
    now: datetime | None = None,
    limit: int = BATCH,
    lease: timedelta = LEASE,
    retry: RetryPolicy = RETRY,
) -> Counts:
    """One pass: sends every notification due at `now` on the channels whose settings work, in
    batches of `limit`. Rows failing now wait for their backoff, so a pass always ends. Raises
    `StoreUnavailable` if the database cannot be reached.

    `now` (tests drive the clock with it) is the time of everything the pass decides and
    records; by default the current time, read again for each outcome recorded."""
    clock = _clock(now)
    now = clock()
    counts = Counts()
    channels = ready_channels(settings)
    for stale in await store.notifications.give_up_stale_notifications(
        now=now, created_before=now - retry.max_age, max_attempts=retry.max_attempts
    ):
        _log_gave_up(stale.id, stale.channel, stale.attempts, stale.last_error or "LeaseExpired")
        counts.gave_up += 1
    while True:
        batch = await store.notifications.claim_notifications(
            now=now, lease=lease, limit=limit, channels=channels
        )
        results = await asyncio.gather(
            *(_attempt(store, c, settings, directory, clock, retry) for c in batch),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                # Recording failed in an unexpected way: the claim expires and it is sent again.
                log.error("recording a notification failed (%s)", type(result).__name__)
                counts.unrecorded += 1
            else:
                counts.add(result)
        if len(batch) < limit:
            return counts


def _clock(now: datetime | None) -> Callable[[], datetime]:
    """The pass's time: a fixed `now` (tests drive the clock), else the current time."""
    if now is None:
        return utcnow
    return lambda: now


async def _attempt(
    store: Store,
    claimed: Claimed,
    settings: Settings,
    directory: PracticeDirectory,
    clock: Callable[[], datetime],
    retry: RetryPolicy,
) -> Counts:
    notification = claimed.notification
    attempt = notification.attempts
    try:
        await deliver(claimed, settings, directory)
    except Exception as exc:  # any failure of one notification is that notification's only
        error, now = type(exc).__name__, clock()
        retry_at = retry.retry_at(attempts=attempt, created_at=notification.created_at, now=now)
        if isinstance(exc, MessageMissing | UnknownChannel):
            retry_at = None  # no retry will ever find what is not there
        recorded = await _record(
            store.notifications.mark_notification_failed(
                notification.id, attempt=attempt, error=error, retry_at=retry_at
            )
        )
        if not recorded:
            return Counts(unrecorded=1)
        if retry_at is None:
            _log_gave_up(notification.id, notification.channel, attempt, error)
            return Counts(gave_up=1)
        log.info(
            "notification %s (%s) failed (%s), attempt %d: retrying in %ds",
            notification.id,
            notification.channel,
            error,
            attempt,
            (retry_at - now).total_seconds(),
        )
        return Counts(retrying=1)
    sent = await _record(
        store.notifications.mark_notification_sent(notification.id, attempt=attempt, at=clock())
    )
    return Counts(sent=1) if sent else Counts(unrecorded=1)


async def _record(write: Awaitable[bool]) -> bool:
    """Runs a recording write; False if it could not be written. The claim then expires and the
    notification is sent again with the same key: a duplicate the receiver drops, never a loss."""
    try:
        return await write
    except StoreUnavailable as exc:
        log.warning("could not record a notification attempt (%s)", type(exc.__cause__).__name__)
        return False


def _log_gave_up(notification_id: str, channel: str, attempts: int, error: str) -> None:
    log.error(
        "notification %s (%s) gave up after %d attempts (last error: %s); the message is still "
        "in the staff app",
        notification_id,
        channel,
        attempts,
        error or "none",
    )


async def run_sender(
    store: Store,
    settings: Settings,
    directory: PracticeDirectory,
    *,
    stop: asyncio.Event,
    interval: float = INTERVAL_S,
) -> None:
    """Sends notifications until `stop` is set; a pass under way is finished first.

    Each pass also writes what this host's outbox kept during a database outage (messages with
    their notifications), so an urgent note left during an outage goes out when the database is
    back, not at the next call. Errors are logged by type and the next pass tries again: a
    sender inside the staff app must not die quietly."""
    for problem in problems_for(settings, directory):
        log.warning("notifications: %s", problem)
    while not stop.is_set():
        try:
            await flush_outbox(store)
            counts = await send_due(store, settings, directory)
            if counts.total:
                log.info("notifications: %s", counts)
        except StoreUnavailable as exc:
            log.warning(
                "notifications wait: database unavailable (%s)", type(exc.__cause__).__name__
            )
        except Exception as exc:
            log.error("notification pass failed (%s); trying again", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def flush_outbox(store: Store) -> int:
    """Writes the records this host's outbox kept during an outage (messages come with their
    notifications); how many. A missing or unreadable outbox is logged, not raised: it must not
    stop the sending of what is already in the book."""
    try:
        if not store.outbox.pending():
            return 0
        flushed = await store.flush_outbox()
    except OutboxError as exc:
        log.warning("outbox not readable (%s)", type(exc).__name__)
        return 0
    if flushed:
        log.info("wrote %d records kept in the outbox", flushed)
    return flushed
