"""The appointments service: find times, book, move and cancel, for whoever acts.

Every "may this happen?" is answered here, once, whoever asks:

- **a caller** in a call (`Caller`: the verified patient, the call id, the call's `Offers`) books
  only a time offered in this call, at most the practice's per call (bookings under way count: a
  model may ask for several at once), and cancels only after hearing the policy;
- **a staff member** (`StaffMember`: the user id, stamped as `booked_by` in the same write)
  posts a time from a screen (`Posted`), re-checked against availability now, since it was
  offered in an earlier request;
- **a reminder call** (`Reminder`) cancels the visit it is about.

Then, for all of them: the time still has the notice its visit type needs (a staff member
may waive it, and only it, with `override_notice=True`: a walk-in, a move into today), the
visit type suits the patient (new or existing, as the book records it), and, in the booking's
own write with the patient serialised (`Book.book`), the patient's caps hold. The book refuses an
overlap; a time lost that way (or to the clock) is refused with fresh options. A refusal is a
`Refused` carrying a `Refusal` (data); the book being unreachable is `StoreUnavailable`, never
a refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import overload

from typing_extensions import Unpack

from receptionist.appointments.availability import (
    BusyIndex,
    Search,
    SearchOptions,
    find_open_times,
    localize_floor,
)
from receptionist.appointments.book import Book
from receptionist.appointments.offers import Offers, Slot
from receptionist.appointments.refusals import Reason, Refusal, Refused
from receptionist.appointments.rules import (
    check_call_limit,
    check_patient_kind,
    check_patient_limits,
    is_late_cancellation,
    require_visit_type,
    too_soon,
)
from receptionist.domain.practice import Practice, VisitType
from receptionist.store import Appointment, Standing
from receptionist.store.errors import NotFound, PatientBusy, SlotTaken
from receptionist.store.models import AppointmentStatus

# A staff screen shows a whole day's open times, not a caller's three.
TIMES_ON_A_DAY = 40
LATER_TIMES = 6

# --- who acts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """The verified (or registered) caller of a phone call: books only this call's offers.

    `policy_heard`: whether the cancellation policy for the appointment at hand was given in an
    earlier reply (the call's `Identity` knows); a cancel is refused until it was."""

    patient_id: str
    call_id: str
    offers: Offers
    policy_heard: bool = False


@dataclass(frozen=True)
class StaffMember:
    """A staff member in the staff app; `user_id` is stamped as the visit's `booked_by`."""

    user_id: str


@dataclass(frozen=True)
class Reminder:
    """A reminder call the practice placed, acting for the patient it reached."""

    patient_id: str
    call_id: str = ""


Actor = Caller | StaffMember | Reminder


@dataclass(frozen=True)
class Posted:
    """A time a staff screen posted back: for whom, what, with whom, when."""

    patient_id: str
    visit_type: str
    provider_id: str
    start: datetime


@dataclass(frozen=True)
class _Attempt:
    """One booking or move being written: who asks, for which patient, the slot, the caller's
    option id it came from ("" for staff) and the visit being moved (None for a booking)."""

    actor: Caller | StaffMember
    patient_id: str
    slot: Slot
    option_id: str = ""
    moving: str | None = None

    @property
    def call_id(self) -> str:
        return self.actor.call_id if isinstance(self.actor, Caller) else ""

    @property
    def booked_by(self) -> str | None:
        return self.actor.user_id if isinstance(self.actor, StaffMember) else None

    def drop_option(self) -> None:
        """A time the book can no longer give leaves the caller's offers for good."""
        if isinstance(self.actor, Caller):
            self.actor.offers.discard(self.option_id)


# --- what happened ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    slot: Slot


@dataclass(frozen=True)
class Terms:
    """The terms of cancelling (or moving) a visit now: late (inside the notice) or not, and
    the practice's policy."""

    late: bool
    policy: str

    @property
    def late_policy(self) -> str:
        """The policy the patient must be told because the change is late; "" when none applies."""
        return self.policy if self.late else ""


@dataclass(frozen=True)
class Moved:
    """A moved visit, with the terms it was moved on (inside the notice, a policy may apply)."""

    old: Appointment
    new: Appointment
    terms: Terms


@dataclass(frozen=True)
class Cancelled:
    """A cancelled visit, with the terms it was cancelled on."""

    appointment: Appointment
    terms: Terms


@dataclass
class DayTimes:
    """What a staff screen offers: a day's open times, or the next ones if the day has none."""

    day: date
    slots: list[Slot] = field(default_factory=list)
    later: bool = False  # the slots are after `day` (nothing left on it)


def without_notice(practice: Practice) -> Practice:
    """The practice as a staff override of the callers' notice sees it: every visit type
    bookable from now on. Nothing else changes: the past, opening and provider hours, closures,
    other bookings, the patient's own visits, the visit type's patients and the caps still hold."""
    waived = [v.model_copy(update={"lead_time_hours": 0.0}) for v in practice.visit_types]
    return practice.model_copy(update={"visit_types": waived})


def _staff_only(actor: Actor, override_notice: bool) -> None:
    if override_notice and not isinstance(actor, StaffMember):
        raise TypeError("only a staff member may book inside the callers' notice")


# --- the service --------------------------------------------------------------------------------


class Appointments:
    """One practice's appointments over a `Book`. Cheap: build one where it is needed."""

    def __init__(self, book: Book, practice: Practice) -> None:
        self._book = book
        self.practice = practice

    # --- finding times ---------------------------------------------------------------------------

    async def find_times(
        self,
        visit_type: str,
        *,
        now: datetime,
        patient_id: str | None = None,
        moving: str | None = None,
        **options: Unpack[SearchOptions],
    ) -> list[Slot]:
        """Up to three open times (`availability.find_open_times`), none clashing with the
        patient's own visits once `patient_id` is known (`moving`: the visit being moved)."""
        return await find_open_times(
            self.practice,
            self._book,
            visit_type,
            now=now,
            patient_id=patient_id,
            moving=moving,
            **options,
        )

    async def times_on(
        self,
        visit_type: str,
        day: date,
        *,
        now: datetime,
        provider_id: str | None = None,
        patient_id: str | None = None,
        moving: str | None = None,
        override_notice: bool = False,
    ) -> DayTimes:
        """A staff screen's times: every open time on `day`, or the next few after it. `Refused`
        when the day cannot be searched at all (past, beyond the horizon). `override_notice`:
        from now on, not from the callers' notice (a staff member's walk-in or same-day move)."""
        if override_notice:
            return await Appointments(self._book, without_notice(self.practice)).times_on(
                visit_type,
                day,
                now=now,
                provider_id=provider_id,
                patient_id=patient_id,
                moving=moving,
            )
        slots = await self.find_times(
            visit_type,
            now=now,
            patient_id=patient_id,
            moving=moving,
            date_from=day,
            date_to=day,
            provider_id=provider_id,
            limit=TIMES_ON_A_DAY,
        )
        if slots:
            return DayTimes(day, slots)
        try:
            later = await self.find_times(
                visit_type,
                now=now,
                patient_id=patient_id,
                moving=moving,
                date_from=day + timedelta(days=1),
                provider_id=provider_id,
                limit=LATER_TIMES,
            )
        except Refused:  # `day` is the last bookable day
            later = []
        return DayTimes(day, later, later=True)

    async def still_open(
        self, visit_type: str, provider_id: str, start: datetime, *, now: datetime
    ) -> Slot | None:
        """The slot at `start` with `provider_id` if the availability search would offer it now.
        A clash with the patient's own visit passes here: the book refuses it with that reason
        (`PatientBusy`), clearer than "no longer open"."""
        tz = self.practice.tz
        day = start.astimezone(tz).date()
        search = Search.plan(
            self.practice, visit_type, now=now, date_from=day, date_to=day, provider_id=provider_id
        )
        window = (localize_floor(day, tz), localize_floor(day + timedelta(days=1), tz))
        busy = BusyIndex(await self._book.busy([provider_id], *window))
        return next((s for s in search.on(day, busy) if s.start == start), None)

    # --- booking and moving ----------------------------------------------------------------------

    def offered(self, caller: Caller, option_id: str) -> Slot:
        """The slot a caller chose, if this call offered it and has not booked it already. Ask
        before committing (a tool disables interruptions only for a booking that may happen)."""
        if caller.offers.was_booked(option_id):
            raise Refused(Refusal(Reason.ALREADY_BOOKED, asked=option_id[:40]))
        slot = caller.offers.get(option_id)
        if slot is None:
            raise Refused(Refusal(Reason.NOT_OFFERED, asked=option_id[:40]))
        return slot

    @overload
    async def book(self, actor: Caller, choice: str, *, now: datetime) -> Booked: ...
    @overload
    async def book(
        self, actor: StaffMember, choice: Posted, *, now: datetime, override_notice: bool = False
    ) -> Booked: ...

    async def book(
        self,
        actor: Caller | StaffMember,
        choice: str | Posted,
        *,
        now: datetime,
        override_notice: bool = False,
    ) -> Booked:
        """Books the chosen time: a caller's offered option id, or a staff screen's posted time.
        `Refused` if a rule or the book refuses (nothing is written then). `override_notice`
        (staff only): the time may be inside the callers' notice; every other rule holds."""
        _staff_only(actor, override_notice)
        if override_notice:
            assert isinstance(actor, StaffMember) and isinstance(choice, Posted)
            waived = Appointments(self._book, without_notice(self.practice))
            return await waived.book(actor, choice, now=now)
        if isinstance(actor, Caller):
            assert isinstance(choice, str)
            slot = self.offered(actor, choice)
            visit = require_visit_type(self.practice, slot.visit_type)
            check_call_limit(self.practice, booked_in_call=actor.offers.claimed)
            with actor.offers.booking():  # no await since the check: parallel calls count this one
                attempt = _Attempt(actor, actor.patient_id, slot, option_id=choice)
                return await self._write_booking(attempt, visit, now)
        assert isinstance(choice, Posted)
        slot = await self._posted(choice, now=now)
        visit = require_visit_type(self.practice, slot.visit_type)
        return await self._write_booking(_Attempt(actor, choice.patient_id, slot), visit, now)

    async def _write_booking(self, attempt: _Attempt, visit: VisitType, now: datetime) -> Booked:
        await self._check_notice(attempt, visit, now)
        slot = attempt.slot

        def check(standing: Standing) -> None:
            check_patient_limits(self.practice, visit, standing)

        write = self._book.book(
            practice_id=self.practice.id,
            provider_id=slot.provider_id,
            patient_id=attempt.patient_id,
            visit_type=slot.visit_type,
            starts_at=slot.start,
            ends_at=slot.end,
            call_id=attempt.call_id,
            booked_by=attempt.booked_by,
            check=check,
            now=now,
        )
        appointment = await self._commit(write, attempt, now)
        return Booked(appointment, slot)

    @overload
    async def move(
        self, actor: Caller, appointment_id: str, choice: str, *, now: datetime
    ) -> Moved: ...
    @overload
    async def move(
        self,
        actor: StaffMember,
        appointment_id: str,
        choice: Posted,
        *,
        now: datetime,
        override_notice: bool = False,
    ) -> Moved: ...

    async def move(
        self,
        actor: Caller | StaffMember,
        appointment_id: str,
        choice: str | Posted,
        *,
        now: datetime,
        override_notice: bool = False,
    ) -> Moved:
        """Moves the patient's booked appointment to the chosen time (same visit type). A move
        adds no visit, so the caps do not apply; the visit type must still suit the patient.
        `override_notice` (staff only): the new time may be inside the callers' notice."""
        _staff_only(actor, override_notice)
        if override_notice:
            assert isinstance(actor, StaffMember) and isinstance(choice, Posted)
            waived = Appointments(self._book, without_notice(self.practice))
            return await waived.move(actor, appointment_id, choice, now=now)
        posted = choice if isinstance(choice, Posted) else None
        option_id = choice if isinstance(choice, str) else ""
        if posted is not None:
            patient_id = posted.patient_id
        elif isinstance(actor, Caller):
            patient_id = actor.patient_id
        else:
            raise TypeError("staff move a visit to a Posted time, not an option id")
        old = await self._book.get_appointment(appointment_id)
        if old is None or old.patient_id != patient_id or old.status != AppointmentStatus.BOOKED:
            raise Refused(Refusal(Reason.NOT_BOOKED))
        if posted is None:
            slot = actor.offers.get(option_id) if isinstance(actor, Caller) else None
            if slot is None:
                raise Refused(Refusal(Reason.NOT_OFFERED, asked=option_id[:40]))
        else:
            slot = await self._posted(posted, now=now, moving=appointment_id)
        visit = require_visit_type(self.practice, slot.visit_type)
        is_new = await self._book.is_new_patient(patient_id, now=now)
        check_patient_kind(visit, is_new_patient=is_new)
        attempt = _Attempt(actor, patient_id, slot, option_id=option_id, moving=appointment_id)
        await self._check_notice(attempt, visit, now)
        if slot.visit_type != old.visit_type:
            raise Refused(Refusal(Reason.WRONG_VISIT_TYPE, visit_type=old.visit_type))
        write = self._book.reschedule(
            appointment_id,
            patient_id=patient_id,
            provider_id=slot.provider_id,
            starts_at=slot.start,
            ends_at=slot.end,
            call_id=attempt.call_id,
            booked_by=attempt.booked_by,
        )
        new = await self._commit(write, attempt, now)
        terms = self.terms(old, now=now)
        return Moved(old, new, terms)

    async def _posted(self, posted: Posted, *, now: datetime, moving: str | None = None) -> Slot:
        """A staff screen's posted time, if availability would offer it now; else `Refused`
        (`NO_LONGER_OPEN`) with the patient's other times on that day."""
        slot = await self.still_open(posted.visit_type, posted.provider_id, posted.start, now=now)
        if slot is None:
            day = posted.start.astimezone(self.practice.tz).date()
            try:
                offered = await self.times_on(
                    posted.visit_type, day, now=now, patient_id=posted.patient_id, moving=moving
                )
                fresh = tuple(offered.slots)
            except Refused:  # the day is past or beyond the horizon: nothing to offer instead
                fresh = ()
            raise Refused(Refusal(Reason.NO_LONGER_OPEN, fresh=fresh))
        return slot

    async def _check_notice(self, attempt: _Attempt, visit: VisitType, now: datetime) -> None:
        """`TOO_SOON` (with fresh options) if the time no longer has enough notice."""
        if too_soon(visit, attempt.slot.start, now):
            attempt.drop_option()
            raise Refused(Refusal(Reason.TOO_SOON, fresh=await self._fresh(attempt, now)))

    async def _fresh(self, attempt: _Attempt, now: datetime) -> tuple[Slot, ...]:
        """Other times for the same visit from the same day on, none clashing with the patient's."""
        slot = attempt.slot
        found = await self.find_times(
            slot.visit_type,
            now=now,
            date_from=slot.day,
            patient_id=attempt.patient_id,
            moving=attempt.moving,
        )
        return tuple(found)

    async def _commit(
        self, write: Awaitable[Appointment], attempt: _Attempt, now: datetime
    ) -> Appointment:
        """Runs a booking write; a slot the book refuses as taken leaves the offers for good."""
        try:
            result = await write
        except PatientBusy:
            raise Refused(Refusal(Reason.PATIENT_BUSY)) from None
        except SlotTaken:
            attempt.drop_option()
            raise Refused(Refusal(Reason.TAKEN, fresh=await self._fresh(attempt, now))) from None
        except NotFound:  # moved or cancelled meanwhile
            raise Refused(Refusal(Reason.NOT_BOOKED)) from None
        if isinstance(attempt.actor, Caller):
            attempt.actor.offers.mark_booked(attempt.option_id)
        return result

    # --- cancelling ------------------------------------------------------------------------------

    def terms(self, appointment: Appointment, *, now: datetime) -> Terms:
        """The late-cancellation policy for this visit, as of `now`: the one place it is decided."""
        return Terms(
            late=is_late_cancellation(self.practice, appointment, now),
            policy=self.practice.policies.cancellation,
        )

    async def terms_for(self, appointment_id: str, *, now: datetime) -> Terms:
        """`terms` for an appointment by id (not late when there is no such appointment)."""
        appointment = await self._book.get_appointment(appointment_id)
        if appointment is None:
            return Terms(late=False, policy=self.practice.policies.cancellation)
        return self.terms(appointment, now=now)

    def may_cancel(self, actor: Actor) -> None:
        """`POLICY_NOT_HEARD` if a caller has not heard the cancellation policy yet. Ask before
        committing (a tool disables interruptions only for a cancellation that may happen)."""
        if isinstance(actor, Caller) and not actor.policy_heard:
            raise Refused(Refusal(Reason.POLICY_NOT_HEARD))

    async def confirm(self, patient_id: str, appointment_id: str, *, now: datetime) -> Appointment:
        """The patient confirms their booked visit (a C answered by text), in the practice's
        book; `Refused` (NOT_BOOKED) when it is no longer theirs and booked."""
        try:
            return await self._book.confirm(appointment_id, patient_id=patient_id, at=now)
        except NotFound:
            raise Refused(Refusal(Reason.NOT_BOOKED)) from None

    async def cancel(
        self, actor: Actor, appointment_id: str, *, now: datetime, patient_id: str = ""
    ) -> Cancelled:
        """Cancels the patient's booked appointment (`patient_id`: whose, for staff; a caller or
        a reminder call acts for its own patient). Its terms as of `now` come back with it."""
        self.may_cancel(actor)
        if not isinstance(actor, StaffMember):
            patient_id = actor.patient_id
        try:
            cancelled = await self._book.cancel(appointment_id, patient_id=patient_id)
        except NotFound:
            raise Refused(Refusal(Reason.NOT_BOOKED)) from None
        terms = self.terms(cancelled, now=now)
        return Cancelled(cancelled, terms)
