"""A reminder call's rules, without LiveKit: what is said, what each answer does, what follows.

`ReminderCall` is one call's progress: the visit, who answered, and what the patient chose
(confirm, cancel, another time, stop calling, wrong person, a voicemail, the front desk). The
keypad (receptionist/call/outbound.py: `ReminderKeys`) and the model's tools (tools/reminders.py)
both act through its methods, so a keypress and a spoken answer do exactly the same thing.
Cancelling goes through the appointments service (its late-cancellation policy included);
`finish` records the attempt once, and where the reminder goes when nothing was chosen
(`rules.after_unanswered`). The LiveKit side (dialling, AMD, the keypad, the session) stays in
receptionist/call/outbound.py and sets `line`, `sip_status`, `answered_by` and `call_id` here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

from receptionist.appointments import Appointments, Refused, Reminder
from receptionist.domain.languages import Catalogue, catalogue
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice
from receptionist.domain.spoken import spoken_number, spoken_time
from receptionist.reminders.rules import (
    Next,
    ReminderJob,
    after_unanswered,
    instead_of_dialling,
)
from receptionist.store import Store, StoreError
from receptionist.store.models import Appointment, AppointmentStatus, Patient, ReminderStatus

log = logging.getLogger("receptionist.reminders")


class Stage(StrEnum):
    IDENTITY = "identity"  # asked for the patient by first name
    CHOICE = "choice"  # the patient is on the line and has heard the appointment
    DONE = "done"


class ReminderCall:
    """One reminder call's progress: the visit, who answered, and what the patient chose.

    The keypad handler and the tools both act through these methods, so a keypress and the
    spoken answer do exactly the same thing."""

    def __init__(
        self,
        job: ReminderJob,
        practice: Practice,
        appointment: Appointment,
        patient: Patient,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.job = job
        self.practice = practice
        self.appointment = appointment
        self.patient = patient
        self.store = store
        self.clock = clock
        self.stage = Stage.IDENTITY
        self.status = ""  # the reminder status this call chose ("" while nothing is chosen)
        self.line: Line | None = None
        self.sip_status: int | None = None
        self.answered_by = ""
        self.call_id = ""
        self.instead: Next | None = None  # what the reminder became when the call was not dialled
        self._finishing: asyncio.Future[None] | None = None

    # --- what is said --------------------------------------------------------------------

    @property
    def first_name(self) -> str:
        return (self.patient.full_name.split() or ["there"])[0]

    @property
    def language(self) -> str:
        """The patient's language (the one they last spoke with us), when the practice speaks
        it; else the practice's default."""
        spoken = self.practice.languages
        return self.patient.language if self.patient.language in spoken else spoken[0]

    @property
    def words(self) -> Catalogue:
        return catalogue(self.language)

    def opening(self) -> str:
        return self.words.remind("opening", practice=self.practice.name, first_name=self.first_name)

    def visit_line(self) -> str:
        visit = self.practice.visit_type(self.appointment.visit_type)
        # A visit type's name is the profile's (one language); other languages say "appointment".
        same = self.language == self.practice.languages[0]
        what = visit.name if visit and same else self.words.reminder["appointment"]
        local_today = self.clock().astimezone(self.practice.tz).date()
        when = spoken_time(self.appointment.starts_at, self.practice.tz, local_today, self.language)
        return self.words.remind("visit", first_name=self.first_name, what=what, when=when)

    def voicemail(self) -> str:
        """The message left on a machine: no name, no visit type, nothing about health."""
        number = spoken_number(
            self.practice.reminders.callback_number or self.practice.numbers[0],
            self.practice.region,
        )
        return self.words.remind("voicemail", practice=self.practice.name, number=number)

    # --- before dialling -----------------------------------------------------------------

    async def may_dial(self) -> bool:
        """Whether the book still wants this call, read just before dialling: the visit may have
        been cancelled or moved, or the patient opted out, since the runner claimed it. If not,
        `finish` records the attempt as not dialled, with what the reminder became and why."""
        try:
            check = await self.store.reminders.dial_check(self.job.reminder_id)
        except StoreError as exc:  # the book cannot say: no call now, tried again later
            log.warning("reminder not checked before dialling (%s)", type(exc).__name__)
            self.line = Line.FAILED
            return False
        self.instead = instead_of_dialling(
            check, attempt=self.job.attempt, starts_at=self.appointment.starts_at, now=self.clock()
        )
        if self.instead is None:
            return True
        self.line = Line.NOT_DIALLED
        log.info("reminder call not placed", extra={"status": self.instead.status})
        return False

    # --- what the patient does -----------------------------------------------------------

    def patient_confirmed_identity(self) -> str:
        self.stage = Stage.CHOICE
        return self.visit_line()

    async def confirm(self) -> str:
        await self._choose(ReminderStatus.CONFIRMED)
        return self.words.remind("confirmed")

    async def cancel(self) -> str:
        """Cancels the visit through the appointments service; the patient hears the policy when
        it was late (the service decides), and a visit already gone is said so."""
        actor = Reminder(self.patient.id, self.call_id)
        try:
            cancelled = await Appointments(self.store.appointments, self.practice).cancel(
                actor, self.appointment.id, now=self.clock()
            )
        except Refused:  # NOT_BOOKED: cancelled or moved since the reminder was claimed
            await self._choose(ReminderStatus.CANCELLED, reason="already not booked")
            return self.words.remind("already_cancelled")
        await self._choose(ReminderStatus.CANCELLED)
        line = self.words.remind("cancelled")
        if cancelled.terms.late_policy:
            line += " " + self.words.remind("late_policy", policy=cancelled.terms.late_policy)
        return line + " " + self.words.remind("book_again")

    async def another_time(self) -> None:
        """The patient wants another time: the staff call back unless the call moves it."""
        self.status = ReminderStatus.CALL_BACK  # recorded when the call ends (moved, if it was)

    async def opt_out(self) -> str:
        now = self.clock()
        await self.store.reminders.opt_out(
            self.practice.id, self.patient.id, now=now, source="call", call_id=self.call_id
        )
        await self._choose(ReminderStatus.OPTED_OUT)
        return self.words.remind("opted_out")

    async def not_the_patient(self, *, wrong_number: bool) -> None:
        self.stage = Stage.DONE
        if wrong_number:
            await self._choose(ReminderStatus.WRONG_NUMBER)

    async def left_message(self) -> None:
        await self._choose(ReminderStatus.LEFT_MESSAGE)

    async def handed_to_staff(self) -> None:
        if not self.status:
            await self._choose(ReminderStatus.STAFF)

    async def _choose(self, status: ReminderStatus, reason: str = "") -> None:
        self.status = status
        self.stage = Stage.DONE
        held = await self.store.reminders.reminder_choice(
            self.job.reminder_id,
            attempt=self.job.attempt,
            status=status,
            now=self.clock(),
            reason=reason,
        )
        if not held:
            log.warning("reminder claimed again meanwhile: this call's choice not recorded")

    # --- how the call ended --------------------------------------------------------------

    async def finish(self) -> None:
        """Records how the attempt went (once): the line, who answered, and where the reminder
        goes when nothing was chosen (tried again after the spacing, or given up)."""
        if self._finishing is None:  # once, however many paths end the call
            self._finishing = asyncio.ensure_future(self._record())
        await asyncio.shield(self._finishing)

    async def _record(self) -> None:
        now = self.clock()
        if self.status == ReminderStatus.CALL_BACK:
            moved = await self.store.appointments.get_appointment(self.appointment.id)
            was_moved = moved is not None and moved.status == AppointmentStatus.RESCHEDULED
            await self._choose(ReminderStatus.MOVED if was_moved else ReminderStatus.CALL_BACK)
        line = self.line or Line.FAILED
        if (instead := self.instead) is not None:  # not dialled: a settled reminder stays so
            status, retry_at, reason = instead.status, instead.retry_at, instead.reason
        elif self.status:
            status, retry_at, reason = self.status, None, ""
        else:
            why = {
                Line.ANSWERED: "answered, nothing chosen",
                Line.BUSY: "busy",
                Line.NO_ANSWER: "no answer",
                Line.FAILED: "call failed",
            }[line]
            following = after_unanswered(self.practice, attempts=self.job.attempt, now=now, why=why)
            status, retry_at, reason = following.status, following.retry_at, following.reason
        await self.store.reminders.finish_reminder_attempt(
            self.job.reminder_id,
            attempt=self.job.attempt,
            now=now,
            line=line.value,
            answered_by=self.answered_by,
            sip_status=self.sip_status,
            call_id=self.call_id,
            status=status,
            retry_at=retry_at,
            reason=reason,
        )
        log.info(
            "reminder attempt recorded",
            extra={"line": line.value, "answered_by": self.answered_by, "status": status},
        )
