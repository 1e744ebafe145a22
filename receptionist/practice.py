"""The practice profile (`practice.toml`): who the practice is, when it is open, where calls go.

Validated once at start-up; each error names the field and how to fix it. The domain layer does not
import LiveKit.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class PracticeError(Exception):
    """A broken practice profile: one line per problem, each naming the field and the fix."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(Strict):
    """An opening interval in local time, e.g. `["08:00", "17:00"]` in the TOML."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError('write an interval as ["HH:MM", "HH:MM"]')
            return {"start": value[0], "end": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end <= self.start:
            raise ValueError(f"closes ({self.end:%H:%M}) before it opens ({self.start:%H:%M})")
        return self


DayHours = Annotated[list[Interval], Field(default_factory=list)]


class WeeklyHours(Strict):
    """Opening intervals per weekday; a missing or empty day is closed."""

    monday: DayHours
    tuesday: DayHours
    wednesday: DayHours
    thursday: DayHours
    friday: DayHours
    saturday: DayHours
    sunday: DayHours

    def on(self, weekday: int) -> list[Interval]:
        return getattr(self, WEEKDAYS[weekday])


class Transfers(Strict):
    """Where calls go when a human is needed: `tel:+E.164` or a `sip:` URI."""

    staff: str = ""
    after_hours: str = ""

    @field_validator("staff", "after_hours")
    @classmethod
    def _destination(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if value.lower().startswith("sip:"):
            if "@" not in value:
                raise ValueError(f"{value!r} is not a SIP URI: write sip:user@host")
            return value
        if value.lower().startswith("tel:"):
            number = value[4:]
            try:
                parsed = phonenumbers.parse(number, None)
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed and phonenumbers.is_valid_number(parsed):
                return "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        raise ValueError(f"{value!r} must be tel:+<E.164 number> (e.g. tel:+14145550100) or sip:user@host")


class Practice(Strict):
    """A dental practice as callers and staff know it."""

    name: str = Field(min_length=1)
    timezone: str
    region: str = Field(min_length=2, max_length=2, description="ISO country code for local numbers")
    phone: str = ""
    address: str = ""
    hours: WeeklyHours
    transfers: Transfers = Transfers()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as 'America/Chicago'") from None
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a phone-number region such as 'US' or 'GB'")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def is_open(self, at: datetime) -> bool:
        """Whether the office is open at `at` (any aware datetime), judged in the practice's zone."""
        local = at.astimezone(self.tz)
        moment = local.time()
        return any(i.start <= moment < i.end for i in self.hours.on(local.weekday()))

    def transfer_destination(self, at: datetime) -> str:
        """Staff during opening hours; the after-hours line when closed, if there is one."""
        if not self.is_open(at) and self.transfers.after_hours:
            return self.transfers.after_hours
        return self.transfers.staff


def load_practice(path: Path) -> Practice:
    """Reads and validates a practice profile; raises `PracticeError` naming each bad field."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PracticeError(str(path), ["file not found: set PRACTICE_FILE to your practice.toml"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PracticeError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_practice(data, source=str(path))


def parse_practice(data: dict, source: str = "practice.toml") -> Practice:
    try:
        return Practice.model_validate(data.get("practice", data))
    except ValidationError as exc:
        raise PracticeError(source, [_explain(err) for err in exc.errors()]) from None


def _explain(error: dict) -> str:
    field = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required: add it under [practice]"
    elif error["type"] == "extra_forbidden":
        message = "is not a known field: check its spelling or remove it"
    return f"{field}: {message}"
