"""The `Book` port over a NexHealth location (receptionist/appointments/book.py says the contract):
the one door to Dentrix, Eaglesoft, Open Dental and the other PMSs NexHealth synchronizes.

- **Reads**: open times come from the `SlotsMirror` (NexHealth's own available slots, refreshed
  when older than `refresh_seconds`); a patient's visits from `GET /appointments?patient_id=`.
- **Patients** stay ours (verified on the call); the link to NexHealth's patient is found by
  name and birth date (`GET /patients`), and created (`POST /patients`, with the booking's
  provider, as NexHealth requires) the first time they book; never duplicated.
- **A booking**: the patient's own visits (the caps' `Standing`, an overlap with their own
  visit, and a booking of ours already there: its `ref` in the note), then NexHealth is asked
  for that very start time with the visit's length (`/available_slots`, which also names the
  free operatory), then `POST /appointments` with a note saying the assistant booked it on which
  call and the `ref`.
- **Asynchronous writes**: NexHealth accepts an appointment at once and its synchronizer writes it
  into the PMS later (Appointments page: "creating an appointment is asynchronous"). The caller
  is told "booked" only once the PMS has it: the book reads the appointment every `poll_seconds`
  until it carries the PMS's `foreign_id` (booked), comes back cancelled (the PMS refused it: the
  desk was quicker; `SlotTaken`, fresh options), or `confirm_seconds` pass: then the request is
  withdrawn (cancelled, so it cannot land unseen later) and the book is "not reachable", so the
  caller is offered a message for the team, never a false "booked".
- **A lost answer** (timeout, dropped connection, 5xx after sending): the patient's visits that
  day are read for the `ref`; found, it is followed as above; not found, "not reachable". A retry
  finds an earlier write instead of making a second one (look before writing again).
- **A move**: NexHealth cannot change an appointment's time ("cancel the original and re-create
  it", Edit Appointment page), so the new time is booked first (and confirmed by the PMS), then
  the old one cancelled; if that cancel fails, the new one is withdrawn: one visit, never two.
- **A cancel** is `PATCH /appointments/{id}` with `cancelled: true` (pushed into the PMS).
- **Failures** (a refused key, 403, 429 beyond a call's patience, 5xx, timeouts, no connection)
  are `StoreUnavailable` (`PmsUnavailable`) to the service, logged by type and route only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time as clock
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from receptionist.domain.practice import Practice
from receptionist.pms.nexhealth.client import (
    NexHealthClient,
    NexHealthError,
    Refused,
    Row,
    ServerError,
    Timeout,
)
from receptionist.pms.nexhealth.mirror import SlotsMirror, first_operatory, parse_time
from receptionist.store import Appointment, Busy, Patient, Standing
from receptionist.store.errors import NotFound, PatientBusy, SlotTaken, StoreUnavailable
from receptionist.store.models import AppointmentStatus, utcnow

log = logging.getLogger(__name__)

REF = "ref:"
HISTORY = timedelta(days=3 * 365)  # how far back "seen before" looks (is_new_patient)
AHEAD = timedelta(days=2 * 365)  # how far ahead a patient's upcoming visits are read
T = TypeVar("T")


class PmsUnavailable(StoreUnavailable):
    """The location's NexHealth (or the PMS behind it) did not answer, refused our key, is
    rate-limiting, or did not confirm a write in time."""


def booking_ref(patient: int, start: datetime, provider: int) -> str:
    """What marks a booking of ours in its note: the same patient, time and provider give the
    same ref, so a retried write finds the first one."""
    key = f"nexhealth|{patient}|{start.isoformat()}|{provider}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _holds(row: Row) -> bool:
    """A visit that takes time: not cancelled or deleted, not a schedule block."""
    return not row.get("cancelled") and not row.get("deleted") and not row.get("unavailable")


def unavailable(exc: NexHealthError) -> PmsUnavailable:
    """The service's "not reachable" for a failed request (the key's refusal is logged by the
    client with what to check)."""
    return PmsUnavailable(type(exc).__name__)


class NexHealthBook:
    """One location's appointments through NexHealth (the `Book` port)."""

    def __init__(
        self,
        practice: Practice,
        client: NexHealthClient,
        patients: Callable[[str], Awaitable[Patient | None]],
        *,
        mirror: SlotsMirror | None = None,
        monotonic: Callable[[], float] = clock.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        config = practice.book.nexhealth
        assert config is not None, "a NexHealth book needs [practice.book.nexhealth]"
        self.practice, self.config, self.client = practice, config, client
        self.tz: ZoneInfo = practice.tz
        self.mirror = mirror or SlotsMirror(client, config, self.tz, monotonic=monotonic)
        self._monotonic, self._sleep = monotonic, sleep
        self._patients = patients
        self._nh_ids: dict[str, int] = {}
        self._ours: dict[int, str] = {}  # NexHealth patient id -> our patient id
        self._locks: dict[str, asyncio.Lock] = {}
        self._provider_of = {num: pid for pid, num in config.providers.items()}
        self._visit_of_type = {num: vid for vid, num in config.visit_types.items()}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """An API call whose failure means "not reachable" to the service."""
        try:
            return await awaitable
        except NexHealthError as exc:
            raise unavailable(exc) from None

    # --- mapping ---------------------------------------------------------------------------------

    async def _patient(self, patient_id: str, *, create_with: int | None = None) -> int | None:
        """NexHealth's id for our patient, matched by name and birth date; created (with the
        provider `create_with`) when NexHealth has none and we are booking."""
        if patient_id in self._nh_ids:
            return self._nh_ids[patient_id]
        patient = await self._patients(patient_id)
        if patient is None:
            return None
        first, _, last = patient.full_name.rpartition(" ")
        first = first or last
        birth = patient.date_of_birth.isoformat()
        rows = await self._call(
            self.client.get_all(
                "patients",
                location_id=self.config.location_id,
                name=patient.full_name,
                date_of_birth=birth,
            )
        )
        same = [
            r
            for r in rows
            if str(r.get("first_name", "")).casefold() == first.casefold()
            and str(r.get("last_name", "")).casefold() == last.casefold()
            and (r.get("bio") or {}).get("date_of_birth") == birth
            and not r.get("inactive")
        ]
        if same:
            nh_id = min(int(r["id"]) for r in same)
        elif create_with is not None:
            bio: Row = {"date_of_birth": birth}
            if patient.phone and patient.phone != "unknown":
                bio["phone_number"] = patient.phone
            created = await self._call(
                self.client.request(
                    "POST",
                    "patients",
                    params={"location_id": self.config.location_id},
                    json={
                        "provider": {"provider_id": create_with},
                        "patient": {"first_name": first, "last_name": last, "bio": bio},
                    },
                )
            )
            user = created.get("user") or created.get("patient") or created
            nh_id = int(user["id"])
        else:
            return None
        self._nh_ids[patient_id], self._ours[nh_id] = nh_id, patient_id
        return nh_id

    def _visit_of(self, row: Row) -> str:
        for part in str(row.get("note") or "").split():
            if part.startswith("visit:"):
                return part.removeprefix("visit:")
        return self._visit_of_type.get(int(row.get("appointment_type_id") or 0), "")

    def _appointment(self, row: Row, *, call_id: str = "") -> Appointment:
        status = AppointmentStatus.BOOKED if _holds(row) else AppointmentStatus.CANCELLED
        return Appointment(
            id=str(row["id"]),
            practice_id=self.practice.id,
            provider_id=self._provider_of.get(int(row.get("provider_id") or 0), ""),
            patient_id=self._ours.get(
                int(row.get("patient_id") or 0), f"nexhealth:{row.get('patient_id')}"
            ),
            visit_type=self._visit_of(row),
            starts_at=parse_time(row["start_time"]).astimezone(self.tz),
            ends_at=parse_time(row["end_time"]).astimezone(self.tz),
            status=status,
            call_id=call_id,
            created_at=utcnow(),
        )

    # --- reads -----------------------------------------------------------------------------------

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        ids = [p for p in provider_ids if p in self.config.providers]
        if not ids:
            return []
        first = start.astimezone(self.tz).date()
        last = (end - timedelta(microseconds=1)).astimezone(self.tz).date()
        await self._call(self.mirror.ensure(first, max(first, last)))
        return [
            Busy(pid, s, e)
            for pid in ids
            for s, e in self.mirror.closed(self.config.providers[pid], start, end)
        ]

    async def _visits(self, nh_patient: int, start: datetime, end: datetime) -> list[Row]:
        """The patient's appointments starting in [start, end] (NexHealth's window)."""
        return await self._call(
            self.client.get_all(
                "appointments",
                location_id=self.config.location_id,
                start=_iso(start),
                end=_iso(end),
                patient_id=nh_patient,
            )
        )

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        nh_patient = await self._patient(patient_id)
        if nh_patient is None:
            return []
        # A visit starting up to a day before `start` may still overlap it.
        rows = await self._visits(nh_patient, start - timedelta(days=1), end)
        busy = []
        for row in rows:
            s, e = parse_time(row["start_time"]), parse_time(row["end_time"])
            if _holds(row) and s < end and start < e and str(row["id"]) != moving:
                busy.append(Busy(self._provider_of.get(int(row["provider_id"]), ""), s, e))
        return busy

    async def is_new_patient(self, patient_id: str, *, now: datetime) -> bool:
        nh_patient = await self._patient(patient_id)
        if nh_patient is None:
            return True
        return _is_new(await self._visits(nh_patient, now - HISTORY, now + AHEAD), now)

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        if not appointment_id.isdigit():
            return None
        try:
            row = await self.client.get(f"appointments/{appointment_id}")
        except Refused:
            return None
        except NexHealthError as exc:
            raise unavailable(exc) from None
        return self._appointment(row)

    async def upcoming_for_patient(self, patient_id: str, *, after: datetime) -> list[Appointment]:
        nh_patient = await self._patient(patient_id)
        if nh_patient is None:
            return []
        rows = await self._visits(nh_patient, after, after + AHEAD)
        held = [r for r in rows if _holds(r) and r.get("foreign_id")]
        return [
            self._appointment(r)
            for r in sorted(held, key=lambda r: parse_time(r["start_time"]))
            if parse_time(r["start_time"]) >= after
        ]

    # --- writes ----------------------------------------------------------------------------------

    def _lock(self, patient_id: str) -> asyncio.Lock:
        return self._locks.setdefault(patient_id, asyncio.Lock())

    def _note(self, call_id: str, booked_by: str | None, visit_type: str, ref: str) -> str:
        who = f"staff app user {booked_by}" if booked_by else f"phone call {call_id or '-'}"
        return f"Booked by the AI receptionist on {who}. visit:{visit_type} {REF}{ref}"

    async def _operatory_free(self, nh_provider: int, starts_at: datetime, minutes: int) -> int:
        """NexHealth's own answer, right before writing: the operatory free for the whole visit
        at exactly `starts_at`; `SlotTaken` when that time is no longer offered."""
        day = starts_at.astimezone(self.tz).date()
        data = await self._call(
            self.client.get(
                "available_slots", **self.mirror.slot_params(day, 1, [nh_provider], minutes)
            )
        )
        op = first_operatory(data, nh_provider, starts_at)
        if op is None:
            self.mirror.forget(day)
            raise SlotTaken("the PMS no longer offers this time")
        return op

    async def _find_ours(self, nh_patient: int, starts_at: datetime, ref: str) -> Row | None:
        """Our own earlier write of this booking (by its ref), if NexHealth holds one."""
        rows = await self._visits(
            nh_patient, starts_at - timedelta(minutes=1), starts_at + timedelta(minutes=1)
        )
        return next((r for r in rows if _holds(r) and REF + ref in str(r.get("note", ""))), None)

    async def _write(self, body: Row, nh_patient: int, starts_at: datetime, ref: str) -> Row:
        """POST the appointment; if the answer is lost, look for it before anything else."""
        try:
            created = await self.client.request(
                "POST",
                "appointments",
                params={"location_id": self.config.location_id, "notify_patient": "false"},
                json={"appt": body},
            )
        except (Timeout, ServerError) as exc:
            log.warning("nexhealth booking answer lost (%s); looking for it", type(exc).__name__)
            found = await self._find_ours(nh_patient, starts_at, ref)
            if found is None:
                raise PmsUnavailable("the booking was not written") from None
            return found
        except Refused as exc:
            # NexHealth refused the request itself (a field, a past time): a bug or a mapping
            # to fix, never "booked". Its reasons may echo values, so only the status is logged.
            log.error(
                "nexhealth refused a booking (HTTP %s): run `receptionist pms doctor`", exc.status
            )
            raise PmsUnavailable("NexHealth refused the booking") from None
        except NexHealthError as exc:
            raise unavailable(exc) from None
        return created.get("appt") or created

    async def _settled(self, row: Row) -> Row:
        """Waits for the PMS to have the appointment (its `foreign_id`): booked; cancelled by
        the synchronizer: `SlotTaken`; not in time: withdrawn and "not reachable"."""
        deadline = self._monotonic() + self.config.confirm_seconds
        while True:
            if row.get("cancelled") or row.get("deleted"):
                log.warning("nexhealth: the PMS refused our appointment (taken first)")
                raise SlotTaken("the PMS refused the appointment")
            if row.get("foreign_id"):
                return row
            if self._monotonic() >= deadline:
                break
            await self._sleep(self.config.poll_seconds)
            row = await self._call(self.client.get(f"appointments/{row['id']}"))
        log.warning("nexhealth: the PMS did not confirm in time; withdrawing the request")
        await self._withdraw(row)
        raise PmsUnavailable("the PMS did not confirm the booking in time")

    async def _withdraw(self, row: Row) -> None:
        """Cancels our own unconfirmed (or superseded) appointment, best effort: logged if it
        fails (the staff message about the call says what was asked)."""
        try:
            await self.client.request(
                "PATCH", f"appointments/{row['id']}", json={"appt": {"cancelled": True}}
            )
        except NexHealthError as exc:
            log.error("nexhealth: could not withdraw an appointment (%s)", type(exc).__name__)

    async def _book_once(
        self,
        *,
        nh_patient: int,
        provider_id: str,
        visit_type: str,
        starts_at: datetime,
        ends_at: datetime,
        note: str,
        ref: str,
    ) -> Row:
        nh_provider = self.config.providers[provider_id]
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        op = await self._operatory_free(nh_provider, starts_at, minutes)
        body: Row = {
            "patient_id": nh_patient,
            "provider_id": nh_provider,
            "operatory_id": op,
            "start_time": _iso(starts_at.astimezone(self.tz)),
            "end_time": _iso(ends_at.astimezone(self.tz)),
            "note": note,
        }
        if visit_type in self.config.visit_types:
            body["appointment_type_id"] = self.config.visit_types[visit_type]
        written = await self._write(body, nh_patient, starts_at, ref)
        self.mirror.forget(starts_at.astimezone(self.tz).date())
        return await self._settled(written)

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
    ) -> Appointment:
        now = now or utcnow()
        nh_provider = self.config.providers[provider_id]
        async with self._lock(patient_id):
            nh_patient = await self._patient(patient_id, create_with=nh_provider)
            assert nh_patient is not None
            visits = await self._visits(nh_patient, now - HISTORY, now + AHEAD)
            ref = booking_ref(nh_patient, starts_at, nh_provider)
            already = next(
                (r for r in visits if _holds(r) and REF + ref in str(r.get("note", ""))), None
            )
            if already is not None:  # an earlier try's write reached NexHealth
                return self._appointment(await self._settled(already), call_id=call_id)
            if check is not None:
                check(_standing(visits, now, lambda r: self._visit_of(r) == visit_type))
            if any(_holds(r) and _overlaps(r, starts_at, ends_at) for r in visits):
                raise PatientBusy("the patient has a visit then")
            written = await self._book_once(
                nh_patient=nh_patient,
                provider_id=provider_id,
                visit_type=visit_type,
                starts_at=starts_at,
                ends_at=ends_at,
                note=self._note(call_id, booked_by, visit_type, ref),
                ref=ref,
            )
            return self._appointment(written, call_id=call_id)

    async def _own_held(self, appointment_id: str, patient_id: str) -> Row:
        nh_patient = await self._patient(patient_id)
        if nh_patient is None or not appointment_id.isdigit():
            raise NotFound("no such booked appointment for this patient")
        try:
            row = await self.client.get(f"appointments/{appointment_id}")
        except Refused:
            raise NotFound("no such appointment") from None
        except NexHealthError as exc:
            raise unavailable(exc) from None
        if row.get("patient_id") != nh_patient or not _holds(row):
            raise NotFound("no such booked appointment for this patient")
        return row

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
    ) -> Appointment:
        nh_provider = self.config.providers[provider_id]
        async with self._lock(patient_id):
            old = await self._own_held(appointment_id, patient_id)
            nh_patient = int(old["patient_id"])
            visits = await self._visits(nh_patient, starts_at - timedelta(days=1), ends_at)
            if any(
                _holds(r) and r["id"] != old["id"] and _overlaps(r, starts_at, ends_at)
                for r in visits
            ):
                raise PatientBusy("the patient has a visit then")
            visit_type = self._visit_of(old)
            ref = booking_ref(nh_patient, starts_at, nh_provider)
            who = f"staff app user {booked_by}" if booked_by else f"phone call {call_id or '-'}"
            note = (
                f"Moved by the AI receptionist on {who} from appointment {old['id']}. "
                f"visit:{visit_type} {REF}{ref}"
            )
            new = await self._find_ours(nh_patient, starts_at, ref)
            if new is None:
                new = await self._book_once(
                    nh_patient=nh_patient,
                    provider_id=provider_id,
                    visit_type=visit_type,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    note=note,
                    ref=ref,
                )
            else:
                new = await self._settled(new)
            try:
                await self._cancel_row(old)
            except PmsUnavailable:
                log.warning("nexhealth: the old visit could not be cancelled; undoing the move")
                await self._withdraw(new)
                raise
            self.mirror.forget(parse_time(old["start_time"]).astimezone(self.tz).date())
            result = self._appointment(new, call_id=call_id)
            result.replaces_id = str(old["id"])
            return result

    async def _cancel_row(self, row: Row) -> Row:
        """`cancelled: true`; a lost answer is checked by reading the appointment again."""
        try:
            answer = await self.client.request(
                "PATCH", f"appointments/{row['id']}", json={"appt": {"cancelled": True}}
            )
            return answer.get("appt") or answer
        except (Timeout, ServerError) as exc:
            log.warning("nexhealth cancel answer lost (%s); looking", type(exc).__name__)
            again = await self._call(self.client.get(f"appointments/{row['id']}"))
            if again.get("cancelled"):
                return again
            raise PmsUnavailable("the cancellation was not written") from None
        except NexHealthError as exc:
            raise unavailable(exc) from None

    async def confirm(self, appointment_id: str, *, patient_id: str, at: datetime) -> Appointment:
        """`confirmed: true` on the appointment (NexHealth pushes it into the PMS). Setting it
        again is harmless, so a lost answer is checked by reading the appointment again."""
        async with self._lock(patient_id):
            row = await self._own_held(appointment_id, patient_id)
            if not row.get("confirmed"):
                row = {**row, **await self._confirm_row(row)}
            confirmed = self._appointment(row)
            confirmed.confirmed_at = at
            return confirmed

    async def _confirm_row(self, row: Row) -> Row:
        try:
            answer = await self.client.request(
                "PATCH", f"appointments/{row['id']}", json={"appt": {"confirmed": True}}
            )
            return answer.get("appt") or answer
        except (Timeout, ServerError) as exc:
            log.warning("nexhealth confirm answer lost (%s); looking", type(exc).__name__)
            again = await self._call(self.client.get(f"appointments/{row['id']}"))
            if again.get("confirmed"):
                return again
            raise PmsUnavailable("the confirmation was not written") from None
        except NexHealthError as exc:
            raise unavailable(exc) from None

    async def cancel(self, appointment_id: str, *, patient_id: str) -> Appointment:
        async with self._lock(patient_id):
            row = await self._own_held(appointment_id, patient_id)
            cancelled_row = await self._cancel_row(row)
            self.mirror.forget(parse_time(row["start_time"]).astimezone(self.tz).date())
            cancelled = self._appointment({**row, **cancelled_row, "cancelled": True})
            cancelled.cancelled_at = utcnow()
            return cancelled


def _overlaps(row: Row, start: datetime, end: datetime) -> bool:
    return parse_time(row["start_time"]) < end and start < parse_time(row["end_time"])


def _is_new(visits: Iterable[Row], now: datetime) -> bool:
    """New to the practice: no visit held (not cancelled) that has already started."""
    return not any(_holds(r) and parse_time(r["start_time"]) <= now for r in visits)


def _standing(visits: list[Row], now: datetime, of_type: Callable[[Row], bool]) -> Standing:
    upcoming = [r for r in visits if _holds(r) and parse_time(r["start_time"]) >= now]
    return Standing(
        is_new_patient=_is_new(visits, now),
        upcoming=len(upcoming),
        upcoming_of_type=sum(1 for r in upcoming if of_type(r)),
    )


__all__ = ["NexHealthBook", "PmsUnavailable", "booking_ref"]
