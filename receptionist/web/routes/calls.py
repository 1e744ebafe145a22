"""Calls: the call log (newest first, a page at a time) and one call's page: what the assistant
did in order, and the transcript when the practice keeps transcripts.

Appointments and messages carry the LiveKit call id of the call that made them;
`/calls/from/<call id>` finds that call's record, so the links cost nothing until followed. A
call's page is about the patients the caller proved to be (the record names them) and those the
same id, read the other way, links to it (the visits it booked or moved, the messages it took from
a verified caller): each view is audited with every one of them, since the caller's number, the
steps and the transcript are theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.domain.calls import Outcome
from receptionist.store import CallRecord
from receptionist.web.context import web_of
from receptionist.web.guard import SignedIn

router = APIRouter()
PAGE = 50


def transfer(call: CallRecord) -> str:
    """Whether the caller was handed to a person, and how that went."""
    failures = [
        e for e in call.events or [] if isinstance(e, dict) and e.get("kind") == "transfer_failed"
    ]
    if Outcome.TRANSFERRED.value in (call.outcomes or []):
        return "put through" + (f" (after {len(failures)} failed tries)" if failures else "")
    if failures:
        reason = str(failures[-1].get("detail") or "").strip()
        return "failed" + (f": {reason}" if reason else "")
    return ""


def timeline(call: CallRecord) -> list[dict[str, Any]]:
    """The call's events in time order, each with a parsed time (None when unreadable)."""
    events = []
    for event in call.events or []:
        if not isinstance(event, dict):
            continue
        try:
            at: datetime | None = datetime.fromisoformat(str(event.get("at", "")))
        except ValueError:
            at = None
        kind = str(event.get("kind", ""))
        events.append(
            {
                "at": at,
                "what": kind.replace("_", " ").capitalize(),
                "detail": event.get("detail", ""),
            }
        )
    return sorted(events, key=lambda e: (e["at"] is None, e["at"].timestamp() if e["at"] else 0))


def _moment(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo is not None else None


@router.get("/calls")
async def calls(
    request: Request,
    staff: SignedIn,
    practice: str = "",
    outcome: str = "",
    before: str = "",
) -> Response:
    web = web_of(request)
    wanted = outcome if outcome in {o.value for o in Outcome} else ""
    rows = await web.store.staff.staff_calls(
        web.selected_ids(practice), before=_moment(before), outcome=wanted or None, limit=PAGE
    )
    await web.audit(
        staff, "viewed_calls", subject=f"{practice or 'all'} {wanted}", detail=f"{len(rows)} calls"
    )
    older = ""
    if len(rows) == PAGE:
        query = {"practice": practice, "outcome": wanted, "before": rows[-1].started_at.isoformat()}
        older = "/calls?" + urlencode({k: v for k, v in query.items() if v})
    return web.pages.render(
        request,
        "calls.html",
        nav="calls",
        rows=[(c, web.practice_or_default(c.practice_id), transfer(c)) for c in rows],
        practice_id=practice,
        outcome=wanted,
        outcomes=[o.value for o in Outcome],
        directory=web.directory,
        older=older,
        paged=bool(before),
    )


@router.get("/calls/from/{livekit_call_id}")
async def call_from(request: Request, _: SignedIn, livekit_call_id: str) -> Response:
    web = web_of(request)
    record_id = await web.store.staff.call_record_id_for(livekit_call_id)
    if record_id is None:
        raise HTTPException(
            404,
            "That call's record is not in the book yet: it is written when the call ends (or "
            "when the database is back after an outage). Try again in a minute.",
        )
    return RedirectResponse(f"/calls/{record_id}", status_code=303)


@router.get("/calls/{call_id}")
async def call_page(request: Request, staff: SignedIn, call_id: str) -> Response:
    web = web_of(request)
    call = await web.store.staff.get_call(call_id)
    if call is None:
        raise HTTPException(404, "There is no such call.")
    await web.audit(
        staff,
        "viewed_call",
        subject=f"call {call.id}",
        patient_ids=await web.store.staff.call_patient_ids(call),
    )
    practice = web.practice_or_default(call.practice_id)
    return web.pages.render(
        request,
        "call.html",
        nav="calls",
        call=call,
        practice=practice,
        transfer=transfer(call),
        events=timeline(call),
        keeps_transcripts=practice.records.transcripts,
    )
