"""`agent.py try` end to end: typed lines in, the real agent, tools and book, the stand-in
for the model; asserted on what was said, which tools ran and what the book holds afterwards."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from receptionist.call.standin import LABEL
from receptionist.domain.calls import Outcome
from receptionist.ops.tryout import (
    DEFAULT_FOLDER,
    OwnBook,
    ReadLine,
    TryoutError,
    TryoutRun,
    banner,
    converse,
    open_book,
)
from receptionist.paths import REPO_ROOT
from receptionist.settings import load_settings
from receptionist.store import Outbox, Store, upgrade
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


# Tuesday December 1, 2026, 05:31 in Milwaukee: offered Wednesday, Thursday and Monday at 8 AM.
BEFORE_DAWN = datetime(2026, 12, 1, 11, 31, tzinfo=UTC)


async def try_out(tmp_path, *typed: str, at: datetime = OPEN_TIME):
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'practice.db'}")
    settings = settings.model_copy(update={"outbox_dir": tmp_path / "outbox"})
    practice = example_practice()
    store = await open_book(OwnBook(tmp_path / "tryout"), settings, practice)
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


async def test_the_thursday_one_books_the_thursday_time_and_the_one_at_8_asks_which(tmp_path):
    run, store, _, _ = await try_out(
        tmp_path,
        "I'd like to book a cleaning",
        "Ann Lee, February 29, 1980",
        "the one at 8",  # all three are at 8 AM: the stand-in asks, it does not guess
        "the Thursday one works",
        at=BEFORE_DAWN,
    )
    try:
        offered = used(run, "find_open_times")[0].output
        assert "tomorrow (Wednesday) at 8 AM" in offered and "Thursday, December 3" in offered
        assert "Which one do you mean" in run.said[-2]
        [booking] = used(run, "book_appointment")  # one booking, made after the question
        thursday = next(line for line in offered.splitlines() if "Thursday" in line)
        assert booking.arguments == f'{{"option_id": "{thursday.split(":")[0]}"}}'
        [appointment] = await active_appointments(store, ANN)
        local = appointment.starts_at.astimezone(example_practice().tz)
        assert local.date() == date(2026, 12, 3) and local.hour == 8
    finally:
        await store.close()


async def test_a_message_taken_in_the_try_out_is_a_message_row(tmp_path):
    run, store, _, _ = await try_out(
        tmp_path,
        "I'd like to leave a message",
        "Carla Diaz",
        "It's about my invoice from the last visit",  # "visit", "about": still the reason
        "414-555-0177",
        "goodbye",
    )
    try:
        [message] = await store.records.open_messages(example_practice().id)
        assert message.caller_name == "Carla Diaz"
        assert message.callback_number == "+14145550177"
        assert message.reason == "It's about my invoice from the last visit"
        assert message.urgency == "routine"
        assert "Message saved" in used(run, "take_message")[0].output
        assert "ending 0177" in run.said[-2]
        assert Outcome.MESSAGE in run.state.outcomes
    finally:
        await store.close()


async def test_a_refused_transfer_offers_a_message_and_a_yes_takes_it(tmp_path):
    run, store, _, _ = await try_out(
        tmp_path,
        "Can I talk to someone?",
        "yes please",
        "Bob Stone",
        "call me back",
        "414 555 0123",
    )
    try:
        [message] = await store.records.open_messages(example_practice().id)
        assert (message.caller_name, message.callback_number) == ("Bob Stone", "+14145550123")
        assert [use.name for use in run.tools] == ["transfer_to_staff", "take_message"]
    finally:
        await store.close()


async def test_an_urgent_dental_problem_goes_through_the_emergency_tool_to_an_urgent_message(
    tmp_path,
):
    run, store, _, _ = await try_out(
        tmp_path, "I knocked out a tooth playing hockey", "Ann Lee", "414 400 7103", "no thanks"
    )
    try:
        names = [use.name for use in run.tools]
        # Open hours: the emergency tool says to transfer; there is no phone line, so the
        # stand-in takes the urgent message the tool asks for (no caller number to note).
        assert names == ["report_emergency", "transfer_to_staff", "take_message"]
        [report] = used(run, "report_emergency")
        assert '"kind": "urgent_dental"' in report.arguments
        assert (run.state.events[0]["kind"], run.state.events[0]["detail"]) == (
            "emergency",
            "urgent_dental",
        )
        assert Outcome.EMERGENCY in run.state.outcomes
        [message] = await store.records.open_messages(example_practice().id)
        assert message.urgency == "urgent"
        assert message.reason == "URGENT: I knocked out a tooth playing hockey"
        assert message.callback_number == "+14144007103"
        assert any("hold it by the crown" in said for said in run.said)  # the practice's advice
        assert any("soonest urgent visits" in said for said in run.said)
        assert await active_appointments(store, ANN) == []  # "no thanks": nothing booked
    finally:
        await store.close()


async def test_a_life_threatening_emergency_is_told_to_call_the_emergency_number(tmp_path):
    run, store, _, _ = await try_out(tmp_path, "My face is swelling and I can't breathe")
    try:
        [report] = used(run, "report_emergency")
        assert '"kind": "life_threatening"' in report.arguments
        assert run.state.events[0]["detail"] == "life_threatening"
        assert "call 911 right away" in run.said[-1]
        assert await store.count("message") == 0
    finally:
        await store.close()


def test_the_book_is_its_own_never_the_one_database_url_names(tmp_path):
    book = OwnBook(tmp_path / "tryout")
    assert book.url == f"sqlite+aiosqlite:///{tmp_path / 'tryout' / 'book.db'}"
    assert DEFAULT_FOLDER == REPO_ROOT / "var" / "tryout"
    assert banner(example_practice(), book)[1].endswith(f"never DATABASE_URL's): {book.path}")
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'mine.db'}", "postgresql://u:p@db/book"):
        book.check(load_settings(database_url=url))  # another book: fine
    with pytest.raises(TryoutError, match="DATABASE_URL names the try-out's own book"):
        book.check(load_settings(database_url=book.url))


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _counts(url: str, outbox) -> dict[str, int]:
    store = Store(url, outbox=Outbox(outbox))
    try:
        return {kind: await store.count(kind) for kind in ("patient", "appointment", "message")}
    finally:
        await store.close()


def test_the_command_leaves_database_urls_book_untouched_and_books_in_its_own(tmp_path):
    """`uv run agent.py try` as a newcomer types it, lines piped in, with DATABASE_URL naming a
    practice's SQLite book: that book (and its outbox) stay exactly as they were."""
    practice_book = tmp_path / "practice.db"
    practice_url = f"sqlite+aiosqlite:///{practice_book}"
    asyncio.run(upgrade(practice_url))
    before = asyncio.run(_counts(practice_url, tmp_path / "unused"))
    digest, companions = _digest(practice_book), sorted(tmp_path.glob("practice.db*"))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_URL"))}
    env.pop("PROVIDER_FACTORY", None)
    env.update(DATABASE_URL=practice_url, OUTBOX_DIR=str(tmp_path / "outbox"))
    folder = tmp_path / "tryout"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "agent.py"), "try", "--folder", str(folder)],
        input="What are your opening hours?\nbook a cleaning\nAnn Lee, February 29, 1980\n"
        "the first one\ngoodbye\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env: no keys at all
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "STAND-IN" in out[0]
    assert out[1] == "  Its own book (never DATABASE_URL's): tryout/book.db"  # cwd is tmp_path
    greeting = next(i for i, line in enumerate(out) if line.startswith("Receptionist:"))
    assert "Thank you for calling Lakeside Family Dental" in out[greeting]
    assert out.index("You: What are your opening hours?") > greeting  # the greeting came first
    assert any(line.startswith(f"Receptionist: {LABEL} Our opening hours") for line in out)
    assert any(line.startswith(f"Receptionist: {LABEL} You're booked") for line in out)
    assert "Traceback" not in result.stderr
    # DATABASE_URL's book: not a byte changed, no new companion file, nothing in its outbox.
    assert _digest(practice_book) == digest
    assert sorted(tmp_path.glob("practice.db*")) == companions
    assert not (tmp_path / "outbox").exists()
    assert asyncio.run(_counts(practice_url, tmp_path / "unused")) == before
    # The try-out's own: owner-only, migrated, the demo patients and the booking.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "book.db").stat().st_mode) == 0o600
    own = asyncio.run(_counts(f"sqlite+aiosqlite:///{folder / 'book.db'}", folder / "outbox"))
    assert own == {"patient": 4, "appointment": 1, "message": 0}
