"""What the practice's tools share: the call's store, clock and offers, and argument checks.

Argument checks raise `ToolError` with a message that tells the model what to ask the caller or
what to call instead: the model reads these, the caller never does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from livekit.agents import RunContext
from livekit.agents.llm import ToolError

from receptionist.domain.calls import CallState
from receptionist.domain.practice import Practice
from receptionist.domain.scheduling import Offers, Slot, spoken_time
from receptionist.store import Store
from receptionist.store.shared import shared_store

_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?$")
MAX_TEXT = 500


def state_of(ctx: RunContext[CallState]) -> CallState:
    return ctx.userdata


def practice_of(state: CallState) -> Practice:
    if state.practice is None:
        raise ToolError("The practice profile is not loaded: transfer the caller to the staff.")
    return state.practice


async def store_of(state: CallState) -> Store:
    if state.store is None:
        state.store = await shared_store()
    return state.store


@dataclass
class BookingNotes:
    """What the booking tools remember within one call beyond `CallState`'s fields.

    - `next_ref`: appointment refs (`appt-N`) are numbered once per call and never reused, so a
      ref the model kept from an earlier listing can never point at a different appointment.
    - `policy_told`: appointment id -> the reply in which the model was given its cancellation
      policy; a confirmed cancel needs it, from an earlier reply (the caller has answered since).
    - `names_tried`: name keys whose identity check failed or that were registered in this call
      (another registration of the same name with a new date of birth is a guess, not a patient).
    """

    next_ref: int = 1
    policy_told: dict[str, str] = field(default_factory=dict)
    names_tried: set[str] = field(default_factory=set)


def notes_of(state: CallState) -> BookingNotes:
    if state.booking_notes is None:
        state.booking_notes = BookingNotes()
    return state.booking_notes


def offers_of(state: CallState) -> Offers:
    if state.offers is None:
        state.offers = Offers()
    return state.offers


def local_now(state: CallState) -> datetime:
    return state.now().astimezone(practice_of(state).tz)


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


def parse_birth_date(value: str, today: date) -> date:
    born = parse_day(value, "date_of_birth")
    if born is None:
        raise ToolError("Ask the caller for their date of birth (month, day and year).")
    if born > today or born.year < today.year - 120:
        raise ToolError(
            "That date of birth is not possible. Ask the caller to say it again: month, day, year."
        )
    return born


def clean_name(value: str) -> str:
    name = " ".join((value or "").split())
    if len(name) > 80 or not _NAME.match(name) or len(name.split()) < 2:
        raise ToolError(
            "Ask for the caller's first and last name (letters only), and have them spell it if "
            "unsure."
        )
    return name


def clean_text(value: str, field: str, *, minimum: int = 3) -> str:
    text = " ".join((value or "").split())
    if len(text) < minimum:
        raise ToolError(f"{field} is missing: ask the caller briefly what it is about.")
    return text[:MAX_TEXT]


def describe_options(state: CallState, slots: list[Slot]) -> str:
    """Registers slots as this call's offers; lines the model can read from (ids not to be said)."""
    practice = practice_of(state)
    today = local_now(state).date()
    lines = [
        f"{option_id}: {spoken_time(slot.start, practice.tz, today)} with {slot.provider_name}"
        for option_id, slot in offers_of(state).add(slots)
    ]
    return "\n".join(lines)


def require_patient(state: CallState) -> str:
    if state.patient_id is None:
        raise ToolError(
            "The caller's identity is not confirmed. Ask for their full name and date of birth "
            "and call verify_patient first. Their phone number is not proof of identity, and you "
            "must never discuss or change anyone else's appointments."
        )
    return state.patient_id
