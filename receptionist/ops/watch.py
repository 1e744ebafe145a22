"""`receptionist watch`: sends the agent back into a call whose worker died.

LiveKit Cloud re-dispatches a dead worker's jobs; the self-hosted server does not (see
livekit/agents#1472), so when a worker host dies mid-call the caller is left on an open, silent
line. This watcher polls the room API once a `--interval`, judges each room with
receptionist/ops/orphans.py (a phone caller and no live agent of ours), claims the recovery in the
book (receptionist/ops/claims.py, so several watchers dispatch once) and creates an agent dispatch
into the same room. The new job greets with "we were cut off" (receptionist/call/recovery.py).

    uv run receptionist watch                      # LIVEKIT_*, DATABASE_URL, AGENT_NAME from .env

Run two or more, each on a different host (any host that reaches the LiveKit API and
the book): they share the work through the claims. Logs carry room sids and agent identities,
never room names (LiveKit names a SIP room after the caller's number).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

import typer
from livekit import api
from livekit.protocol import agent_dispatch, models

from receptionist import logs
from receptionist.call.heartbeat import HEARTBEAT_ATTRIBUTE
from receptionist.call.recovery import Recovery
from receptionist.ops.claims import RETRY_AFTER, RecoveryClaims
from receptionist.ops.orphans import (
    AGENT,
    ASK_DISPATCHES,
    OTHER,
    SIP,
    Member,
    Orphan,
    OrphanDetector,
    PastJob,
    RoomView,
)
from receptionist.settings import Settings
from receptionist.store import SchemaError, check_schema
from receptionist.store.engine import DatabaseUrlError, make_engine

log = logging.getLogger("receptionist.watch")

AGENT_NAME_ATTRIBUTE = "lk.agent.name"  # set by livekit-agents on every agent participant
CONCURRENT_ROOMS = 16  # room API requests in flight at once per sweep
_KINDS = {
    models.ParticipantInfo.Kind.SIP: SIP,
    models.ParticipantInfo.Kind.AGENT: AGENT,
}


def member(info: models.ParticipantInfo) -> Member:
    """A participant as orphans.py sees it (a leaving participant no longer counts)."""
    kind = _KINDS.get(info.kind, OTHER)
    if info.state == models.ParticipantInfo.State.DISCONNECTED:
        kind = OTHER
    return Member(
        identity=info.identity,
        kind=kind,
        agent_name=info.attributes.get(AGENT_NAME_ATTRIBUTE, ""),
        heartbeat=info.attributes.get(HEARTBEAT_ATTRIBUTE),
        joined_at_ms=info.joined_at_ms or info.joined_at * 1000,
    )


def past_jobs(dispatches: Iterable[agent_dispatch.AgentDispatch]) -> list[PastJob]:
    """The room's agent jobs; a dispatch with none yet is an agent on its way."""
    jobs = []
    for dispatch in dispatches:
        if not dispatch.state.jobs:
            jobs.append(PastJob(dispatch.agent_name))
        for job in dispatch.state.jobs:
            started = job.state.started_at or dispatch.state.created_at
            jobs.append(PastJob(dispatch.agent_name, job.state.participant_identity, _ms(started)))
    return jobs


def _ms(server_time: int) -> int:
    """Server timestamps are unix nanoseconds; tolerate milliseconds and seconds."""
    if server_time > 10**17:
        return server_time // 10**6
    if server_time > 10**11:
        return server_time
    return server_time * 1000


