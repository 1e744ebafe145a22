"""A strict simulator of Open Dental's REST API v1, written from its public pages
(opendental.com/site/apispecification.html, apiappointments.html, apipatients.html,
apischedules.html, apioperatories.html, apiproviders.html, apiappointmenttypes.html).

A real HTTP server on loopback (aiohttp), so the product reaches it exactly as it would reach an
office: through `[practice.book.opendental] base_url` and the two keys. Strict where the real API
is: the `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}` header (401 otherwise), PascalCase
fields, `yyyy-MM-dd` dates and `yyyy-MM-dd HH:mm:ss` datetimes in office time, booleans as the
strings "true"/"false", unknown query parameters refused (400), lists paged by `Offset`
(`page_size` rows a page), `serverDateTime` on every row and `DateTStamp` filters returning only
rows altered after the given time. Like Open Dental, it does not refuse overlapping
appointments: the desk can double-book, so the adapter must look.

Seeded (`seed_practice`) with a practice shaped like practice.toml's example: two dentists, two
hygienists (one not mapped), a hidden provider, five operatories, provider schedules with a
lunch gap, blockouts (lunch, a staff meeting, training), and appointments of many lengths and
statuses, including broken, unscheduled and planned ones that do not block.

Faults (`fault`): a status (401, 429, 5xx), a delay, or a lost answer (the request is carried
out, then the connection is dropped before the answer), for the next N matching requests; and
`before` hooks (the front desk booking a time a moment before our write).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

DEV_KEY = "sim-developer-key"
CUSTOMER_KEY = "sim-customer-key"
DATETIME = "%Y-%m-%d %H:%M:%S"
DATE = "%Y-%m-%d"
BLOCKING_NOT = {"Broken", "UnschedList", "Planned", "PtNote", "PtNoteCompleted"}
STATUSES = {"Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned"}


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
    run: Callable[[OpenDentalSim], None]
    times: int = 1


class BadRequest(web.HTTPBadRequest):
    def __init__(self, why: str) -> None:
        super().__init__(text=why, content_type="text/plain")


def _parse_date(value: str, name: str) -> date:
    try:
        return datetime.strptime(value, DATE).date()
    except ValueError:
        raise BadRequest(f'{name} must be in "yyyy-MM-dd" format') from None


def _parse_datetime(value: object, name: str) -> datetime:
    try:
        return datetime.strptime(str(value), DATETIME)
    except ValueError:
        raise BadRequest(f'{name} must be in "yyyy-MM-dd HH:mm:ss" format') from None


def _bool(value: object, name: str) -> str:
    if value not in ("true", "false"):
        raise BadRequest(f'{name} must be either "true" or "false"')
    return str(value)


@dataclass
class OpenDentalSim:
    """The office's API and its data. `clock` is the server's time (office local, naive); it
    moves one second per write, so `DateTStamp` filters are exact and tests deterministic."""

    developer_key: str = DEV_KEY
    customer_key: str = CUSTOMER_KEY
    page_size: int = 100
    clock: datetime = datetime(2026, 11, 24, 9, 0, 0)
    providers: list[dict[str, Any]] = field(default_factory=list)
    operatories: list[dict[str, Any]] = field(default_factory=list)
    appointment_types: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    appointments: dict[int, dict[str, Any]] = field(default_factory=dict)
    patients: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # --- the server ----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/api/v1/providers", self._providers)
        r.add_get("/api/v1/operatories", self._operatories)
        r.add_get("/api/v1/appointmenttypes", self._appointment_types)
        r.add_get("/api/v1/schedules", self._schedules)
        r.add_get("/api/v1/appointments", self._appointments)
        r.add_get("/api/v1/appointments/{num}", self._appointment)
        r.add_post("/api/v1/appointments", self._create_appointment)
        r.add_put("/api/v1/appointments/{num}", self._update_appointment)
        r.add_put("/api/v1/appointments/{num}/Break", self._break_appointment)
        r.add_put("/api/v1/appointments/{num}/Confirm", self._confirm_appointment)
        r.add_get("/api/v1/patients/Simple", self._patients_simple)
        r.add_get("/api/v1/patients/{num}", self._patient)
        r.add_post("/api/v1/patients", self._create_patient)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/api/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fault(self, method: str, path: str, **kwargs: Any) -> Fault:
        """The next `times` requests matching `method` and the `path` regex (after /api/v1)
        fail as told: `status=`, `delay=` seconds, `lose_answer=True`."""
        made = Fault(method, re.compile(path), **kwargs)
        self.faults.append(made)
        return made

    def before(
        self, method: str, path: str, run: Callable[[OpenDentalSim], None], times: int = 1
    ) -> None:
        """Runs `run(sim)` just before the next matching request is handled (the desk)."""
        self.hooks.append(Hook(method, re.compile(path), run, times))

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if m in ("POST", "PUT", "DELETE")]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v1")
        expected = f"ODFHIR {self.developer_key}/{self.customer_key}"
        fault = next(
            (
                f
                for f in self.faults
                if f.times > 0 and f.method == request.method and f.path.fullmatch(path)
            ),
            None,
        )
        if fault is not None:
            fault.times -= 1
        try:
            if request.headers.get("Authorization") != expected:
                raise web.HTTPUnauthorized(text="Invalid Authorization header")
            if fault is not None and fault.delay:
                await request.read()  # received in full: a slow office still does the work
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.status:
                if fault.status == 429:
                    raise web.HTTPTooManyRequests(headers={"Retry-After": fault.retry_after})
                raise _status(fault.status)
            for hook in self.hooks:
                if hook.times > 0 and hook.method == request.method and hook.path.fullmatch(path):
                    hook.times -= 1
                    hook.run(self)
            response = await handler(request)
        except web.HTTPException as exc:
            self.log.append((request.method, request.path_qs.removeprefix("/api/v1"), exc.status))
            raise
        self.log.append((request.method, request.path_qs.removeprefix("/api/v1"), response.status))
        if fault is not None and fault.lose_answer:
            assert request.transport is not None
            request.transport.close()  # done, but the answer never reaches the client
        return response

    # --- helpers ------------------------------------------------------------------------------

    def tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.strftime(DATETIME)

    def _now(self) -> str:
        return self.clock.strftime(DATETIME)

    def _page(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        try:
            offset = int(request.query.get("Offset", "0"))
        except ValueError:
            raise BadRequest("Offset must be a number") from None
        page = rows[offset : offset + self.page_size]
        stamped = [{"serverDateTime": self._now(), **row} for row in page]
        return web.json_response(stamped)

    @staticmethod
    def _only(request: web.Request, allowed: set[str]) -> None:
        unknown = set(request.query) - allowed - {"Offset"}
        if unknown:
            raise BadRequest(f"unknown parameter {sorted(unknown)[0]}")

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise BadRequest("Content-Type must be application/json")
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _apt(self, request: web.Request) -> dict[str, Any]:
        try:
            row = self.appointments.get(int(request.match_info["num"]))
        except ValueError:
            raise BadRequest("AptNum must be a number") from None
        if row is None:
            raise web.HTTPNotFound(text="Appointment not found")
        return row

    # --- routes --------------------------------------------------------------------------------

    async def _providers(self, request: web.Request) -> web.Response:
        self._only(request, {"ClinicNum", "DateTStamp"})
        return self._page(request, self.providers)

    async def _operatories(self, request: web.Request) -> web.Response:
        self._only(request, {"ClinicNum"})
        return self._page(request, self.operatories)

    async def _appointment_types(self, request: web.Request) -> web.Response:
        self._only(request, set())
        return self._page(request, self.appointment_types)

    async def _schedules(self, request: web.Request) -> web.Response:
        q = request.query
        self._only(
            request,
            {
                "date",
                "dateStart",
                "dateEnd",
                "SchedType",
                "BlockoutDefNum",
                "ProvNum",
                "EmployeeNum",
            },
        )
        rows = self.schedules
        if "date" in q:
            day = _parse_date(q["date"], "date")
            rows = [s for s in rows if s["SchedDate"] == day.strftime(DATE)]
        elif "dateStart" in q or "dateEnd" in q:
            if "dateStart" not in q or "dateEnd" not in q:
                raise BadRequest("dateStart and dateEnd must be given together")
            first = _parse_date(q["dateStart"], "dateStart").strftime(DATE)
            last = _parse_date(q["dateEnd"], "dateEnd").strftime(DATE)
            rows = [s for s in rows if first <= s["SchedDate"] <= last]
        else:  # the page: "If no date parameters are specified, it will default to today"
            rows = [s for s in rows if s["SchedDate"] == self.clock.strftime(DATE)]
        if "SchedType" in q:
            if q["SchedType"] not in ("Practice", "Provider", "Blockout", "Employee"):
                raise BadRequest("SchedType must be Practice, Provider, Blockout or Employee")
            rows = [s for s in rows if s["SchedType"] == q["SchedType"]]
        if "ProvNum" in q:
            rows = [s for s in rows if str(s["ProvNum"]) == q["ProvNum"]]
        return self._page(request, sorted(rows, key=lambda s: s["ScheduleNum"]))

    async def _appointments(self, request: web.Request) -> web.Response:
        q = request.query
        self._only(
            request,
            {
                "PatNum",
                "AptStatus",
                "Op",
                "date",
                "dateStart",
                "dateEnd",
                "ClinicNum",
                "DateTStamp",
            },
        )
        rows = sorted(self.appointments.values(), key=lambda a: a["AptNum"])
        if "date" in q:
            day = _parse_date(q["date"], "date").strftime(DATE)
            rows = [a for a in rows if a["AptDateTime"][:10] == day]
        elif "dateStart" in q or "dateEnd" in q:
            first = _parse_date(q.get("dateStart", "0001-01-01"), "dateStart").strftime(DATE)
            last = _parse_date(q.get("dateEnd", "9999-12-31"), "dateEnd").strftime(DATE)
            rows = [a for a in rows if first <= a["AptDateTime"][:10] <= last]
        if "DateTStamp" in q:
            since = _parse_datetime(q["DateTStamp"], "DateTStamp").strftime(DATETIME)
            rows = [a for a in rows if a["DateTStamp"] > since]
        for name in ("PatNum", "Op", "ClinicNum"):
            if name in q:
                rows = [a for a in rows if str(a[name]) == q[name]]
        if "AptStatus" in q:
            rows = [a for a in rows if a["AptStatus"] == q["AptStatus"]]
        return self._page(request, rows)

    async def _appointment(self, request: web.Request) -> web.Response:
        return web.json_response({"serverDateTime": self._now(), **self._apt(request)})

    async def _create_appointment(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        for required in ("PatNum", "Op", "AptDateTime"):
            if required not in body:
                raise BadRequest(f"{required} is required")
        if body["PatNum"] not in self.patients:
            raise BadRequest("PatNum is invalid")
        if not any(o["OperatoryNum"] == body["Op"] for o in self.operatories):
            raise BadRequest("Op is invalid")
        row = self._appointment_row(body)
        return web.json_response({"serverDateTime": self._now(), **row}, status=201)

    def _appointment_row(self, body: dict[str, Any]) -> dict[str, Any]:
        _parse_datetime(body["AptDateTime"], "AptDateTime")
        status = body.get("AptStatus", "Scheduled")
        if status not in STATUSES:
            raise BadRequest("AptStatus is invalid")
        pattern = body.get("Pattern", "//XX//")
        if not re.fullmatch(r"[X/]+", pattern):
            raise BadRequest("Pattern must contain only X and / characters")
        for flag in ("IsNewPatient", "IsHygiene"):
            if flag in body:
                _bool(body[flag], flag)
        num = max(self.appointments, default=0) + 1
        stamp = self.tick()
        row = {
            "AptNum": num,
            "PatNum": body["PatNum"],
            "AptStatus": status,
            "Pattern": pattern,
            "Confirmed": body.get("Confirmed", 19),
            "Op": body["Op"],
            "Note": body.get("Note", ""),
            "ProvNum": body.get("ProvNum", 1),
            "ProvHyg": body.get("ProvHyg", 0),
            "AptDateTime": body["AptDateTime"],
            "IsNewPatient": body.get("IsNewPatient", "false"),
            "IsHygiene": body.get("IsHygiene", "false"),
            "ClinicNum": body.get("ClinicNum", 0),
            "AppointmentTypeNum": body.get("AppointmentTypeNum", 0),
            "Priority": body.get("Priority", "Normal"),
            "DateTStamp": stamp,
            "SecDateTEntry": stamp,
        }
        self.appointments[num] = row
        return row

    async def _update_appointment(self, request: web.Request) -> web.Response:
        row = self._apt(request)
        body = await self._body(request)
        allowed = {
            "AptStatus",
            "Pattern",
            "Confirmed",
            "Op",
            "Note",
            "ProvNum",
            "ProvHyg",
            "AptDateTime",
            "IsNewPatient",
            "IsHygiene",
            "ClinicNum",
            "AppointmentTypeNum",
            "Priority",
        }
        unknown = set(body) - allowed
        if unknown:
            raise BadRequest(f"{sorted(unknown)[0]} cannot be updated")
        if "AptDateTime" in body:
            _parse_datetime(body["AptDateTime"], "AptDateTime")
        if "AptStatus" in body and body["AptStatus"] not in (
            "Scheduled",
            "Complete",
            "UnschedList",
            "ASAP",
        ):
            raise BadRequest("AptStatus: use Break to break an appointment")
        if "Op" in body and not any(o["OperatoryNum"] == body["Op"] for o in self.operatories):
            raise BadRequest("Op is invalid")
        row.update(body)  # a field left out does not change
        row["DateTStamp"] = self.tick()
        return web.json_response({"serverDateTime": self._now(), **row})

    async def _break_appointment(self, request: web.Request) -> web.Response:
        row = self._apt(request)
        body = await self._body(request)
        if "sendToUnscheduledList" not in body:
            raise BadRequest("sendToUnscheduledList is required")
        to_list = _bool(body["sendToUnscheduledList"], "sendToUnscheduledList") == "true"
        if body.get("breakType", "Missed") not in ("Missed", "Cancelled"):
            raise BadRequest('breakType must be "Missed" or "Cancelled"')
        if row["AptStatus"] != "Scheduled":
            raise BadRequest("Only scheduled appointments can be broken")
        row["AptStatus"] = "UnschedList" if to_list else "Broken"
        row["DateTStamp"] = self.tick()
        return web.json_response(None)

    async def _confirm_appointment(self, request: web.Request) -> web.Response:
        row = self._apt(request)
        body = await self._body(request)
        if "defNum" not in body and "confirmVal" not in body:
            raise BadRequest("confirmVal or defNum is required")
        row["Confirmed"] = body.get("defNum", 21)
        row["DateTStamp"] = self.tick()
        return web.json_response(None)

    async def _patients_simple(self, request: web.Request) -> web.Response:
        q = request.query
        self._only(
            request,
            {"LName", "FName", "Birthdate", "PatStatus", "ClinicNum", "DateTStamp", "Phone"},
        )
        if "Birthdate" in q:
            _parse_date(q["Birthdate"], "Birthdate")
        rows = sorted(self.patients.values(), key=lambda p: p["PatNum"])
        if "LName" in q:  # Open Dental matches the start of the name, any case
            rows = [p for p in rows if p["LName"].lower().startswith(q["LName"].lower())]
        if "FName" in q:
            rows = [p for p in rows if p["FName"].lower().startswith(q["FName"].lower())]
        if "Birthdate" in q:
            rows = [p for p in rows if p["Birthdate"] == q["Birthdate"]]
        if "PatStatus" in q:
            rows = [p for p in rows if p["PatStatus"] == q["PatStatus"]]
        return self._page(request, rows)

    async def _patient(self, request: web.Request) -> web.Response:
        try:
            row = self.patients.get(int(request.match_info["num"]))
        except ValueError:
            raise BadRequest("PatNum must be a number") from None
        if row is None:
            raise web.HTTPNotFound(text="Patient not found")
        return web.json_response({"serverDateTime": self._now(), **row})

    async def _create_patient(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        for required in ("LName", "FName"):
            if not str(body.get(required, "")).strip():
                raise BadRequest(f"{required} is required")
        if "Birthdate" in body:
            _parse_date(str(body["Birthdate"]), "Birthdate")
        row = self.add_patient(
            body["FName"],
            body["LName"],
            body.get("Birthdate", "0001-01-01"),
            WirelessPhone=body.get("WirelessPhone", ""),
            ClinicNum=body.get("ClinicNum", 0),
            PriProv=body.get("PriProv", 0),
        )
        return web.json_response({"serverDateTime": self._now(), **row}, status=201)

    # --- the office's own actions (the front desk) --------------------------------------------

    def add_patient(self, first: str, last: str, birthdate: str, **extra: Any) -> dict[str, Any]:
        num = max(self.patients, default=0) + 1
        row = {
            "PatNum": num,
            "LName": last,
            "FName": first,
            "Preferred": "",
            "Birthdate": birthdate,
            "PatStatus": "Patient",
            "Gender": "Unknown",
            "HmPhone": "",
            "WkPhone": "",
            "WirelessPhone": "",
            "Email": "",
            "Guarantor": num,
            "PriProv": 0,
            "ClinicNum": 0,
            "DateTStamp": self.tick(),
            **extra,
        }
        self.patients[num] = row
        return row

    def add_appointment(
        self,
        pat: int,
        op: int,
        at: datetime,
        minutes: int,
        *,
        prov: int = 1,
        hyg: int = 0,
        status: str = "Scheduled",
        note: str = "",
    ) -> dict[str, Any]:
        return self._appointment_row(
            {
                "PatNum": pat,
                "Op": op,
                "AptDateTime": at.strftime(DATETIME),
                "Pattern": "X" * (minutes // 5),
                "ProvNum": prov,
                "ProvHyg": hyg,
                "AptStatus": status,
                "Note": note,
            }
        )

    def add_schedule(
        self,
        day: date,
        start: str,
        stop: str,
        *,
        kind: str = "Provider",
        prov: int = 0,
        ops: list[int] | None = None,
        blockout: int = 0,
        note: str = "",
    ) -> None:
        self.schedules.append(
            {
                "ScheduleNum": len(self.schedules) + 1,
                "SchedDate": day.strftime(DATE),
                "StartTime": f"{start}:00",
                "StopTime": f"{stop}:00",
                "SchedType": kind,
                "ProvNum": prov,
                "BlockoutType": blockout,
                "blockoutType": {0: "", 11: "Lunch", 12: "Staff meeting", 13: "Training"}.get(
                    blockout, "Blockout"
                ),
                "Note": note,
                "operatories": ",".join(str(o) for o in ops or []),
            }
        )

    def scheduled(self, pat: int | None = None) -> list[dict[str, Any]]:
        """The appointments that hold time now (what the office sees on its schedule)."""
        return [
            a
            for a in self.appointments.values()
            if a["AptStatus"] not in BLOCKING_NOT and (pat is None or a["PatNum"] == pat)
        ]

    def patient_named(self, first: str, last: str) -> dict[str, Any] | None:
        return next(
            (p for p in self.patients.values() if p["FName"] == first and p["LName"] == last), None
        )

    # --- the seeded office --------------------------------------------------------------------

    def seed_practice(self, first: date = date(2026, 11, 23), days: int = 100) -> None:
        """An office like practice.toml's example (Lakeside: ProvNums 1-3 are mapped there)."""
        self.providers = [
            {
                "ProvNum": 1,
                "Abbr": "DOC1",
                "FName": "Amara",
                "LName": "Okafor",
                "IsSecondary": "false",
                "IsHidden": "false",
            },
            {
                "ProvNum": 2,
                "Abbr": "DOC2",
                "FName": "Erik",
                "LName": "Lindqvist",
                "IsSecondary": "false",
                "IsHidden": "false",
            },
            {
                "ProvNum": 3,
                "Abbr": "HYG1",
                "FName": "Maria",
                "LName": "Santos",
                "IsSecondary": "true",
                "IsHidden": "false",
            },
            {
                "ProvNum": 4,
                "Abbr": "HYG2",
                "FName": "Priya",
                "LName": "Shah",
                "IsSecondary": "true",
                "IsHidden": "false",
            },
            {
                "ProvNum": 5,
                "Abbr": "OLD",
                "FName": "Retired",
                "LName": "Doc",
                "IsSecondary": "false",
                "IsHidden": "true",
            },
        ]
        self.operatories = [
            {
                "OperatoryNum": n,
                "OpName": name,
                "Abbrev": abbr,
                "ProvDentist": dent,
                "ProvHygienist": hyg,
                "IsHygiene": "true" if hyg else "false",
                "IsWebSched": "false",
                "IsHidden": "true" if n == 5 else "false",
                "ClinicNum": 0,
            }
            for n, name, abbr, dent, hyg in [
                (1, "Operatory 1", "OP1", 1, 0),
                (2, "Operatory 2", "OP2", 2, 0),
                (3, "Hygiene 1", "HYG1", 0, 3),
                (4, "Hygiene 2", "HYG2", 0, 4),
                (5, "Storage", "STOR", 0, 0),
            ]
        ]
        self.appointment_types = [
            {
                "AppointmentTypeNum": 1,
                "AppointmentTypeName": "Prophy",
                "Pattern": "/XXXXXXXXXX/",
                "IsHidden": "false",
                "ItemOrder": 0,
            },
            {
                "AppointmentTypeNum": 2,
                "AppointmentTypeName": "New Patient Exam",
                "Pattern": "XXXXXXXXXXXX",
                "IsHidden": "false",
                "ItemOrder": 1,
            },
            {
                "AppointmentTypeNum": 3,
                "AppointmentTypeName": "Restorative",
                "Pattern": "XXXXXXXXX",
                "IsHidden": "false",
                "ItemOrder": 2,
            },
            {
                "AppointmentTypeNum": 4,
                "AppointmentTypeName": "Emergency",
                "Pattern": "XXXXXX",
                "IsHidden": "false",
                "ItemOrder": 3,
            },
        ]
        for offset in range(days):
            day = first + timedelta(days=offset)
            wd = day.weekday()
            if wd >= 5:
                continue
            # Dr. Okafor, Operatory 1: mornings and afternoons with a lunch gap (Fri to 14:00).
            if wd == 4:
                self.add_schedule(day, "08:00", "14:00", prov=1, ops=[1])
            else:
                self.add_schedule(day, "08:00", "12:00", prov=1, ops=[1])
                self.add_schedule(day, "13:00", "17:00", prov=1, ops=[1])
            # Dr. Lindqvist, Operatory 2: Mon/Thu all day, Wed late, Fri to 14:00.
            if wd in (0, 3):
                self.add_schedule(day, "08:00", "17:00", prov=2, ops=[2])
            elif wd == 2:
                self.add_schedule(day, "13:00", "19:00", prov=2, ops=[2])
            elif wd == 4:
                self.add_schedule(day, "08:00", "14:00", prov=2, ops=[2])
            # Maria Santos, Hygiene 1, Mon-Thu; lunch as a blockout, not a gap.
            if wd <= 3:
                end = "19:00" if wd == 2 else "17:00"
                self.add_schedule(day, "08:00", end, prov=3, ops=[3])
                self.add_schedule(day, "12:00", "13:00", kind="Blockout", ops=[3], blockout=11)
            # Priya Shah (not mapped in practice.toml), Hygiene 2, Tue/Thu.
            if wd in (1, 3):
                self.add_schedule(day, "08:00", "17:00", prov=4, ops=[4])
            # Monday staff meeting: every chair.
            if wd == 0:
                self.add_schedule(
                    day, "08:00", "09:00", kind="Blockout", ops=[1, 2, 3, 4], blockout=12
                )
        # One-off training afternoon for the hygiene chair.
        self.add_schedule(
            date(2026, 11, 30),
            "13:00",
            "17:00",
            kind="Blockout",
            ops=[3],
            blockout=13,
            note="training",
        )
        ann = self.add_patient("Ann", "Lee", "1980-02-29", WirelessPhone="(414) 400-7103")
        bob = self.add_patient("Bob", "Stone", "1975-06-01", WirelessPhone="(414) 400-7103")
        others = [
            self.add_patient(f"Pat{i}", "Other", f"19{60 + i}-01-0{1 + i % 9}")["PatNum"]
            for i in range(8)
        ]
        at = lambda d, hh, mm=0: datetime.combine(d, time(hh, mm))  # noqa: E731
        past = date(2026, 6, 2)
        self.add_appointment(ann["PatNum"], 3, at(past, 9), 60, prov=1, hyg=3, status="Complete")
        self.add_appointment(bob["PatNum"], 3, at(past, 10), 60, prov=1, hyg=3, status="Complete")
        week = [date(2026, 11, 24) + timedelta(days=i) for i in range(10)]
        busy = [  # (patient, op, day, hour, minute, minutes, prov, hyg, status)
            (others[0], 1, week[1], 8, 0, 90, 1, 0, "Scheduled"),
            (others[1], 1, week[1], 13, 0, 30, 1, 0, "Scheduled"),
            (others[2], 1, week[1], 14, 0, 45, 1, 0, "Broken"),  # does not block
            (others[3], 3, week[1], 8, 0, 60, 1, 3, "Scheduled"),
            (others[4], 3, week[1], 9, 0, 50, 1, 3, "Scheduled"),
            (others[5], 3, week[1], 10, 0, 60, 1, 3, "UnschedList"),  # does not block
            (others[6], 3, week[1], 11, 0, 60, 1, 3, "Planned"),  # does not block
            (others[7], 2, week[6], 8, 0, 120, 2, 0, "Scheduled"),
            (others[0], 3, week[6], 8, 0, 60, 1, 3, "ASAP"),
            (others[1], 3, week[6], 9, 0, 180, 1, 3, "Scheduled"),
            (others[2], 1, week[7], 8, 0, 240, 1, 0, "Scheduled"),
            (others[3], 3, week[8], 8, 0, 30, 1, 3, "Scheduled"),
            (others[4], 3, week[8], 8, 30, 30, 1, 3, "Scheduled"),
        ]
        for pat, op, day, hh, mm, minutes, prov, hyg, status in busy:
            self.add_appointment(
                pat, op, at(day, hh, mm), minutes, prov=prov, hyg=hyg, status=status
            )


def _status(code: int) -> web.HTTPException:
    known = {
        500: web.HTTPInternalServerError,
        502: web.HTTPBadGateway,
        503: web.HTTPServiceUnavailable,
        504: web.HTTPGatewayTimeout,
        401: web.HTTPUnauthorized,
    }
    return known.get(code, web.HTTPInternalServerError)(text="simulated failure")
