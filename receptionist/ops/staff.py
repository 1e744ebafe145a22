"""Staff commands: apply migrations, load demo data, and read the book (appointments, messages,
recent calls) as Rich tables, in the practice's time zone.

    uv run receptionist migrate
    uv run receptionist demo-data
    uv run receptionist appointments --date 2026-11-24
    uv run receptionist messages
    uv run receptionist calls --limit 20
    uv run receptionist flush-outbox
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from receptionist.domain.practice import Practice, PracticeDirectory, PracticeError, load_directory
from receptionist.domain.text import visible
from receptionist.settings import Settings, SettingsError, load_settings
from receptionist.store import SchemaError, Store, check_schema, open_store, upgrade
from receptionist.store.engine import DatabaseUrlError, safe_url
from receptionist.store.outbox import OutboxError
from receptionist.store.schema import migration_problem

if TYPE_CHECKING:  # the demo imports the scheduling code: loaded only by `demo-data`
    from receptionist.ops.demo import DemoResult

console = Console()


def literal(value: object, style: str = "") -> Text:
    """`value` exactly as it reads: never Rich markup, control characters shown as escapes.

    Everything a staff view prints goes through here, ours and callers' alike: a reason saying
    `[/b]` or `[link=...]`, or carrying terminal escape sequences, is data, not formatting."""
    return Text(visible(str(value)), style=style)


def say(message: object, style: str = "") -> None:
    console.print(literal(message, style), soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    say(message, "red")
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, or every problem with them printed and exit status 2 (as `agent.py`)."""
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), code=2)


def _context() -> tuple[Settings, PracticeDirectory]:
    settings = settings_or_exit()
    try:
        return settings, load_directory(settings.practice_file)
    except PracticeError as exc:
        fail(str(exc), code=2)


T = TypeVar("T")


def with_store(fn: Callable[[Store, PracticeDirectory], Awaitable[T]]) -> T:
    """Runs `fn` on the book and the practices the settings name; a problem exits with its fix."""
    settings, directory = _context()

    async def run() -> T:
        await check_schema(settings.database_url)
        store = open_store(settings)
        try:
            return await fn(store, directory)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (SchemaError, DatabaseUrlError, OutboxError) as exc:
        fail(str(exc))


def _table(title: str, columns: tuple[str, ...], keep_whole: tuple[str, ...] = ()) -> Table:
    """A table that folds long cells onto more lines instead of cutting them off, so an
    80-column terminal shows every caller number and outcome whole (`keep_whole` columns
    never wrap)."""
    table = Table(title=literal(title))
    for column in columns:
        whole = column in keep_whole
        table.add_column(literal(column), overflow="fold", no_wrap=whole, min_width=None)
    return table


def _add_row(table: Table, *cells: object) -> None:
    table.add_row(*(literal(cell) for cell in cells))


def _show(table: Table, rows: Sequence[object], empty: str) -> None:
    if rows:
        console.print(table)
    else:
        say(empty)


def _local(moment: datetime, practice: Practice) -> str:
    return moment.astimezone(practice.tz).strftime("%a %d %b %H:%M")


def migrate() -> None:
    """Apply database migrations (DATABASE_URL) up to the newest."""
    settings, _ = _context()
    url = settings.database_url
    try:
        revision = asyncio.run(upgrade(url))
    except (DatabaseUrlError, SchemaError) as exc:
        fail(str(exc))
    except Exception as exc:
        fail(migration_problem(url, exc))
    say(f"Database {safe_url(url)} is at migration {revision} (newest).", "green")


def demo_data() -> None:
    """Load a demo morning: patients, a full day sheet, an overnight urgent message, calls
    (safe to run twice; receptionist/ops/demo.py)."""
    from receptionist.ops.demo import load_demo

    async def load(store: Store, directory: PracticeDirectory) -> tuple[Practice, DemoResult]:
        return directory.default, await load_demo(store, directory.default)

    practice, result = with_store(load)
    say(f"Demo data ready: {len(result.patients)} patients, {result.booked} new appointments.",
        "green")  # fmt: skip
    table = _table("Demo patients (made up: try them on a call)", ("Name", "Born", "Next visit"))
    for patient in result.patients:
        visit = result.next_visits.get(patient.id)
        born = patient.date_of_birth
        when = f"{visit:%a %d %b %H:%M}" if visit else "-"
        _add_row(table, patient.full_name, f"{born:%B} {born.day}, {born.year}", when)
    console.print(table)
    if result.day_sheet is not None:
        say(f"The day sheet: uv run receptionist appointments --date {result.day_sheet.isoformat()}"
            " (or Today in the staff app); an urgent message and yesterday's calls wait in"
            " Messages and Calls.")  # fmt: skip


