"""Patients and their appointments: the `patients` and `appointments` tables (`store.appointments`).

What the appointments service (receptionist/appointments/book.py's `Book` port) reads and writes:
patients, providers' and patients' busy times, bookings, moves and cancels, plus the staff's day
view. Kept together because a booking's rules read both tables in the booking's own transaction
(`Standing`), and a cancel or move settles the visit's reminder in the same transaction
(`settle_visit_reminder`). Overlaps are refused by the database itself (`SlotTaken`,
`PatientBusy`, translated in sessions.py).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import DateTime, String, and_, case, func, or_, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from receptionist.store.errors import NotFound
from receptionist.store.models import (
    NAME_LENGTH,
    Appointment,
    AppointmentStatus,
    Attendance,
    Patient,
    new_id,
    utcnow,
)
from receptionist.store.reminders import settle_visit_reminder
from receptionist.store.sessions import Repository

MAX_APPOINTMENT = timedelta(hours=8)  # enforced by the database (migration 0002)
KEY_DIGEST_LENGTH = 16  # hex digits of SHA-256 ending a name key too long for its column


def name_key(full_name: str) -> str:
    """How names are matched: accents, case, apostrophes and extra spaces do not matter.

    `José O'Brien-Smith ` and `jose obrien smith` match; different names never do. The key fits
    the columns that hold it (`bounded_key`), however much the name grows on the way.
    """
    text = unicodedata.normalize("NFKD", full_name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"['’`.]", "", text)
    return bounded_key(" ".join(re.sub(r"[^\w]+", " ", text).split()))


def names_match(said: str, on_file: str) -> bool:
    """Whether a name a caller gave is the name on file, allowing for how people with two
    surnames or a middle name give it: `María García` and `María José García López` match (one
    is the other with names left out, in order, the first name the same); `María López García`
    and `María García López` do not (the order differs), nor do names sharing one word only.
    Only ever used with the date of birth also matching."""
    short, long = sorted((name_key(said).split(), name_key(on_file).split()), key=len)
    if len(short) < 2 or short[0] != long[0]:
        return False
    rest = iter(long[1:])
    return all(word in rest for word in short[1:])  # an ordered subsequence


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
    are a new patient (`AppointmentBook.is_new_patient`) and their upcoming booked visits (all,
    and of the visit type being booked). `AppointmentBook.book` reads it in the booking's own
    transaction."""

    is_new_patient: bool
    upcoming: int
    upcoming_of_type: int


class Busy(NamedTuple):
    """A booked interval of one provider (what availability subtracts). A named tuple, not a
    dataclass: every search builds hundreds of them, and a tuple is built in half the time."""

    provider_id: str
    starts_at: datetime
    ends_at: datetime


