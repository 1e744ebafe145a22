"""Staff booking, moving and cancelling: the agent's rules, through the agent's domain functions.

A call books only times it was offered (`Offers`). A staff screen offers times the same way
(`find_open_times`) but between two requests: the chosen time comes back in a form, so it is
checked again, the way the availability search would find it *now* (opening hours, the staff's
closures, the provider's hours and closures, the visit type's notice, other bookings). Only then
does it become the one offered option handed to `book_offered` / `reschedule_to_offered`, which
apply the patient rules (new or existing patient, caps, in the booking's own transaction) and let
the database refuse a double booking. So a double booking is impossible from the screen too, and
is reported in words. The times a screen offers leave out the patient's own visits (the visit
being moved excepted), as a call's do once the caller is known.

The store handed to the domain stamps `booked_by` with the staff member in the same write
(`AsStaff`): Today shows who booked each visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from receptionist.appointments import (
    BusyIndex,
    Offers,
    SchedulingError,
    Search,
    Slot,
    SlotGone,
    book_offered,
    find_open_times,
    reschedule_to_offered,
)
from receptionist.appointments.availability import localize_floor
from receptionist.domain.practice import Practice
from receptionist.store import Appointment, NotFound, Store
from receptionist.store.models import BOOKED

# A staff screen shows a whole day's open times, not a caller's three.
TIMES_ON_A_DAY = 40
LATER_TIMES = 6


class BookingRefused(Exception):
    """The rules or the database refused; `message` says why in staff words, `fresh` holds
    other open times when there are some."""

    def __init__(self, message: str, fresh: list[Slot] | None = None, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.fresh = fresh or []
        self.status = status


class AsStaff:
    """The store, as seen by the scheduling domain when a staff member books: `book` and
    `reschedule` also record who did it (same transaction); everything else is the store's."""

    def __init__(self, store: Store, user_id: str) -> None:
        self._store = store
        self._user_id = user_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def book(self, **values: Any) -> Appointment:
        return await self._store.book(booked_by=self._user_id, **values)

    async def reschedule(self, appointment_id: str, **values: Any) -> Appointment:
        return await self._store.reschedule(appointment_id, booked_by=self._user_id, **values)


@dataclass
class OfferedTimes:
    """What the screen offers: the day's open times, or the next ones if the day has none."""

    day: date
    slots: list[Slot] = field(default_factory=list)
    later: bool = False  # the slots are after `day` (nothing left on it)


async def offered_times(
    practice: Practice,
    store: Store,
    visit_id: str,
    day: date,
    *,
    now: datetime,
    provider_id: str | None = None,
    patient_id: str | None = None,
    moving: str | None = None,
) -> OfferedTimes:
    """Open times on `day` (`practice` with the staff's closures applied, as a call sees it),
    none clashing with `patient_id`'s own visits (`moving`: the one being moved does not count).
    `SchedulingError` when the day cannot be booked at all (past, beyond the horizon)."""
    slots = await find_open_times(
        practice,
        store,
        visit_id,
        now=now,
        patient_id=patient_id,
        moving=moving,
        date_from=day,
        date_to=day,
        provider_id=provider_id,
        limit=TIMES_ON_A_DAY,
    )
    if slots:
        return OfferedTimes(day, slots)
    try:
        later = await find_open_times(
            practice,
            store,
            visit_id,
            now=now,
            patient_id=patient_id,
            moving=moving,
            date_from=day + timedelta(days=1),
            provider_id=provider_id,
            limit=LATER_TIMES,
        )
    except SchedulingError:  # `day` is the last bookable day
        later = []
    return OfferedTimes(day, later, later=True)


async def still_open(
    practice: Practice,
    store: Store,
    visit_id: str,
    provider_id: str,
    start: datetime,
    *,
    now: datetime,
) -> Slot | None:
    """The slot at `start` with `provider_id` if the availability search would offer it now."""
    day = start.astimezone(practice.tz).date()
    search = Search.plan(
        practice, visit_id, now=now, date_from=day, date_to=day, provider_id=provider_id
    )
    window = (
        localize_floor(day, practice.tz),
        localize_floor(day + timedelta(days=1), practice.tz),
    )
    busy = BusyIndex(await store.busy([provider_id], *window))
    return next((s for s in search.on(day, busy) if s.start == start), None)


