"""Scheduling: open times (`availability`), this call's offers (`offers`), the booking rules
(`rules`) and booking or moving an offered time (`service`). The code decides; the model chooses
among the options it was given."""

from receptionist.appointments.availability import (
    MAX_OPTIONS,
    BusyIndex,
    PartOfDay,
    Search,
    day_slots,
    find_open_times,
    localize,
    open_times,
)
from receptionist.appointments.offers import Offers, Slot
from receptionist.appointments.rules import (
    NotOffered,
    PatientLimit,
    SchedulingError,
    WrongVisitType,
    check_patient_kind,
    is_late_cancellation,
    require_visit_type,
)
from receptionist.appointments.service import SlotGone, book_offered, reschedule_to_offered

__all__ = [
    "MAX_OPTIONS",
    "BusyIndex",
    "NotOffered",
    "Offers",
    "PartOfDay",
    "PatientLimit",
    "SchedulingError",
    "Search",
    "Slot",
    "SlotGone",
    "WrongVisitType",
    "book_offered",
    "check_patient_kind",
    "day_slots",
    "find_open_times",
    "is_late_cancellation",
    "localize",
    "open_times",
    "require_visit_type",
    "reschedule_to_offered",
]
