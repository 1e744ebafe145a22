"""Booking and moving an offered time: every rule checked here, the database has the last word.

"May this booking happen?" is answered here: the option was offered in this call, the call has
not booked its most (counted in the call's `Offers`, bookings under way included: a model may ask
for several at once), the time still has the notice the visit type needs, and then, in the
booking's own write transaction with the patient serialised (`Store.book`), the visit type is for
this kind of patient (new or existing, as the store records it) and the patient's caps hold. The
database then refuses an overlap; a time lost that way (or to the clock) comes back as `SlotGone`
with fresh options.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from receptionist.appointments.availability import find_open_times
from receptionist.appointments.offers import Offers, Slot
from receptionist.appointments.rules import (
    NotOffered,
    PatientLimit,
    WrongVisitType,
    check_call_limit,
    check_patient_kind,
    check_patient_limits,
    require_visit_type,
    too_soon,
)
from receptionist.domain.practice import Practice, VisitType
from receptionist.store import Appointment, NotFound, PatientBusy, SlotTaken, Standing, Store


class SlotGone(Exception):
    """The chosen time can no longer be booked; `fresh` holds new options.

    `reason`: "taken" (someone else booked it meanwhile) or "too_soon" (time passed and the visit
    type's notice no longer allows it): the caller hears the real cause."""

    def __init__(self, message: str, fresh: list[Slot], reason: str = "taken") -> None:
        super().__init__(message)
        self.fresh = fresh
        self.reason = reason


def _offered(practice: Practice, offers: Offers, option_id: str) -> tuple[Slot, VisitType]:
    """The offered slot for `option_id` and its visit type."""
    slot = offers.get(option_id)
    if slot is None:
        raise NotOffered(f"{option_id[:40]!r} is not a time offered in this call")
    return slot, require_visit_type(practice, slot.visit_type)


async def _check_notice(
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    slot: Slot,
    visit: VisitType,
    *,
    now: datetime,
    patient_id: str,
    moving: str | None = None,
) -> None:
    """`SlotGone` ("too_soon", with fresh options) if the time no longer has enough notice."""
    if too_soon(visit, slot.start, now):
        offers.discard(option_id)
        raise SlotGone(
            "that time is now too soon to book",
            await _fresh(practice, store, slot, now, patient_id, moving),
            "too_soon",
        )


async def _fresh(
    practice: Practice,
    store: Store,
    slot: Slot,
    now: datetime,
    patient_id: str,
    moving: str | None = None,
) -> list[Slot]:
    """Other times for the same visit from the same day on, none clashing with the patient's."""
    return await find_open_times(
        practice,
        store,
        slot.visit_type,
        now=now,
        date_from=slot.day,
        patient_id=patient_id,
        moving=moving,
    )


async def book_offered(
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    *,
    patient_id: str,
    call_id: str,
    now: datetime,
) -> Appointment:
    """Books an offered slot; `SlotGone` (with fresh options) if someone else just took it,
    `SchedulingError` / `PatientLimit` if a rule refuses it (nothing is written then)."""
    slot, visit = _offered(practice, offers, option_id)
    check_call_limit(practice, booked_in_call=offers.claimed)
    with offers.booking():  # no await since the check: parallel calls each count this one
        await _check_notice(
            practice, store, offers, option_id, slot, visit, now=now, patient_id=patient_id
        )

        def check(standing: Standing) -> None:
            check_patient_limits(practice, visit, standing)

        write = store.book(
            practice_id=practice.id,
            provider_id=slot.provider_id,
            patient_id=patient_id,
            visit_type=slot.visit_type,
            starts_at=slot.start,
            ends_at=slot.end,
            call_id=call_id,
            check=check,
            now=now,
        )
        return await _commit(write, practice, store, offers, option_id, slot, now, patient_id)


async def reschedule_to_offered(
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    *,
    appointment_id: str,
    patient_id: str,
    call_id: str,
    now: datetime,
) -> tuple[Appointment, Appointment]:
    """Moves the patient's appointment to an offered slot; returns (old, new)."""
    old = await store.get_appointment(appointment_id)
    if old is None or old.patient_id != patient_id:
        raise NotFound("no such appointment for this patient")
    slot, visit = _offered(practice, offers, option_id)
    # A move adds no visit, so the caps do not apply; the visit type must still suit the patient.
    check_patient_kind(visit, is_new_patient=await store.is_new_patient(patient_id, now=now))
    await _check_notice(
        practice,
        store,
        offers,
        option_id,
        slot,
        visit,
        now=now,
        patient_id=patient_id,
        moving=appointment_id,
    )
    if slot.visit_type != old.visit_type:
        raise WrongVisitType(old.visit_type)
    write = store.reschedule(
        appointment_id,
        patient_id=patient_id,
        provider_id=slot.provider_id,
        starts_at=slot.start,
        ends_at=slot.end,
        call_id=call_id,
    )
    new = await _commit(
        write, practice, store, offers, option_id, slot, now, patient_id, appointment_id
    )
    return old, new


async def _commit(
    write: Awaitable[Appointment],
    practice: Practice,
    store: Store,
    offers: Offers,
    option_id: str,
    slot: Slot,
    now: datetime,
    patient_id: str,
    moving: str | None = None,
) -> Appointment:
    """Runs a booking write; a slot the database refuses as taken leaves the offers for good."""
    try:
        result = await write
    except PatientBusy:
        raise PatientLimit(
            "this patient already has a visit at that time; offer one of the other times"
        ) from None
    except SlotTaken:
        offers.discard(option_id)
        raise SlotGone(
            "that time was just taken",
            await _fresh(practice, store, slot, now, patient_id, moving),
        ) from None
    offers.mark_booked(option_id)
    return result
