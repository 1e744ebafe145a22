"""Reading what staff typed: every field bounded and cleaned the way callers' words are.

Free text (names, reasons, notes) goes through `clean_free_text`, the same intake guard as the
agent's, so one rule decides what the book may hold whoever typed it. Problems raise `FormError`
with a sentence for the page; nothing typed is ever echoed into a URL or a log.
"""

from __future__ import annotations

from datetime import date, datetime, time

from starlette.datastructures import FormData

from receptionist.domain.text import clean_free_text


class FormError(ValueError):
    """A field the page cannot use; the message says what to type instead."""


def field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def free_text(form: FormData, name: str, *, limit: int, label: str, required: bool = True) -> str:
    value = clean_free_text(field(form, name), limit=limit)
    if required and len(value) < 2:
        raise FormError(f"{label} is missing.")
    return value


def day(value: str, label: str = "The date") -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{label} is not a date: pick one, or type YYYY-MM-DD.") from None


def optional_day(value: str, label: str = "The date") -> date | None:
    return day(value, label) if value.strip() else None


def clock_time(value: str, label: str) -> time | None:
    if not value.strip():
        return None
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{label} is not a time: type HH:MM, e.g. 12:30.") from None


def moment(value: str) -> datetime:
    """A time the page offered (ISO with its UTC offset, as rendered)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FormError("That time was not understood: choose one of the times shown.") from None
    if parsed.tzinfo is None:
        raise FormError("That time was not understood: choose one of the times shown.")
    return parsed


def birth_date(value: str, *, today: date) -> date:
    born = day(value, "The date of birth")
    if born > today:
        raise FormError("The date of birth is in the future.")
    if born.year < 1900:
        raise FormError("The date of birth is before 1900: check the year.")
    return born
