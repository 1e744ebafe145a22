"""Patient data files are private: the SQLite book, its -wal and -shm files, and the outbox are
readable by their owner only, whatever the umask; a book left readable by others is tightened."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.store import Outbox, Store, upgrade
from tests.store.test_outbox import _down_url

COMPANIONS = ("", "-wal", "-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask022", "umask002", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


async def _write_a_message(url: str, tmp_path: Path) -> Store:
    store = Store(url, outbox=Outbox(tmp_path / "outbox"))
    await store.records.add_message(
        practice_id="lakeside", callback_number="+14145550123", reason="hi"
    )
    return store


async def test_a_new_book_and_its_wal_and_shm_are_owner_only(tmp_path: Path, umask: int):
    book = tmp_path / "data" / "book.db"
    url = f"sqlite+aiosqlite:///{book}"
    await upgrade(url)
    store = await _write_a_message(url, tmp_path)
    try:  # while a connection is open, SQLite keeps its -wal and -shm files beside the book
        files = {end: book.with_name(book.name + end) for end in COMPANIONS}
        assert all(path.exists() for path in files.values()), sorted(os.listdir(book.parent))
        assert {end: oct(mode(path)) for end, path in files.items()} == {
            end: oct(0o600) for end in COMPANIONS
        }
    finally:
        await store.close()


async def test_a_book_readable_by_others_is_tightened_with_a_warning(tmp_path: Path, caplog):
    book = tmp_path / "book.db"
    await upgrade(f"sqlite+aiosqlite:///{book}")
    stale_wal = book.with_name("book.db-wal")
    stale_wal.write_bytes(b"")
    for path in (book, stale_wal):
        path.chmod(0o644)  # as an older version, a copy or a restore left them
    with caplog.at_level(logging.WARNING, logger="receptionist.store.engine"):
        store = await _write_a_message(f"sqlite+aiosqlite:///{book}", tmp_path)
        await store.close()
    assert mode(book) == 0o600
    assert not stale_wal.exists() or mode(stale_wal) == 0o600
    assert "readable by other users" in caplog.text and "now owner-only" in caplog.text
    assert "+14145550123" not in caplog.text


async def test_migrate_creates_the_book_owner_only(tmp_path: Path, umask: int):
    book = tmp_path / "fresh.db"
    await upgrade(f"sqlite+aiosqlite:///{book}")
    assert mode(book) == 0o600


async def test_messages_kept_in_the_outbox_are_owner_only(db_url: str, tmp_path: Path, umask: int):
    outbox = Outbox(tmp_path / "outbox")
    down = Store(_down_url(db_url, tmp_path), outbox=outbox)
    try:
        _, where = await down.records.add_message(
            practice_id="lakeside", callback_number="+14145550123", reason="call me back"
        )
    finally:
        await down.close()
    assert where == "queued"
    assert mode(outbox.directory) == 0o700
    [kept] = outbox.pending()
    assert mode(kept.path) == 0o600
    outbox.quarantine(kept.path)
    assert mode(outbox.directory / "failed") == 0o700
