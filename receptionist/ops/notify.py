"""`receptionist notify`: the notification sender, and how its queue stands.

    uv run receptionist notify run           # until SIGTERM / Ctrl-C (after the pass under way)
    uv run receptionist notify run --once    # one pass, then the counts
    uv run receptionist notify status        # how many are pending, sending, sent, given up

The staff app runs the same sender in its own process; running this as well is safe (claims are
atomic), e.g. on a host that keeps running while the app is restarted. Nothing here prints a
caller's name, number or reason: only counts, channels and error types.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from typing import Annotated

import typer
from rich.table import Table

from receptionist import logs
from receptionist.domain.practice import PracticeDirectory, PracticeError, load_directory
from receptionist.notify import Counts, flush_outbox, problems_for, run_sender, send_due
from receptionist.notify.config import CHANNELS
from receptionist.notify.sender import INTERVAL_S
from receptionist.ops.staff import console, fail, literal, say, settings_or_exit, with_store
from receptionist.settings import Settings
from receptionist.store import Store
from receptionist.store.models import NOTIFICATION_STATUSES

app = typer.Typer(help="Notifications of urgent and security messages: send them, see the queue.")


def _ready() -> tuple[Settings, PracticeDirectory]:
    """Settings and practices that can send, or each problem with its fix and exit status 2."""
    settings = settings_or_exit()
    try:
        directory = load_directory(settings.practice_file)
    except PracticeError as exc:
        fail(str(exc), code=2)
    problems = problems_for(settings, directory)
    if problems:
        fail("\n".join(problems), code=2)
    return settings, directory


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One pass, print the counts, exit.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.5, max=600, help="Seconds between passes.")
    ] = INTERVAL_S,
) -> None:
    """Send due notifications (email, webhook) until stopped, retrying failures with backoff."""
    settings, directory = _ready()
    logs.install(settings.log_level)
    if once:

        async def one_pass(store: Store, _: PracticeDirectory) -> Counts:
            await flush_outbox(store)  # what an outage left here goes out too
            return await send_due(store, settings, directory)

        say(f"Notifications: {with_store(one_pass)}.")
        return

    async def forever(store: Store, _: PracticeDirectory) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        say(f"Sending notifications every {interval:g} s; stop with Ctrl-C or SIGTERM.")
        await run_sender(store, settings, directory, stop=stop, interval=interval)

    with_store(forever)
    say("Notification sender stopped.")


@app.command("status")
def status(
    practice_id: Annotated[str, typer.Option("--practice", help="Location id; default: all.")] = "",
) -> None:
    """How many notifications are pending, sending, sent and given up, per channel."""
    counts = with_store(
        lambda store, _: store.notifications.notification_counts(practice_id or None)
    )
    table = Table(title=literal("Notifications"))
    for column in ("status", *CHANNELS, "total"):
        table.add_column(literal(column))
    for name in NOTIFICATION_STATUSES:
        by_channel: Mapping[str, int] = counts.get(name, {})
        cells = [by_channel.get(channel, 0) for channel in CHANNELS]
        table.add_row(*(literal(c) for c in (name.replace("_", " "), *cells, sum(cells))))
    console.print(table)
