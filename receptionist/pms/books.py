"""Each location's book, chosen by `[practice.book]`: the built-in one or the practice's PMS.

Built once per process (`Books.build`, in the worker's prewarm and by the tests), because an
Open Dental or NexHealth book holds a connection pool and a mirror (and NexHealth's bearer
token) that every call at that location shares.
The built-in book is the store's `store.appointments`, exactly as before for practices that
choose it.
"""

from __future__ import annotations

from collections.abc import Iterable

from receptionist.appointments.book import Book
from receptionist.domain.books import BookKind
from receptionist.domain.practice import Practice
from receptionist.pms.nexhealth.book import NexHealthBook
from receptionist.pms.nexhealth.client import NexHealthClient
from receptionist.pms.opendental.book import OpenDentalBook
from receptionist.pms.opendental.client import OpenDentalClient
from receptionist.settings import Settings
from receptionist.store import Store

OPENDENTAL_KEYS = ("OPENDENTAL_DEVELOPER_KEY", "OPENDENTAL_CUSTOMER_KEY")


def key_problems(settings: Settings, practices: Iterable[Practice]) -> list[str]:
    """The keys a location on Open Dental or NexHealth cannot run without, named with where to
    get them."""
    practices = list(practices)
    problems = _nexhealth_key_problems(settings, practices)
    on_od = [p.id for p in practices if p.book.kind is BookKind.OPENDENTAL]
    if not on_od:
        return problems
    where = {
        "OPENDENTAL_DEVELOPER_KEY": "Open Dental's vendor relations (the developer portal)",
        "OPENDENTAL_CUSTOMER_KEY": "the office's Open Dental: Setup > Advanced Setup > API",
    }
    return problems + [
        f"{name} is not set, and {', '.join(on_od)} keep their schedule in Open Dental "
        f'([practice.book] kind = "opendental"). Get it from {where[name]}, then put it in '
        ".env (see .env.example) or export it."
        for name in OPENDENTAL_KEYS
        if not getattr(settings, name.lower()).get_secret_value()
    ]


def _nexhealth_key_problems(settings: Settings, practices: list[Practice]) -> list[str]:
    on_nh = [p.id for p in practices if p.book.kind is BookKind.NEXHEALTH]
    if not on_nh or settings.nexhealth_api_key.get_secret_value():
        return []
    return [
        f"NEXHEALTH_API_KEY is not set, and {', '.join(on_nh)} keep their schedule in their PMS "
        'through NexHealth ([practice.book] kind = "nexhealth"). Create the production key in '
        "NexHealth's developer portal (API Key page), then put it in .env (see .env.example) "
        "or export it."
    ]


def nexhealth_client(settings: Settings, practice: Practice) -> NexHealthClient:
    """The client for a NexHealth location, from the settings a practice sets."""
    assert practice.book.nexhealth is not None
    return NexHealthClient(
        practice.book.nexhealth,
        api_key=settings.nexhealth_api_key.get_secret_value(),
        base_url=settings.nexhealth_base_url,
    )


class Books:
    """The book of every location, by practice id."""

    def __init__(self, store: Store, books: dict[str, Book] | None = None) -> None:
        self.store = store
        self._books = books or {}
        self._remote: list[OpenDentalBook | NexHealthBook] = []

    @classmethod
    def build(cls, settings: Settings, store: Store, practices: Iterable[Practice]) -> Books:
        books = cls(store)
        for practice in practices:
            if practice.book.kind is BookKind.OPENDENTAL and practice.book.opendental:
                client = OpenDentalClient(
                    practice.book.opendental,
                    developer_key=settings.opendental_developer_key.get_secret_value(),
                    customer_key=settings.opendental_customer_key.get_secret_value(),
                )
                book = OpenDentalBook(practice, client, store.appointments.get_patient)
                books._books[practice.id] = book
                books._remote.append(book)
            elif practice.book.kind is BookKind.NEXHEALTH and practice.book.nexhealth:
                nexhealth = NexHealthBook(
                    practice, nexhealth_client(settings, practice), store.appointments.get_patient
                )
                books._books[practice.id] = nexhealth
                books._remote.append(nexhealth)
        return books

    def for_practice(self, practice: Practice) -> Book:
        return self._books.get(practice.id) or self.store.appointments

    async def aclose(self) -> None:
        for book in self._remote:
            await book.aclose()
