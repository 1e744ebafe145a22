"""Reminders: the day's reminder calls (who was called, how the line answered, what the patient
chose), the ones the front desk must follow up first, and the "don't call me" list, with a way to
add or remove a patient on it.

The page shows patients' names, so each view is in the audit log with the patients on it; adding
or removing an opt-out is audited too. A patient is added by name and date of birth sent in a
form (never a URL); addresses carry ids and dates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.appointments.availability import localize_floor
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice
from receptionist.reminders.rules import attempt_result
from receptionist.store import Appointment, Patient
from receptionist.store.models import NAME_LENGTH, ReminderStatus
from receptionist.store.reminders import ReminderResult, SkippedReminder
from receptionist.web import forms
from receptionist.web.auth import Staff
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, SignedIn
from receptionist.web.routes.today import chosen_day

router = APIRouter()
SHOWN_CALLS = 500  # a day's attempts at one location (a busy practice makes a few hundred)
SHOWN_SKIPPED = 200
SHOWN_OPT_OUTS = 500

# What each result means, in the words the front desk uses.
RESULTS: dict[str, str] = {
    ReminderStatus.CONFIRMED: "Confirmed",
    ReminderStatus.CANCELLED: "Cancelled the visit",
    ReminderStatus.MOVED: "Moved the visit to another time",
    ReminderStatus.CALL_BACK: "Wants another time: call them back",
    ReminderStatus.STAFF: "Put through to the front desk",
    ReminderStatus.LEFT_MESSAGE: "Left a voicemail message",
    ReminderStatus.OPTED_OUT: "Asked not to be called again",
    ReminderStatus.WRONG_NUMBER: "Wrong number: check the number on file",
    ReminderStatus.GAVE_UP: "Not reached after every attempt: call them",
    ReminderStatus.PENDING: "Tried again later",
    ReminderStatus.SKIPPED: "Not called",
    ReminderStatus.CALLING: "Calling now",
}
# Results the front desk has to act on: shown first, in their own table.
NEEDS_STAFF = frozenset(
    {
        ReminderStatus.CALL_BACK,
        ReminderStatus.STAFF,
        ReminderStatus.WRONG_NUMBER,
        ReminderStatus.GAVE_UP,
        ReminderStatus.SKIPPED,
    }
)
LINES: dict[str, str] = {
    Line.ANSWERED: "Answered",
    Line.BUSY: "Busy",
    Line.NO_ANSWER: "No answer",
    Line.FAILED: "Did not go through",
    Line.NOT_DIALLED: "Not called (the visit or the patient changed after it was queued)",
}
ANSWERED_BY = {"person": "A person", "machine": "Voicemail", "unknown": "Not sure"}
# The SIP statuses a reminder call usually ends with (`receptionist sip explain CODE` says more).
SIP = {
    200: "answered",
    403: "refused by the carrier",
    404: "number not found",
    408: "no answer",
    480: "unavailable",
    486: "busy",
    487: "stopped ringing",
    503: "carrier unavailable",
    600: "busy",
    603: "declined",
}


@dataclass(frozen=True)
class Row:
    """One line of the day's list: an attempt (a call placed), or a reminder not called."""

    at: datetime
    patient: Patient | None
    appointment: Appointment | None
    attempt: int | None  # None: not called (skipped)
    line: str
    sip_status: int | None
    answered_by: str
    result: str  # a key of RESULTS
    detail: str

    @property
    def words(self) -> str:
        return RESULTS.get(self.result, self.result.replace("_", " "))

    @property
    def needs_staff(self) -> bool:
        return self.result in NEEDS_STAFF

    @property
    def line_words(self) -> str:
        if self.attempt is None:
            return "Not called"
        if not self.line:
            return (
                "Ringing or on the line" if self.result == ReminderStatus.CALLING else "No report"
            )
        return LINES.get(self.line, self.line.replace("_", " "))

    @property
    def sip_words(self) -> str:
        if self.sip_status is None:
            return ""
        meaning = SIP.get(self.sip_status)
        return f"{self.sip_status} ({meaning})" if meaning else str(self.sip_status)

    @property
    def answered_by_words(self) -> str:
        return ANSWERED_BY.get(self.answered_by, self.answered_by)


def _rows(
    practice: Practice,
    calls: list[ReminderResult],
    skipped: list[SkippedReminder],
    *,
    start: datetime,
    now: datetime,
) -> list[Row]:
    rows = []
    for found in calls:
        result, detail = attempt_result(found, practice, now)
        attempt = found.attempt
        rows.append(
            Row(
                at=attempt.started_at,
                patient=found.patient,
                appointment=found.appointment,
                attempt=attempt.attempt,
                line=attempt.line,
                sip_status=attempt.sip_status,
                answered_by=attempt.answered_by,
                result=result,
                detail=detail,
            )
        )
    for skip in skipped:
        rows.append(
            Row(
                at=max(skip.reminder.created_at, start),  # first skipped (no call time)
                patient=skip.patient,
                appointment=skip.appointment,
                attempt=None,
                line="",
                sip_status=None,
                answered_by="",
                result=ReminderStatus.SKIPPED,
                detail=skip.reminder.reason,
            )
        )
    return sorted(rows, key=lambda r: (r.at, r.attempt or 0))


