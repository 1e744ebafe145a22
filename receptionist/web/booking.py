"""Staff booking, moving and cancelling, in staff words.

The rules are the agent's: the staff pages act through the same `Appointments` service as a
call, as a `StaffMember` actor (stamped as the visit's `booked_by`), posting a time (`Posted`) the
service re-checks against availability now. A refusal comes back as data (`Refusal`); this
module says it as a sentence for staff, with the HTTP status the page is drawn with. The
model's coaching for the same refusal is in `tools/_refusals.py`: nothing here cuts it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from receptionist.appointments import Reason, Refusal, Slot

# Refusals about the time or the visit itself (it went, or changed, since the page was drawn).
GONE = frozenset({Reason.TAKEN, Reason.TOO_SOON, Reason.NO_LONGER_OPEN, Reason.NOT_BOOKED})


@dataclass(frozen=True)
class Problem:
    """Why a page is drawn again after a post: the HTTP status, the sentence staff read, and the
    other times to offer instead (a time that went meanwhile comes back with fresh ones)."""

    status: int
    error: str
    fresh: tuple[Slot, ...] = ()

    @classmethod
    def refused(cls, refusal: Refusal) -> Problem:
        return cls(status(refusal), staff_words(refusal), refusal.fresh)

    @classmethod
    def bad_form(cls, error: Exception) -> Problem:
        """A form field that does not parse: 400, its own message (it names the field)."""
        return cls(400, str(error))


def status(refusal: Refusal) -> int:
    """409 when the time or the visit went meanwhile; 422 when a rule refuses the request."""
    return 409 if refusal.reason in GONE else 422


def staff_words(refusal: Refusal) -> str:
    """One or two sentences a staff member reads on the page for `refusal`."""
    r = refusal
    match r.reason:
        case Reason.NO_LONGER_OPEN:
            return (
                "That time is no longer open: someone booked it meanwhile, or it is now closed or "
                "too soon for this visit. Choose another time."
            )
        case Reason.TOO_SOON:
            return (
                "That time is now too soon for this visit (it needs more notice). Choose another "
                "time."
            )
        case Reason.TAKEN:
            return (
                "That time was just taken by another booking: nothing was booked twice. Choose "
                "another time."
            )
        case Reason.NOT_BOOKED:
            return "That appointment is no longer booked (it was moved or cancelled)."
        case Reason.WRONG_VISIT_TYPE:
            return f"A move keeps the visit type ({r.visit_type}): choose a time for that visit."
        case Reason.UNKNOWN_VISIT_TYPE:
            return f"Unknown visit type {r.asked!r}."
        case Reason.UNKNOWN_PROVIDER:
            return f"Unknown provider {r.asked!r}."
        case Reason.PROVIDER_CANNOT:
            return _sentence(f"{r.provider} does not do {r.visit} visits")
        case Reason.DATE_PAST:
            return f"{r.day} is in the past (today is {r.today}): ask for a later date."
        case Reason.DATES_SWAPPED:
            return "The last date is before the first: swap them or give one date."
        case Reason.BEYOND_HORIZON:
            return f"We book at most {r.count} days ahead (until {r.day}): ask for an earlier date."
        case Reason.NEW_PATIENTS_ONLY:
            return _sentence(f"{r.visit} is only for new patients")
        case Reason.EXISTING_PATIENTS_ONLY:
            return _sentence(f"{r.visit} is for existing patients")
        case Reason.UPCOMING_LIMIT:
            return (
                f"This patient already has {r.count} upcoming visits, the most the practice "
                "books ahead for one patient."
            )
        case Reason.SECOND_NEW_PATIENT_VISIT:
            return f"This patient already has a {r.visit} booked."
        case Reason.PATIENT_BUSY:
            return "This patient already has a visit at that time."
    return f"That cannot be done here ({r.reason.value})."


def _sentence(text: str) -> str:
    """A clause that starts with a name ("new patient exam ...") as a sentence."""
    return text[:1].upper() + text[1:] + "."
