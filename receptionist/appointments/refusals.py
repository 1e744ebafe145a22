"""A refusal as data: why a booking, move or cancellation may not happen, with the figures that
explain it and what to offer instead. No prose here: the tools phrase a refusal as coaching for
the model (`tools/_refusals.py`), the staff pages as a sentence for staff (`web/booking.py`), the
reminder call as a line for the patient (`call/outbound.py`), each from the same `Refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from receptionist.appointments.offers import Slot


class Reason(StrEnum):
    """Why the rules (or the book) refuse. The figures each reason fills are listed after it."""

    # What was asked for does not exist or cannot be searched.
    UNKNOWN_VISIT_TYPE = "unknown_visit_type"  # asked, choices ("id (name)")
    UNKNOWN_PROVIDER = "unknown_provider"  # asked, choices ("name (id)")
    PROVIDER_CANNOT = "provider_cannot"  # provider, visit, choices (names of those who can)
    DATE_PAST = "date_past"  # day (asked), today
    DATES_SWAPPED = "dates_swapped"
    BEYOND_HORIZON = "beyond_horizon"  # count (horizon days), day (the last bookable day)
    # The patient's record refuses it.
    NEW_PATIENTS_ONLY = "new_patients_only"  # visit
    EXISTING_PATIENTS_ONLY = "existing_patients_only"  # visit
    UPCOMING_LIMIT = "upcoming_limit"  # count (their upcoming visits)
    SECOND_NEW_PATIENT_VISIT = "second_new_patient_visit"  # visit
    PATIENT_BUSY = "patient_busy"  # the patient has another visit at that time
    # The call refuses it.
    CALL_LIMIT = "call_limit"  # count (visits booked or under way in this call)
    NOT_OFFERED = "not_offered"  # asked (the option id)
    ALREADY_BOOKED = "already_booked"  # the option was booked earlier in this call
    POLICY_NOT_HEARD = "policy_not_heard"  # a cancel before the caller heard the policy
    # The time or the visit is gone.
    TAKEN = "taken"  # fresh: someone else booked it meanwhile
    TOO_SOON = "too_soon"  # fresh: the visit type's notice ran out
    NO_LONGER_OPEN = "no_longer_open"  # fresh: a posted time availability would not offer now
    WRONG_VISIT_TYPE = "wrong_visit_type"  # visit_type (the appointment's id)
    NOT_BOOKED = "not_booked"  # the appointment is not (or no longer) this patient's booked visit


@dataclass(frozen=True)
class Refusal:
    """One refusal: the reason and only the figures it needs (see `Reason`)."""

    reason: Reason
    asked: str = ""  # what was asked for, cut to 40 characters
    count: int = 0
    visit: str = ""  # a visit type's name
    visit_type: str = ""  # a visit type's id
    provider: str = ""  # a provider's name
    choices: tuple[str, ...] = ()
    day: date | None = None
    today: date | None = None
    fresh: tuple[Slot, ...] = ()  # other open times to offer instead


class Refused(Exception):
    """Raised with a `Refusal`; nothing was written. Its text is the reason's name only (logs
    may carry it): how it reads to a person is the phrasing side's business."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason.value)
        self.refusal = refusal

    @property
    def reason(self) -> Reason:
        return self.refusal.reason
