"""Which book a location keeps its schedule in (`[practice.book]` in practice.toml).

`kind = "builtin"` (the default, needs nothing) is the receptionist's own database. `kind =
"opendental"` is the practice's Open Dental, through its REST API v1: the connection (which door,
which clinic) and the explicit mapping from this profile's providers and visit types to Open
Dental's `ProvNum`s, appointment types and patterns. The keys are never in the file: they come
from the environment (`OPENDENTAL_DEVELOPER_KEY`, `OPENDENTAL_CUSTOMER_KEY`), because practice.toml
is shared and versioned and a key in it leaks every patient record the key can read.

`kind = "nexhealth"` is the practice's PMS (Dentrix, Eaglesoft, Open Dental and others) through
the NexHealth Synchronizer API: the institution's `subdomain`, the `location_id`, and the explicit
mapping from this profile's providers, visit types and chairs to NexHealth's provider ids,
appointment type ids and operatory ids. Its API key is `NEXHEALTH_API_KEY` and its address
`NEXHEALTH_BASE_URL` (settings), for the same reason.

Validated with the profile: a mistake here would otherwise surface as a wrong answer on a call.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from receptionist.domain.practice import Practice


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookKind(StrEnum):
    BUILTIN = "builtin"
    OPENDENTAL = "opendental"
    NEXHEALTH = "nexhealth"


class Door(StrEnum):
    """Open Dental's three ways in (opendental.com/site/apisetup.html): one API behind each."""

    REMOTE = "remote"  # api.opendental.com, through the office's eConnector
    LOCAL = "local"  # the Local API on the workstation running Open Dental (v22.1+)
    SERVICE = "service"  # the API Service on the office server, port 30223 (v22.2+)


DOOR_URLS = {
    Door.REMOTE: "https://api.opendental.com/api/v1",
    Door.LOCAL: "http://localhost:30222/api/v1",
}
PATTERN = re.compile(r"^[X/]+$")
MINUTES_PER_PATTERN_CHAR = 5  # Open Dental: one character of `Pattern` per 5 minutes


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class VisitMapping(_Strict):
    """How one visit type is written into Open Dental."""

    appointment_type: int = Field(default=0, ge=0)  # AppointmentTypeNum; 0: none
    pattern: str = ""  # e.g. "//XXXX//"; empty: "X" for each 5 minutes of the visit

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        value = value.strip()
        if value and not PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not an Open Dental pattern: one character per 5 minutes, X for "
                'provider time and / for assistant time, e.g. "//XXXX//"'
            )
        return value


class OpenDental(_Strict):
    """An Open Dental office: where its API is and how this profile maps onto it."""

    door: Door = Door.REMOTE
    base_url: str = ""  # empty: the door's own address (required for door = "service")
    clinic: int = Field(default=0, ge=0)  # ClinicNum; 0: the office does not use clinics
    providers: dict[str, int] = Field(default_factory=dict)  # provider id -> ProvNum
    visit_types: dict[str, VisitMapping] = Field(default_factory=dict)
    operatories: list[int] = Field(default_factory=list)  # OperatoryNums; empty: any scheduled
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    refresh_seconds: float = Field(default=15.0, ge=0, le=3600)  # appointments, by DateTStamp
    schedules_refresh_seconds: float = Field(default=300.0, ge=0, le=86400)

    @property
    def url(self) -> str:
        return (self.base_url or DOOR_URLS.get(self.door, "")).rstrip("/")

    @model_validator(mode="after")
    def _reachable(self) -> OpenDental:
        if self.door is Door.SERVICE and not self.base_url:
            raise ValueError(
                'base_url: door = "service" needs the API Service\'s address on the office '
                'server, e.g. base_url = "https://od-server.office.lan:30223/api/v1"'
            )
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                f"base_url: {self.base_url!r} is not a URL: write it like "
                '"https://api.opendental.com/api/v1"'
            )
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError(
                f"base_url: {self.url} is http:// to {parts.hostname}, so patients' records "
                "would cross the network unencrypted: use https:// (http:// only for the Local "
                "API on this machine: localhost or 127.0.0.1)"
            )
        for provider, number in self.providers.items():
            if number <= 0:
                raise ValueError(f"providers.{provider}: {number} is not a ProvNum (1 or more)")
        return self

    def pattern_for(self, visit_id: str, minutes: int) -> str:
        """The `Pattern` a visit is written with: the mapping's, else all provider time."""
        mapped = self.visit_types.get(visit_id)
        if mapped is not None and mapped.pattern:
            return mapped.pattern
        return "X" * (minutes // MINUTES_PER_PATTERN_CHAR)


SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class NexHealth(_Strict):
    """A location behind NexHealth: which institution and location, and how this profile maps
    onto its ids (every id as NexHealth's API returns it: `GET /providers`, `/operatories`,
    `/appointment_types`; `receptionist pms doctor` lists them)."""

    subdomain: str  # the institution, as in every request's `subdomain=`
    location_id: int = Field(gt=0)
    providers: dict[str, int] = Field(default_factory=dict)  # provider id -> NexHealth provider id
    visit_types: dict[str, int] = Field(default_factory=dict)  # visit id -> appointment_type_id
    operatories: list[int] = Field(default_factory=list)  # operatory ids; empty: any one offered
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    refresh_seconds: float = Field(default=15.0, ge=0, le=3600)  # open times, re-read when older
    # A booking is asynchronous: NexHealth accepts it, then its synchronizer writes it into the
    # PMS. How long a call waits for the PMS's answer, and how often it asks.
    confirm_seconds: float = Field(default=8.0, gt=0, le=60)
    poll_seconds: float = Field(default=1.0, gt=0, le=10)
    rate_limit_wait_seconds: float = Field(default=2.0, ge=0, le=30)  # longest 429 wait on a call

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str) -> str:
        value = value.strip().lower()
        if not SUBDOMAIN.match(value):
            raise ValueError(
                f"{value!r} is not a NexHealth subdomain: the institution's short name as "
                'NexHealth gave it (letters, digits, hyphens), e.g. subdomain = "lakeside-dental"'
            )
        return value

    @model_validator(mode="after")
    def _ids(self) -> NexHealth:
        for provider, number in self.providers.items():
            if number <= 0:
                raise ValueError(
                    f"providers.{provider}: {number} is not a NexHealth provider id (1 or more)"
                )
        for visit, number in self.visit_types.items():
            if number <= 0:
                raise ValueError(
                    f"visit_types.{visit}: {number} is not a NexHealth appointment_type_id"
                )
        return self


