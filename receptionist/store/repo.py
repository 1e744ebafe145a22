"""Queries over the practice's book. Every function here runs on SQLite and PostgreSQL.

Writes go through `_write()` (SQLite: `BEGIN IMMEDIATE`) and translate driver errors into the
store's own: `SlotTaken` when the database refuses an overlapping appointment, `StoreUnavailable`
when it cannot be reached. Messages and call records are idempotent by their UUID and fall back to
the local outbox, so a database outage during a call loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from receptionist.store.closures import Closures
from receptionist.store.engine import make_engine, rows_changed, safe_url, writer
from receptionist.store.errors import (
    NotFound,
    PatientBusy,
    SlotTaken,
    StoreUnavailable,
    is_overlap,
    is_patient_overlap,
    is_unavailable,
)
from receptionist.store.lockouts import IdentityFailures
from receptionist.store.models import (
    CALLBACK,
    NAME_LENGTH,
    PENDING,
    Appointment,
    AppointmentStatus,
    CallRecord,
    Message,
    Notification,
    Patient,
    UTCDateTime,
    new_id,
    utcnow,
)
from receptionist.store.notifications import NotificationQueue
from receptionist.store.outbox import Outbox
from receptionist.store.reminders import ReminderBook, settle_visit_reminder
from receptionist.store.staff import StaffStore

log = logging.getLogger(__name__)
MAX_APPOINTMENT = timedelta(hours=8)  # enforced by the database (migration 0002)
# Notification ids derive from (message, channel, destination): an outbox replay adds none twice.
NOTIFICATION_IDS = uuid.UUID("0d9a5c3e-7f0b-4b8e-9a59-3f1d2b6c7e10")
KEY_DIGEST_LENGTH = 16  # hex digits of SHA-256 ending a name key too long for its column

TABLES: dict[str, Table] = {"message": Message.__table__, "call": CallRecord.__table__}


def name_key(full_name: str) -> str:
    """How names are matched: accents, case, apostrophes and extra spaces do not matter.

    `José O'Brien-Smith ` and `jose obrien smith` match; different names never do. The key fits
    the columns that hold it (`bounded_key`), however much the name grows on the way.
    """
    text = unicodedata.normalize("NFKD", full_name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"['’`.]", "", text)
    return bounded_key(" ".join(re.sub(r"[^\w]+", " ", text).split()))


def bounded_key(key: str) -> str:
    """`key` if it fits a name key column (`NAME_LENGTH` characters), else its start and a
    digest of all of it, which fits and still matches only the same key.

    A name within `NAME_LENGTH` can still make a longer key: NFKD expands compatibility
    characters (the ligature U+FDFA alone becomes 18 letters and spaces), and PostgreSQL refuses
    an over-long value (`varchar(120)`), so registering or failing a check with such a name broke.
    The `#` cannot occur in a key made of words, so a bounded key never equals a short one."""
    if len(key) <= NAME_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:KEY_DIGEST_LENGTH]
    return f"{key[: NAME_LENGTH - KEY_DIGEST_LENGTH - 2].rstrip()} #{digest}"


@dataclass(frozen=True)
class Standing:
    """What the booking caps are checked against, for one patient at one moment: whether they
    are a new patient (`Store.is_new_patient`) and their upcoming booked visits (all, and of the
    visit type being booked). `Store.book` reads it in the booking's own transaction."""

    is_new_patient: bool
    upcoming: int
    upcoming_of_type: int


@dataclass(frozen=True)
class Busy:
    """A booked interval of one provider (what availability subtracts)."""

    provider_id: str
    starts_at: datetime
    ends_at: datetime


