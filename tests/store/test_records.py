"""Call records at the end of a call: on both backends, transcripts only when enabled, outbox
when the database is down, never written twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receptionist.call.records import finish_call
from receptionist.call.state import CallState
from receptionist.domain.calls import CallInfo, Outcome
from receptionist.store import Outbox, Store
from tests.support.profiles import practice as make_practice
from tests.support.states import call_state

START = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


def _state(store: Store, *, transcripts: bool, caller: str = "+14144007103") -> CallState:
    practice = make_practice(records={"transcripts": transcripts})
    state = call_state(
        info=CallInfo(caller=caller, dialled="+14145550100", call_id="SCL_1", sip_call_id="a@b"),
        practice=practice,
        store=store,
        started_at=START,
        at=START + timedelta(seconds=83.25),
    )
    state.record(Outcome.INFORMATION)
    state.record(Outcome.BOOKED)
    state.transcript = [{"role": "user", "text": "I'd like a cleaning"}]
    return state


async def test_finish_call_writes_the_record_without_transcript_by_default(store: Store):
    await finish_call(
        _state(store, transcripts=False), {"llm_prompt_tokens": 900, "nested": {"a": (1, 2)}}
    )
    [call] = await store.records.recent_calls()
    assert (call.caller, call.dialled) == ("+14144007103", "+14145550100")
    assert (call.livekit_call_id, call.sip_call_id) == ("SCL_1", "a@b")
    assert call.started_at == START and call.duration_seconds == 83.25
    assert call.outcome == "booked" and call.outcomes == ["information", "booked"]
    assert call.usage == {"llm_prompt_tokens": 900, "nested": {"a": [1, 2]}}
    assert call.transcript is None
    assert call.patient_ids == []  # nobody proved who they were


async def test_transcript_is_stored_only_when_the_practice_enables_it(store: Store):
    await finish_call(_state(store, transcripts=True, caller="anonymous"), None)
    [call] = await store.records.recent_calls()
    assert call.transcript == [{"role": "user", "text": "I'd like a cleaning"}]
    assert call.caller == "unknown" and call.usage is None


async def test_database_down_keeps_the_record_then_flushes_it_once(db_url: str, tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    down_url = (
        f"sqlite+aiosqlite:///{tmp_path}/no/dir/x.db"
        if db_url.startswith("sqlite")
        else "postgresql+asyncpg://postgres@127.0.0.1:9/none"
    )
    down = Store(down_url, outbox=outbox)
    await finish_call(_state(down, transcripts=False), {"tokens": 1})
    await down.close()
    assert [p.kind for p in outbox.pending()] == ["call"]
    up = Store(db_url, outbox=outbox)
    try:
        # The next call's record is written, and the outbox is flushed after it.
        await finish_call(_state(up, transcripts=False), None)
        assert outbox.pending() == []
        assert await up.count("call") == 2
        assert await up.flush_outbox() == 0
        assert await up.count("call") == 2
    finally:
        await up.close()


async def test_a_stored_record_is_not_queued_again_when_the_flush_after_it_fails(
    store: Store, monkeypatch
):
    async def broken_flush() -> int:
        raise RuntimeError("outbox directory unreadable")

    monkeypatch.setattr(store, "flush_outbox", broken_flush)
    await finish_call(_state(store, transcripts=False), None)
    assert await store.count("call") == 1
    assert store.outbox.pending() == []  # stored: not kept in the outbox as well
