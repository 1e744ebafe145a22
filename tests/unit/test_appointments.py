"""The appointments service over an in-memory `Book`: who may book, move and cancel what, and
how each refusal comes back (data, phrased by each side). The SQL store's half of the contract
(atomic caps, overlap refusal under concurrency) is tested in tests/store/test_concurrency.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import pytest

from receptionist.appointments import (
    Appointments,
    Book,
    Caller,
    Offers,
    Posted,
    Reason,
    Refusal,
    Refused,
    Reminder,
    StaffMember,
)
from receptionist.domain.practice import parse_practice
from receptionist.store import Appointment, Busy, Standing
from receptionist.store.errors import NotFound, PatientBusy, SlotTaken, StoreUnavailable
from receptionist.store.models import AppointmentStatus
from receptionist.web.booking import staff_words, status
from tests.support.profiles import SCHEDULING
from tests.unit.test_availability import MONDAY, at
from tools._refusals import coaching, rule

PRACTICE = parse_practice(
    {
        **SCHEDULING,
        "booking": {"max_per_call": 2, "max_upcoming_per_patient": 5},
        "policies": {"cancellation": "A late fee applies.", "cancellation_notice_hours": 24},
    }
)
NOW = at(MONDAY, 7)


class MemoryBook:
    """A `Book` in memory: overlap refusal and the caps check as the SQL store does them."""

    def __init__(self, *, new_patients: Iterable[str] = ()) -> None:
        self.rows: list[Appointment] = []
        self.new = set(new_patients)
        self.unreachable = False

    def _up(self) -> None:
        if self.unreachable:
            raise StoreUnavailable("down")

    def _booked(self) -> list[Appointment]:
        return [a for a in self.rows if a.status == AppointmentStatus.BOOKED]

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        self._up()
        ids = set(provider_ids)
        return [
            Busy(a.provider_id, a.starts_at, a.ends_at)
            for a in self._booked()
            if a.provider_id in ids and a.starts_at < end and a.ends_at > start
        ]

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        self._up()
        return [
            Busy(a.provider_id, a.starts_at, a.ends_at)
            for a in self._booked()
            if a.patient_id == patient_id and a.id != moving
            if a.starts_at < end and a.ends_at > start
        ]

    async def is_new_patient(self, patient_id: str, *, now: datetime) -> bool:
        self._up()
        return patient_id in self.new

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        self._up()
        return next((a for a in self.rows if a.id == appointment_id), None)

    def _write(self, row: Appointment) -> None:
        for a in self._booked():
            if a.starts_at < row.ends_at and a.ends_at > row.starts_at:
                if a.patient_id == row.patient_id:
                    raise PatientBusy("busy")
                if a.provider_id == row.provider_id:
                    raise SlotTaken("taken")
        self.rows.append(row)

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
        self._up()
        if check is not None:
            mine = [a for a in self._booked() if a.patient_id == patient_id]
            kind = sum(1 for a in mine if a.visit_type == visit_type)
            check(Standing(patient_id in self.new, len(mine), kind))
        row = Appointment(
            id=appointment_id or str(uuid.uuid4()),
            practice_id=practice_id,
            provider_id=provider_id,
            patient_id=patient_id,
            visit_type=visit_type,
            starts_at=starts_at,
            ends_at=ends_at,
            status=AppointmentStatus.BOOKED,
            call_id=call_id,
            booked_by=booked_by,
        )
        self._write(row)
        return row

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
        self._up()
        old = await self._own(appointment_id, patient_id)
        old.status = AppointmentStatus.RESCHEDULED
        try:
            return await self.book(
                practice_id=old.practice_id,
                provider_id=provider_id,
                patient_id=patient_id,
                visit_type=old.visit_type,
                starts_at=starts_at,
                ends_at=ends_at,
                call_id=call_id,
                booked_by=booked_by,
            )
        except Exception:
            old.status = AppointmentStatus.BOOKED
            raise

    async def cancel(self, appointment_id: str, *, patient_id: str) -> Appointment:
        self._up()
        row = await self._own(appointment_id, patient_id)
        row.status = AppointmentStatus.CANCELLED
        return row

    async def _own(self, appointment_id: str, patient_id: str) -> Appointment:
        row = await self.get_appointment(appointment_id)
        if row is None or row.patient_id != patient_id or row.status != AppointmentStatus.BOOKED:
            raise NotFound("no such appointment")
        return row


def service(book: MemoryBook) -> Appointments:
    port: Book = book  # structural: the in-memory book is a `Book` as the SQL store is
    return Appointments(port, PRACTICE)


async def offer(appointments: Appointments, caller: Caller, visit: str = "exam") -> list[str]:
    slots = await appointments.find_times(visit, now=NOW, patient_id=caller.patient_id)
    return [option_id for option_id, _ in caller.offers.add(slots)]


async def refusal_of(pending) -> Refusal:
    with pytest.raises(Refused) as caught:
        await pending
    return caught.value.refusal


# --- a caller ------------------------------------------------------------------------------------


async def test_a_caller_books_an_offered_time_once_and_nothing_else():
    book = MemoryBook()
    appointments = service(book)
    caller = Caller("ann", "CA_1", Offers())
    first, *_ = await offer(appointments, caller)
    booked = await appointments.book(caller, first, now=NOW)
    assert (booked.appointment.patient_id, booked.appointment.call_id) == ("ann", "CA_1")
    assert booked.appointment.booked_by is None and booked.slot.provider_id == "dr-a"
    again = await refusal_of(appointments.book(caller, first, now=NOW))
    assert again.reason is Reason.ALREADY_BOOKED
    invented = await refusal_of(appointments.book(caller, "opt-nope", now=NOW))
    assert (invented.reason, invented.asked) == (Reason.NOT_OFFERED, "opt-nope")
    assert [a.patient_id for a in book.rows] == ["ann"]


async def test_the_per_call_cap_counts_the_calls_bookings():
    appointments = service(MemoryBook())
    caller = Caller("ann", "CA_1", Offers())
    options = await offer(appointments, caller)
    for option_id in options[:2]:
        await appointments.book(caller, option_id, now=NOW)
    refused = await refusal_of(appointments.book(caller, options[2], now=NOW))
    assert (refused.reason, refused.count) == (Reason.CALL_LIMIT, 2)


async def test_a_time_lost_to_a_race_is_refused_with_fresh_times_and_leaves_the_offers():
    book = MemoryBook()
    appointments = service(book)
    caller = Caller("ann", "CA_1", Offers())
    first, *_ = await offer(appointments, caller)
    chosen = caller.offers.get(first)
    assert chosen is not None
    other = Caller("bob", "CA_2", Offers())  # another call, booking the same time meanwhile
    [(theirs, _)] = other.offers.add([chosen])
    await appointments.book(other, theirs, now=NOW)
    taken = await refusal_of(appointments.book(caller, first, now=NOW))
    assert taken.reason is Reason.TAKEN and taken.fresh and chosen not in taken.fresh
    assert caller.offers.get(first) is None and not caller.offers.was_booked(first)
    assert [a.patient_id for a in book.rows] == ["bob"]


async def test_an_offer_that_ran_out_of_notice_is_refused_as_too_soon():
    appointments = service(MemoryBook())
    caller = Caller("ann", "CA_1", Offers())
    first, *_ = await offer(appointments, caller)
    chosen = caller.offers.get(first)
    assert chosen is not None
    start = chosen.start
    late = await refusal_of(appointments.book(caller, first, now=start - timedelta(minutes=30)))
    assert late.reason is Reason.TOO_SOON and caller.offers.get(first) is None


async def test_the_patients_record_refuses_a_visit_for_the_other_kind_of_patient():
    appointments = service(MemoryBook())
    caller = Caller("ann", "CA_1", Offers())  # an existing patient
    first, *_ = await offer(appointments, caller, "new")
    refused = await refusal_of(appointments.book(caller, first, now=NOW))
    assert (refused.reason, refused.visit) == (Reason.NEW_PATIENTS_ONLY, "new patient exam")


async def test_a_move_keeps_the_visit_type_and_reports_whether_it_was_late():
    book = MemoryBook()
    appointments = service(book)
    caller = Caller("ann", "CA_1", Offers())
    first, second, *_ = await offer(appointments, caller)
    old = (await appointments.book(caller, first, now=NOW)).appointment
    moved = await appointments.move(caller, old.id, second, now=NOW)
    assert (moved.old.status, moved.new.status) == (
        AppointmentStatus.RESCHEDULED,
        AppointmentStatus.BOOKED,
    )
    assert moved.terms.late is (old.starts_at - NOW < timedelta(hours=24))
    assert moved.terms.policy == "A late fee applies."
    cleaning, *_ = await offer(appointments, caller, "clean")
    wrong = await refusal_of(appointments.move(caller, moved.new.id, cleaning, now=NOW))
    assert (wrong.reason, wrong.visit_type) == (Reason.WRONG_VISIT_TYPE, "exam")
    gone = await refusal_of(appointments.move(caller, old.id, cleaning, now=NOW))
    assert gone.reason is Reason.NOT_BOOKED


async def test_a_caller_cancels_only_after_hearing_the_policy():
    book = MemoryBook()
    appointments = service(book)
    caller = Caller("ann", "CA_1", Offers())
    first, *_ = await offer(appointments, caller)
    booked = (await appointments.book(caller, first, now=NOW)).appointment
    unheard = await refusal_of(appointments.cancel(caller, booked.id, now=NOW))
    assert unheard.reason is Reason.POLICY_NOT_HEARD and booked.status == AppointmentStatus.BOOKED
    terms = await appointments.terms_for(booked.id, now=NOW)
    assert terms.late and terms.policy == "A late fee applies."  # the visit is today
    heard = Caller("ann", "CA_1", caller.offers, policy_heard=True)
    cancelled = await appointments.cancel(heard, booked.id, now=NOW)
    assert cancelled.appointment.status == AppointmentStatus.CANCELLED and cancelled.terms.late
    assert (await refusal_of(appointments.cancel(heard, booked.id, now=NOW))).reason is (
        Reason.NOT_BOOKED
    )


async def test_a_reminder_call_cancels_its_visit_and_someone_elses_is_not_booked():
    book = MemoryBook()
    appointments = service(book)
    caller = Caller("ann", "CA_1", Offers())
    first, *_ = await offer(appointments, caller)
    booked = (await appointments.book(caller, first, now=NOW)).appointment
    stranger = await refusal_of(appointments.cancel(Reminder("bob"), booked.id, now=NOW))
    assert stranger.reason is Reason.NOT_BOOKED and booked.status == AppointmentStatus.BOOKED
    early = NOW - timedelta(days=3)
    cancelled = await appointments.cancel(Reminder("ann", "CA_R"), booked.id, now=early)
    assert cancelled.appointment.status == AppointmentStatus.CANCELLED and not cancelled.terms.late


# --- a staff member ------------------------------------------------------------------------------


async def test_staff_book_a_posted_time_stamped_with_who_booked_it():
    book = MemoryBook()
    appointments = service(book)
    posted = Posted("ann", "exam", "dr-a", at(MONDAY, 9))
    booked = await appointments.book(StaffMember("user-1"), posted, now=NOW)
    assert (booked.appointment.booked_by, booked.appointment.call_id) == ("user-1", "")
    again = Posted("bob", "exam", "dr-a", at(MONDAY, 9))  # the screen was drawn before
    gone = await refusal_of(appointments.book(StaffMember("user-2"), again, now=NOW))
    assert gone.reason is Reason.NO_LONGER_OPEN and gone.fresh
    assert all(s.start != at(MONDAY, 9) or s.provider_id != "dr-a" for s in gone.fresh)
    clash = Posted("ann", "exam", "dr-b", at(MONDAY + timedelta(1), 13))
    await appointments.book(StaffMember("user-1"), clash, now=NOW)
    same_time = Posted("ann", "exam", "dr-a", at(MONDAY + timedelta(1), 13))
    busy = await refusal_of(appointments.book(StaffMember("user-1"), same_time, now=NOW))
    assert busy.reason is Reason.PATIENT_BUSY
    assert len(book.rows) == 2


async def test_staff_move_re_checks_the_posted_time_and_stamp_the_new_row():
    book = MemoryBook()
    appointments = service(book)
    staff = StaffMember("user-1")
    old = await appointments.book(staff, Posted("ann", "exam", "dr-a", at(MONDAY, 9)), now=NOW)
    to = Posted("ann", "exam", "dr-a", at(MONDAY, 14))
    moved = await appointments.move(staff, old.appointment.id, to, now=NOW)
    assert moved.new.booked_by == "user-1" and moved.old.status == AppointmentStatus.RESCHEDULED
    closed = Posted("ann", "exam", "dr-a", at(MONDAY, 12, 30))  # lunch
    refused = await refusal_of(appointments.move(staff, moved.new.id, closed, now=NOW))
    assert refused.reason is Reason.NO_LONGER_OPEN


async def test_an_unreachable_book_is_not_a_refusal():
    book = MemoryBook()
    book.unreachable = True
    appointments = service(book)
    with pytest.raises(StoreUnavailable):
        await appointments.find_times("exam", now=NOW)
    with pytest.raises(StoreUnavailable):
        await appointments.book(
            StaffMember("u"), Posted("ann", "exam", "dr-a", at(MONDAY, 9)), now=NOW
        )


# --- each side phrases a refusal in its own words -----------------------------------------------


def test_every_reason_has_coaching_for_the_model():
    class State:  # only fresh options need the call's state (none here)
        pass

    for reason in Reason:
        line = coaching(State(), Refusal(reason, count=3, visit="exam"))  # type: ignore[arg-type]
        assert "cannot be done" not in line, reason
    assert rule(Refusal(Reason.CALL_LIMIT, count=3)) == (
        "this call has already booked 3 visits, the most one call can book; offer to take a "
        "message so the team can help with more"
    )


def test_staff_read_sentences_without_the_models_coaching():
    staff_meets = set(Reason) - {
        Reason.CALL_LIMIT,
        Reason.NOT_OFFERED,
        Reason.ALREADY_BOOKED,
        Reason.POLICY_NOT_HEARD,
    }
    for reason in staff_meets:
        figures = Refusal(
            reason, asked="x", count=3, visit="new patient exam", provider="Dr. A", day=MONDAY
        )
        words = staff_words(figures)
        assert "cannot be done" not in words and "offer" not in words.lower(), (reason, words)
        assert words[0].isupper() or words[0].isdigit(), words
    limit = Refusal(Reason.SECOND_NEW_PATIENT_VISIT, visit="new patient exam")
    assert staff_words(limit) == "This patient already has a new patient exam booked."
    assert status(limit) == 422 and status(Refusal(Reason.TAKEN)) == 409
