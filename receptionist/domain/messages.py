"""Leaving a message for the staff: stored with the notifications it calls for, in one write.

Every message (a caller's callback request, an urgent note, a security notice) goes through
`leave_message`, so the practice's `[notifications]` policy is applied in one place and a message
is never stored without its notifications (nor they without it), even via the outbox.
"""

from __future__ import annotations

from typing import Literal

from receptionist.domain.practice import Practice
from receptionist.store import Store
from receptionist.store.models import CALLBACK, EMAIL, WEBHOOK


def notification_targets(practice: Practice, *, urgency: str, kind: str) -> list[dict[str, str]]:
    """Where the practice wants this message announced: `{"channel", "destination"}` each."""
    policy = practice.notifications
    if not policy.wanted(urgency=urgency, kind=kind):
        return []
    targets = [{"channel": EMAIL, "destination": address} for address in policy.email]
    if policy.webhook:
        targets.append({"channel": WEBHOOK, "destination": policy.webhook})
    return targets


async def leave_message(
    store: Store,
    practice: Practice,
    *,
    caller_name: str,
    callback_number: str,
    reason: str,
    urgency: str = "routine",
    kind: str = CALLBACK,
    patient_id: str | None = None,
    call_id: str = "",
) -> Literal["stored", "queued"]:
    """Stores the message and its notifications, or keeps both in the outbox during an outage."""
    _, where = await store.records.add_message(
        practice_id=practice.id,
        caller_name=caller_name,
        callback_number=callback_number,
        reason=reason,
        urgency=urgency,
        kind=kind,
        patient_id=patient_id,
        call_id=call_id,
        notify=notification_targets(practice, urgency=urgency, kind=kind),
    )
    return where
