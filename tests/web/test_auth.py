"""Signing in and staying signed in: passwords, lock-out, throttling, sessions, idle sign-out,
CSRF, the login wall and the security headers."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from receptionist.store.models import AuditEntry, StaffSession, StaffUser
from receptionist.web.auth import SIGN_IN_REFUSED
from receptionist.web.security import HEADERS
from tests.support.web import (
    PASSWORD,
    Rig,
    add_user,
    app_settings,
    csrf_of,
    post_login,
    sign_in,
)

PAGES = [
    "/",
    "/today",
    "/book",
    "/messages",
    "/calls",
    "/calls/some-id",
    "/calls/from/SCL_x",
    "/reminders",
    "/week",
    "/closures",
    "/accounts",
    "/audit",
    "/appointments/some-id",
]
POSTS = [
    "/logout",
    "/book",
    "/patients",
    "/patients/find",
    "/appointments/x/move",
    "/appointments/x/cancel",
    "/messages/x/handled",
    "/closures",
    "/closures/x/remove",
    "/reminders/opt-outs",
    "/reminders/opt-outs/x/remove",
    "/accounts",
    "/accounts/x/role",
    "/accounts/x/active",
    "/accounts/x/password",
]


async def _rows(rig: Rig, model) -> list:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(model)))


async def _audit(rig: Rig, action: str) -> list[AuditEntry]:
    return [e for e in await _rows(rig, AuditEntry) if e.action == action]


async def test_sign_in_sets_a_strict_cookie_and_stores_only_its_hash_and_sign_out_ends_it(rig):
    user = await add_user(rig.store)
    response = await post_login(rig.client, "Maria", PASSWORD)  # usernames ignore case
    assert response.status_code == 303 and response.headers["location"] == "/today"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "staff_session=" in c)
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # STAFF_APP_URL is http here
    token = re.search(r"staff_session=([^;]+)", cookie).group(1)
    [session] = await _rows(rig, StaffSession)
    assert session.id == hashlib.sha256(token.encode()).hexdigest() and session.id != token
    assert session.user_id == user.id
    page = await rig.client.get("/today")
    assert page.status_code == 200 and "Maria Santos" in page.text
    assert len(await _audit(rig, "signed_in")) == 1

    csrf = await csrf_of(rig.client)
    out = await rig.client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    assert await _rows(rig, StaffSession) == []
    rig.client.cookies.set("staff_session", token)  # a copied cookie is worthless now
    assert (await rig.client.get("/today")).status_code == 303


async def test_unknown_user_wrong_password_and_deactivated_account_get_the_same_answer(rig):
    await add_user(rig.store)
    gone = await add_user(rig.store, "olduser", full_name="Old User")
    await rig.store.staff.update_staff_user(gone.id, active=False)
    answers = [
        await post_login(rig.client, "nobody", PASSWORD),
        await post_login(rig.client, "maria", "wrong password!!"),
        await post_login(rig.client, "olduser", PASSWORD),
    ]
    assert {r.status_code for r in answers} == {401}
    bodies = {re.sub(r'value="[^"]*"', "", r.text) for r in answers}
    assert len(bodies) == 1 and SIGN_IN_REFUSED in bodies.pop()
    failed = await _audit(rig, "sign_in_failed")
    assert sorted(e.detail for e in failed) == [
        "deactivated account",
        "unknown username",
        "wrong password",
    ]
    assert all("nobody" not in e.detail + e.subject for e in failed)  # typed usernames not kept


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(rig):
    await add_user(rig.store)
    for _ in range(5):
        assert (await post_login(rig.client, "maria", "not the password")).status_code == 401
    [user] = await _rows(rig, StaffUser)
    assert user.locked_until == rig.clock.now + timedelta(minutes=15)
    locked = await post_login(rig.client, "maria", PASSWORD)  # the right password, while locked
    assert locked.status_code == 401 and SIGN_IN_REFUSED in locked.text
    rig.clock.advance(minutes=14)
    assert (await post_login(rig.client, "maria", PASSWORD)).status_code == 401
    rig.clock.advance(minutes=1)
    assert (await post_login(rig.client, "maria", PASSWORD)).status_code == 303
    [user] = await _rows(rig, StaffUser)
    assert user.failed_logins == 0 and user.locked_until is None


async def test_one_address_is_throttled_whichever_usernames_it_tries(rig):
    await add_user(rig.store)
    rig.web.throttle.limit = 3
    for name in ("anna", "bert", "carl"):
        assert (await post_login(rig.client, name, "guess guess guess")).status_code == 401
    throttled = await post_login(rig.client, "maria", PASSWORD)
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
    async with rig.client_for("10.0.0.9") as other:  # another computer is not affected
        assert (await post_login(other, "maria", PASSWORD)).status_code == 303
    rig.clock.advance(minutes=15)
    assert (await post_login(rig.client, "maria", PASSWORD)).status_code == 303
    assert len(await _audit(rig, "sign_in_throttled")) == 1


async def test_signing_in_again_replaces_the_browsers_session(rig):
    await add_user(rig.store)
    await sign_in(rig.client)
    [first] = await _rows(rig, StaffSession)
    # The browser (still holding the first session's cookie) posts the sign-in form again,
    # e.g. the next person at a shared front desk.
    rig.client.cookies.set("staff_login", "a-form-token")
    again = await rig.client.post(
        "/login",
        data={"login_token": "a-form-token", "username": "maria", "password": PASSWORD},
    )
    assert again.status_code == 303
    [second] = await _rows(rig, StaffSession)
    assert second.id != first.id and second.csrf_token != first.csrf_token


async def test_idle_sessions_end_and_the_background_poll_is_not_activity(rig):
    await add_user(rig.store)
    await sign_in(rig.client)
    rig.clock.advance(minutes=14)
    assert (await rig.client.get("/messages")).status_code == 200  # activity: the clock restarts
    for _ in range(2):  # 5 and 10 minutes after that page: only background polls
        rig.clock.advance(minutes=5)
        assert (await rig.client.get("/api/messages/count")).status_code == 200
    rig.clock.advance(minutes=5)  # 15 minutes without activity: signed out, the row deleted
    poll = await rig.client.get("/api/messages/count")
    assert poll.status_code == 401 and poll.json() == {"error": "not signed in"}
    page = await rig.client.get("/messages")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fmessages"
    assert await _rows(rig, StaffSession) == []


async def test_an_idle_page_says_why_the_user_was_signed_out(rig):
    await add_user(rig.store)
    await sign_in(rig.client)
    rig.clock.advance(minutes=15)
    page = await rig.client.get("/today")
    assert page.headers["location"] == "/login?next=%2Ftoday&expired=1"
    login = await rig.client.get(page.headers["location"])
    assert "signed out after 15 minutes without activity" in login.text


async def test_every_page_and_endpoint_needs_a_session(rig):
    for path in PAGES:
        response = await rig.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    assert (await rig.client.get("/api/messages/count")).status_code == 401
    for path in POSTS:
        response = await rig.client.post(path, data={"csrf_token": "x"})
        assert response.status_code == 303 and "/login" in response.headers["location"], path
    assert (await rig.client.get("/login")).status_code == 200
    for generated in ("/docs", "/redoc", "/openapi.json"):
        assert (await rig.client.get(generated)).status_code == 404


async def test_a_form_without_its_csrf_token_is_refused(staff_client, rig):
    client, csrf = staff_client
    form = {"practice": "lakeside", "start": "2030-03-05", "reason": "snow day"}
    for data in (form, {**form, "csrf_token": "forged"}):
        refused = await client.post("/closures", data=data)
        assert refused.status_code == 403 and "security token" in refused.text
    assert await rig.store.closures.closures_from("lakeside", rig.practice.now().date()) == []
    for path in POSTS:
        assert (await client.post(path, data={})).status_code == 403, path
    assert (await client.post("/closures", data={**form, "csrf_token": csrf})).status_code == 303


async def test_the_sign_in_form_needs_its_own_token(rig):
    await add_user(rig.store)
    await rig.client.get("/login")
    forged = await rig.client.post(
        "/login", data={"login_token": "forged", "username": "maria", "password": PASSWORD}
    )
    assert forged.status_code == 403
    rig.client.cookies.clear()
    no_cookie = await rig.client.post(
        "/login", data={"login_token": "x", "username": "maria", "password": PASSWORD}
    )
    assert no_cookie.status_code == 403 and await _rows(rig, StaffSession) == []


async def test_security_headers_on_every_kind_of_response(staff_client):
    client, _ = staff_client
    responses = [
        await client.get("/today"),
        await client.get("/static/style.css"),
        await client.get("/nowhere"),
        await httpx.AsyncClient(transport=client._transport, base_url="http://t").get("/login"),
    ]
    for response in responses:
        headers = response.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in headers
    assert responses[2].status_code == 404


async def test_an_unexpected_error_is_a_bare_500_with_every_security_header(rig):
    secret = "Ann Lee, born 1980-02-29"

    async def explode() -> None:
        raise RuntimeError(f"a bug while showing {secret}")

    rig.app.add_api_route("/explode", explode)  # this test's app only
    transport = httpx.ASGITransport(app=rig.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/explode")
    assert response.status_code == 500
    for name, value in HEADERS:
        assert response.headers.get(name.decode()) == value.decode(), name
    assert response.text == "Internal Server Error"  # no traceback, no exception text
    assert secret not in response.text and "Traceback" not in response.text


async def test_https_makes_cookies_secure_under_the_host_prefix(store, db_url, tmp_path, clock):
    from receptionist.domain.practice import PracticeDirectory
    from receptionist.web import create_app
    from tests.support.web import web_practice

    settings = app_settings(db_url, tmp_path, staff_app_url="https://staff.example-dental.com")
    app = create_app(
        settings, store=store, directory=PracticeDirectory([web_practice()]), clock=clock
    )
    await add_user(store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await post_login(client, "maria", PASSWORD)
        assert response.status_code == 303
        cookie = next(c for c in response.headers.get_list("set-cookie") if "session=" in c)
        assert cookie.startswith("__Host-staff_session=") and "secure" in cookie.lower()
        page = await client.get("/today")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")


async def test_after_signing_in_only_a_local_page_is_a_destination(rig):
    await add_user(rig.store)
    went = await post_login(rig.client, "maria", PASSWORD, next="/messages")
    assert went.headers["location"] == "/messages"
    for hostile in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        async with rig.client_for() as browser:
            away = await post_login(browser, "maria", PASSWORD, next=hostile)
        assert away.headers["location"] == "/today", hostile


async def test_a_deactivated_account_is_signed_out_at_once(staff_client, rig):
    client, _ = staff_client
    [user] = await _rows(rig, StaffUser)
    await rig.store.staff.update_staff_user(user.id, active=False)
    assert (await client.get("/today")).status_code == 303
    async with rig.store.sessions.session(write=False) as s:
        assert await s.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_admin_pages_are_refused_to_staff(staff_client):
    client, csrf = staff_client
    for path in ("/accounts", "/audit"):
        page = await client.get(path)
        assert page.status_code == 403 and "Only an admin" in page.text
    added = await client.post(
        "/accounts",
        data={
            "csrf_token": csrf,
            "username": "sneaky",
            "full_name": "Sneaky",
            "role": "admin",
            "password": "p" * 20,
            "password2": "p" * 20,
        },
    )
    assert added.status_code == 403
    today = await client.get("/today")
    assert 'href="/accounts"' not in today.text and 'href="/audit"' not in today.text
