"""The watcher's rules without a server: when a call counts as orphaned, which key every watcher
derives for it, the recovery metadata a job reads, and the claim that lets only one watcher
dispatch (on SQLite and PostgreSQL, with claimers racing). test_scaling proves them on real calls.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from receptionist.call.heartbeat import HEARTBEAT_ATTRIBUTE, Heartbeat
from receptionist.call.recovery import Recovery
from receptionist.ops.claims import RecoveryClaims
from receptionist.ops.orphans import (
    AGENT,
    ASK_DISPATCHES,
    SIP,
    Member,
    Orphan,
    OrphanDetector,
    PastJob,
    RoomView,
)
from receptionist.store import upgrade
from receptionist.store.engine import make_engine
from tests.support.backends import PostgresServer, start_postgres
from tests.support.pgcluster import ClusterUnavailable

OURS = "receptionist"
CALLER = Member("sip_caller", SIP, joined_at_ms=1_000)


def agent(identity: str = "agent-AJ_a", beat: str | None = "1", name: str = OURS) -> Member:
    return Member(identity, AGENT, agent_name=name, heartbeat=beat, joined_at_ms=2_000)


def room(*members: Member) -> RoomView:
    return RoomView("call-_x", "RM_1", members)


def detector() -> OrphanDetector:
    return OrphanDetector(OURS, stale_after=5.0, join_grace=20.0)


# --- orphans -------------------------------------------------------------------------------------


def test_a_beating_agent_is_alive_and_a_stopped_one_is_lost_after_stale_after():
    watch = detector()
    for second, beat in enumerate(["1", "2", "3"]):
        assert watch.assess(room(CALLER, agent(beat=beat)), now=float(second)) is None
    assert watch.assess(room(CALLER, agent(beat="3")), now=6.9) is None  # 4.9 s since "3"
    lost = watch.assess(room(CALLER, agent(beat="3")), now=7.1)
    assert lost == Orphan("call-_x", "RM_1", "agent-AJ_a", "3", 1_000, "heartbeat stopped")


def test_a_first_sighting_counts_as_a_beat():
    """A watcher started after the agent stopped judges it on a full `stale_after` of its own."""
    watch = detector()
    assert watch.assess(room(CALLER, agent(beat="9")), now=100.0) is None
    assert watch.assess(room(CALLER, agent(beat="9")), now=104.0) is None
    assert isinstance(watch.assess(room(CALLER, agent(beat="9")), now=105.5), Orphan)


def test_an_agent_without_a_heartbeat_is_trusted():
    """An agent still setting up, or an older version mid-upgrade, writes none: never judged."""
    watch = detector()
    for now in (0.0, 10.0, 100.0):
        assert watch.assess(room(CALLER, agent(beat=None)), now=now) is None


def test_no_caller_no_orphan():
    watch = detector()
    watch.assess(room(agent(beat="1")), now=0.0)
    assert watch.assess(room(agent(beat="1")), now=60.0) is None


def test_a_recovering_agent_beside_the_dead_one_settles_the_call():
    watch = detector()
    watch.assess(room(CALLER, agent(beat="3")), now=0.0)
    assert isinstance(watch.assess(room(CALLER, agent(beat="3")), now=6.0), Orphan)
    newcomer = Member("agent-AJ_b", AGENT, agent_name=OURS, heartbeat=None, joined_at_ms=9_000)
    assert watch.assess(room(CALLER, agent(beat="3"), newcomer), now=7.0) is None


def test_an_agent_that_left_is_missed_under_the_same_key():
    """Whether a watcher sees the agent stop beating or sees it gone, it names the same agent:
    watchers that saw different moments still race for one claim."""
    early, late = detector(), detector()
    early.assess(room(CALLER, agent(beat="3")), now=0.0)
    stopped = early.assess(room(CALLER, agent(beat="3")), now=6.0)
    late.assess(room(CALLER, agent(beat="3")), now=5.0)
    left = late.assess(room(CALLER), now=30.0)
    assert isinstance(stopped, Orphan) and isinstance(left, Orphan)
    assert (stopped.room_sid, stopped.lost_agent) == (left.room_sid, left.lost_agent)
    assert left.why == "agent left"


def test_a_caller_with_no_agent_in_sight_needs_the_dispatches():
    watch = detector()
    assert watch.assess(room(CALLER), now=0.0) is ASK_DISPATCHES
    now_ms = 100_000
    pending = [PastJob(OURS)]  # the rule's dispatch, not placed yet: the call is ringing
    assert watch.from_dispatches(room(CALLER), pending, now_ms) is None
    joining = [PastJob(OURS, "agent-AJ_a", started_ms=now_ms - 5_000)]
    assert watch.from_dispatches(room(CALLER), joining, now_ms) is None
    gone = [PastJob(OURS, "agent-AJ_a", started_ms=now_ms - 60_000)]
    orphan = watch.from_dispatches(room(CALLER), gone, now_ms)
    assert isinstance(orphan, Orphan) and orphan.lost_agent == "agent-AJ_a"
    recovery_on_its_way = [*gone, PastJob(OURS)]
    assert watch.from_dispatches(room(CALLER), recovery_on_its_way, now_ms) is None


def test_another_agents_calls_are_left_alone():
    watch = detector()
    other = agent(name="billing-bot", beat="1")
    watch.assess(room(CALLER, other), now=0.0)
    assert watch.assess(room(CALLER, other), now=60.0) is None
    theirs = [PastJob("billing-bot", "agent-AJ_z", started_ms=0)]
    assert watch.from_dispatches(room(CALLER), theirs, 100_000) is None


def test_forget_drops_rooms_that_are_gone():
    watch = detector()
    watch.assess(room(CALLER, agent(beat="3")), now=0.0)
    watch.forget(set())
    assert watch.assess(room(CALLER), now=60.0) is ASK_DISPATCHES


# --- the recovery a job reads --------------------------------------------------------------------


def test_recovery_metadata_round_trips_and_junk_is_an_ordinary_call():
    recovery = Recovery("claim-1", "agent-AJ_a", "3", attempt=2, call_started_ms=1_700_000_000_000)
    assert Recovery.from_metadata(recovery.to_metadata()) == recovery
    assert recovery.call_started_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    for junk in ("", "{}", "[1]", "not json", '{"recovery": {"claim_id": "x"}}', "x" * 5000):
        assert Recovery.from_metadata(junk) is None


def test_a_recovering_job_leaves_an_agent_that_beat_again():
    recovery = Recovery("claim-1", "agent-AJ_a", last_beat="3")

    def present(beat: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(identity="agent-AJ_a", attributes={HEARTBEAT_ATTRIBUTE: beat})]

    assert not recovery.lost_agent_alive(present("3"))  # frozen where the watcher saw it
    assert recovery.lost_agent_alive(present("4"))  # it was only slow
    assert not recovery.lost_agent_alive([])  # already dropped by the server


# --- claims, on both backends --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer | str]:
    try:
        server = start_postgres()
    except ClusterUnavailable as exc:
        yield str(exc)
        return
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def book_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'book.db'}"
        await upgrade(url)
        yield url
        return
    server = request.getfixturevalue("pg_server")
    if isinstance(server, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: PostgreSQL must be available: {server}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {server}")
    name = f"w_{uuid.uuid4().hex[:12]}"
    url = await server.create_database(name)
    try:
        yield url
    finally:
        await server.drop_database(name)


async def _race(url: str, claimers: int, **kw) -> list:
    """`claimers` watchers, each with its own engine (as separate processes would), claim the same
    call at the same moment."""
    engines = [make_engine(url) for _ in range(claimers)]
    try:
        claims = [RecoveryClaims(e, watcher=f"w{n}", **kw) for n, e in enumerate(engines)]
        now = datetime.now(UTC)
        return list(await asyncio.gather(*(c.claim("RM_1", "agent-AJ_a", now=now) for c in claims)))
    finally:
        for engine in engines:
            await engine.dispose()


async def test_racing_watchers_win_one_claim(book_url: str):
    won = [claim for claim in await _race(book_url, 6) if claim is not None]
    assert len(won) == 1 and won[0].attempt == 1
    engine = make_engine(book_url)
    try:
        rows = await RecoveryClaims(engine, watcher="reader").for_room("RM_1")
    finally:
        await engine.dispose()
    assert [(row.lost_agent, row.attempts) for row in rows] == [("agent-AJ_a", 1)]


async def test_a_claim_is_taken_over_once_after_retry_after_and_not_forever(book_url: str):
    engine = make_engine(book_url)
    try:
        first = RecoveryClaims(engine, watcher="w0", retry_after=timedelta(seconds=30))
        start = datetime.now(UTC)
        assert (await first.claim("RM_1", "agent-AJ_a", now=start)) is not None
        assert await first.claim("RM_1", "agent-AJ_a", now=start + timedelta(seconds=10)) is None
    finally:
        await engine.dispose()
    # Past retry_after, racing watchers move the claim on by exactly one attempt.
    engines = [make_engine(book_url) for _ in range(4)]
    try:
        later = start + timedelta(seconds=31)
        takers = [RecoveryClaims(e, watcher=f"t{n}", max_attempts=2) for n, e in enumerate(engines)]
        won = [
            c
            for c in await asyncio.gather(
                *(t.claim("RM_1", "agent-AJ_a", now=later) for t in takers)
            )
            if c is not None
        ]
        assert [c.attempt for c in won] == [2]
        much_later = later + timedelta(minutes=5)
        assert await takers[0].claim("RM_1", "agent-AJ_a", now=much_later) is None  # max reached
        # Another agent lost in the same room later is a new incident.
        assert await takers[0].claim("RM_1", "agent-AJ_b", now=much_later) is not None
    finally:
        for engine in engines:
            await engine.dispose()


# --- the heartbeat -------------------------------------------------------------------------------


class FlakyParticipant:
    """Acknowledges most beats at once, never acknowledges the second, fails the fourth."""

    def __init__(self) -> None:
        self.written: list[str] = []

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        beat = attributes[HEARTBEAT_ATTRIBUTE]
        self.written.append(beat)
        if beat == "2":
            await asyncio.Event().wait()  # an acknowledgement that never comes
        if beat == "4":
            raise RuntimeError("room closing")


async def test_the_heartbeat_keeps_its_pace_whatever_the_acknowledgements():
    participant = FlakyParticipant()
    heartbeat = Heartbeat(participant, every=0.05)
    heartbeat.start()
    await asyncio.sleep(0.33)
    await heartbeat.aclose()
    # One beat per interval even though one waited forever and one failed.
    assert participant.written[:6] == ["1", "2", "3", "4", "5", "6"]
    assert heartbeat.misses == 0  # the beats after the bad ones were acknowledged
