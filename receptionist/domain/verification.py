"""Checking who the caller is against the book: one call's `Identity`, plus the lock-out that
holds across calls (failed checks stored per name and per caller number, `[identity]` policy).

A locked name or number is never checked: the caller is told the team will call back, the staff get
one `security` message per call (the name tried, the masked number, how many failures), and nothing
is disclosed. The tools call `Verifier` and phrase its answer.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime
from enum import StrEnum

from receptionist.domain.identity import Attempt, Identity, VerifiedPatient
from receptionist.domain.messages import leave_message
from receptionist.domain.phone import UNKNOWN, mask
from receptionist.domain.practice import Practice
from receptionist.store import FailureCounts, Patient, Store, StoreError, name_key
from receptionist.store.models import SECURITY

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    VERIFIED = "verified"  # name and date of birth match a patient
    NO_MATCH = "no_match"  # no patient matches (the failure is counted here and across calls)
    LOCKED = "locked"  # too many failures for this name or number: not checked
    REGISTERED = "registered"  # a new patient record
    GUESS = "guess"  # a registration of a name that already failed in this call


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    patient: VerifiedPatient | None = None


@dataclass
class Verifier:
    """Identity checks for one call, over its `Identity` and the practice's book."""

    identity: Identity
    store: Store
    practice: Practice
    _: KW_ONLY
    caller: str
    call_id: str
    now: datetime

    async def verify(self, full_name: str, born: date) -> Checked:
        """Raises `IdentityLocked` (this call) or `StoreUnavailable` (the attempt then does not
        count)."""
        attempt = self.identity.attempt(full_name)  # counted before any await (see Identity)
        try:
            if await self._locked_across_calls(attempt):
                return Checked(Verdict.LOCKED)
            patient = await self.store.appointments.find_patient(self.practice.id, full_name, born)
            if patient is None:
                return await self._no_match(attempt, full_name)
            found = await self._found(patient)
        except StoreError:
            attempt.void()
            raise
        attempt.matched(found)
        return Checked(Verdict.VERIFIED, found)

    async def register(self, full_name: str, born: date, phone: str) -> Checked:
        """Registers a new patient, or recognises an existing one (as good as `verify`).
        Raises `IdentityLocked`, `NoMoreRegistrations` or `StoreUnavailable`."""
        tried = self.identity.was_tried(full_name)
        attempt = self.identity.registration(full_name)  # counted before any await
        try:
            if await self._locked_across_calls(attempt):
                return Checked(Verdict.LOCKED)
            existing = await self.store.appointments.find_patient(self.practice.id, full_name, born)
            if existing is None and tried:
                # This name already failed to match (or was registered) in this call: another
                # date of birth is a guess or a mishearing, not a new patient. No duplicate.
                attempt.refused_as_guess()
                return Checked(Verdict.GUESS)
            if existing is not None:
                found = await self._found(existing)
                attempt.matched(found)
                return Checked(Verdict.VERIFIED, found)
            patient, created = await self.store.appointments.register_patient(
                self.practice.id, full_name, born, phone, new_patient=True
            )
            found = await self._found(patient)
        except StoreError:
            attempt.void()
            raise
        if created:
            attempt.registered(found)
            return Checked(Verdict.REGISTERED, found)
        attempt.matched(found)  # registered by someone else a moment ago: the same person
        return Checked(Verdict.VERIFIED, found)

    async def _found(self, patient: Patient) -> VerifiedPatient:
        is_new = await self.store.appointments.is_new_patient(patient.id, now=self.now)
        return VerifiedPatient(patient.id, patient.full_name, is_new)

    async def _locked_across_calls(self, attempt: Attempt) -> bool:
        counts = await self._counts(attempt.key)
        if not counts.reaches(self.practice.identity.max_failures):
            return False
        attempt.refused_as_locked()
        await self._tell_staff(attempt.key, counts)
        return True

    async def _no_match(self, attempt: Attempt, full_name: str) -> Checked:
        attempt.failed()
        try:
            await self.store.identity.record_identity_failure(
                self.practice.id, attempt.key, self.caller, call_id=self.call_id, at=self.now
            )
            counts = await self._counts(attempt.key)
        except StoreError as exc:  # the per-call limit still holds; the staff are told later
            log.warning("failed identity check not stored (%s)", type(exc).__name__)
            return Checked(Verdict.NO_MATCH)
        if counts.reaches(self.practice.identity.max_failures):
            self.identity.locked_across_calls = True
            await self._tell_staff(attempt.key, counts)
        return Checked(Verdict.NO_MATCH)

    async def _counts(self, key: str) -> FailureCounts:
        since = self.now - self.practice.identity.window
        return await self.store.identity.identity_failures(
            self.practice.id, key, self.caller, since=since
        )

    async def _tell_staff(self, key: str, counts: FailureCounts) -> None:
        """One security message per call: who was tried, from where, how often."""
        if self.identity.staff_told:
            return
        self.identity.staff_told = True
        policy = self.practice.identity
        number = mask(self.caller) if self.caller != UNKNOWN else "a withheld number"
        reason = (
            f"Identity checks locked: {max(counts.by_name, counts.by_number)} failed attempts "
            f"within {policy.window_hours:g} h (for the name {key!r}: {counts.by_name}; from "
            f"{number}: {counts.by_number}). Nothing was disclosed. Call the patient back to "
            "confirm who they are; clear the lock with `receptionist locks clear`."
        )
        try:
            await leave_message(
                self.store,
                self.practice,
                caller_name=key,
                callback_number=self.caller,
                reason=reason,
                urgency="soon",
                kind=SECURITY,
                call_id=self.call_id,
            )
        except StoreError as exc:
            log.warning("security message not stored (%s)", type(exc).__name__)


def lock_key(full_name: str) -> str:
    """The key a lock is kept under for a name (how staff name it to clear it)."""
    return name_key(full_name)
