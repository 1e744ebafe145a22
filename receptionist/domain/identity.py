"""Who the caller is, as far as this call has proved: identity checks, lock-out and what follows.

Nothing about an appointment is disclosed or changed before a caller's name and date of birth match
a patient. This object keeps the bookkeeping that rule needs within one call, so the tools only
validate, call and phrase:

- attempts: a check (or a registration, which is one too) counts as a failure *before* the lookup,
  because the framework runs one turn's tool calls concurrently and a batch of guesses must not all
  pass the check while the first ones wait on the database; a match or an outage takes it back;
- the lock-out after `max_failures`, and the cap on registrations;
- the names tried (another date of birth for a name that failed is a guess, not a new patient);
- whose record is in use, and the appointment refs (`appt-N`) given out for that record, numbered
  once per call and never reused, so a ref kept from an earlier listing never points elsewhere;
- every patient the caller proved to be (`identified`), kept after a later check ends the
  verification: the call record names them, so a look at the call (its transcript holds their
  name and date of birth) is in their audit;
- for each appointment, the reply in which the caller was told its cancellation policy (a
  confirmed cancel needs it from an earlier reply: the caller has answered since).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from receptionist.store import name_key

MAX_IDENTITY_FAILURES = 3
MAX_REGISTRATIONS = 2


class IdentityLocked(Exception):
    """Too many failed checks in this call: no more checks or registrations."""


class NoMoreRegistrations(Exception):
    """This call has registered as many new patients as it may."""


@dataclass(frozen=True)
class VerifiedPatient:
    """The patient whose record this call may read and change."""

    id: str
    full_name: str
    is_new: bool

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0]

    @property
    def key(self) -> str:
        return name_key(self.full_name)


@dataclass
class Attempt:
    """One identity check under way; settle it with exactly one of its methods."""

    identity: Identity
    key: str
    registration: bool = False

    def void(self) -> None:
        """Nothing was checked (the book was unreachable): the attempt does not count."""
        self.identity.failures -= 1
        if self.registration:
            self.identity.registrations -= 1

    def failed(self) -> None:
        """No patient matches: the failure stands, the name counts as tried, and whoever was
        verified before is not any more (the caller is not who a check said they were)."""
        self.identity.names_tried.add(self.key)
        self.identity.end_verification()

    def refused_as_locked(self) -> None:
        """Not checked: the name or number is locked across calls. Nothing more is checked in
        this call either."""
        self.void()
        self.identity.locked_across_calls = True

    def refused_as_guess(self) -> None:
        """A registration of a name already tried: a guess, not a patient. The failure stands."""
        self.identity.registrations -= 1

    def matched(self, patient: VerifiedPatient) -> None:
        """Name and date of birth match a patient: not a failure, and the caller is them now."""
        self.identity.failures -= 1
        if self.registration:
            self.identity.registrations -= 1
            self.identity.names_tried.add(self.key)
        self.identity.adopt(patient)

    def registered(self, patient: VerifiedPatient) -> None:
        """A new record: it still counts as one attempt, so registering cannot be used to try
        more dates of birth than checking allows."""
        self.identity.names_tried.add(self.key)
        self.identity.adopt(patient)


@dataclass
class Identity:
    max_failures: int = MAX_IDENTITY_FAILURES
    max_registrations: int = MAX_REGISTRATIONS
    failures: int = 0
    registrations: int = 0
    names_tried: set[str] = field(default_factory=set)
    patient: VerifiedPatient | None = None
    # The name or number tried is locked by failures across calls (`[identity]` policy).
    locked_across_calls: bool = False
    staff_told: bool = False  # the staff have this call's security message
    # Every patient this call verified or registered, in order (ids only, never logged).
    identified: list[str] = field(default_factory=list)
    _refs: dict[str, str] = field(default_factory=dict)  # "appt-N" -> appointment id
    _next_ref: int = 1
    _policy_told: dict[str, str] = field(default_factory=dict)  # appointment id -> reply id

    # --- checks ------------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """No more checks in this call: too many failures here, or a lock across calls."""
        return self.failures >= self.max_failures or self.locked_across_calls

    @property
    def verified(self) -> bool:
        return self.patient is not None

    @property
    def patient_id(self) -> str | None:
        return self.patient.id if self.patient else None

    @property
    def may_register(self) -> bool:
        return self.registrations < self.max_registrations

    def attempt(self, full_name: str) -> Attempt:
        """Starts a check of `full_name`, counted as a failure until it is settled. A check for a
        different person ends the earlier verification, its appointment refs included."""
        if self.locked:
            raise IdentityLocked()
        key = name_key(full_name)
        if self.patient is not None and self.patient.key != key:
            self.end_verification()
        self.failures += 1
        return Attempt(self, key)

    def registration(self, full_name: str) -> Attempt:
        """Starts a registration: an identity attempt too, and one of the call's registrations."""
        if self.locked:
            raise IdentityLocked()
        if not self.may_register:
            raise NoMoreRegistrations()
        attempt = self.attempt(full_name)
        attempt.registration = True
        self.registrations += 1
        return attempt

    def was_tried(self, full_name: str) -> bool:
        return name_key(full_name) in self.names_tried

    def end_verification(self) -> None:
        """Nobody is verified: no record may be read or changed until the next match."""
        self.patient = None
        self._refs.clear()
        self._policy_told.clear()

    def adopt(self, patient: VerifiedPatient) -> None:
        """The caller is now this patient for the rest of the call (until another check).

        Only an adopted patient's visits are listed, moved or cancelled, so `identified` names
        every patient whose data the call read or changed, whoever booked those visits."""
        if self.patient is None or patient.id != self.patient.id:
            self._refs.clear()  # a different person: earlier listings no longer apply
        self.patient = patient
        if patient.id not in self.identified:
            self.identified.append(patient.id)

    # --- appointment refs ----------------------------------------------------------------------

    def ref_for(self, appointment_id: str) -> str:
        """This call's ref for an appointment of the verified patient (the same one every time)."""
        for ref, known in self._refs.items():
            if known == appointment_id:
                return ref
        ref = f"appt-{self._next_ref}"
        self._next_ref += 1
        self._refs[ref] = appointment_id
        return ref

    def appointment_for(self, ref: str) -> str | None:
        return self._refs.get((ref or "").strip())

    def forget(self, appointment_id: str) -> None:
        """The appointment changed (moved or cancelled): its ref is never valid again."""
        self._refs = {r: i for r, i in self._refs.items() if i != appointment_id}

    # --- the cancellation policy -----------------------------------------------------------------

    def policy_told(self, appointment_id: str, reply_id: str) -> None:
        """The caller is being told the policy in reply `reply_id` (the first telling counts)."""
        self._policy_told.setdefault(appointment_id, reply_id)

    def policy_heard(self, appointment_id: str, reply_id: str) -> bool:
        """Whether the caller heard the policy in an earlier reply and has answered since."""
        told = self._policy_told.get(appointment_id)
        return told is not None and not (reply_id and told == reply_id)
