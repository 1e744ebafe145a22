"""Database down during a call: messages and call records wait in the outbox, then are written
exactly once, even if a flush is interrupted or repeated."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from receptionist.store import Outbox, Store
from receptionist.store.records import Records

T0 = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


def _down_url(db_url: str, tmp_path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/book.db"
    return "postgresql+asyncpg://postgres@127.0.0.1:9/nothing_listens_here"


async def test_outbox_keeps_records_while_down_and_flushes_once(db_url: str, tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    down = Store(_down_url(db_url, tmp_path), outbox=outbox)
    message_id, where = await down.records.add_message(
        practice_id="lakeside",
        callback_number="+14145550123",
        reason="call me back",
        urgency="urgent",
        call_id="CA_1",
    )
    call_where = await down.records.save(
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
        [message] = await up.records.open_messages()
        assert (message.id, message.urgency) == (message_id, "urgent")
        [call] = await up.records.recent_calls()
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
        _, where = await store.records.add_message(
            practice_id="lakeside", callback_number="+14145550123", reason="call me"
        )
    finally:
        await store.close()
    assert where == "queued" and [p.kind for p in outbox.pending()] == ["message"]


def _message(record_id: str) -> dict:
    return {
        "id": record_id,
        "practice_id": "lakeside",
        "callback_number": "+14145550123",
        "reason": "call me back",
        "urgency": "routine",
        "caller_name": "",
        "call_id": "",
        "created_at": T0.isoformat(),
    }


def test_a_file_flushed_by_another_process_meanwhile_is_skipped(tmp_path, monkeypatch):
    # Two worker processes flush the same outbox: a file listed by one may be gone (written and
    # deleted by the other) before it is read or quarantined. That is not an error.
    outbox = Outbox(tmp_path / "outbox")
    gone = outbox.put("message", _message("gone"))
    kept = outbox.put("message", _message("kept"))
    real_read = type(gone).read_text

    def read_after_the_other_process(self, *args, **kwargs):
        if self == gone:
            self.unlink()  # the other process wrote it and deleted the file just now
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(type(gone), "read_text", read_after_the_other_process)
    assert [p.path for p in outbox.pending()] == [kept]
    outbox.quarantine(gone)  # already gone: nothing to move, no error
    assert not (tmp_path / "outbox" / "failed" / gone.name).exists()


async def test_a_record_the_database_rejects_is_quarantined_and_the_rest_flushed(
    db_url: str, tmp_path, monkeypatch
):
    from sqlalchemy.exc import DataError

    outbox = Outbox(tmp_path / "outbox")
    outbox.put("message", _message("a-rejected"))
    outbox.put("message", _message("b-fine"))
    store = Store(db_url, outbox=outbox)
    real_insert = Records.insert_once

    async def insert_once(self, kind, values):
        if values["id"] == "a-rejected":  # e.g. a value too long for its column on PostgreSQL
            raise DataError("INSERT INTO messages ...", None, ValueError("value too long"))
        return await real_insert(self, kind, values)

    monkeypatch.setattr(Records, "insert_once", insert_once)
    try:
        assert await store.flush_outbox() == 1
        [message] = await store.records.open_messages()
        assert message.id == "b-fine"
    finally:
        await store.close()
    assert outbox.pending() == []
    assert [p.name for p in (tmp_path / "outbox" / "failed").iterdir()] == [
        "message-a-rejected.json"
    ]
