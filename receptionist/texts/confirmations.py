"""The text that confirms a booking change: queued after a call books, moves or cancels a visit.

Run by the call (CallState.confirm_by_text), so it only writes a row: the staff app's sender
sends it. Queued when the practice texts, sends confirmations (`confirmations = true`, the
default) and the patient may be texted: their recorded number is a mobile-looking E.164 number,
and when the practice asks for recorded consent (`require_recorded_consent`) that consent is on
file. A number that opted out gets the row `blocked`, never a text (store/texts.py).

The text's id derives from the visit's id and what happened to it, so however often this runs
for one change (a tool retried, a re-dispatched call) one text is queued. A book that is down
costs the confirmation, never the booking: the failure is logged by type and the call goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime

from receptionist.domain.phone import is_e164
from receptionist.domain.practice import Practice
from receptionist.domain.texts import TextKind
from receptionist.store import Store, StoreError
from receptionist.store.models import Appointment
from receptionist.store.texts import derived_id
from receptionist.texts.compose import render, segments

log = logging.getLogger(__name__)


async def queue_confirmation(
    store: Store, practice: Practice, kind: TextKind, appointment: Appointment, *, now: datetime
) -> bool:
    """Queues the confirmation of `appointment` having been `kind` (booked, moved, cancelled);
    True if a text was queued now (False: not wanted, not allowed, or queued already)."""
    texts = practice.texts
    if not (texts.enabled and texts.confirmations):
        return False
    try:
        patient = await store.appointments.get_patient(appointment.patient_id)
        if patient is None or not is_e164(patient.phone):
            return False
        if texts.require_recorded_consent:
            number = await store.texts.number(practice.id, patient.phone)
            if number is None or number.consent_at is None:
                return False
        body = render(practice, kind, appointment)
        return await store.texts.queue(
            {
                "id": derived_id(appointment.id, kind.value),
                "practice_id": practice.id,
                "kind": kind.value,
                "to_number": patient.phone,
                "from_number": texts.sender,
                "body": body,
                "segments": segments(body),
                "provider": texts.provider.value,
                "patient_id": patient.id,
                "appointment_id": appointment.id,
            },
            now=now,
        )
    except StoreError as exc:
        log.warning("booking confirmation not queued (%s)", type(exc).__name__)
        return False