class BookChoice(_Strict):
    """`[practice.book]`: the built-in book, or Open Dental or NexHealth with its settings."""

    kind: BookKind = BookKind.BUILTIN
    opendental: OpenDental | None = None
    nexhealth: NexHealth | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        kinds = [k.value for k in BookKind]
        if isinstance(value, str) and value.strip().lower() in kinds:
            return value.strip().lower()
        raise ValueError(
            f'{value!r} is not a kind of book: write "builtin" (the receptionist\'s own), '
            '"opendental" (with an [practice.book.opendental] table) or "nexhealth" (with an '
            "[practice.book.nexhealth] table)"
        )

    @model_validator(mode="after")
    def _settings(self) -> BookChoice:
        if self.kind is BookKind.OPENDENTAL and self.opendental is None:
            raise ValueError(
                'kind = "opendental" needs a [practice.book.opendental] table: at least '
                "providers = { <provider id> = <ProvNum>, ... }"
            )
        if self.kind is BookKind.NEXHEALTH and self.nexhealth is None:
            raise ValueError(
                'kind = "nexhealth" needs a [practice.book.nexhealth] table: at least '
                "subdomain, location_id and providers = { <provider id> = <NexHealth provider "
                "id>, ... }"
            )
        return self

    def check_against(self, practice: Practice) -> None:
        """Every provider and visit type of the profile is mapped, and nothing unknown is:
        an unmapped provider would be offered and then fail to be written."""
        if self.kind is BookKind.NEXHEALTH and self.nexhealth is not None:
            _check_nexhealth(self.nexhealth, practice)
            return
        od = self.opendental
        if self.kind is not BookKind.OPENDENTAL or od is None:
            return
        ids = {p.id for p in practice.providers}
        for provider in practice.providers:
            if provider.id not in od.providers:
                raise ValueError(
                    f"book.opendental.providers: {provider.id} has no ProvNum: add "
                    f"{provider.id} = <ProvNum> (Open Dental's GET /providers lists them)"
                )
        for unknown in sorted(set(od.providers) - ids):
            raise ValueError(
                f"book.opendental.providers.{unknown}: no provider has this id; use one of "
                f"{', '.join(sorted(ids)) or '(none defined)'}"
            )
        visits = {v.id: v for v in practice.visit_types}
        for unknown in sorted(set(od.visit_types) - set(visits)):
            raise ValueError(
                f"book.opendental.visit_types.{unknown}: no visit type has this id; use one "
                f"of {', '.join(sorted(visits)) or '(none defined)'}"
            )
        for visit in practice.visit_types:
            if visit.duration_minutes % MINUTES_PER_PATTERN_CHAR:
                raise ValueError(
                    f"visit_types.{visit.id}.duration_minutes: Open Dental books in 5-minute "
                    f"steps; make {visit.duration_minutes} a multiple of 5"
                )
            pattern = od.pattern_for(visit.id, visit.duration_minutes)
            if len(pattern) * MINUTES_PER_PATTERN_CHAR != visit.duration_minutes:
                raise ValueError(
                    f"book.opendental.visit_types.{visit.id}.pattern: {pattern!r} lasts "
                    f"{len(pattern) * MINUTES_PER_PATTERN_CHAR} minutes but the visit type "
                    f"lasts {visit.duration_minutes}: make them agree"
                )


def _check_nexhealth(nh: NexHealth, practice: Practice) -> None:
    """Every provider mapped to a NexHealth provider id, and no id in the table unknown."""
    ids = {p.id for p in practice.providers}
    for provider in practice.providers:
        if provider.id not in nh.providers:
            raise ValueError(
                f"book.nexhealth.providers: {provider.id} has no NexHealth provider id: add "
                f"{provider.id} = <id> (`receptionist pms doctor` lists NexHealth's providers)"
            )
    for unknown in sorted(set(nh.providers) - ids):
        raise ValueError(
            f"book.nexhealth.providers.{unknown}: no provider has this id; use one of "
            f"{', '.join(sorted(ids)) or '(none defined)'}"
        )
    visits = {v.id for v in practice.visit_types}
    for unknown in sorted(set(nh.visit_types) - visits):
        raise ValueError(
            f"book.nexhealth.visit_types.{unknown}: no visit type has this id; use one of "
            f"{', '.join(sorted(visits)) or '(none defined)'}"
        )