def appointments(
    day: Annotated[
        str, typer.Option("--date", help="Day to show, YYYY-MM-DD (default: today at the practice)")
    ] = "",
    practice_id: Annotated[str, typer.Option("--practice", help="Location id")] = "",
    all_statuses: Annotated[
        bool, typer.Option("--all", help="Include cancelled and moved")
    ] = False,
) -> None:
    """List the day's appointments."""

    async def show(store: Store, directory: PracticeDirectory) -> None:
        practice = directory.get(practice_id) if practice_id else directory.default
        if practice is None:
            fail(f"unknown --practice {practice_id!r}: use one of {[p.id for p in directory]}")
        try:
            wanted = date.fromisoformat(day) if day else practice.now().date()
        except ValueError:
            fail(f"--date {day!r} is not a date: write YYYY-MM-DD, e.g. 2026-11-24")
        start = datetime.combine(wanted, datetime.min.time(), tzinfo=practice.tz)
        rows = await store.appointments.appointments_between(
            practice.id, start, start + timedelta(days=1), include_inactive=all_statuses
        )
        title = f"{practice.name}: appointments on {wanted:%A %d %B %Y}"
        table = _table(title, ("Time", "Until", "Provider", "Patient", "Visit", "Status"))
        for appointment, patient in rows:
            provider = practice.provider(appointment.provider_id)
            visit = practice.visit_type(appointment.visit_type)
            _add_row(
                table,
                f"{appointment.starts_at.astimezone(practice.tz):%H:%M}",
                f"{appointment.ends_at.astimezone(practice.tz):%H:%M}",
                provider.name if provider else appointment.provider_id,
                patient.full_name,
                visit.name if visit else appointment.visit_type,
                appointment.status,
            )
        _show(table, rows, f"No appointments on {wanted:%A %d %B %Y}.")

    with_store(show)


def messages(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List open messages (callback requests), newest first."""

    async def show(store: Store, directory: PracticeDirectory) -> None:
        rows = await store.records.open_messages(limit=limit)
        several = len(directory) > 1
        columns = ("Received", *(("Location",) if several else ()), "Urgency", "Name")
        columns += ("Call back", "Reason")
        table = _table("Open messages", columns, keep_whole=("Call back", "Urgency"))
        for m in rows:
            practice = directory.get(m.practice_id) or directory.default
            colour = {"urgent": "red", "soon": "yellow"}.get(m.urgency, "")
            table.add_row(
                literal(_local(m.created_at, practice)),
                *((literal(m.practice_id),) if several else ()),
                literal(m.urgency, colour),
                literal(m.caller_name),
                literal(m.callback_number),
                literal(m.reason),
            )
        _show(table, rows, "No open messages.")

    with_store(show)


def calls(limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """List recent calls, newest first."""

    async def show(store: Store, directory: PracticeDirectory) -> None:
        rows = await store.records.recent_calls(limit=limit)
        several = len(directory) > 1
        columns = ("Started", *(("Location",) if several else ()), "Caller", "Duration")
        columns += ("Outcome", "Call id")
        table = _table("Recent calls", columns, keep_whole=("Caller", "Outcome", "Duration"))
        for c in rows:
            practice = directory.get(c.practice_id) or directory.default
            _add_row(
                table,
                _local(c.started_at, practice),
                *((c.practice_id,) if several else ()),
                c.caller,
                f"{int(c.duration_seconds // 60)}:{int(c.duration_seconds % 60):02d}",
                c.outcome,
                c.livekit_call_id or "-",
            )
        _show(table, rows, "No calls yet.")

    with_store(show)


def flush_outbox() -> None:
    """Write messages and call records kept in the local outbox during a database outage."""

    async def flush(store: Store, _: PracticeDirectory) -> tuple[int, int]:
        store.outbox.check()  # a file or unwritable folder is not "0 still waiting"
        written = await store.flush_outbox()
        return written, len(store.outbox.pending())

    written, left = with_store(flush)
    say(f"Wrote {written} outbox records; {left} still waiting.")


def register(app: typer.Typer) -> None:
    """Adds the staff commands to the root `receptionist` command."""
    app.command("migrate")(migrate)
    app.command("demo-data")(demo_data)
    app.command("appointments")(appointments)
    app.command("messages")(messages)
    app.command("calls")(calls)
    app.command("flush-outbox")(flush_outbox)
