"""Today: a day's appointments by provider and time, who booked each, and the way to change them.

Viewing the day shows patients' names, so each view is in the audit log with the patients on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.appointments.availability import localize_floor
from receptionist.domain.practice import Practice
from receptionist.store import Appointment, Patient
from receptionist.store.models import StaffUser
from receptionist.web import forms
from receptionist.web.context import Web, web_of
from receptionist.web.guard import SignedIn

router = APIRouter()


@dataclass
class Column:
    """One provider's appointments on the day, in time order."""

    provider_id: str
    name: str
    rows: list[tuple[Appointment, Patient]] = field(default_factory=list)


def by_provider(practice: Practice, rows: list[tuple[Appointment, Patient]]) -> list[Column]:
    """Providers in the profile's order (with appointments or not); appointments of providers
    no longer in the profile come last, under their ids."""
    columns = {p.id: Column(p.id, p.name) for p in practice.providers}
    for appointment, patient in rows:
        column = columns.setdefault(
            appointment.provider_id, Column(appointment.provider_id, appointment.provider_id)
        )
        column.rows.append((appointment, patient))
    return list(columns.values())


async def staff_names(web: Web) -> dict[str, StaffUser]:
    return {user.id: user for user in await web.store.staff.staff_users()}


def chosen_day(web: Web, practice: Practice, value: str) -> date:
    try:
        return forms.optional_day(value) or web.today(practice)
    except forms.FormError:
        return web.today(practice)


@router.get("/")
async def home(_: SignedIn) -> Response:
    return RedirectResponse("/today", status_code=303)


@router.get("/today")
async def today(
    request: Request,
    staff: SignedIn,
    practice: str = "",
    date: str = "",
    all: str = "",
) -> Response:
    web = web_of(request)
    location = web.practice(practice)
    day = chosen_day(web, location, date)
    start = localize_floor(day, location.tz)
    end = localize_floor(day + timedelta(days=1), location.tz)
    rows = await web.store.appointments.appointments_between(
        location.id, start, end, include_inactive=bool(all)
    )
    as_called = await web.as_callers_meet_it(location)
    await web.audit(
        staff,
        "viewed_today",
        subject=f"{location.id} {day.isoformat()}",
        detail=f"{len(rows)} appointments",
        patient_ids=[patient.id for _, patient in rows],
    )
    return web.pages.render(
        request,
        "today.html",
        nav="today",
        practice=location,
        directory=web.directory,
        day=day,
        today=web.today(location),
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        columns=by_provider(location, rows),
        count=len(rows),
        show_all=bool(all),
        users=await staff_names(web),
        now=web.now(),
        closure=as_called.closure_on(day),
        partial=as_called.partial_closures(day),
    )
