"""Response headers and cookies that keep a health-data app's pages where they belong.

Every response carries:
- `Content-Security-Policy: default-src 'self'` (plus no framing, no plugins, forms only to this
  app): even if markup slipped past escaping, no inline or foreign script would run;
- `X-Frame-Options: DENY` (no clickjacking), `Referrer-Policy: no-referrer` (page addresses never
  leave the app), `X-Content-Type-Options: nosniff`;
- `Cache-Control: no-store`: patient data is never kept in the browser's or a proxy's cache,
  so the Back button after signing out shows nothing;
- `Strict-Transport-Security` when STAFF_APP_URL is https.

Cookies are HttpOnly (scripts cannot read them) and SameSite=Strict (never sent with a request
another site starts); Secure, under the `__Host-` prefix, when STAFF_APP_URL is https.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receptionist.settings import Settings

CSP = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` to every HTTP response (pages, errors, static files).

    `app.StaffApp` wraps it around the whole middleware stack, Starlette's ServerErrorMiddleware
    included, so an unexpected exception's 500 carries the headers too."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if https else list(HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(settings: Settings, name: str) -> str:
    return f"__Host-{name}" if settings.secure_cookies else name


def session_cookie(settings: Settings) -> str:
    return _cookie(settings, "staff_session")


def login_cookie(settings: Settings) -> str:
    """The sign-in form's own CSRF token (double submit): there is no session yet."""
    return _cookie(settings, "staff_login")


def set_cookie(response: Response, settings: Settings, name: str, value: str) -> None:
    """A browser-session cookie (no expiry: closing the browser ends it; the server decides
    idle time and lifetime)."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
    )
