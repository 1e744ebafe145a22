"""Booking tools: find open times, confirm who the caller is, book, list, move and cancel.

Thin by design: validate the arguments, call the scheduling domain and the caller's `Identity`,
phrase the result. The rules live there: only times offered in this call can be booked, and
nothing about an appointment is disclosed or changed before the caller's name and date of birth
match a patient.
"""

from __future__ import annotations

import logging
from typing import Literal

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import ToolError

from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.identity import VerifiedPatient
from receptionist.domain.scheduling import (
    NotOffered,
    SchedulingError,
    SlotGone,
    WrongVisitType,
    book_offered,
    is_late_cancellation,
    reschedule_to_offered,
)
from receptionist.domain.scheduling import (
    find_open_times as find_times,
)
from receptionist.domain.spoken import spoken_time
from receptionist.store import NotFound, Patient, StoreUnavailable
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

log = logging.getLogger(__name__)

LOCKED = (
    "Identity checks are locked for this call after repeated mismatches. Do not try again and do "
    "not register them; offer to take a message or transfer the caller to the staff."
)
NOT_OFFERED = (
    "That is not a time offered in this call. Call find_open_times and use one of its option ids."
)


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
) -> str:
    """Find up to three open appointment times. Offer only times this returns.

    Args:
        visit_type: A visit type id or name (practice_info "services" lists them).
        date_from: Earliest date, YYYY-MM-DD; empty for today.
        date_to: Latest date, YYYY-MM-DD; empty for about three weeks on.
        part_of_day: Preferred part of the day.
        provider_id: A provider id if the caller asks for someone; else empty.
    """
    state = ctx.userdata
    visit_id = _visit_type(state, visit_type)
    first, last = parse_day(date_from, "date_from"), parse_day(date_to, "date_to")
    try:
        slots = await find_times(
            state.practice,
            state.store,
            visit_id,
            now=state.now(),
            date_from=first,
            date_to=last,
            part_of_day=part_of_day,
            provider_id=provider_id.strip() or None,
        )
    except SchedulingError as exc:
        raise ToolError(f"{exc}.") from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    if not slots:
        return (
            "No open times in that range. Offer to look at later dates or another part of the "
            "day, or to take a message."
        )
    return (
        "Offer these times in words; the option ids are for book_appointment or "
        f"reschedule_appointment only, never say them:\n{describe_options(state, slots)}"
    )


def _verified(patient: Patient, is_new: bool) -> VerifiedPatient:
    return VerifiedPatient(patient.id, patient.full_name, is_new)


@function_tool
async def verify_patient(ctx: RunContext[CallState], full_name: str, date_of_birth: str) -> str:
    """Confirm an existing patient's identity before discussing or changing their appointments.

    Args:
        full_name: The caller's first and last name as they said it.
        date_of_birth: YYYY-MM-DD.
    """
    state = ctx.userdata
    identity = state.identity
    if identity.locked:
        raise ToolError(LOCKED)
    name = clean_name(full_name)
    born = parse_birth_date(date_of_birth, state.local_now().date())
    attempt = identity.attempt(name)  # counted before any await (see Identity)
    try:
        patient = await state.store.find_patient(state.practice.id, name, born)
        is_new = patient is not None and await state.store.is_new_patient(
            patient.id, now=state.now()
        )
    except StoreUnavailable:
        attempt.void()
        raise ToolError(DB_DOWN) from None
    if patient is None:
        attempt.failed()
        if identity.locked:
            return (
                "No match, and no more attempts in this call. Say you cannot find the record and "
                "offer a message or a transfer to the staff. Do not reveal whether the name exists."
            )
        return (
            "No patient matches that name and date of birth. Do not reveal whether the name "
            "exists. Ask them to spell their name and repeat their date of birth, or register "
            "them if they are new."
        )
    attempt.matched(_verified(patient, is_new))
    first = patient.full_name.split()[0]
    if is_new:
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
    identity = state.identity
    if identity.locked:
        raise ToolError(LOCKED)
    if not identity.may_register:
        raise ToolError("No more registrations in this call: offer to take a message instead.")
    name = clean_name(full_name)
    born = parse_birth_date(date_of_birth, state.local_now().date())
    phone = callback_number_of(state, callback_number)
    attempt = identity.registration(name)  # counted before any await (see Identity)
    try:
        existing = await state.store.find_patient(state.practice.id, name, born)
        if existing is None and identity.was_tried(name):
            # This name already failed to match (or was registered) in this call: another date
            # of birth is a guess or a mishearing, not a new patient. No duplicate record.
            attempt.refused_as_guess()
            raise ToolError(
                "Those details match no record, and this name was already tried in this call, "
                "so do not register it again. Do not reveal whether the name exists. Offer to "
                "take a message or transfer to the staff so they can check the record."
            )
        if existing is None:
            patient, created = await state.store.register_patient(
                state.practice.id, name, born, phone, new_patient=True
            )
        else:
            patient, created = existing, False
        is_new = await state.store.is_new_patient(patient.id, now=state.now())
    except StoreUnavailable:
        attempt.void()
        raise ToolError(DB_DOWN) from None
    first = patient.full_name.split()[0]
    if not created:
        # Name and date of birth matched a patient: as good as verify_patient, and no duplicate.
        attempt.matched(_verified(patient, is_new))
        return f"{first} is already a patient (identity confirmed): treat them as " + (
            "a new patient not yet seen here." if is_new else "existing."
        )
    attempt.registered(_verified(patient, True))
    return f"Registered {first} as a new patient."


