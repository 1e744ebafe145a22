"""Booking tools: find open times, confirm who the caller is, book, list, move and cancel.

Thin by design: validate the arguments, call the scheduling domain and the caller's `Identity`,
phrase the result. The rules live there: only times offered in this call can be booked, and
nothing about an appointment is disclosed or changed before the caller's name and date of birth
match a patient.
"""

from __future__ import annotations

import logging
from typing import Literal

from livekit.agents import RunContext, function_tool, llm
from livekit.agents.llm import ToolError

from receptionist.appointments import Appointments, Caller, Refused
from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.identity import IdentityLocked, NoMoreRegistrations
from receptionist.domain.spoken import spoken_time
from receptionist.domain.texts import TextKind
from receptionist.domain.verification import Verdict, Verifier
from receptionist.store import StoreUnavailable
from tools._args import (
    DB_DOWN,
    clean_name,
    describe_options,
    parse_birth_date,
    parse_day,
    require_patient,
)
from tools._args import (
    callback_number as callback_number_of,
)
from tools._refusals import refused

log = logging.getLogger(__name__)

LOCKED = (
    "Identity checks are locked for this call after repeated mismatches. Do not try again and do "
    "not register them; offer to take a message or transfer the caller to the staff."
)
LOCKED_ACROSS_CALLS = (
    "Identity checks for these details are locked after repeated failed attempts. Do not try "
    "again, do not say whether any record exists, and discuss no appointment. Tell the caller "
    "politely that the team will call them back to help, and offer to take a message."
)


def _appointments(state: CallState) -> Appointments:
    return Appointments(state.appointment_book, state.practice)


def _caller(state: CallState, patient_id: str, *, policy_heard: bool = False) -> Caller:
    return Caller(patient_id, state.info.call_id, state.offers, policy_heard=policy_heard)


def _visit_type(state: CallState, value: str) -> str:
    """Accepts a visit type id or name (`checkup`, `Check-up and cleaning`)."""
    visits = state.practice.visit_types
    wanted = (value or "").strip().lower()
    for visit in visits:
        if wanted in (visit.id, visit.name.lower()):
            return visit.id
    loose = [v for v in visits if wanted and wanted in f"{v.id} {v.name.lower()}"]
    if len(loose) == 1:
        return loose[0].id
    choices = "; ".join(f"{v.id} ({v.name}, {v.patients.value} patients)" for v in visits)
    raise ToolError(f"Unknown visit type {value[:40]!r}. Use one of: {choices}.")


@function_tool
async def find_open_times(
    ctx: RunContext[CallState],
    visit_type: str,
    date_from: str = "",
    date_to: str = "",
    part_of_day: Literal["any", "morning", "afternoon", "evening"] = "any",
    provider_id: str = "",
    appointment_ref: str = "",
) -> str:
    """Find up to three open appointment times. Offer only times this returns.

    Args:
        visit_type: A visit type id or name (practice_info "services" lists them).
        date_from: Earliest date, YYYY-MM-DD; empty for today.
        date_to: Latest date, YYYY-MM-DD; empty for about three weeks on.
        part_of_day: Preferred part of the day.
        provider_id: A provider id if the caller asks for someone; else empty.
        appointment_ref: When moving an appointment, its ref from list_appointments; else empty.
    """
    state = ctx.userdata
    visit_id = _visit_type(state, visit_type)
    first, last = parse_day(date_from, "date_from"), parse_day(date_to, "date_to")
    # Once the caller is known, their own visits are left out: never offer a clashing time.
    moving = _appointment_id(state, appointment_ref) if appointment_ref.strip() else None
    try:
        slots = await _appointments(state).find_times(
            visit_id,
            now=state.now(),
            patient_id=state.identity.patient_id,
            moving=moving,
            date_from=first,
            date_to=last,
            part_of_day=part_of_day,
            provider_id=provider_id.strip() or None,
        )
    except Refused as exc:
        raise refused(state, exc.refusal) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    state.note("times_offered", f"{len(slots)} for {visit_id}")
    if not slots:
        return (
            "No open times in that range. Offer to look at later dates or another part of the "
            "day, or to take a message."
        )
    return (
        "Offer these times in words; the option ids are for book_appointment or "
        f"reschedule_appointment only, never say them:\n{describe_options(state, slots)}"
    )


def _verifier(state: CallState) -> Verifier:
    return Verifier(
        state.identity,
        state.store,
        state.practice,
        caller=state.info.caller,
        call_id=state.info.call_id,
        now=state.now(),
    )


def _refuse_if_locked(state: CallState) -> None:
    if state.identity.locked_across_calls:
        raise ToolError(LOCKED_ACROSS_CALLS)
    if state.identity.locked:
        raise ToolError(LOCKED)


