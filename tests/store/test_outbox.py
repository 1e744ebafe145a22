"""Database down during a call: messages and call records wait in the outbox, then are written
exactly once, even if a flush is interrupted or repeated."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from receptionist.store import Outbox, Store

T0 = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


def _down_url(db_url: str, tmp_path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/book.db"
    return "postgresql+asyncpg://postgres@127.0.0.1:9/nothing_listens_here"


async def test_outbox_keeps_records_while_down_and_flushes_once(db_url: str, tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    down = Store(_down_url(db_url, tmp_path), outbox=outbox)
    message_id, where = await down.add_message(
        practice_id="lakeside",
        callback_number="+14145550123",
        reason="call me back",
        urgency="urgent",
        call_id="CA_1",
    )
    call_where = await down.save(
        "call",
        {
            "practice_id": "lakeside",
            "caller": "+14145550123",
            "dialled": "+14145550100",
            "livekit_call_id": "SCL_1",
            "sip_call_id": "x@y",
            "started_at": T0,
            "duration_seconds": 12.5,
            "outcome": "message",
            "outcomes": ["message"],
            "usage": {"llm_prompt_tokens": 10},
        },
    )
    await down.close()
    assert (where, call_where) == ("queued", "queued")
    pending = outbox.pending()
    assert sorted(p.kind for p in pending) == ["call", "message"]
    assert "+14145550123" in json.dumps([p.values for p in pending])  # kept in full, on disk only

    up = Store(db_url, outbox=outbox)
    try:
        # Keep a copy to simulate a crash between commit and file deletion.
        saved = {p.path: p.path.read_bytes() for p in pending}
        assert await up.flush_outbox() == 2
        assert outbox.pending() == []
        for path, content in saved.items():
            path.write_bytes(content)
        assert await up.flush_outbox() == 2  # cleared again...
        assert await up.count("message") == 1  # ...but written once
        assert await up.count("call") == 1
        [message] = await up.open_messages()
        assert (message.id, message.urgency) == (message_id, "urgent")
        [call] = await up.recent_calls()
        assert call.started_at == T0 and call.usage == {"llm_prompt_tokens": 10}
    finally:
        await up.close()


async def test_bad_outbox_record_is_quarantined_not_retried_forever(db_url: str, tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "message-bad.json").write_text(
        '{"kind": "message", "values": {"id": "b", "nope": 1}}'
    )
    (tmp_path / "outbox" / "garbage.json").write_text("{not json")
    store = Store(db_url, outbox=outbox)
    try:
        assert await store.flush_outbox() == 0
    finally:
        await store.close()
    assert outbox.pending() == []
    assert sorted(p.name for p in (tmp_path / "outbox" / "failed").iterdir()) == [
        "garbage.json",
        "message-bad.json",
    ]


async def test_a_database_without_tables_queues_rather_than_loses(tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/never-migrated.db", outbox=outbox)
    try:
        _, where = await store.add_message(
            practice_id="lakeside", callback_number="+14145550123", reason="call me"
        )
    finally:
        await store.close()
    assert where == "queued" and [p.kind for p in outbox.pending()] == ["message"]
