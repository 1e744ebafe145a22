"""Booking from the screen: find or register the patient, pick a visit type and a day, choose one
of the open times; open an appointment to move or cancel it.

The addresses carry ids and dates only (`/book?patient=<id>&visit=checkup&date=...`): a name and a
date of birth are looked up with a POST, never put in a URL. The rules are the agent's (the
`Appointments` service, with a `StaffMember` actor; `receptionist.web.booking` words its
refusals); every change and every look at a patient is audited. The look is audited where the
page is drawn (`_book_page`, `_appointment_page`), so a page shown again after a refused booking,
move or cancellation, or a form error, is in the log like any other view.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.appointments import (
    Appointments,
    Posted,
    Reason,
    Refusal,
    Refused,
    StaffMember,
    check_patient_kind,
    is_late_cancellation,
    require_visit_type,
)
from receptionist.domain.books import BookKind
from receptionist.domain.phone import UNKNOWN, normalize
from receptionist.domain.practice import Practice
from receptionist.store import Appointment, Patient
from receptionist.store.models import (
    CANCEL_REASON_LENGTH,
    NAME_LENGTH,
    AppointmentStatus,
    Attendance,
)
from receptionist.web import booking, forms
from receptionist.web.auth import Staff
from receptionist.web.booking import Problem
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, SignedIn
from receptionist.web.routes.today import staff_names

router = APIRouter()
# The staff's tick box: book or move inside the callers' notice (a walk-in, a move into today).
OVERRIDE_FIELD = "override_notice"
OVERRIDE_AUDIT = "inside the callers' notice (staff override)"
UNDO_REFUSED = (
    "Only a cancelled visit can be booked again, and once: this one is not cancelled, or was "
    "booked again already."
)
UNDO_FAILED = "The cancellation was not undone: the time cannot be booked again."


def _ticked(value: str) -> bool:
    return value == "yes"


def notice_rule(practice: Practice, visit: str, now: datetime) -> str:
    """The callers' notice for `visit`, as the booking page states it ("" for an unknown visit
    or one that needs none)."""
    found = practice.visit_type(visit)
    if found is None or found.lead_time_hours <= 0:
        return ""
    hours = found.lead_time_hours
    amount = "1 hour's" if hours == 1 else f"{hours:g} hours'"
    if hours < 1:
        amount = f"{round(hours * 60)} minutes'"
    earliest = (now + found.lead_time).astimezone(practice.tz)
    return (
        f"Callers need {amount} notice for {found.name}: the assistant offers times from "
        f"{earliest:%a %d %b %H:%M} on."
    )


def _see_other(path: str, **query: str) -> RedirectResponse:
    shown = {k: v for k, v in query.items() if v}
    return RedirectResponse(f"{path}?{urlencode(shown)}" if shown else path, status_code=303)


# Where a location's schedule lives, as the front desk knows it.
PMS_NAMES = {BookKind.OPENDENTAL: "Open Dental", BookKind.NEXHEALTH: "its PMS (through NexHealth)"}


def _own_book(practice: Practice) -> Practice:
    """The staff pages book, move and cancel in the built-in book only (issue 19 is bringing them
    to the PMS): at a location whose schedule is in its PMS they refuse, rather than write a visit
    the practice's real schedule never sees."""
    if practice.book.kind is not BookKind.BUILTIN:
        raise HTTPException(
            409,
            f"{practice.name} keeps its schedule in {PMS_NAMES[practice.book.kind]}: book, "
            "move and cancel its visits there. The assistant books into it on calls "
            "(docs/pms.md).",
        )
    return practice


async def _patient(web: Web, patient_id: str, practice: Practice) -> Patient:
    patient = await web.store.appointments.get_patient(patient_id) if patient_id else None
    if patient is None or patient.practice_id != practice.id:
        raise HTTPException(404, "There is no such patient at this location.")
    return patient


async def _appointment(web: Web, appointment_id: str) -> tuple[Appointment, Practice]:
    appointment = await web.store.appointments.get_appointment(appointment_id)
    if appointment is None:
        raise HTTPException(404, "There is no such appointment.")
    return appointment, _own_book(web.practice_or_default(appointment.practice_id))


def _when(appointment: Appointment, practice: Practice) -> str:
    local = appointment.starts_at.astimezone(practice.tz)
    return f"{appointment.visit_type} {local:%Y-%m-%d %H:%M} {appointment.provider_id}"