@function_tool
async def verify_patient(ctx: RunContext[CallState], full_name: str, date_of_birth: str) -> str:
    """Confirm an existing patient's identity before discussing or changing their appointments.

    Args:
        full_name: The caller's first and last name as they said it.
        date_of_birth: YYYY-MM-DD.
    """
    state = ctx.userdata
    _refuse_if_locked(state)
    name = clean_name(full_name)
    born = parse_birth_date(date_of_birth, state.local_now().date(), state.language)
    try:
        checked = await _verifier(state).verify(name, born)
    except IdentityLocked:
        raise ToolError(LOCKED) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    state.note("identity_checked", checked.verdict.value)
    if checked.verdict is Verdict.LOCKED:
        return LOCKED_ACROSS_CALLS
    if checked.patient is None:
        if state.identity.locked:
            return (
                "No match, and no more attempts in this call. Say you cannot find the record and "
                "offer a message or a transfer to the staff. Do not reveal whether the name exists."
            )
        return (
            "No patient matches that name and date of birth. Do not reveal whether the name "
            "exists. Ask them to spell their name and repeat their date of birth, or register "
            "them if they are new."
        )
    first = checked.patient.first_name
    if checked.patient.is_new:
        return (
            f"Verified: {first}, a new patient not yet seen here: they book the new patient "
            "exam first."
        )
    return f"Verified: {first}, an existing patient."


@function_tool
async def register_patient(
    ctx: RunContext[CallState], full_name: str, date_of_birth: str, callback_number: str = ""
) -> str:
    """Register a new patient (name, date of birth, callback number) so they can book.

    Args:
        full_name: First and last name, spelled as the caller confirmed.
        date_of_birth: YYYY-MM-DD.
        callback_number: Number to reach them; empty to use the number they call from.
    """
    state = ctx.userdata
    _refuse_if_locked(state)
    if not state.identity.may_register:
        raise ToolError("No more registrations in this call: offer to take a message instead.")
    name = clean_name(full_name)
    born = parse_birth_date(date_of_birth, state.local_now().date(), state.language)
    phone = callback_number_of(state, callback_number)
    try:
        checked = await _verifier(state).register(name, born, phone)
    except (IdentityLocked, NoMoreRegistrations):
        raise ToolError(LOCKED) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    state.note("identity_checked", f"registration: {checked.verdict.value}")
    if checked.verdict is Verdict.LOCKED:
        return LOCKED_ACROSS_CALLS
    if checked.verdict is Verdict.GUESS or checked.patient is None:
        raise ToolError(
            "Those details match no record, and this name was already tried in this call, "
            "so do not register it again. Do not reveal whether the name exists. Offer to "
            "take a message or transfer to the staff so they can check the record."
        )
    first = checked.patient.first_name
    if checked.verdict is Verdict.REGISTERED:
        return f"Registered {first} as a new patient."
    # Name and date of birth matched a patient: as good as verify_patient, and no duplicate.
    return f"{first} is already a patient (identity confirmed): treat them as " + (
        "a new patient not yet seen here." if checked.patient.is_new else "existing."
    )


@function_tool
async def book_appointment(ctx: RunContext[CallState], option_id: str) -> str:
    """Book a time the caller chose from find_open_times, for the verified or registered caller.

    Args:
        option_id: The option id of the chosen time.
    """
    state = ctx.userdata
    practice = state.practice
    caller = _caller(state, require_patient(state))
    appointments = _appointments(state)
    try:
        appointments.offered(caller, option_id)  # refused before interruptions are disabled
        ctx.disallow_interruptions()
        booked = await appointments.book(caller, option_id, now=state.now())
    except Refused as exc:
        raise refused(state, exc.refusal) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    appointment, slot = booked.appointment, booked.slot
    state.record(Outcome.BOOKED)
    visit = practice.visit_type(appointment.visit_type)
    when = spoken_time(appointment.starts_at, practice.tz, state.local_now().date())
    name = visit.name if visit else appointment.visit_type
    state.note("booked", f"{name} {when} with {slot.provider_name}")
    await state.confirm_by_text(TextKind.BOOKED, appointment)
    who = _whose(state)
    return f"Booked for {who}: {name} {when} with {slot.provider_name}. Confirm it in one sentence."


def _whose(state: CallState) -> str:
    """Whose record a result is about: the verified patient's first name."""
    patient = state.identity.patient
    return patient.first_name if patient else "the caller"