class Store(IdentityFailures, Closures, NotificationQueue, StaffStore, ReminderBook):
    """The practice's book. One per process; cheap to share between calls."""

    def __init__(
        self,
        url: str,
        *,
        outbox: Outbox,
        engine: AsyncEngine | None = None,
        **kw: Any,
    ) -> None:
        self.url = url
        self.engine = engine or make_engine(url, **kw)
        self.dialect = self.engine.dialect.name
        self.outbox = outbox
        self._flush: asyncio.Task[None] | None = None
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(writer(self.engine), expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({safe_url(self.url)})"

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[AsyncSession]:
        maker = self._writes if write else self._read
        try:
            async with maker() as session, session.begin():
                yield session
        except IntegrityError as exc:
            if is_patient_overlap(exc):
                raise PatientBusy("the patient has another visit at that time") from exc
            if is_overlap(exc):
                raise SlotTaken("that time was just taken") from exc
            raise
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
            raise

    # --- patients ---------------------------------------------------------------------------

    async def find_patient(self, practice_id: str, full_name: str, dob: date) -> Patient | None:
        async with self._session(write=False) as s:
            return await s.scalar(
                select(Patient).where(
                    Patient.practice_id == practice_id,
                    Patient.name_key == name_key(full_name),
                    Patient.date_of_birth == dob,
                )
            )

    async def get_patient(self, patient_id: str) -> Patient | None:
        async with self._session(write=False) as s:
            return await s.get(Patient, patient_id)

    async def register_patient(
        self,
        practice_id: str,
        full_name: str,
        dob: date,
        phone: str,
        *,
        new_patient: bool = False,
    ) -> tuple[Patient, bool]:
        """Registers a patient; returns (patient, created). An existing identical patient is
        returned, not duplicated (the unique identity constraint decides under concurrency).
        `new_patient`: registered as a new patient of the practice (the phone agent's
        registrations); staff and demo data load existing patients."""
        patient = Patient(
            id=new_id(),
            practice_id=practice_id,
            full_name=" ".join(full_name.split()),
            name_key=name_key(full_name),
            date_of_birth=dob,
            phone=phone,
            new_patient=new_patient,
            created_at=utcnow(),
        )
        try:
            async with self._session(write=True) as s:
                s.add(patient)
            return patient, True
        except IntegrityError:
            existing = await self.find_patient(practice_id, full_name, dob)
            if existing is None:
                raise
            return existing, False

    async def is_new_patient(self, patient_id: str, *, now: datetime) -> bool:
        """A new patient: registered as new and not yet seen (no booked visit has started yet).

        Decided by the database, not by the call: a patient who registered on an earlier call is
        still new when they call back to book their first exam."""
        async with self._session(write=False) as s:
            flagged = await s.scalar(select(Patient.new_patient).where(Patient.id == patient_id))
            return bool(flagged) and not await _seen(s, patient_id, now)

    # --- appointments -----------------------------------------------------------------------

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        """Booked intervals of these providers that overlap [start, end)."""
        ids = list(provider_ids)
        if not ids:
            return []
        query = select(Appointment.provider_id, Appointment.starts_at, Appointment.ends_at).where(
            Appointment.provider_id.in_(ids),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at < end,
            # Appointments last at most MAX_APPOINTMENT (migration 0002), so this lower bound
            # loses nothing and turns the search into an index range scan, not a scan of history.
            Appointment.starts_at > start - MAX_APPOINTMENT,
            Appointment.ends_at > start,
        )
        # Core, not the ORM: this runs on every availability search and returns plain tuples.
        async with self._session(write=False) as s:
            rows = await (await s.connection()).execute(query)
            return [Busy(*row) for row in rows.all()]

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        """The patient's own booked visits (with any provider) that overlap [start, end): one
        patient is never in two chairs, so their availability leaves these out. `moving`: the
        visit being moved, whose time is free for its replacement."""
        query = select(Appointment.provider_id, Appointment.starts_at, Appointment.ends_at).where(
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at < end,
            Appointment.starts_at > start - MAX_APPOINTMENT,  # as in `busy`: an index range
            Appointment.ends_at > start,
        )
        if moving:
            query = query.where(Appointment.id != moving)
        async with self._session(write=False) as s:
            rows = await (await s.connection()).execute(query)
            return [Busy(*row) for row in rows.all()]

    async def book(
        self,
        *,
        practice_id: str,
        provider_id: str,
        patient_id: str,
        visit_type: str,
        starts_at: datetime,
        ends_at: datetime,
        call_id: str = "",
        appointment_id: str | None = None,
        booked_by: str | None = None,
        check: Callable[[Standing], None] | None = None,
        now: datetime | None = None,
    ) -> Appointment:
        """Books an appointment; raises `SlotTaken` if the database finds an overlap.
        `booked_by`: the staff member who booked it in the staff app (None: a call did).

        `check`: the caller's rules (the booking caps), given the patient's `Standing` as of `now`
        read in this same write transaction with the patient serialised: on PostgreSQL their
        row is locked (`FOR NO KEY UPDATE`: bookings for one patient queue, other writes that
        only reference the row do not), on SQLite the write lock is held from `BEGIN IMMEDIATE`.
        Whatever `check` raises refuses the booking, and nothing is written. Counted in another
        transaction, two bookings at once (two calls, two screens, one turn's parallel tool
        calls) would both pass and both be written."""
        appointment = Appointment(
            id=appointment_id or new_id(),
            practice_id=practice_id,
            provider_id=provider_id,
            patient_id=patient_id,
            visit_type=visit_type,
            starts_at=starts_at,
            ends_at=ends_at,
            status=AppointmentStatus.BOOKED,
            call_id=call_id,
            booked_by=booked_by,
            created_at=utcnow(),
        )
        async with self._session(write=True) as s:
            if check is not None:
                check(await _standing(s, patient_id, visit_type, now or utcnow()))
            s.add(appointment)
        return appointment

    async def count_upcoming(
        self, patient_id: str, *, after: datetime, visit_type: str
    ) -> tuple[int, int]:
        """How many booked visits the patient has from `after` on: (all, of `visit_type`)."""
        async with self._session(write=False) as s:
            return await _upcoming(s, patient_id, after, visit_type)

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        async with self._session(write=False) as s:
            return await s.get(Appointment, appointment_id)

    async def upcoming_for_patient(self, patient_id: str, *, after: datetime) -> list[Appointment]:
        """The patient's booked appointments starting at or after `after`, soonest first."""
        async with self._session(write=False) as s:
            result = await s.scalars(
                select(Appointment)
                .where(
                    Appointment.patient_id == patient_id,
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.starts_at >= after,
                )
                .order_by(Appointment.starts_at)
            )
            return list(result)

    async def cancel(self, appointment_id: str, *, patient_id: str) -> Appointment:
        """Cancels the patient's own booked appointment; `NotFound` for anyone else's. Its
        reminder, if not finished, ends `cancelled` in the same transaction: no call about it."""
        async with self._session(write=True) as s:
            appointment = await _own_booked(s, appointment_id, patient_id)
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = utcnow()
            await settle_visit_reminder(
                s, appointment_id, moved=False, now=appointment.cancelled_at
            )
        return appointment

    async def reschedule(
        self,
        appointment_id: str,
        *,
        patient_id: str,
        provider_id: str,
        starts_at: datetime,
        ends_at: datetime,
        call_id: str = "",
        booked_by: str | None = None,
    ) -> Appointment:
        """Moves the patient's appointment in one transaction: the old row becomes `rescheduled`
        and a new booked row is inserted. If the new time is taken nothing changes (`SlotTaken`).
        The old visit's reminder, if not finished, ends `moved` (no call about the old time); the
        new row gets its own when it comes into the reminder window."""
        async with self._session(write=True) as s:
            old = await _own_booked(s, appointment_id, patient_id)
            old.status = AppointmentStatus.RESCHEDULED
            old.cancelled_at = utcnow()
            await s.flush()
            await settle_visit_reminder(s, old.id, moved=True, now=old.cancelled_at)
            new = Appointment(
                id=new_id(),
                practice_id=old.practice_id,
                provider_id=provider_id,
                patient_id=patient_id,
                visit_type=old.visit_type,
                starts_at=starts_at,
                ends_at=ends_at,
                status=AppointmentStatus.BOOKED,
                call_id=call_id,
                replaces_id=old.id,
                booked_by=booked_by,
                created_at=utcnow(),
            )
            s.add(new)
        return new

    async def appointments_between(
        self,
        practice_id: str | None,
        start: datetime,
        end: datetime,
        *,
        include_inactive: bool = False,
    ) -> list[tuple[Appointment, Patient]]:
        """Appointments starting in [start, end) with their patients, for staff views."""
        conditions = [Appointment.starts_at >= start, Appointment.starts_at < end]
        if practice_id:
            conditions.append(Appointment.practice_id == practice_id)
        if not include_inactive:
            conditions.append(Appointment.status == AppointmentStatus.BOOKED)
        async with self._session(write=False) as s:
            rows = await s.execute(
                select(Appointment, Patient)
                .join(Patient, Patient.id == Appointment.patient_id)
                .where(and_(*conditions))
                .order_by(Appointment.starts_at, Appointment.provider_id)
            )
            return [(a, p) for a, p in rows.all()]

    # --- messages and calls (idempotent, outbox-backed) -------------------------------------

    async def insert_once(self, kind: str, values: dict[str, Any]) -> bool:
        """Inserts a message/call record unless one with its id exists; True if inserted.

        A message's `notify` list (`{"channel", "destination"}`) becomes its notifications in the
        same transaction, with ids derived from the message's: a message is never stored without
        them, and an outbox replay never adds them twice."""
        values = dict(values)
        notify = values.pop("notify", None) or []
        table = TABLES[kind]
        row = _coerce(table, values)
        async with self._session(write=True) as s:
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
            return inserted

    def _insert_ignoring_duplicates(
        self, table: Table, row: dict[str, Any]
    ) -> postgresql.Insert | sqlite.Insert:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
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

    async def flush_outbox(self) -> int:
        """Writes every outbox record to the database; returns how many files were cleared.

        Stops at the first unavailable error (the rest wait for the next flush). A record the
        database rejects for any other reason is moved to `failed/`, so one bad file never
        blocks the others."""
        cleared = 0
        for item in self.outbox.pending():
            try:
                await self.insert_once(item.kind, item.values)
            except StoreUnavailable:
                log.warning("outbox flush paused: database still unavailable")
                break
            except (SQLAlchemyError, ValueError, KeyError, TypeError) as exc:
                log.error(
                    "outbox record %s rejected (%s): moved to failed/",
                    item.path.name,
                    type(exc).__name__,
                )
                self.outbox.quarantine(item.path)
                continue
            item.path.unlink(missing_ok=True)
            cleared += 1
        return cleared

    def flush_outbox_soon(self) -> None:
        """Once per store, in the background: writes what earlier outages left in the outbox.

        Called when a call starts: its first tool call must not wait for (or, on a dead database,
        time out on) someone else's old records."""
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(
                self._flush_logged(), name="outbox-flush"
            )

    async def wait_for_outbox_flush(self) -> None:
        """Waits for the background flush, if one was started (tests, and shutdown)."""
        if self._flush is not None:
            await asyncio.gather(self._flush, return_exceptions=True)

    async def _flush_logged(self) -> None:
        try:
            flushed = await self.flush_outbox()
            if flushed:
                log.info("wrote %d records kept in the outbox", flushed)
        except Exception as exc:  # the call goes on; the outbox waits for the next flush
            log.warning("outbox flush failed at start-up (%s)", type(exc).__name__)

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
        async with self._session(write=False) as s:
            result = await s.scalars(query.order_by(Message.created_at.desc()).limit(limit))
            return list(result)

    async def mark_message_handled(self, message_id: str) -> bool:
        async with self._session(write=True) as s:
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
        async with self._session(write=False) as s:
            result = await s.scalars(query.order_by(CallRecord.started_at.desc()).limit(limit))
            return list(result)

    async def count(self, kind: str) -> int:
        table = {
            "message": Message,
            "call": CallRecord,
            "appointment": Appointment,
            "patient": Patient,
        }[kind]
        async with self._session(write=False) as s:
            return int(await s.scalar(select(func.count()).select_from(table)) or 0)


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


async def _own_booked(s: AsyncSession, appointment_id: str, patient_id: str) -> Appointment:
    """The patient's own booked appointment; `NotFound` for anyone else's or a cancelled one."""
    appointment = await s.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id,
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    )
    if appointment is None:
        raise NotFound("no such booked appointment for this patient")
    return appointment


