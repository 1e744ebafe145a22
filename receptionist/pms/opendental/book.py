"""The `Book` port over an Open Dental office (receptionist/appointments/book.py says the contract).

- **Reads** come from the `Mirror` (refreshed incrementally), so a search costs no request when
  the mirror is fresh. `busy` is, per provider, every time they cannot be booked: outside their
  Open Dental schedule, in a blockout, or with every operatory of theirs taken (Open Dental's own
  rule, mirror.py); availability intersects it with practice.toml's hours and closures.
- **A booking** maps the caller's patient to an Open Dental patient (by name and birth date;
  created with `POST /patients` when the office has none), reads the patient's appointments (the
  caps' `Standing`, an overlap with their own visit, and a booking of ours already there: a retry
  after a lost answer returns that one, never a second), re-reads the day and its schedules
  from the office right before writing, picks an operatory free for the whole visit, and writes
  `POST /appointments` with the visit's `Pattern`, AppointmentTypeNum, provider or hygienist,
  `IsNewPatient` and a `Note` saying the assistant booked it on which call (with a `ref` that
  makes our own write recognisable). Open Dental does not refuse an overlap, so the day is read
  again after the write: if the desk's appointment came first, ours is withdrawn (`Break`, not
  sent to the Unscheduled List) and the caller gets fresh options (`SlotTaken`).
- **A lost answer** (a timeout, a dropped connection or a 5xx after the request went out): the
  book looks (`GET /appointments?PatNum=`) for the write's `ref`; found, it is booked; not found,
  or the look fails too, `StoreUnavailable`: the caller is never told "booked" unless Open
  Dental has it.
- **A move** is `PUT /appointments/{AptNum}` with the new time, operatory and provider: Open
  Dental moves an appointment in place (same AptNum, procedures stay attached), so the moved
  visit keeps its id.
- **A cancel** is `PUT /appointments/{AptNum}/Break` with `sendToUnscheduledList: "true"` and no
  `breakType`: breaking is how Open Dental records a cancelled visit (crossed out, history kept,
  its DateTStamp changed so every mirror sees it), the Unscheduled List is where the desk
  follows it up, and no breakType adds no D9986/D9987 fee procedure: a fee is the practice's
  decision. Deleting would erase the record and is invisible to DateTStamp syncs.
- **Failures** (401, 429, 5xx, timeouts, no connection) are `StoreUnavailable` (`PmsUnavailable`)
  to the service, logged by type and route only.

Patient records stay ours (the receptionist's `Patient`, verified on the call); the link to the
office's PatNum is found by name and birth date and cached for the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from receptionist.domain.practice import Practice
from receptionist.pms.opendental.client import (
    DATE,
    OpenDentalClient,
    OpenDentalError,
    Refused,
    Row,
    ServerError,
    Timeout,
    Unauthorized,
    od_datetime,
)
from receptionist.pms.opendental.mirror import Mirror, OdAppointment
from receptionist.store import Appointment, Busy, Patient, Standing
from receptionist.store.errors import NotFound, PatientBusy, SlotTaken, StoreUnavailable
from receptionist.store.models import AppointmentStatus, utcnow

log = logging.getLogger(__name__)

REF = "ref:"
T = TypeVar("T")


class PmsUnavailable(StoreUnavailable):
    """The practice's Open Dental did not answer, refused our keys or is rate-limiting."""


