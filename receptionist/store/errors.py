"""What can go wrong in the store, in the words the scheduling layer and tools need."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

OVERLAP_MARKERS = ("appointment_overlap", "appointments_no_overlap")
EXCLUSION_VIOLATION = "23P01"


class StoreError(Exception):
    """Base class for store errors."""


class SlotTaken(StoreError):
    """Another booked appointment overlaps: the database refused the double booking."""


class NotFound(StoreError):
    """No such record for this patient (or it is no longer active)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is locked; writes that matter go to the outbox."""


def is_overlap(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == EXCLUSION_VIOLATION or any(m in str(orig) for m in OVERLAP_MARKERS)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