async def _changed(
    web: Web,
    staff: Staff,
    practice: Practice,
    action: str,
    subject_id: str,
    now: Appointment,
    *,
    override_notice: bool = False,
) -> Response:
    """Audits a booking, move or cancellation (`action`, also the page's notice) of the visit
    `subject_id`, and shows the day the visit (`now`, as it stands after the change) is on. A
    time inside the callers' notice, booked by the staff's override, says so in the entry."""
    detail = _when(now, practice)
    if now.id != subject_id:  # a move books the new time as a visit of its own
        detail = f"to {detail} (now {now.id})"
    if override_notice:
        detail += f"; {OVERRIDE_AUDIT}"
    await web.audit(
        staff,
        action,
        subject=f"appointment {subject_id}",
        detail=detail,
        patient_ids=[now.patient_id],
    )
    day = now.starts_at.astimezone(practice.tz).date().isoformat()
    return _see_other("/today", practice=practice.id, date=day, notice=action)


# --- choosing the patient -----------------------------------------------------------------------


async def _book_page(
    request: Request,
    web: Web,
    staff: Staff,
    practice: Practice,
    *,
    patient: Patient | None = None,
    visit: str = "",
    day: Date | None = None,
    provider: str = "",
    inside_notice: bool = False,
    problem: Problem | None = None,
) -> Response:
    """The booking page; with a patient chosen it shows their name, birth date, phone and visits,
    so drawing it is a view of that patient, audited whatever led here. `inside_notice`: the
    staff ticked *inside the callers' notice*: times from now on."""
    now = web.now()
    error = problem.error if problem else None
    as_called = await web.as_callers_meet_it(practice)
    times = None
    kind_problem = None
    upcoming: list[Appointment] = []
    is_new = False
    if patient is not None:
        await web.audit(staff, "viewed_patient", subject="booking", patient_ids=[patient.id])
        upcoming = await web.store.appointments.upcoming_for_patient(patient.id, after=now)
        is_new = await web.store.appointments.is_new_patient(patient.id, now=now)
    if patient is not None and visit and day is not None and error is None:
        try:
            check_patient_kind(require_visit_type(practice, visit), is_new_patient=is_new)
            times = await Appointments(web.store.appointments, as_called).times_on(
                visit,
                day,
                now=now,
                provider_id=provider or None,
                patient_id=patient.id,
                override_notice=inside_notice,
            )
        except Refused as exc:
            kind_problem = booking.staff_words(exc.refusal)
    return web.pages.render(
        request,
        "book.html",
        status=problem.status if problem else 200,
        nav="today",
        practice=practice,
        directory=web.directory,
        patient=patient,
        is_new=is_new,
        upcoming=upcoming,
        visit=visit,
        day=day or web.today(practice),
        provider=provider,
        inside_notice=inside_notice,
        notice_rule=notice_rule(practice, visit, now),
        times=times,
        kind_problem=kind_problem,
        error=error,
        fresh=list(problem.fresh) if problem else [],
        found=None,
    )


@router.get("/book")
async def book_page(
    request: Request,
    staff: SignedIn,
    practice: str = "",
    patient: str = "",
    visit: str = "",
    date: str = "",
    provider: str = "",
    override_notice: str = "",
) -> Response:
    web = web_of(request)
    location = _own_book(web.practice(practice))
    chosen = await _patient(web, patient, location) if patient else None
    inside = _ticked(override_notice)
    try:
        day = forms.optional_day(date)
    except forms.FormError as exc:
        return await _book_page(
            request, web, staff, location, patient=chosen, problem=Problem.bad_form(exc)
        )
    return await _book_page(
        request,
        web,
        staff,
        location,
        patient=chosen,
        visit=visit,
        day=day,
        provider=provider,
        inside_notice=inside,
    )


@router.post("/patients/find")
async def find_patient(request: Request, staff: Changing) -> Response:
    web = web_of(request)
    form = await request.form()
    location = web.practice(forms.field(form, "practice"))
    try:
        name = forms.free_text(form, "name", limit=NAME_LENGTH, label="The patient's name")
        born = forms.birth_date(forms.field(form, "dob"), today=web.today(location))
    except forms.FormError as exc:
        return await _book_page(request, web, staff, location, problem=Problem.bad_form(exc))
    patient = await web.store.appointments.find_patient(location.id, name, born)
    await web.audit(
        staff,
        "patient_search",
        subject=location.id,
        detail="found" if patient else "no match",
        patient_ids=[patient.id if patient else None],
    )
    if patient is None:
        return await _book_page(
            request,
            web,
            staff,
            location,
            problem=Problem(
                404,
                "No patient with that name and date of birth at this location. Check the "
                "spelling and the date, or register them below.",
            ),
        )
    return _see_other("/book", practice=location.id, patient=patient.id)


