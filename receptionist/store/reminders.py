"""Reminder calls in the book: candidates, claims, attempts, choices and opt-outs.

`store.reminders`. The runner (`receptionist reminders run`) reads the candidates, lets the domain
(receptionist/reminders/rules.py) decide who is due, and claims those here. A claim sets
`calling`, a lease and `attempts + 1` in one write transaction and inserts the attempt's row, so two
runners (two processes, two hosts) never call the same patient twice:

- PostgreSQL: the claim transaction first takes a transaction-scoped advisory lock for the
  practice (so the count of calls in flight, and with it the cap, is exact), and locks the rows
  it changes with `FOR UPDATE SKIP LOCKED`;
- SQLite: write transactions take the database's write lock up front (`BEGIN IMMEDIATE`), so
  claims are serialised.

Each claim is also a compare-and-set on the `attempts` the runner read: a runner that read the row
before another runner claimed it changes nothing. `attempts` is the claim's fencing token, as in
receptionist/store/notifications.py: the call's job passes it back when it records what happened,
and a job whose lease ran out (and whose reminder was claimed again since) cannot overwrite it.

A visit cancelled or moved, or a patient opted out, after the runner read the candidates must not
be called about: `store.appointments.cancel`, `.reschedule` and `opt_out` settle the visit's (or the
patient's) unfinished reminders in their own transaction (`settle_reminders`), so no runner
claims them later, and the call's job reads `dial_check` just before it dials
(receptionist/call/outbound.py), so a job that claimed the reminder before the change (or a claim
that raced it) places no call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from receptionist.store.engine import rows_changed
from receptionist.store.models import (
    Appointment,
    AppointmentStatus,
    Patient,
    Reminder,
    ReminderAttempt,
    ReminderOptOut,
    ReminderStatus,
    UTCDateTime,
    new_id,
    utcnow,
)
from receptionist.store.sessions import Repository

REASON_LENGTH = 120  # reminders.reason
# Statuses a claim may start from: waiting, skipped earlier (the number may be fixed since), or a
# call whose job died (lease run out).
CLAIMABLE = (ReminderStatus.PENDING, ReminderStatus.SKIPPED)
# Not finished yet: what a cancel, move or opt-out settles (a claimed one included: its job then no
# longer holds it, and checks that just before dialling).
UNFINISHED = (*CLAIMABLE, ReminderStatus.CALLING)
# Why a reminder ended without its call (the reason staff read next to its status). A choice made
# on the reminder call itself replaces the reason.
VISIT_CANCELLED = "the visit was cancelled, so no reminder call is needed"
VISIT_MOVED = "the visit was moved: its new time gets its own reminder"
OPTED_OUT = "the patient asked not to be called"


@dataclass(frozen=True)
class ReminderCandidate:
    """A booked visit in the reminder window, with its patient, its reminder so far (None before
    the first run that saw it) and whether the patient opted out of reminder calls."""

    appointment: Appointment
    patient: Patient
    reminder: Reminder | None
    opted_out: bool


@dataclass(frozen=True)
class Wanted:
    """A reminder the runner wants to call, as it read it (`seen_attempts`: the claim's CAS)."""

    appointment_id: str
    patient_id: str
    seen_attempts: int = 0


@dataclass(frozen=True)
class ClaimedReminder:
    """A reminder this runner now calls: pass `attempt` back when recording how it went."""

    reminder_id: str
    appointment_id: str
    patient_id: str
    attempt: int


@dataclass(frozen=True)
class ReminderResult:
    """One attempt as staff see it."""

    attempt: ReminderAttempt
    reminder: Reminder
    appointment: Appointment | None
    patient: Patient | None


@dataclass(frozen=True)
class SkippedReminder:
    """A reminder the runner decided not to call (its `reason` says why), as staff see it."""

    reminder: Reminder
    appointment: Appointment | None
    patient: Patient | None


def _practice_lock_key(practice_id: str) -> int:
    """A stable 31-bit key for the practice's advisory lock (reminder claims only)."""
    return zlib.crc32(f"reminders:{practice_id}".encode()) & 0x7FFFFFFF


def _in_flight(practice_id: str, now: datetime) -> ColumnElement[bool]:
    return and_(
        Reminder.practice_id == practice_id,
        Reminder.status == ReminderStatus.CALLING,
        Reminder.lease_until > now,
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        Reminder.status.in_(CLAIMABLE),
        and_(Reminder.status == ReminderStatus.CALLING, Reminder.lease_until <= now),
    )


@dataclass(frozen=True)
class ReminderBacklog:
    """One practice's reminder calls waiting for the runner: how many wait for a (next) try, how
    many are under way, and since when the most overdue has been due (None when none is). Counts
    and times only: the operator's metrics are made from it."""

    practice_id: str
    waiting: int  # pending: a try later, or due now
    calling: int  # claimed, lease still running
    oldest_due: datetime | None  # a due try's time, or a dead job's lease end


@dataclass(frozen=True)
class DialCheck:
    """What the book says, just before a reminder call is dialled, about its reminder, its visit
    and its patient (`ReminderBook.dial_check`); the domain decides from it whether to dial
    (receptionist/reminders/rules.py `instead_of_dialling`)."""

    status: str  # the reminder's
    attempts: int  # the claim's fence: the job's attempt still holds it while equal (and calling)
    reason: str
    visit_status: str
    starts_at: datetime
    opted_out: bool


async def settle_reminders(
    s: AsyncSession, which: ColumnElement[bool], *, status: str, reason: str, now: datetime
) -> int:
    """Ends the unfinished reminders `which` selects with `status` and `reason`, in the caller's
    write transaction (a cancel, a move, an opt-out): no runner claims them again, and a job that
    had claimed one no longer holds it (it checks just before dialling). Returns how many."""
    result = await s.execute(
        update(Reminder)
        .where(which, Reminder.status.in_(UNFINISHED))
        .values(status=status, reason=reason[:REASON_LENGTH], lease_until=None, updated_at=now)
    )
    return rows_changed(result)


async def settle_visit_reminder(
    s: AsyncSession, appointment_id: str, *, moved: bool, now: datetime
) -> int:
    """The visit was cancelled or moved (`AppointmentBook.cancel`, `.reschedule`): its reminder, if
    still unfinished, ends as `cancelled` or `moved`. A moved visit's new appointment is a new
    row, which gets its own reminder when it comes into the window."""
    return await settle_reminders(
        s,
        Reminder.appointment_id == appointment_id,
        status=ReminderStatus.MOVED if moved else ReminderStatus.CANCELLED,
        reason=VISIT_MOVED if moved else VISIT_CANCELLED,
        now=now,
    )


class ReminderBook(Repository):
    """`store.reminders`: the `reminders`, `reminder_attempts` and `reminder_opt_outs` tables."""

    # --- what the runner reads ---------------------------------------------------------------

    async def backlog(self, *, now: datetime) -> list[ReminderBacklog]:
        """The reminder calls waiting, per practice with any reminder (so an emptied queue reads
        0). Due: a pending reminder whose next try has come, or a call whose lease ran out (its
        job died): both are the runner's to place now."""
        pending = Reminder.status == ReminderStatus.PENDING
        calling = Reminder.status == ReminderStatus.CALLING
        due_since = case(
            (and_(pending, Reminder.next_attempt_at <= now), Reminder.next_attempt_at),
            (and_(calling, Reminder.lease_until <= now), Reminder.lease_until),
        )
        query = select(
            Reminder.practice_id,
            func.count(case((pending, 1))),
            func.count(case((and_(calling, Reminder.lease_until > now), 1))),
            type_coerce(func.min(due_since), UTCDateTime()),
        ).group_by(Reminder.practice_id)
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [
            ReminderBacklog(practice, int(waiting), int(calling), oldest)
            for practice, waiting, calling, oldest in rows
        ]

    async def reminder_candidates(
        self, practice_id: str, *, start: datetime, end: datetime
    ) -> list[ReminderCandidate]:
        """Booked visits of the practice starting in [start, end), soonest first."""
        query = (
            select(Appointment, Patient, Reminder, ReminderOptOut.id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .outerjoin(Reminder, Reminder.appointment_id == Appointment.id)
            .outerjoin(
                ReminderOptOut,
                and_(
                    ReminderOptOut.practice_id == Appointment.practice_id,
                    ReminderOptOut.patient_id == Appointment.patient_id,
                ),
            )
            .where(
                Appointment.practice_id == practice_id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [ReminderCandidate(a, p, r, opt is not None) for a, p, r, opt in rows]

    async def reminders_in_flight(self, practice_id: str, *, now: datetime) -> int:
        async with self._sessions.session(write=False) as s:
            found = await s.scalar(
                select(func.count()).select_from(Reminder).where(_in_flight(practice_id, now))
            )
        return int(found or 0)

    # --- claims -------------------------------------------------------------------------------

    async def claim_reminders(
        self,
        practice_id: str,
        wanted: list[Wanted],
        *,
        now: datetime,
        lease: timedelta,
        max_in_flight: int,
    ) -> list[ClaimedReminder]:
        """Claims up to `max_in_flight` minus the calls already in flight, in `wanted`'s order.

        A reminder another runner claimed (or finished) since it was read is left alone."""
        if not wanted:
            return []
        claimed: list[ClaimedReminder] = []
        async with self._sessions.session(write=True) as s:
            if self._sessions.dialect == "postgresql":
                await s.execute(select(func.pg_advisory_xact_lock(_practice_lock_key(practice_id))))
            busy = await s.scalar(
                select(func.count()).select_from(Reminder).where(_in_flight(practice_id, now))
            )
            room = max_in_flight - int(busy or 0)
            for want in wanted:
                if room <= 0:
                    break
                await _ensure_row(s, self._sessions.dialect, practice_id, want, now)
                row = await s.scalar(
                    select(Reminder)
                    .where(
                        Reminder.appointment_id == want.appointment_id,
                        Reminder.attempts == want.seen_attempts,
                        _claimable(now),
                    )
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
                if row is None:
                    continue
                attempt = row.attempts + 1
                moved = await s.execute(
                    update(Reminder)
                    .where(
                        Reminder.id == row.id,
                        Reminder.attempts == want.seen_attempts,
                        _claimable(now),
                    )
                    .values(
                        status=ReminderStatus.CALLING,
                        attempts=attempt,
                        lease_until=now + lease,
                        last_attempt_at=now,
                        reason="",
                        updated_at=now,
                    )
                )
                if rows_changed(moved) != 1:
                    continue
                s.add(
                    ReminderAttempt(
                        id=new_id(),
                        reminder_id=row.id,
                        practice_id=practice_id,
                        attempt=attempt,
                        started_at=now,
                        dispatch_id="",
                        call_id="",
                        line="",
                        answered_by="",
                        choice="",
                    )
                )
                claimed.append(
                    ClaimedReminder(row.id, want.appointment_id, want.patient_id, attempt)
                )
                room -= 1
        return claimed

    async def skip_reminder(
        self, practice_id: str, want: Wanted, *, reason: str, now: datetime
    ) -> bool:
        """Records why a reminder is not called (e.g. no usable number), for staff to see; only a
        reminder never called yet. True if the row says so now."""
        async with self._sessions.session(write=True) as s:
            await _ensure_row(s, self._sessions.dialect, practice_id, want, now)
            result = await s.execute(
                update(Reminder)
                .where(
                    Reminder.appointment_id == want.appointment_id,
                    Reminder.status.in_(CLAIMABLE),
                    Reminder.attempts == 0,
                )
                .values(
                    status=ReminderStatus.SKIPPED, reason=reason[:REASON_LENGTH], updated_at=now
                )
            )
            return bool(rows_changed(result))

    async def reminder_dispatched(
        self, reminder_id: str, *, attempt: int, dispatch_id: str
    ) -> None:
        """Records the agent dispatch that places this attempt's call."""
        async with self._sessions.session(write=True) as s:
            await s.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.attempts == attempt)
                .values(dispatch_id=dispatch_id[:64])
            )
            await s.execute(
                update(ReminderAttempt)
                .where(
                    ReminderAttempt.reminder_id == reminder_id, ReminderAttempt.attempt == attempt
                )
                .values(dispatch_id=dispatch_id[:64])
            )

    # --- what the call records ----------------------------------------------------------------

    async def reminder_job(self, reminder_id: str) -> tuple[Reminder, Appointment, Patient] | None:
        """The reminder a dispatched job calls about, with its appointment and patient."""
        async with self._sessions.session(write=False) as s:
            row = (
                await s.execute(
                    select(Reminder, Appointment, Patient)
                    .join(Appointment, Appointment.id == Reminder.appointment_id)
                    .join(Patient, Patient.id == Appointment.patient_id)
                    .where(Reminder.id == reminder_id)
                )
            ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def dial_check(self, reminder_id: str) -> DialCheck | None:
        """The reminder's claim, its visit's status and time, and whether its patient opted out,
        in one read: what a reminder call's job checks just before dialling. None: no reminder."""
        opted_out = (
            exists()
            .where(
                ReminderOptOut.practice_id == Reminder.practice_id,
                ReminderOptOut.patient_id == Reminder.patient_id,
            )
            .label("opted_out")
        )
        query = (
            select(
                Reminder.status,
                Reminder.attempts,
                Reminder.reason,
                Appointment.status,
                Appointment.starts_at,
                opted_out,
            )
            .join(Appointment, Appointment.id == Reminder.appointment_id)
            .where(Reminder.id == reminder_id)
        )
        async with self._sessions.session(write=False) as s:
            row = (await s.execute(query)).first()
        return None if row is None else DialCheck(*row[:5], opted_out=bool(row[5]))

    async def reminder_choice(
        self,
        reminder_id: str,
        *,
        attempt: int,
        status: str,
        now: datetime,
        reason: str = "",
    ) -> bool:
        """What the patient chose on this attempt's call (confirmed, cancelled, opted out, ...):
        the reminder is finished with that status. False if this attempt no longer holds it."""
        values: dict[str, object] = {
            "status": status,
            "lease_until": None,
            "updated_at": now,
            "reason": reason[:REASON_LENGTH],
        }
        if status == ReminderStatus.CONFIRMED:
            values["confirmed_at"] = now
        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.attempts == attempt)
                .values(**values)
            )
            await s.execute(
                update(ReminderAttempt)
                .where(
                    ReminderAttempt.reminder_id == reminder_id, ReminderAttempt.attempt == attempt
                )
                .values(choice=status[:16])
            )
            return bool(rows_changed(result))

    async def finish_reminder_attempt(
        self,
        reminder_id: str,
        *,
        attempt: int,
        now: datetime,
        line: str,
        answered_by: str = "",
        sip_status: int | None = None,
        call_id: str = "",
        status: str,
        retry_at: datetime | None = None,
        reason: str = "",
    ) -> bool:
        """How the attempt's call went. A reminder still `calling` (nobody chose anything) moves
        to `status`: `pending` again until `retry_at`, or finished (left a message, gave up).
        A choice already recorded stays. False if this attempt no longer holds the reminder."""
        values: dict[str, object] = {
            "status": status,
            "lease_until": None,
            "updated_at": now,
            "reason": reason[:REASON_LENGTH],
        }
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        async with self._sessions.session(write=True) as s:
            await s.execute(
                update(ReminderAttempt)
                .where(
                    ReminderAttempt.reminder_id == reminder_id, ReminderAttempt.attempt == attempt
                )
                .values(
                    finished_at=now,
                    line=line[:16],
                    answered_by=answered_by[:10],
                    sip_status=sip_status,
                    call_id=call_id[:64],
                )
            )
            held = and_(Reminder.id == reminder_id, Reminder.attempts == attempt)
            result = await s.execute(
                update(Reminder)
                .where(held, Reminder.status == ReminderStatus.CALLING)
                .values(**values)
            )
            if rows_changed(result):
                if status != ReminderStatus.PENDING:
                    await s.execute(
                        update(ReminderAttempt)
                        .where(
                            ReminderAttempt.reminder_id == reminder_id,
                            ReminderAttempt.attempt == attempt,
                            ReminderAttempt.choice == "",
                        )
                        .values(choice=status[:16])
                    )
                return True
            still = await s.scalar(select(Reminder.id).where(held))
            return still is not None

    # --- opt-outs -----------------------------------------------------------------------------

    async def opt_out(
        self,
        practice_id: str,
        patient_id: str,
        *,
        now: datetime,
        source: str = "call",
        call_id: str = "",
    ) -> bool:
        """Records that the patient gets no more reminder calls; True if newly recorded. Their
        unfinished reminders end `opted_out` in the same transaction (a claimed one too: its job
        does not dial)."""
        row = {
            "id": new_id(),
            "practice_id": practice_id,
            "patient_id": patient_id,
            "source": source[:10],
            "call_id": call_id[:64],
            "created_at": now,
        }
        dialect_insert = (
            postgresql.insert if self._sessions.dialect == "postgresql" else sqlite.insert
        )
        statement = (
            dialect_insert(ReminderOptOut)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["practice_id", "patient_id"])
        )
        async with self._sessions.session(write=True) as s:
            added = bool(rows_changed(await s.execute(statement)))
            patients = _patients(practice_id, patient_id)
            await settle_reminders(
                s, patients, status=ReminderStatus.OPTED_OUT, reason=OPTED_OUT, now=now
            )
            return added

    async def remove_opt_out(self, practice_id: str, patient_id: str) -> bool:
        """The patient gets reminder calls again. The reminders the opt-out settled (not those
        the patient ended on a call) are pending again, for the runner to decide on."""
        from sqlalchemy import delete

        async with self._sessions.session(write=True) as s:
            result = await s.execute(
                delete(ReminderOptOut).where(
                    ReminderOptOut.practice_id == practice_id,
                    ReminderOptOut.patient_id == patient_id,
                )
            )
            await s.execute(
                update(Reminder)
                .where(
                    _patients(practice_id, patient_id),
                    Reminder.status == ReminderStatus.OPTED_OUT,
                    Reminder.reason == OPTED_OUT,
                )
                .values(status=ReminderStatus.PENDING, reason="", updated_at=utcnow())
            )
            return bool(rows_changed(result))

    async def is_opted_out(self, practice_id: str, patient_id: str) -> bool:
        async with self._sessions.session(write=False) as s:
            found = await s.scalar(
                select(ReminderOptOut.id).where(
                    ReminderOptOut.practice_id == practice_id,
                    ReminderOptOut.patient_id == patient_id,
                )
            )
        return found is not None

    async def opt_outs(
        self, practice_id: str | None = None, *, limit: int | None = None
    ) -> list[tuple[ReminderOptOut, Patient | None]]:
        """The opt-outs, newest first, with their patients (`limit`: the staff page's bound)."""
        query = select(ReminderOptOut, Patient).outerjoin(
            Patient, Patient.id == ReminderOptOut.patient_id
        )
        if practice_id:
            query = query.where(ReminderOptOut.practice_id == practice_id)
        query = query.order_by(ReminderOptOut.created_at.desc(), ReminderOptOut.id)
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions.session(write=False) as s:
            rows = await s.execute(query)
            return [(o, p) for o, p in rows.all()]

    # --- staff views --------------------------------------------------------------------------

    async def reminder_results(
        self,
        practice_id: str | None,
        *,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[ReminderResult]:
        """Every attempt started in [start, end), newest first, with its reminder and patient
        (read on the `started_at` index; `limit`: the staff page's bound)."""
        query = (
            select(ReminderAttempt, Reminder, Appointment, Patient)
            .join(Reminder, Reminder.id == ReminderAttempt.reminder_id)
            .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
            .outerjoin(Patient, Patient.id == Reminder.patient_id)
            .where(ReminderAttempt.started_at >= start, ReminderAttempt.started_at < end)
            .order_by(ReminderAttempt.started_at.desc(), ReminderAttempt.attempt.desc())
        )
        if practice_id:
            query = query.where(ReminderAttempt.practice_id == practice_id)
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [ReminderResult(a, r, ap, p) for a, r, ap, p in rows]

    async def skipped_reminders(
        self, practice_id: str, *, start: datetime, end: datetime, limit: int = 200
    ) -> list[SkippedReminder]:
        """Reminders the runner did not call on some pass in [start, end), and why (no usable
        number): a skip has no attempt row, so the reminder's own times say when. Each pass that
        skips it again moves `updated_at` on, so a skip shows on every day it held. Soonest
        visit first; read on the `(practice_id, status, ...)` index."""
        query = (
            select(Reminder, Appointment, Patient)
            .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
            .outerjoin(Patient, Patient.id == Reminder.patient_id)
            .where(
                Reminder.practice_id == practice_id,
                Reminder.status == ReminderStatus.SKIPPED,
                Reminder.created_at < end,
                Reminder.updated_at >= start,
            )
            .order_by(Appointment.starts_at, Reminder.id)
            .limit(limit)
        )
        async with self._sessions.session(write=False) as s:
            rows = (await s.execute(query)).all()
        return [SkippedReminder(r, ap, p) for r, ap, p in rows]

    async def reminders_for(self, appointment_ids: list[str]) -> dict[str, Reminder]:
        if not appointment_ids:
            return {}
        async with self._sessions.session(write=False) as s:
            rows = await s.scalars(
                select(Reminder).where(Reminder.appointment_id.in_(appointment_ids))
            )
            return {r.appointment_id: r for r in rows}


def _patients(practice_id: str, patient_id: str) -> ColumnElement[bool]:
    return and_(Reminder.practice_id == practice_id, Reminder.patient_id == patient_id)


def _new_row(practice_id: str, want: Wanted, now: datetime) -> dict[str, object]:
    return {
        "id": new_id(),
        "practice_id": practice_id,
        "appointment_id": want.appointment_id,
        "patient_id": want.patient_id,
        "status": ReminderStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "dispatch_id": "",
        "reason": "",
        "created_at": now,
        "updated_at": now,
    }


async def _ensure_row(
    s: AsyncSession, dialect: str, practice_id: str, want: Wanted, now: datetime
) -> None:
    """Inserts the visit's pending reminder row unless it has one (one row per appointment: the
    unique index decides, so two runners never make two)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await s.execute(
        dialect_insert(Reminder)
        .values(**_new_row(practice_id, want, now))
        .on_conflict_do_nothing(index_elements=["appointment_id"])
    )
