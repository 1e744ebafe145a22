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

from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.appointments.availability import localize_floor
from receptionist.domain.calls import Outcome
from receptionist.store import CallRecord, Patient
from receptionist.web import forms
from receptionist.web.context import Web, web_of
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


async def callers(web: Web, calls: list[CallRecord]) -> dict[str, list[Patient]]:
    """Who each call was from, as far as the book knows: the patients the caller proved to be
    (the record's `patient_ids`), else the only patient of that location holding the caller's
    number (unverified: the page says "by number"; a number several patients share, a
    household's, names nobody)."""
    proved = await web.store.staff.patients_by_ids(
        p for c in calls for p in (c.patient_ids or []) if isinstance(p, str)
    )
    by_phone = await web.store.staff.patients_by_phone(
        list({c.practice_id for c in calls}), (c.caller for c in calls)
    )
    names: dict[str, list[Patient]] = {}
    for call in calls:
        ids = [p for p in call.patient_ids or [] if isinstance(p, str) and p in proved]
        names[call.id] = [proved[p] for p in ids] or by_phone.get(
            (call.practice_id, call.caller), []
        )
    return names


def _dates(first: str, last: str) -> tuple[Date | None, Date | None]:
    """The page's date filter; `FormError` naming the field that is not a date."""
    start = forms.optional_day(first, "The first day")
    end = forms.optional_day(last, "The last day")
    if start and end and end < start:
        raise forms.FormError("The last day is before the first: swap them.")
    return start, end


@router.get("/calls")
async def calls(
    request: Request,
    staff: SignedIn,
    practice: str = "",
    outcome: str = "",
    before: str = "",
    first: str = "",
    last: str = "",
) -> Response:
    """The call log, newest first; `first`/`last` keep calls of those days (the location's
    days; with every location, the default location's)."""
    web = web_of(request)
    wanted = outcome if outcome in {o.value for o in Outcome} else ""
    zone = web.practice(practice).tz
    error = None
    try:
        start, end = _dates(first, last)
    except forms.FormError as exc:
        error, start, end = str(exc), None, None
    until = _moment(before)
    if end is not None:
        last_moment = localize_floor(end + timedelta(days=1), zone)
        until = min(until, last_moment) if until else last_moment
    rows = await web.store.staff.staff_calls(
        web.selected_ids(practice),
        before=until,
        since=localize_floor(start, zone) if start else None,
        outcome=wanted or None,
        limit=PAGE,
    )
    names = await callers(web, rows)
    await web.audit(
        staff,
        "viewed_calls",
        subject=f"{practice or 'all'} {wanted}",
        detail=f"{len(rows)} calls" + (" (dates)" if start or end else ""),
        patient_ids=[p.id for found in names.values() for p in found],
    )
    older = ""
    if len(rows) == PAGE:
        query = {
            "practice": practice,
            "outcome": wanted,
            "first": start.isoformat() if start else "",
            "last": end.isoformat() if end else "",
            "before": rows[-1].started_at.isoformat(),
        }
        older = "/calls?" + urlencode({k: v for k, v in query.items() if v})
    return web.pages.render(
        request,
        "calls.html",
        status=400 if error else 200,
        nav="calls",
        rows=[(c, web.practice_or_default(c.practice_id), transfer(c)) for c in rows],
        names=names,
        practice_id=practice,
        outcome=wanted,
        outcomes=[o.value for o in Outcome],
        first=start.isoformat() if start else "",
        last=end.isoformat() if end else "",
        directory=web.directory,
        older=older,
        paged=bool(before),
        error=error,
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
    patient_ids = await web.store.staff.call_patient_ids(call)
    patients = await web.store.staff.patients_by_ids(patient_ids)
    by_number = not patients
    if by_number:  # nobody proved who they were: the one patient holding the caller's number
        holders = await web.store.staff.patients_by_phone([call.practice_id], [call.caller])
        holding = holders.get((call.practice_id, call.caller), [])
        patients = {p.id: p for p in holding} if len(holding) == 1 else {}
    await web.audit(
        staff, "viewed_call", subject=f"call {call.id}", patient_ids=[*patient_ids, *patients]
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
        patients=sorted(patients.values(), key=lambda p: p.full_name),
        by_number=by_number,
    )
