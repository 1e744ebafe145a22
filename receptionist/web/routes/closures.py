"""Closures and hours: practice.toml's hours and closures (read-only: the base profile), and the
closures staff add or remove here, which the assistant applies from the next call (the greeting,
open times and after-hours routing all read `practice_today`).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.domain.practice import WEEKDAYS, Closure, Interval, Practice
from receptionist.store.models import NAME_LENGTH, StaffClosure
from receptionist.web import forms
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, SignedIn
from receptionist.web.routes.today import staff_names

router = APIRouter()
LONGEST = timedelta(days=366)


async def _page(
    request: Request, web: Web, practice: Practice, *, status: int = 200, error: str | None = None
) -> Response:
    today = web.today(practice)
    return web.pages.render(
        request,
        "closures.html",
        status=status,
        nav="closures",
        practice=practice,
        directory=web.directory,
        today=today,
        weekdays=[(day.capitalize(), practice.hours.on(i)) for i, day in enumerate(WEEKDAYS)],
        providers=[
            (
                p,
                [
                    (d.capitalize(), practice.provider_hours(p).on(i))
                    for i, d in enumerate(WEEKDAYS)
                ],
            )
            for p in practice.providers
        ],
        profile_closures=[c for c in practice.closures if c.last >= today],
        provider_closures=[
            (p, c) for p in practice.providers for c in p.closures if c.last >= today
        ],
        staff_closures=await web.store.closures.closures_from(practice.id, today),
        users=await staff_names(web),
        error=error,
    )


@router.get("/closures")
async def closures(request: Request, _: SignedIn, practice: str = "") -> Response:
    web = web_of(request)
    return await _page(request, web, web.practice(practice))


def _closure_from(form, today) -> Closure:
    """The typed closure, checked by the profile's own `Closure` rules plus a few of ours."""
    start = forms.day(forms.field(form, "start"), "The first day")
    end = forms.optional_day(forms.field(form, "end"), "The last day")
    opens = forms.clock_time(forms.field(form, "start_time"), "The closing time")
    reopens = forms.clock_time(forms.field(form, "end_time"), "The reopening time")
    reason = forms.free_text(form, "reason", limit=NAME_LENGTH, label="The reason")
    if start < today:
        raise forms.FormError("The first day is in the past: a closure starts today or later.")
    if end is not None and end < start:
        raise forms.FormError("The last day is before the first day: swap them.")
    if end is not None and end - start > LONGEST:
        raise forms.FormError("A closure can last at most a year; add another for longer.")
    if (opens is None) != (reopens is None):
        raise forms.FormError(
            "For part of a day give both times (closed from, open again at); for whole days "
            "leave both empty."
        )
    hours = None
    if opens is not None and reopens is not None:
        if reopens <= opens:
            raise forms.FormError("The reopening time must be after the closing time.")
        hours = Interval(start=opens, end=reopens)
    return Closure(start=start, end=end if end != start else None, reason=reason, hours=hours)


@router.post("/closures")
async def add_closure(request: Request, staff: Changing) -> Response:
    web = web_of(request)
    form = await request.form()
    practice = web.practice(forms.field(form, "practice"))
    try:
        closure = _closure_from(form, web.today(practice))
    except forms.FormError as exc:
        return await _page(request, web, practice, status=400, error=str(exc))
    row = await web.store.closures.add_closure(
        practice.id,
        start=closure.start,
        end=closure.end,
        reason=closure.reason,
        start_time=closure.hours.start if closure.hours else None,
        end_time=closure.hours.end if closure.hours else None,
        created_by=staff.id,
    )
    await web.audit(staff, "closure_added", subject=f"closure {row.id}", detail=_describe(row))
    return RedirectResponse(
        f"/closures?practice={practice.id}&notice=closure_added", status_code=303
    )


@router.post("/closures/{closure_id}/remove")
async def remove_closure(request: Request, staff: Changing, closure_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    practice = web.practice(forms.field(form, "practice"))
    if not await web.store.closures.remove_closure(closure_id, at=web.now()):
        raise HTTPException(404, "There is no such closure (it may have been removed already).")
    await web.audit(staff, "closure_removed", subject=f"closure {closure_id}")
    return RedirectResponse(
        f"/closures?practice={practice.id}&notice=closure_removed", status_code=303
    )


def _describe(row: StaffClosure) -> str:
    days = row.start.isoformat() + (f" to {row.end.isoformat()}" if row.end else "")
    if row.start_time and row.end_time:
        days += f" {row.start_time:%H:%M}-{row.end_time:%H:%M}"
    return f"{row.practice_id} {days}"