@router.post("/patients")
async def register_patient(request: Request, staff: Changing) -> Response:
    web = web_of(request)
    form = await request.form()
    location = web.practice(forms.field(form, "practice"))
    try:
        name = forms.free_text(form, "name", limit=NAME_LENGTH, label="The patient's name")
        born = forms.birth_date(forms.field(form, "dob"), today=web.today(location))
        raw_phone = forms.field(form, "phone").strip()
        phone = normalize(raw_phone, location.region) if raw_phone else UNKNOWN
        if raw_phone and phone == UNKNOWN:
            raise forms.FormError(
                f"The phone number is not a valid number for {location.region}: check it, or "
                "leave it empty."
            )
    except forms.FormError as exc:
        return await _book_page(request, web, staff, location, problem=Problem.bad_form(exc))
    patient, created = await web.store.appointments.register_patient(
        location.id, name, born, phone, new_patient=forms.field(form, "new_patient") == "yes"
    )
    await web.audit(
        staff,
        "patient_registered" if created else "patient_search",
        subject=location.id,
        detail="new record" if created else "already registered",
        patient_ids=[patient.id],
    )
    notice = "registered" if created else "already_patient"
    return _see_other("/book", practice=location.id, patient=patient.id, notice=notice)


# --- booking ------------------------------------------------------------------------------------


@router.post("/book")
async def book(request: Request, staff: Changing) -> Response:
    web = web_of(request)
    form = await request.form()
    location = _own_book(web.practice(forms.field(form, "practice")))
    patient = await _patient(web, forms.field(form, "patient"), location)
    visit = forms.field(form, "visit")
    provider = forms.field(form, "provider")
    inside = _ticked(forms.field(form, OVERRIDE_FIELD))
    try:
        posted = Posted(patient.id, visit, provider, forms.moment(forms.field(form, "start")))
        service = Appointments(web.store.appointments, await web.as_callers_meet_it(location))
        by = StaffMember(staff.id)
        booked = await service.book(by, posted, now=web.now(), override_notice=inside)
        appointment = booked.appointment
    except forms.FormError as exc:
        return await _book_page(
            request,
            web,
            staff,
            location,
            patient=patient,
            visit=visit,
            inside_notice=inside,
            problem=Problem.bad_form(exc),
        )
    except Refused as exc:
        return await _book_page(
            request,
            web,
            staff,
            location,
            patient=patient,
            visit=visit,
            inside_notice=inside,
            problem=Problem.refused(exc.refusal),
        )
    return await _changed(
        web, staff, location, "booked", appointment.id, appointment, override_notice=inside
    )


# --- one appointment: move or cancel ------------------------------------------------------------


async def _appointment_page(
    request: Request,
    web: Web,
    staff: Staff,
    appointment: Appointment,
    practice: Practice,
    *,
    day: Date | None = None,
    provider: str = "",
    inside_notice: bool = False,
    problem: Problem | None = None,
) -> Response:
    """One appointment with its patient (name, birth date, phone): drawing it is a view of that
    patient, audited whatever led here (a refused move or cancellation shows it again)."""
    now = web.now()
    error = problem.error if problem else None
    await web.audit(
        staff,
        "viewed_appointment",
        subject=f"appointment {appointment.id}",
        patient_ids=[appointment.patient_id],
    )
    patient = await web.store.appointments.get_patient(appointment.patient_id)
    times = None
    if appointment.status == AppointmentStatus.BOOKED and day is not None and error is None:
        try:
            times = await Appointments(
                web.store.appointments, await web.as_callers_meet_it(practice)
            ).times_on(
                appointment.visit_type,
                day,
                now=now,
                provider_id=provider or None,
                patient_id=appointment.patient_id,
                moving=appointment.id,
                override_notice=inside_notice,
            )
        except Refused as exc:
            error = booking.staff_words(exc.refusal)
    call_record = None
    if appointment.call_id and appointment.booked_by is None:
        call_record = await web.store.staff.call_record_id_for(appointment.call_id)
    return web.pages.render(
        request,
        "appointment.html",
        status=problem.status if problem else 200,
        nav="today",
        practice=practice,
        appointment=appointment,
        patient=patient,
        provider_name=getattr(practice.provider(appointment.provider_id), "name", None),
        visit_name=getattr(practice.visit_type(appointment.visit_type), "name", None),
        users=await staff_names(web),
        call_record=call_record,
        late=appointment.status == AppointmentStatus.BOOKED
        and is_late_cancellation(practice, appointment, now),
        day=day or appointment.starts_at.astimezone(practice.tz).date(),
        provider=provider,
        inside_notice=inside_notice,
        notice_rule=notice_rule(practice, appointment.visit_type, now),
        times=times,
        error=error,
        fresh=list(problem.fresh) if problem else [],
    )


