"""Folders and files that look fine but lose or crash: an OUTBOX_DIR that is a file or cannot be
written, and a damaged SQLite book. Each is named with its fix, never a raw OSError or a driver
error, and never "0 still waiting"."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app
from receptionist.ops.startup import startup_problems
from receptionist.store import SchemaError, check_schema, upgrade
from receptionist.store.outbox import Outbox, OutboxError

RECORD = {
    "id": "m-1",
    "practice_id": "lakeside",
    "callback_number": "+14145550123",
    "reason": "call me back",
    "created_at": datetime(2027, 3, 1, tzinfo=UTC).isoformat(),
}


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "outbox"
    path.write_text("not a folder")
    return path


def test_put_into_a_file_raises_an_outbox_error_naming_the_folder_and_fix(a_file: Path):
    with pytest.raises(OutboxError) as err:
        Outbox(a_file).put("message", RECORD)
    text = str(err.value)
    assert str(a_file) in text and "OUTBOX_DIR" in text and "is a file, not a folder" in text
    assert "+14145550123" not in text and "call me back" not in text  # no patient data


def test_put_below_a_file_raises_an_outbox_error(a_file: Path):
    with pytest.raises(OutboxError, match="OUTBOX_DIR.*cannot be created"):
        Outbox(a_file / "inner").put("message", RECORD)


def test_put_into_a_folder_that_cannot_be_written_raises_an_outbox_error(tmp_path, monkeypatch):
    # (Tests run as root, who may write anywhere: the refusal is simulated.)
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("receptionist.store.outbox.tempfile.mkstemp", refuse)
    outbox = Outbox(tmp_path / "outbox")
    with pytest.raises(OutboxError, match=r"could not keep a message record \(Permission denied\)"):
        outbox.put("message", RECORD)
    with pytest.raises(OutboxError, match=r"cannot be written to \(Permission denied\)"):
        outbox.check()


def test_pending_on_a_file_is_an_error_not_an_empty_outbox(a_file: Path):
    with pytest.raises(OutboxError, match="is a file, not a folder"):
        Outbox(a_file).pending()
    assert Outbox(a_file.parent / "never-made").pending() == []  # nothing kept yet: empty


def test_check_creates_a_missing_folder_owner_only(tmp_path: Path):
    folder = tmp_path / "spool" / "outbox"
    Outbox(folder).check()
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
    assert os.listdir(folder) == []  # the probe is gone


def test_flush_outbox_fails_clearly_when_the_outbox_is_a_file(db_url: str, a_file, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("OUTBOX_DIR", str(a_file))
    monkeypatch.setenv("COLUMNS", "1000")
    result = CliRunner().invoke(app, ["flush-outbox"])
    assert result.exit_code == 1
    assert "still waiting" not in result.output
    assert "OUTBOX_DIR" in result.output and "is a file, not a folder" in result.output


# --- a damaged SQLite book ------------------------------------------------------------------------


@pytest.fixture
def damaged_book(tmp_path: Path, monkeypatch) -> Path:
    book = tmp_path / "book.db"
    book.write_bytes(b"this is not a SQLite database, it is a damaged file" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{book}")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "1000")
    return book


def _says_damaged(text: str, book: Path) -> None:
    text = " ".join(text.split())
    assert "is damaged" in text and str(book) in text
    assert "not a connection problem" in text and "backup" in text
    assert "server is running" not in text


async def test_check_schema_says_a_damaged_file_is_damaged(damaged_book: Path):
    with pytest.raises(SchemaError) as err:
        await check_schema(f"sqlite+aiosqlite:///{damaged_book}")
    _says_damaged(str(err.value), damaged_book)


async def test_a_truncated_book_is_damaged_too(tmp_path: Path):
    book = tmp_path / "book.db"
    await upgrade(f"sqlite+aiosqlite:///{book}")
    data = book.read_bytes()
    book.write_bytes(data[:100] + b"\xff" * (len(data) - 100))  # header kept, pages garbage
    with pytest.raises(SchemaError) as err:
        await check_schema(f"sqlite+aiosqlite:///{book}")
    _says_damaged(str(err.value), book)


def test_migrate_says_a_damaged_file_is_damaged(damaged_book: Path):
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    _says_damaged(result.output, damaged_book)
    assert "DatabaseError" not in result.output and "sqlalche.me" not in result.output


def test_start_up_says_a_damaged_file_is_damaged(damaged_book: Path, monkeypatch):
    monkeypatch.chdir(damaged_book.parent)
    [problem] = [p for p in startup_problems("dev") if "SQLite" in p]
    _says_damaged(problem, damaged_book)


def test_the_views_say_a_damaged_file_is_damaged(damaged_book: Path):
    result = CliRunner().invoke(app, ["messages"])
    assert result.exit_code == 1
    _says_damaged(result.output, damaged_book)


async def test_an_unreachable_postgresql_still_reads_as_a_connection_problem():
    with pytest.raises(SchemaError, match="server is running"):
        await asyncio.wait_for(
            check_schema("postgresql+asyncpg://postgres@127.0.0.1:9/nothing"), timeout=30
        )
