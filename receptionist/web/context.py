"""What every request handler works with: settings, the book, the practices, the clock.

Built once by `create_app` and kept on `app.state.web`; handlers reach it with `web_of(request)`.
The clock is injected (tests move it forward to check idle sign-out and lock-out expiry without
waiting), and every "now" in the app comes from it, including the scheduling rules' `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request

from receptionist.domain.closures import practice_today
from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.settings import Settings
from receptionist.store import Store
from receptionist.web.auth import ClientThrottle, Staff
from receptionist.web.pages import Pages


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Web:
    settings: Settings
    store: Store
    directory: PracticeDirectory
    pages: Pages
    clock: Callable[[], datetime] = utc_now
    throttle: ClientThrottle = field(default_factory=ClientThrottle)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.web_idle_minutes)

    def now(self) -> datetime:
        return self.clock()

    def today(self, practice: Practice) -> date:
        return self.now().astimezone(practice.tz).date()

    @property
    def practice_ids(self) -> list[str]:
        return [p.id for p in self.directory]

    def practice(self, practice_id: str | None) -> Practice:
        """The location a page is about (`?practice=`); the default location when not given."""
        if not practice_id:
            return self.directory.default
        found = self.directory.get(practice_id)
        if found is None:
            raise HTTPException(404, "There is no such location.")
        return found

    def practice_or_default(self, practice_id: str) -> Practice:
        """The location a stored row belongs to (a location removed from practice.toml falls
        back to the default, so old rows still show, in the default's time zone)."""
        return self.directory.get(practice_id) or self.directory.default

    def selected_ids(self, practice_id: str | None) -> list[str]:
        """One location's id, or every location's for "all" (the queue and the call log)."""
        return [self.practice(practice_id).id] if practice_id else self.practice_ids

    async def as_callers_meet_it(self, practice: Practice) -> Practice:
        """The profile with the staff's closures applied, exactly as the next call sees it."""
        return await practice_today(self.store, practice, self.today(practice))

    async def audit(
        self,
        staff: Staff | None,
        action: str,
        *,
        subject: str = "",
        detail: str = "",
        patient_ids: Iterable[str | None] = (),
        user_id: str | None = None,
    ) -> None:
        """An audit-log entry stamped with this app's clock and the signed-in person."""
        await self.store.staff.audit(
            at=self.now(),
            user_id=staff.id if staff is not None else user_id,
            action=action,
            subject=subject,
            detail=detail,
            patient_ids=patient_ids,
        )


def web_of(request: Request) -> Web:
    return request.app.state.web
