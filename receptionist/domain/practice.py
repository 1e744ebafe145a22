"""The practice profile (`practice.toml`): who the practice is, when it is open, who works there,
what visits it offers, its policies and where calls go.

Validated once at start-up; each error names the field and how to fix it, because a profile mistake
found on a patient's call is a wrong answer to a patient. One file can describe several locations
(`[[location]]` tables); the dialled number selects one (`PracticeDirectory.select`). The domain
layer does not import LiveKit.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import tomllib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from receptionist.domain.books import BookChoice
from receptionist.domain.languages import DEFAULT as DEFAULT_LANGUAGE
from receptionist.domain.languages import Language, LanguageOptions, build_languages
from receptionist.domain.languages import check_codes as check_languages
from receptionist.domain.phone import mask, normalize
from receptionist.domain.texts import Texts
from receptionist.paths import REPO_ROOT

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class PracticeError(Exception):
    """A broken practice profile: one line per problem, each naming the field and the fix."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def slugify(text: str) -> str:
    """`Dr. Amara Okafor` -> `dr-amara-okafor`: a stable id when the profile gives none."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "practice"


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def wall_time(value: object) -> object:
    """`"8:00"` or `"08:00"` as a time; anything else is refused with an example."""
    if not isinstance(value, str):
        return value
    match = _CLOCK.match(value.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise ValueError(f'{value!r} is not a time: write "HH:MM" on the 24-hour clock, e.g. "17:30"')


class Interval(Strict):
    """An interval in local wall-clock time, e.g. `["08:00", "17:00"]` in the TOML."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f'{list(value)!r} is not an interval: write ["08:00", "17:00"]')
            return {"start": wall_time(value[0]), "end": wall_time(value[1])}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end <= self.start:
            raise ValueError(f"closes ({self.end:%H:%M}) before it opens ({self.start:%H:%M})")
        return self

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


DayHours = Annotated[list[Interval], Field(default_factory=list)]


class WeeklyHours(Strict):
    """Intervals per weekday; a missing or empty day is closed."""

    monday: DayHours
    tuesday: DayHours
    wednesday: DayHours
    thursday: DayHours
    friday: DayHours
    saturday: DayHours
    sunday: DayHours

    def on(self, weekday: int) -> list[Interval]:
        return getattr(self, WEEKDAYS[weekday])

    @model_validator(mode="before")
    @classmethod
    def _one_interval(cls, value: object) -> object:
        """`monday = ["08:00", "17:00"]` means one interval, as people write it."""
        if not isinstance(value, dict):
            return value
        return {day: [spans] if _is_pair(spans) else spans for day, spans in value.items()}

    @model_validator(mode="after")
    def _no_overlaps(self) -> WeeklyHours:
        for day in WEEKDAYS:
            spans = sorted(getattr(self, day), key=lambda i: i.start)
            for a, b in zip(spans, spans[1:], strict=False):
                if b.start < a.end:
                    raise ValueError(f"{day}: intervals overlap ({a.end:%H:%M} > {b.start:%H:%M})")
        return self


def _check_day(value: object, key: str) -> None:
    """A closure's day as written in the file, refused with the key the user wrote."""
    if isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f'{key} = {value!r} is not a date: write it as YYYY-MM-DD, e.g. "2026-11-26"'
            ) from None


def _is_pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


class Closure(Strict):
    """Days the practice (or one provider) is closed, inclusive: holidays, training, vacation.
    With `hours`, only that part of each day is closed (`hours = ["12:00", "17:00"]`)."""

    start: date
    end: date | None = None
    reason: str = "closed"
    hours: Interval | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_date(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "date" in value:
            value["start"] = value.pop("date")
            _check_day(value["start"], "date")
        for key in ("start", "end"):
            _check_day(value.get(key), key)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start}): swap them")
        return self

    @property
    def last(self) -> date:
        return self.end or self.start

    @property
    def whole_day(self) -> bool:
        return self.hours is None

    def covers(self, day: date) -> bool:
        """Whether the whole of `day` is closed."""
        return self.whole_day and self.touches(day)

    def touches(self, day: date) -> bool:
        """Whether any part of `day` is closed."""
        return self.start <= day <= self.last

    def covers_time(self, day: date, moment: time) -> bool:
        """Whether the wall-clock time `moment` of `day` is closed."""
        if not self.touches(day):
            return False
        return self.hours is None or self.hours.start <= moment < self.hours.end


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits and dashes")
    return value