async def _offer(
    practice: Practice,
    store: Store,
    visit_id: str,
    provider_id: str,
    start: datetime,
    now: datetime,
    patient_id: str,
    moving: str | None = None,
) -> tuple[Offers, str]:
    """The chosen time as this request's one offered option, or `BookingRefused` (with other
    times for the patient). A time that clashes with the patient's own visit passes here: the
    database refuses it with that reason (`PatientBusy`), clearer than "no longer open"."""
    try:
        slot = await still_open(practice, store, visit_id, provider_id, start, now=now)
    except SchedulingError as exc:
        raise BookingRefused(str(exc), status=422) from None
    if slot is None:
        fresh = await _fresh(practice, store, visit_id, start, now, patient_id, moving)
        raise BookingRefused(
            "That time is no longer open: someone booked it meanwhile, or it is now closed or "
            "too soon for this visit. Choose another time.",
            fresh,
        )
    offers = Offers()
    [(option_id, _)] = offers.add([slot])
    return offers, option_id


async def _fresh(
    practice: Practice,
    store: Store,
    visit_id: str,
    start: datetime,
    now: datetime,
    patient_id: str,
    moving: str | None = None,
) -> list[Slot]:
    day = start.astimezone(practice.tz).date()
    try:
        offered = await offered_times(
            practice, store, visit_id, day, now=now, patient_id=patient_id, moving=moving
        )
        return offered.slots
    except SchedulingError:  # the day is past or beyond the horizon: nothing to offer instead
        return []


def _gone(exc: SlotGone) -> BookingRefused:
    if exc.reason == "too_soon":
        message = "That time is now too soon for this visit (it needs more notice)."
    else:
        message = "That time was just taken by another booking: nothing was booked twice."
    return BookingRefused(message + " Choose another time.", exc.fresh)


async def book(
    practice: Practice,
    store: Store,
    *,
    staff_id: str,
    patient_id: str,
    visit_id: str,
    provider_id: str,
    start: datetime,
    now: datetime,
) -> Appointment:
    """Books the chosen time for the patient, by the agent's rules; `BookingRefused` if not."""
    offers, option_id = await _offer(practice, store, visit_id, provider_id, start, now, patient_id)
    try:
        return await book_offered(
            practice,
            cast(Store, AsStaff(store, staff_id)),
            offers,
            option_id,
            patient_id=patient_id,
            call_id="",
            now=now,
        )
    except SlotGone as exc:
        raise _gone(exc) from None
    except SchedulingError as exc:  # new/existing patient rules, caps, the patient's own overlap
        raise BookingRefused(staff_sentence(str(exc)), status=422) from None


async def move(
    practice: Practice,
    store: Store,
    appointment: Appointment,
    *,
    staff_id: str,
    provider_id: str,
    start: datetime,
    now: datetime,
) -> Appointment:
    """Moves the appointment to the chosen time (same visit type); returns the new row."""
    if appointment.status != BOOKED:
        raise BookingRefused("That appointment is no longer booked (it was moved or cancelled).")
    offers, option_id = await _offer(
        practice,
        store,
        appointment.visit_type,
        provider_id,
        start,
        now,
        appointment.patient_id,
        appointment.id,
    )
    try:
        _, new = await reschedule_to_offered(
            practice,
            cast(Store, AsStaff(store, staff_id)),
            offers,
            option_id,
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            call_id="",
            now=now,
        )
    except NotFound:
        raise BookingRefused("That appointment is no longer booked.") from None
    except SlotGone as exc:
        raise _gone(exc) from None
    except SchedulingError as exc:
        raise BookingRefused(staff_sentence(str(exc)), status=422) from None
    return new


async def cancel(store: Store, appointment: Appointment) -> Appointment:
    try:
        return await store.cancel(appointment.id, patient_id=appointment.patient_id)
    except NotFound:
        raise BookingRefused("That appointment is no longer booked.") from None


def staff_sentence(rule: str) -> str:
    """A rule's message (written for the agent's coaching) as a sentence for staff."""
    first = rule.split(";")[0].strip()
    return first[:1].upper() + first[1:] + "."
