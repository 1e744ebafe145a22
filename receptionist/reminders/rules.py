"""Reminder calls: who is due a call now, why anyone else is not, and what follows each call.

Pure rules over the practice's `[practice.reminders]` section (receptionist/domain/practice.py):
no database, no LiveKit. The runner (receptionist/reminders/runner.py) reads the candidates from
the book, asks `decide` about each, claims the due ones (receptionist/store/reminders.py) and
dispatches the calls; the call's job asks `instead_of_dialling` just before it dials (the visit
may have been cancelled or moved, or the patient opted out, since the claim) and
`after_unanswered` when the line was busy, rang out or failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from receptionist.domain.lines import Line
from receptionist.domain.phone import UNKNOWN
from receptionist.domain.practice import Practice
from receptionist.store.models import AppointmentStatus, ReminderStatus
from receptionist.store.reminders import OPTED_OUT, UNFINISHED, VISIT_CANCELLED, VISIT_MOVED

if TYPE_CHECKING:
    from receptionist.store.reminders import DialCheck, ReminderResult


class Skip(StrEnum):
    """Why a reminder is not called now (the value is what staff read)."""

    DISABLED = "reminders are off for this practice"
    OUTSIDE_HOURS = "outside the calling hours"
    CLOSURE = "the practice is closed today"
    VISIT_TYPE = "this visit type gets no reminder"
    NOT_BOOKED = "the appointment is no longer booked"
    VISIT_CLOSED = "the practice is closed at the visit's time"
    TOO_EARLY = "the visit is too far ahead yet"
    TOO_LATE = "the visit is too close for a reminder"
    FINISHED = "already confirmed, cancelled or done"
    OPTED_OUT = "the patient asked not to be called"
    NO_NUMBER = "no usable phone number"
    IN_FLIGHT = "a call is under way"
    EXHAUSTED = "every attempt is used"
    TOO_SOON = "too soon after the last attempt"


@dataclass(frozen=True)
class Candidate:
    """A booked visit as the rules see it (built from the book's rows by the runner)."""

    appointment_id: str
    patient_id: str
    phone: str  # E.164 or "unknown"
    visit_type: str
    starts_at: datetime
    booked: bool = True
    opted_out: bool = False
    status: str = ""  # the reminder's status ("" before the first run that saw it)
    attempts: int = 0
    last_attempt_at: datetime | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    skip: Skip | None = None

    @property
    def due(self) -> bool:
        return self.skip is None


def calling_closed(practice: Practice, now: datetime) -> Skip | None:
    """Why nobody is called now, or None: off, outside the calling hours, or a closure today.

    `practice` carries the staff's closures too (`Practice.with_closures`). A closure of any part
    of today stops the calls for the whole day: nobody is at the desk to take the calls back."""
    reminders = practice.reminders
    if not reminders.enabled:
        return Skip.DISABLED
    local = now.astimezone(practice.tz)
    hours = reminders.calling_hours
    if not hours.start <= local.time() < hours.end:
        return Skip.OUTSIDE_HOURS
    if closed_on(practice, local.date()):
        return Skip.CLOSURE
    return None


def closed_on(practice: Practice, day: date) -> bool:
    return any(c.touches(day) for c in practice.closures)


def decide(practice: Practice, candidate: Candidate, now: datetime) -> Decision:
    """Whether to call about this visit now, or the first reason not to."""
    if skip := calling_closed(practice, now):
        return Decision(candidate, skip)
    return Decision(candidate, _skip_for(practice, candidate, now))


def _skip_for(practice: Practice, c: Candidate, now: datetime) -> Skip | None:
    reminders = practice.reminders
    if not c.booked:
        return Skip.NOT_BOOKED
    if not reminders.reminds(c.visit_type):
        return Skip.VISIT_TYPE
    if c.status and c.status not in UNFINISHED:
        return Skip.FINISHED
    if c.opted_out:
        return Skip.OPTED_OUT
    if practice.closure_at(c.starts_at) is not None:
        return Skip.VISIT_CLOSED  # the staff will call about the closure, not a reminder
    ahead = c.starts_at - now
    if ahead > reminders.farthest:
        return Skip.TOO_EARLY
    if ahead < reminders.nearest:
        return Skip.TOO_LATE
    if not c.phone or c.phone == UNKNOWN or not c.phone.startswith("+"):
        return Skip.NO_NUMBER
    if c.status == ReminderStatus.CALLING and c.lease_until is not None and c.lease_until > now:
        return Skip.IN_FLIGHT
    if c.attempts >= reminders.attempts:
        return Skip.EXHAUSTED
    if c.last_attempt_at is not None and now < c.last_attempt_at + reminders.retry_after:
        return Skip.TOO_SOON
    return None


def due_now(practice: Practice, candidates: list[Candidate], now: datetime) -> list[Decision]:
    """Every candidate's decision, the due ones first (soonest visit first within each)."""
    decisions = [decide(practice, c, now) for c in candidates]
    return sorted(decisions, key=lambda d: (not d.due, d.candidate.starts_at))


# --- after a call ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Next:
    """What the reminder becomes after an attempt with no choice made on it."""

    status: str
    retry_at: datetime | None = None
    reason: str = ""


def after_unanswered(practice: Practice, *, attempts: int, now: datetime, why: str) -> Next:
    """Busy, no answer, failed, or answered but nothing chosen: try again after the spacing while
    attempts are left (the runner also keeps it inside the calling hours), else give up."""
    reminders = practice.reminders
    if attempts >= reminders.attempts:
        return Next(ReminderStatus.GAVE_UP, None, f"{why}; every attempt used")
    return Next(ReminderStatus.PENDING, now + reminders.retry_after, why)


NOT_HELD = "this call's claim no longer holds the reminder"
TIME_CHANGED = "the visit's time changed since the claim"


def instead_of_dialling(
    check: DialCheck | None, *, attempt: int, starts_at: datetime, now: datetime
) -> Next | None:
    """None: place the call (the job's `attempt` still holds the reminder, its visit is booked at
    `starts_at`, the time the call will say, and the patient has not opted out). Otherwise what
    the reminder becomes instead, without a call: a cancel, a move or an opt-out since the claim
    usually settled it already (then this attempt no longer holds it and the store keeps what it
    says); else it ends with the reason here."""
    if check is None or check.attempts != attempt or check.status != ReminderStatus.CALLING:
        status = check.status if check else ""
        return Next(status, None, (check.reason if check else "") or NOT_HELD)
    if check.visit_status == AppointmentStatus.RESCHEDULED:
        return Next(ReminderStatus.MOVED, None, VISIT_MOVED)
    if check.visit_status != AppointmentStatus.BOOKED:
        return Next(ReminderStatus.CANCELLED, None, VISIT_CANCELLED)
    if check.opted_out:
        return Next(ReminderStatus.OPTED_OUT, None, OPTED_OUT)
    if check.starts_at != starts_at:  # the runner decides again, on the visit's new time
        return Next(ReminderStatus.PENDING, now, TIME_CHANGED)
    return None


# --- the job a runner dispatches ---------------------------------------------------------------

REMINDER_KEY = "reminder"
MAX_METADATA = 4096


@dataclass(frozen=True)
class ReminderJob:
    """What a reminder call's job is told (the agent dispatch's metadata): ids only, never a
    phone number or a name (dispatch metadata shows up in the server's logs and APIs)."""

    reminder_id: str
    attempt: int
    practice_id: str
    trunk_id: str = ""  # the LiveKit outbound trunk (ST_...)
    ringing_seconds: int = 30

    @property
    def room(self) -> str:
        """The call's room: one per attempt, so a second dispatch of one attempt joins it."""
        return f"reminder-{self.reminder_id}-{self.attempt}"

    def to_metadata(self) -> str:
        return json.dumps({REMINDER_KEY: asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, metadata: str | None) -> ReminderJob | None:
        """The reminder in a job's metadata, or None for any other job."""
        if not metadata or len(metadata) > MAX_METADATA:
            return None
        try:
            found = json.loads(metadata).get(REMINDER_KEY)
            return cls(
                reminder_id=str(found["reminder_id"])[:36],
                attempt=int(found["attempt"]),
                practice_id=str(found["practice_id"])[:40],
                trunk_id=str(found.get("trunk_id", ""))[:64],
                ringing_seconds=int(found.get("ringing_seconds", 30)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def attempt_result(found: ReminderResult, practice: Practice, now: datetime) -> tuple[str, str]:
    """(result, detail) of one attempt, as the staff page and `receptionist reminders list` show
    it. A choice is kept on the attempt; an attempt without one was not reached (or is still
    under way), whatever later attempts of the reminder did."""
    attempt, reminder = found.attempt, found.reminder
    if attempt.choice:
        latest = attempt.attempt == reminder.attempts
        return attempt.choice, reminder.reason if latest else ""
    if attempt.attempt < reminder.attempts:  # a later attempt took over
        if attempt.finished_at is None:
            return ReminderStatus.PENDING, "no report from the call"
        return (
            ReminderStatus.PENDING,
            "answered, nothing chosen" if attempt.line == Line.ANSWERED else "",
        )
    if reminder.status == ReminderStatus.CALLING:
        if attempt.finished_at is None and reminder.lease_until and reminder.lease_until > now:
            return ReminderStatus.CALLING, ""
        return ReminderStatus.PENDING, "no report from the call"
    if reminder.status == ReminderStatus.PENDING:
        when = reminder.next_attempt_at.astimezone(practice.tz)
        return ReminderStatus.PENDING, _join(reminder.reason, f"next try from {when:%a %H:%M}")
    return reminder.status, reminder.reason


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
