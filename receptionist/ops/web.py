"""`receptionist web`: serve the staff web app with uvicorn on WEB_HOST:WEB_PORT.

It checks what the agent checks at start-up (settings, the practice file, the outbox folder, the
database schema) and refuses to start with the list of fixes, so a broken setup is found here
and not by the first person who signs in. Logs go through the same redacting handler as the
agent's; request lines carry only ids and dates (the app keeps patient data out of URLs).

    uv run receptionist web
    uv run receptionist web --host 0.0.0.0 --port 8080    # behind an HTTPS reverse proxy only
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from receptionist import logs
from receptionist.domain.practice import load_directory
from receptionist.domain.text import visible
from receptionist.ops.staff import say, settings_or_exit
from receptionist.ops.startup import startup_problems
from receptionist.settings import Settings
from receptionist.store import open_store


async def _count_accounts(settings: Settings) -> int:
    store = open_store(settings)
    try:
        return len(await store.staff.staff_users())
    finally:
        await store.close()


def web(
    host: Annotated[str, typer.Option(help="Address to listen on (default: WEB_HOST).")] = "",
    port: Annotated[int, typer.Option(help="Port (default: WEB_PORT).", min=0, max=65535)] = 0,
) -> None:
    """Start the staff web app (Today, Messages, Calls, This week, Closures, Accounts)."""
    import uvicorn

    from receptionist.web import create_app

    problems = startup_problems("web")
    if problems:
        print("The staff app cannot start yet:", file=sys.stderr)
        for problem in problems:
            print(f"  - {visible(problem)}", file=sys.stderr)
        raise typer.Exit(2)
    settings = settings_or_exit()
    logs.install(settings.log_level)
    if asyncio.run(_count_accounts(settings)) == 0:
        say(
            "No staff accounts yet: create the first admin with "
            '`uv run receptionist staff add USERNAME --name "Full Name" --role admin`.',
            "yellow",
        )
    app = create_app(settings, directory=load_directory(settings.practice_file))
    where = f"{host or settings.web_host}:{port or settings.web_port}"
    say(f"Staff app listening on {where}; staff open {settings.staff_app_url}", "green")
    uvicorn.run(
        app,
        host=host or settings.web_host,
        port=port or settings.web_port,
        log_config=None,  # our handlers (redacting), installed above
        proxy_headers=True,  # client addresses from a proxy on FORWARDED_ALLOW_IPS (uvicorn's)
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    app.command("web")(web)
