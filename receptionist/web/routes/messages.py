"""Messages: the callback queue, urgent and security messages first; mark one handled with a note.

The page checks for new messages in the background (`/api/messages/count`, polled by
`static/app.js`) and offers a reload; that poll is not activity, so an open screen still signs
out when nobody uses it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from receptionist.appointments.availability import localize_floor
from receptionist.store import Appointment, Message, Patient
from receptionist.web import forms
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, Quietly, SignedIn
from receptionist.web.routes.today import staff_names

router = APIRouter()
NOTE_LENGTH = 500
SHOWN = 200


@router.get("/messages")
async def messages(
    request: Request,
    staff: SignedIn,
    status: str = "open",
    practice: str = "",
) -> Response:
    web = web_of(request)
    handled = status == "handled"
    ids = web.selected_ids(practice)
    rows = await web.store.staff.staff_messages(ids, handled=handled, limit=SHOWN)
    count, newest = await web.store.staff.open_message_count(ids)
    whose = await message_patients(web, rows)
    today = await visits_today(web, [p for p in whose.values() if p is not None])
    await web.audit(
        staff,
        "viewed_messages",
        subject=f"{'handled' if handled else 'open'} {practice or 'all'}",
        detail=f"{len(rows)} messages",
        patient_ids=[m.patient_id for m in rows] + [p.id for p in whose.values() if p],
    )
    return web.pages.render(
        request,
        "messages.html",
        nav="messages",
        rows=[(m, web.practice_or_default(m.practice_id)) for m in rows],
        whose=whose,
        visits_today=today,
        handled=handled,
        practice_id=practice,
        directory=web.directory,
        users=await staff_names(web),
        open_count=count,
        newest=newest.isoformat() if newest else "",
        shown_limit=SHOWN,
    )


async def message_patients(web: Web, rows: list[Message]) -> dict[str, Patient | None]:
    """Each message's patient: the one the caller proved to be, else the only patient of that
    location holding the callback number (a household sharing a number links nobody)."""
    by_id = await web.store.staff.patients_by_ids(m.patient_id for m in rows if m.patient_id)
    unverified = [m for m in rows if not m.patient_id]
    by_phone = await web.store.staff.patients_by_phone(
        list({m.practice_id for m in unverified}), (m.callback_number for m in unverified)
    )
    whose: dict[str, Patient | None] = {}
    for m in rows:
        if m.patient_id:
            whose[m.id] = by_id.get(m.patient_id)
        else:
            holders = by_phone.get((m.practice_id, m.callback_number), [])
            whose[m.id] = holders[0] if len(holders) == 1 else None
    return whose


async def visits_today(web: Web, patients: list[Patient]) -> dict[str, list[Appointment]]:
    """The patients' booked visits today, each in their own location's day."""
    found: dict[str, list[Appointment]] = {}
    for practice_id in {p.practice_id for p in patients}:
        location = web.practice_or_default(practice_id)
        day = web.today(location)
        start = localize_floor(day, location.tz)
        end = localize_floor(day + timedelta(days=1), location.tz)
        ids = [p.id for p in patients if p.practice_id == practice_id]
        found.update(await web.store.staff.booked_visits_of(ids, start, end))
    return found


@router.post("/messages/{message_id}/handled")
async def mark_handled(request: Request, staff: Changing, message_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    message = await web.store.staff.get_message(message_id)
    if message is None:
        raise HTTPException(404, "There is no such message.")
    note = forms.free_text(form, "note", limit=NOTE_LENGTH, label="The note", required=False)
    done = await web.store.staff.handle_message(
        message_id, user_id=staff.id, note=note, at=web.now()
    )
    if done:
        await web.audit(
            staff,
            "message_handled",
            subject=f"message {message_id}",
            detail="with a note" if note else "",
            patient_ids=[message.patient_id],
        )
    back = forms.field(form, "back_practice")
    target = "/messages?" + (f"practice={back}&" if web.directory.get(back) else "")
    return RedirectResponse(
        target + f"notice={'handled' if done else 'already_handled'}", status_code=303
    )


@router.get("/api/messages/count")
async def open_count(request: Request, _: Quietly, practice: str = "") -> Response:
    """How many messages are open and when the newest came: no names, no numbers."""
    web = web_of(request)
    count, newest = await web.store.staff.open_message_count(web.selected_ids(practice))
    return JSONResponse({"open": count, "newest": newest.isoformat() if newest else ""})
