"""The staff web app: `create_app` builds it, `receptionist web` serves it (uvicorn).

    app = create_app(settings)                                  # production: its own store
    app = create_app(settings, store=store, directory=d, clock=fake_clock)   # tests

Every route sits behind a guard from `guard.py` (the login page, static files and the text
providers' webhooks excepted: those are verified by their signatures, routes/text_webhooks.py);
errors become plain pages (or JSON under /api/) that never echo what was submitted; an
unexpected exception is Starlette's bare "Internal Server Error", never a traceback. Every
response, that one included, carries `security.SecurityHeaders`' headers (`StaffApp`). FastAPI's
generated docs are switched off: they would be public endpoints describing the app.

Background work (the notification sender, the text sender) starts in the lifespan, in
`start_background_tasks`, and is stopped through one `asyncio.Event` when the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from receptionist.domain.practice import PracticeDirectory, load_directory
from receptionist.notify import run_sender
from receptionist.settings import Settings
from receptionist.store import Store, StoreUnavailable, open_store
from receptionist.texts.sender import run_text_sender
from receptionist.web.context import Web, utc_now
from receptionist.web.guard import NotSignedIn, Refused
from receptionist.web.pages import Pages
from receptionist.web.routes import (
    accounts,
    booking,
    calls,
    closures,
    login,
    messages,
    patients,
    text_webhooks,
    today,
)
from receptionist.web.routes import reminders as reminders_page
from receptionist.web.routes import week as week_page
from receptionist.web.security import SecurityHeaders, clear_cookie, session_cookie

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SHUTDOWN_GRACE_S = 10.0


class StaffApp(FastAPI):
    """FastAPI with `SecurityHeaders` as the outermost layer of the middleware stack.

    `add_middleware` would put it inside Starlette's ServerErrorMiddleware (and FastAPI's body
    limit), whose answers (an unexpected exception's 500, a 413) would then go out without the
    headers. Wrapped around the whole stack, every response passes through it."""

    def __init__(self, *, https: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.https = https

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), https=self.https)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    directory: PracticeDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
    background: bool = True,
) -> StaffApp:
    """The app, reading and writing the book the settings name (or `store`).

    A store passed in belongs to the caller (closed by them); one opened here is closed when the
    server stops. `background=False` skips background tasks (HTTP-level tests do not run the
    lifespan anyway; a test server may not want the notification sender)."""
    owns_store = store is None
    web = Web(
        settings=settings,
        store=store or open_store(settings),
        directory=directory or load_directory(settings.practice_file),
        pages=Pages(idle_seconds=int(settings.web_idle_minutes * 60)),
        clock=clock or utc_now,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = start_background_tasks(web, stop) if background else []
        try:
            yield
        finally:
            stop.set()
            await _stop(tasks)
            if owns_store:
                await web.store.close()

    app = StaffApp(
        https=settings.secure_cookies,
        title="Receptionist staff app",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.web = web
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (
        login,
        today,
        patients,
        booking,
        messages,
        calls,
        reminders_page,
        week_page,
        closures,
        accounts,
        text_webhooks,
    )
    for module in pages:
        app.include_router(module.router)
    _install_error_pages(app, web)
    return app


# --- background work ----------------------------------------------------------------------------


def start_background_tasks(web: Web, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """THE HOOK for work that runs as long as the app does; each task returns when `stop` is set.

    The notification sender runs here: staff who keep the app open are the people who want
    urgent messages announced, and one process to run is simpler than two. (Without the web app,
    `receptionist notify run` runs the same sender.)"""
    sender = run_sender(web.store, web.settings, web.directory, stop=stop)
    tasks = [asyncio.create_task(_logged(sender), name="notification-sender")]
    if any(p.texts.enabled for p in web.directory):  # texts to patients, and their answers
        texts = run_text_sender(web.store, web.settings, web.directory, stop=stop)
        tasks.append(asyncio.create_task(_logged(texts), name="text-sender"))
    return tasks


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a failing sender must not take the staff app down
        log.error("background task stopped (%s)", type(exc).__name__)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


# --- error pages --------------------------------------------------------------------------------


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_error_pages(app: FastAPI, web: Web) -> None:
    def page(request: Request, status: int, title: str, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"error": message}, status_code=status)
        return web.pages.render(request, "error.html", status=status, title=title, message=message)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            response: Response = JSONResponse({"error": "not signed in"}, status_code=401)
        else:
            query = {"next": request.url.path}
            if exc.why == "idle":
                query["expired"] = "1"
            response = RedirectResponse(f"/login?{urlencode(query)}", status_code=303)
        if exc.why:
            clear_cookie(response, web.settings, session_cookie(web.settings))
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed", 400: "Bad request"}
        message = exc.detail if exc.status_code != 405 else "That address does not take this."
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "There is no such page."
        return page(request, exc.status_code, titles.get(exc.status_code, "Error"), message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _: RequestValidationError) -> Response:
        return page(request, 400, "Bad request", "Something in that request was not understood.")

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> Response:
        log.error("database unavailable for a staff page (%s)", type(exc.__cause__).__name__)
        return page(
            request,
            503,
            "The book cannot be reached",
            "The database is not answering just now. Try again in a minute; if it goes on, "
            "tell whoever looks after the receptionist.",
        )
