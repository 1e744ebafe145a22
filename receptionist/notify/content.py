"""What a notification says, built when it is sent from the message row and the practice's
`[notifications]` policy.

By default it carries no patient data: the kind of message, when it was left (in the practice's
time zone) and a link to the staff app's message list. Mail and chat services keep copies of
everything they carry, outside the practice's control; staff who sign in to the app see the rest.
With `details = true` the practice opts in to the caller's name, callback number and reason. The
link never names a message or a patient: URLs end up in proxy logs and browser histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from receptionist.domain.practice import Practice
from receptionist.store.models import SECURITY, Message, Notification

MESSAGES_PAGE = "/messages"


@dataclass(frozen=True)
class Content:
    """One notification's words: `subject` and `text` for email, `payload` for the webhook."""

    subject: str
    text: str
    payload: dict[str, Any]


def headline(message: Message, local: datetime) -> str:
    """`Urgent message at 19:40`: what it is and when, nothing about who or why."""
    if message.kind == SECURITY:
        what = "Security notice"
    elif message.urgency == "urgent":
        what = "Urgent message"
    else:
        what = "New message"
    return f"{what} at {local:%H:%M}"


def compose(
    notification: Notification, message: Message, practice: Practice | None, app_url: str
) -> Content:
    """The notification's content. `practice` None (a location since removed from practice.toml):
    times in UTC and no details, the safe reading of a policy we can no longer see."""
    zone = practice.tz if practice else UTC
    local = message.created_at.astimezone(zone)
    title = headline(message, local)
    url = app_url.rstrip("/") + MESSAGES_PAGE
    name = practice.name if practice else message.practice_id
    details = practice is not None and practice.notifications.details
    day = f"{local:%A} {local.day} {local:%B}"
    about = (
        [
            f"Caller: {message.caller_name or '(no name given)'}",
            f"Call back: {message.callback_number}",
            f"Reason: {message.reason}",
        ]
        if details
        else []
    )
    lines = [
        f"{title} for {name}, {day} ({zone}).",
        "",
        f"Open the staff app to read it and call back: {url}",
        *(["", *about] if about else []),
        "",
        "You get this because your address is in [notifications] in the practice's settings.",
    ]
    payload: dict[str, Any] = {
        "id": notification.id,
        "type": "message",
        "message_id": message.id,
        "practice": {"id": message.practice_id, "name": name},
        "kind": message.kind,
        "urgency": message.urgency,
        "created_at": message.created_at.astimezone(UTC).isoformat(),
        "local_time": local.isoformat(),
        "title": title,
        "text": "\n".join([f"{title} – open the staff app: {url}", *about]),
        "url": url,
    }
    if details:
        payload["details"] = {
            "caller_name": message.caller_name,
            "callback_number": message.callback_number,
            "reason": message.reason,
        }
    return Content(subject=f"{title} – open the staff app", text="\n".join(lines), payload=payload)
