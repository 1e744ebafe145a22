"""What a patient's text does, once it is stored (the webhook answered the provider first).

One word is a keyword: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT opts the number out of
texts at once (and of reminder calls when `stop_ends_reminder_calls`), START or UNSTOP opts it back
in, HELP answers with the practice's name and number, C confirms the patient's next visit, R asks
the team to call. Anything else is a message for the staff, with the text as its reason. The
patient is found by number in the practice's book (`Book.upcoming_for_patient`, the port, so a
PMS book can answer too).

Each inbound text is handled once: `store.texts.handle` writes its action, the opt-out or
opt-in, the reply and the staff's message in one transaction, or nothing; a reminder-call opt-out
and a C's confirmation come first and are idempotent (each sets one value), so a handler that dies
between the two does them again harmlessly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from receptionist.appointments import Appointments, Refused
from receptionist.appointments.book import Book
from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.domain.texts import TextKind
from receptionist.store import Store
from receptionist.store.models import Appointment, InboundText, Patient, utcnow
from receptionist.store.texts import Handling
from receptionist.texts.compose import render, segments

log = logging.getLogger(__name__)

STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
CONFIRM = frozenset({"C", "CONFIRM"})
RESCHEDULE = frozenset({"R", "RESCHEDULE"})
REASON_LENGTH = 1000


def keyword(body: str) -> str:
    """The keyword a text is (`"Stop."` -> `STOP`), or "" when it is more than one word."""
    words = body.split()
    if len(words) != 1:
        return ""
    return re.sub(r"[^A-Za-z]", "", words[0]).upper()


def reply(practice: Practice, kind: TextKind, appointment: Appointment | None = None) -> dict:
    """An outbound text's values answering from the practice's number (its id is derived from
    the inbound text's by the store)."""
    body = render(practice, kind, appointment)
    return {
        "kind": kind.value,
        "from_number": practice.texts.sender,
        "body": body,
        "segments": segments(body),
        "provider": practice.texts.provider.value,
        "appointment_id": appointment.id if appointment is not None else None,
    }


async def _patients(store: Store, practice: Practice, number: str) -> list[Patient]:
    return await store.texts.patients_with_number(practice.id, number)


async def _next_visit(
    book: Book, patients: list[Patient], now: datetime
) -> tuple[Patient, Appointment] | None:
    found = []
    for patient in patients:
        upcoming = await book.upcoming_for_patient(patient.id, after=now)
        if upcoming:
            found.append((patient, upcoming[0]))
    return min(found, key=lambda pair: pair[1].starts_at) if found else None


async def handling_for(
    store: Store, book: Book, practice: Practice, inbound: InboundText, *, now: datetime
) -> Handling:
    """What this text does (nothing is written here, except a reminder-call opt-out)."""
    word = keyword(inbound.body)
    if word in STOP:
        if practice.texts.stop_ends_reminder_calls:
            for patient in await _patients(store, practice, inbound.from_number):
                await store.reminders.opt_out(practice.id, patient.id, now=now, source="text")
        return Handling(action=TextKind.OPTED_OUT, opt="out")
    if word in START:
        return Handling(
            action=TextKind.OPTED_IN, opt="in", reply=reply(practice, TextKind.OPTED_IN)
        )
    if word in HELP:
        return Handling(action=TextKind.HELP, reply=reply(practice, TextKind.HELP))
    patients = await _patients(store, practice, inbound.from_number)
    patient_id = patients[0].id if len(patients) == 1 else None
    if word in CONFIRM:
        visit = await _next_visit(book, patients, now)
        if visit is not None:
            patient, appointment = visit
            try:  # in the practice's book, through the service: a PMS book gets it too
                await Appointments(book, practice).confirm(patient.id, appointment.id, now=now)
            except Refused:  # cancelled or moved a moment ago: the staff read the text
                visit = None
        if visit is not None:
            return Handling(
                action=TextKind.CONFIRMED,
                appointment_id=appointment.id,
                reply=reply(practice, TextKind.CONFIRMED, appointment),
            )
    if word in RESCHEDULE:
        return Handling(
            action=TextKind.CALL_BACK,
            message=_message(patient_id, "Asked by text for another time: please call back."),
            reply=reply(practice, TextKind.CALL_BACK),
        )
    return Handling(
        action=TextKind.RECEIVED,
        message=_message(patient_id, f"Text from the patient: {inbound.body}"),
        reply=reply(practice, TextKind.RECEIVED),
    )


def _message(patient_id: str | None, reason: str) -> dict[str, Any]:
    return {"patient_id": patient_id, "reason": reason[:REASON_LENGTH]}


async def handle(
    store: Store,
    directory: PracticeDirectory,
    inbound: InboundText,
    *,
    book_for: Callable[[Practice], Book] | None = None,
    now: datetime | None = None,
) -> bool:
    """Handles one stored inbound text; False when it was handled already (or its practice is
    gone: then it stays for the staff, unhandled)."""
    practice = directory.get(inbound.practice_id)
    if practice is None:
        return False
    now = now or utcnow()
    book: Book = book_for(practice) if book_for is not None else store.appointments
    handling = await handling_for(store, book, practice, inbound, now=now)
    done = await store.texts.handle(inbound, handling, now=now)
    if done:
        log.info("inbound text handled", extra={"action": handling.action})
    return done


async def handle_pending(
    store: Store,
    directory: PracticeDirectory,
    *,
    book_for: Callable[[Practice], Book] | None = None,
    now: datetime | None = None,
) -> int:
    """Handles every stored inbound text not yet handled (a webhook's work that did not finish);
    how many were handled."""
    handled = 0
    for inbound in await store.texts.unhandled():
        try:
            handled += await handle(store, directory, inbound, book_for=book_for, now=now)
        except Exception as exc:  # one text's failure is that text's; the next pass tries again
            log.error("inbound text not handled (%s)", type(exc).__name__)
    return handled
