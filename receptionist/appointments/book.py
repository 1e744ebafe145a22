"""The practice's book, as the appointments service needs it: a port.

Today's implementation is the SQL store's `store.appointments` (`AppointmentBook`: it matches
structurally, nothing declares it; mypy checks it where the service is built). A practice-management
system (Open Dental, NexHealth) behind an adapter is the next one: it has its own ids, latency and
failures, so every method is async, every id is an opaque string (never parsed, never assumed
numeric or ordered), and failures come in two kinds
the service tells apart:

- **unreachable**: `StoreUnavailable` (the book cannot answer now: timeouts, connection errors,
  the remote system down or rate-limiting). The caller is told the book is not reachable and is
  offered a message or a transfer; nothing may have been written.
- **refused**: `SlotTaken` (another booking overlaps the provider's time), `PatientBusy` (the
  patient has another visit then), `NotFound` (no such booked appointment for that patient), or
  whatever the `check` passed to `book` raised (the caps: `Refused`). Nothing was written.

Those exception types live in `receptionist.store.errors` and carry no SQL; an adapter raises
them too. The rows are `receptionist.store` models (`Appointment`, `Busy`, `Standing`), built
in memory by an adapter that has no database of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from receptionist.store import Appointment, Busy, Standing
from receptionist.store.errors import NotFound, PatientBusy, SlotTaken, StoreUnavailable

__all__ = ["Book", "NotFound", "PatientBusy", "SlotTaken", "StoreUnavailable"]


class Book(Protocol):
    """What the appointments service reads and writes. An implementation must guarantee:

    - **No overlap**: `book` and `reschedule` refuse, with `SlotTaken`, a time that overlaps
      another booked visit of the same provider, and with `PatientBusy` one that overlaps the
      same patient's booked visit with anyone, even when two writers race (the SQL store: an
      exclusion constraint or triggers under the write lock; a remote system: its own refusal,
      or a re-read after the write that undoes the loser's).
    - **Atomic caps**: `book` calls `check` with the patient's `Standing` (new or not, upcoming
      visits) read in the same atomic step as the write, with that patient's bookings
      serialised, and writes nothing if `check` raises; so two bookings for one patient at once
      cannot both pass the caps.
    - **One move, one step**: `reschedule` marks the old visit rescheduled and books the new one
      together, or changes nothing; `cancel` and `reschedule` refuse (`NotFound`) an appointment
      that is not that patient's booked one, so a stale id changes nothing.
    - **Reads are current**: `busy` and `patient_busy` return every booked visit overlapping
      [start, end) (an interval touching at an end is not an overlap); `is_new_patient` is the
      book's answer as of `now`.
    - **Fast reads**: `busy` and `patient_busy` are on a live call's critical path (once per
      search, or per chunk of days): milliseconds, or cached by the adapter.
    """

    async def busy(
        self, provider_ids: Iterable[str], start: datetime, end: datetime
    ) -> list[Busy]: ...

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]: ...

    async def is_new_patient(self, patient_id: str, *, now: datetime) -> bool: ...

    async def get_appointment(self, appointment_id: str) -> Appointment | None: ...

    async def book(
        self,
        *,
        practice_id: str,
        provider_id: str,
        patient_id: str,
        visit_type: str,
        starts_at: datetime,
        ends_at: datetime,
        call_id: str = "",
        appointment_id: str | None = None,
        booked_by: str | None = None,
        check: Callable[[Standing], None] | None = None,
        now: datetime | None = None,
    ) -> Appointment: ...

    async def reschedule(
        self,
        appointment_id: str,
        *,
        patient_id: str,
        provider_id: str,
        starts_at: datetime,
        ends_at: datetime,
        call_id: str = "",
        booked_by: str | None = None,
    ) -> Appointment: ...

    async def cancel(self, appointment_id: str, *, patient_id: str) -> Appointment: ...

    async def confirm(self, appointment_id: str, *, patient_id: str, at: datetime) -> Appointment:
        """The patient confirmed their booked visit (a C answered by text); `NotFound` for an
        appointment that is not that patient's booked one."""
        ...

    async def upcoming_for_patient(
        self, patient_id: str, *, after: datetime
    ) -> list[Appointment]: ...