@function_tool
async def list_appointments(ctx: RunContext[CallState]) -> str:
    """List the verified caller's upcoming appointments."""
    state = ctx.userdata
    practice = state.practice
    patient_id = require_patient(state)
    try:
        upcoming = await state.appointment_book.upcoming_for_patient(patient_id, after=state.now())
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    who = _whose(state)
    if not upcoming:
        return f"{who} has no upcoming appointments."
    today = state.local_now().date()
    lines = []
    for appointment in upcoming[:5]:
        visit = practice.visit_type(appointment.visit_type)
        provider = practice.provider(appointment.provider_id)
        lines.append(
            f"{state.identity.ref_for(appointment.id)}: "
            f"{visit.name if visit else appointment.visit_type} "
            f"{spoken_time(appointment.starts_at, practice.tz, today)}"
            f" with {provider.name if provider else 'the dentist'}"
        )
    heading = f"Upcoming for {who} (refs are for reschedule/cancel only, never say them):"
    return heading + "\n" + "\n".join(lines)


def _reply_id(ctx: RunContext[CallState]) -> str:
    """The agent's current reply: tool calls made before the caller spoke again share it."""
    try:
        return ctx.speech_handle.id
    except Exception:  # no reply in progress (a tool called outside a turn)
        return ""


def _appointment_id(state: CallState, appointment_ref: str) -> str:
    found = state.identity.appointment_for(appointment_ref)
    if found is None:
        raise ToolError(
            "Unknown appointment reference. Call list_appointments and use a ref it returns; "
            "only the verified caller's own appointments can be changed."
        )
    return found


@function_tool
async def reschedule_appointment(
    ctx: RunContext[CallState], appointment_ref: str, option_id: str
) -> str:
    """Move the verified caller's appointment to a time offered by find_open_times.

    Args:
        appointment_ref: The ref from list_appointments.
        option_id: The option id of the new time.
    """
    state = ctx.userdata
    practice = state.practice
    caller = _caller(state, require_patient(state))
    appointment_id = _appointment_id(state, appointment_ref)
    ctx.disallow_interruptions()
    try:
        moved = await _appointments(state).move(caller, appointment_id, option_id, now=state.now())
    except Refused as exc:
        raise refused(state, exc.refusal) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    old, new = moved.old, moved.new
    state.identity.forget(old.id)
    state.record(Outcome.RESCHEDULED)
    today = state.local_now().date()
    state.note("rescheduled", f"to {spoken_time(new.starts_at, practice.tz, today)}")
    await state.confirm_by_text(TextKind.MOVED, new)
    policy = moved.terms.late_policy
    note = f" Mention the policy: {policy}" if policy else ""
    return (
        f"Moved from {spoken_time(old.starts_at, practice.tz, today)} to "
        f"{spoken_time(new.starts_at, practice.tz, today)} for {_whose(state)}. "
        f"Confirm it in one sentence.{note}"
    )


@function_tool
async def cancel_appointment(
    ctx: RunContext[CallState], appointment_ref: str, caller_confirmed: bool = False
) -> str:
    """Cancel the verified caller's appointment. First call without confirmation to get the policy.

    Args:
        appointment_ref: The ref from list_appointments.
        caller_confirmed: True only after the caller heard the policy and said to cancel.
    """
    state = ctx.userdata
    practice = state.practice
    patient_id = require_patient(state)
    appointment_id = _appointment_id(state, appointment_ref)
    reply = _reply_id(ctx)
    heard = state.identity.policy_heard(appointment_id, reply)
    caller = _caller(state, patient_id, policy_heard=heard)
    appointments = _appointments(state)
    try:
        if not caller_confirmed:
            terms = await appointments.terms_for(appointment_id, now=state.now())
            policy = terms.policy or "no cancellation fee"
            lead = "This is short notice. " if terms.late else ""
            state.identity.policy_told(appointment_id, reply)
            return (
                f"{lead}Tell the caller the policy: {policy} Ask if they still want to cancel or "
                "would rather move it; if they confirm, call again with caller_confirmed true."
            )
        appointments.may_cancel(caller)  # refused before interruptions are disabled
        ctx.disallow_interruptions()
        cancelled = (await appointments.cancel(caller, appointment_id, now=state.now())).appointment
    except Refused as exc:
        raise refused(state, exc.refusal) from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    state.identity.forget(appointment_id)
    state.record(Outcome.CANCELLED)
    when = spoken_time(cancelled.starts_at, practice.tz, state.local_now().date())
    state.note("cancelled", when)
    await state.confirm_by_text(TextKind.CANCELLED, cancelled)
    return (
        f"Cancelled {_whose(state)}'s appointment {when}. Confirm it and offer to book a new time."
    )


BOOKING_TOOLS: list[llm.Tool] = [
    find_open_times,
    verify_patient,
    register_patient,
    book_appointment,
    list_appointments,
    reschedule_appointment,
    cancel_appointment,
]
