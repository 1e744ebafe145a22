"""This week: the numbers an owner asks for, Monday to Sunday in the practice's time zone.

Counts come from aggregate queries on indexed ranges; the figures SQL cannot give portably,
"after hours" (wall-clock hours across daylight-saving changes, part-day closures) and the reply
time (percentiles over JSON), are worked out from the week's calls: their start times and stored
figures, a few columns of hundreds of rows, never the transcripts. No patient data is shown, so
viewing it is not audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from receptionist.appointments.availability import localize_floor
from receptionist.domain.calls import Outcome
from receptionist.domain.closures import with_staff_closures
from receptionist.domain.replies import stored_waits, summarise
from receptionist.web.context import web_of
from receptionist.web.guard import SignedIn
from receptionist.web.routes.today import chosen_day

router = APIRouter()


@dataclass
class Tally:
    """Calls on one day (or the whole week)."""

    day: date | None = None
    calls: int = 0
    after_hours: int = 0
    transfers: int = 0
    abandoned: int = 0
    emergencies: int = 0


@router.get("/week")
async def week(
    request: Request,
    _: SignedIn,
    practice: str = "",
    date: str = "",
) -> Response:
    web = web_of(request)
    location = web.practice(practice)
    monday = chosen_day(web, location, date)
    monday -= timedelta(days=monday.weekday())
    start = localize_floor(monday, location.tz)
    end = localize_floor(monday + timedelta(days=7), location.tz)
    hours = with_staff_closures(
        location, await web.store.closures.closures_from(location.id, monday)
    )
    days = {monday + timedelta(days=i): Tally(monday + timedelta(days=i)) for i in range(7)}
    total = Tally()
    waits: list[float] = []
    for call in await web.store.staff.calls_between([location.id], start, end):
        waits += stored_waits(call.usage)
        day = call.started_at.astimezone(location.tz).date()
        for tally in (total, days.get(day)):
            if tally is None:
                continue
            tally.calls += 1
            tally.after_hours += not hours.is_open(call.started_at)
            tally.transfers += Outcome.TRANSFERRED.value in call.outcomes
            tally.abandoned += call.outcome == Outcome.ABANDONED.value
            tally.emergencies += Outcome.EMERGENCY.value in call.outcomes
    by_assistant, by_staff = await web.store.staff.bookings_made_between([location.id], start, end)
    messages, urgent = await web.store.staff.messages_between([location.id], start, end)
    visits = await web.store.staff.visit_figures([location.id], start, end)
    return web.pages.render(
        request,
        "week.html",
        nav="week",
        practice=location,
        directory=web.directory,
        monday=monday,
        sunday=monday + timedelta(days=6),
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        total=total,
        days=list(days.values()),
        booked_by_assistant=by_assistant,
        booked_by_staff=by_staff,
        messages=messages,
        urgent=urgent,
        visits=visits,
        replies=summarise(waits),
    )
