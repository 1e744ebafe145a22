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
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from receptionist.domain.practice import Practice, PracticeDirectory, PracticeError, load_directory
from receptionist.domain.text import visible
from receptionist.settings import Settings, SettingsError, load_settings
from receptionist.store import SchemaError, SlotTaken, Store, check_schema, open_store, upgrade
from receptionist.store.engine import DatabaseUrlError, safe_url
from receptionist.store.outbox import OutboxError
from receptionist.store.schema import migration_problem

console = Console()
DEMO_NAMESPACE = uuid.UUID("5b0c7f7e-1d2a-4c55-9a53-0d3c1e0de111")
# The demo call's LiveKit id: its booking and message point at it, so the staff app links them.
DEMO_CALL_ID = "SCL_demo"
DEMO_PATIENTS = [
    ("Ann Lee", date(1980, 2, 29), "+14144007103"),
    ("Bob Stone", date(1975, 6, 1), "+14145550123"),
    ("Carla Diaz", date(1992, 7, 14), "+14145550177"),
    ("Dev Patel", date(2011, 9, 3), "+14145550188"),
]


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
    """Load demo patients, appointments, a message and a call (safe to run twice)."""

    async def load(
        store: Store, directory: PracticeDirectory
    ) -> tuple[list[tuple[str, date, datetime | None]], int]:
        from receptionist.appointments import find_open_times

        practice = directory.default
        patients = [
            (await store.appointments.register_patient(practice.id, name, born, phone))[0]
            for name, born, phone in DEMO_PATIENTS
        ]
        visits_of: dict[str, datetime] = {}
        booked = 0
        visits = [v.id for v in practice.visit_types if v.patients.value != "new"] or [
            practice.visit_types[0].id
        ]
        now = practice.now()
        for index, patient in enumerate(patients):
            appointment_id = str(uuid.uuid5(DEMO_NAMESPACE, f"appointment-{index}"))
            existing = await store.appointments.get_appointment(appointment_id)
            if existing is not None:
                visits_of[patient.id] = existing.starts_at.astimezone(practice.tz)
                continue
            slots = await find_open_times(
                practice,
                store.appointments,
                visits[index % len(visits)],
                now=now,
                date_from=now.date() + timedelta(days=1 + index),
            )
            if not slots:
                continue
            try:
                await store.appointments.book(
                    practice_id=practice.id,
                    provider_id=slots[0].provider_id,
                    patient_id=patient.id,
                    visit_type=slots[0].visit_type,
                    starts_at=slots[0].start,
                    ends_at=slots[0].end,
                    call_id=DEMO_CALL_ID,
                    appointment_id=appointment_id,
                )
                visits_of[patient.id] = slots[0].start.astimezone(practice.tz)
                booked += 1
            except SlotTaken:
                continue
        await store.records.insert_once(
            "message",
            {
                "id": str(uuid.uuid5(DEMO_NAMESPACE, "message-0")),
                "practice_id": practice.id,
                "caller_name": "Bob Stone",
                "callback_number": "+14145550123",
                "reason": "Question about his last invoice",
                "urgency": "routine",
                "call_id": DEMO_CALL_ID,
                "created_at": now,
            },
        )
        await store.records.insert_once(
            "call",
            {
                "id": str(uuid.uuid5(DEMO_NAMESPACE, "call-0")),
                "practice_id": practice.id,
                "caller": "+14145550123",
                "dialled": practice.numbers[0] if practice.numbers else "unknown",
                "livekit_call_id": DEMO_CALL_ID,
                "sip_call_id": "demo@example",
                "started_at": now,
                "duration_seconds": 74.0,
                "outcome": "message",
                "outcomes": ["message"],
                "usage": {"llm_prompt_tokens": 2100, "tts_characters": 640},
                "created_at": now,
            },
        )
        return [(p.full_name, p.date_of_birth, visits_of.get(p.id)) for p in patients], booked

    rows, booked = with_store(load)
    say(f"Demo data ready: {len(rows)} patients, {booked} new appointments.", "green")
    table = _table("Demo patients (made up: try them on a call)", ("Name", "Born", "Next visit"))
    for name, born, visit in rows:
        when = f"{visit:%a %d %b %H:%M}" if visit else "-"
        _add_row(table, name, f"{born:%B} {born.day}, {born.year}", when)
    console.print(table)
    first = min((visit for _, _, visit in rows if visit), default=None)
    if first is not None:
        say(f"See their visits: uv run receptionist appointments --date {first.date().isoformat()}")


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
