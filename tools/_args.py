"""Argument checks the tools share, and the lines they show the model.

Checks raise `ToolError` with a message that tells the model what to ask the caller or what to
call instead: the model reads these, the caller never does.
"""

from __future__ import annotations

import re
from datetime import date

from livekit.agents.llm import ToolError

from receptionist.appointments import Slot
from receptionist.call.state import CallState
from receptionist.domain.languages import DEFAULT
from receptionist.domain.phone import UNKNOWN, normalize
from receptionist.domain.spoken import read_date, spoken_time
from receptionist.domain.text import clean_free_text

_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?$")
MAX_TEXT = 500
DB_DOWN = (
    "The appointment book is not reachable right now. Apologise, offer to take a message so the "
    "team can call back, or transfer the caller to the staff."
)


def parse_day(value: str, field: str) -> date | None:
    """`YYYY-MM-DD` or empty (None)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolError(
            f"{field} must be a date written YYYY-MM-DD (got {value[:20]!r}); call current_time "
            "if you need today's date to work it out."
        ) from None


def parse_birth_date(value: str, today: date, lang: str = DEFAULT) -> date:
    """YYYY-MM-DD, or the date as the caller said it in the call's language ("el 3 de marzo de
    1985", "March 3, 1985": domain/spoken.py's `read_date`)."""
    if not (value or "").strip():
        raise ToolError("Ask the caller for their date of birth (month, day and year).")
    born = read_date(value, lang)
    if born is None:
        raise ToolError(
            f"date_of_birth must be a date written YYYY-MM-DD (got {value[:20]!r}): ask the "
            "caller for the day, the month and the year if one is missing."
        )
    if born > today or born.year < today.year - 120:
        raise ToolError(
            "That date of birth is not possible. Ask the caller to say it again: month, day, year."
        )
    return born


def clean_name(value: str) -> str:
    # Cleaned to one character over the limit, so a name that is too long is refused, not cut.
    name = clean_free_text(value, limit=81)
    if len(name) > 80 or not _NAME.match(name) or len(name.split()) < 2:
        raise ToolError(
            "Ask for the caller's first and last name (letters only), and have them spell it if "
            "unsure."
        )
    return name


def clean_text(value: str, field: str, *, minimum: int = 3) -> str:
    text = clean_free_text(value, limit=MAX_TEXT)
    if len(text) < minimum:
        raise ToolError(f"{field} is missing: ask the caller briefly what it is about.")
    return text


def callback_number(state: CallState, given: str) -> str:
    """The number the caller gave (read in the practice's region), else the one they call from."""
    number = normalize(given, state.practice.region) if given.strip() else state.info.caller
    if number == UNKNOWN:
        raise ToolError("Ask for the best callback number, with the area code, and repeat it back.")
    return number


def describe_options(state: CallState, slots: list[Slot]) -> str:
    """Registers slots as this call's offers; lines the model can read from (ids not to be said)."""
    practice = state.practice
    today = state.local_now().date()
    return "\n".join(
        f"{option_id}: {spoken_time(slot.start, practice.tz, today, state.language)} with "
        f"{slot.provider_name}"
        for option_id, slot in state.offers.add(slots)
    )


def require_patient(state: CallState) -> str:
    patient_id = state.identity.patient_id
    if patient_id is None:
        raise ToolError(
            "The caller's identity is not confirmed. Ask for their full name and date of birth "
            "and call verify_patient first. Their phone number is not proof of identity, and you "
            "must never discuss or change anyone else's appointments."
        )
    return patient_id
