"""Keypad (DTMF) input: `0` reaches a human at any moment; a language's digit (`2` for
Spanish, as the greeting offers) switches the call's language; otherwise digits the agent asked for.

DTMF arrives from the SIP bridge as RFC 4733 events (`sip_dtmf_received`). The `0` escape hatch
is handled in code, so it works even when speech recognition or the model is failing. While the
agent is collecting digits (a date of birth, a callback number) `0` is just a digit: the entry ends
with `#`, or after a pause, and reaches the model as the caller's next message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("receptionist.call")

# The first digit comes after the agent has asked for the entry and the caller has found the
# keypad; after that, a pause this long ends the entry.
FIRST_DIGIT_SECONDS = 20.0
ENTRY_IDLE_SECONDS = 5.0
MAX_DIGITS = 20

OnOperator = Callable[[], Awaitable[None]]
OnEntry = Callable[[str, str], Awaitable[None]]  # (what, digits)
OnLanguage = Callable[[str], Awaitable[None]]  # (the digit pressed)


class Keypad:
    """The caller's keypad for one call. It exists from the call's start; what `0` and a finished
    entry do is connected once the session that acts on them is built (`connect`)."""

    def __init__(
        self,
        *,
        on_operator: OnOperator | None = None,
        on_entry: OnEntry | None = None,
        on_language: OnLanguage | None = None,
        idle_seconds: float = ENTRY_IDLE_SECONDS,
        first_digit_seconds: float = FIRST_DIGIT_SECONDS,
    ) -> None:
        self._on_operator = on_operator
        self._on_entry = on_entry
        self._on_language = on_language
        self._language_digits: frozenset[str] = frozenset()
        self._idle_seconds = idle_seconds
        self._first_digit_seconds = first_digit_seconds
        self.collecting: str | None = None
        self._digits = ""
        self._idle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    def connect(
        self,
        *,
        on_operator: OnOperator,
        on_entry: OnEntry,
        on_language: OnLanguage | None = None,
        language_digits: frozenset[str] = frozenset(),
    ) -> None:
        """`language_digits` are the digits that choose a language (practice.languages); they
        reach `on_language` only outside an entry, where a digit is otherwise ignored."""
        self._on_operator = on_operator
        self._on_entry = on_entry
        self._on_language = on_language
        self._language_digits = language_digits

    def start(self, what: str) -> None:
        """Treat the next keypresses as an entry of `what` (e.g. date_of_birth)."""
        self.collecting = what
        self._digits = ""
        self._restart_idle(self._first_digit_seconds)

    def press(self, digit: str) -> None:
        if self.collecting is None:
            if digit == "0" and self._on_operator is not None:
                log.info("caller pressed 0: transferring to staff")
                self._spawn(self._on_operator())
            elif digit in self._language_digits and self._on_language is not None:
                self._spawn(self._on_language(digit))
            return
        if digit == "#":
            self._finish()
        elif digit == "*":
            self._digits = ""
            self._restart_idle(self._first_digit_seconds)
        elif digit.isdigit() and len(self._digits) < MAX_DIGITS:
            self._digits += digit
            self._restart_idle()

    def _restart_idle(self, seconds: float | None = None) -> None:
        if self._idle:
            self._idle.cancel()
        wait = self._idle_seconds if seconds is None else seconds
        self._idle = asyncio.get_running_loop().call_later(wait, self._finish)

    def _finish(self) -> None:
        if self._idle:
            self._idle.cancel()
            self._idle = None
        what, digits = self.collecting, self._digits
        self.collecting, self._digits = None, ""
        if what and digits and self._on_entry is not None:
            self._spawn(self._on_entry(what, digits))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Waits for keypad-triggered work (tests, and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
