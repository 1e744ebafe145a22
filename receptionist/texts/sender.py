"""The text sender: claims due texts, sends each over its practice's provider, records how it went.

Runs where the notification sender runs (the staff app's background tasks), never in a call: the
call only queues a row. Each claimed text is checked again before it goes: its practice still
texts and has keys (else it waits), the practice's quiet hours (it waits until they end, in the
practice's zone), the number's rate (at most `per_number_per_hour` an hour). A number that opted
out never reaches here (the claim blocks its texts, store/texts.py).

A text is sent at most once: a provider that certainly did not take it (no connection, 429,
5xx) is retried with the notifications' backoff; one that may have (the request went out, no
answer) leaves the text `unknown` for the status callback to settle; a refusal is recorded with
the provider's code and what it says of the number (opted out, invalid, landline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from receptionist.domain.practice import PracticeDirectory
from receptionist.domain.texts import TextProvider
from receptionist.notify.retry import RetryPolicy
from receptionist.settings import Settings
from receptionist.store import Store, StoreUnavailable
from receptionist.store.models import OutboundText, utcnow
from receptionist.texts import providers
from receptionist.texts.config import key_problems, provider_problems
from receptionist.texts.providers import Outgoing, Refused, Uncertain, Unreachable

log = logging.getLogger(__name__)

BATCH = 20
LEASE = timedelta(minutes=2)  # past the client's timeouts: a live sender never loses its claim
INTERVAL_S = 5.0
RATE_WINDOW = timedelta(hours=1)
RATE_WAIT = timedelta(minutes=10)  # a number at its rate is tried again this much later
# A confirmation more than half a day late confuses more than it helps.
RETRY = RetryPolicy(max_age=timedelta(hours=12))


@dataclass
class Counts:
    sent: int = 0
    retrying: int = 0
    deferred: int = 0
    failed: int = 0
    uncertain: int = 0
    blocked: int = 0  # not sent: the number opted out (or cannot take texts) since the claim
    unrecorded: int = 0

    @property
    def total(self) -> int:
        return (
            self.sent + self.retrying + self.deferred + self.failed + self.uncertain + self.blocked
        )

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retrying {self.retrying}, waiting {self.deferred}, failed "
            f"{self.failed}, unknown {self.uncertain}, blocked {self.blocked}, unrecorded "
            f"{self.unrecorded}"
        )


def status_url(settings: Settings, provider: str, text_id: str) -> str:
    """Where the provider posts this text's delivery status (our id on it settles `unknown`)."""
    path = "twilio/status" if provider == TextProvider.TWILIO else "telnyx/events"
    return f"{settings.texts_public_url}/texts/{path}?text={text_id}"


