"""Signing in and out: the only page reachable without a session.

The sign-in form carries its own CSRF token (a random value in a SameSite=Strict cookie and in
the form, which must match), so another site cannot sign a browser in to an account of its
choosing. A successful sign-in always starts a new session (the browser's earlier one, if any,
is deleted: rotation), and every attempt is in the audit log; the username typed is not (a
password typed into the wrong box would end up there).
"""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.store import StoreUnavailable
from receptionist.web.auth import (
    SIGN_IN_REFUSED,
    check_credentials,
    new_token,
    session_id,
)
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Changing, NotSignedIn, Refused, signed_in_quietly
from receptionist.web.security import (
    clear_cookie,
    login_cookie,
    session_cookie,
    set_cookie,
)

router = APIRouter()
HOME = "/today"
_LOCAL_PATH = re.compile(r"^/[A-Za-z0-9/_.-]*$")


def safe_next(value: str) -> str:
    """Where to go after signing in: a path of this app only (never `//evil.example`)."""
    if not value or value.startswith("//") or not _LOCAL_PATH.match(value):
        return HOME
    return HOME if value.startswith("/login") else value


def _form(
    web: Web, request: Request, *, token: str, status: int = 200, **context: object
) -> Response:
    context = {"next": HOME, "expired": False, "message": None, **context}
    response = web.pages.render(request, "login.html", status=status, login_token=token, **context)
    set_cookie(response, web.settings, login_cookie(web.settings), token)
    return response


@router.get("/login")
async def login_page(request: Request, next: str = "", expired: str = "") -> Response:
    web = web_of(request)
    try:
        await signed_in_quietly(request)
    except NotSignedIn:
        request.state.staff = None
        return _form(web, request, token=new_token(), next=safe_next(next), expired=bool(expired))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/login")
async def login(request: Request) -> Response:
    web = web_of(request)
    request.state.staff = None
    form = await request.form()
    cookie = request.cookies.get(login_cookie(web.settings), "")
    token = form.get("login_token")
    if not cookie or not isinstance(token, str) or not hmac.compare_digest(token, cookie):
        raise Refused(
            "The sign-in form had expired or cookies are blocked. Reload the page and sign in "
            "again (the app needs cookies)."
        )
    target = safe_next(str(form.get("next", "")))
    username = str(form.get("username", ""))
    client = request.client.host if request.client else "unknown"
    now = web.now()
    slot = web.throttle.reserve(client, now)  # before any await: parallel requests count too
    if slot is None:
        minutes = max(1, round(web.throttle.retry_after(client, now).total_seconds() / 60))
        await web.audit(None, "sign_in_throttled", detail="too many failures from one address")
        message = (
            f"Too many failed sign-ins from this computer. Try again in about {minutes} minutes."
        )
        return _form(web, request, token=cookie, status=429, message=message, next=target)
    try:
        result = await check_credentials(
            web.store, username, str(form.get("password", "")), now=now
        )
    except StoreUnavailable:
        web.throttle.release(client, slot)  # nothing was checked: the book did not answer
        raise
    if result.user is None:  # the slot stays taken: it is this failure
        await web.audit(None, "sign_in_failed", detail=result.why, user_id=result.account_id)
        return _form(web, request, token=cookie, status=401, message=SIGN_IN_REFUSED, next=target)
    web.throttle.release(client, slot)
    earlier = request.cookies.get(session_cookie(web.settings))
    session = new_token()
    await web.store.staff.open_staff_session(
        session_id=session_id(session),
        user_id=result.user.id,
        csrf_token=new_token(),
        now=now,
        replaces=session_id(earlier) if earlier else None,
    )
    await web.store.staff.close_idle_sessions(seen_before=now - web.idle)
    await web.audit(None, "signed_in", user_id=result.user.id)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, web.settings, session_cookie(web.settings), session)
    clear_cookie(response, web.settings, login_cookie(web.settings))
    return response


@router.post("/logout")
async def logout(request: Request, staff: Changing) -> Response:
    web = web_of(request)
    await web.store.staff.close_staff_session(staff.session.id)
    await web.audit(staff, "signed_out")
    response = RedirectResponse("/login?notice=signed_out", status_code=303)
    clear_cookie(response, web.settings, session_cookie(web.settings))
    return response