async def _page(
    request: Request,
    web: Web,
    staff: Staff,
    practice: Practice,
    day: date,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    start = localize_floor(day, practice.tz)
    end = localize_floor(day + timedelta(days=1), practice.tz)
    calls = await web.store.reminders.reminder_results(
        practice.id, start=start, end=end, limit=SHOWN_CALLS
    )
    skipped = await web.store.reminders.skipped_reminders(
        practice.id, start=start, end=end, limit=SHOWN_SKIPPED
    )
    opt_outs = await web.store.reminders.opt_outs(practice.id, limit=SHOWN_OPT_OUTS)
    rows = _rows(practice, calls, skipped, start=start, now=web.now())
    await web.audit(
        staff,
        "viewed_reminders",
        subject=f"{practice.id} {day.isoformat()}",
        detail=f"{len(calls)} calls, {len(skipped)} not called, {len(opt_outs)} opt-outs",
        patient_ids=[r.patient.id for r in rows if r.patient] + [o.patient_id for o, _ in opt_outs],
    )
    return web.pages.render(
        request,
        "reminders.html",
        status=status,
        nav="reminders",
        practice=practice,
        directory=web.directory,
        day=day,
        today=web.today(practice),
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        for_staff=[r for r in rows if r.needs_staff],
        others=[r for r in rows if not r.needs_staff],
        calls=len(calls),
        opt_outs=opt_outs,
        enabled=practice.reminders.enabled,
        truncated=len(calls) >= SHOWN_CALLS or len(skipped) >= SHOWN_SKIPPED,
        opt_outs_truncated=len(opt_outs) >= SHOWN_OPT_OUTS,
        error=error,
    )


@router.get("/reminders")
async def reminders(
    request: Request,
    staff: SignedIn,
    practice: str = "",
    date: str = "",
) -> Response:
    web = web_of(request)
    location = web.practice(practice)
    return await _page(request, web, staff, location, chosen_day(web, location, date))


def _back(location: Practice, day: str, notice: str) -> RedirectResponse:
    query = {"practice": location.id, "date": day, "notice": notice}
    return RedirectResponse(
        "/reminders?" + urlencode({k: v for k, v in query.items() if v}), status_code=303
    )


@router.post("/reminders/opt-outs")
async def add_opt_out(request: Request, staff: Changing) -> Response:
    """Records that a patient gets no reminder calls (they asked the front desk)."""
    web = web_of(request)
    form = await request.form()
    location = web.practice(forms.field(form, "practice"))
    day = chosen_day(web, location, forms.field(form, "date"))
    try:
        name = forms.free_text(form, "name", limit=NAME_LENGTH, label="The patient's name")
        born = forms.birth_date(forms.field(form, "dob"), today=web.today(location))
    except forms.FormError as exc:
        return await _page(request, web, staff, location, day, status=400, error=str(exc))
    patient = await web.store.appointments.find_patient(location.id, name, born)
    if patient is None:
        await web.audit(staff, "patient_search", subject=location.id, detail="no match")
        return await _page(
            request,
            web,
            staff,
            location,
            day,
            status=404,
            error=(
                "No patient with that name and date of birth at this location. Check the "
                "spelling and the date."
            ),
        )
    added = await web.store.reminders.opt_out(
        location.id, patient.id, now=web.now(), source="staff"
    )
    await web.audit(
        staff,
        "reminder_opt_out_added",
        subject=f"reminder opt-out {location.id}",
        detail="" if added else "already opted out",
        patient_ids=[patient.id],
    )
    return _back(location, day.isoformat(), "opt_out_added" if added else "opt_out_already")


@router.post("/reminders/opt-outs/{patient_id}/remove")
async def remove_opt_out(request: Request, staff: Changing, patient_id: str) -> Response:
    """The patient gets reminder calls again (they asked for them back)."""
    web = web_of(request)
    form = await request.form()
    location = web.practice(forms.field(form, "practice"))
    day = chosen_day(web, location, forms.field(form, "date"))
    if not await web.store.reminders.remove_opt_out(location.id, patient_id):
        raise HTTPException(404, "There is no such opt-out (it may have been removed already).")
    await web.audit(
        staff,
        "reminder_opt_out_removed",
        subject=f"reminder opt-out {location.id}",
        patient_ids=[patient_id],
    )
    return _back(location, day.isoformat(), "opt_out_removed")
