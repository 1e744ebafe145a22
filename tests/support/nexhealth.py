"""A NexHealth location for tests: the simulator running, and the example practice pointed at it
the way a practice would be (`[practice.book] kind = "nexhealth"`, the base URL and API key in
the settings), its book built by the production `Books.build`."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from receptionist.domain.practice import Practice, parse_practice
from receptionist.paths import REPO_ROOT
from receptionist.pms.books import Books
from receptionist.pms.nexhealth.book import NexHealthBook
from receptionist.settings import Settings, load_settings
from receptionist.store import Store
from tests.support.nexhealth_sim import API_KEY, LOCATION_ID, SUBDOMAIN, NexHealthSim

# The example practice's providers and visit types, mapped onto the seeded location.
MAPPING: dict[str, Any] = {
    "subdomain": SUBDOMAIN,
    "location_id": LOCATION_ID,
    "providers": {"dr-okafor": 201, "dr-lindqvist": 202, "maria-santos": 203},
    "visit_types": {"checkup": 401, "new-patient": 402, "filling": 403, "emergency": 404},
    "refresh_seconds": 0,  # tests: every search reads NexHealth again (one request)
    "timeout_seconds": 2,
    "confirm_seconds": 1,
    "poll_seconds": 0.05,
    "rate_limit_wait_seconds": 0.5,
}


def nh_practice(**overrides: Any) -> Practice:
    """practice.toml's example with `[practice.book] kind = "nexhealth"`."""
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    data["practice"]["book"] = {"kind": "nexhealth", "nexhealth": {**MAPPING, **overrides}}
    return parse_practice(data)


def nh_settings(base_url: str, api_key: str = API_KEY) -> Settings:
    return load_settings(nexhealth_api_key=api_key, nexhealth_base_url=base_url)


@dataclass
class Location:
    sim: NexHealthSim
    practice: Practice
    books: Books
    book: NexHealthBook
    settings: Settings


@asynccontextmanager
async def nexhealth_location(store: Store, **overrides: Any) -> AsyncIterator[Location]:
    """The seeded simulator and the example practice's book on it, over `store`'s patients."""
    sim = NexHealthSim()
    sim.seed_practice()
    base_url = await sim.start()
    practice = nh_practice(**overrides)
    settings = nh_settings(base_url)
    books = Books.build(settings, store, [practice])
    book = books.for_practice(practice)
    assert isinstance(book, NexHealthBook)
    try:
        yield Location(sim, practice, books, book, settings)
    finally:
        await books.aclose()
        await sim.stop()
