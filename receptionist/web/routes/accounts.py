"""Accounts and audit (admins only): staff accounts and roles, password resets, and the audit log
of who viewed or changed which patient's data and when.

An admin cannot deactivate or demote themselves, and the last active admin cannot be removed,
so the practice is never left without someone who can manage accounts (the command line's
`receptionist staff add ... --role admin` remains the way back in). The store decides the second
rule in the change's own transaction, so two admins removing each other at once leave one.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from receptionist.store.models import ADMIN, NAME_LENGTH, STAFF_ROLES, StaffUser
from receptionist.store.staff import LastAdmin, StaffUserExists
from receptionist.web import forms
from receptionist.web.auth import (
    AccountError,
    Staff,
    check_role,
    clean_username,
    hash_password_async,
    password_problem,
)
from receptionist.web.context import Web, web_of
from receptionist.web.guard import Admin, AdminChanging

router = APIRouter()
AUDIT_PAGE = 100
LAST_ADMIN = "This is the last active admin: make another admin first."


async def _page(
    request: Request, web: Web, *, status: int = 200, error: str | None = None
) -> Response:
    return web.pages.render(
        request,
        "accounts.html",
        status=status,
        nav="accounts",
        users=await web.store.staff.staff_users(),
        roles=STAFF_ROLES,
        now=web.now(),
        error=error,
    )


def _done(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/accounts?notice={notice}", status_code=303)


async def _target(web: Web, user_id: str) -> StaffUser:
    user = await web.store.staff.staff_user(user_id)
    if user is None:
        raise HTTPException(404, "There is no such account.")
    return user


def _not_yourself(staff: Staff, user: StaffUser) -> None:
    """Refuses to take the admin role away from yourself. (The last active admin is kept by
    the store, in the same transaction as the change: `LastAdmin`.)"""
    if user.id == staff.id:
        raise AccountError("You cannot deactivate or demote your own account: ask another admin.")


async def _change(web: Web, user: StaffUser, **values: object) -> None:
    """Changes a role or the active flag; `AccountError` if that would leave no active admin."""
    try:
        await web.store.staff.update_staff_user(user.id, **values)
    except LastAdmin:
        raise AccountError(LAST_ADMIN) from None


@router.get("/accounts")
async def accounts(request: Request, _: Admin) -> Response:
    return await _page(request, web_of(request))


@router.post("/accounts")
async def add_account(request: Request, staff: AdminChanging) -> Response:
    web = web_of(request)
    form = await request.form()
    try:
        username = clean_username(forms.field(form, "username"))
        full_name = forms.free_text(form, "full_name", limit=NAME_LENGTH, label="The full name")
        role = check_role(forms.field(form, "role"))
        password = forms.field(form, "password")
        if problem := password_problem(password, forms.field(form, "password2")):
            raise AccountError(problem)
        user = await web.store.staff.add_staff_user(
            username=username,
            full_name=full_name,
            role=role,
            password_hash=await hash_password_async(password),
            at=web.now(),
        )
    except StaffUserExists:
        return await _page(request, web, status=409, error="That username is taken.")
    except (AccountError, forms.FormError) as exc:
        return await _page(request, web, status=400, error=str(exc))
    await web.audit(staff, "account_added", subject=f"user {user.id}", detail=f"role {role}")
    return _done("account_added")


@router.post("/accounts/{user_id}/role")
async def change_role(request: Request, staff: AdminChanging, user_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    user = await _target(web, user_id)
    try:
        role = check_role(forms.field(form, "role"))
        if role != ADMIN:
            _not_yourself(staff, user)
        await _change(web, user, role=role)
    except AccountError as exc:
        return await _page(request, web, status=400, error=str(exc))
    await web.audit(staff, "role_changed", subject=f"user {user.id}", detail=f"role {role}")
    return _done("role_changed")


@router.post("/accounts/{user_id}/active")
async def change_active(request: Request, staff: AdminChanging, user_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    user = await _target(web, user_id)
    active = forms.field(form, "active") == "yes"
    try:
        if not active:
            _not_yourself(staff, user)
        await _change(web, user, active=active)
    except AccountError as exc:
        return await _page(request, web, status=400, error=str(exc))
    if not active:
        await web.store.staff.close_user_sessions(user.id)
    action = "account_activated" if active else "account_deactivated"
    await web.audit(staff, action, subject=f"user {user.id}")
    return _done(action)


@router.post("/accounts/{user_id}/password")
async def reset_password(request: Request, staff: AdminChanging, user_id: str) -> Response:
    web = web_of(request)
    form = await request.form()
    user = await _target(web, user_id)
    password = forms.field(form, "password")
    if problem := password_problem(password, forms.field(form, "password2")):
        return await _page(request, web, status=400, error=problem)
    await web.store.staff.update_staff_user(
        user.id, password_hash=await hash_password_async(password)
    )
    await web.store.staff.close_user_sessions(user.id)
    await web.audit(staff, "password_reset", subject=f"user {user.id}")
    if user.id == staff.id:  # their own session just ended with the others
        return RedirectResponse("/login?notice=password_reset", status_code=303)
    return _done("password_reset")


@router.get("/audit")
async def audit_log(
    request: Request,
    staff: Admin,
    user: str = "",
    patient: str = "",
    before: str = "",
    after_id: str = "",
) -> Response:
    web = web_of(request)
    rows = await web.store.staff.audit_entries(
        user_id=user or None,
        patient_id=patient or None,
        before=_cursor(before, after_id),
        limit=AUDIT_PAGE,
    )
    await web.audit(
        staff,
        "viewed_audit",
        subject="audit log",
        detail="filtered" if user or patient else "",
        patient_ids=[patient or None],
    )
    older = ""
    if len(rows) == AUDIT_PAGE:
        last = rows[-1].entry
        query = {
            "user": user,
            "patient": patient,
            "before": last.at.isoformat(),
            "after_id": last.id,
        }
        older = "/audit?" + urlencode({k: v for k, v in query.items() if v})
    return web.pages.render(
        request,
        "audit.html",
        nav="audit",
        rows=rows,
        users=await web.store.staff.staff_users(),
        user_id=user,
        patient_id=patient,
        patient=await web.store.appointments.get_patient(patient) if patient else None,
        older=older,
    )


def _cursor(before: str, after_id: str) -> tuple[datetime, str] | None:
    """The previous page's last row, from the "older" link (ignored when not understood)."""
    try:
        at = datetime.fromisoformat(before) if before else None
    except ValueError:
        return None
    if at is None or at.tzinfo is None:
        return None
    return at, after_id
