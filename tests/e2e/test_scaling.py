"""Beyond one machine, with real calls: two workers share calls, a rolling deploy drains without
dropping one, and a call whose worker is killed outright is picked up again by `receptionist watch`.

The fleet (tests/e2e/fleet.py) is two `agent.py start` workers under an agent name of their own,
each on a "host" (a network namespace of its own, joined to the stack's by a veth pair), answering
a line of their own (FLEET_NUMBER), with two watchers running beside them the whole time. Each
worker takes at most two calls (MAX_CALLS=2), so four calls at once must be split between them.

Wall-clock figures (kill -> caller hears the agent again, SIGTERM -> worker exit) are measured
from the caller's side and written to `.stack/<stack>/scaling-figures.json`, never asserted: the
machine is shared and loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from receptionist.logs import redact
from receptionist.ops.claims import RecoveryClaims
from receptionist.ops.stack import LocalStack
from receptionist.store import Outbox, Store
from receptionist.store.engine import make_engine
from tests.e2e.fleet import (
    FLEET_AGENT,
    FLEET_NUMBER,
    FLEET_ROOM_PREFIX,
    Fleet,
    FleetLine,
    Host,
    PlacedCall,
    Watchers,
    answered_at,
    calls_together,
    fleet_env,
    fleet_practice,
    rooms_taken,
    run_in_stack,
    start_watchers,
    wait_for,
)
from tests.e2e.rig import ALLOWED, Provisioning, Worker, sip_log_fields
from tests.support.sipcall import SippResult, voiced_frames, write_speech_ulaw

pytestmark = pytest.mark.e2e

SECOND = bytes([0xFF]) * 8000  # one second of mu-law silence: RTP keeps flowing, no turn
MIN_VOICED_FRAMES = 50  # 20 ms frames: a second of audible agent speech
MIN_GOODBYE_FRAMES = 25  # "Thank you for calling. Goodbye!" is short: half a second of it


# --- the fleet -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_line(
    stack: LocalStack, base_env: dict[str, str], provisioning: Provisioning
) -> Iterator[FleetLine]:
    ids = run_in_stack(
        stack, base_env, "create", FLEET_NUMBER, FLEET_AGENT, ALLOWED, FLEET_ROOM_PREFIX
    )
    yield FleetLine(ids["trunk_id"], ids["rule_id"])
    run_in_stack(stack, base_env, "delete", ids["trunk_id"], ids["rule_id"])


@pytest.fixture(scope="module")
def hosts(stack: LocalStack) -> Iterator[list[Host]]:
    made = [Host(stack, 1), Host(stack, 2)]
    try:
        for host in made:
            host.create()
        yield made
    finally:
        for host in made:
            host.delete()


@pytest.fixture(scope="module")
def fleet(
    stack: LocalStack,
    base_env: dict[str, str],
    hosts: list[Host],
    fleet_line: FleetLine,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    practice = fleet_practice(tmp_path_factory.mktemp("fleet-practice"))
    running = Fleet(stack, fleet_env(base_env, practice), hosts)
    try:
        running.ensure_running()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def watchers(
    stack: LocalStack, base_env: dict[str, str], fleet_line: FleetLine
) -> Iterator[Watchers]:
    """Two `receptionist watch` processes for the whole module: none may act on a healthy or a
    draining call, and exactly one may act on a killed one."""
    env = {**base_env, "AGENT_NAME": FLEET_AGENT, "LOG_LEVEL": "INFO"}
    running = start_watchers(stack, env, count=2)
    yield running
    for proc in running.procs:
        stack.stop_process(proc)


@pytest.fixture(scope="module")
def figures(stack: LocalStack) -> Iterator[dict[str, object]]:
    measured: dict[str, object] = {}
    yield measured
    (stack.run_dir / "scaling-figures.json").write_text(json.dumps(measured, indent=2) + "\n")


@pytest.fixture(scope="module")
def goodbye_ulaw(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("speech")
    return write_speech_ulaw(
        "That is all I needed, thank you. Goodbye.", folder / "s.ulaw"
    ).read_bytes()


# --- helpers -------------------------------------------------------------------------------------


def room_of(stack: LocalStack, result: SippResult) -> str:
    """The call's room as the workers log it (LiveKit names it after the caller: redacted)."""
    invites = result.sent("INVITE")
    assert invites, f"sipp sent no INVITE:\n{result.log}"
    room = sip_log_fields(stack, invites[0].header("call-id")).get("room", "")
    assert room.startswith(FLEET_ROOM_PREFIX), room
    return redact(room)


