"""Text messages (`[practice.texts]` in practice.toml): which provider, from which number, what is
sent and when.

Off unless `enabled = true`. The provider (`"twilio"` or `"telnyx"`) carries SMS on the
practice's own number (`sender`, default: the practice's `phone`); its keys never live in the file
(TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, TELNYX_API_KEY / TELNYX_PUBLIC_KEY in the environment),
because practice.toml is shared and versioned.

Healthcare texts carry the minimum necessary: the templates name the practice, the time and the
provider, never the procedure (`{visit}` reads "appointment") unless the practice sets
`details = true`. Texts wait out `quiet_hours` (the practice's zone); a number that answered STOP
is never texted again until it answers START (`receptionist/texts/`, the store's `texts`).
Validated with the profile: a mistake here would otherwise surface as a text never sent, or sent
to a patient with the wrong words.
"""

from __future__ import annotations

import string
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from receptionist.domain.phone import normalize

if TYPE_CHECKING:
    from receptionist.domain.practice import Practice


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextProvider(StrEnum):
    TWILIO = "twilio"
    TELNYX = "telnyx"


class TextKind(StrEnum):
    """What a queued text is for, or what an inbound text did (the value is what rows keep).
    A STOP gets no reply from us: the provider confirms the opt-out itself (Twilio's Advanced
    Opt-Out, Telnyx's), and no text of ours ever goes to a number that opted out."""

    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    HELP = "help"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    CONFIRMED = "confirmed"
    CALL_BACK = "call_back"
    RECEIVED = "received"


# What a template may use; anything else is refused at load with the list.
PLACEHOLDERS = frozenset({"practice", "phone", "when", "provider", "visit", "address"})

DEFAULT_TEMPLATES = {
    TextKind.BOOKED: (
        "{practice}: you're booked {when} with {provider}. Reply C to confirm, R to "
        "reschedule, STOP to opt out."
    ),
    TextKind.MOVED: (
        "{practice}: your appointment is moved to {when} with {provider}. Reply C to confirm, "
        "R to reschedule, STOP to opt out."
    ),
    TextKind.CANCELLED: (
        "{practice}: your appointment {when} is cancelled. Call {phone} to book again. "
        "Reply STOP to opt out."
    ),
    TextKind.HELP: "{practice}: appointment texts. Call us at {phone}. Reply STOP to opt out.",
    TextKind.OPTED_IN: "{practice}: texts are on again. Reply STOP to opt out, HELP for help.",
    TextKind.CONFIRMED: "{practice}: thank you, your appointment {when} is confirmed.",
    TextKind.CALL_BACK: "{practice}: thank you, our team will call you to find another time.",
    TextKind.RECEIVED: (
        "{practice}: thank you, our team has your message. For anything urgent call {phone}."
    ),
}


class Templates(_Strict):
    """The words of each text; the practice may change any. `{placeholders}`: practice, phone,
    when, provider, visit (the visit type's name only with `details = true`), address."""

    booked: str = DEFAULT_TEMPLATES[TextKind.BOOKED]
    moved: str = DEFAULT_TEMPLATES[TextKind.MOVED]
    cancelled: str = DEFAULT_TEMPLATES[TextKind.CANCELLED]
    help: str = DEFAULT_TEMPLATES[TextKind.HELP]
    opted_in: str = DEFAULT_TEMPLATES[TextKind.OPTED_IN]
    confirmed: str = DEFAULT_TEMPLATES[TextKind.CONFIRMED]
    call_back: str = DEFAULT_TEMPLATES[TextKind.CALL_BACK]
    received: str = DEFAULT_TEMPLATES[TextKind.RECEIVED]

    @field_validator("*")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty: write the text, or remove the key to use the default")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(
                f"is not a template ({exc}): write placeholders as {{when}}, and a literal brace "
                "as {{ or }}"
            ) from None
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"uses {', '.join('{' + n + '}' for n in sorted(unknown))}: use only "
                f"{', '.join('{' + n + '}' for n in sorted(PLACEHOLDERS))}"
            )
        return value

    def for_kind(self, kind: TextKind) -> str:
        return str(getattr(self, kind.value))


class QuietHours(_Strict):
    """No text is sent from `start` to `end` (the practice's zone); may run past midnight, as
    quiet hours do: `quiet_hours = ["21:00", "08:00"]`."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            # practice.py imports this module: its clock parser is read when first needed.
            from receptionist.domain.practice import wall_time

            if len(value) != 2:
                raise ValueError(f'{list(value)!r} is not a range: write ["21:00", "08:00"]')
            return {"start": wall_time(value[0]), "end": wall_time(value[1])}
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(
                f"starts and ends at {self.start:%H:%M}: write a range such as "
                '["21:00", "08:00"], or set both to the hours you want'
            )
        return self

    def quiet(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def next_allowed(self, at: datetime, tz: ZoneInfo) -> datetime:
        """`at` itself when texting is allowed then, else the end of these quiet hours."""
        local = at.astimezone(tz)
        if not self.quiet(local.time().replace(tzinfo=None)):
            return at
        day = local.date()
        if local.time() >= self.end:  # the quiet hours run past midnight: they end tomorrow
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz)


class Texts(_Strict):
    """Text messages to patients: off unless `enabled = true`."""

    enabled: bool = False
    provider: TextProvider = TextProvider.TWILIO
    sender: str = ""  # E.164 or local; empty: the practice's `phone`
    # Booking confirmations after a call books, moves or cancels (to patients who consented).
    confirmations: bool = True
    # Consent: by default a patient who gave the practice their number may get appointment texts
    # (the healthcare exemption); true: only numbers whose consent is recorded (START, a call).
    require_recorded_consent: bool = False
    quiet_hours: QuietHours = QuietHours(start=time(21), end=time(8))
    # A STOP also ends reminder calls to that patient (the practice promised one opt-out).
    stop_ends_reminder_calls: bool = True
    # Procedure names (the visit type's name) in texts: off, the minimum necessary by default.
    details: bool = False
    per_number_per_hour: int = Field(default=4, ge=1, le=60)
    # Telnyx: the messaging profile the sender number belongs to (portal: Messaging).
    messaging_profile_id: str = ""
    templates: Templates = Templates()

    @field_validator("provider", mode="before")
    @classmethod
    def _provider(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {p.value for p in TextProvider}:
            return value.strip().lower()
        if isinstance(value, str):
            raise ValueError(f'{value!r} is not a text provider: write "twilio" or "telnyx"')
        return value

    def check_against(self, practice: Practice) -> Texts:
        """This section with the sender in E.164 (the practice's phone when not given); raises
        `ValueError` naming the key and the fix when texts are on and no sender can be found."""
        raw = self.sender or practice.phone
        if not self.enabled and not self.sender:
            return self
        if not raw:
            raise ValueError(
                "texts.sender: texts go out from the practice's number; set `phone` or "
                '`sender = "+14145550100"`, or turn texts off'
            )
        number = normalize(raw, practice.region)
        if number == "unknown":
            field = "texts.sender" if self.sender else "phone"
            raise ValueError(
                f"{field}: {raw!r} is not a complete phone number for region "
                f'{practice.region}: texts need one, e.g. "+14145550100"'
            )
        return self.model_copy(update={"sender": number})
