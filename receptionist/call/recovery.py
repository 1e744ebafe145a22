"""A call picked up again after its agent was lost: what the watcher hands the new job.

`receptionist watch` dispatches the agent into the caller's room again with this as the dispatch
metadata (the job reads it as `ctx.job.metadata`). The new job then greets with "we were cut off"
instead of the opening line, notes the recovery in the call's timeline, and keeps the call's
original start for its record. Calls dispatched by the SIP rule carry no such metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from receptionist.call.heartbeat import HEARTBEAT_ATTRIBUTE

if TYPE_CHECKING:
    from livekit import rtc

RECOVERY_KEY = "recovery"
MAX_METADATA = 4096


@dataclass(frozen=True)
class Recovery:
    """Why this job was dispatched: the agent it replaces and the watcher's claim on the call."""

    claim_id: str
    lost_agent: str  # the identity of the agent participant that stopped
    last_beat: str = ""  # its heartbeat when the watcher gave up on it ("" if it had none)
    attempt: int = 1
    call_started_ms: int = 0  # when the caller joined the room, ms since the epoch (0: unknown)

    def to_metadata(self) -> str:
        return json.dumps({RECOVERY_KEY: asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, metadata: str | None) -> Recovery | None:
        """The recovery in a job's metadata, or None for an ordinary call (or anything else)."""
        if not metadata or len(metadata) > MAX_METADATA:
            return None
        try:
            found = json.loads(metadata).get(RECOVERY_KEY)
            return cls(
                claim_id=str(found["claim_id"])[:36],
                lost_agent=str(found["lost_agent"])[:128],
                last_beat=str(found.get("last_beat", ""))[:32],
                attempt=int(found.get("attempt", 1)),
                call_started_ms=int(found.get("call_started_ms", 0)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    @property
    def call_started_at(self) -> datetime | None:
        if self.call_started_ms <= 0:
            return None
        return datetime.fromtimestamp(self.call_started_ms / 1000, tz=UTC)

    def lost_agent_alive(self, participants: Iterable[rtc.Participant]) -> bool:
        """Whether the agent given up on is still here with a heartbeat that moved on since the
        watcher's last look: it was only slow, and a second agent must not talk over it."""
        for participant in participants:
            if participant.identity == self.lost_agent:
                beat = participant.attributes.get(HEARTBEAT_ATTRIBUTE, "")
                return bool(beat) and beat != self.last_beat
        return False

    def timeline_detail(self) -> str:
        """The timeline entry (no patient data: ids only)."""
        return f"picked up again after the agent was lost (attempt {self.attempt})"
