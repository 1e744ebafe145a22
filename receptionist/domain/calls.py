"""Who is calling, and what a call achieved: call info read from the SIP participant's attributes.

The bridge sets `sip.*` attributes on the caller's participant; console and browser callers have
none, so every field has a safe default. Numbers are normalised here, at the edge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from receptionist.domain.phone import UNKNOWN, normalize
from receptionist.store.models import CALL_ID_LENGTH

MAX_ATTRIBUTE = 256
DIALLED = "sip.trunkPhoneNumber"


def attribute(attributes: Mapping[str, str] | None, key: str) -> str:
    """One SIP attribute as text: trimmed, bounded, empty when absent or not text."""
    value = (attributes or {}).get(key, "")
    return value.strip()[:MAX_ATTRIBUTE] if isinstance(value, str) else ""


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
            return attribute(attrs, key)

        return cls(
            caller=normalize(text("sip.phoneNumber"), region),
            dialled=normalize(text(DIALLED), region),
            call_id=text("sip.callID")[:CALL_ID_LENGTH],
            sip_call_id=text("sip.callIDFull"),
            trunk_id=text("sip.trunkID"),
            rule_id=text("sip.ruleID"),
            is_sip=is_sip,
        )

    @property
    def log_id(self) -> str:
        """The id that ties log lines to this call. Without LiveKit's call id, a digest of the SIP
        Call-ID header: the header itself may carry the caller's number."""
        if self.call_id:
            return self.call_id
        if self.sip_call_id:
            return "sip-" + hashlib.sha256(self.sip_call_id.encode()).hexdigest()[:12]
        return "local"
