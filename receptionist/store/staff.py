"""The staff app's side of the book: accounts, signed-in sessions, the audit log, and the queries
behind its pages (callback queue, call log, the week's figures, staff bookings).

`store.staff`, a repository of `Store` like `closures.py` and `lockouts.py`: the queries live
beside the tables they read. Nothing here knows about HTTP or the practice profile; the web
package (`receptionist.web`) decides what is shown and who may do what.

Every list is bounded (`limit`), and the range queries over the big tables run on indexes: calls
by `(practice_id, started_at)`, appointments by `(practice_id, starts_at)` (the day) and
`(practice_id, created_at)` (the week's bookings), messages by `(practice_id, handled_at,
created_at)` (open or handled), the audit log by `at`, a call record by its LiveKit call id, and
a call's appointments and messages by that id, so the pages stay fast with a year of appointments
and tens of thousands of calls (`bench/web.py` measures them; migration 0007 added the indexes it
asked for, 0009 the call id's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from receptionist.store.appointments import name_key
from receptionist.store.engine import rows_changed
from receptionist.store.models import (
    ADMIN,
    CANCEL_REASON_LENGTH,
    SECURITY,
    Appointment,
    AppointmentStatus,
    Attendance,
    AuditEntry,
    CallRecord,
    Message,
    Patient,
    Reminder,
    StaffSession,
    StaffUser,
    UTCDateTime,
    new_id,
)
from receptionist.store.sessions import Repository

# The most a patient page lists of each kind (visits, calls, messages, reminders).
PATIENT_HISTORY = 100
# Column bounds of the audit log (models.AuditEntry): longer text is cut, never refused.
_ACTION, _SUBJECT, _DETAIL = 40, 80, 200


class StaffUserExists(Exception):
    """Another account already has this username (the unique constraint decided)."""


class LastAdmin(Exception):
    """The change would leave the practice without an active admin; nothing was changed."""


@dataclass(frozen=True)
class SignInAttempt:
    """What `begin_sign_in` decided: the account (None if no such username), why the password
    may not be checked against it (`refused`), and whether this attempt locked the account
    (`locks`: it was the last allowed, so if its password is wrong the account stays locked)."""

    user: StaffUser | None
    refused: str | None = None
    locks: bool = False

    @property
    def admitted(self) -> bool:
        return self.user is not None and self.refused is None


@dataclass(frozen=True)
class AuditRow:
    """An audit entry as the admin page shows it: with the names behind the ids."""

    entry: AuditEntry
    username: str | None
    patient_name: str | None


@dataclass(frozen=True)
class PatientHistory:
    """What a patient page lists: every visit (newest first), the calls from their number or
    that booked or moved their visits, the messages taken for them, their reminder calls."""

    appointments: list[Appointment]
    calls: list[CallRecord]
    messages: list[Message]
    reminders: list[tuple[Reminder, Appointment]]


@dataclass(frozen=True)
class VisitFigures:
    """The week's visits by what became of them (visits due in the range, not bookings made)."""

    booked: int = 0  # still booked (arrived and no-shows among them)
    arrived: int = 0
    no_shows: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class WeekCall:
    """The few columns of a call the week's figures need (never the transcript or timeline)."""

    practice_id: str
    started_at: datetime
    outcome: str
    outcomes: list[str]
    usage: dict | None  # the figures the session reported, reply times among them


def _priority() -> ColumnElement[int]:
    """Urgent and security messages first, then "soon", then routine (the callback order)."""
    return case(
        (Message.kind == SECURITY, 0),
        (Message.urgency == "urgent", 0),
        (Message.urgency == "soon", 1),
        else_=2,
    )