class AppointmentBook(Repository):
    """`store.appointments`: the practice's patients and appointments (the `Book` port)."""

    # --- patients ---------------------------------------------------------------------------

    async def find_patient(self, practice_id: str, full_name: str, dob: date) -> Patient | None:
        """The patient with this name and date of birth: the exact name first, else the one
        patient born that day whose name `names_match` (two surnames, a middle name left out);
        two such patients match neither (a guess must not pick one)."""
        async with self._sessions.session(write=False) as s:
            exact = await s.scalar(
                select(Patient).where(
                    Patient.practice_id == practice_id,
                    Patient.name_key == name_key(full_name),
                    Patient.date_of_birth == dob,
                )
            )
            if exact is not None:
                return exact
            born = await s.scalars(
                select(Patient).where(
                    Patient.practice_id == practice_id, Patient.date_of_birth == dob
                )
            )
            close = [p for p in born if names_match(full_name, p.full_name)]
            return close[0] if len(close) == 1 else None

    async def get_patient(self, patient_id: str) -> Patient | None:
        async with self._sessions.session(write=False) as s:
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
            async with self._sessions.session(write=True) as s:
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
        async with self._sessions.session(write=False) as s:
            flagged = await s.scalar(select(Patient.new_patient).where(Patient.id == patient_id))
            return bool(flagged) and not await _seen(s, patient_id, now)

    # --- appointments -----------------------------------------------------------------------

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        """Booked intervals of these providers that overlap [start, end)."""
        ids = list(provider_ids)
        if not ids:
            return []
        return await self._busy_where(
            Appointment.provider_id.in_(ids),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at < end,
            # Appointments last at most MAX_APPOINTMENT (migration 0002), so this lower bound
            # loses nothing and turns the search into an index range scan, not a scan of history.
            Appointment.starts_at > start - MAX_APPOINTMENT,
            Appointment.ends_at > start,
        )

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        """The patient's own booked visits (with any provider) that overlap [start, end): one
        patient is never in two chairs, so their availability leaves these out. `moving`: the
        visit being moved, whose time is free for its replacement."""
        return await self._busy_where(
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at < end,
            Appointment.starts_at > start - MAX_APPOINTMENT,  # as in `busy`: an index range
            Appointment.ends_at > start,
            *([Appointment.id != moving] if moving else []),
        )

    async def _busy_where(self, *criteria: ColumnElement[bool]) -> list[Busy]:
        """The (provider, start, end) of the appointments matching `criteria`, as `Busy`.

        On every availability search, for hundreds of rows (a full book: ~150 a working day for
        ten providers), so it skips what a row costs elsewhere: Core, not the ORM, and not
        `UTCDateTime`'s conversion of every value. The times are read as the driver gives them:
        asyncpg's are aware UTC datetimes already (`timestamptz`, nothing to do); SQLite's are
        the stored naive-UTC text, each distinct value turned into an aware UTC datetime once
        (`_utc_instants`): a book's visits start and end on a few dozen half-hours a day, shared
        by every provider. Parsing and converting every value was a quarter of a search's time.
        """
        async with self._sessions.session(write=False) as s:
            conn = await s.connection()
            if self._sessions.dialect != "sqlite":
                aware = DateTime(timezone=True)
                rows = await conn.execute(
                    select(
                        Appointment.provider_id,
                        type_coerce(Appointment.starts_at, aware),
                        type_coerce(Appointment.ends_at, aware),
                    ).where(*criteria)
                )
                return [Busy(*row) for row in rows.all()]
            text = await conn.execute(
                select(
                    Appointment.provider_id,
                    type_coerce(Appointment.starts_at, String()),
                    type_coerce(Appointment.ends_at, String()),
                ).where(*criteria)
            )
            stored = text.all()
        instant = _utc_instants()
        return [Busy(provider, instant(starts), instant(ends)) for provider, starts, ends in stored]

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
        async with self._sessions.session(write=True) as s:
            if check is not None:
                check(await _standing(s, patient_id, visit_type, now or utcnow()))
            s.add(appointment)
        return appointment

    async def count_upcoming(
        self, patient_id: str, *, after: datetime, visit_type: str
    ) -> tuple[int, int]:
        """How many booked visits the patient has from `after` on: (all, of `visit_type`)."""
        async with self._sessions.session(write=False) as s:
            return await _upcoming(s, patient_id, after, visit_type)

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(Appointment, appointment_id)

    async def upcoming_for_patient(self, patient_id: str, *, after: datetime) -> list[Appointment]:
        """The patient's booked appointments starting at or after `after`, soonest first."""
        async with self._sessions.session(write=False) as s:
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
        async with self._sessions.session(write=True) as s:
            appointment = await _own_booked(s, appointment_id, patient_id)
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = utcnow()
            await settle_visit_reminder(
                s, appointment_id, moved=False, now=appointment.cancelled_at
            )
        return appointment

    async def confirm(self, appointment_id: str, *, patient_id: str, at: datetime) -> Appointment:
        """The patient confirmed their own booked visit (`NotFound` for anyone else's)."""
        async with self._sessions.session(write=True) as s:
            appointment = await _own_booked(s, appointment_id, patient_id)
            appointment.confirmed_at = at
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
        async with self._sessions.session(write=True) as s:
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
        async with self._sessions.session(write=False) as s:
            rows = await s.execute(
                select(Appointment, Patient)
                .join(Patient, Patient.id == Appointment.patient_id)
                .where(and_(*conditions))
                .order_by(Appointment.starts_at, Appointment.provider_id)
            )
            return [(a, p) for a, p in rows.all()]


def _utc_instants() -> Callable[[str], datetime]:
    """A converter from SQLite's stored time (`UTCDateTime`'s naive-UTC text) to the aware UTC
    datetime `UTCDateTime` returns, remembering each value it has converted."""
    seen: dict[str, datetime] = {}

    def instant(value: str) -> datetime:
        found = seen.get(value)
        if found is None:
            found = seen[value] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return found

    return instant


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
    """Whether a booked visit of the patient has started by `now` (they are no longer new). A
    visit the desk marked as a no-show did not take place: it does not count."""
    seen = await s.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at <= now,
            or_(
                Appointment.attendance.is_(None),
                Appointment.attendance != Attendance.NO_SHOW.value,
            ),
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
