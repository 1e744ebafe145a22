"""A scripted staff member and room for warm-transfer conversation tests.

`FakeLegs` stands in for receptionist/call/legs.py's `RoomLegs`: it records what the warm
transfer did to the room (hold, who hears the agent, the dial request, join, legs ended) in order,
and plays a `Staff` script: how their line answers, what they press or say once the briefing
starts, whether they hang up. The real room mechanics are covered by the e2e calls.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession

from receptionist.call.legs import Dialled, StaffCall
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice

CALLER = "sip_caller"
TRUNK = "ST_transfers"


@dataclass
class Staff:
    """What the staff member's phone and the staff member do."""

    line: Line = Line.ANSWERED
    sip_status: int | None = 200
    ring_seconds: float = 0.0
    presses: list[str] = field(default_factory=list)  # once the briefing starts
    says: list[str] = field(default_factory=list)  # once the briefing starts, before presses
    pause: float = 0.05  # between their answers
    hangs_up: bool = False  # during the briefing, instead of answering


@dataclass
class FakeLegs:
    staff: Staff = field(default_factory=Staff)
    trunk: str | None = TRUNK
    caller: str = CALLER
    done: list[tuple[Any, ...]] = field(default_factory=list)
    dialled: list[StaffCall] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    quieted: int = 0
    _left: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    # --- the Legs protocol ---------------------------------------------------------------

    async def outbound_trunk(self, practice: Practice) -> str | None:
        return self.trunk

    async def ready_hold(self) -> None:
        self.done.append(("hold ready",))

    async def tell_staff(self, text: str, session: AgentSession) -> None:
        self.told.append(text)  # what the staff member heard, in order
        await asyncio.sleep(0.01)

    def quiet_staff(self) -> None:
        self.quieted += 1

    async def start_hold(self, audio: str) -> None:
        self.done.append(("hold", audio))

    async def stop_hold(self) -> None:
        if any(d[0] == "hold" for d in self.done) and not self.holding_stopped:
            self.done.append(("hold stopped",))

    async def agent_heard_by(self, *, caller: bool, staff: str | None) -> None:
        self.done.append(("agent heard by", caller, staff))

    async def dial(self, call: StaffCall) -> Dialled:
        self.dialled.append(call)
        self.done.append(("dial", call.identity))
        await asyncio.sleep(self.staff.ring_seconds)
        return Dialled(self.staff.line, self.staff.sip_status)

    async def join(self, staff: str) -> None:
        self.done.append(("join", staff))

    async def remove(self, identity: str) -> None:
        self.done.append(("remove", identity))
        self.hang_up(identity)

    def left(self, identity: str) -> asyncio.Future[None]:
        if identity not in self._left:
            self._left[identity] = asyncio.get_running_loop().create_future()
        return self._left[identity]

    def keys(self, identity: str) -> asyncio.Queue[str]:
        pressed: asyncio.Queue[str] = asyncio.Queue()
        self._play(self._press(identity, pressed))
        return pressed

    def words(self, identity: str, session: Any) -> asyncio.Queue[str]:
        heard: asyncio.Queue[str] = asyncio.Queue()
        self._play(self._say(heard))
        return heard

    async def close(self) -> None:
        self.done.append(("closed",))
        for task in self._tasks:
            task.cancel()

    # --- the test's hand on the room -----------------------------------------------------

    def hang_up(self, identity: str) -> None:
        """`identity`'s phone hangs up (or their leg ends)."""
        self.left(identity)
        if not self._left[identity].done():
            self._left[identity].set_result(None)

    @property
    def holding_stopped(self) -> bool:
        return ("hold stopped",) in self.done

    def kinds(self) -> list[str]:
        return [d[0] for d in self.done]

    # --- the staff member's script -------------------------------------------------------

    def _play(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _say(self, heard: asyncio.Queue[str]) -> None:
        for text in self.staff.says:
            await asyncio.sleep(self.staff.pause)
            heard.put_nowait(text)

    async def _press(self, identity: str, pressed: asyncio.Queue[str]) -> None:
        await asyncio.sleep(self.staff.pause * (len(self.staff.says) + 1))
        if self.staff.hangs_up:
            self.hang_up(identity)
            return
        for digit in self.staff.presses:
            pressed.put_nowait(digit)
            await asyncio.sleep(self.staff.pause)
