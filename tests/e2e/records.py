"""Reading the book the worker writes during end-to-end calls."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from receptionist.store import Outbox, Store
from receptionist.store.models import CallRecord

# Reading the call log writes nothing: the outbox is never used.
READER_OUTBOX = Path(tempfile.gettempdir()) / "e2e-reader-outbox"


def call_record(database_url: str, sip_call_id: str, timeout: float = 30.0) -> CallRecord:
    """The call record the worker writes at call end (it may land just after the BYE)."""

    async def find() -> CallRecord | None:
        async with Store(database_url, outbox=Outbox(READER_OUTBOX)) as store:
            for record in await store.records.recent_calls(limit=50):
                if record.sip_call_id == sip_call_id:
                    return record
        return None

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = asyncio.run(find())
        if record is not None:
            return record
        time.sleep(0.5)
    raise AssertionError(f"no call record for SIP Call-ID {sip_call_id} within {timeout:.0f}s")
