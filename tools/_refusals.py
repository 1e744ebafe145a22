"""A refusal from the appointments service, as coaching for the model: what the rule is, and what
to ask, offer or call next. Only tools name tools, so only this module words a refusal that way;
the staff pages and the reminder call phrase the same `Refusal` in their own modules."""

from __future__ import annotations

from livekit.agents.llm import ToolError

from receptionist.appointments import Reason, Refusal
from receptionist.call.state import CallState
from tools._args import describe_options

NOT_OFFERED = (
    "That is not a time offered in this call. Call find_open_times and use one of its option ids."
)
NOT_BOOKED = "That appointment is no longer booked. Call list_appointments."


def coaching(state: CallState, refusal: Refusal) -> str:
    """The line the model reads for `refusal` (fresh options become this call's offers)."""
    r = refusal
    match r.reason:
        case Reason.TAKEN | Reason.TOO_SOON | Reason.NO_LONGER_OPEN:
            return _gone(state, r)
        case Reason.NOT_OFFERED:
            return NOT_OFFERED
        case Reason.ALREADY_BOOKED:
            return (
                "That time is already booked in this call (see the earlier confirmation); do not "
                "book it again. Confirm it to the caller, or call find_open_times for another "
                "visit."
            )
        case Reason.WRONG_VISIT_TYPE:
            return (
                "That option is for a different visit type: call find_open_times with visit type "
                f"{r.visit_type!r} to move this appointment."
            )
        case Reason.NOT_BOOKED:
            return NOT_BOOKED
        case Reason.POLICY_NOT_HEARD:
            return (
                "The caller has not heard the cancellation policy for this appointment yet. Call "
                "cancel_appointment without caller_confirmed to get the policy, tell it to the "
                "caller and wait for their answer; only then call again with caller_confirmed "
                "true."
            )
    return rule(r) + "."


def rule(r: Refusal) -> str:
    """A rule the caller's request runs into, and what to offer instead (no ending stop)."""
    match r.reason:
        case Reason.UNKNOWN_VISIT_TYPE:
            return f"unknown visit type {r.asked!r}; use one of: {', '.join(r.choices)}"
        case Reason.UNKNOWN_PROVIDER:
            return f"unknown provider {r.asked!r}; choose one of: {', '.join(r.choices)}"
        case Reason.PROVIDER_CANNOT:
            return (
                f"{r.provider} does not do {r.visit} visits; leave the provider empty or "
                f"choose one of: {', '.join(r.choices) or 'nobody'}"
            )
        case Reason.DATE_PAST:
            return f"{r.day} is in the past (today is {r.today}): ask for a later date"
        case Reason.DATES_SWAPPED:
            return "date_to is before date_from: swap them or give one date"
        case Reason.BEYOND_HORIZON:
            return f"we book at most {r.count} days ahead (until {r.day}): ask for an earlier date"
        case Reason.NEW_PATIENTS_ONLY:
            return (
                f"{r.visit} is only for new patients; this caller is an existing patient, so "
                "offer a check-up or treatment visit instead"
            )
        case Reason.EXISTING_PATIENTS_ONLY:
            return (
                f"{r.visit} is for existing patients; a new patient books the new patient exam "
                "first"
            )
        case Reason.CALL_LIMIT:
            return (
                f"this call has already booked {r.count} visits, the most one call can book; "
                "offer to take a message so the team can help with more"
            )
        case Reason.UPCOMING_LIMIT:
            return (
                f"this patient already has {r.count} upcoming visits, the most the practice "
                "books ahead for one patient; offer to move one of them or take a message for "
                "the team"
            )
        case Reason.SECOND_NEW_PATIENT_VISIT:
            return (
                f"this patient already has a {r.visit} booked; a second one is not needed, so "
                "offer to move that one instead"
            )
        case Reason.PATIENT_BUSY:
            return "this patient already has a visit at that time; offer one of the other times"
    return f"that cannot be done ({r.reason.value})"


def _gone(state: CallState, r: Refusal) -> str:
    if r.reason is Reason.TOO_SOON:
        cause = (
            "That time is now too soon to book: this visit needs more notice than is left. "
            "Nobody else took it; explain that"
        )
    else:
        cause = "That time was just taken by someone else. Apologise"
    if not r.fresh:
        return f"{cause}, and say nothing else is open soon; offer other dates or a message."
    return (
        f"{cause}, and offer these instead (never say the ids):\n"
        f"{describe_options(state, list(r.fresh))}"
    )


def refused(state: CallState, refusal: Refusal) -> ToolError:
    """The `ToolError` a tool raises for a refusal."""
    return ToolError(coaching(state, refusal))
