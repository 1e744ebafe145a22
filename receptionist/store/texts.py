"""Text messages: the outbound queue, each patient number's state, and the texts patients sent
(`store.texts`).

The queue follows the notifications' discipline (notifications.py): a text is written with its id
(the idempotency key) in the transaction that causes it, claimed by one sender at a time (a claim
sets `sending`, a lease and `attempts + 1`; PostgreSQL's `FOR UPDATE SKIP LOCKED`, SQLite's write
lock), and every record of how it went is fenced by the claimed `attempts`. Unlike a
notification, a text is never sent twice: a sender that may have reached the provider and cannot
say (a timeout after the request went out, a lease that ran out mid-send) leaves it `unknown`,
which no claim takes again; the provider's status callback settles it.

A number that opted out is never texted: the claim skips it and blocks its waiting texts in the
same transaction, and an opt-out blocks them as it is written. An inbound text is stored once per
provider message id (webhooks are retried); what it does (the opt-out, the reply, the staff's
message) is written in one transaction with its `handled_at`, so a retried webhook or a handler
that dies half-way never does it twice or loses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import Exists

from receptionist.store.engine import rows_changed
from receptionist.store.models import (
    CALLBACK,
    InboundText,
    Message,
    NumberState,
    OutboundText,
    Patient,
    TextNumber,
    TextStatus,
    new_id,
)
from receptionist.store.sessions import Repository

ERROR_LENGTH = 60  # texts.error, text_numbers.state_error
# Reply and message ids derive from the inbound text's: handling it twice adds nothing twice.
INBOUND_IDS = uuid.UUID("5b7f2d0e-4c1a-4f7e-8d6b-2a9c3e1f0b47")
# Provider statuses a status callback may report, in the order a text goes through them.
DELIVERY = {
    "sent": TextStatus.SENT,
    "delivered": TextStatus.DELIVERED,
    "undelivered": TextStatus.UNDELIVERED,
    "failed": TextStatus.UNDELIVERED,
    "delivery_failed": TextStatus.UNDELIVERED,  # Telnyx
    "sending_failed": TextStatus.UNDELIVERED,  # Telnyx
}


def derived_id(*parts: str) -> str:
    """A stable id from what causes a text (`appointment id`, `booked`): one cause, one text."""
    return str(uuid.uuid5(INBOUND_IDS, ":".join(parts)))


@dataclass(frozen=True)
class Handling:
    """What handling one inbound text writes, together: its action, the number's opt-out or
    opt-in, a reply to queue and a message for the staff (each optional)."""

    action: str
    opt: str = ""  # "out" | "in" | ""
    appointment_id: str | None = None  # the visit it confirmed
    reply: dict[str, Any] | None = None  # an outbound text's values (its id is derived here)
    message: dict[str, Any] | None = None  # a staff message's values (its id is derived here)


def _opted_out(
    practice_id: ColumnElement[str] | InstrumentedAttribute[str],
    number: ColumnElement[str] | InstrumentedAttribute[str],
) -> Exists:
    """Whether this number opted out of this practice's texts (an EXISTS clause)."""
    return exists().where(
        TextNumber.practice_id == practice_id,
        TextNumber.number == number,
        or_(TextNumber.opted_out_at.is_not(None), TextNumber.state != NumberState.OK),
    )


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due. A `sending` row whose lease ran out is not due: it may have been sent."""
    return and_(OutboundText.status == TextStatus.PENDING, OutboundText.next_attempt_at <= now)


def _held(text_id: str, attempt: int) -> ColumnElement[bool]:
    return and_(
        OutboundText.id == text_id,
        OutboundText.status == TextStatus.SENDING,
        OutboundText.attempts == attempt,
    )


class TextBook(Repository):
    """`store.texts`: the `texts`, `text_numbers` and `inbound_texts` tables."""

    def _insert(self, table: Table, row: dict[str, Any], keys: list[str]) -> Any:
        dialect_insert = (
            postgresql.insert if self._sessions.dialect == "postgresql" else sqlite.insert
        )
        return dialect_insert(table).values(**row).on_conflict_do_nothing(index_elements=keys)

    # --- the outbound queue ------------------------------------------------------------------

    async def queue(self, text: dict[str, Any], *, now: datetime) -> bool:
        """Queues one text unless one with its id exists; True if queued. A text to a number that
        opted out (or cannot take texts) is stored `blocked`: the staff see it was not sent."""
        async with self._sessions.session(write=True) as s:
            return await self._queue(s, text, now=now)

    async def _queue(self, s: Any, text: dict[str, Any], *, now: datetime) -> bool:
        row = {
            "id": new_id(),
            "status": TextStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "segments": 1,
            "error": "",
            "created_at": now,
            "updated_at": now,
            **text,
        }
        blocked = await s.scalar(
            select(_opted_out(literal(row["practice_id"]), literal(row["to_number"])))
        )
        if blocked:
            row["status"] = TextStatus.BLOCKED
        result = await s.execute(self._insert(OutboundText.__table__, row, ["id"]))
        return bool(rows_changed(result))

    async def claim(
        self, *, now: datetime, lease: timedelta, limit: int = 20
    ) -> list[OutboundText]:
        """Takes up to `limit` due texts (oldest due first) for `lease`. Waiting texts to numbers
        that opted out are blocked first, in the same transaction: none is ever claimed."""
        async with self._sessions.session(write=False) as s:
            if await s.scalar(select(OutboundText.id).where(_due(now)).limit(1)) is None:
                return []
        stopped = _opted_out(OutboundText.practice_id, OutboundText.to_number)
        async with self._sessions.session(write=True) as s:
            await s.execute(
                update(OutboundText)
                .where(OutboundText.status == TextStatus.PENDING, stopped)
                .values(status=TextStatus.BLOCKED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            ids = list(
                await s.scalars(
                    select(OutboundText.id)
                    .where(_due(now))
                    .order_by(OutboundText.next_attempt_at, OutboundText.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            await s.execute(
                update(OutboundText)
                .where(OutboundText.id.in_(ids), _due(now))
                .values(
                    status=TextStatus.SENDING,
                    lease_until=now + lease,
                    attempts=OutboundText.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            rows = await s.scalars(
                select(OutboundText)
                .where(OutboundText.id.in_(ids), OutboundText.status == TextStatus.SENDING)
                .order_by(OutboundText.next_attempt_at, OutboundText.id)
                .execution_options(populate_existing=True)
            )
            return list(rows)

    async def mark_sent(
        self, text_id: str, *, attempt: int, provider_message_id: str, at: datetime
    ) -> bool:
        """The provider took the text (its id recorded); False if this claim no longer holds it."""
        return await self._update(
            _held(text_id, attempt),
            status=TextStatus.SENT,
            provider_message_id=provider_message_id[:64],
            sent_at=at,
            lease_until=None,
            error="",
            updated_at=at,
        )

    async def mark_failed(
        self,
        text: OutboundText,
        *,
        attempt: int,
        error: str,
        now: datetime,
        retry_at: datetime | None,
        number_state: NumberState | None = None,
        opted_out: bool = False,
    ) -> bool:
        """A refused or failed attempt: waiting again until `retry_at`, or `failed` for good when
        it is None. `number_state` / `opted_out`: what the provider said of the number, recorded
        on it in the same transaction (and its other waiting texts blocked)."""
        values: dict[str, Any] = {"lease_until": None, "error": error[:ERROR_LENGTH]}
        values["updated_at"] = now
        if retry_at is None:
            values["status"] = TextStatus.BLOCKED if opted_out else TextStatus.FAILED
        else:
            values.update(status=TextStatus.PENDING, next_attempt_at=retry_at)
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(OutboundText).where(_held(text.id, attempt)).values(**values)
            )
            if opted_out or number_state is not None:
                await self._set_number(
                    s,
                    text.practice_id,
                    text.to_number,
                    now=now,
                    opted_out_at=now if opted_out else None,
                    state=number_state,
                    error=error,
                )
            return bool(rows_changed(result))

    async def mark_unknown(self, text_id: str, *, attempt: int, error: str, at: datetime) -> bool:
        """The provider may have taken it: never sent again unless a status callback says."""
        return await self._update(
            _held(text_id, attempt),
            status=TextStatus.UNKNOWN,
            lease_until=None,
            error=error[:ERROR_LENGTH],
            updated_at=at,
        )

    async def defer(self, text_id: str, *, attempt: int, until: datetime, why: str) -> bool:
        """Not now (quiet hours, the number's rate): waiting again, the claim not counted."""
        return await self._update(
            _held(text_id, attempt),
            status=TextStatus.PENDING,
            next_attempt_at=until,
            lease_until=None,
            attempts=OutboundText.attempts - 1,
            error=why[:ERROR_LENGTH],
        )

    async def block_if_stopped(self, text: OutboundText, *, attempt: int, now: datetime) -> bool:
        """Read just before a claimed text goes: True (and the text `blocked`) when its number
        opted out or was found not to take texts since the claim, e.g. by a refusal of another
        text in the same batch or a STOP that arrived meanwhile."""
        stopped = _opted_out(literal(text.practice_id), literal(text.to_number))
        async with self._sessions.session(write=True) as s:
            if not await s.scalar(select(stopped)):
                return False
            await s.execute(
                update(OutboundText)
                .where(_held(text.id, attempt))
                .values(status=TextStatus.BLOCKED, lease_until=None, updated_at=now)
            )
            return True

    async def expire_leases(self, *, now: datetime) -> int:
        """`sending` texts whose sender died mid-send become `unknown` (it may have sent)."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(OutboundText)
                .where(OutboundText.status == TextStatus.SENDING, OutboundText.lease_until <= now)
                .values(status=TextStatus.UNKNOWN, lease_until=None, error="LeaseExpired")
            )
            return rows_changed(result)

    async def _update(self, where: ColumnElement[bool], **values: Any) -> bool:
        async with self._sessions.session(write=True) as s:
            result = await s.execute(update(OutboundText).where(where).values(**values))
            return bool(rows_changed(result))

    async def sent_since(self, practice_id: str, number: str, since: datetime) -> int:
        """How many texts were sent (or may have been) to this number since `since`: its rate."""
        query = select(func.count()).where(
            OutboundText.practice_id == practice_id,
            OutboundText.to_number == number,
            OutboundText.status.in_(
                (TextStatus.SENT, TextStatus.DELIVERED, TextStatus.UNDELIVERED, TextStatus.UNKNOWN)
            ),
            func.coalesce(OutboundText.sent_at, OutboundText.updated_at) >= since,
        )
        async with self._sessions.session(write=False) as s:
            return int(await s.scalar(query) or 0)

    async def delivery(
        self,
        provider: str,
        provider_message_id: str,
        status: str,
        *,
        error: str = "",
        text_id: str = "",
        now: datetime,
    ) -> bool:
        """A status callback: the text's delivery status (a later one never goes back to an
        earlier). `text_id` (our id, carried on the callback's address) settles an `unknown`
        text: the provider did take it. False when no text matches."""
        found = DELIVERY.get(status.lower())
        if found is None:  # queued, sending, accepted: nothing new for us
            return False
        ours = and_(
            OutboundText.provider == provider,
            or_(
                OutboundText.provider_message_id == provider_message_id,
                and_(OutboundText.id == text_id, OutboundText.status == TextStatus.UNKNOWN),
            ),
        )
        earlier = [TextStatus.SENT, TextStatus.UNKNOWN]
        if found is TextStatus.SENT:
            earlier = [TextStatus.UNKNOWN]
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(OutboundText)
                .where(ours, OutboundText.status.in_([*earlier, TextStatus.SENDING]))
                .values(
                    status=found,
                    provider_message_id=provider_message_id[:64],
                    error=error[:ERROR_LENGTH],
                    sent_at=func.coalesce(OutboundText.sent_at, now),
                    updated_at=now,
                )
            )
            return bool(rows_changed(result))

    async def texts_to(self, practice_id: str, number: str) -> list[OutboundText]:
        """The texts queued for one number, oldest first (tests, the staff's thread)."""
        async with self._sessions.session(write=False) as s:
            rows = await s.scalars(
                select(OutboundText)
                .where(OutboundText.practice_id == practice_id, OutboundText.to_number == number)
                .order_by(OutboundText.created_at, OutboundText.id)
            )
            return list(rows)

    async def get(self, text_id: str) -> OutboundText | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(OutboundText, text_id)

    # --- numbers -----------------------------------------------------------------------------

    async def number(self, practice_id: str, number: str) -> TextNumber | None:
        async with self._sessions.session(write=False) as s:
            return await s.scalar(
                select(TextNumber).where(
                    TextNumber.practice_id == practice_id, TextNumber.number == number
                )
            )

    async def opt_out(self, practice_id: str, number: str, *, now: datetime) -> None:
        """STOP: no text to this number again (its waiting texts blocked in this transaction)."""
        async with self._sessions.session(write=True) as s:
            await self._set_number(s, practice_id, number, now=now, opted_out_at=now)

    async def opt_in(self, practice_id: str, number: str, *, now: datetime) -> None:
        """START: texts again, and consent recorded."""
        async with self._sessions.session(write=True) as s:
            await self._set_number(s, practice_id, number, now=now, opted_in=True)

    async def _set_number(
        self,
        s: Any,
        practice_id: str,
        number: str,
        *,
        now: datetime,
        opted_out_at: datetime | None = None,
        opted_in: bool = False,
        state: NumberState | None = None,
        error: str = "",
    ) -> None:
        await s.execute(
            self._insert(
                TextNumber.__table__,
                {
                    "id": new_id(),
                    "practice_id": practice_id,
                    "number": number,
                    "state": NumberState.OK,
                    "state_error": "",
                    "updated_at": now,
                },
                ["practice_id", "number"],
            )
        )
        values: dict[str, Any] = {"updated_at": now}
        if opted_out_at is not None:
            values["opted_out_at"] = opted_out_at
        if opted_in:  # the number just texted us: it takes texts
            values.update(opted_out_at=None, consent_at=now, state=NumberState.OK, state_error="")
        if state is not None:
            values.update(state=state, state_error=error[:ERROR_LENGTH])
        await s.execute(
            update(TextNumber)
            .where(TextNumber.practice_id == practice_id, TextNumber.number == number)
            .values(**values)
        )
        if opted_out_at is not None or (state is not None and state != NumberState.OK):
            await s.execute(
                update(OutboundText)
                .where(
                    OutboundText.practice_id == practice_id,
                    OutboundText.to_number == number,
                    OutboundText.status == TextStatus.PENDING,
                )
                .values(status=TextStatus.BLOCKED, updated_at=now)
            )

    # --- inbound -----------------------------------------------------------------------------

    async def receive(self, inbound: dict[str, Any]) -> str | None:
        """Stores a patient's text once per provider message id; its id, or None when this
        provider message was stored already (a retried webhook)."""
        row = {"id": new_id(), "action": "", **inbound}
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                self._insert(InboundText.__table__, row, ["provider", "provider_message_id"])
            )
            return row["id"] if rows_changed(result) else None

    async def inbound(self, inbound_id: str) -> InboundText | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(InboundText, inbound_id)

    async def unhandled(self, *, limit: int = 50) -> list[InboundText]:
        """Inbound texts stored but not yet handled (acknowledged, then handled after; a
        handler that died leaves them here for the next pass)."""
        async with self._sessions.session(write=False) as s:
            rows = await s.scalars(
                select(InboundText)
                .where(InboundText.handled_at.is_(None))
                .order_by(InboundText.received_at, InboundText.id)
                .limit(limit)
            )
            return list(rows)

    async def handle(self, inbound: InboundText, handling: Handling, *, now: datetime) -> bool:
        """Writes what an inbound text does, at most once: False when it was handled already."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(InboundText)
                .where(InboundText.id == inbound.id, InboundText.handled_at.is_(None))
                .values(
                    action=handling.action[:16],
                    handled_at=now,
                    appointment_id=handling.appointment_id,
                )
            )
            if not rows_changed(result):
                return False
            practice, number = inbound.practice_id, inbound.from_number
            if handling.opt == "out":
                await self._set_number(s, practice, number, now=now, opted_out_at=now)
            elif handling.opt == "in":
                await self._set_number(s, practice, number, now=now, opted_in=True)
            if handling.message is not None:
                message_id = derived_id(inbound.id, "message")
                message = {
                    "id": message_id,
                    "practice_id": practice,
                    "callback_number": number,
                    "urgency": "routine",
                    "kind": CALLBACK,
                    "caller_name": "",
                    "call_id": "",
                    "created_at": now,
                    **handling.message,
                }
                await s.execute(self._insert(Message.__table__, message, ["id"]))
                await s.execute(
                    update(InboundText)
                    .where(InboundText.id == inbound.id)
                    .values(message_id=message_id)
                )
            if handling.reply is not None:
                reply = {
                    "id": derived_id(inbound.id, "reply"),
                    "practice_id": practice,
                    "to_number": number,
                    "inbound_id": inbound.id,
                    **handling.reply,
                }
                await self._queue(s, reply, now=now)
            return True

    async def patients_with_number(self, practice_id: str, number: str) -> list[Patient]:
        """The practice's patients whose number this is (a family may share one)."""
        async with self._sessions.session(write=False) as s:
            rows = await s.scalars(
                select(Patient)
                .where(Patient.practice_id == practice_id, Patient.phone == number)
                .order_by(Patient.created_at, Patient.id)
            )
            return list(rows)

    async def inbound_from(self, practice_id: str, number: str) -> list[InboundText]:
        async with self._sessions.session(write=False) as s:
            rows = await s.scalars(
                select(InboundText)
                .where(InboundText.practice_id == practice_id, InboundText.from_number == number)
                .order_by(InboundText.received_at, InboundText.id)
            )
            return list(rows)