class Watcher:
    """One sweep at a time over every room the server has."""

    def __init__(
        self,
        lk: api.LiveKitAPI,
        claims: RecoveryClaims,
        detector: OrphanDetector,
    ) -> None:
        self._lk = lk
        self._claims = claims
        self._detector = detector
        self._limit = asyncio.Semaphore(CONCURRENT_ROOMS)
        # A key this watcher claimed or lost is not asked about again until a retry could win.
        self._quiet_until: dict[tuple[str, str], float] = {}
        self.dispatched = 0

    async def sweep(self) -> None:
        rooms = (await self._lk.room.list_rooms(api.ListRoomsRequest())).rooms
        await asyncio.gather(*(self._check(room) for room in rooms))
        live = {room.sid for room in rooms}
        self._detector.forget(live)
        self._quiet_until = {k: v for k, v in self._quiet_until.items() if k[0] in live}

    async def _check(self, room: models.Room) -> None:
        """Judges one room and recovers it if orphaned; a failure stays with this room (logged
        by type: messages may quote the room's name) and the next sweep tries again."""
        async with self._limit:
            try:
                await self._judge(room)
            except api.TwirpError as exc:
                if exc.code != "not_found":  # not_found: the call ended meanwhile
                    log.warning("room not handled", extra={"room_sid": room.sid, "code": exc.code})
            except Exception as exc:
                log.warning(
                    "room not handled (%s)", type(exc).__name__, extra={"room_sid": room.sid}
                )

    async def _judge(self, room: models.Room) -> None:
        listed = await self._lk.room.list_participants(api.ListParticipantsRequest(room=room.name))
        view = RoomView(room.name, room.sid, tuple(member(p) for p in listed.participants))
        verdict = self._detector.assess(view, time.monotonic())
        if verdict is ASK_DISPATCHES:
            dispatches = await self._lk.agent_dispatch.list_dispatch(room.name)
            verdict = self._detector.from_dispatches(
                view, past_jobs(dispatches), int(time.time() * 1000)
            )
        if isinstance(verdict, Orphan):
            await self.recover(verdict)

    async def recover(self, orphan: Orphan) -> None:
        """Claims the call and, if this watcher won, dispatches the agent into it again."""
        key = (orphan.room_sid, orphan.lost_agent)
        if time.monotonic() < self._quiet_until.get(key, 0.0):
            return
        self._quiet_until[key] = time.monotonic() + self._claims.retry_after.total_seconds()
        about = {"room_sid": orphan.room_sid, "lost_agent": orphan.lost_agent, "why": orphan.why}
        claim = await self._claims.claim(*key, now=datetime.now(UTC))
        if claim is None:
            log.info("orphaned call: already claimed", extra=about)
            return
        recovery = Recovery(
            claim_id=claim.id,
            lost_agent=orphan.lost_agent,
            last_beat=orphan.last_beat,
            attempt=claim.attempt,
            call_started_ms=orphan.caller_joined_ms,
        )
        dispatch = await self._lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=self._detector.agent_name,
                room=orphan.room,
                metadata=recovery.to_metadata(),
            )
        )
        await self._claims.dispatched(claim, dispatch.id)
        self.dispatched += 1
        log.warning(
            "orphaned call: agent dispatched again",
            extra={**about, "attempt": claim.attempt, "dispatch_id": dispatch.id},
        )


async def watch_forever(
    settings: Settings,
    *,
    agent_name: str,
    interval: float,
    stale_after: float,
    join_grace: float,
    stop: asyncio.Event,
) -> None:
    """Sweeps every `interval` seconds until `stop` is set; a failed sweep is logged and the next
    one tries again (the server or the book may be restarting)."""
    engine = make_engine(settings.database_url)
    watcher_id = f"{socket.gethostname()}:{os.getpid()}"
    claims = RecoveryClaims(engine, watcher=watcher_id, retry_after=RETRY_AFTER)
    detector = OrphanDetector(agent_name, stale_after=stale_after, join_grace=join_grace)
    lk = api.LiveKitAPI(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret.get_secret_value(),
    )
    watcher = Watcher(lk, claims, detector)
    if engine.dialect.name == "sqlite":
        log.warning("the book is SQLite: only watchers on this host share its claims")
    log.info(
        "watching for orphaned calls",
        extra={"agent_name": agent_name, "watcher": watcher_id, "interval": interval},
    )
    failing = 0  # sweeps failed in a row: an outage is logged when it starts and when it ends
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await watcher.sweep()
                if failing:
                    log.info("sweeps work again", extra={"failed_sweeps": failing})
                failing = 0
            except Exception as exc:  # types only: messages may quote room names
                if not failing:
                    log.warning("sweep failed (%s); retrying every interval", type(exc).__name__)
                failing += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, interval - (time.monotonic() - started))
                )
    finally:
        await lk.aclose()
        await engine.dispose()
        log.info("watcher stopped", extra={"dispatched": watcher.dispatched})


def command(
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between sweeps.")] = 1.0,
    stale_after: Annotated[
        float,
        typer.Option(
            min=2.0, help="Seconds without a heartbeat before an agent is taken for dead."
        ),
    ] = 5.0,
    join_grace: Annotated[
        float,
        typer.Option(min=5.0, help="Seconds an agent's job has to join before it is missed."),
    ] = 20.0,
    agent_name: Annotated[
        str, typer.Option(help="The agent to watch for and dispatch (default: AGENT_NAME).")
    ] = "",
) -> None:
    """Send the agent back into calls whose worker died (self-hosted LiveKit); run two or more."""
    from receptionist.ops.staff import fail, settings_or_exit

    settings = settings_or_exit()
    if not (settings.livekit_url and settings.livekit_api_key):
        fail("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set", code=2)
    logs.install(settings.log_level)
    try:
        asyncio.run(check_schema(settings.database_url))
    except (SchemaError, DatabaseUrlError) as exc:
        fail(str(exc), code=2)
    asyncio.run(
        _run(settings, agent_name or settings.agent_name, interval, stale_after, join_grace)
    )


async def _run(
    settings: Settings, agent_name: str, interval: float, stale_after: float, join_grace: float
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await watch_forever(
        settings,
        agent_name=agent_name,
        interval=interval,
        stale_after=stale_after,
        join_grace=join_grace,
        stop=stop,
    )
