"""A strict simulator of the NexHealth Synchronizer API parts the receptionist uses, written from
its public pages (docs.nexhealth.com: Authentication, Response body, Response codes, Rate
limiting, Patients, Available Slots, Appointments, Edit Appointment).

A real HTTP server on loopback (aiohttp), reached exactly as NexHealth would be: through the
`NEXHEALTH_BASE_URL` and `NEXHEALTH_API_KEY` settings and `[practice.book.nexhealth]`. Strict
where the real API is:

- **Authentication**: `POST /authenticates` with the API key as `Authorization` exchanges it for
  a bearer token (a JWT whose `exp` says when it lapses; an hour in production); every other
  route wants `Authorization: Bearer <token>` and answers 401 otherwise (`expire_tokens` makes
  every token issued so far lapse, as an hour passing would).
- **Version**: `Nex-Api-Version: v3.0.0` (or its other name v20240412), or the older
  `Accept: application/vnd.Nexhealth+json;version=2`; without either, 400.
- **The envelope** `{code, data, description, error, count}` on every answer; `code` false with
  the reasons in `error` on a 4xx; parameters a route does not take are reported in `error` on an
  otherwise successful answer (as the Response body page shows).
- **Paging** by `page` and `per_page`, `count` the total across pages.
- **Scope**: `subdomain` on every request, `location_id` where the route needs it.
- **Appointments are asynchronous**: `POST /appointments` (future start times only) answers 201
  with `foreign_id: null`; the synchronizer writes it into the PMS later (`settle`, or by itself
  on the appointment's next read): inserted, it gets the PMS's `foreign_id`; refused (the PMS
  already has a booking in that chair or for that provider then), it comes back `cancelled`. The
  webhook events NexHealth would send are kept in `events`. `PATCH /appointments/{id}` changes
  only `confirmed`, `cancelled` and `checkin_at` ("to reschedule, cancel and re-create").
- **Available slots**: working hours per provider and operatory, minus schedule blocks (read as
  appointments with `unavailable: true`), minus every appointment holding the chair or the
  provider; one slot per start time even when several chairs are free, with `operatory_id`, and
  `next_available_date` when the range has none.

Faults (`fault`): a status (401, 429 with `Retry-After`, 5xx), a delay, or a lost answer (carried
out, then the connection dropped) for the next N matching requests; `before` hooks run just
before a request is handled, `before_insert` ones just before the synchronizer writes into the PMS
(the front desk a moment quicker).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time as wallclock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

API_KEY = "sim-nexhealth-api-key"
SUBDOMAIN = "lakeside-dental"
LOCATION_ID = 101
TZ = ZoneInfo("America/Chicago")
VERSIONS = {"v3.0.0", "v20240412"}
V2_ACCEPT = "application/vnd.Nexhealth+json;version=2"
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MAX_PER_PAGE = 50


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int | None = None
    delay: float = 0.0
    lose_answer: bool = False
    times: int = 1
    retry_after: str = "1"


@dataclass
class Hook:
    method: str
    path: re.Pattern[str]
    run: Callable[[NexHealthSim], None]
    times: int = 1


class Problem(web.HTTPException):
    """A NexHealth error answer: the envelope with `code` false and the reasons."""

    def __init__(self, status: int, *reasons: str) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps(envelope(None, code=False, error=list(reasons))),
            content_type="application/json",
        )


def envelope(
    data: Any, *, code: bool = True, error: list[str] | None = None, count: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "description": [] if code else ["The request could not be completed"],
        "error": error or [],
        "data": data,
    }
    if count is not None:
        body["count"] = count
    return body


def iso(value: datetime) -> str:
    """NexHealth's times: ISO 8601 with milliseconds and the location's offset."""
    return value.astimezone(TZ).isoformat(timespec="milliseconds")


def parse_time(value: object, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f"{name} is not a valid ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise Problem(400, f"{name} must include a UTC offset")
    return parsed


def _jwt(exp: int) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    payload = {"sub": "1", "scp": "api_user", "exp": exp, "jti": secrets.token_hex(8)}
    return f"{part({'alg': 'HS256'})}.{part(payload)}.{secrets.token_urlsafe(16)}"


@dataclass
class NexHealthSim:
    """The institution's NexHealth and, behind it, the PMS. `clock` is NexHealth's now (the
    location's zone); writes never move it, so tests decide what is past and future."""

    api_key: str = API_KEY
    subdomain: str = SUBDOMAIN
    location_id: int = LOCATION_ID
    clock: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    token_seconds: int = 3600
    settle_on_read: bool = True  # a pending insert settles when next read (else: `settle()`)
    providers: list[dict[str, Any]] = field(default_factory=list)
    operatories: list[dict[str, Any]] = field(default_factory=list)
    appointment_types: list[dict[str, Any]] = field(default_factory=list)
    working_hours: list[dict[str, Any]] = field(default_factory=list)
    patients: dict[int, dict[str, Any]] = field(default_factory=dict)
    appointments: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, int]] = field(default_factory=list)  # webhook event, appointment id
    faults: list[Fault] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    insert_hooks: list[Callable[[NexHealthSim, dict[str, Any]], None]] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # method, path?query, status
    unknown_params: list[str] = field(default_factory=list)
    tokens: dict[str, bool] = field(default_factory=dict)  # token -> still valid
    authentications: int = 0
    base_url: str = ""
    _pending: set[int] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _next_id: int = 1000

    # --- the server ----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/authenticates", self._authenticate)
        r.add_get("/locations/{id}", self._location)
        r.add_get("/providers", self._providers)
        r.add_get("/operatories", self._operatories)
        r.add_get("/appointment_types", self._appointment_types)
        r.add_get("/available_slots", self._available_slots)
        r.add_get("/patients", self._patients)
        r.add_post("/patients", self._create_patient)
        r.add_get("/appointments", self._appointments)
        r.add_get("/appointments/{id}", self._appointment)
        r.add_post("/appointments", self._create_appointment)
        r.add_patch("/appointments/{id}", self._edit_appointment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fault(self, method: str, path: str, **kwargs: Any) -> Fault:
        """The next `times` requests matching `method` and the `path` regex fail as told:
        `status=`, `delay=` seconds, `lose_answer=True`, `retry_after=` (a 429's header)."""
        made = Fault(method, re.compile(path), **kwargs)
        self.faults.append(made)
        return made

    def before(
        self, method: str, path: str, run: Callable[[NexHealthSim], None], times: int = 1
    ) -> None:
        self.hooks.append(Hook(method, re.compile(path), run, times))

    def before_insert(self, run: Callable[[NexHealthSim, dict[str, Any]], None]) -> None:
        """Runs once, just before the synchronizer writes the next pending appointment."""
        self.insert_hooks.append(run)

    def expire_tokens(self) -> None:
        """Every token issued so far lapses (an hour went by)."""
        self.tokens = dict.fromkeys(self.tokens, False)

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if m in ("POST", "PATCH", "DELETE")]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            version = request.headers.get("Nex-Api-Version", "")
            if version not in VERSIONS and request.headers.get("Accept") != V2_ACCEPT:
                raise Problem(
                    400, "Nex-Api-Version header is required (v3.0.0), or Accept version=2"
                )
            if request.path != "/authenticates":
                self._check_token(request)
                if request.query.get("subdomain") != self.subdomain:
                    raise Problem(403, "You do not have access to this subdomain")
            fault = self._fault(request)
            if fault is not None and fault.delay:
                await request.read()
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.status:
                if fault.status == 429:
                    raise web.HTTPTooManyRequests(
                        headers={"Retry-After": fault.retry_after},
                        text=json.dumps(envelope(None, code=False, error=["Too many requests"])),
                        content_type="application/json",
                    )
                raise Problem(fault.status, "simulated failure")
            for hook in self.hooks:
                if (
                    hook.times > 0
                    and hook.method == request.method
                    and hook.path.fullmatch(request.path)
                ):
                    hook.times -= 1
                    hook.run(self)
            response = await handler(request)
        except web.HTTPException as exc:
            self.log.append((request.method, request.path_qs, exc.status))
            raise
        self.log.append((request.method, request.path_qs, response.status))
        if fault is not None and fault.lose_answer:
            assert request.transport is not None
            request.transport.close()
        return response

    def _fault(self, request: web.Request) -> Fault | None:
        """The fault this (authenticated) request meets, if any, used up by it."""
        fault = next(
            (
                f
                for f in self.faults
                if f.times > 0 and f.method == request.method and f.path.fullmatch(request.path)
            ),
            None,
        )
        if fault is not None:
            fault.times -= 1
        return fault

    def _check_token(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not self.tokens.get(token):
            raise Problem(401, "Unauthorized: the bearer token is missing, invalid or expired")

    def _ok(
        self,
        request: web.Request,
        data: Any,
        *,
        allowed: set[str],
        status: int = 200,
        count: int | None = None,
    ) -> web.Response:
        unknown = sorted(set(request.query) - allowed - {"subdomain"})
        self.unknown_params += unknown
        errors = [f"Unaccepted parameter: {name}" for name in unknown]
        return web.json_response(envelope(data, error=errors, count=count), status=status)

    def _paged(self, request: web.Request, rows: list[dict[str, Any]], allowed: set[str]):
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", "5"))
        except ValueError:
            raise Problem(400, "page and per_page must be integers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise Problem(400, f"page must be 1 or more, per_page 1 to {MAX_PER_PAGE}")
        chunk = rows[(page - 1) * per_page : page * per_page]
        return self._ok(request, chunk, allowed=allowed | {"page", "per_page"}, count=len(rows))

    def _location_scope(self, request: web.Request) -> None:
        if request.query.get("location_id") != str(self.location_id):
            raise Problem(400, "location_id is required and must be a location of this subdomain")

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Problem(400, "Content-Type must be application/json")
        try:
            body = await request.json()
        except ValueError:
            raise Problem(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Problem(400, "the body must be a JSON object")
        return body

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- routes --------------------------------------------------------------------------------

    async def _authenticate(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.api_key:
            raise Problem(401, "Unauthorized: the API key is invalid")
        self.authentications += 1
        token = _jwt(int(wallclock.time()) + self.token_seconds)
        self.tokens[token] = True
        body = envelope({"token": token})
        body["description"] = "Authenticated"
        return web.json_response(body, status=201)

    async def _location(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != str(self.location_id):
            raise Problem(404, "Location not found")
        data = {
            "id": self.location_id,
            "name": "Lakeside Family Dental",
            "tz": "America/Chicago",
            "map_by_operatory": True,
            "inactive": False,
        }
        return self._ok(request, data, allowed=set())

    async def _providers(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        return self._paged(request, self.providers, {"location_id", "inactive"})

    async def _operatories(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        return self._paged(request, self.operatories, {"location_id"})

    async def _appointment_types(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        return self._paged(request, self.appointment_types, {"location_id"})

    async def _patients(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        q = request.query
        rows = sorted(self.patients.values(), key=lambda p: p["id"])
        if "name" in q:  # NexHealth matches names loosely; any part of the full name
            words = q["name"].lower().split()
            rows = [p for p in rows if all(w in p["name"].lower() for w in words)]
        if "date_of_birth" in q:
            try:
                date.fromisoformat(q["date_of_birth"])
            except ValueError:
                raise Problem(400, "date_of_birth must be YYYY-MM-DD") from None
            rows = [p for p in rows if p["bio"]["date_of_birth"] == q["date_of_birth"]]
        if "phone_number" in q:
            digits = re.sub(r"\D", "", q["phone_number"])[-10:]
            rows = [p for p in rows if p["bio"]["phone_number"][-10:] == digits]
        return self._paged(
            request, rows, {"location_id", "name", "date_of_birth", "phone_number", "new_patient"}
        )

    async def _create_patient(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        body = await self._json(request)
        provider = body.get("provider")
        patient = body.get("patient")
        if not isinstance(provider, dict) or not isinstance(patient, dict):
            raise Problem(400, "provider and patient are required")
        if not any(p["id"] == provider.get("provider_id") for p in self.providers):
            raise Problem(400, "provider.provider_id is not a provider of this location")
        bio = patient.get("bio") or {}
        missing = [
            name
            for name, value in (
                ("patient.first_name", patient.get("first_name")),
                ("patient.last_name", patient.get("last_name")),
                ("patient.bio.date_of_birth", bio.get("date_of_birth")),
            )
            if not str(value or "").strip()
        ]
        if missing:
            raise Problem(400, *(f"{name} is required" for name in missing))
        try:
            date.fromisoformat(str(bio["date_of_birth"]))
        except ValueError:
            raise Problem(400, "patient.bio.date_of_birth must be YYYY-MM-DD") from None
        row = self.add_patient(
            str(patient["first_name"]),
            str(patient["last_name"]),
            str(bio["date_of_birth"]),
            phone=str(bio.get("phone_number", "")),
            email=str(patient.get("email", "")),
        )
        return self._ok(request, {"user": row}, allowed={"location_id"}, status=201)

    async def _available_slots(self, request: web.Request) -> web.Response:
        q = request.query
        allowed = {
            "start_date",
            "days",
            "lids[]",
            "pids[]",
            "operatory_ids[]",
            "slot_length",
            "slot_interval",
            "appointment_type_id",
            "overlapping_operatory_slots",
        }
        try:
            first = date.fromisoformat(q["start_date"])
            days = int(q["days"])
        except KeyError as exc:
            raise Problem(400, f"{exc.args[0]} is required") from None
        except ValueError:
            raise Problem(400, "start_date must be YYYY-MM-DD and days an integer") from None
        lids = [int(v) for v in q.getall("lids[]", [])]
        if not lids:
            raise Problem(400, "lids[] is required")
        if any(lid != self.location_id for lid in lids):
            raise Problem(400, "lids[] must be locations of this subdomain")
        if not 1 <= days <= 365:
            raise Problem(400, "days must be between 1 and 365")
        pids = [int(v) for v in q.getall("pids[]", [])] or [p["id"] for p in self.providers]
        ops = {int(v) for v in q.getall("operatory_ids[]", [])}
        length = int(q.get("slot_length", "15"))
        if "appointment_type_id" in q:
            kind = next(
                (t for t in self.appointment_types if str(t["id"]) == q["appointment_type_id"]),
                None,
            )
            if kind is None:
                raise Problem(400, "appointment_type_id is not an appointment type here")
            length = int(kind["minutes"])
        interval = int(q.get("slot_interval", str(length)))
        data = []
        for pid in pids:
            slots = [
                s
                for d in range(days)
                for s in self.slots(pid, first + timedelta(d), length, interval, ops)
            ]
            entry: dict[str, Any] = {"lid": self.location_id, "pid": pid, "slots": slots}
            entry["next_available_date"] = None
            if not slots:
                for d in range(days, days + 180):
                    day = first + timedelta(d)
                    if self.slots(pid, day, length, interval, ops):
                        entry["next_available_date"] = day.isoformat()
                        break
            data.append(entry)
        return self._ok(request, data, allowed=allowed)

    async def _appointments(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        q = request.query
        try:
            start, end = parse_time(q["start"], "start"), parse_time(q["end"], "end")
        except KeyError as exc:
            raise Problem(400, f"{exc.args[0]} is required") from None
        self._settle_read(None)
        rows = [
            a
            for a in sorted(self.appointments.values(), key=lambda a: a["id"])
            if start <= parse_time(a["start_time"], "start_time") <= end and not a["deleted"]
        ]
        if "patient_id" in q:
            rows = [a for a in rows if str(a["patient_id"]) == q["patient_id"]]
        if "cancelled" in q:
            rows = [a for a in rows if str(a["cancelled"]).lower() == q["cancelled"]]
        if "unavailable" in q:
            rows = [a for a in rows if str(a["unavailable"]).lower() == q["unavailable"]]
        allowed = {"location_id", "start", "end", "patient_id", "cancelled", "unavailable"}
        return self._paged(request, rows, allowed)

    def _get(self, request: web.Request) -> dict[str, Any]:
        try:
            row = self.appointments.get(int(request.match_info["id"]))
        except ValueError:
            raise Problem(400, "id must be an integer") from None
        if row is None or row["deleted"]:
            raise Problem(404, "Appointment not found")
        return row

    async def _appointment(self, request: web.Request) -> web.Response:
        row = self._get(request)
        self._settle_read(row["id"])
        return self._ok(request, row, allowed={"include[]"})

    async def _create_appointment(self, request: web.Request) -> web.Response:
        self._location_scope(request)
        body = await self._json(request)
        appt = body.get("appt")
        if not isinstance(appt, dict):
            raise Problem(400, "appt is required")
        reasons = [
            f"appt.{k} is required"
            for k in ("patient_id", "provider_id", "start_time")
            if k not in appt
        ]
        if "operatory_id" not in appt:  # map_by_operatory is true at this location
            reasons.append("appt.operatory_id is required at a location mapped by operatory")
        if "end_time" not in appt and "appointment_type_id" not in appt:
            reasons.append("appt.end_time or appt.appointment_type_id is required")
        if reasons:
            raise Problem(400, *reasons)
        start = parse_time(appt["start_time"], "appt.start_time")
        if start <= self.clock:
            raise Problem(400, "appt.start_time must be in the future")
        if appt["patient_id"] not in self.patients:
            raise Problem(400, "appt.patient_id is not a patient of this location")
        if not any(p["id"] == appt["provider_id"] for p in self.providers):
            raise Problem(400, "appt.provider_id is not a provider of this location")
        if not any(o["id"] == appt["operatory_id"] and o["active"] for o in self.operatories):
            raise Problem(400, "appt.operatory_id is not an active operatory of this location")
        if "end_time" in appt:
            end = parse_time(appt["end_time"], "appt.end_time")
        else:
            kind = next(
                (t for t in self.appointment_types if t["id"] == appt["appointment_type_id"]), None
            )
            if kind is None:
                raise Problem(400, "appt.appointment_type_id is not an appointment type here")
            end = start + timedelta(minutes=int(kind["minutes"]))
        if end <= start:
            raise Problem(400, "appt.end_time must be after appt.start_time")
        row = self._row(
            patient=appt["patient_id"],
            provider=appt["provider_id"],
            op=appt["operatory_id"],
            start=start,
            end=end,
            kind=appt.get("appointment_type_id"),
            note=str(appt.get("note", "")),
            foreign_id=None,
        )
        self._pending.add(row["id"])
        return self._ok(
            request, {"appt": row}, allowed={"location_id", "notify_patient"}, status=201
        )

    async def _edit_appointment(self, request: web.Request) -> web.Response:
        row = self._get(request)
        body = await self._json(request)
        appt = body.get("appt")
        if not isinstance(appt, dict) or not appt:
            raise Problem(400, "appt is required")
        unknown = sorted(set(appt) - {"confirmed", "cancelled", "checkin_at"})
        if unknown:
            raise Problem(
                400,
                f"appt.{unknown[0]} cannot be edited: only confirmed, cancelled and checkin_at; "
                "to reschedule, cancel the appointment and create a new one",
            )
        if "cancelled" in appt:
            if appt["cancelled"] is not True:
                raise Problem(400, "appt.cancelled can only be set to true")
            row["cancelled"] = True
            self._pending.discard(row["id"])
        if "confirmed" in appt:
            if appt["confirmed"] is not True:
                raise Problem(400, "appt.confirmed can only go from false to true")
            row["confirmed"] = True
        row["updated_at"] = iso(self.clock)
        return self._ok(request, {"appt": row}, allowed=set())

    # --- the synchronizer ----------------------------------------------------------------------

    def _settle_read(self, appointment_id: int | None) -> None:
        if not self.settle_on_read:
            return
        for pending in sorted(self._pending):
            if appointment_id is None or pending == appointment_id:
                self.settle(pending)

    def settle(self, appointment_id: int | None = None) -> None:
        """The synchronizer writes pending appointments (one, or all) into the PMS: inserted
        unless the PMS already has a booking in that chair or for that provider then."""
        for pending in sorted(self._pending):
            if appointment_id is not None and pending != appointment_id:
                continue
            self._pending.discard(pending)
            row = self.appointments[pending]
            while self.insert_hooks:
                self.insert_hooks.pop(0)(self, row)
            rivals = [
                a
                for a in self.appointments.values()
                if a["id"] != row["id"]
                and a["foreign_id"]
                and self._holds(a)
                and (
                    a["operatory_id"] == row["operatory_id"]
                    or a["provider_id"] == row["provider_id"]
                )
                and _overlap(a, row)
            ]
            if rivals:
                row["cancelled"] = True
                self.events.append(("appointment_insertion.failed", row["id"]))
            else:
                row["foreign_id"] = f"PMS-{row['id']}"
                self.events.append(("appointment_insertion.complete", row["id"]))
            row["updated_at"] = iso(self.clock)

    # --- slots ---------------------------------------------------------------------------------

    @staticmethod
    def _holds(a: dict[str, Any]) -> bool:
        return not a["cancelled"] and not a["deleted"]

    def slots(
        self, pid: int, day: date, length: int, interval: int, ops: set[int] | None = None
    ) -> list[dict[str, Any]]:
        """Start times on `day` when `pid` is free for `length` minutes in one operatory."""
        found: dict[datetime, int] = {}
        taken = [a for a in self.appointments.values() if self._holds(a)]
        for wh in self.working_hours:
            if (
                wh["provider_id"] != pid
                or not wh["active"]
                or DAYS[day.weekday()] not in wh["days"]
            ):
                continue
            op = wh["operatory_id"]
            if ops and op not in ops:
                continue
            if not any(o["id"] == op and o["active"] for o in self.operatories):
                continue
            begin = datetime.combine(day, time.fromisoformat(wh["begin_time"]), tzinfo=TZ)
            stop = datetime.combine(day, time.fromisoformat(wh["end_time"]), tzinfo=TZ)
            blocking = [
                (parse_time(a["start_time"], ""), parse_time(a["end_time"], ""))
                for a in taken
                if a["operatory_id"] == op or a["provider_id"] == pid
            ]
            at = begin
            while at + timedelta(minutes=length) <= stop:
                end = at + timedelta(minutes=length)
                if at > self.clock and not any(s < end and at < e for s, e in blocking):
                    found.setdefault(at, op)
                    found[at] = min(found[at], op)
                at += timedelta(minutes=interval)
        return [
            {"time": iso(at), "end_time": iso(at + timedelta(minutes=length)), "operatory_id": op}
            for at, op in sorted(found.items())
        ]

    # --- the practice's own data (the front desk, in the PMS) ----------------------------------

    def add_patient(
        self, first: str, last: str, birth: str, *, phone: str = "", email: str = ""
    ) -> dict[str, Any]:
        pid = self._new_id()
        row = {
            "id": pid,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": email,
            "inactive": False,
            "location_ids": [self.location_id],
            "foreign_id": f"PAT-{pid}",
            "created_at": iso(self.clock),
            "bio": {"date_of_birth": birth, "phone_number": phone, "gender": None},
        }
        self.patients[pid] = row
        return row

    def _row(
        self,
        *,
        patient: int | None,
        provider: int,
        op: int,
        start: datetime,
        end: datetime,
        kind: int | None = None,
        note: str = "",
        foreign_id: str | None = "",
        unavailable: bool = False,
        cancelled: bool = False,
    ) -> dict[str, Any]:
        aid = self._new_id()
        name = next((p["name"] for p in self.providers if p["id"] == provider), "")
        row = {
            "id": aid,
            "patient_id": patient,
            "provider_id": provider,
            "provider_name": name,
            "operatory_id": op,
            "location_id": self.location_id,
            "start_time": iso(start),
            "end_time": iso(end),
            "appointment_type_id": kind,
            "note": note,
            "confirmed": False,
            "cancelled": cancelled,
            "unavailable": unavailable,
            "deleted": False,
            "patient_missed": False,
            "checkin_at": None,
            "timezone": "America/Chicago",
            "foreign_id": f"PMS-{aid}" if foreign_id == "" else foreign_id,
            "foreign_id_type": "msg-dentrix-Appointment",
            "created_at": iso(self.clock),
            "updated_at": iso(self.clock),
        }
        self.appointments[aid] = row
        return row

    def add_appointment(
        self,
        patient: int | None,
        op: int,
        at: datetime,
        minutes: int,
        *,
        provider: int,
        cancelled: bool = False,
        unavailable: bool = False,
        note: str = "",
    ) -> dict[str, Any]:
        """A booking (or a block) already in the PMS, synced into NexHealth."""
        start = at if at.tzinfo else at.replace(tzinfo=TZ)
        return self._row(
            patient=patient,
            provider=provider,
            op=op,
            start=start,
            end=start + timedelta(minutes=minutes),
            note=note,
            unavailable=unavailable,
            cancelled=cancelled,
        )

    def held(self, patient: int | None = None) -> list[dict[str, Any]]:
        """Appointments the PMS holds now (inserted, not cancelled), optionally one patient's."""
        return [
            a
            for a in self.appointments.values()
            if self._holds(a)
            and a["foreign_id"]
            and not a["unavailable"]
            and (patient is None or a["patient_id"] == patient)
        ]

    def patient_named(self, first: str, last: str) -> dict[str, Any] | None:
        return next(
            (
                p
                for p in self.patients.values()
                if p["first_name"] == first and p["last_name"] == last
            ),
            None,
        )

    # --- the seeded location -------------------------------------------------------------------

    def seed_practice(self) -> None:
        """A location shaped like practice.toml's example (ids 201-203 are mapped there)."""
        self.providers = [
            {
                "id": pid,
                "first_name": f,
                "last_name": ln,
                "name": f"{f} {ln}",
                "inactive": off,
                "npi": None,
                "foreign_id": f"PROV{pid}",
            }
            for pid, f, ln, off in [
                (201, "Amara", "Okafor", False),
                (202, "Erik", "Lindqvist", False),
                (203, "Maria", "Santos", False),
                (204, "Priya", "Shah", False),
                (205, "Retired", "Doc", True),
            ]
        ]
        self.operatories = [
            {
                "id": oid,
                "name": name,
                "location_id": self.location_id,
                "active": active,
                "foreign_id": f"OP{oid}",
            }
            for oid, name, active in [
                (301, "Operatory 1", True),
                (302, "Operatory 2", True),
                (303, "Hygiene 1", True),
                (304, "Hygiene 2", True),
                (305, "Storage", False),
            ]
        ]
        self.appointment_types = [
            {
                "id": tid,
                "name": name,
                "minutes": minutes,
                "parent_type": "Location",
                "parent_id": self.location_id,
                "bookable_online": True,
            }
            for tid, name, minutes in [
                (401, "Prophy", 60),
                (402, "New Patient Exam", 60),
                (403, "Restorative", 45),
                (404, "Emergency", 30),
            ]
        ]
        weekdays = DAYS[:5]

        def hours(pid: int, op: int, days: list[str], begin: str, end: str) -> None:
            self.working_hours.append(
                {
                    "id": len(self.working_hours) + 1,
                    "provider_id": pid,
                    "operatory_id": op,
                    "days": days,
                    "begin_time": begin,
                    "end_time": end,
                    "active": True,
                    "synced": True,
                }
            )

        hours(201, 301, weekdays[:4], "08:00", "12:00")  # Dr. Okafor: lunch is a gap
        hours(201, 301, weekdays[:4], "13:00", "17:00")
        hours(201, 301, ["Friday"], "08:00", "14:00")
        hours(202, 302, ["Monday", "Thursday"], "08:00", "17:00")
        hours(202, 302, ["Wednesday"], "13:00", "19:00")
        hours(202, 302, ["Friday"], "08:00", "14:00")
        hours(203, 303, ["Monday", "Tuesday", "Thursday"], "08:00", "17:00")
        hours(203, 303, ["Wednesday"], "08:00", "19:00")
        hours(204, 304, ["Tuesday", "Thursday"], "08:00", "17:00")
        # Schedule blocks (read as unavailable appointments): Maria's lunch on Wednesday, a
        # training afternoon on Monday the 30th.
        for day in (date(2026, 11, 25), date(2026, 12, 2)):
            self.add_appointment(
                None,
                303,
                datetime.combine(day, time(12)),
                60,
                provider=203,
                unavailable=True,
                note="Lunch",
            )
        self.add_appointment(
            None,
            303,
            datetime(2026, 11, 30, 13),
            240,
            provider=203,
            unavailable=True,
            note="Training",
        )
        ann = self.add_patient("Ann", "Lee", "1980-02-29", phone="4144007103")
        self.add_patient("Bob", "Stone", "1975-06-01", phone="4144007103")
        others = [
            self.add_patient(f"Pat{i}", "Other", f"19{60 + i}-01-0{1 + i % 9}")["id"]
            for i in range(6)
        ]
        # Ann's past visit (she is not new), then the week's bookings of many lengths.
        self.add_appointment(ann["id"], 303, datetime(2026, 6, 2, 9), 60, provider=203)
        wed = date(2026, 11, 25)
        for pat, op, prov, hh, mm, minutes, cancelled in [
            (others[0], 303, 203, 8, 0, 60, False),
            (others[1], 303, 203, 9, 0, 50, False),
            (others[2], 303, 203, 10, 0, 60, True),  # cancelled: holds no time
            (others[3], 301, 201, 13, 0, 30, False),
            (others[4], 301, 201, 14, 0, 45, True),
            (others[5], 302, 202, 13, 0, 120, False),
        ]:
            self.add_appointment(
                pat,
                op,
                datetime.combine(wed, time(hh, mm)),
                minutes,
                provider=prov,
                cancelled=cancelled,
            )


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return parse_time(a["start_time"], "") < parse_time(b["end_time"], "") and parse_time(
        b["start_time"], ""
    ) < parse_time(a["end_time"], "")
