"""What a text says: the practice's template filled in, and how many segments it costs.

The words are the practice's (`[practice.texts.templates]`); the values are the minimum
necessary: the practice, its number, the time and the provider. The visit is named only when the
practice sets `details = true` (otherwise `{visit}` reads "appointment"), because a text can be
read by whoever holds the phone. Times are written the way the receptionist says them
(domain/spoken.py), shortened for a screen: "Tue, March 9 at 8 AM".
"""

from __future__ import annotations

from datetime import datetime

from receptionist.domain.practice import Practice
from receptionist.domain.spoken import clock, spoken_date, spoken_number
from receptionist.domain.texts import TextKind
from receptionist.store.models import Appointment

# GSM 03.38: the basic set, and the extension set (each of those costs two characters).
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
MAX_LENGTH = 1600  # Telnyx's limit, and about ten segments: longer is a mistake


def written_time(moment: datetime, practice: Practice) -> str:
    """`Tue, March 9 at 8 AM` in the practice's zone."""
    local = moment.astimezone(practice.tz)
    return f"{local:%a}, {spoken_date(local.date())} at {clock(local)}"


def segments(body: str) -> int:
    """How many SMS segments `body` is billed as: 160 GSM-7 characters in one (153 each when
    split), or 70 (67 each) as soon as one character is outside GSM-7."""
    if all(c in GSM7 or c in GSM7_EXTENDED for c in body):
        length = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        return 1 if length <= 160 else -(-length // 153)
    length = sum(2 if ord(c) > 0xFFFF else 1 for c in body)  # UCS-2 code units
    return 1 if length <= 70 else -(-length // 67)


def render(practice: Practice, kind: TextKind, appointment: Appointment | None = None) -> str:
    """The practice's template for `kind`, filled in (cut at MAX_LENGTH)."""
    texts = practice.texts
    values = {
        "practice": practice.name,
        "phone": spoken_number(practice.numbers[0], practice.region) if practice.numbers else "",
        "address": practice.address,
        "when": "",
        "provider": "our team",
        "visit": "appointment",
    }
    if appointment is not None:
        values["when"] = written_time(appointment.starts_at, practice)
        provider = practice.provider(appointment.provider_id)
        if provider is not None:
            values["provider"] = provider.name
        visit = practice.visit_type(appointment.visit_type)
        if texts.details and visit is not None:
            values["visit"] = visit.name
    return texts.templates.for_kind(kind).format(**values)[:MAX_LENGTH]