class Sender:
    """One sender's pass over the queue: its HTTP client, settings and practices."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        directory: PracticeDirectory,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy = RETRY,
    ) -> None:
        self.store = store
        self.settings = settings
        self.directory = directory
        self.http = http
        self.clock = clock
        self.retry = retry

    async def send_due(self, *, limit: int = BATCH, lease: timedelta = LEASE) -> Counts:
        """One pass: every text due now, in claims of `limit`; texts to one number in order.
        Raises `StoreUnavailable` when the database cannot be reached."""
        counts = Counts()
        if expired := await self.store.texts.expire_leases(now=self.clock()):
            log.warning("%d texts left unknown by a sender that stopped mid-send", expired)
        while True:
            batch = await self.store.texts.claim(now=self.clock(), lease=lease, limit=limit)
            for text in batch:  # one at a time: the rate of a number is read before each
                try:
                    await self._attempt(text, counts)
                except StoreUnavailable as exc:
                    log.warning("a text's outcome not recorded (%s)", type(exc.__cause__).__name__)
                    counts.unrecorded += 1
            if len(batch) < limit:
                return counts

    async def _attempt(self, text: OutboundText, counts: Counts) -> None:
        attempt, now = text.attempts, self.clock()
        practice = self.directory.get(text.practice_id)
        if practice is None or not practice.texts.enabled:
            await self.store.texts.mark_failed(
                text, attempt=attempt, error="TextsOff", now=now, retry_at=None
            )
            counts.failed += 1
            return
        texts = practice.texts
        if provider_problems(self.settings, texts.provider):  # logged at start: wait for keys
            await self._retry(text, "NotConfigured", counts)
            return
        allowed = texts.quiet_hours.next_allowed(now, practice.tz)
        if allowed > now:
            await self.store.texts.defer(text.id, attempt=attempt, until=allowed, why="QuietHours")
            counts.deferred += 1
            return
        sent = await self.store.texts.sent_since(practice.id, text.to_number, now - RATE_WINDOW)
        if sent >= texts.per_number_per_hour:
            await self.store.texts.defer(
                text.id, attempt=attempt, until=now + RATE_WAIT, why="RateLimited"
            )
            counts.deferred += 1
            return
        if await self.store.texts.block_if_stopped(text, attempt=attempt, now=self.clock()):
            counts.blocked += 1
            return
        provider = providers.provider_for(texts.provider, self.settings, self.http)
        outgoing = Outgoing(
            text_id=text.id,
            to=text.to_number,
            sender=text.from_number,
            body=text.body,
            callback_url=status_url(self.settings, text.provider, text.id),
            messaging_profile_id=texts.messaging_profile_id,
        )
        try:
            accepted = await provider.send(outgoing)
        except Unreachable as exc:
            await self._retry(text, exc.code, counts)
        except Uncertain as exc:
            log.warning("text %s may have been sent (%s): left unknown", text.id, exc.code)
            await self.store.texts.mark_unknown(
                text.id, attempt=attempt, error=exc.code, at=self.clock()
            )
            counts.uncertain += 1
        except Refused as exc:
            log.warning("text %s refused by %s (code %s)", text.id, text.provider, exc.code)
            await self.store.texts.mark_failed(
                text,
                attempt=attempt,
                error=exc.code,
                now=self.clock(),
                retry_at=None,
                number_state=exc.number_state,
                opted_out=exc.opted_out,
            )
            counts.failed += 1
        else:
            recorded = await self.store.texts.mark_sent(
                text.id, attempt=attempt, provider_message_id=accepted.message_id, at=self.clock()
            )
            if recorded:
                counts.sent += 1
            else:
                counts.unrecorded += 1

    async def _retry(self, text: OutboundText, code: str, counts: Counts) -> None:
        now = self.clock()
        retry_at = self.retry.retry_at(attempts=text.attempts, created_at=text.created_at, now=now)
        await self.store.texts.mark_failed(
            text, attempt=text.attempts, error=code, now=now, retry_at=retry_at
        )
        if retry_at is None:
            log.error("text %s gave up after %d attempts (%s)", text.id, text.attempts, code)
            counts.failed += 1
        else:
            counts.retrying += 1


async def run_text_sender(
    store: Store,
    settings: Settings,
    directory: PracticeDirectory,
    *,
    stop: asyncio.Event,
    interval: float = INTERVAL_S,
) -> None:
    """Sends texts and handles inbound ones left unhandled until `stop` is set. Errors are
    logged by type and the next pass tries again: a sender inside the staff app must not die
    quietly."""
    from receptionist.texts.inbound import handle_pending

    for problem in key_problems(settings, directory):
        log.warning("texts: %s", problem)
    async with providers.client() as http:
        sender = Sender(store, settings, directory, http)
        while not stop.is_set():
            try:
                await handle_pending(store, directory)
                counts = await sender.send_due()
                if counts.total:
                    log.info("texts: %s", counts)
            except StoreUnavailable as exc:
                log.warning("texts wait: database unavailable (%s)", type(exc.__cause__).__name__)
            except Exception as exc:
                log.error("text pass failed (%s); trying again", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
