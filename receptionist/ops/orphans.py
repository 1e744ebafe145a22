"""Which calls have lost their agent: the watcher's judgement, from what the room API shows.

Pure (no LiveKit calls here): the watcher turns the API's answers into `RoomView`s and asks.

A call is orphaned when a phone caller is in the room and no agent of ours is alive in it:
- **heartbeat stopped** (the fast signal): our agent is still listed, but the counter it writes
  every second (receptionist/call/heartbeat.py) has not moved for `stale_after` seconds. A killed
  worker's agent stays listed for ~20 s until the server's ICE timeouts drop it, so waiting for it
  to leave (or for a `participant_left` webhook) would leave the caller in silence that long.
- **agent left**: no agent of ours is listed, though one was (this watcher saw it, or the room's
  dispatches name its job). A room whose agent has not arrived yet is not orphaned: a dispatch
  with no job yet, or a job younger than `join_grace`, is an agent on its way.
An agent that writes no heartbeat (an older version mid-upgrade) is trusted while it is listed.

Each orphan names the agent it lost; (room sid, lost agent) is the key every watcher derives
alike, so they can agree through the book on who recovers it (receptionist/ops/claims.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

SIP, AGENT, OTHER = "sip", "agent", "other"


@dataclass(frozen=True)
class Member:
    """One participant as the watcher sees it."""

    identity: str
    kind: str  # SIP | AGENT | OTHER
    agent_name: str = ""
    heartbeat: str | None = None
    joined_at_ms: int = 0


@dataclass(frozen=True)
class RoomView:
    name: str
    sid: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class PastJob:
    """One agent job the room's dispatches list (`participant` is "" while it is unplaced)."""

    agent_name: str
    participant: str = ""
    started_ms: int = 0


@dataclass(frozen=True)
class Orphan:
    room: str
    room_sid: str
    lost_agent: str
    last_beat: str  # the lost agent's last heartbeat ("" if unknown)
    caller_joined_ms: int
    why: str  # "heartbeat stopped" | "agent left"


class Verdict(Enum):
    """`assess` cannot tell without the room's dispatches (a caller and no agent in sight)."""

    ASK_DISPATCHES = "ask dispatches"


ASK_DISPATCHES = Verdict.ASK_DISPATCHES


@dataclass
class _Beat:
    value: str | None
    changed_at: float


class OrphanDetector:
    """Remembers heartbeats between sweeps (one per `interval`); `now` is a monotonic clock."""

    def __init__(self, agent_name: str, *, stale_after: float, join_grace: float) -> None:
        self.agent_name = agent_name
        self.stale_after = stale_after
        self.join_grace = join_grace
        self._beats: dict[tuple[str, str], _Beat] = {}
        self._last_agent: dict[str, Member] = {}  # room sid -> our latest agent seen there

    def assess(self, room: RoomView, now: float) -> Orphan | Verdict | None:
        callers = [m for m in room.members if m.kind == SIP]
        ours = [m for m in room.members if m.kind == AGENT and m.agent_name == self.agent_name]
        alive = [m for m in ours if self._alive(room.sid, m, now)]  # every beat is recorded
        if ours:
            self._last_agent[room.sid] = max(ours, key=lambda m: m.joined_at_ms)
        if not callers or alive:
            return None
        joined = min(m.joined_at_ms for m in callers)
        if ours:
            lost = self._last_agent[room.sid]
            return Orphan(
                room.name,
                room.sid,
                lost.identity,
                lost.heartbeat or "",
                joined,
                "heartbeat stopped",
            )
        if (seen := self._last_agent.get(room.sid)) is not None:
            return Orphan(
                room.name, room.sid, seen.identity, seen.heartbeat or "", joined, "agent left"
            )
        if any(m.kind == AGENT for m in room.members):
            return None  # another agent's call
        return ASK_DISPATCHES

    def from_dispatches(
        self, room: RoomView, jobs: Iterable[PastJob], now_ms: int
    ) -> Orphan | None:
        """The verdict on a room with a caller and no agent, from its dispatches: orphaned only
        if every dispatch of ours was placed, and the latest long enough ago to have joined."""
        mine = [job for job in jobs if job.agent_name == self.agent_name]
        if not mine or any(not job.participant for job in mine):
            return None  # not our call, or an agent is on its way
        latest = max(mine, key=lambda job: job.started_ms)
        if now_ms - latest.started_ms < self.join_grace * 1000:
            return None
        callers = [m.joined_at_ms for m in room.members if m.kind == SIP]
        return Orphan(
            room.name, room.sid, latest.participant, "", min(callers, default=0), "agent left"
        )

    def forget(self, live_room_sids: set[str]) -> None:
        """Drops what it remembers of rooms that are gone."""
        self._beats = {k: v for k, v in self._beats.items() if k[0] in live_room_sids}
        self._last_agent = {k: v for k, v in self._last_agent.items() if k in live_room_sids}

    def _alive(self, room_sid: str, agent: Member, now: float) -> bool:
        """Alive while its heartbeat moves (or it has none to judge by); a first sighting counts
        as a beat, so an agent is never judged on less than `stale_after` of watching."""
        key = (room_sid, agent.identity)
        seen = self._beats.get(key)
        if seen is None or seen.value != agent.heartbeat:
            self._beats[key] = _Beat(agent.heartbeat, now)
            return True
        if agent.heartbeat is None:
            return True
        return now - seen.changed_at < self.stale_after