def holder_of(workers: list[Worker], counts: dict[int, int]) -> Worker | None:
    """The worker that received a job request since `counts` was taken."""
    return next((w for w in workers if len(rooms_taken(w)) > counts[w.proc.pid]), None)


def record_for(database_url: str, result: SippResult, timeout: float = 60.0):
    """The call record the (last) agent writes at call end."""
    sip_call_id = result.sent("INVITE")[0].header("call-id")

    async def find():
        outbox = Outbox(Path(tempfile.gettempdir()) / "e2e-reader-outbox")
        async with Store(database_url, outbox=outbox) as store:
            for record in await store.records.recent_calls(limit=50):
                if record.sip_call_id == sip_call_id:
                    return record
        return None

    return wait_for("the call record", lambda: asyncio.run(find()), timeout, every=0.5)


def claims_on(database_url: str, room_sid: str) -> list:
    async def read():
        engine = make_engine(database_url)
        try:
            return await RecoveryClaims(engine, watcher="e2e-reader").for_room(room_sid)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def log_time(worker: Worker, message: str) -> float | None:
    """When `message` was logged by the worker (epoch seconds), from its JSON log line."""
    for line in worker.log().splitlines():
        if f'"message": "{message}"' in line:
            entry = json.loads(line[line.find("{") :])
            return datetime.fromisoformat(entry["timestamp"]).timestamp()
    return None


def assert_heard(placed: PlacedCall, frames: int = MIN_VOICED_FRAMES) -> SippResult:
    result = placed.result
    assert result is not None
    assert result.returncode == 0, result.log
    assert result.received(200), f"never answered:\n{result.log}"
    assert len(voiced_frames(result.rtp)) >= frames, "the caller did not hear the agent"
    return result


# --- 1. two workers share the calls --------------------------------------------------------------


def test_two_workers_share_the_calls(
    fleet: Fleet, watchers: Watchers, stack: LocalStack, tmp_path: Path
):
    workers = fleet.ensure_running()
    counts = {w.proc.pid: len(rooms_taken(w)) for w in workers}
    with calls_together(stack, tmp_path, first_port=0) as batch:
        for _ in range(4):
            batch.place("listen_then_hang_up.xml", SECOND * 2, listen_ms="9000")

    rooms = [room_of(stack, assert_heard(placed)) for placed in batch.calls]
    taken = {w.proc.pid: rooms_taken(w)[counts[w.proc.pid] :] for w in workers}
    assert sorted(sum(taken.values(), [])) == sorted(rooms), taken
    # Each worker takes at most MAX_CALLS=2: four calls at once must be split two and two.
    assert all(len(jobs) == 2 for jobs in taken.values()), taken
    assert watchers.dispatches() == [], "a watcher acted on a healthy call"


# --- 2. a rolling deploy drains a worker without dropping its call -------------------------------


def test_rolling_deploy_drains_the_held_call(
    fleet: Fleet,
    watchers: Watchers,
    stack: LocalStack,
    tmp_path: Path,
    database_url: str,
    goodbye_ulaw: bytes,
    figures: dict[str, object],
):
    workers = fleet.ensure_running()
    counts = {w.proc.pid: len(rooms_taken(w)) for w in workers}
    # The held call: silence while the worker is told to stop, then the caller says goodbye and
    # the agent ends the call (its natural end), on the worker that is draining.
    held_audio = SECOND * 14 + goodbye_ulaw + SECOND * 30
    with calls_together(stack, tmp_path, first_port=8) as batch:
        held = batch.place("agent_hangs_up.xml", held_audio, timeout_s=120)
        holder = wait_for("the held call reaches a worker", lambda: holder_of(workers, counts), 60)
        assert isinstance(holder, Worker)
        wait_for("the held call is answered", lambda: answered_at(held), 60)
        time.sleep(2)
        sigterm_at = time.time()
        os.kill(holder.proc.pid, signal.SIGTERM)  # what Kubernetes or `lk agent deploy` send
        wait_for("the worker drains", lambda: "draining worker" in holder.log(), 30)
        other = next(w for w in workers if w is not holder)
        other_before = len(rooms_taken(other))
        fresh = [
            batch.place("listen_then_hang_up.xml", SECOND * 2, listen_ms="6000") for _ in range(2)
        ]

    result = assert_heard(held)
    assert len(result.received("BYE")) == 1 and not result.sent("BYE"), "the agent ends the call"
    after_term = [p for p in voiced_frames(result.rtp) if p.time > sigterm_at + 0.5]
    assert len(after_term) >= MIN_GOODBYE_FRAMES, "the caller heard nothing after the SIGTERM"
    assert record_for(database_url, result).sip_call_id

    fresh_rooms = [room_of(stack, assert_heard(placed)) for placed in fresh]
    assert sorted(rooms_taken(other)[other_before:]) == sorted(fresh_rooms)
    assert rooms_taken(holder)[counts[holder.proc.pid] :] == [room_of(stack, result)], (
        "the draining worker took a new call"
    )

    exit_code = holder.proc.wait(timeout=120)
    assert exit_code == 0, holder.log()[-3000:]
    assert watchers.dispatches() == [], "a watcher acted on a draining worker's call"
    stopped = log_time(holder, "shutting down worker")
    call_ended = result.received("BYE")[0].epoch
    figures["drain"] = {
        "sigterm_to_call_end_s": round(call_ended - sigterm_at, 1),
        "sigterm_to_worker_shutdown_s": round(stopped - sigterm_at, 1) if stopped else None,
        "call_end_to_worker_shutdown_s": round(stopped - call_ended, 1) if stopped else None,
        "exit_code": exit_code,
    }