async def _seen(s: AsyncSession, patient_id: str, now: datetime) -> bool:
    """Whether a booked visit of the patient has started by `now` (they are no longer new)."""
    seen = await s.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at <= now,
        )
        .limit(1)
    )
    return seen is not None


async def _upcoming(
    s: AsyncSession, patient_id: str, after: datetime, visit_type: str
) -> tuple[int, int]:
    of_type = func.sum(case((Appointment.visit_type == visit_type, 1), else_=0))
    query = select(func.count(), of_type).where(
        Appointment.patient_id == patient_id,
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at >= after,
    )
    total, typed = (await s.execute(query)).one()
    return int(total or 0), int(typed or 0)


async def _standing(s: AsyncSession, patient_id: str, visit_type: str, now: datetime) -> Standing:
    """The patient's `Standing`, inside a write transaction, after taking the patient's row lock
    (PostgreSQL; SQLite's write transaction already excludes every other writer)."""
    flagged = await s.scalar(
        select(Patient.new_patient).where(Patient.id == patient_id).with_for_update(key_share=True)
    )
    upcoming, of_type = await _upcoming(s, patient_id, now, visit_type)
    is_new = bool(flagged) and not await _seen(s, patient_id, now)
    return Standing(is_new_patient=is_new, upcoming=upcoming, upcoming_of_type=of_type)