@function_tool
async def book_appointment(ctx: RunContext[CallState], option_id: str) -> str:
    """Book a time the caller chose from find_open_times, for the verified or registered caller.

    Args:
        option_id: The option id of the chosen time.
    """
    state = ctx.userdata
    practice = state.practice
    patient_id = require_patient(state)
    if state.offers.was_booked(option_id):
        raise ToolError(
            "That time is already booked in this call (see the earlier confirmation); do not book "
            "it again. Confirm it to the caller, or call find_open_times for another visit."
        )
    slot = state.offers.get(option_id)
    if slot is None:
        raise ToolError(NOT_OFFERED)
    ctx.disallow_interruptions()
    try:
        appointment = await book_offered(
            practice,
            state.store,
            state.offers,
            option_id,
            patient_id=patient_id,
            call_id=state.info.call_id,
            now=state.now(),
        )
    except (SlotGone, SchedulingError, StoreUnavailable) as exc:
        raise _refused(state, exc) from None
    state.record(Outcome.BOOKED)
    visit = practice.visit_type(appointment.visit_type)
    when = spoken_time(appointment.starts_at, practice.tz, state.local_now().date())
    name = visit.name if visit else appointment.visit_type
    return f"Booked: {name} {when} with {slot.provider_name}. Confirm it in one sentence."


def _refused(state: CallState, exc: Exception) -> ToolError:
    """What the model is told when booking or moving an offered time did not happen."""
    if isinstance(exc, SlotGone):
        return ToolError(_taken(state, exc))
    if isinstance(exc, NotOffered):
        return ToolError(NOT_OFFERED)
    if isinstance(exc, WrongVisitType):
        return ToolError(
            "That option is for a different visit type: call find_open_times with visit type "
            f"{exc.visit_type!r} to move this appointment."
        )
    if isinstance(exc, StoreUnavailable):
        return ToolError(DB_DOWN)
    return ToolError(f"{exc}.")


def _taken(state: CallState, gone: SlotGone) -> str:
    if gone.reason == "too_soon":
        cause = (
            "That time is now too soon to book: this visit needs more notice than is left. "
            "Nobody else took it; explain that"
        )
    else:
        cause = "That time was just taken by someone else. Apologise"
    if not gone.fresh:
        return f"{cause}, and say nothing else is open soon; offer other dates or a message."
    return (
        f"{cause}, and offer these instead (never say the ids):\n"
        f"{describe_options(state, gone.fresh)}"
    )


@function_tool
async def list_appointments(ctx: RunContext[CallState]) -> str:
    """List the verified caller's upcoming appointments."""
    state = ctx.userdata
    practice = state.practice
    patient_id = require_patient(state)
    try:
        upcoming = await state.store.upcoming_for_patient(patient_id, after=state.now())
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    if not upcoming:
        return "They have no upcoming appointments."
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
    return "Upcoming (refs are for reschedule/cancel only, never say them):\n" + "\n".join(lines)


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
    patient_id = require_patient(state)
    appointment_id = _appointment_id(state, appointment_ref)
    ctx.disallow_interruptions()
    try:
        old, new = await reschedule_to_offered(
            practice,
            state.store,
            state.offers,
            option_id,
            appointment_id=appointment_id,
            patient_id=patient_id,
            call_id=state.info.call_id,
            now=state.now(),
        )
    except NotFound:
        raise ToolError("That appointment is no longer booked. Call list_appointments.") from None
    except (SlotGone, SchedulingError, StoreUnavailable) as exc:
        raise _refused(state, exc) from None
    state.identity.forget(old.id)
    state.record(Outcome.RESCHEDULED)
    today = state.local_now().date()
    note = ""
    if is_late_cancellation(practice, old, state.now()) and practice.policies.cancellation:
        note = f" Mention the policy: {practice.policies.cancellation}"
    return (
        f"Moved from {spoken_time(old.starts_at, practice.tz, today)} to "
        f"{spoken_time(new.starts_at, practice.tz, today)}. Confirm it in one sentence.{note}"
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
    if caller_confirmed and not state.identity.policy_heard(appointment_id, reply):
        raise ToolError(
            "The caller has not heard the cancellation policy for this appointment yet. Call "
            "cancel_appointment without caller_confirmed to get the policy, tell it to the "
            "caller and wait for their answer; only then call again with caller_confirmed "
            "true."
        )
    try:
        appointment = await state.store.get_appointment(appointment_id)
        if not caller_confirmed:
            late = appointment is not None and is_late_cancellation(
                practice, appointment, state.now()
            )
            policy = practice.policies.cancellation or "no cancellation fee"
            lead = "This is short notice. " if late else ""
            state.identity.policy_told(appointment_id, reply)
            return (
                f"{lead}Tell the caller the policy: {policy} Ask if they still want to cancel or "
                "would rather move it; if they confirm, call again with caller_confirmed true."
            )
        ctx.disallow_interruptions()
        cancelled = await state.store.cancel(appointment_id, patient_id=patient_id)
    except NotFound:
        raise ToolError("That appointment is no longer booked. Call list_appointments.") from None
    except StoreUnavailable:
        raise ToolError(DB_DOWN) from None
    state.identity.forget(appointment_id)
    state.record(Outcome.CANCELLED)
    when = spoken_time(cancelled.starts_at, practice.tz, state.local_now().date())
    return f"Cancelled the appointment {when}. Confirm it and offer to book a new time."


BOOKING_TOOLS = [
    find_open_times,
    verify_patient,
    register_patient,
    book_appointment,
    list_appointments,
    reschedule_appointment,
    cancel_appointment,
]
