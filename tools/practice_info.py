"""Practice information by topic, read from the profile (not pasted into the prompt)."""

from __future__ import annotations

from typing import Literal

from livekit.agents import RunContext, function_tool

from receptionist.domain.calls import CallState, Outcome
from receptionist.domain.practice import WEEKDAYS, Practice
from tools._shared import local_now, practice_of, state_of

Topic = Literal[
    "hours",
    "address_parking",
    "insurance",
    "services",
    "payment",
    "new_patients",
    "cancellation",
    "providers",
]


def _clock(t) -> str:
    return t.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ")


def _hours(practice: Practice, state: CallState) -> str:
    days = []
    for index, day in enumerate(WEEKDAYS):
        spans = practice.hours.on(index)
        text = " and ".join(f"{_clock(s.start)} to {_clock(s.end)}" for s in spans) or "closed"
        days.append(f"{day.capitalize()}: {text}")
    today = local_now(state).date()
    upcoming = sorted((c for c in practice.closures if c.last >= today), key=lambda c: c.start)[:3]
    closed = "; ".join(
        f"closed {c.start:%B} {c.start.day}"
        + (f" to {c.last:%B} {c.last.day}" if c.end else "")
        + f" for {c.reason}"
        for c in upcoming
    )
    return "; ".join(days) + (f". Also {closed}." if closed else ".")


def answer(practice: Practice, state: CallState, topic: str) -> str:
    """The facts for a topic, as short sentences the model can speak."""
    if topic == "hours":
        return _hours(practice, state)
    if topic == "address_parking":
        return f"{practice.address or 'Address not listed.'} {practice.parking}".strip()
    if topic == "insurance":
        accepted = ", ".join(practice.insurance.accepted) or "none listed"
        return f"Plans accepted: {accepted}. {practice.insurance.note}".strip()
    if topic == "services":
        visits = "; ".join(
            f"{v.id}: {v.name}, {v.duration_minutes} minutes"
            + ("" if v.patients.value == "any" else f", {v.patients.value} patients only")
            for v in practice.visit_types
        )
        listed = ", ".join(practice.services)
        return f"Services: {listed}. Bookable visit types: {visits}."
    if topic == "payment":
        return practice.policies.payment or "Ask the staff about payment options."
    if topic == "new_patients":
        return practice.policies.new_patients or "New patients are welcome."
    if topic == "cancellation":
        return practice.policies.cancellation or "No cancellation policy is listed."
    if topic == "providers":
        return "; ".join(f"{p.name} ({p.role}, id {p.id})" for p in practice.providers) or "None."
    raise ValueError(topic)


@function_tool
async def practice_info(ctx: RunContext[CallState], topic: Topic) -> str:
    """Facts about the practice for answering callers' questions.

    Args:
        topic: What the caller asks about.
    """
    state = state_of(ctx)
    state.record(Outcome.INFORMATION)
    return answer(practice_of(state), state, topic)


PRACTICE_INFO_TOOLS = [practice_info]
