"""An Open Dental office for tests: the simulator running, and the example practice pointed at
it the way a practice would be (`[practice.book]` with the simulator's base URL, the keys in the
settings), its book built by the production `Books.build`."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from receptionist.domain.practice import Practice, parse_practice
from receptionist.paths import REPO_ROOT
from receptionist.pms.books import Books
from receptionist.pms.opendental.book import OpenDentalBook
from receptionist.settings import load_settings
from receptionist.store import Store
from tests.support.opendental_sim import CUSTOMER_KEY, DEV_KEY, OpenDentalSim

# The example practice's providers and visit types, mapped onto the seeded office.
MAPPING: dict[str, Any] = {
    "providers": {"dr-okafor": 1, "dr-lindqvist": 2, "maria-santos": 3},
    "visit_types": {
        "checkup": {"appointment_type": 1, "pattern": "/XXXXXXXXXX/"},
        "new-patient": {"appointment_type": 2},
        "filling": {"appointment_type": 3},
        "emergency": {"appointment_type": 4},
    },
    "refresh_seconds": 0,  # tests: every search reads what changed (one request)
    "schedules_refresh_seconds": 0,
    "timeout_seconds": 2,
}


def od_practice(base_url: str, **overrides: Any) -> Practice:
    """practice.toml's example with `[practice.book] kind = "opendental"` at `base_url`."""
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    opendental = {**MAPPING, "door": "local", "base_url": base_url, **overrides}
    data["practice"]["book"] = {"kind": "opendental", "opendental": opendental}
    return parse_practice(data)


@dataclass
class Office:
    sim: OpenDentalSim
    practice: Practice
    books: Books
    book: OpenDentalBook


@asynccontextmanager
async def opendental_office(store: Store, **overrides: Any) -> AsyncIterator[Office]:
    """The seeded simulator and the example practice's book on it, over `store`'s patients."""
    door = overrides.get("door", "local")
    sim = OpenDentalSim(page_size=100 if door == "remote" else 1000)  # the door's page size
    sim.seed_practice()
    base_url = await sim.start()
    practice = od_practice(base_url, **overrides)
    settings = load_settings(opendental_developer_key=DEV_KEY, opendental_customer_key=CUSTOMER_KEY)
    books = Books.build(settings, store, [practice])
    book = books.for_practice(practice)
    assert isinstance(book, OpenDentalBook)
    try:
        yield Office(sim, practice, books, book)
    finally:
        await books.aclose()
        await sim.stop()