class StaffStore(Repository):
    """`store.staff`: the staff app's tables (accounts, sessions, audit log) and its views."""

    # --- accounts ---------------------------------------------------------------------------

    async def add_staff_user(
        self,
        *,
        username: str,
        full_name: str,
        role: str,
        password_hash: str,
        at: datetime,
    ) -> StaffUser:
        """Creates an account; `StaffUserExists` if the username is taken."""
        user = StaffUser(
            id=new_id(),
            username=username,
            full_name=full_name,
            role=role,
            password_hash=password_hash,
            active=True,
            failed_logins=0,
            created_at=at,
        )
        try:
            async with self._sessions.session(write=True) as s:
                s.add(user)
        except IntegrityError:
            raise StaffUserExists(username) from None
        return user

    async def staff_user(self, user_id: str) -> StaffUser | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(StaffUser, user_id)

    async def staff_user_named(self, username: str) -> StaffUser | None:
        async with self._sessions.session(write=False) as s:
            return await s.scalar(select(StaffUser).where(StaffUser.username == username))

    async def staff_users(self) -> list[StaffUser]:
        """Every account, active first, then by username (a practice has a handful)."""
        async with self._sessions.session(write=False) as s:
            result = await s.scalars(
                select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)
            )
            return list(result)

    async def update_staff_user(self, user_id: str, **values: Any) -> bool:
        """Changes an account's role, name, active flag or password hash; True if it exists.
        A new password also lifts any lock-out (an admin reset it on purpose).

        `LastAdmin` if the change would demote or deactivate the last active admin. That rule
        is decided in this write transaction, with the active admins' rows locked (PostgreSQL;
        SQLite's `BEGIN IMMEDIATE` holds the write lock already): two admins demoting each
        other at once, from any number of app processes, leave one of them an admin."""
        if "password_hash" in values:
            values = {**values, "failed_logins": 0, "locked_until": None}
        takes_admin = values.get("role", ADMIN) != ADMIN or values.get("active", True) is False
        async with self._sessions.session(write=True) as s:
            if takes_admin:
                admins = await s.scalars(
                    select(StaffUser.id)
                    .where(StaffUser.role == ADMIN, StaffUser.active)
                    .order_by(StaffUser.id)  # one lock order: concurrent changes cannot deadlock
                    .with_for_update()
                )
                if list(admins) == [user_id]:
                    raise LastAdmin(user_id)
            result = await s.execute(
                update(StaffUser).where(StaffUser.id == user_id).values(**values)
            )
            return bool(rows_changed(result))

    async def begin_sign_in(
        self,
        username: str,
        *,
        now: datetime,
        max_failures: int,
        lock_until: datetime,
    ) -> SignInAttempt:
        """Admits one password check against `username`'s account, or refuses it, BEFORE the
        (slow) check runs: one conditional UPDATE, atomic on both databases and across
        processes.

        An admitted attempt counts as a failure from the start (`failed_logins + 1`); the one
        that reaches `max_failures` also locks the account until `lock_until`, so any attempt
        begun after it is refused however many are still being checked. A correct password
        then clears both (`login_succeeded`); a wrong one needs no second write, and a check
        that never finishes (a crashed process) counts as the failure it may have been. A lock
        that has expired starts the count again. Returns the account (None if unknown) and why
        the attempt was refused, if it was."""
        expired = StaffUser.locked_until.is_not(None)  # the WHERE admits only expired locks
        count = case((expired, 1), else_=StaffUser.failed_logins + 1)
        locks = case((count >= max_failures, literal(lock_until, UTCDateTime())), else_=None)
        admit = (
            update(StaffUser)
            .where(
                StaffUser.username == username,
                StaffUser.active,
                or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now),
            )
            .values(failed_logins=count, locked_until=locks)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.session(write=True) as s:
            admitted = bool(rows_changed(await s.execute(admit)))
            # Read in the same transaction: the row is ours (locked) until it commits.
            user = await s.scalar(
                select(StaffUser)
                .where(StaffUser.username == username)
                .execution_options(populate_existing=True)
            )
        if user is None:
            return SignInAttempt(None, refused="unknown username")
        if not admitted:
            why = "deactivated account" if not user.active else "account locked"
            return SignInAttempt(user, refused=why)
        return SignInAttempt(user, locks=user.failed_logins >= max_failures)

    async def login_succeeded(self, user_id: str, *, password_hash: str | None = None) -> None:
        """Clears the failure count and any lock (and stores a re-hashed password when
        parameters changed): the right password, checked in an attempt `begin_sign_in`
        admitted, ends the run of failures."""
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if password_hash:
            values["password_hash"] = password_hash
        async with self._sessions.session(write=True) as s:
            await s.execute(update(StaffUser).where(StaffUser.id == user_id).values(**values))

    # --- sessions ---------------------------------------------------------------------------

    async def open_staff_session(
        self,
        *,
        session_id: str,
        user_id: str,
        csrf_token: str,
        now: datetime,
        replaces: str | None = None,
    ) -> StaffSession:
        """Stores a new signed-in session (the token's hash, never the token); the session it
        `replaces` (the browser's earlier one) is deleted in the same transaction: rotation."""
        row = StaffSession(
            id=session_id,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
        )
        async with self._sessions.session(write=True) as s:
            if replaces:
                await s.execute(delete(StaffSession).where(StaffSession.id == replaces))
            s.add(row)
        return row

    async def staff_session(self, session_id: str) -> tuple[StaffSession, StaffUser] | None:
        async with self._sessions.session(write=False) as s:
            row = (
                await s.execute(
                    select(StaffSession, StaffUser)
                    .join(StaffUser, StaffUser.id == StaffSession.user_id)
                    .where(StaffSession.id == session_id)
                )
            ).first()
            return (row[0], row[1]) if row else None

    async def touch_staff_session(self, session_id: str, *, now: datetime) -> None:
        async with self._sessions.session(write=True) as s:
            await s.execute(
                update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
            )

    async def close_staff_session(self, session_id: str) -> None:
        async with self._sessions.session(write=True) as s:
            await s.execute(delete(StaffSession).where(StaffSession.id == session_id))

    async def close_user_sessions(self, user_id: str) -> int:
        """Signs an account out everywhere (deactivated, password reset, role changed)."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
            return rows_changed(result)

    async def close_idle_sessions(self, *, seen_before: datetime) -> int:
        """Deletes sessions idle since before `seen_before` (housekeeping at sign-in)."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                delete(StaffSession).where(StaffSession.last_seen_at < seen_before)
            )
            return rows_changed(result)

    # --- audit log --------------------------------------------------------------------------

    async def audit(
        self,
        *,
        at: datetime,
        user_id: str | None,
        action: str,
        subject: str = "",
        detail: str = "",
        patient_ids: Iterable[str | None] = (),
    ) -> int:
        """Records who did what: one row per distinct patient concerned (so "who saw this
        patient?" is one indexed query), or one row without a patient. Returns rows written."""
        patients: list[str | None] = list(dict.fromkeys(p for p in patient_ids if p)) or [None]
        common = {
            "at": at,
            "user_id": user_id,
            "action": action[:_ACTION],
            "subject": subject[:_SUBJECT],
            "detail": detail[:_DETAIL],
        }
        rows = [{"id": new_id(), "patient_id": p, **common} for p in patients]
        # Core, not the ORM: a busy day's view writes a row per patient on it (a hundred or more)
        # on every page load, and ORM objects for them cost more than the insert itself.
        async with self._sessions.session(write=True) as s:
            await s.execute(insert(AuditEntry.__table__), rows)
        return len(rows)

    async def audit_entries(
        self,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[AuditRow]:
        """The newest entries first, with usernames and patient names. `before` is the last
        row's (at, id) on the previous page: rows written by one view share their time."""
        query = (
            select(AuditEntry, StaffUser.username, Patient.full_name)
            .outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
            .outerjoin(Patient, Patient.id == AuditEntry.patient_id)
        )
        if user_id:
            query = query.where(AuditEntry.user_id == user_id)
        if patient_id:
            query = query.where(AuditEntry.patient_id == patient_id)
        if before is not None:
            at, last_id = before
            query = query.where(
                or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id > last_id))
            )
        query = query.order_by(AuditEntry.at.desc(), AuditEntry.id).limit(limit)
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [AuditRow(entry, username, name) for entry, username, name in rows]

    # --- messages ---------------------------------------------------------------------------

    async def staff_messages(
        self, practice_ids: Sequence[str], *, handled: bool, limit: int = 200
    ) -> list[Message]:
        """The callback queue. Open: urgent and security first, then soon, then routine, the
        longest-waiting first within each. Handled: the most recently handled first."""
        query = select(Message).where(Message.practice_id.in_(list(practice_ids)))
        if handled:
            query = query.where(Message.handled_at.is_not(None)).order_by(Message.handled_at.desc())
        else:
            query = query.where(Message.handled_at.is_(None)).order_by(
                _priority(), Message.created_at
            )
        async with self._sessions.session(write=False) as s:
            return list(await s.scalars(query.limit(limit)))

    async def open_message_count(self, practice_ids: Sequence[str]) -> tuple[int, datetime | None]:
        """How many messages are open, and when the newest arrived (the page's live check)."""
        query = select(func.count(), func.max(Message.created_at)).where(
            Message.practice_id.in_(list(practice_ids)), Message.handled_at.is_(None)
        )
        async with self._sessions.session(write=False) as s:
            count, newest = (await s.execute(query)).one()
        return int(count or 0), newest

    async def get_message(self, message_id: str) -> Message | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(Message, message_id)

    async def handle_message(
        self, message_id: str, *, user_id: str, note: str, at: datetime
    ) -> bool:
        """Marks an open message handled by `user_id` with a note; False if it was already
        handled (by someone else a moment ago) or does not exist: the first one wins."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Message)
                .where(Message.id == message_id, Message.handled_at.is_(None))
                .values(handled_at=at, handled_by=user_id, handled_note=note)
            )
            return bool(rows_changed(result))

    # --- calls ------------------------------------------------------------------------------

    async def staff_calls(
        self,
        practice_ids: Sequence[str],
        *,
        before: datetime | None = None,
        since: datetime | None = None,
        outcome: str | None = None,
        limit: int = 50,
    ) -> list[CallRecord]:
        """A page of the call log, newest first (`before` pages back, `since` stops at a first
        day: the page's date filter); transcripts not loaded.

        One query per location, each the newest `limit` of one `(practice_id, started_at)` index
        range, merged here: `practice_id IN (a, b)` would read every call of every location and
        sort them all to show one page."""

        def newest(practice_id: str) -> Select[CallRecord]:
            query = (
                select(CallRecord)
                .options(defer(CallRecord.transcript))
                .where(CallRecord.practice_id == practice_id)
            )
            if before is not None:
                query = query.where(CallRecord.started_at < before)
            if since is not None:
                query = query.where(CallRecord.started_at >= since)
            if outcome:
                query = query.where(CallRecord.outcome == outcome)
            return query.order_by(CallRecord.started_at.desc()).limit(limit)

        rows: list[CallRecord] = []
        async with self._sessions.session(write=False) as s:
            for practice_id in dict.fromkeys(practice_ids):
                rows.extend(await s.scalars(newest(practice_id)))
        rows.sort(key=lambda call: call.started_at, reverse=True)
        return rows[:limit]

    async def get_call(self, call_record_id: str) -> CallRecord | None:
        async with self._sessions.session(write=False) as s:
            return await s.get(CallRecord, call_record_id)

    async def call_record_id_for(self, livekit_call_id: str) -> str | None:
        """The call record of a LiveKit call id (what appointments and messages carry)."""
        if not livekit_call_id:
            return None
        async with self._sessions.session(write=False) as s:
            return await s.scalar(
                select(CallRecord.id)
                .where(CallRecord.livekit_call_id == livekit_call_id)
                .order_by(CallRecord.started_at.desc())
                .limit(1)
            )

    async def call_patient_ids(self, call: CallRecord) -> list[str]:
        """The patients a call's page shows data of, for the audit ("who saw this patient?"):
        every patient the caller proved to be (`patient_ids`, written with the record: the
        transcript holds their name and date of birth, whether or not the call booked, moved or
        cancelled anything), and those the book links to the call's LiveKit id: the visits it
        booked or moved (the new row carries the id) and the messages it took after verifying
        the caller. Records from before migration 0009 have only the book's links.

        Read on the `call_id` indexes of appointments and messages. Staff bookings carry an
        empty call id, so an empty id links nobody."""
        found = {p for p in call.patient_ids or [] if isinstance(p, str) and p}
        if call.livekit_call_id:
            booked = select(Appointment.patient_id).where(
                Appointment.call_id == call.livekit_call_id
            )
            messaged = select(Message.patient_id).where(
                Message.call_id == call.livekit_call_id, Message.patient_id.is_not(None)
            )
            async with self._sessions.session(write=False) as s:
                found.update(str(p) for p in await s.scalars(booked.union(messaged)))
        return sorted(found)

    # --- patients ---------------------------------------------------------------------------

    async def search_patients(
        self,
        practice_id: str,
        *,
        name: str = "",
        phone: str = "",
        born: date | None = None,
        limit: int = 50,
    ) -> list[Patient]:
        """The location's patients matching every criterion given, by name: each word of
        `name` (matched as `name_key` matches: accents, case and punctuation do not matter)
        anywhere in the name; `phone`: exactly this E.164 number; `born`: this birth date.
        Nothing given matches nobody (a search never lists the whole practice)."""
        conditions: list[ColumnElement[bool]] = [Patient.practice_id == practice_id]
        words = name_key(name).split() if name else []
        for word in words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(Patient.name_key.like(f"%{escaped}%", escape="\\"))
        if phone:
            conditions.append(Patient.phone == phone)
        if born is not None:
            conditions.append(Patient.date_of_birth == born)
        if len(conditions) == 1:
            return []
        query = select(Patient).where(*conditions).order_by(Patient.name_key, Patient.id)
        async with self._sessions.session(write=False) as s:
            return list(await s.scalars(query.limit(limit)))

    async def patients_by_ids(self, patient_ids: Iterable[str]) -> dict[str, Patient]:
        ids = list(dict.fromkeys(p for p in patient_ids if p))
        if not ids:
            return {}
        async with self._sessions.session(write=False) as s:
            return {p.id: p for p in await s.scalars(select(Patient).where(Patient.id.in_(ids)))}

    async def patients_by_phone(
        self, practice_ids: Sequence[str], phones: Iterable[str]
    ) -> dict[tuple[str, str], list[Patient]]:
        """The patients holding each number, per location: (practice id, E.164) -> patients
        (a household may share one number)."""
        numbers = list(dict.fromkeys(n for n in phones if n and n.startswith("+")))
        if not numbers or not practice_ids:
            return {}
        query = (
            select(Patient)
            .where(Patient.practice_id.in_(list(practice_ids)), Patient.phone.in_(numbers))
            .order_by(Patient.name_key)
        )
        found: dict[tuple[str, str], list[Patient]] = {}
        async with self._sessions.session(write=False) as s:
            for patient in await s.scalars(query):
                found.setdefault((patient.practice_id, patient.phone), []).append(patient)
        return found

    async def booked_visits_of(
        self, patient_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[Appointment]]:
        """The booked visits of these patients starting in [start, end), soonest first (what
        the Messages page says of a caller's visit today)."""
        ids = list(dict.fromkeys(p for p in patient_ids if p))
        if not ids:
            return {}
        query = (
            select(Appointment)
            .where(
                Appointment.patient_id.in_(ids),
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at)
        )
        found: dict[str, list[Appointment]] = {}
        async with self._sessions.session(write=False) as s:
            for visit in await s.scalars(query):
                found.setdefault(visit.patient_id, []).append(visit)
        return found

    async def patient_history(self, patient: Patient) -> PatientHistory:
        """Everything a patient page lists, each kind bounded by `PATIENT_HISTORY`. Calls are
        those from the patient's number at their location and those whose LiveKit call id a
        visit or message of theirs carries (a caller who rang from another phone); messages
        those taken for them and those left from their number by a caller not verified."""
        limit = PATIENT_HISTORY
        async with self._sessions.session(write=False) as s:
            visits = list(
                await s.scalars(
                    select(Appointment)
                    .where(Appointment.patient_id == patient.id)
                    .order_by(Appointment.starts_at.desc())
                    .limit(limit)
                )
            )
            theirs = Message.patient_id == patient.id
            if patient.phone.startswith("+"):  # an unverified caller's message from their number
                theirs = or_(
                    theirs,
                    and_(
                        Message.practice_id == patient.practice_id,
                        Message.patient_id.is_(None),
                        Message.callback_number == patient.phone,
                    ),
                )
            messages = list(
                await s.scalars(
                    select(Message).where(theirs).order_by(Message.created_at.desc()).limit(limit)
                )
            )
            call_ids = {a.call_id for a in visits if a.call_id} | {
                m.call_id for m in messages if m.call_id
            }
            linked: list[ColumnElement[bool]] = []
            if call_ids:
                linked.append(CallRecord.livekit_call_id.in_(sorted(call_ids)))
            if patient.phone.startswith("+"):
                linked.append(
                    and_(
                        CallRecord.practice_id == patient.practice_id,
                        CallRecord.caller == patient.phone,
                    )
                )
            calls: list[CallRecord] = []
            if linked:
                calls = list(
                    await s.scalars(
                        select(CallRecord)
                        .options(defer(CallRecord.transcript))
                        .where(or_(*linked))
                        .order_by(CallRecord.started_at.desc())
                        .limit(limit)
                    )
                )
            reminders = (
                await s.execute(
                    select(Reminder, Appointment)
                    .join(Appointment, Appointment.id == Reminder.appointment_id)
                    .where(Reminder.patient_id == patient.id)
                    .order_by(Appointment.starts_at.desc())
                    .limit(limit)
                )
            ).all()
        return PatientHistory(visits, calls, messages, [(r, a) for r, a in reminders])

    # --- the desk's side of a visit (migration 0013) -----------------------------------------

    async def note_cancellation(self, appointment_id: str, *, reason: str, by: str) -> bool:
        """Keeps why a staff member cancelled a visit, and who; False if it is not cancelled."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment_id,
                    Appointment.status == AppointmentStatus.CANCELLED,
                )
                .values(cancel_reason=reason[:CANCEL_REASON_LENGTH], cancelled_by=by)
            )
            return bool(rows_changed(result))

    async def mark_undone(self, cancelled_id: str, new_id: str) -> bool:
        """Links a cancelled visit to the booking that undid it (the same time booked again): the
        new visit `replaces` it, so the week counts it as no new booking. False if another undo
        was linked first (the book had refused the second booking of the time anyway)."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Appointment)
                .where(
                    Appointment.id == cancelled_id,
                    Appointment.status == AppointmentStatus.CANCELLED,
                    Appointment.undone_as.is_(None),
                )
                .values(undone_as=new_id)
            )
            if not rows_changed(result):
                return False
            await s.execute(
                update(Appointment).where(Appointment.id == new_id).values(replaces_id=cancelled_id)
            )
            return True

    async def set_attendance(
        self, appointment_id: str, attendance: Attendance | None, *, by: str, at: datetime
    ) -> Appointment | None:
        """Marks a booked visit arrived or no-show (None clears it); None if it is not booked
        (cancelled or moved meanwhile). The visit stays booked: it still holds its time."""
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment_id,
                    Appointment.status == AppointmentStatus.BOOKED,
                )
                .values(
                    attendance=attendance.value if attendance else None,
                    attendance_at=at if attendance else None,
                    attendance_by=by if attendance else None,
                )
            )
            if not rows_changed(result):
                return None
            return await s.get(Appointment, appointment_id)

    async def visit_figures(
        self, practice_ids: Sequence[str], start: datetime, end: datetime
    ) -> VisitFigures:
        """The visits due in [start, end) by what became of them, on the `(practice_id,
        starts_at)` index. A move is neither: its new row is the visit."""
        booked = Appointment.status == AppointmentStatus.BOOKED

        def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return func.sum(case((condition, 1), else_=0))

        query = select(
            count(booked),
            count(and_(booked, Appointment.attendance == Attendance.ARRIVED.value)),
            count(and_(booked, Appointment.attendance == Attendance.NO_SHOW.value)),
            count(Appointment.status == AppointmentStatus.CANCELLED),
        ).where(
            Appointment.practice_id.in_(list(practice_ids)),
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        async with self._sessions.session(write=False) as s:
            row = (await s.execute(query)).one()
        return VisitFigures(*(int(n or 0) for n in row))

    # --- the week's figures -----------------------------------------------------------------

    async def calls_between(
        self, practice_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[WeekCall]:
        """The calls started in [start, end): five small columns each, on the `started_at`
        index (a week of calls is hundreds of rows, not the whole log)."""
        query = select(
            CallRecord.practice_id,
            CallRecord.started_at,
            CallRecord.outcome,
            CallRecord.outcomes,
            CallRecord.usage,
        ).where(
            CallRecord.started_at >= start,
            CallRecord.started_at < end,
            CallRecord.practice_id.in_(list(practice_ids)),
        )
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [
            WeekCall(p, at, o, list(os or []), usage if isinstance(usage, dict) else None)
            for p, at, o, os, usage in rows
        ]

    async def bookings_made_between(
        self, practice_ids: Sequence[str], start: datetime, end: datetime
    ) -> tuple[int, int]:
        """Appointments booked (not moved) in [start, end): (by the assistant, by staff).

        Read on the `(practice_id, created_at)` index: this week's bookings only. A booking is
        always for a later time than it was made (the lead-time rules refuse the past), so
        `starts_at >= start` is implied; it is kept for a database without that index, where it
        bounds the `(practice_id, starts_at)` scan to appointments from this week on."""
        by_staff = func.sum(case((Appointment.booked_by.is_not(None), 1), else_=0))
        query = select(func.count(), by_staff).where(
            Appointment.practice_id.in_(list(practice_ids)),
            Appointment.starts_at >= start,
            Appointment.created_at >= start,
            Appointment.created_at < end,
            Appointment.replaces_id.is_(None),
        )
        async with self._sessions.session(write=False) as s:
            total, staff = (await s.execute(query)).one()
        staff = int(staff or 0)
        return int(total or 0) - staff, staff

    async def messages_between(
        self, practice_ids: Sequence[str], start: datetime, end: datetime
    ) -> tuple[int, int]:
        """Messages taken in [start, end): (all, urgent or security)."""
        urgent = func.sum(
            case((and_(Message.kind != SECURITY, Message.urgency != "urgent"), 0), else_=1)
        )
        query = select(func.count(), urgent).where(
            Message.practice_id.in_(list(practice_ids)),
            Message.created_at >= start,
            Message.created_at < end,
        )
        async with self._sessions.session(write=False) as s:
            total, pressing = (await s.execute(query)).one()
        return int(total or 0), int(pressing or 0)