def booking_ref(pat: int, start: datetime, prov: int) -> str:
    """What marks a booking of ours in its Note: the same patient, time and provider give the
    same ref, so a retried write finds the first one."""
    key = f"{pat}|{start.strftime('%Y-%m-%d %H:%M')}|{prov}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class OpenDentalBook:
    """One location's appointments in its Open Dental (the `Book` port)."""

    def __init__(
        self,
        practice: Practice,
        client: OpenDentalClient,
        patients: Callable[[str], Awaitable[Patient | None]],
        *,
        mirror: Mirror | None = None,
    ) -> None:
        config = practice.book.opendental
        assert config is not None, "an Open Dental book needs [practice.book.opendental]"
        self.practice, self.config, self.client = practice, config, client
        self.tz: ZoneInfo = practice.tz
        self.mirror = mirror or Mirror(client, config, self.tz)
        self._patients = patients
        self._patnums: dict[str, int] = {}
        self._ours: dict[int, str] = {}  # PatNum -> our patient id
        self._locks: dict[str, asyncio.Lock] = {}
        self._provider_of = {num: pid for pid, num in config.providers.items()}

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- mapping ---------------------------------------------------------------------------------

    def _provnum(self, provider_id: str) -> int:
        return self.config.providers[provider_id]

    def _hygienist(self, provider_id: str) -> bool:
        provider = self.practice.provider(provider_id)
        return provider is not None and provider.role == "hygienist"

    async def _patnum(self, patient_id: str, *, create: bool = False) -> int | None:
        if patient_id in self._patnums:
            return self._patnums[patient_id]
        patient = await self._patients(patient_id)
        if patient is None:
            return None
        # "First Middle Last": Open Dental's LName is the last word, FName the rest.
        first, _, last = patient.full_name.rpartition(" ")
        first = first or last
        birth = patient.date_of_birth.strftime(DATE)
        rows, _ = await self._call(
            self.client.get_all("patients/Simple", LName=last, FName=first, Birthdate=birth)
        )
        same = [
            r
            for r in rows
            if str(r.get("LName", "")).casefold() == last.casefold()
            and str(r.get("FName", "")).casefold() == first.casefold()
            and r.get("Birthdate") == birth
        ]
        if same:
            num = min(int(r["PatNum"]) for r in same)
        elif create:
            body: Row = {"LName": last, "FName": first, "Birthdate": birth}
            if patient.phone:
                body["WirelessPhone"] = patient.phone
            if self.config.clinic:
                body["ClinicNum"] = self.config.clinic
            created = await self._call(self.client.request("POST", "patients", json=body))
            num = int(created["PatNum"])
        else:
            return None
        self._patnums[patient_id], self._ours[num] = num, patient_id
        return num

    def _visit_of(self, a: OdAppointment) -> str:
        for part in a.note.split():
            if part.startswith("visit:"):
                return part.removeprefix("visit:")
        for visit_id, mapping in self.config.visit_types.items():
            if mapping.appointment_type and mapping.appointment_type == a.appointment_type:
                return visit_id
        return ""

    def _appointment(self, a: OdAppointment, *, call_id: str = "") -> Appointment:
        status = (
            AppointmentStatus.BOOKED
            if a.blocks and a.status != "Complete"
            else (AppointmentStatus.CANCELLED)
        )
        return Appointment(
            id=str(a.num),
            practice_id=self.practice.id,
            provider_id=self._provider_of.get(a.occupant, self._provider_of.get(a.prov, "")),
            patient_id=self._ours.get(a.pat, f"opendental:{a.pat}"),
            visit_type=self._visit_of(a),
            starts_at=a.start,
            ends_at=a.end,
            status=status,
            call_id=call_id,
            created_at=utcnow(),
        )

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """An API call whose failure means "not reachable" to the service."""
        try:
            return await awaitable
        except OpenDentalError as exc:
            raise unavailable(exc) from None

    # --- reads -----------------------------------------------------------------------------------

    async def _ensure(self, start: datetime, end: datetime) -> None:
        first = start.astimezone(self.tz).date()
        last = (end - timedelta(microseconds=1)).astimezone(self.tz).date()
        await self._call(self.mirror.ensure(first, max(first, last)))

    async def busy(self, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Busy]:
        ids = [p for p in provider_ids if p in self.config.providers]
        if not ids:
            return []
        await self._ensure(start, end)
        return [
            Busy(pid, s, e)
            for pid in ids
            for s, e in self.mirror.closed(self._provnum(pid), start, end)
        ]

    async def patient_busy(
        self, patient_id: str, start: datetime, end: datetime, *, moving: str | None = None
    ) -> list[Busy]:
        pat = await self._call(self._patnum(patient_id))
        if pat is None:
            return []
        await self._ensure(start, end)
        return [
            Busy(self._provider_of.get(a.occupant, ""), a.start, a.end)
            for a in self.mirror.appointments.values()
            if a.pat == pat and a.blocks and a.overlaps(start, end) and str(a.num) != moving
        ]

    async def _own(self, pat: int) -> list[OdAppointment]:
        rows, _ = await self._call(self.client.get_all("appointments", PatNum=pat))
        return self.mirror.upsert(rows)

    async def is_new_patient(self, patient_id: str, *, now: datetime) -> bool:
        pat = await self._call(self._patnum(patient_id))
        if pat is None:
            return True  # the office has no record of them: never seen
        return _is_new(await self._own(pat), now)

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        if not appointment_id.isdigit():
            return None
        try:
            row = await self.client.get(f"appointments/{appointment_id}")
        except Refused:
            return None
        except OpenDentalError as exc:
            raise unavailable(exc) from None
        [a] = self.mirror.upsert([row])
        return self._appointment(a)

    async def upcoming_for_patient(self, patient_id: str, *, after: datetime) -> list[Appointment]:
        pat = await self._call(self._patnum(patient_id))
        if pat is None:
            return []
        own = [a for a in await self._own(pat) if a.blocks and a.status != "Complete"]
        return [
            self._appointment(a) for a in sorted(own, key=lambda a: a.start) if a.start >= after
        ]

    # --- writes ----------------------------------------------------------------------------------

    def _lock(self, patient_id: str) -> asyncio.Lock:
        return self._locks.setdefault(patient_id, asyncio.Lock())

    async def _fresh_day(self, day: date) -> None:
        """The office's own answer for `day`, right before (and after) writing."""
        rows, _ = await self._call(self.client.get_all("appointments", date=day.strftime(DATE)))
        self.mirror.upsert(rows)
        schedules, _ = await self._call(self.client.get_all("schedules", date=day.strftime(DATE)))
        self.mirror.take_schedules(day, schedules)

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
        prov = self._provnum(provider_id)
        async with self._lock(patient_id):
            pat = await self._call(self._patnum(patient_id, create=True))
            assert pat is not None
            own = await self._own(pat)
            ref = booking_ref(pat, starts_at.astimezone(self.tz), prov)
            already = next((a for a in own if a.blocks and REF + ref in a.note), None)
            if already is not None:  # an earlier try's write reached the office
                return self._appointment(already, call_id=call_id)
            if check is not None:
                check(_standing(own, now, self._visit_matcher(visit_type)))
            if any(a.blocks and a.overlaps(starts_at, ends_at) for a in own):
                raise PatientBusy("the patient has a visit then")
            day = starts_at.astimezone(self.tz).date()
            await self._fresh_day(day)
            op = self.mirror.fitting_operatory(prov, starts_at, ends_at)
            if op is None:
                raise SlotTaken("no operatory is open for the whole visit")
            body = self._body(
                pat=pat,
                op=op,
                provider_id=provider_id,
                visit_type=visit_type,
                starts_at=starts_at,
                ends_at=ends_at,
                is_new=_is_new(own, now),
                note=self._note(call_id, booked_by, visit_type, ref),
            )
            written = await self._write_or_find(body, pat, ref)
            await self._undo_if_second(written, day)
            return self._appointment(written, call_id=call_id)

    def _visit_matcher(self, visit_type: str) -> Callable[[OdAppointment], bool]:
        return lambda a: self._visit_of(a) == visit_type

    def _note(self, call_id: str, booked_by: str | None, visit_type: str, ref: str) -> str:
        who = f"staff app user {booked_by}" if booked_by else f"phone call {call_id or '-'}"
        return f"Booked by the AI receptionist on {who}. visit:{visit_type} {REF}{ref}"

    def _body(
        self,
        *,
        pat: int,
        op: int,
        provider_id: str,
        visit_type: str,
        starts_at: datetime,
        ends_at: datetime,
        is_new: bool,
        note: str,
    ) -> Row:
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        prov = self._provnum(provider_id)
        hygiene = self._hygienist(provider_id)
        operatory = self.mirror.operatories.get(op, {})
        body: Row = {
            "PatNum": pat,
            "Op": op,
            "AptDateTime": od_datetime(starts_at.astimezone(self.tz)),
            "AptStatus": "Scheduled",
            "Pattern": self.config.pattern_for(visit_type, minutes),
            # A hygiene visit: the hygienist is ProvHyg, the chair's dentist the ProvNum.
            "ProvNum": int(operatory.get("ProvDentist", 0)) or prov if hygiene else prov,
            "ProvHyg": prov if hygiene else 0,
            "IsHygiene": "true" if hygiene else "false",
            "IsNewPatient": "true" if is_new else "false",
            "Note": note,
        }
        mapping = self.config.visit_types.get(visit_type)
        if mapping is not None and mapping.appointment_type:
            body["AppointmentTypeNum"] = mapping.appointment_type
        if self.config.clinic:
            body["ClinicNum"] = self.config.clinic
        return body

    async def _write_or_find(self, body: Row, pat: int, ref: str) -> OdAppointment:
        """POST the appointment; if the answer is lost, look for it before anything else."""
        try:
            row = await self.client.request("POST", "appointments", json=body)
        except (Timeout, ServerError) as exc:
            log.warning("open dental booking answer lost (%s); looking for it", type(exc).__name__)
            found = next(
                (a for a in await self._own(pat) if a.blocks and REF + ref in a.note), None
            )
            if found is None:
                raise PmsUnavailable("the booking was not written") from None
            return found
        except OpenDentalError as exc:
            raise unavailable(exc) from None
        [written] = self.mirror.upsert([row])
        return written

    async def _undo_if_second(self, ours: OdAppointment, day: date, old: Row | None = None) -> None:
        """Open Dental lets two appointments share a chair: if another one, written before ours,
        now overlaps it (the desk was a moment quicker), ours gives way."""
        await self._fresh_day(day)
        mine = self.mirror.appointments.get(ours.num, ours)
        rivals = [
            a
            for a in self.mirror.appointments.values()
            if a.num != mine.num
            and a.blocks
            and a.overlaps(mine.start, mine.end)
            and (a.op == mine.op or a.occupant == mine.occupant)
            and (a.stamp, a.num) < (mine.stamp, mine.num)
        ]
        if not rivals:
            return
        log.warning("open dental: another booking took the time first; withdrawing ours")
        if old is None:
            await self._call(
                self.client.request(
                    "PUT",
                    f"appointments/{mine.num}/Break",
                    json={"sendToUnscheduledList": "false"},
                )
            )
        else:
            await self._call(self.client.request("PUT", f"appointments/{mine.num}", json=old))
        self.mirror.upsert([await self._call(self.client.get(f"appointments/{mine.num}"))])
        raise SlotTaken("the office booked this time first")

    async def _own_scheduled(self, appointment_id: str, patient_id: str) -> OdAppointment:
        pat = await self._call(self._patnum(patient_id))
        if pat is None or not appointment_id.isdigit():
            raise NotFound("no such booked appointment for this patient")
        try:
            row = await self.client.get(f"appointments/{appointment_id}")
        except Refused:
            raise NotFound("no such appointment") from None
        except OpenDentalError as exc:
            raise unavailable(exc) from None
        [a] = self.mirror.upsert([row])
        if a.pat != pat or a.status not in ("Scheduled", "ASAP"):
            raise NotFound("no such booked appointment for this patient")
        return a

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
        prov = self._provnum(provider_id)
        async with self._lock(patient_id):
            old = await self._own_scheduled(appointment_id, patient_id)
            own = await self._own(old.pat)
            if any(a.blocks and a.num != old.num and a.overlaps(starts_at, ends_at) for a in own):
                raise PatientBusy("the patient has a visit then")
            day = starts_at.astimezone(self.tz).date()
            await self._fresh_day(day)
            op = self.mirror.fitting_operatory(prov, starts_at, ends_at, ignore=old.num)
            if op is None:
                raise SlotTaken("no operatory is open for the whole visit")
            hygiene = self._hygienist(provider_id)
            new_time = od_datetime(starts_at.astimezone(self.tz))
            change: Row = {
                "AptDateTime": new_time,
                "Op": op,
                "ProvHyg": prov if hygiene else 0,
                "Note": f"{old.note} | Moved by the AI receptionist on call {call_id or '-'}.",
            }
            if not hygiene:
                change["ProvNum"] = prov
            undo: Row = {
                "AptDateTime": od_datetime(old.start),
                "Op": old.op,
                "ProvHyg": old.hyg,
                "ProvNum": old.prov,
                "Note": old.note,
            }
            try:
                row = await self.client.request("PUT", f"appointments/{old.num}", json=change)
                [moved] = self.mirror.upsert([row])
            except (Timeout, ServerError) as exc:
                log.warning("open dental move answer lost (%s); looking", type(exc).__name__)
                moved = await self._own_scheduled(appointment_id, patient_id)
                if od_datetime(moved.start) != new_time or moved.op != op:
                    raise PmsUnavailable("the move was not written") from None
            except OpenDentalError as exc:
                raise unavailable(exc) from None
            await self._undo_if_second(moved, day, old=undo)
            result = self._appointment(moved, call_id=call_id)
            result.replaces_id = str(old.num)
            return result

    async def confirm(self, appointment_id: str, *, patient_id: str, at: datetime) -> Appointment:
        """Sets the appointment's confirmation status in Open Dental (`PUT .../Confirm`,
        confirmVal "Confirmed"): the desk sees it on the schedule as it sees its own."""
        async with self._lock(patient_id):
            a = await self._own_scheduled(appointment_id, patient_id)
            try:
                await self.client.request(
                    "PUT", f"appointments/{a.num}/Confirm", json={"confirmVal": "Confirmed"}
                )
            except OpenDentalError as exc:  # repeating it is harmless: it sets one value
                raise unavailable(exc) from None
            confirmed = self._appointment(a)
            confirmed.confirmed_at = at
            return confirmed

    async def cancel(self, appointment_id: str, *, patient_id: str) -> Appointment:
        async with self._lock(patient_id):
            a = await self._own_scheduled(appointment_id, patient_id)
            try:
                await self.client.request(
                    "PUT", f"appointments/{a.num}/Break", json={"sendToUnscheduledList": "true"}
                )
            except (Timeout, ServerError) as exc:
                log.warning("open dental cancel answer lost (%s); looking", type(exc).__name__)
                try:
                    await self._own_scheduled(appointment_id, patient_id)
                except NotFound:
                    pass  # broken: the cancel went through
                else:
                    raise PmsUnavailable("the cancellation was not written") from None
            except OpenDentalError as exc:
                raise unavailable(exc) from None
            row = await self._call(self.client.get(f"appointments/{a.num}"))
            [broken] = self.mirror.upsert([row])
            cancelled = self._appointment(broken)
            cancelled.cancelled_at = utcnow()
            return cancelled


def unavailable(exc: OpenDentalError) -> PmsUnavailable:
    """The service's "not reachable" for a failed request; a refused key is logged as such
    (it needs a person: the office re-enables or re-issues the key)."""
    if isinstance(exc, Unauthorized):
        log.error(
            "open dental refused the keys (401): check OPENDENTAL_DEVELOPER_KEY and "
            "OPENDENTAL_CUSTOMER_KEY, and that the office enabled the key"
        )
    return PmsUnavailable(type(exc).__name__)


def _is_new(own: Iterable[OdAppointment], now: datetime) -> bool:
    """New to the office: no completed visit and no booked one that has started."""
    return not any(a.status == "Complete" or (a.blocks and a.start <= now) for a in own)


def _standing(
    own: list[OdAppointment], now: datetime, of_type: Callable[[OdAppointment], bool]
) -> Standing:
    upcoming = [a for a in own if a.blocks and a.status != "Complete" and a.start >= now]
    return Standing(
        is_new_patient=_is_new(own, now),
        upcoming=len(upcoming),
        upcoming_of_type=sum(1 for a in upcoming if of_type(a)),
    )
