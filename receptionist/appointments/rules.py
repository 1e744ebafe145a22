"""Booking rules: which visit types exist, who may book them, how much notice they need, the
caps, and when a cancellation is late. A rule that refuses raises `Refused` with the figures;
the tools, the staff pages and the reminder call each phrase it in their own words."""

from __future__ import annotations

from datetime import datetime, timedelta

from receptionist.appointments.refusals import Reason, Refusal, Refused
from receptionist.domain.practice import PatientKind, Practice, VisitType
from receptionist.store import Appointment, Standing


def check_call_limit(practice: Practice, *, booked_in_call: int) -> None:
    """One call cannot fill the book: `booked_in_call` counts its bookings made and under way."""
    if booked_in_call >= practice.booking.max_per_call:
        raise Refused(Refusal(Reason.CALL_LIMIT, count=booked_in_call))


def check_patient_limits(practice: Practice, visit: VisitType, standing: Standing) -> None:
    """The rules the patient's record decides: the visit is for their kind of patient, they hold
    no more upcoming visits than the practice books ahead, and one new-patient exam at most.

    Checked by `Book.book` against the `standing` it reads in the booking's own write
    transaction, so two bookings at once cannot both pass."""
    check_patient_kind(visit, is_new_patient=standing.is_new_patient)
    upcoming = standing.upcoming
    if upcoming >= practice.booking.max_upcoming_per_patient:
        raise Refused(Refusal(Reason.UPCOMING_LIMIT, count=upcoming))
    if visit.patients is PatientKind.NEW and standing.upcoming_of_type >= 1:
        raise Refused(Refusal(Reason.SECOND_NEW_PATIENT_VISIT, visit=visit.name))


def require_visit_type(practice: Practice, visit_type_id: str) -> VisitType:
    visit = practice.visit_type(visit_type_id)
    if visit is None:
        choices = tuple(f"{v.id} ({v.name})" for v in practice.visit_types)
        raise Refused(Refusal(Reason.UNKNOWN_VISIT_TYPE, asked=visit_type_id[:40], choices=choices))
    return visit


def check_patient_kind(visit: VisitType, *, is_new_patient: bool) -> None:
    """New-patient visits are for new patients (registered as new, not yet seen: the book
    decides, `Book.is_new_patient`), and existing-patient visits for the others."""
    if visit.patients is PatientKind.NEW and not is_new_patient:
        raise Refused(Refusal(Reason.NEW_PATIENTS_ONLY, visit=visit.name))
    if visit.patients is PatientKind.EXISTING and is_new_patient:
        raise Refused(Refusal(Reason.EXISTING_PATIENTS_ONLY, visit=visit.name))


def too_soon(visit: VisitType, start: datetime, now: datetime) -> bool:
    """Whether a visit starting at `start` no longer has the notice its type needs."""
    return start <= now or start < now + visit.lead_time


def is_late_cancellation(practice: Practice, appointment: Appointment, now: datetime) -> bool:
    """Whether cancelling now falls inside the practice's notice period (the policy may charge)."""
    notice = timedelta(hours=practice.policies.cancellation_notice_hours)
    return appointment.starts_at - now < notice
