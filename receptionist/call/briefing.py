"""What a staff member hears before taking a held caller, and how their answer is read.

The briefing is built from the call's state, not by the model: who is calling (the verified
patient, or that nobody is verified and the number they call from), what they want (the reason
the model gave the transfer tool, or that they pressed 0), and what the assistant already did
(booked, moved, cancelled, took a message, emergency guidance). The answer is read in code too:
yes / 1 connects, no / 2 declines, anything else is asked again.
"""

from __future__ import annotations

import re
from enum import StrEnum
from string import Template

from babel import Locale

from receptionist.call.state import CallState
from receptionist.domain.languages import catalogue
from receptionist.domain.phone import is_e164
from receptionist.domain.spoken import spoken_number

KEYPAD_REASON = "pressed 0 to reach the team"
QUESTION = "Would you like to take the call? Say yes or press 1 to connect, or press 2 to decline."
ASK_AGAIN = "Sorry, I didn't catch that. Say yes or press 1 to connect, or press 2 to decline."

# What each step in the call's timeline means to a colleague, with its detail after it.
DONE = {
    "booked": "booked {}",
    "rescheduled": "moved an appointment {}",
    "cancelled": "cancelled the appointment {}",
    "message_taken": "took a message",
    "emergency": "gave emergency guidance",
}
YES_WORDS = {
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "connect", "through", "put",
    "take", "ahead", "fine", "absolutely",
}  # fmt: skip
NO_WORDS = {
    "no", "nope", "not", "can't", "cannot", "busy", "decline", "later", "sorry", "unable",
    "don't", "won't",
}  # fmt: skip


class StaffAnswer(StrEnum):
    CONNECT = "connect"
    DECLINE = "decline"


def briefing(state: CallState, reason: str) -> str:
    """The summary the staff member hears, then the question."""
    want = reason.strip().rstrip(".") or KEYPAD_REASON
    return (
        f"Hello, this is the assistant at {state.practice.name}. I have a caller on hold: "
        f"{who(state)}. They {_wants(want)}. {done(state)} {caller_language(state)}{QUESTION}"
    )


def caller_language(state: CallState) -> str:
    """ "The caller speaks Spanish, ...": said when the caller chose a language other than the
    practice's default (the staff's), in the default language, so whoever answers can decide."""
    default = state.practice.default_language.code
    if state.language == default:
        return ""
    name = Locale.parse(state.language).get_display_name(default) or state.language
    return Template(catalogue(default).briefing["caller_language"]).substitute(language=name) + " "


def who(state: CallState) -> str:
    """The caller as a colleague needs to know them: a verified patient, or who they might be."""
    patient = state.identity.patient
    if patient is not None:
        return f"{patient.full_name}, identity confirmed with their date of birth"
    number = state.info.caller
    if is_e164(number):
        return f"not identified, calling from {spoken_number(number, state.practice.region)}"
    return "not identified, from a withheld number"


def done(state: CallState) -> str:
    """What the assistant already did on this call, in one sentence."""
    steps = [DONE[e["kind"]].format(e["detail"]).strip() for e in state.events if e["kind"] in DONE]
    if not steps:
        return "Nothing has been done on the call yet."
    return "I have already " + _joined(list(dict.fromkeys(steps))) + "."


def read_answer(text: str) -> StaffAnswer | None:
    """yes -> connect, no -> decline; both or neither -> None (ask again)."""
    words = set(re.findall(r"[a-z']+", text.lower().replace("’", "'")))
    yes, no = bool(words & YES_WORDS), bool(words & NO_WORDS)
    if yes == no:
        return None
    return StaffAnswer.CONNECT if yes else StaffAnswer.DECLINE


def read_key(digit: str) -> StaffAnswer | None:
    return {"1": StaffAnswer.CONNECT, "2": StaffAnswer.DECLINE}.get(digit)


def _wants(want: str) -> str:
    if want == KEYPAD_REASON:
        return want
    return f"need help with: {want}"


def _joined(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
