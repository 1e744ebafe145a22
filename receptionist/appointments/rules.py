"""Booking rules: which visit types exist, who may book them, how much notice they need, and when
a cancellation is late. Errors say what the rule is, in the caller's terms; the tools add what the
model should do next."""

from __future__ import annotations

from datetime import datetime, timedelta

from receptionist.domain.practice import PatientKind, Practice, VisitType
from receptionist.store import Appointment, Standing


class SchedulingError(ValueError):
    """A request the rules refuse; the message says what to ask or do instead."""


class NotOffered(SchedulingError):
    """The option id was not offered in this call (or has expired)."""


class WrongVisitType(SchedulingError):
    """A move to an option offered for another visit type; `visit_type` is the appointment's."""

    def __init__(self, visit_type: str) -> None:
        super().__init__(f"that option is for a different visit type than {visit_type!r}")
        self.visit_type = visit_type


class PatientLimit(SchedulingError):
    """A per-patient or per-call rule refuses another booking; the message says which."""


def check_call_limit(practice: Practice, *, booked_in_call: int) -> None:
    """One call cannot fill the book: `booked_in_call` counts its bookings made and under way."""
    if booked_in_call >= practice.booking.max_per_call:
        raise PatientLimit(
            f"this call has already booked {booked_in_call} visits, the most one call can book; "
            "offer to take a message so the team can help with more"
        )


def check_patient_limits(practice: Practice, visit: VisitType, standing: Standing) -> None:
    """The rules the patient's record decides: the visit is for their kind of patient, they hold
    no more upcoming visits than the practice books ahead, and one new-patient exam at most.

    Checked by `Store.book` against the `standing` it reads in the booking's own write
    transaction, so two bookings at once cannot both pass."""
    check_patient_kind(visit, is_new_patient=standing.is_new_patient)
    upcoming = standing.upcoming
    if upcoming >= practice.booking.max_upcoming_per_patient:
        raise PatientLimit(
            f"this patient already has {upcoming} upcoming visits, the most the practice books "
            "ahead for one patient; offer to move one of them or take a message for the team"
        )
    if visit.patients is PatientKind.NEW and standing.upcoming_of_type >= 1:
        raise PatientLimit(
            f"this patient already has a {visit.name} booked; a second one is not needed, so "
            "offer to move that one instead"
        )


def require_visit_type(practice: Practice, visit_type_id: str) -> VisitType:
    visit = practice.visit_type(visit_type_id)
    if visit is None:
        choices = ", ".join(f"{v.id} ({v.name})" for v in practice.visit_types)
        raise SchedulingError(f"unknown visit type {visit_type_id[:40]!r}; use one of: {choices}")
    return visit


def check_patient_kind(visit: VisitType, *, is_new_patient: bool) -> None:
    """New-patient visits are for new patients (registered as new, not yet seen: the store
    decides, `Store.is_new_patient`), and existing-patient visits for the others."""
    if visit.patients is PatientKind.NEW and not is_new_patient:
        raise SchedulingError(
            f"{visit.name} is only for new patients; this caller is an existing patient, so "
            "offer a check-up or treatment visit instead"
        )
    if visit.patients is PatientKind.EXISTING and is_new_patient:
        raise SchedulingError(
            f"{visit.name} is for existing patients; a new patient books the new patient exam first"
        )


def too_soon(visit: VisitType, start: datetime, now: datetime) -> bool:
    """Whether a visit starting at `start` no longer has the notice its type needs."""
    return start <= now or start < now + visit.lead_time


def is_late_cancellation(practice: Practice, appointment: Appointment, now: datetime) -> bool:
    """Whether cancelling now falls inside the practice's notice period (the policy may charge)."""
    notice = timedelta(hours=practice.policies.cancellation_notice_hours)
    return appointment.starts_at - now < notice
