"""Call records: every call is written to the call log when it ends.

Caller and dialled number are E.164 or "unknown" (normalised at the edge), the outcome is the call's
headline outcome, usage is whatever figures the session reported. The transcript is stored only when
the practice turns transcripts on. `patient_ids` names every patient the caller proved to be
(verified or registered; only their visits can be listed, moved or cancelled), so a look at the call
is in each one's audit even when it booked nothing and took no message; like the rest of the record
they are never logged. If the database is down the record goes to the local outbox with its id, to
be written exactly once later, and any earlier outbox records are flushed after a successful write.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from receptionist.call.state import CallState
from receptionist.domain.phone import UNKNOWN, is_e164

log = logging.getLogger(__name__)
MAX_TRANSCRIPT_ITEMS = 500
MAX_EVENTS = 200


def call_record(state: CallState, usage: dict | None, *, ended_at: datetime) -> dict[str, Any]:
    """The call log row for a finished call (pure: easy to test and to keep in the outbox)."""
    practice = state.practice
    info = state.info
    transcript = None
    if practice.records.transcripts:
        transcript = [
            {"role": str(t.get("role", "")), "text": str(t.get("text", ""))[:4000]}
            for t in state.transcript[:MAX_TRANSCRIPT_ITEMS]
        ]
    return {
        "id": state.record_id,
        "practice_id": practice.id,
        "caller": info.caller if is_e164(info.caller) else UNKNOWN,
        "dialled": info.dialled if is_e164(info.dialled) else UNKNOWN,
        "livekit_call_id": info.call_id,
        "sip_call_id": info.sip_call_id,
        "started_at": state.started_at,
        "duration_seconds": round(max(0.0, (ended_at - state.started_at).total_seconds()), 3),
        "outcome": state.outcome.value,
        "outcomes": [o.value for o in state.outcomes],
        "usage": _jsonable(usage) if usage else None,
        "transcript": transcript,
        "events": [dict(event) for event in state.events[:MAX_EVENTS]],
        "patient_ids": list(state.identity.identified),
        "language": state.language,
    }


async def finish_call(state: CallState, usage: dict | None) -> None:
    """Writes the call record (or keeps it in the outbox); never raises into the shutdown path."""
    record = call_record(state, usage, ended_at=state.now())
    store = state.store
    try:
        where = await store.records.save("call", record)
        log.info("call record %s", where, extra={"outcome": record["outcome"]})
    except Exception as exc:
        # Last resort: whatever went wrong (bad URL, broken store), keep the record on disk.
        # Type only: the message could carry the record's values.
        log.error(
            "could not write the call record (%s); keeping it in the outbox", type(exc).__name__
        )
        try:
            store.outbox.put("call", record)
        except Exception as kept:  # nowhere to keep it: say so plainly (types only, no values)
            log.critical(
                "call record %s lost: the outbox cannot keep it (%s)",
                record["id"],
                type(kept).__name__,
            )
        return
    if where == "stored":
        try:  # the database is back: write what earlier outages left behind
            await store.flush_outbox()
        except Exception as exc:  # the record itself is stored: never queue it again
            log.warning("outbox flush after the call failed (%s)", type(exc).__name__)


def _jsonable(value: Any) -> Any:
    """Usage objects from the framework become plain JSON (numbers, strings, lists, dicts)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump())
    return str(value)
