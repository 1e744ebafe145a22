"""Appointments: open times (`availability`), this call's offers (`offers`), the booking rules
(`rules`), a refusal as data (`refusals`), the port to the practice's book (`book`), and the one
service that books, moves and cancels for whoever acts (`service`). The code decides; the model
(or the staff member) chooses among the options it was given. No LiveKit here."""

from receptionist.appointments.availability import (
    MAX_OPTIONS,
    BusyIndex,
    PartOfDay,
    Search,
    day_slots,
    find_open_times,
    localize,
    localize_floor,
    open_times,
)
from receptionist.appointments.book import Book
from receptionist.appointments.offers import Offers, Slot
from receptionist.appointments.refusals import Reason, Refusal, Refused
from receptionist.appointments.rules import (
    check_patient_kind,
    is_late_cancellation,
    require_visit_type,
)
from receptionist.appointments.service import (
    Actor,
    Appointments,
    Booked,
    Caller,
    Cancelled,
    DayTimes,
    Moved,
    Posted,
    Reminder,
    StaffMember,
    Terms,
)

__all__ = [
    "MAX_OPTIONS",
    "Actor",
    "Appointments",
    "Book",
    "Booked",
    "BusyIndex",
    "Caller",
    "Cancelled",
    "DayTimes",
    "Moved",
    "Offers",
    "PartOfDay",
    "Posted",
    "Reason",
    "Refusal",
    "Refused",
    "Reminder",
    "Search",
    "Slot",
    "StaffMember",
    "Terms",
    "check_patient_kind",
    "day_slots",
    "find_open_times",
    "is_late_cancellation",
    "localize",
    "localize_floor",
    "open_times",
    "require_visit_type",
]
