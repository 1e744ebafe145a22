"""What callers said is data in every staff view: Rich markup, links and terminal escape sequences
in stored names, reasons and call ids print literally, on SQLite and PostgreSQL, piped or not.

The rows are written straight into the book (as old rows, or values from another intake point,
would be): the views must not rely on intake having cleaned them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from receptionist.domain.practice import load_practice
from receptionist.ops import staff
from receptionist.ops.cli import app
from receptionist.paths import REPO_ROOT
from receptionist.store import Store

PRACTICE = load_practice(REPO_ROOT / "practice.toml")
MARKUP = "[/b] [link=https://evil.example/x]click[/link] [blink red]URGENT[/blink red] [/]"
ESCAPES = "\x1b]0;pwned\x07 \x1b[8mhidden\x1b[0m \x1b[2J"
HOSTILE = f"{MARKUP} {ESCAPES} \u202etxt.exe"
SHORT = "[/b] [link=https://evil.example/x]x[/link] \x1b]0;t\x07 \x1b[5m\u202e"  # fits a name
# What must never reach a terminal: a window title or hyperlink (OSC), hidden or blinking text,
# a screen clear, a bidi override.
FORBIDDEN = ("\x1b]", "\x1b[8m", "\x1b[5m", "\x1b[2J", "\x07", "\u202e")


@pytest.fixture
def views_env(db_url: str, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("PRACTICE_FILE", str(REPO_ROOT / "practice.toml"))
    monkeypatch.setenv("COLUMNS", "1000")
    return db_url


async def _seed(store: Store) -> None:
    now = datetime.now(UTC)
    await store.records.insert_once(
        "message",
        {
            "id": "m-hostile",
            "practice_id": PRACTICE.id,
            "caller_name": f"Ann {SHORT}",
            "callback_number": "+14145550123",
            "reason": f"Call back {HOSTILE}",
            "urgency": "urgent",
            "call_id": "SCL_[/]",
            "created_at": now,
        },
    )
    await store.records.insert_once(
        "call",
        {
            "id": "c-hostile",
            "practice_id": PRACTICE.id,
            "caller": "+14145550123",
            "dialled": "+14145550100",
            "livekit_call_id": "SCL_[/]\x1b]0;t\x07",
            "sip_call_id": "x@y",
            "started_at": now,
            "duration_seconds": 74.0,
            "outcome": "message",
            "outcomes": ["message"],
            "created_at": now,
        },
    )


async def _seed_appointment(store: Store) -> str:
    patient, _ = await store.appointments.register_patient(
        PRACTICE.id, f"Bob {SHORT}", date(1975, 6, 1), "+14145550123"
    )
    day = PRACTICE.now().date() + timedelta(days=3)
    start = datetime.combine(day, datetime.min.time(), tzinfo=PRACTICE.tz).replace(hour=10)
    await store.appointments.book(
        practice_id=PRACTICE.id,
        provider_id=PRACTICE.providers[0].id,
        patient_id=patient.id,
        visit_type=PRACTICE.visit_types[0].id,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    return day.isoformat()


async def _invoke(*args: str) -> Result:
    """The staff command runs its own event loop: run it beside this test's."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def _assert_literal(result: Result, *expected: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output
    for sequence in FORBIDDEN:
        assert sequence not in result.output, f"{sequence!r} reached the terminal"


async def test_messages_print_markup_and_escapes_literally(views_env, store: Store):
    await _seed(store)
    result = await _invoke("messages")
    _assert_literal(result, "[/b]", "[link=https://evil.example/x]", "[blink red]", "+14145550123")
    assert "\\x1b]0;pwned\\x07" in result.output  # shown, escaped, not acted on
    assert "\\u202e" in result.output


async def test_calls_print_a_markup_call_id_literally(views_env, store: Store):
    await _seed(store)
    result = await _invoke("calls")
    _assert_literal(result, "SCL_[/]", "1:14")


async def test_appointments_print_a_hostile_patient_name_literally(views_env, store: Store):
    day = await _seed_appointment(store)
    result = await _invoke("appointments", "--date", day)
    _assert_literal(result, "Bob [/b]", "[link=https://evil.example/x]", "booked")


async def test_on_a_colour_terminal_only_our_own_styles_are_sent(
    views_env, store: Store, monkeypatch
):
    # A real terminal gets colours: the urgent cell is red, but nothing a caller said becomes a
    # link, a title, hidden or blinking text.
    await _seed(store)
    monkeypatch.setattr(staff, "console", Console(force_terminal=True, color_system="standard"))
    for view in ("messages", "calls"):
        result = await _invoke(view)
        _assert_literal(result, "[link=https://evil.example/x]" if view == "messages" else "[/]")
    assert "\x1b[31m" in (await _invoke("messages")).output  # "urgent" in red: ours, kept


async def test_well_formed_markup_and_escapes_neither_style_nor_act(views_env, store: Store):
    # Markup that parses (so nothing crashes) must still not become a link or blinking text,
    # and escape sequences must not reach the terminal.
    await store.records.add_message(
        practice_id=PRACTICE.id,
        callback_number="+14145550123",
        caller_name="Ann Lee",
        reason="[link=https://evil.example/x]click[/link] [blink red]NOW[/blink red] \x1b]0;t\x07",
    )
    result = await _invoke("messages")
    _assert_literal(result, "[link=https://evil.example/x]click[/link]", "[blink red]NOW")
