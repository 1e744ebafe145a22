"""What can go wrong in the store, in the words the scheduling layer and tools need."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

OVERLAP_MARKERS = ("appointment_overlap", "appointments_no_overlap")
PATIENT_OVERLAP_MARKERS = ("patient_overlap", "appointments_patient_no_overlap")
EXCLUSION_VIOLATION = "23P01"


class StoreError(Exception):
    """Base class for store errors."""


class SlotTaken(StoreError):
    """Another booked appointment overlaps: the database refused the double booking."""


class PatientBusy(StoreError):
    """The patient already has a booked visit that overlaps: the database refused it."""


class NotFound(StoreError):
    """No such record for this patient (or it is no longer active)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is locked; writes that matter go to the outbox."""


def is_patient_overlap(exc: BaseException) -> bool:
    """The patient already has a booked visit at that time (migration 0004)."""
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    names = (getattr(orig, "constraint_name", None) or "", str(orig))
    return any(marker in name for name in names for marker in PATIENT_OVERLAP_MARKERS)


def is_overlap(exc: BaseException) -> bool:
    """Another booked visit of the same provider overlaps (checked after the patient rule)."""
    if not isinstance(exc, IntegrityError) or is_patient_overlap(exc):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == EXCLUSION_VIOLATION or any(m in str(orig) for m in OVERLAP_MARKERS)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
