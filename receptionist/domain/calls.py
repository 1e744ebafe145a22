"""Who is calling: call info read from the SIP participant's attributes, and per-call state.

The bridge sets `sip.*` attributes on the caller's participant; console and browser callers have
none, so every field has a safe default. Numbers are normalised here, at the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from receptionist.domain.phone import UNKNOWN, normalize


class Outcome(StrEnum):
    """What a call achieved, most consequential first (the order picks the headline outcome)."""

    EMERGENCY = "emergency"
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    MESSAGE = "message"
    INFORMATION = "information"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class CallInfo:
    """The facts of one call, as the SIP bridge reported them (numbers already E.164 or unknown)."""

    caller: str = UNKNOWN
    dialled: str = UNKNOWN
    call_id: str = ""
    sip_call_id: str = ""
    trunk_id: str = ""
    rule_id: str = ""
    is_sip: bool = False

    @classmethod
    def from_attributes(
        cls, attributes: Mapping[str, str] | None, region: str, *, is_sip: bool = False
    ) -> CallInfo:
        attrs = attributes or {}

        def text(key: str) -> str:
            value = attrs.get(key, "")
            return value.strip()[:256] if isinstance(value, str) else ""

        return cls(
            caller=normalize(text("sip.phoneNumber"), region),
            dialled=normalize(text("sip.trunkPhoneNumber"), region),
            call_id=text("sip.callID"),
            sip_call_id=text("sip.callIDFull"),
            trunk_id=text("sip.trunkID"),
            rule_id=text("sip.ruleID"),
            is_sip=is_sip,
        )

    @property
    def log_id(self) -> str:
        """The id that ties log lines to this call."""
        return self.call_id or self.sip_call_id or "local"


@dataclass
class CallState:
    """Mutable per-call state shared by the agent and its tools (the session's userdata)."""

    info: CallInfo
    started_at: datetime
    caller_identity: str = ""
    room_name: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    transfer_destination: str = ""
    # The practice this call is for (receptionist.domain.practice.Practice).
    practice: Any = None
    # Telephony edges, set by the agent: CallControl (transfer/hang-up) and a ClipPlayer.
    control: Any = None
    clips: Any = None
    keypad: Any = None
    # The call's clock: tests pin it to put a call inside or outside opening hours.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # The practice's book (receptionist.store.Store); None: the process-wide store from settings.
    store: Any = None
    # Times offered in this call (receptionist.domain.scheduling.Offers): only these can be booked.
    offers: Any = None
    # The patient whose name and date of birth were confirmed (or who registered) in this call.
    patient_id: str | None = None
    patient_name: str = ""
    patient_is_new: bool = False
    identity_failures: int = 0
    registrations: int = 0
    # Appointments listed in this call: short reference ("appt-1") -> appointment id.
    appointment_refs: dict[str, str] = field(default_factory=dict)
    # [{"role": "user"|"assistant", "text": ...}]: stored with the call record only when the
    # practice enables transcripts (practice.records.transcripts).
    transcript: list[dict[str, str]] = field(default_factory=list)
    # What the booking tools remember within the call (tools._shared.BookingNotes).
    booking_notes: Any = None

    def now(self) -> datetime:
        return self.clock()

    def record(self, outcome: Outcome) -> None:
        if outcome not in self.outcomes:
            self.outcomes.append(outcome)

    @property
    def outcome(self) -> Outcome:
        """The call's headline outcome: the most consequential thing that happened."""
        for candidate in Outcome:
            if candidate in self.outcomes:
                return candidate
        return Outcome.ABANDONED
