"""`agent.py try` end to end: typed lines in, the real agent, tools and book, the stand-in
for the model; asserted on what was said, which tools ran and what the book holds afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

from receptionist.call.standin import LABEL
from receptionist.ops.tryout import (
    OWN_BOOK,
    ReadLine,
    TryoutRun,
    banner,
    book_url,
    converse,
    prepare_book,
)
from receptionist.paths import REPO_ROOT
from receptionist.settings import load_settings
from tests.conversation.book_support import ANN, active_appointments
from tests.support.harness import OPEN_TIME, example_practice
from tools import receptionist_tools


def lines(*typed: str) -> tuple[ReadLine, list[str]]:
    """A reader that types `typed` one line a turn, and the list of lines it was asked for."""
    pending: Iterator[str] = iter(typed)
    read: list[str] = []

    async def next_line() -> str | None:
        line = next(pending, None)
        if line is not None:
            read.append(line)
        return line

    return next_line, read


async def try_out(tmp_path, *typed: str, at: datetime = OPEN_TIME):
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'book.db'}")
    settings = settings.model_copy(update={"outbox_dir": tmp_path / "outbox"})
    practice = example_practice()
    store = await prepare_book(settings.database_url, settings, practice)
    shown: list[str] = []
    reader, read = lines(*typed)
    run = await converse(
        store, practice, settings, receptionist_tools, reader, shown.append, clock=lambda: at
    )
    return run, store, shown, read


def used(run: TryoutRun, name: str):
    return [use for use in run.tools if use.name == name]


async def test_greeting_hours_a_booking_a_refused_transfer_and_goodbye(tmp_path):
    run, store, shown, read = await try_out(
        tmp_path,
        "What are your opening hours?",
        "I'd like to book a cleaning",
        "Ann Lee",
        "February 29, 1980",
        "The first one, please",
        "Can I talk to someone?",
        "Goodbye",
        "(never read: the call has ended)",
    )
    try:
        # The greeting comes first, from code, as a caller would hear it (not the stand-in's).
        assert run.said[0].startswith("Thank you for calling Lakeside Family Dental")
        assert shown[0].startswith("Receptionist: Thank you for calling")
        assert all(line.startswith(LABEL) for line in run.said[1:])
        # The real tools ran through real function calls.
        names = [use.name for use in run.tools]
        assert names == [
            "practice_info",
            "verify_patient",
            "find_open_times",
            "book_appointment",
            "transfer_to_staff",
            "end_call",
        ]
        assert not any(use.is_error for use in run.tools)
        assert "Monday" in used(run, "practice_info")[0].output
        # A booking row landed in the book, for the verified demo patient.
        [appointment] = await active_appointments(store, ANN)
        assert appointment.visit_type == "checkup"
        assert "Booked for Ann" in used(run, "book_appointment")[0].output
        # The transfer was attempted and refused (no phone line), and the caller was told.
        [transfer] = used(run, "transfer_to_staff")
        assert "not on a phone line" in transfer.output
        assert any("not a phone call" in said for said in run.said)
        # Goodbye ended the session: the last line was never read, and no call record written.
        assert run.ended and read[-1] == "Goodbye"
        assert run.said[-1] == f"{LABEL} Thank you for calling. Goodbye!"
        assert await store.count("call") == 0
    finally:
        await store.close()


async def test_cancelling_a_demo_appointment_after_hearing_the_policy(tmp_path):
    run, store, _, _ = await try_out(
        tmp_path,
        "book a cleaning",
        "It's Ann Lee, born 2/29/1980",
        "second",
        "Now cancel my appointment",
        "yes, cancel it",
    )
    try:
        assert [use.name for use in run.tools] == [
            "verify_patient",
            "find_open_times",
            "book_appointment",
            "list_appointments",
            "cancel_appointment",
            "cancel_appointment",
        ]
        assert "policy" in run.said[-2].lower()
        assert "cancelled" in run.said[-1]
        assert await active_appointments(store, ANN) == []
        assert run.ended  # the lines ran out: the session was closed, as on a hang-up
        assert await store.count("call") == 0
    finally:
        await store.close()


def test_the_book_is_the_configured_sqlite_file_never_a_server_database(tmp_path):
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'mine.db'}"
    assert book_url(load_settings(database_url=sqlite)) == sqlite
    postgres = load_settings(database_url="postgresql+asyncpg://u:p@db.example/book")
    assert book_url(postgres) == f"sqlite+aiosqlite:///{OWN_BOOK}"
    assert "its own" in "\n".join(banner(example_practice(), book_url(postgres)))


def test_the_command_shows_the_banner_then_the_greeting_then_the_conversation(tmp_path):
    """`uv run agent.py try` as a newcomer types it, with the lines piped in."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_URL"))}
    env.pop("PROVIDER_FACTORY", None)
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'book.db'}",
        OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "agent.py"), "try"],
        input="What are your opening hours?\ngoodbye\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env: no keys at all
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "STAND-IN" in out[0]
    greeting = next(i for i, line in enumerate(out) if line.startswith("Receptionist:"))
    assert "Thank you for calling Lakeside Family Dental" in out[greeting]
    assert out.index("You: What are your opening hours?") > greeting  # the greeting came first
    assert any(line.startswith(f"Receptionist: {LABEL} Our opening hours") for line in out)
    assert "Traceback" not in result.stderr
