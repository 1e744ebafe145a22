"""Emergencies: life-threatening -> the emergency number; urgent dental -> a person, else the
soonest urgent visit. The staff get an urgent note with the caller's number; when the number is
withheld (or the note could not be saved) the model is told to ask for a number and take the
message itself, and never promises a callback nobody can make. Never a diagnosis."""

from __future__ import annotations

import logging
from typing import Literal

from livekit.agents import RunContext, function_tool

from receptionist.appointments import Appointments, Refused
from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.phone import UNKNOWN
from receptionist.store import StoreUnavailable
from tools._args import clean_text, describe_options
from tools.messages import save_message

log = logging.getLogger(__name__)


async def _urgent_note(state: CallState, text: str) -> bool:
    """Leaves the staff an urgent note with the caller's number; True if stored or queued.

    Without a number to call back there is no note: the model asks for one instead."""
    caller = state.info.caller
    if caller == UNKNOWN:
        return False
    try:
        await save_message(
            state,
            caller_name=state.identity.patient.full_name if state.identity.patient else "caller",
            reason=f"URGENT: {text}",
            callback_number=caller,
            urgency="urgent",
        )
    except Exception as exc:  # the caller's help comes first; the model offers a message instead
        # Type only: the exception text could carry the caller's number or their words.
        log.warning("urgent note not saved (%s)", type(exc).__name__)
        return False
    return True


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
    state = ctx.userdata
    practice = state.practice
    text = clean_text(summary, "The summary")
    state.record(Outcome.EMERGENCY)
    state.note("emergency", kind)
    number = practice.emergency.number
    if kind == "life_threatening":
        return (
            f"Tell the caller now, calmly: hang up and call {number} right away, or go to the "
            "nearest emergency room. Do not book, transfer or diagnose."
        )
    noted = await _urgent_note(state, text)  # the staff hear about it whatever happens next
    if noted:
        callback = ""
        promise = "say the team has an urgent note to call them back"
    elif state.info.caller == UNKNOWN:
        callback = (
            " We have no number to call them back: ask for the best callback number and call "
            "take_message with urgency urgent."
        )
        promise = (
            "ask for their callback number and call take_message with urgency urgent so the "
            "team calls back"
        )
    else:
        callback = " The note for the staff was not saved: call take_message with urgency urgent."
        promise = "call take_message with urgency urgent so the team calls back"
    guidance = (
        f"Share this guidance: {practice.emergency.guidance} "
        if practice.emergency.guidance
        else ""
    )
    options = ""
    if practice.emergency.visit_type:
        try:
            slots = await Appointments(state.appointment_book, practice).find_times(
                practice.emergency.visit_type,
                now=state.now(),
                patient_id=state.identity.patient_id,  # a known caller: none of her own times
            )
            if slots:
                options = "\nSoonest urgent visits (never say the ids):\n" + describe_options(
                    state, slots
                )
        except (Refused, StoreUnavailable):
            pass
    staffed = practice.is_open(state.now()) or bool(practice.transfers.after_hours)
    if staffed and state.transfer_target:
        return (
            f"{guidance}Then call transfer_to_staff now so a person can help. If the transfer "
            f"fails, offer the soonest urgent visit.{callback}{options}"
        )
    return (
        f"{guidance}Nobody can take a call now. Offer the soonest urgent visit, and {promise}. "
        f"If it gets worse, call {number}.{options}"
    )


EMERGENCY_TOOLS = [report_emergency]