# An id the profile or its defaults give: lower-case letters, digits and dashes.
Slug = Annotated[str, AfterValidator(_check_slug)]


class NamedWithId(Strict):
    """A named thing with a stable id: the id defaults to the name as a slug (`dr-okafor`)."""

    id: Slug = ""

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, value: object) -> object:
        if isinstance(value, dict) and not value.get("id") and value.get("name"):
            value = {**value, "id": slugify(str(value["name"]))}
        return value


class Provider(NamedWithId):
    """A dentist or hygienist whose hours make up the bookable time."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="e.g. dentist, hygienist")
    hours: WeeklyHours | None = None  # omitted: the practice's opening hours
    closures: list[Closure] = Field(default_factory=list)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return value.strip().lower()


class PatientKind(StrEnum):
    NEW = "new"
    EXISTING = "existing"
    ANY = "any"


class VisitType(Strict):
    """A kind of appointment: how long it takes, who may do it, who may book it, how much notice."""

    id: Slug
    name: str = Field(min_length=1)
    duration_minutes: int = Field(ge=5, le=480)
    roles: list[str] = Field(min_length=1)
    patients: PatientKind = PatientKind.ANY
    lead_time_hours: float = Field(default=2.0, ge=0, le=24 * 60)
    description: str = ""

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return [r.strip().lower() for r in value]

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def lead_time(self) -> timedelta:
        return timedelta(hours=self.lead_time_hours)


class TransferMode(StrEnum):
    """How a caller reaches a person.

    cold: handed over at once (SIP REFER): the line rings with no context.
    warm: the caller holds while a person is dialled and briefed; they talk once the person agrees.
    warm_then_cold: warm, and handed over cold when the person's line cannot be dialled, is busy
    or does not answer (their phone system's voicemail or hunt group then takes the call).
    """

    COLD = "cold"
    WARM = "warm"
    WARM_THEN_COLD = "warm_then_cold"


DESTINATION_FIELDS = ("staff", "after_hours")
HOLD_AUDIO_SUFFIXES = (".wav", ".ogg", ".mp3", ".flac")
MIN_HOLD_SECONDS, MAX_HOLD_SECONDS = 30, 600


class Transfers(Strict):
    """Where calls go when a human is needed (`tel:+E.164` or a `sip:` URI), and how.

    A warm transfer dials the person over the outbound trunk (`outbound_trunk`, else
    `[practice.reminders] outbound_trunk`, else the trunk whose numbers hold the practice's phone)
    and keeps the caller on hold (`hold_audio`: empty for LiveKit's hold music, or a clip of the
    practice's own) for at most `hold_limit_seconds`."""

    staff: str = ""
    after_hours: str = ""
    mode: TransferMode = TransferMode.COLD
    hold_limit_seconds: int = 90
    hold_audio: str = ""
    outbound_trunk: str = ""

    @field_validator("staff", "after_hours")
    @classmethod
    def _destination(cls, value: str) -> str:
        return check_destination(value)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        modes = [m.value for m in TransferMode]
        if isinstance(value, str) and value.strip().lower() in modes:
            return value.strip().lower()
        raise ValueError(
            f"{value!r} is not a transfer mode: write cold (hand the caller over at once), "
            "warm (hold, brief a person, then connect) or warm_then_cold (warm, and cold when "
            "nobody answers)"
        )

    @field_validator("hold_limit_seconds", mode="before")
    @classmethod
    def _hold_limit(cls, value: object) -> object:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (MIN_HOLD_SECONDS <= value <= MAX_HOLD_SECONDS)
        ):
            raise ValueError(
                f"{value!r} is not a hold limit: write whole seconds between {MIN_HOLD_SECONDS} "
                f"and {MAX_HOLD_SECONDS}, e.g. 90 (the longest a caller holds for a warm transfer)"
            )
        return value

    @field_validator("hold_audio")
    @classmethod
    def _hold_audio(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        path = Path(value) if Path(value).is_absolute() else REPO_ROOT / value
        if path.suffix.lower() not in HOLD_AUDIO_SUFFIXES:
            raise ValueError(
                f"{value!r} is not an audio clip: use a {', '.join(HOLD_AUDIO_SUFFIXES)} file, "
                'or leave it empty ("") for LiveKit\'s hold music'
            )
        if not path.is_file():
            raise ValueError(
                f"{value!r} is not a file: give a path from the repository's root or an absolute "
                'one, or leave it empty ("") for LiveKit\'s hold music'
            )
        return str(path)

    @field_validator("outbound_trunk")
    @classmethod
    def _trunk(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"ST_[A-Za-z0-9]+", value):
            raise ValueError(
                f"{value!r} is not an outbound trunk id: write the ST_... id that "
                "`lk sip outbound list` shows, or leave it empty to use the practice's own"
            )
        return value

    @property
    def warm(self) -> bool:
        """Whether a person is dialled and briefed before the caller is put through."""
        return self.mode is not TransferMode.COLD


def check_destination(value: str, region: str | None = None) -> str:
    """Validates a transfer target: `tel:+E.164`, a number written as people do locally (read in
    the practice's region, when known), or a SIP URI. Numbers become `tel:+E.164`."""
    value = value.strip()
    if not value:
        return value
    if value.lower().startswith("sip:"):
        if "@" not in value:
            raise ValueError(f"{value!r} is not a SIP URI: write sip:user@host")
        return value
    number = value[4:] if value.lower().startswith("tel:") else value
    looks_like_a_number = bool(re.fullmatch(r"[+\d\s().-]{3,}", number))
    if looks_like_a_number and (number.startswith("+") or region):
        e164 = normalize(number, region or "ZZ")
        if e164 != "unknown":
            return f"tel:{e164}"
        raise ValueError(
            f"{value!r} is not a valid phone number: check the digits and the area code "
            "(e.g. tel:+14145550100 or (414) 555-0100)"
        )
    if looks_like_a_number:
        return value  # a local number: read in the practice's region (see Practice)
    raise ValueError(
        f"{value!r} is not a phone number or SIP address: write tel:+14145550100, a local "
        "number such as (414) 555-0100, or sip:user@host"
    )


def _local_destination(field: str, value: str, region: str) -> str:
    try:
        return check_destination(value, region)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


class Insurance(Strict):
    accepted: list[str] = Field(default_factory=list)
    note: str = ""


class Policies(Strict):
    cancellation: str = ""
    cancellation_notice_hours: float = Field(default=24, ge=0, le=24 * 14)
    new_patients: str = ""
    payment: str = ""


class Emergency(Strict):
    """What the agent says and does for emergencies; it never diagnoses."""

    number: str = Field(default="911", pattern=r"^[0-9]{2,4}$")
    guidance: str = ""
    visit_type: str = ""  # the visit type offered as the soonest urgent slot


class Booking(Strict):
    step_minutes: int = Field(default=15, ge=5, le=120)
    horizon_days: int = Field(default=90, ge=1, le=366)
    # Caps on what one caller can book: per call, and upcoming visits per patient.
    max_per_call: int = Field(default=3, ge=1, le=20)
    max_upcoming_per_patient: int = Field(default=6, ge=1, le=50)


class IdentityPolicy(Strict):
    """The lock-out across calls: this many failed checks of one name, or from one number,
    within the window lock further checks (the staff are told and can clear it)."""

    max_failures: int = Field(default=5, ge=1, le=100)
    window_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEBHOOK_EXAMPLE = "https://hooks.example.com/dental"


def _check_webhook(url: str) -> None:
    """An https URL with a host; http only to this machine. A notification can carry a
    patient's name, number and reason (`details = true`), so it never crosses a network in
    clear: loopback is the one place plain http stays on the host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        raise ValueError(f"is not a URL: write it like {WEBHOOK_EXAMPLE}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValueError(f"must be an https:// URL, e.g. {WEBHOOK_EXAMPLE}")
    if not host:
        raise ValueError(f"names no host: write the receiver's whole URL, e.g. {WEBHOOK_EXAMPLE}")
    if scheme == "http" and not _loopback(host):
        raise ValueError(
            f"is http:// to {host}, so notifications (and with details = true, patients' names "
            "and numbers) would cross the network unencrypted: use https:// (http:// is only "
            "for a receiver on this machine: localhost, 127.0.0.1 or [::1])"
        )


def _loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (`urlsplit` gives the host lower-cased, without [])."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: only `localhost` is known to stay on this machine
        return False


class Notifications(Strict):
    """Who hears about messages as they arrive (the staff app shows them all anyway).

    By default a notification carries no patient data ("Urgent message at 19:40, open the staff
    app" with a link); `details = true` adds the caller's name, number and reason."""

    email: list[str] = Field(default_factory=list)
    webhook: str = ""  # an https URL receiving signed JSON (chat tools, on-call services)
    send: Literal["urgent", "all"] = "urgent"  # urgent and security messages, or every message
    details: bool = False

    @field_validator("email")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an email address: write name@example.com")
        return value

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str) -> str:
        if value:
            _check_webhook(value)
        return value

    def wanted(self, *, urgency: str, kind: str) -> bool:
        """Whether a message of this urgency and kind is announced."""
        return self.send == "all" or urgency == "urgent" or kind == "security"


class Records(Strict):
    transcripts: bool = False  # store call transcripts? Off unless the practice turns it on.


class Reminders(Strict):
    """Reminder calls the practice places before appointments: off unless turned on.

    Patients with a booked visit `hours_before[1]` to `hours_before[0]` hours ahead are called
    within `calling_hours` (the practice's zone), never on a day with a closure, up to `attempts`
    times `retry_minutes` apart. `visit_types` empty: every visit type."""

    enabled: bool = False
    hours_before: tuple[float, float] = (24.0, 48.0)
    calling_hours: Interval = Interval(start=time(9), end=time(20))
    attempts: int = Field(default=3, ge=1, le=10)
    retry_minutes: int = Field(default=120, ge=5, le=24 * 60)
    visit_types: list[str] = Field(default_factory=list)
    ringing_seconds: int = Field(default=30, ge=5, le=120)
    max_in_flight: int = Field(default=5, ge=1, le=500)
    # The LiveKit outbound trunk (ST_...); empty: the one whose numbers hold the practice's phone.
    outbound_trunk: str = Field(default="", pattern=r"^(ST_[A-Za-z0-9]+)?$")
    # Said in a voicemail; empty: the practice's phone.
    callback_number: str = ""

    @field_validator("hours_before", mode="before")
    @classmethod
    def _pair(cls, value: object) -> object:
        if isinstance(value, int | float):
            raise ValueError(f"write the range as [nearest, farthest] hours, e.g. [24, {value}]")
        return value

    @field_validator("hours_before")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        nearest, farthest = value
        if not 1 <= nearest < farthest <= 24 * 14:
            raise ValueError(
                f"[{nearest:g}, {farthest:g}] is not a range of hours before the visit: write "
                "[nearest, farthest], between 1 and 336 hours, e.g. [24, 48]"
            )
        return value

    @property
    def nearest(self) -> timedelta:
        return timedelta(hours=self.hours_before[0])

    @property
    def farthest(self) -> timedelta:
        return timedelta(hours=self.hours_before[1])

    @property
    def retry_after(self) -> timedelta:
        return timedelta(minutes=self.retry_minutes)

    def reminds(self, visit_type: str) -> bool:
        return not self.visit_types or visit_type in self.visit_types


class Practice(NamedWithId):
    """A dental practice (or one location of it) as callers and staff know it."""

    name: str = Field(min_length=1)
    timezone: str
    region: str = Field(
        min_length=2, max_length=2, description="ISO country code for local numbers"
    )
    phone: str = ""
    dialled_numbers: list[str] = Field(default_factory=list)
    address: str = ""
    parking: str = ""
    hours: WeeklyHours
    closures: list[Closure] = Field(default_factory=list)
    providers: list[Provider] = Field(default_factory=list)
    visit_types: list[VisitType] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    insurance: Insurance = Insurance()
    policies: Policies = Policies()
    emergency: Emergency = Emergency()
    booking: Booking = Booking()
    identity: IdentityPolicy = IdentityPolicy()
    notifications: Notifications = Notifications()
    records: Records = Records()
    reminders: Reminders = Reminders()
    transfers: Transfers = Transfers()
    texts: Texts = Texts()  # text messages to patients ([practice.texts], domain/texts.py)
    book: BookChoice = BookChoice()  # where the schedule lives: ours, or the practice's PMS
    # The languages callers are answered in, the default first (receptionist/domain/languages.py).
    languages: list[str] = Field(default_factory=lambda: [DEFAULT_LANGUAGE])
    language: dict[str, LanguageOptions] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone such as 'America/Chicago'"
            ) from None
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a phone-number region such as 'US' or 'GB'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Practice:
        """Cross-field checks: numbers, provider hours inside opening hours, visit-type roles."""
        for field, number in [("phone", self.phone)] + [
            ("dialled_numbers", n) for n in self.dialled_numbers
        ]:
            if number and normalize(number, self.region) == "unknown":
                raise ValueError(
                    f"{field}: {number!r} is not a complete phone number for region "
                    f'{self.region}: include the area code, e.g. "+14145550100" or '
                    '"(414) 555-0100"'
                )
        local = {
            name: _local_destination(f"transfers.{name}", value, self.region)
            for name, value in self.transfers.model_dump(include=set(DESTINATION_FIELDS)).items()
            if value and not value.startswith(("tel:", "sip:"))
        }
        if local:  # numbers written locally: now that the region is known, as tel:+E.164
            object.__setattr__(self, "transfers", self.transfers.model_copy(update=local))
        ids = [p.id for p in self.providers]
        if len(set(ids)) != len(ids):
            raise ValueError("providers: two providers share an id; give each a unique `id`")
        for p in self.providers:
            for day, spans in ((d, (p.hours or self.hours).on(i)) for i, d in enumerate(WEEKDAYS)):
                opening = self.hours.on(WEEKDAYS.index(day))
                for span in spans:
                    if not any(o.contains(span) for o in opening):
                        raise ValueError(
                            f"providers.{p.id}.hours.{day}: {span.start:%H:%M}-{span.end:%H:%M} is "
                            "outside the practice's opening hours; shorten it or extend "
                            "[practice.hours]"
                        )
        roles = {p.role for p in self.providers}
        vids = [v.id for v in self.visit_types]
        if len(set(vids)) != len(vids):
            raise ValueError("visit_types: two visit types share an id; give each a unique `id`")
        for v in self.visit_types:
            if self.providers and not set(v.roles) & roles:
                raise ValueError(
                    f"visit_types.{v.id}.roles: no provider has role {', '.join(v.roles)}; "
                    f"use one of {', '.join(sorted(roles))} or add a provider"
                )
        if self.emergency.visit_type and self.emergency.visit_type not in vids:
            raise ValueError(
                f"emergency.visit_type: {self.emergency.visit_type!r} is not a visit type id; "
                f"use one of {', '.join(vids) or '(none defined)'}"
            )
        self._check_reminders(vids)
        object.__setattr__(self, "texts", self.texts.check_against(self))
        self.book.check_against(self)
        check_languages(self.languages, self.language)
        return self

    def _check_reminders(self, vids: list[str]) -> None:
        reminders = self.reminders
        for vid in reminders.visit_types:
            if vid not in vids:
                raise ValueError(
                    f"reminders.visit_types: {vid!r} is not a visit type id; "
                    f"use one of {', '.join(vids) or '(none defined)'}"
                )
        if reminders.callback_number:
            number = normalize(reminders.callback_number, self.region)
            if number == "unknown":
                raise ValueError(
                    f"reminders.callback_number: {reminders.callback_number!r} is not a complete "
                    f'phone number for region {self.region}: e.g. "+14145550100"'
                )
            object.__setattr__(
                self, "reminders", reminders.model_copy(update={"callback_number": number})
            )
        if reminders.enabled and not self.phone:
            raise ValueError(
                "reminders.enabled: reminder calls show the practice's number as caller id; "
                "set `phone` or turn reminders off"
            )

    # --- derived views -------------------------------------------------------------------------

    @property
    def spoken_languages(self) -> list[Language]:
        """The languages a caller can be answered in, the default first."""
        return build_languages(self.languages, self.language)

    @property
    def default_language(self) -> Language:
        return self.spoken_languages[0]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def numbers(self) -> list[str]:
        """Every E.164 number that reaches this practice (its phone plus extra dialled numbers)."""
        found = [normalize(n, self.region) for n in [self.phone, *self.dialled_numbers] if n]
        return list(dict.fromkeys(n for n in found if n != "unknown"))

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def closure_on(self, day: date) -> Closure | None:
        """A closure of the whole of `day`, if any."""
        return next((c for c in self.closures if c.covers(day)), None)

    def closure_at(self, at: datetime) -> Closure | None:
        """The closure in force at `at` (a whole day, or part of one), if any."""
        local = at.astimezone(self.tz)
        return next((c for c in self.closures if c.covers_time(local.date(), local.time())), None)

    def partial_closures(self, day: date) -> list[Interval]:
        """The closed parts of `day` (wall-clock), for a day that is not closed as a whole."""
        return [c.hours for c in self.closures if c.hours is not None and c.touches(day)]

    def is_open(self, at: datetime) -> bool:
        """Whether the office is open at `at` (any aware datetime), in the practice's zone."""
        local = at.astimezone(self.tz)
        if self.closure_at(local):
            return False
        moment = local.time()
        return any(i.start <= moment < i.end for i in self.hours.on(local.weekday()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The next moment the office opens after `at`, within two weeks (None if never)."""
        local = at.astimezone(self.tz)
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            if self.closure_on(day):
                continue
            # The office opens when a span starts, or when a closure inside a span ends.
            starts = [s.start for s in self.hours.on(day.weekday())]
            starts += [i.end for i in self.partial_closures(day)]
            for start in sorted(starts):
                opens = datetime.combine(day, start, tzinfo=self.tz)
                if opens > local and self.is_open(opens):
                    return opens
        return None

    def with_closures(self, extra: Iterable[Closure]) -> Practice:
        """This profile with closures staff added (the book's), on top of practice.toml's."""
        added = list(extra)
        if not added:
            return self
        return self.model_copy(update={"closures": [*self.closures, *added]})

    def transfer_destination(self, at: datetime) -> str:
        """Staff during opening hours; the after-hours line when closed, if there is one."""
        if not self.is_open(at) and self.transfers.after_hours:
            return self.transfers.after_hours
        return self.transfers.staff

    def visit_type(self, visit_id: str) -> VisitType | None:
        return next((v for v in self.visit_types if v.id == visit_id), None)

    def provider(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def provider_hours(self, provider: Provider) -> WeeklyHours:
        return provider.hours or self.hours


# --- loading ------------------------------------------------------------------------------------


def load_practice(path: Path) -> Practice:
    """Reads and validates one practice profile (the `[practice]` table, the default location)."""
    return parse_practice(_read_toml(Path(path)), source=str(path))


def parse_practice(data: dict, source: str = "practice.toml") -> Practice:
    try:
        return Practice.model_validate(data.get("practice", data))
    except ValidationError as exc:
        raise PracticeError(source, [_explain(err, "practice") for err in exc.errors()]) from None


class PracticeDirectory:
    """Every practice/location this deployment answers for, selected by the dialled number."""

    def __init__(self, practices: Iterable[Practice], default: Practice | None = None) -> None:
        self.practices = list(practices)
        if not self.practices:
            raise PracticeError(
                "practice directory", ["no practice defined: add a [practice] table"]
            )
        self.default = default or self.practices[0]
        self._by_number: dict[str, Practice] = {}
        problems = []
        ids = [p.id for p in self.practices]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(
                f"id {dup!r} is used by two locations: give each location a unique `id`"
            )
        for practice in self.practices:
            for number in practice.numbers:
                other = self._by_number.setdefault(number, practice)
                if other is not practice:
                    problems.append(
                        f"{practice.id}.phone: {mask(number)} also reaches {other.id}; "
                        "each dialled number must select one location"
                    )
        if problems:
            raise PracticeError("practice directory", problems)

    def __iter__(self) -> Iterator[Practice]:
        return iter(self.practices)

    def __len__(self) -> int:
        return len(self.practices)

    def get(self, practice_id: str) -> Practice | None:
        return next((p for p in self.practices if p.id == practice_id), None)

    def for_dialled(self, dialled: str) -> Practice:
        """The practice a dialled number reaches, however the bridge wrote it: the number is read
        in each practice's own region (a local `4145550100` is a US number for a US practice)."""
        for practice in self.practices:
            if self._by_number.get(normalize(dialled, practice.region)) is practice:
                return practice
        return self.select(normalize(dialled, self.default.region))

    def select(self, dialled_e164: str) -> Practice:
        """The practice the caller dialled; the default (with a warning) for an unknown number."""
        found = self._by_number.get(dialled_e164 or "")
        if found is not None:
            return found
        if len(self.practices) > 1 or (dialled_e164 and dialled_e164 != "unknown"):
            log.warning(
                "dialled number %s matches no practice; answering as %s",
                mask(dialled_e164),
                self.default.id,
                extra={"dialled": mask(dialled_e164), "practice": self.default.id},
            )
        return self.default


def load_directory(path: Path) -> PracticeDirectory:
    """Loads every practice a deployment serves.

    `path` is a TOML file (its `[practice]` is the default; each `[[location]]` is another location
    that inherits any top-level table it does not set) or a directory of such files (the default is
    `practice.toml` if present, else the first file by name).
    """
    path = Path(path)
    files = [path]
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise PracticeError(str(path), ["no *.toml practice files in this directory"])
        files.sort(key=lambda f: f.name != "practice.toml")
    practices: list[Practice] = []
    broken: list[tuple[Path, PracticeError]] = []
    for file in files:  # every file's problems at once: one run tells the whole fix
        try:
            practices.extend(_practices_in(_read_toml(file), str(file)))
        except PracticeError as exc:
            broken.append((file, exc))
    if len(broken) == 1:
        raise broken[0][1]
    if broken:
        raise PracticeError(str(path), [f"{f.name}: {p}" for f, e in broken for p in e.problems])
    return PracticeDirectory(practices)


def _practices_in(data: dict, source: str) -> list[Practice]:
    """Every practice in one file, or one `PracticeError` listing all of its problems."""
    problems: list[str] = [
        f"{k}: is not a known top-level table: use [practice] or [[location]]"
        for k in sorted(set(data) - {"practice", "location"})
    ]
    base = data.get("practice")
    if not isinstance(base, dict):
        raise PracticeError(source, ["practice: is required: add a [practice] table", *problems])
    practices: list[Practice] = []
    try:
        practices.append(Practice.model_validate(base))
    except ValidationError as exc:
        problems += [_explain(err, "practice") for err in exc.errors()]
    locations = data.get("location", [])
    if not isinstance(locations, list):
        locations = []
        problems.append("location: write each location as a [[location]] table")
    for index, location in enumerate(locations):
        if not isinstance(location, dict):
            problems.append(f"location[{index}]: write each location as a [[location]] table")
            continue
        merged: dict[str, Any] = {
            k: v for k, v in base.items() if k not in ("id", "phone", "dialled_numbers")
        }
        merged.update(location)
        try:
            practices.append(Practice.model_validate(merged))
        except ValidationError as exc:
            problems += [
                _explain(err, f"location[{index}]")
                for err in exc.errors()
                if not _inherited(err, location)  # the [practice] table's, said once above
            ]
    if problems:
        raise PracticeError(source, problems)
    return practices


def _inherited(error: ErrorDetails, location: dict) -> bool:
    """Whether a location's error is in a field it inherits (and so already reported)."""
    return bool(error["loc"]) and error["loc"][0] not in location and error["type"] != "missing"


def _read_toml(path: Path) -> dict:
    """The file's tables, or a `PracticeError` naming the file and the fix: every caller (the
    agent's start-up checks, each command, the web app) reports that error and nothing else, so
    a file that cannot be read or parsed must not escape as a raw OSError or RecursionError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PracticeError(
            str(path), ["file not found: set PRACTICE_FILE to your practice.toml"]
        ) from None
    except IsADirectoryError:  # a folder named *.toml inside a PRACTICE_FILE folder
        raise PracticeError(
            str(path),
            [
                "is a folder, not a practice file: every *.toml in the PRACTICE_FILE folder is "
                "read as a practice, so rename this folder or move it out"
            ],
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise PracticeError(
            str(path),
            [
                f"is not UTF-8 text (line {line} is in another encoding): save it as UTF-8 "
                "in your editor, or convert it, e.g. "
                f"`iconv -f latin1 -t utf-8 {path.name} > new.toml`"
            ],
        ) from None
    except OSError as exc:
        raise PracticeError(
            str(path),
            [
                f"cannot be read ({exc.strerror or type(exc).__name__}): let the user running "
                "the receptionist read it, or set PRACTICE_FILE to a file it can"
            ],
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PracticeError(str(path), [f"not valid TOML: {exc}"]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise PracticeError(
            str(path),
            [
                "values are nested too deeply to read (arrays or inline tables inside one "
                "another hundreds of levels deep): a profile nests a few levels at most, so "
                "remove the nesting"
            ],
        ) from None


def _explain(error: ErrorDetails, table: str) -> str:
    field = table + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = f"is required: add it under [{table}]"
    elif error["type"] == "extra_forbidden":
        message = "is not a known field: check its spelling or remove it"
    elif error["type"] in _KINDS:
        message = _wrong_kind(error["type"], error.get("input"))
    return f"{field}: {message}"


# pydantic's type errors, in the words of someone editing a TOML file.
_KINDS = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text in quotes",
    "list_type": 'a list in brackets, e.g. ["a", "b"]',
    "dict_type": "a table",
    "model_type": "a table",
}


def _wrong_kind(kind: str, given: object) -> str:
    """`minutes = "45 min"` -> should be a whole number, not "45 min": write 45."""
    wanted = _KINDS[kind]
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    message = f"should be {wanted}, not {shown[:60]}"
    number = re.search(r"-?\d+(\.\d+)?", given) if isinstance(given, str) else None
    if number and kind.startswith(("int", "float")):
        message += f": write {number.group()} without quotes or units"
    elif kind.startswith("bool") and isinstance(given, str):
        message += ": write true or false without quotes"
    return message
