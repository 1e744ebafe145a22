"""Emergencies: life-threatening -> the emergency number; urgent dental -> a person, else the
soonest urgent visit. A note always goes to the staff. Never a diagnosis."""

from __future__ import annotations

from typing import Literal

from livekit.agents import RunContext, function_tool

from receptionist.calls import CallState, Outcome
from receptionist.scheduling import SchedulingError, find_open_times
from receptionist.store import StoreUnavailable
from tools._shared import clean_text, describe_options, practice_of, state_of, store_of
from tools.messages import save_message


@function_tool
async def report_emergency(
    ctx: RunContext[CallState],
    kind: Literal["life_threatening", "urgent_dental"],
    summary: str,
) -> str:
    """Handle an emergency. life_threatening: trouble breathing or swallowing, uncontrolled
    bleeding, swelling spreading to the eye or neck, serious injury. urgent_dental: severe pain,
    a knocked-out or broken tooth, dental swelling.

    Args:
        kind: Which kind of emergency.
        summary: What the caller described, in their words; no diagnosis.
    """
    state = state_of(ctx)
    practice = practice_of(state)
    text = clean_text(summary, "The summary")
    state.record(Outcome.EMERGENCY)
    number = practice.emergency.number
    if kind == "life_threatening":
        return (
            f"Tell the caller now, calmly: hang up and call {number} right away, or go to the "
            "nearest emergency room. Do not book, transfer or diagnose."
        )
    try:  # the staff hear about it whatever happens next
        caller = state.info.caller
        await save_message(
            state,
            caller_name=state.patient_name or "caller",
            reason=f"URGENT: {text}",
            callback_number=caller if caller != "unknown" else "unknown",
            urgency="urgent",
        )
    except Exception:  # the message is a courtesy; the caller's help comes first
        pass
    guidance = (
        f"Share this guidance: {practice.emergency.guidance} "
        if practice.emergency.guidance
        else ""
    )
    options = ""
    if practice.emergency.visit_type:
        try:
            slots = await find_open_times(
                practice, await store_of(state), practice.emergency.visit_type, now=state.now()
            )
            if slots:
                options = "\nSoonest urgent visits (never say the ids):\n" + describe_options(
                    state, slots
                )
        except (SchedulingError, StoreUnavailable):
            pass
    staffed = practice.is_open(state.now()) or bool(practice.transfers.after_hours)
    if staffed and practice.transfer_destination(state.now()):
        return (
            f"{guidance}Then call transfer_to_staff now so a person can help. If the transfer "
            f"fails, offer the soonest urgent visit.{options}"
        )
    return (
        f"{guidance}Nobody can take a call now. Offer the soonest urgent visit, and say the team "
        f"has an urgent note to call back. If it gets worse, call {number}.{options}"
    )


EMERGENCY_TOOLS = [report_emergency]