# --- 3. a worker killed outright: the watcher sends the agent back -------------------------------


def test_killed_worker_call_is_picked_up_again(
    fleet: Fleet,
    watchers: Watchers,
    stack: LocalStack,
    tmp_path: Path,
    database_url: str,
    goodbye_ulaw: bytes,
    figures: dict[str, object],
):
    workers = fleet.ensure_running()
    counts = {w.proc.pid: len(rooms_taken(w)) for w in workers}
    # Silence through the greeting, the kill and the recovery; then goodbye to the new agent.
    audio = SECOND * 32 + goodbye_ulaw + SECOND * 30
    with calls_together(stack, tmp_path, first_port=16) as batch:
        call = batch.place("agent_hangs_up.xml", audio, timeout_s=150)
        holder = wait_for("the call reaches a worker", lambda: holder_of(workers, counts), 60)
        assert isinstance(holder, Worker)
        answered = wait_for("the call is answered", lambda: answered_at(call), 60)
        assert isinstance(answered, float)
        time.sleep(max(0.0, answered + 10 - time.time()))  # the greeting has been heard
        killed_at = time.time()
        os.killpg(holder.proc.pid, signal.SIGKILL)  # the worker and its job processes

    result = call.result
    assert result is not None and result.returncode == 0, result and result.log
    voiced = voiced_frames(result.rtp)
    assert [p for p in voiced if p.time < killed_at], "the first agent was never heard"
    again = [p for p in voiced if p.time > killed_at + 0.5]
    assert len(again) >= MIN_VOICED_FRAMES, "the caller never heard an agent after the kill"
    assert len(result.received("BYE")) == 1 and not result.sent("BYE"), "the new agent ends it"
    assert holder.proc.wait(timeout=30) == -signal.SIGKILL

    # Exactly one recovery, by one of the two watchers, handled by the surviving worker.
    dispatches = watchers.dispatches()
    assert len(dispatches) == 1, dispatches
    room_sid = dispatches[0]["room_sid"]
    claims = claims_on(database_url, room_sid)
    assert [(c.attempts, c.dispatch_id) for c in claims] == [(1, dispatches[0]["dispatch_id"])]
    room = room_of(stack, result)
    survivor = next(w for w in workers if w is not holder)
    recovered = [j for j in survivor.job_requests() if j.get("room") == room]
    assert [j.get("dispatch_id") for j in recovered] == [dispatches[0]["dispatch_id"]]

    record = record_for(database_url, result)
    kinds = [event["kind"] for event in record.events or []]
    assert "recovered" in kinds, kinds

    heard_again = again[0].time - killed_at
    silent_before = max((p.time for p in voiced if p.time < killed_at), default=killed_at)
    dispatched_at = datetime.fromisoformat(dispatches[0]["timestamp"]).timestamp()
    figures["recovery"] = {
        "kill_to_caller_hears_agent_s": round(heard_again, 1),
        "kill_to_dispatch_s": round(dispatched_at - killed_at, 1),
        "caller_silence_s": round(again[0].time - silent_before, 1),
        "watchers_that_found_it_claimed": len(watchers.lines("orphaned call: already claimed")),
        "why": dispatches[0]["why"],
    }
