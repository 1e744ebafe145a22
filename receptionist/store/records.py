"""Messages and call records: the `messages` and `call_records` tables, with the outbox behind
them, and the `notifications` rows a message is written with (`store.records`).

Records are idempotent by their UUID and fall back to the local outbox (one per store, shared
with `Store.flush_outbox`), so a database outage during a call loses nothing: `save` keeps the
record in the outbox while the database is unreachable, and a later flush writes it once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from receptionist.store.engine import rows_changed
from receptionist.store.errors import StoreUnavailable
from receptionist.store.models import (
    CALLBACK,
    PENDING,
    CallRecord,
    Message,
    Notification,
    Patient,
    UTCDateTime,
    new_id,
    utcnow,
)
from receptionist.store.outbox import Outbox
from receptionist.store.sessions import Repository, Sessions

log = logging.getLogger(__name__)
# Notification ids derive from (message, channel, destination): an outbox replay adds none twice.
NOTIFICATION_IDS = uuid.UUID("0d9a5c3e-7f0b-4b8e-9a59-3f1d2b6c7e10")

TABLES: dict[str, Table] = {"message": Message.__table__, "call": CallRecord.__table__}


class Records(Repository):
    """`store.records`: messages and call records, written now or kept in the outbox."""

    def __init__(self, sessions: Sessions, outbox: Outbox) -> None:
        super().__init__(sessions)
        self.outbox = outbox

    async def insert_once(self, kind: str, values: dict[str, Any]) -> bool:
        """Inserts a message/call record unless one with its id exists; True if inserted.

        A message's `notify` list (`{"channel", "destination"}`) becomes its notifications in the
        same transaction, with ids derived from the message's: a message is never stored without
        them, and an outbox replay never adds them twice. A call record's `language` becomes the
        language of each patient the caller proved to be (`patient_ids`), in the same
        transaction: their next reminder call is in the language they last spoke with us."""
        values = dict(values)
        notify = values.pop("notify", None) or []
        table = TABLES[kind]
        row = _coerce(table, values)
        async with self._sessions.session(write=True) as s:
            result = await s.execute(self._insert_ignoring_duplicates(table, row))
            inserted = bool(rows_changed(result))
            if inserted and kind == "message":
                for target in notify:
                    await s.execute(
                        self._insert_ignoring_duplicates(
                            Notification.__table__,
                            _notification_row(row, target),
                        )
                    )
            if inserted and kind == "call" and row.get("language") and row.get("patient_ids"):
                await s.execute(
                    update(Patient)
                    .where(Patient.id.in_(list(row["patient_ids"])))
                    .values(language=row["language"])
                )
            return inserted

    def _insert_ignoring_duplicates(
        self, table: Table, row: dict[str, Any]
    ) -> postgresql.Insert | sqlite.Insert:
        dialect_insert = (
            postgresql.insert if self._sessions.dialect == "postgresql" else sqlite.insert
        )
        return dialect_insert(table).values(**row).on_conflict_do_nothing(index_elements=["id"])

    async def save(self, kind: str, values: dict[str, Any]) -> Literal["stored", "queued"]:
        """Writes a message or call record now, or keeps it in the outbox while the database is
        unreachable. Only an outage queues: a record the database refuses for what it holds
        raises, because queueing it would only move it to `failed/` later while the caller was
        told it was kept (the tool then helps them another way)."""
        values = {"id": new_id(), "created_at": utcnow(), **values}
        try:
            await self.insert_once(kind, values)
        except StoreUnavailable as exc:  # unreachable, locked, not migrated: write it later
            log.warning("cannot write %s now (%s)", kind, type(exc.__cause__).__name__)
            self.outbox.put(kind, values)
            return "queued"
        return "stored"

    async def add_message(self, **values: Any) -> tuple[str, Literal["stored", "queued"]]:
        values.setdefault("id", new_id())
        values.setdefault("urgency", "routine")
        values.setdefault("kind", CALLBACK)
        values.setdefault("caller_name", "")
        values.setdefault("call_id", "")
        return values["id"], await self.save("message", values)

    async def open_messages(self, practice_id: str | None = None, limit: int = 50) -> list[Message]:
        query = select(Message).where(Message.handled_at.is_(None))
        if practice_id:
            query = query.where(Message.practice_id == practice_id)
        async with self._sessions.session(write=False) as s:
            result = await s.scalars(query.order_by(Message.created_at.desc()).limit(limit))
            return list(result)

    async def mark_message_handled(self, message_id: str) -> bool:
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Message)
                .where(Message.id == message_id, Message.handled_at.is_(None))
                .values(handled_at=utcnow())
            )
            return bool(rows_changed(result))

    async def recent_calls(
        self, practice_id: str | None = None, limit: int = 20
    ) -> list[CallRecord]:
        query = select(CallRecord)
        if practice_id:
            query = query.where(CallRecord.practice_id == practice_id)
        async with self._sessions.session(write=False) as s:
            result = await s.scalars(query.order_by(CallRecord.started_at.desc()).limit(limit))
            return list(result)


def _notification_row(message: dict[str, Any], target: dict[str, str]) -> dict[str, Any]:
    channel, destination = target["channel"], target["destination"]
    key = uuid.uuid5(NOTIFICATION_IDS, f"{message['id']}:{channel}:{destination}")
    return {
        "id": str(key),
        "message_id": message["id"],
        "practice_id": message["practice_id"],
        "channel": channel,
        "destination": destination,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": message["created_at"],
        "last_error": "",
        "created_at": message["created_at"],
    }


def _coerce(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Outbox JSON back to column values (ISO strings to datetimes); unknown keys are an error."""
    unknown = set(values) - set(table.c.keys())
    if unknown:
        raise KeyError(f"unknown {table.name} fields: {', '.join(sorted(unknown))}")
    row = dict(values)
    for column in table.c:
        value = row.get(column.name)
        if isinstance(column.type, UTCDateTime) and isinstance(value, str):
            row[column.name] = datetime.fromisoformat(value)
    return row
