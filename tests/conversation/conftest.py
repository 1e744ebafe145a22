"""Fixtures for conversation tests: the practice's book every booking call runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conversation.book_support import Book, practice_book
from tests.support.harness import example_practice


@pytest.fixture
async def book(tmp_path: Path) -> AsyncIterator[Book]:
    """A fresh migrated SQLite book with Ann and Bob registered (closed after the test)."""
    async with practice_book(tmp_path) as store:
        yield Book(store, example_practice())
