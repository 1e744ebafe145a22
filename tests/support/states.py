"""Typed call states for tests that exercise one piece (tools' phrasing, call records, outcomes)
without a session: every part a real call has, with a recording API client and clip player."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from receptionist.call.control import CallControl
from receptionist.call.state import CallState
from receptionist.domain.calls import CallInfo
from receptionist.domain.practice import Practice
from receptionist.store import Outbox, Store
from tests.support.harness import OPEN_TIME, RecordingClips, RecordingLiveKitAPI, example_practice


def unused_store() -> Store:
    """A store that is never opened (no file is created until a query runs)."""
    outbox = Path(tempfile.gettempdir()) / "receptionist-test-outbox"
    return Store("sqlite+aiosqlite:///:memory:", outbox=Outbox(outbox))


def call_state(
    *,
    practice: Practice | None = None,
    store: Store | None = None,
    info: CallInfo | None = None,
    at: datetime = OPEN_TIME,
    started_at: datetime | None = None,
) -> CallState:
    return CallState(
        info=info or CallInfo(),
        practice=practice or example_practice(),
        store=store or unused_store(),
        control=CallControl(
            RecordingLiveKitAPI(),
            room_name="call-test",
            participant_identity="",
            ringing_timeout=30,
        ),
        clips=RecordingClips(),
        started_at=started_at or at,
        clock=lambda: at,
    )
