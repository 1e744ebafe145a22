"""The times offered in one call, by opaque option id: the only times that call can book.

An option id (`opt-3fa9c2`) is valid only within the call that was offered it, so the model cannot
invent a time, and the caller never has to hear an id. Ids are canonical: surrounding spaces from
the model are ignored everywhere an id is looked up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Slot:
    provider_id: str
    provider_name: str
    visit_type: str
    start: datetime  # aware, in the practice's zone
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()


def canonical(option_id: str) -> str:
    return (option_id or "").strip()


class Offers:
    """The slots offered so far in one call, by opaque option id."""

    def __init__(self) -> None:
        self._slots: dict[str, Slot] = {}
        self._booked: set[str] = set()
        self._under_way = 0  # bookings started and not yet settled (awaiting the database)

    def add(self, slots: Iterable[Slot]) -> list[tuple[str, Slot]]:
        added = []
        for slot in slots:
            option_id = next((k for k, v in self._slots.items() if v == slot), None)
            if option_id is None:
                option_id = "opt-" + secrets.token_hex(3)
                self._slots[option_id] = slot
            added.append((option_id, slot))
        return added

    def get(self, option_id: str) -> Slot | None:
        return self._slots.get(canonical(option_id))

    def discard(self, option_id: str) -> None:
        self._slots.pop(canonical(option_id), None)

    def mark_booked(self, option_id: str) -> None:
        """Booked in this call: no longer on offer, remembered so a repeat is recognised."""
        self.discard(option_id)
        self._booked.add(canonical(option_id))

    @property
    def booked(self) -> int:
        """How many offered times this call has booked."""
        return len(self._booked)

    @property
    def claimed(self) -> int:
        """Booked in this call, plus bookings under way: what the per-call cap counts."""
        return len(self._booked) + self._under_way

    @contextmanager
    def booking(self) -> Iterator[None]:
        """A booking under way: counted in `claimed` until it is settled (booked or refused).

        Enter it right after checking `claimed`, with no await in between: one turn's tool calls
        run concurrently, and each must see the bookings the others have started."""
        self._under_way += 1
        try:
            yield
        finally:
            self._under_way -= 1

    def was_booked(self, option_id: str) -> bool:
        return canonical(option_id) in self._booked

    def __len__(self) -> int:
        return len(self._slots)
