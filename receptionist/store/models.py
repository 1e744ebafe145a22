"""Tables of the practice's book: patients, appointments, messages (callback requests), calls.

Primary keys are client-generated UUID strings, so a record written from the local outbox after an
outage keeps the id it was given during the call and can never be inserted twice. Times are stored
in UTC (`UTCDateTime`); the practice's zone is applied when they are shown.
The no-overlap rule for appointments is not declared here: it is dialect-specific DDL created by the
migration (PostgreSQL exclusion constraint, SQLite triggers) so the database itself enforces it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class AppointmentStatus(StrEnum):
    """An appointment's status (the value is what the row keeps)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # moved: a new appointment row carries the new time


APPOINTMENT_STATUSES = tuple(s.value for s in AppointmentStatus)


class Attendance(StrEnum):
    """Whether a booked visit's patient came (migration 0013): set by the front desk on the day.
    The visit stays `booked` (it still holds its time); None until the desk marks it."""

    ARRIVED = "arrived"  # checked in at the desk
    NO_SHOW = "no_show"  # did not come


CANCEL_REASON_LENGTH = 200
MESSAGE_URGENCIES = ("routine", "soon", "urgent")
CALLBACK = "callback"  # a caller asked to be called back
SECURITY = "security"  # for the staff: repeated failed identity checks, a lock-out
MESSAGE_KINDS = (CALLBACK, SECURITY)
STAFF, ADMIN = "staff", "admin"
STAFF_ROLES = (STAFF, ADMIN)
PENDING, SENDING, SENT, GAVE_UP = "pending", "sending", "sent", "gave_up"
NOTIFICATION_STATUSES = (PENDING, SENDING, SENT, GAVE_UP)
EMAIL, WEBHOOK = "email", "webhook"
# Longest ids and texts the columns hold; intake bounds values to these (after normalisation).
CALL_ID_LENGTH = 64
NAME_LENGTH = 120


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every dialect.

    SQLite has no time-zone type: values are stored as naive UTC text of fixed width, which also
    makes the overlap triggers' string comparisons correct. Naive input is refused: a naive time in
    a scheduling system is a bug waiting for a DST change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # DeclarativeBase types `__table__` as any FromClause; every model here maps one plain Table
    # (no inheritance, no mapping onto a select), which the Core inserts and `_coerce` rely on.
    __table__: ClassVar[Table]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("practice_id", "name_key", "date_of_birth", name="uq_patients_identity"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # Casefolded, punctuation-free, at most NAME_LENGTH (`repo.name_key`): for matching.
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(20), default="unknown")
    # Registered as a new patient (by phone). They stay new until a booked visit has taken place
    # (see `AppointmentBook.is_new_patient`); patients loaded by staff or demo data are existing
    # patients.
    new_patient: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The language they last spoke with us ("es"; "" = the practice's default): their reminder
    # calls use it (migration 0012). A server default only, so an insert that does not name it
    # (code written for an older schema, an outbox record kept before it) still works.
    language: Mapped[str] = mapped_column(String(16), server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(f"status IN {APPOINTMENT_STATUSES!r}", name="status"),
        Index("ix_appointments_provider_start", "provider_id", "starts_at"),
        Index("ix_appointments_practice_start", "practice_id", "starts_at"),
        Index("ix_appointments_patient_start", "patient_id", "starts_at"),
        Index("ix_appointments_practice_created", "practice_id", "created_at"),  # 0007
        Index("ix_appointments_call_id", "call_id"),  # 0009: a call's page and its audit
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    provider_id: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_type: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=AppointmentStatus.BOOKED)
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="")
    replaces_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The staff member who booked it from the staff app; empty when a call booked it.
    booked_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the patient confirmed the visit (a C answered by text; migration 0011).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The front desk's side (migration 0013): why staff cancelled it and who; the visit that
    # undid the cancellation (the same time booked again); arrived or no-show, when and by whom.
    cancel_reason: Mapped[str | None] = mapped_column(String(CANCEL_REASON_LENGTH), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    undone_as: Mapped[str | None] = mapped_column(String(36), nullable=True)
    attendance: Mapped[str | None] = mapped_column(String(10), nullable=True)
    attendance_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attendance_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"urgency IN {MESSAGE_URGENCIES!r}", name="urgency"),
        # The open queue, its live count and the handled list (migration 0007).
        Index("ix_messages_practice_handled", "practice_id", "handled_at", "created_at"),
        Index("ix_messages_call_id", "call_id"),  # 0009: a call's page and its audit
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    caller_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    callback_number: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    kind: Mapped[str] = mapped_column(String(10), default=CALLBACK, server_default=CALLBACK)
    patient_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    handled_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CallRecord(Base):
    __tablename__ = "calls"
    # The call log a page at a time and the week's calls (migration 0007).
    __table_args__ = (Index("ix_calls_practice_start", "practice_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    caller: Mapped[str] = mapped_column(String(20), default="unknown")
    dialled: Mapped[str] = mapped_column(String(20), default="unknown")
    livekit_call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="", index=True)
    sip_call_id: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(16))
    outcomes: Mapped[list] = mapped_column(JSON, default=list)
    usage: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    transcript: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # What the assistant did, in order: [{"at": iso, "kind": "booked", "detail": "..."}].
    events: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # The ids of the patients the caller proved to be (verified or registered), for the audit of
    # a look at the call (migration 0009); None on records written before it.
    patient_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # The language the call was held in (migration 0012); "" on records written before it.
    language: Mapped[str] = mapped_column(String(16), server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityFailure(Base):
    """A failed name-and-date-of-birth check: kept across calls for the practice's lock-out."""

    __tablename__ = "identity_failures"
    __table_args__ = (
        Index("ix_identity_failures_name", "practice_id", "name_key", "created_at"),
        Index("ix_identity_failures_caller", "practice_id", "caller", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    caller: Mapped[str] = mapped_column(String(20))  # E.164 or "unknown"
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffUser(Base):
    """Someone who signs in to the staff app. Passwords are Argon2 hashes, never stored plain."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    role: Mapped[str] = mapped_column(String(10), default=STAFF)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who viewed or changed which patient's data, and when (staff app and staff commands)."""

    __tablename__ = "audit_log"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(80), default="")
    patient_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


class StaffClosure(Base):
    """A closure staff added in the app (snow day, closing early): on top of practice.toml's,
    in force from the next call. `start_time`/`end_time` close only part of each day."""

    __tablename__ = "closures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    start_time: Mapped[time | None] = mapped_column(Time, nullable=True)
    end_time: Mapped[time | None] = mapped_column(Time, nullable=True)
    reason: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Notification(Base):
    """One message to send to one destination, written with the message it announces (same
    transaction) and sent by the background sender. Its id is the idempotency key."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(String(36), index=True)
    practice_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    destination: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallRecovery(Base):
    """One watcher's claim on picking up a call whose agent was lost (`receptionist watch`).

    The unique (room, lost agent) pair is the claim: whichever watcher inserts it dispatches the
    agent again, every other watcher's insert does nothing, so several watchers on several hosts
    never send two agents into one call. `attempts` moves on by compare-and-set when a dispatch
    went nowhere. Ids only: the room's sid, never its name (that carries the caller's number).
    """

    __tablename__ = "call_recoveries"
    __table_args__ = (
        UniqueConstraint("room_sid", "lost_agent", name="uq_call_recoveries_incident"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    room_sid: Mapped[str] = mapped_column(String(64))
    lost_agent: Mapped[str] = mapped_column(String(128))  # the agent participant's identity
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str] = mapped_column(String(64))  # the watcher (host and process)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatch_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- reminder calls (migration 0008) -----------------------------------------------------------


class ReminderStatus(StrEnum):
    """A reminder's status: waiting for a call (pending), being called (calling), or finished with
    what the patient chose or why the calls stopped. The value is what the row keeps (and what an
    attempt's `choice` keeps)."""

    PENDING = "pending"
    CALLING = "calling"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    MOVED = "moved"  # booked another time on the call (the new visit counts as confirmed)
    CALL_BACK = "call_back"  # wants another time, none booked: the staff call back
    STAFF = "staff"  # handed to a person on the call
    LEFT_MESSAGE = "left_message"  # a voicemail was left
    OPTED_OUT = "opted_out"  # "stop calling me": never called again
    WRONG_NUMBER = "wrong_number"
    GAVE_UP = "gave_up"  # attempts used up (busy, no answer, failed)
    SKIPPED = "skipped"  # cannot be called (no usable number): the reason is kept


class Reminder(Base):
    """The reminder call for one appointment: its status, attempts and the current claim.

    One row per appointment (unique), created by the runner (`receptionist reminders run`) when
    the visit comes into the reminder window. A claim sets `calling`, a lease and `attempts + 1`
    in one write; `attempts` is the claim's fencing token (see receptionist/store/reminders.py)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "practice_id", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    appointment_id: Mapped[str] = mapped_column(String(36), unique=True)
    patient_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatch_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(120), default="")  # why skipped / gave up
    # When the patient confirmed the visit (on a reminder call): the appointment's confirmation.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderAttempt(Base):
    """One call placed for a reminder: when, how the line answered and what the patient chose.
    No phone numbers and nothing the patient said: ids, SIP codes and choices only."""

    __tablename__ = "reminder_attempts"
    __table_args__ = (UniqueConstraint("reminder_id", "attempt", name="uq_reminder_attempts_try"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reminder_id: Mapped[str] = mapped_column(String(36), index=True)
    practice_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatch_id: Mapped[str] = mapped_column(String(64), default="")
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="")
    sip_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # e.g. 486 (busy)
    line: Mapped[str] = mapped_column(String(16), default="")  # answered|busy|no_answer|failed
    answered_by: Mapped[str] = mapped_column(String(10), default="")  # person|machine|unknown
    choice: Mapped[str] = mapped_column(String(16), default="")  # the reminder status it led to


class ReminderOptOut(Base):
    """A patient who asked not to get reminder calls: never called again (staff can see and
    remove it)."""

    __tablename__ = "reminder_opt_outs"
    __table_args__ = (
        UniqueConstraint("practice_id", "patient_id", name="uq_reminder_opt_outs_patient"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(10), default="call")  # call | staff
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- text messages (migration 0011) ------------------------------------------------------------


class TextStatus(StrEnum):
    """An outbound text's status (the value is what the row keeps).

    pending: waiting (for its time, quiet hours, the number's rate, a retry); sending: claimed by
    a sender; unknown: the provider may have taken it (a timeout after the request went out), so
    it is never sent again unless the provider's status callback says otherwise; sent: the provider
    took it; delivered / undelivered: what the provider's status callback said; failed: refused
    for good (an invalid number, a landline) or retries used up; blocked: never sent because the
    number opted out (or is known not to take texts)."""

    PENDING = "pending"
    SENDING = "sending"
    UNKNOWN = "unknown"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BLOCKED = "blocked"


TEXT_STATUSES = tuple(s.value for s in TextStatus)


class NumberState(StrEnum):
    """What the practice knows of a patient's number (what `text_numbers.state` keeps)."""

    OK = "ok"
    INVALID = "invalid"  # the provider says it is not a phone number
    LANDLINE = "landline"  # a number that cannot take texts


class OutboundText(Base):
    """One outbound text. Its id is the idempotency key, written in the transaction that caused
    it (an inbound keyword's reply with the inbound row; a confirmation derived from the booking's
    id and kind, so the same booking never queues two)."""

    __tablename__ = "texts"
    __table_args__ = (
        CheckConstraint(f"status IN {TEXT_STATUSES!r}", name="status"),
        Index("ix_texts_due", "status", "next_attempt_at"),
        Index("ix_texts_number", "practice_id", "to_number", "created_at"),
        UniqueConstraint("provider", "provider_message_id", name="uq_texts_provider_message"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # domain.texts.TextKind
    to_number: Mapped[str] = mapped_column(String(20))  # E.164
    from_number: Mapped[str] = mapped_column(String(20))  # E.164
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    provider: Mapped[str] = mapped_column(String(10))  # twilio | telnyx
    status: Mapped[str] = mapped_column(String(12), default=TextStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The provider's error code or an exception type: never a message text (it may quote data).
    error: Mapped[str] = mapped_column(String(60), default="")
    patient_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    appointment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    inbound_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # what it answers
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TextNumber(Base):
    """A patient's number as the practice's texts know it: opted out (STOP) or in, consent
    recorded, and whether it can take texts at all."""

    __tablename__ = "text_numbers"
    __table_args__ = (UniqueConstraint("practice_id", "number", name="uq_text_numbers_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(20))  # E.164
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(10), default=NumberState.OK)
    state_error: Mapped[str] = mapped_column(String(60), default="")  # the provider's code
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundText(Base):
    """A text a patient sent, once per provider message id (webhooks are retried), with what it
    did (opted out, confirmed, a message for the staff, ...)."""

    __tablename__ = "inbound_texts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_inbound_texts_provider"),
        Index("ix_inbound_texts_number", "practice_id", "from_number", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(10))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    from_number: Mapped[str] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(16), default="")  # what handling it did
    appointment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # confirmed
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # for the staff
