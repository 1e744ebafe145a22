"""Practice information by topic, read from the profile (not pasted into the prompt)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from livekit.agents import RunContext, function_tool

from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.practice import Practice
from receptionist.domain.spoken import closures_ahead, week_hours

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


def _hours(practice: Practice, today: date, lang: str) -> str:
    closed = closures_ahead(practice.closures, today)
    return week_hours(practice.hours, lang) + (f". Also {closed}." if closed else ".")


def answer(practice: Practice, topic: str, today: date, lang: str = "en") -> str:
    """The facts for a topic, as short sentences the model can speak (hours in the call's
    language, `lang`)."""
    if topic == "hours":
        return _hours(practice, today, lang)
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
    state = ctx.userdata
    state.record(Outcome.INFORMATION)
    return answer(state.practice, topic, state.local_now().date(), state.language)


PRACTICE_INFO_TOOLS = [practice_info]
