"""A heartbeat on the agent's participant, so a watcher can tell a live agent from a dead one.

When a worker dies outright (SIGKILL, OOM, a lost host) the self-hosted server keeps its agent in
the room until the server's ICE timeouts give up on it: about 20 s measured here, while the caller
hears nothing. The room API cannot tell that agent from a live one. This counter, written into a
participant attribute every second, can: `receptionist watch` reads it through the room API and
treats an agent whose counter has stopped as gone (see receptionist/ops/orphans.py).

The beats keep their pace whatever happens to the server's acknowledgements: the SDK sends the
update at once but waits up to 5 s for an acknowledgement that, with the session writing its own
attributes (`lk.agent.state`) at the same time, is sometimes never matched (seen here: one in
about 150). A beat that waited for it would leave a 6 s gap: a live agent taken for dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger("receptionist.call")

HEARTBEAT_ATTRIBUTE = "receptionist.heartbeat"
HEARTBEAT_SECONDS = 1.0
# Unacknowledged beats in a row before it is worth a warning (the watcher's default judges an
# agent after 5 s without a change it can see).
WARN_AFTER_MISSES = 3


class AttributeWriter(Protocol):
    """What the heartbeat needs of a participant (`rtc.LocalParticipant` has it)."""

    async def set_attributes(self, attributes: dict[str, str]) -> None: ...


class Heartbeat:
    """Bumps `HEARTBEAT_ATTRIBUTE` every `every` seconds until stopped.

    A beat that fails or goes unacknowledged within `every` is let go: the next one follows on
    time, and the call itself never depends on the heartbeat.
    """

    def __init__(self, participant: AttributeWriter, every: float = HEARTBEAT_SECONDS) -> None:
        self._participant = participant
        self._every = every
        self._task: asyncio.Task[None] | None = None
        self.beats = 0
        self.misses = 0  # unacknowledged or failed beats in a row

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="receptionist-heartbeat")

    def stop(self) -> None:
        """Stops beating now (from an event handler: the room has disconnected)."""
        if self._task is not None:
            self._task.cancel()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.beat()
            await asyncio.sleep(max(0.0, self._every - (loop.time() - started)))

    async def beat(self) -> None:
        """Writes the next beat, waiting at most one interval for the server to acknowledge it."""
        self.beats += 1
        update = self._participant.set_attributes({HEARTBEAT_ATTRIBUTE: str(self.beats)})
        try:
            await asyncio.wait_for(update, timeout=self._every)
            self.misses = 0
            return
        except TimeoutError:
            reason = "not acknowledged"
        except Exception as exc:  # the room may be closing
            reason = type(exc).__name__
        self.misses += 1
        if self.misses == WARN_AFTER_MISSES:
            log.warning("heartbeat: %d beats in a row %s", self.misses, reason)