@router.get("/appointments/{appointment_id}")
async def appointment_page(
    request: Request,
    staff: SignedIn,
    appointment_id: str,
    date: str = "",
    provider: str = "",
    override_notice: str = "",
) -> Response:
    web = web_of(request)
    appointment, location = await _appointment(web, appointment_id)
    inside = _ticked(override_notice)
    try:
        day = forms.optional_day(date)
    except forms.FormError as exc:
        return await _appointment_page(
            request, web, staff, appointment, location, problem=Problem.bad_form(exc)
        )
    return await _appointment_page(
        request,
        web,
        staff,
        appointment,
        location,
        day=day,
        provider=provider,
        inside_notice=inside,
    )


@router.post("/appointments/{appointment_id}/move")
async def move(request: Request, staff: Changing, appointment_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    appointment, location = await _appointment(web, appointment_id)
    inside = _ticked(forms.field(form, OVERRIDE_FIELD))
    try:
        posted = Posted(
            appointment.patient_id,
            appointment.visit_type,
            forms.field(form, "provider"),
            forms.moment(forms.field(form, "start")),
        )
        service = Appointments(web.store.appointments, await web.as_callers_meet_it(location))
        by = StaffMember(staff.id)
        moved = await service.move(
            by, appointment.id, posted, now=web.now(), override_notice=inside
        )
    except forms.FormError as exc:
        return await _appointment_page(
            request,
            web,
            staff,
            appointment,
            location,
            inside_notice=inside,
            problem=Problem.bad_form(exc),
        )
    except Refused as exc:
        problem = Problem.refused(exc.refusal)
        return await _appointment_page(
            request, web, staff, appointment, location, inside_notice=inside, problem=problem
        )
    return await _changed(
        web, staff, location, "moved", appointment.id, moved.new, override_notice=inside
    )


@router.get("/appointments/{appointment_id}/cancel")
async def cancel_page(request: Request, staff: SignedIn, appointment_id: str) -> Response:
    """The confirmation step: the visit, the late-cancellation warning, and the reason asked."""
    web = web_of(request)
    appointment, location = await _appointment(web, appointment_id)
    return await _cancel_page(request, web, staff, appointment, location)


async def _cancel_page(
    request: Request,
    web: Web,
    staff: Staff,
    appointment: Appointment,
    practice: Practice,
    *,
    status: int = 200,
    error: str | None = None,
    reason: str = "",
) -> Response:
    if appointment.status != AppointmentStatus.BOOKED:
        problem = Problem(409, booking.staff_words(Refusal(Reason.NOT_BOOKED)))
        return await _appointment_page(request, web, staff, appointment, practice, problem=problem)
    await web.audit(
        staff,
        "viewed_appointment",
        subject=f"appointment {appointment.id}",
        patient_ids=[appointment.patient_id],
    )
    return web.pages.render(
        request,
        "cancel.html",
        status=status,
        nav="today",
        practice=practice,
        appointment=appointment,
        patient=await web.store.appointments.get_patient(appointment.patient_id),
        visit_name=getattr(practice.visit_type(appointment.visit_type), "name", None),
        late=is_late_cancellation(practice, appointment, web.now()),
        reason=reason,
        error=error,
    )


@router.post("/appointments/{appointment_id}/cancel")
async def cancel(request: Request, staff: Changing, appointment_id: str) -> Response:
    """Cancels after the confirmation step, keeping the reason typed there (required)."""
    web = web_of(request)
    form = await request.form()
    appointment, location = await _appointment(web, appointment_id)
    try:
        reason = forms.free_text(
            form, "reason", limit=CANCEL_REASON_LENGTH, label="The reason for cancelling"
        )
    except forms.FormError as exc:
        return await _cancel_page(
            request, web, staff, appointment, location, status=400, error=str(exc)
        )
    service = Appointments(web.store.appointments, location)
    by, whose = StaffMember(staff.id), appointment.patient_id
    try:
        cancelled = (
            await service.cancel(by, appointment.id, now=web.now(), patient_id=whose)
        ).appointment
    except Refused as exc:
        problem = Problem.refused(exc.refusal)
        return await _appointment_page(request, web, staff, appointment, location, problem=problem)
    await web.store.staff.note_cancellation(cancelled.id, reason=reason, by=staff.id)
    await web.audit(
        staff,
        "cancelled",
        subject=f"appointment {appointment.id}",
        detail=f"{_when(cancelled, location)}; reason given",
        patient_ids=[cancelled.patient_id],
    )
    return _see_other(f"/appointments/{appointment.id}", notice="cancelled")


@router.post("/appointments/{appointment_id}/undo")
async def undo_cancel(request: Request, staff: Changing, appointment_id: str) -> Response:
    """Undoes a cancellation: the same visit, time and provider booked again through the
    service, if the time is still free (every rule re-checked; the callers' notice waived, since
    the patient was expected then). Refused, with the reason, when it is not."""
    web = web_of(request)
    appointment, location = await _appointment(web, appointment_id)
    if appointment.status != AppointmentStatus.CANCELLED or appointment.undone_as:
        problem = Problem(409, UNDO_REFUSED)
        return await _appointment_page(request, web, staff, appointment, location, problem=problem)
    posted = Posted(
        appointment.patient_id,
        appointment.visit_type,
        appointment.provider_id,
        appointment.starts_at,
    )
    service = Appointments(web.store.appointments, await web.as_callers_meet_it(location))
    try:
        booked = await service.book(
            StaffMember(staff.id), posted, now=web.now(), override_notice=True
        )
    except Refused as exc:
        words = booking.staff_words(exc.refusal)
        problem = Problem(booking.status(exc.refusal), f"{UNDO_FAILED} {words}")
        return await _appointment_page(request, web, staff, appointment, location, problem=problem)
    again = booked.appointment
    await web.store.staff.mark_undone(appointment.id, again.id)
    await web.audit(
        staff,
        "cancel_undone",
        subject=f"appointment {appointment.id}",
        detail=f"booked again as {again.id}; {OVERRIDE_AUDIT}",
        patient_ids=[again.patient_id],
    )
    day = again.starts_at.astimezone(location.tz).date().isoformat()
    return _see_other("/today", practice=location.id, date=day, notice="cancel_undone")


@router.post("/appointments/{appointment_id}/attendance")
async def attendance(request: Request, staff: Changing, appointment_id: str) -> Response:
    """Marks a visit arrived (from its day on) or no-show (once it has started), or clears it."""
    web = web_of(request)
    form = await request.form()
    appointment, location = await _appointment(web, appointment_id)
    value = forms.field(form, "attendance")
    mark = None if value == "clear" else _attendance(value)
    now = web.now()
    day = appointment.starts_at.astimezone(location.tz).date()
    if mark is not None and day > web.today(location):
        raise HTTPException(409, f"That visit is on {day:%A %d %B}: mark it on the day.")
    if mark is Attendance.NO_SHOW and appointment.starts_at > now:
        raise HTTPException(409, "That visit has not started yet: mark a no-show once it has.")
    changed = await web.store.staff.set_attendance(appointment.id, mark, by=staff.id, at=now)
    if changed is None:
        raise HTTPException(409, booking.staff_words(Refusal(Reason.NOT_BOOKED)))
    await web.audit(
        staff,
        "attendance",
        subject=f"appointment {appointment.id}",
        detail=mark.value if mark else "cleared",
        patient_ids=[appointment.patient_id],
    )
    notice = mark.value if mark else "attendance_cleared"
    return _see_other("/today", practice=location.id, date=day.isoformat(), notice=notice)


def _attendance(value: str) -> Attendance:
    try:
        return Attendance(value)
    except ValueError:
        raise HTTPException(400, "Mark a visit arrived or no-show (or clear the mark).") from None
