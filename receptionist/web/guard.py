"""Who may do what: the dependencies every route declares, so no page forgets a check.

- `signed_in`: any page. Reads the session cookie, ends the session when it has been idle for
  `WEB_IDLE_MINUTES` (or is older than a working day, or the account was deactivated), and
  records the activity.
- `signed_in_quietly`: the same check for background requests (the Messages page's poll): they
  never count as activity, or a screen left open would never sign out.
- `changing`: every POST. A signed-in session *and* the session's CSRF token in the form; a form
  without it is refused with 403 (another site cannot make a signed-in browser change anything).
- `admin` / `admin_changing`: the same, for admins only.

Unauthenticated requests raise `NotSignedIn`: pages redirect to /login, `/api/` endpoints answer
401 (see `app.py`).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from receptionist.web.auth import Staff, session_id, session_state
from receptionist.web.context import web_of
from receptionist.web.security import session_cookie

CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No valid session; `why` is "idle" when the session timed out (the login page says so)."""

    def __init__(self, why: str = "") -> None:
        super().__init__(why)
        self.why = why


class Refused(Exception):
    """A signed-in request that is not allowed (403): a missing CSRF token, not an admin."""


async def _staff(request: Request, *, activity: bool) -> Staff:
    web = web_of(request)
    token = request.cookies.get(session_cookie(web.settings))
    if not token:
        raise NotSignedIn()
    sid = session_id(token)
    found = await web.store.staff.staff_session(sid)
    if found is None:
        raise NotSignedIn()
    session, user = found
    now = web.now()
    why = session_state(session, user, now=now, idle=web.idle)
    if why is not None:
        await web.store.staff.close_staff_session(sid)
        raise NotSignedIn(why)
    if activity:
        await web.store.staff.touch_staff_session(sid, now=now)
    staff = Staff(user, session)
    request.state.staff = staff
    return staff


async def signed_in(request: Request) -> Staff:
    return await _staff(request, activity=True)


async def signed_in_quietly(request: Request) -> Staff:
    return await _staff(request, activity=False)


async def changing(request: Request, staff: Annotated[Staff, Depends(signed_in)]) -> Staff:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), staff.csrf_token.encode()
    ):
        raise Refused(
            "This form has expired or did not come from this app (its security token is "
            "missing). Go back, reload the page and try again."
        )
    return staff


async def admin(staff: Annotated[Staff, Depends(signed_in)]) -> Staff:
    if not staff.is_admin:
        raise Refused("Only an admin can open this page.")
    return staff


async def admin_changing(staff: Annotated[Staff, Depends(changing)]) -> Staff:
    if not staff.is_admin:
        raise Refused("Only an admin can do this.")
    return staff


# What routes declare (`staff: SignedIn`): the check runs before the handler, every time.
SignedIn = Annotated[Staff, Depends(signed_in)]
Quietly = Annotated[Staff, Depends(signed_in_quietly)]
Changing = Annotated[Staff, Depends(changing)]
Admin = Annotated[Staff, Depends(admin)]
AdminChanging = Annotated[Staff, Depends(admin_changing)]
