"""A real, migrated SQLite book for conversation tests, plus helpers to read tool outputs.

(The store itself is tested on SQLite and PostgreSQL in tests/store; here the point is the whole
call: tool calls through the agent, ending in database state.) Tests get it as the `book`
fixture (tests/conversation/conftest.py): `async with book.call(script) as call:`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from receptionist.domain.practice import Practice
from receptionist.store import Outbox, Store, upgrade
from tests.support.harness import Call, example_practice, receptionist_call
from tests.support.scripted_llm import last_tool_output

ANN = ("Ann Lee", date(1980, 2, 29))
BOB = ("Bob Stone", date(1975, 6, 1))
_TEMPLATE: dict[str, Path] = {}


@asynccontextmanager
async def practice_book(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh migrated SQLite store with Ann and Bob registered."""
    if "db" not in _TEMPLATE:
        template = tmp_path / "book-template.db"  # kept for the rest of this test process
        await upgrade(f"sqlite+aiosqlite:///{template}")
        _TEMPLATE["db"] = template
    path = tmp_path / "book.db"
    shutil.copy(_TEMPLATE["db"], path)
    store = Store(f"sqlite+aiosqlite:///{path}", outbox=Outbox(tmp_path / "outbox"))
    practice = example_practice()
    for name, born in (ANN, BOB):
        await store.appointments.register_patient(practice.id, name, born, "+14144007103")
    try:
        yield store
    finally:
        await store.close()


@dataclass(frozen=True)
class Book:
    """One test's book (Ann and Bob registered) and calls into it: what each conversation test
    used to set up by hand (the store, then a call told to use it)."""

    store: Store
    practice: Practice

    def call(self, llm: Any, **options: Any) -> AbstractAsyncContextManager[Call]:
        """A receptionist call on this book; `options` are `receptionist_call`'s."""
        return receptionist_call(llm, store=self.store, **options)


def option_ids(chat_ctx, tool: str = "find_open_times") -> list[str]:
    return re.findall(r"opt-[0-9a-f]{6}", last_tool_output(chat_ctx, tool))


def first_option(tool: str = "find_open_times"):
    return lambda chat_ctx: option_ids(chat_ctx, tool)[0]


async def book_directly(
    store: Store,
    patient: tuple[str, date],
    start: datetime,
    provider_id: str = "maria-santos",
    visit_type: str = "checkup",
    minutes: int = 60,
    call_id: str = "",
):
    practice = example_practice()
    found = await store.appointments.find_patient(practice.id, *patient)
    return await store.appointments.book(
        practice_id=practice.id,
        provider_id=provider_id,
        patient_id=found.id,
        visit_type=visit_type,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        call_id=call_id,
    )


async def active_appointments(store: Store, patient: tuple[str, date]):
    practice = example_practice()
    found = await store.appointments.find_patient(practice.id, *patient)
    return await store.appointments.upcoming_for_patient(
        found.id, after=datetime(2000, 1, 1).astimezone()
    )


def tool_results(result, name: str) -> list[tuple[str, bool]]:
    """(output, is_error) of each call of tool `name` in a RunResult, in order."""
    calls = {e.item.call_id: e.item.name for e in result.events if e.type == "function_call"}
    return [
        (e.item.output, e.item.is_error)
        for e in result.events
        if e.type == "function_call_output" and calls.get(e.item.call_id) == name
    ]
