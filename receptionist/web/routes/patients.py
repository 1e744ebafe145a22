"""Patients: find one by name, phone number (any format) or date of birth, and a patient's page
with their upcoming and past visits, calls, messages and reminder calls.

The search box takes what the desk has at hand: "ann lee", "(414) 555-0142", "1980-02-29" or
"2/29/1980" (month first in the US and Canada, day first elsewhere). It reads the query with the
location's region, so a local number finds the patient stored in E.164. The query is posted
(a form with the session's token), never put in an address: names, numbers and dates of birth
stay out of browser history, proxy logs and the server's log, as on the booking page.

Every list of patients and every patient page is a view of their data, audited with each patient
shown (`viewed_patient` for the page: "who saw this patient?" is the audit page's filter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from receptionist.domain.phone import UNKNOWN, normalize
from receptionist.domain.practice import Practice
from receptionist.store import Patient
from receptionist.store.models import AppointmentStatus
from receptionist.web import forms
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, SignedIn
from receptionist.web.routes.calls import transfer
from receptionist.web.routes.today import staff_names

router = APIRouter()
SHOWN = 50
QUERY_LENGTH = 120
MONTH_FIRST = frozenset({"US", "CA"})
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_PHONE_LIKE = re.compile(r"^[\d\s().+\-]+$")


@dataclass(frozen=True)
class PatientQuery:
    """What the search box was read as: one of a name, an E.164 number or a birth date."""

    name: str = ""
    phone: str = ""
    born: date | None = None

    @property
    def kind(self) -> str:
        return "date of birth" if self.born else "phone number" if self.phone else "name"


def read_query(text: str, practice: Practice) -> PatientQuery:
    """The search box's text as a name, a phone number or a date of birth; `FormError` with
    what to type when it is none of them."""
    value = " ".join(text.split())[:QUERY_LENGTH]
    if not value:
        raise forms.FormError(
            "Type a name, a phone number or a date of birth (YYYY-MM-DD) to search."
        )
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
        return PatientQuery(born=_date(value, *map(int, value.split("-"))))
    slashed = _SLASHED.match(value)
    if slashed:
        first, second, year = (int(g) for g in slashed.groups())
        month, day = (first, second) if practice.region in MONTH_FIRST else (second, first)
        return PatientQuery(born=_date(value, year, month, day))
    if _PHONE_LIKE.match(value):
        phone = normalize(value, practice.region)
        if phone == UNKNOWN:
            raise forms.FormError(
                f"{value} is not a full phone number for {practice.region}: type it with its "
                "area code, e.g. (414) 555-0142."
            )
        return PatientQuery(phone=phone)
    if len(value) < 2:
        raise forms.FormError("Type at least two letters of the name.")
    return PatientQuery(name=value)


def _date(typed: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise forms.FormError(f"{typed} is not a date: type it as YYYY-MM-DD.") from None


async def _search_page(
    request: Request,
    web: Web,
    practice: Practice,
    *,
    q: str = "",
    query: PatientQuery | None = None,
    found: list[Patient] | None = None,
    error: str | None = None,
) -> Response:
    return web.pages.render(
        request,
        "patients.html",
        status=400 if error else 200,
        nav="patients",
        practice=practice,
        directory=web.directory,
        q=q,
        query=query,
        found=found,
        shown_limit=SHOWN,
        error=error,
    )


@router.get("/patients")
async def patients(request: Request, _: SignedIn, practice: str = "") -> Response:
    web = web_of(request)
    return await _search_page(request, web, web.practice(practice))


@router.post("/patients/search")
async def search(request: Request, staff: Changing) -> Response:
    """The patients matching the box's name, number or birth date, drawn in this response."""
    web = web_of(request)
    form = await request.form()
    location = web.practice(forms.field(form, "practice"))
    q = " ".join(forms.field(form, "q").split())[:QUERY_LENGTH]
    try:
        query = read_query(q, location)
    except forms.FormError as exc:
        return await _search_page(request, web, location, q=q, error=str(exc))
    found = await web.store.staff.search_patients(
        location.id, name=query.name, phone=query.phone, born=query.born, limit=SHOWN
    )
    await web.audit(
        staff,
        "patient_search",
        subject=location.id,
        detail=f"by {query.kind}: {len(found)} found",
        patient_ids=[p.id for p in found],
    )
    return await _search_page(request, web, location, q=q, query=query, found=found)


@router.get("/patients/{patient_id}")
async def patient_page(request: Request, staff: SignedIn, patient_id: str) -> Response:
    web = web_of(request)
    patient = await web.store.appointments.get_patient(patient_id)
    if patient is None:
        raise HTTPException(404, "There is no such patient.")
    practice = web.practice_or_default(patient.practice_id)
    await web.audit(staff, "viewed_patient", subject="patient page", patient_ids=[patient.id])
    history = await web.store.staff.patient_history(patient)
    now = web.now()
    booked = [a for a in history.appointments if a.status == AppointmentStatus.BOOKED]
    upcoming = sorted((a for a in booked if a.ends_at > now), key=lambda a: a.starts_at)
    past = [a for a in history.appointments if a not in upcoming]
    return web.pages.render(
        request,
        "patient.html",
        nav="patients",
        practice=practice,
        patient=patient,
        upcoming=upcoming,
        past=past,
        calls=[(c, transfer(c)) for c in history.calls],
        messages=history.messages,
        reminders=history.reminders,
        users=await staff_names(web),
        is_new=await web.store.appointments.is_new_patient(patient.id, now=now),
    )
