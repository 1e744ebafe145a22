"""Benchmark: the staff web app's server time per page, with a year of the practice's book.

    uv run python bench/web.py                      # SQLite and PostgreSQL (throwaway cluster)
    uv run python bench/web.py --runs 100 --skip-postgres
    uv run python bench/web.py --baseline /tmp/web-before.json   # adds a before/after table
    uv run python bench/web.py --quick              # a few weeks of book, 2 requests a page

The book: ten providers with a year of appointments (half a year back, half ahead, most bookable
times of every working day taken, across visit types; some cancelled and moved), 10,000 call
records (events, transfers that worked and that failed, every outcome, model usage, transcripts),
a few thousand messages (urgent, security, open and handled), closures, staff accounts, and a year
of audit rows. It is loaded with bulk inserts through the store's tables (set-up, not measured);
the pages read it through the real app: `create_app` with the real store, signed in as an admin
through the sign-in form, requests sent through httpx's ASGI transport.

"Server time" is measured around the ASGI app (from the request entering it to the last body
chunk leaving it): routing, the session check, the queries, the audit writes and the template.
Each page gets warm-up requests, then `--runs` requests, the pages taken in turn (round-robin), so
a noisy moment on the machine spreads over all pages. Also recorded per request: this process's
CPU time (steadier than wall time on a shared machine), the SQL statements sent, and the slowest
statements (in web.json, to tell one slow query from many small ones).
Writes bench/results/web.json and web.md (`--notes` appends a Markdown file to web.md). `--quick`
builds a book of a few weeks (`QUICK`), sends each page two requests and writes to a temporary
folder: how CI checks the benchmark still runs (bench/quick.sh); its figures mean nothing. A
benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402

from receptionist.domain.practice import Practice, PracticeDirectory, parse_practice  # noqa: E402
from receptionist.settings import load_settings  # noqa: E402
from receptionist.store import Outbox, Store, upgrade  # noqa: E402
from receptionist.store.engine import make_engine  # noqa: E402
from receptionist.store.models import (  # noqa: E402
    Appointment,
    AuditEntry,
    CallRecord,
    Message,
    Notification,
    Patient,
    StaffClosure,
    StaffUser,
)
from receptionist.web import create_app  # noqa: E402
from receptionist.web.auth import hash_password  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_P95_MS = 150.0
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
DENTISTS, HYGIENISTS = 6, 4  # ten providers
FILL = 0.88  # share of each provider's bookable time booked
STAFF_USERS = 12
CLOSURES = 24
ADMIN, PASSWORD = "bench-admin", "bench password, not secret"
CHUNK = 2_000
VISITS = {  # visit type -> (minutes, role, weight)
    "exam": (30, "dentist", 5),
    "filling": (60, "dentist", 3),
    "crown": (90, "dentist", 1),
    "new-exam": (60, "dentist", 1),
    "cleaning": (60, "hygienist", 5),
    "checkup": (30, "hygienist", 3),
}


@dataclass(frozen=True)
class Sizes:
    """How big the book is: by default a year of a ten-provider practice."""

    days: int = 182  # appointments this many days back and ahead
    calls: int = 10_000
    messages: int = 3_000
    patients: int = 4_000
    audit: int = 200_000


QUICK = Sizes(days=14, calls=300, messages=100, patients=400, audit=1_000)  # --quick


def bench_practice() -> Practice:
    providers = [
        {"id": f"dr-{i:02d}", "name": f"Dr. Number {i}", "role": "dentist"} for i in range(DENTISTS)
    ] + [
        {"id": f"hy-{i:02d}", "name": f"Hygienist {i}", "role": "hygienist"}
        for i in range(HYGIENISTS)
    ]
    visit_types = [
        {
            "id": visit,
            "name": visit.replace("-", " "),
            "duration_minutes": minutes,
            "roles": [role],
            **({"patients": "new"} if visit == "new-exam" else {}),
            **({"patients": "existing"} if visit == "cleaning" else {}),
        }
        for visit, (minutes, role, _) in VISITS.items()
    ]
    return parse_practice(
        {
            "id": "bench",
            "name": "Bench Dental",
            "timezone": "America/Chicago",
            "region": "US",
            "phone": "+14145550100",
            "hours": {d: [["08:00", "17:00"]] for d in WEEKDAYS},
            "providers": providers,
            "visit_types": visit_types,
            "records": {"transcripts": True},
        }
    )


def busy_day(practice: Practice) -> date:
    """Today in the practice's zone, or the next Monday at a weekend: the day Today shows."""
    day = datetime.now(UTC).astimezone(practice.tz).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --- the book -----------------------------------------------------------------------------------


@dataclass
class Book:
    """The rows to load, and the ids the pages are asked for."""

    patients: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    closures: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "patients": len(self.patients),
            "staff_users": len(self.staff) + 1,  # + the admin the benchmark signs in as
            "appointments": len(self.appointments),
            "appointments_booked": sum(a["status"] == "booked" for a in self.appointments),
            "calls": len(self.calls),
            "calls_transferred": sum("transferred" in c["outcomes"] for c in self.calls),
            "messages": len(self.messages),
            "messages_open": sum(m["handled_at"] is None for m in self.messages),
            "notifications": len(self.notifications),
            "closures": len(self.closures),
            "audit_rows": len(self.audit),
        }


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _local(day: date, hour: float, practice: Practice) -> datetime:
    minutes = int(round(hour * 60))
    wall = datetime.combine(day, clock_time(minutes // 60, minutes % 60), tzinfo=practice.tz)
    return wall.astimezone(UTC)


def _phone(rng: random.Random) -> str:
    return f"+1414555{rng.randrange(10_000):04d}"


REASONS = (  # words the made-up messages and transcripts are made of
    "tooth pain since yesterday please call back about the appointment insurance question "
    "crown loose swelling on the left side need to move my cleaning bill refund daughter "
    "braces after school running late forms x-ray results prescription"
)
WORDS = REASONS.split()


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize()


def _events(
    rng: random.Random, start: datetime, outcomes: list[str], failed_transfers: int
) -> list[dict]:
    at = start
    events = []

    def note(kind: str, detail: str = "") -> None:
        nonlocal at
        at += timedelta(seconds=rng.randint(4, 40))
        events.append({"at": at.isoformat(), "kind": kind, "detail": detail})

    if {"booked", "rescheduled", "cancelled"} & set(outcomes) or rng.random() < 0.3:
        note("identity_checked", rng.choice(["verified", "verified", "registration: new"]))
    if {"booked", "rescheduled"} & set(outcomes):
        note("times_offered", f"{rng.randint(2, 4)} for exam")
        kind = "booked" if "booked" in outcomes else "rescheduled"
        note(kind, "exam Tuesday at 9:30 with Dr. Number 2")
    if "cancelled" in outcomes:
        note("cancelled", "Thursday at 14:00")
    if "emergency" in outcomes:
        note("emergency", rng.choice(["swelling", "bleeding", "trauma"]))
    if "message" in outcomes:
        note("message_taken", rng.choice(["routine", "soon", "urgent"]))
    for _ in range(failed_transfers):
        note("transfer_failed", rng.choice(["busy", "no answer", "SIP 486"]))
    if "transferred" in outcomes:
        note("transferred")
    note("call_ended", "caller hung up" if "abandoned" in outcomes else "")
    return events


def _usage(rng: random.Random, seconds: float) -> dict:
    return {
        "models": [
            {
                "type": "llm_usage",
                "provider": "openai",
                "model": "gpt-4.1-mini",
                "input_tokens": rng.randint(2_000, 40_000),
                "output_tokens": rng.randint(50, 900),
                "total_requests": rng.randint(2, 14),
            },
            {
                "type": "tts_usage",
                "provider": "cartesia",
                "characters_count": rng.randint(80, 2000),
            },
            {"type": "stt_usage", "provider": "deepgram", "audio_duration": seconds},
        ],
        # a reply about every ten seconds, as the agent stores them (receptionist.domain.replies)
        "replies": [
            {"at": 0.0, "wait_s": round(rng.uniform(0.6, 1.6), 3)} for _ in range(int(seconds / 10))
        ],
    }


OUTCOMES = [  # headline outcome -> weight (the Outcome enum, every kind)
    ("information", 30),
    ("booked", 20),
    ("message", 14),
    ("abandoned", 10),
    ("transferred", 10),
    ("rescheduled", 6),
    ("cancelled", 5),
    ("emergency", 5),
]
OUTCOME_RANK = {
    o: i
    for i, o in enumerate(
        [
            "emergency",
            "booked",
            "rescheduled",
            "cancelled",
            "transferred",
            "message",
            "information",
            "abandoned",
        ]
    )
}


def make_calls(
    rng: random.Random, practice: Practice, now: datetime, book: Book, count: int
) -> None:
    """10,000 calls over the year before `now`: mostly office hours, some evenings and weekends."""
    kinds, weights = zip(*OUTCOMES, strict=True)
    today = now.astimezone(practice.tz).date()
    for _ in range(count):
        while True:
            day = today - timedelta(days=rng.randint(0, 364))
            if day.weekday() < 5 or rng.random() < 0.25:
                break
        hour = rng.uniform(8, 17) if rng.random() < 0.8 else rng.uniform(6, 23)
        started = _local(day, hour, practice) + timedelta(seconds=rng.randint(0, 59))
        if started >= now:
            started = now - timedelta(minutes=rng.randint(5, 600))
        headline = rng.choices(kinds, weights)[0]
        outcomes = {headline}
        if headline != "abandoned" and rng.random() < 0.15:
            outcomes.add(rng.choice(["message", "transferred", "information"]))
        outcomes_list = sorted(outcomes, key=OUTCOME_RANK.__getitem__)
        failed = 0
        if "transferred" in outcomes and rng.random() < 0.2:
            failed = rng.randint(1, 2)
        elif rng.random() < 0.03:
            failed = 1
        seconds = round(rng.uniform(15, 420), 3)
        transcript = [
            {
                "role": "assistant" if i % 2 == 0 else "user",
                "text": _sentence(rng, 6, 24),
            }
            for i in range(rng.randint(4, 30))
        ]
        book.calls.append(
            {
                "id": _uid(rng),
                "practice_id": practice.id,
                "caller": _phone(rng) if rng.random() > 0.05 else "unknown",
                "dialled": practice.phone,
                "livekit_call_id": "SCL_" + _uid(rng).replace("-", "")[:12],
                "sip_call_id": _uid(rng) + "@sip.example",
                "started_at": started,
                "duration_seconds": seconds,
                "outcome": outcomes_list[0],
                "outcomes": outcomes_list,
                "usage": _usage(rng, seconds),
                "transcript": transcript,
                "events": _events(rng, started, outcomes_list, failed),
                "created_at": started + timedelta(seconds=seconds),
            }
        )


def make_appointments(
    rng: random.Random, practice: Practice, now: datetime, book: Book, days: int
) -> None:
    """Half a year back, half ahead: each provider's day filled visit after visit (FILL booked,
    the gaps sometimes holding a cancelled or moved visit); patients from the provider's own
    pool, so no patient is in two chairs at once (the database refuses that too)."""
    today = now.astimezone(practice.tz).date()
    patient_ids = [p["id"] for p in book.patients]
    pools = {
        p.id: patient_ids[i :: len(practice.providers)] for i, p in enumerate(practice.providers)
    }
    booking_calls = [c for c in book.calls if {"booked", "rescheduled"} & set(c["outcomes"])]
    staff_ids = [s["id"] for s in book.staff]
    moved: list[str] = []
    for offset in range(-days, days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for provider in practice.providers:
            visits = [(v, m, w) for v, (m, role, w) in VISITS.items() if role == provider.role]
            hour = 8.0
            while hour < 17.0:
                visit, minutes, _ = rng.choices(visits, [w for *_, w in visits])[0]
                end = hour + minutes / 60
                if end > 17.0:
                    visit, minutes, end = visits[0][0], visits[0][1], hour + visits[0][1] / 60
                    if end > 17.0:
                        break
                starts = _local(day, hour, practice)
                ends = _local(day, end, practice)
                booked = rng.random() < FILL
                status = "booked"
                if not booked:
                    if rng.random() > 0.35:
                        hour += 0.5
                        continue
                    status = rng.choice(["cancelled", "rescheduled"])
                made = min(starts, now) - timedelta(
                    days=rng.randint(1, 45), minutes=rng.randint(0, 600)
                )
                by_staff = rng.random() < 0.25
                call_id = ""
                if not by_staff and booking_calls:
                    call = rng.choice(booking_calls)
                    call_id = call["livekit_call_id"]
                    if call["started_at"] < starts - timedelta(hours=2):
                        made = call["started_at"]
                row = {
                    "id": _uid(rng),
                    "practice_id": practice.id,
                    "provider_id": provider.id,
                    "patient_id": rng.choice(pools[provider.id]),
                    "visit_type": visit,
                    "starts_at": starts,
                    "ends_at": ends,
                    "status": status,
                    "call_id": call_id,
                    "replaces_id": None,
                    "booked_by": rng.choice(staff_ids) if by_staff else None,
                    "created_at": made,
                    "cancelled_at": None if status == "booked" else min(starts, now),
                }
                if status == "rescheduled":
                    moved.append(row["id"])
                elif status == "booked" and moved and rng.random() < 0.05:
                    row["replaces_id"] = moved.pop()
                book.appointments.append(row)
                hour = end


def make_messages(
    rng: random.Random, practice: Practice, now: datetime, book: Book, count: int
) -> None:
    """Messages over the year; almost all older ones handled, a backlog of open ones."""
    message_calls = [c for c in book.calls if "message" in c["outcomes"]] or book.calls
    staff_ids = [s["id"] for s in book.staff]
    for _ in range(count):
        created = now - timedelta(minutes=rng.randint(5, 365 * 24 * 60))
        security = rng.random() < 0.03
        urgency = rng.choices(["urgent", "soon", "routine"], [10, 20, 70])[0]
        recent = now - created < timedelta(days=2)
        handled = rng.random() < (0.4 if recent else 0.92)
        handled_at = created + timedelta(minutes=rng.randint(5, 2 * 24 * 60)) if handled else None
        if handled_at is not None and handled_at >= now:
            handled_at = now - timedelta(minutes=1)
        call = rng.choice(message_calls)
        row = {
            "id": _uid(rng),
            "practice_id": practice.id,
            "caller_name": "" if security else f"Caller {rng.randrange(10_000)}",
            "callback_number": call["caller"],
            "reason": (
                "Three failed identity checks; the caller was locked out"
                if security
                else _sentence(rng, 6, 40)
            ),
            "urgency": "urgent" if security else urgency,
            "kind": "security" if security else "callback",
            "patient_id": rng.choice(book.patients)["id"] if rng.random() < 0.6 else None,
            "call_id": call["livekit_call_id"],
            "created_at": created,
            "handled_at": handled_at,
            "handled_by": rng.choice(staff_ids) if handled else None,
            "handled_note": _sentence(rng, 2, 12) if handled and rng.random() < 0.6 else None,
        }
        book.messages.append(row)
        if security or urgency == "urgent":
            book.notifications.append(
                {
                    "id": _uid(rng),
                    "message_id": row["id"],
                    "practice_id": practice.id,
                    "channel": "email",
                    "destination": "oncall@bench.example",
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": created,
                    "lease_until": None,
                    "sent_at": created + timedelta(seconds=3),
                    "last_error": "",
                    "created_at": created,
                }
            )


def make_closures(rng: random.Random, practice: Practice, now: datetime, book: Book) -> None:
    """Closures through the year (never on the busy day): some partial days, some removed."""
    today = now.astimezone(practice.tz).date()
    for i in range(CLOSURES):
        start = today + timedelta(days=rng.randint(-180, 180))
        if abs((start - today).days) < 8:
            start += timedelta(days=14)
        partial = i % 5 == 0
        longer = not partial and rng.random() < 0.3
        book.closures.append(
            {
                "id": _uid(rng),
                "practice_id": practice.id,
                "start": start,
                "end": start + timedelta(days=rng.randint(1, 4)) if longer else None,
                "start_time": clock_time(12, 0) if partial else None,
                "end_time": clock_time(17, 0) if partial else None,
                "reason": rng.choice(["snow day", "staff training", "holiday", "closing early"]),
                "created_by": rng.choice(book.staff)["id"],
                "created_at": now - timedelta(days=rng.randint(1, 200)),
                "removed_at": now - timedelta(days=1) if i % 6 == 1 else None,
            }
        )


AUDIT_ACTIONS = [
    ("viewed_today", True),
    ("viewed_messages", True),
    ("viewed_appointment", True),
    ("viewed_patient", True),
    ("booked", True),
    ("moved", True),
    ("cancelled", True),
    ("message_handled", True),
    ("viewed_calls", False),
    ("viewed_call", False),
    ("signed_in", False),
    ("closure_added", False),
]


def make_audit(rng: random.Random, now: datetime, rows: int, book: Book) -> None:
    """A year of audit rows: page views write one row per patient shown, so they dominate."""
    patient_ids = [p["id"] for p in book.patients]
    staff_ids = [s["id"] for s in book.staff]
    for _ in range(rows):
        action, about_patient = rng.choice(AUDIT_ACTIONS)
        book.audit.append(
            {
                "id": _uid(rng),
                "at": now - timedelta(seconds=rng.randint(60, 365 * 86_400)),
                "user_id": rng.choice(staff_ids),
                "action": action,
                "subject": "bench",
                "patient_id": rng.choice(patient_ids) if about_patient else None,
                "detail": "",
            }
        )


def make_book(practice: Practice, now: datetime, sizes: Sizes) -> Book:
    rng = random.Random(2026)
    book = Book()
    created = now - timedelta(days=400)
    book.patients = [
        {
            "id": _uid(rng),
            "practice_id": practice.id,
            "full_name": f"Patient Number {i}",
            "name_key": f"patient number {i}",
            "date_of_birth": date(1940, 1, 1) + timedelta(days=i * 5),
            "phone": _phone(rng) if rng.random() < 0.8 else "unknown",
            "new_patient": rng.random() < 0.05,
            "created_at": created,
        }
        for i in range(sizes.patients)
    ]
    book.staff = [
        {
            "id": _uid(rng),
            "username": f"staff{i:02d}",
            "full_name": f"Staff Member {i}",
            "role": "admin" if i < 2 else "staff",
            "password_hash": "$argon2id$not-a-real-hash",
            "active": i != STAFF_USERS - 2,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": created,
        }
        for i in range(STAFF_USERS - 1)
    ]
    make_calls(rng, practice, now, book, sizes.calls)
    make_appointments(rng, practice, now, book, sizes.days)
    make_messages(rng, practice, now, book, sizes.messages)
    make_closures(rng, practice, now, book)
    make_audit(rng, now, sizes.audit, book)
    return book


async def load(url: str, book: Book) -> None:
    """Bulk inserts on an engine of its own, without the store's 5 s statement timeout (a
    loaded machine can take longer than that over 2,000 rows)."""
    tables = [
        (Patient, book.patients),
        (StaffUser, book.staff),
        (CallRecord, book.calls),
        (Appointment, book.appointments),
        (Message, book.messages),
        (Notification, book.notifications),
        (StaffClosure, book.closures),
        (AuditEntry, book.audit),
    ]
    postgres = url.startswith("postgres")
    engine = make_engine(url, connect_args={"command_timeout": None} if postgres else {})
    try:
        async with engine.begin() as conn:
            for model, rows in tables:
                for i in range(0, len(rows), CHUNK):
                    await conn.execute(insert(model.__table__), rows[i : i + CHUNK])
        if postgres:
            # What autovacuum does minutes after a bulk load; a SQLite file is left as it is
            # (nothing runs ANALYZE on a practice's SQLite book).
            async with engine.connect() as conn:
                await conn.execute(text("COMMIT"))
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


# --- measuring ----------------------------------------------------------------------------------


class Clock:
    """The app's clock: mid-morning on the busy day, moving on in real time (so audit rows and
    session times advance as they would; the pages' day stays the busy day)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.began = time.perf_counter()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.perf_counter() - self.began)


class ServerTimer:
    """ASGI middleware around the app: the time from the request entering the app to its last
    body chunk leaving it (what a server's access log would call the response time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started
            await send(message)

        await self.app(scope, receive, timed)


class StatementCounter:
    """SQL statements run per request, and the slowest ones (to tell N+1 from one slow query)."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        self.times: dict[str, list[float]] = {}
        engine = store.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN (asyncpg's is implicit)
            self.count += 1
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        started = conn.info["bench_started"].pop()
        key = " ".join(statement.split())[:160]
        self.times.setdefault(key, []).append(time.perf_counter() - started)

    def reset(self) -> None:
        self.count = 0
        self.times = {}


@dataclass
class Page:
    name: str
    paths: list[str]  # taken in turn, request after request
    status: int = 200
    samples: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    statements: dict[str, list[float]] = field(default_factory=dict)

    def path(self, i: int) -> str:
        return self.paths[i % len(self.paths)]


def pages_for(book: Book, practice: Practice, day: date, rng: random.Random) -> list[Page]:
    start, end = _local(day, 0, practice), _local(day + timedelta(days=1), 0, practice)
    on_day = [
        a
        for a in book.appointments
        if start <= a["starts_at"] < end and a["status"] == "booked" and a["call_id"]
    ]
    calls = rng.sample(book.calls, min(50, len(book.calls)))
    with_call = [a["call_id"] for a in book.appointments if a["call_id"]]
    linked = rng.sample(with_call, min(50, len(with_call)))
    patients = rng.sample([a["patient_id"] for a in on_day], min(20, len(on_day)))
    half_year_ago = (start - timedelta(days=180)).isoformat()
    tomorrow = day + timedelta(days=1)
    while tomorrow.weekday() >= 5:
        tomorrow += timedelta(days=1)
    return [
        Page("Today (busy day)", [f"/today?date={day}"]),
        Page("Today, cancelled and moved too", [f"/today?date={day}&all=1"]),
        Page("Messages, open", ["/messages"]),
        Page("Messages, handled", ["/messages?status=handled"]),
        Page("Messages, live count (poll)", ["/api/messages/count"]),
        Page("Calls", ["/calls"]),
        Page("Calls, emergencies only", ["/calls?outcome=emergency"]),
        Page("Calls, older page", ["/calls?" + _query(before=half_year_ago)]),
        Page("Call page", [f"/calls/{c['id']}" for c in calls]),
        Page("Call link (/calls/from/<id>)", [f"/calls/from/{c}" for c in linked], status=303),
        Page("This week", [f"/week?date={day}"]),
        Page("Closures", ["/closures"]),
        Page("Accounts", ["/accounts"]),
        Page("Audit", ["/audit"]),
        Page("Audit, one patient", [f"/audit?patient={p}" for p in patients]),
        Page("Appointment", [f"/appointments/{a['id']}" for a in on_day[:50]]),
        Page(
            "Appointment, times to move to",
            [f"/appointments/{a['id']}?date={tomorrow}" for a in on_day[:50]],
        ),
        Page(
            "Book, a patient's open times",
            [f"/book?patient={p}&visit=exam&date={tomorrow}" for p in patients],
        ),
    ]


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


async def sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    if not token:
        raise RuntimeError(f"no sign-in form: {page.status_code}")
    form = {"login_token": token.group(1), "username": ADMIN, "password": PASSWORD}
    response = await client.post("/login", data=form)
    if response.status_code != 303:
        raise RuntimeError(f"sign-in refused: {response.status_code}")


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50) * 1000, 1),
        "p95_ms": round(pick(0.95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


async def measure(url: str, runs: int, warmup: int, sizes: Sizes, practice: Practice) -> dict:
    day = busy_day(practice)
    now = _local(day, 10.5, practice)  # mid-morning on the busy day (see Clock)
    await upgrade(url)
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    store = Store(url, outbox=Outbox(tmp / "outbox"))
    try:
        started = time.perf_counter()
        book = make_book(practice, now, sizes)
        made = time.perf_counter() - started
        await load(url, book)
        loaded = time.perf_counter() - started - made
        await store.staff.add_staff_user(
            username=ADMIN,
            full_name="Bench Admin",
            role="admin",
            password_hash=hash_password(PASSWORD),
            at=now - timedelta(days=1),
        )
        settings = load_settings(
            database_url=url,
            outbox_dir=str(tmp / "outbox"),
            practice_file=str(tmp / "unused-practice.toml"),
        )
        app = create_app(
            settings,
            store=store,
            directory=PracticeDirectory([practice]),
            clock=Clock(now),
            background=False,
        )
        timer = ServerTimer(app)
        counter = StatementCounter(store)
        pages = pages_for(book, practice, day, random.Random(5))
        transport = httpx.ASGITransport(app=timer)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await sign_in(client)
            for i in range(warmup + runs):
                for page in pages:
                    counter.reset()
                    cpu = time.process_time()
                    begin = time.perf_counter()
                    response = await client.get(page.path(i))
                    elapsed = time.perf_counter() - begin
                    cpu = time.process_time() - cpu
                    if response.status_code != page.status:  # a broken page, not a slow one
                        raise RuntimeError(
                            f"{page.name} {page.path(i)}: {response.status_code} "
                            f"{response.text[:300]}"
                        )
                    if i < warmup:
                        continue
                    page.samples.append(timer.last)
                    page.client.append(elapsed)
                    page.cpu.append(cpu)
                    page.queries.append(counter.count)
                    for sql, times in counter.times.items():
                        page.statements.setdefault(sql, []).extend(times)
        figures = {}
        for page in pages:
            slowest = sorted(page.statements.items(), key=lambda kv: -sum(kv[1]))[:3]
            figures[page.name] = {
                "path": page.paths[0]
                + (f" (+{len(page.paths) - 1} more)" if page.paths[1:] else ""),
                "runs": len(page.samples),
                **summary(page.samples),
                "client_p50_ms": round(statistics.median(page.client) * 1000, 1),
                "cpu_p50_ms": round(statistics.median(page.cpu) * 1000, 1),
                "sql_statements": round(statistics.median(page.queries)),
                "slowest_sql": [
                    {
                        "sql": sql,
                        "per_request": round(len(times) / len(page.samples), 1),
                        "mean_ms": round(statistics.fmean(times) * 1000, 2),
                    }
                    for sql, times in slowest
                ],
                "meets_target": summary(page.samples)["p95_ms"] <= TARGET_P95_MS,
            }
        return {
            "busy_day": day.isoformat(),
            "clock": now.isoformat(),
            "book": book.counts(),
            "make_seconds": round(made, 1),
            "load_seconds": round(loaded, 1),
            "pages": figures,
            "all_meet_target": all(f["meets_target"] for f in figures.values()),
        }
    finally:
        await store.close()


def postgres_url() -> tuple[str, object | None]:
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if url:
        return url, None
    from tests.support.pgcluster import TempCluster

    cluster = TempCluster()
    return cluster.start(), cluster


async def main(args: argparse.Namespace) -> dict:
    practice = bench_practice()
    results: dict = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "target_p95_ms": TARGET_P95_MS,
        "quick": args.quick,
        "runs": args.runs,
        "warmup": args.warmup,
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite: building the book ({args.sizes.days} days each way) ...", flush=True)
        results["backends"]["sqlite"] = await measure(
            f"sqlite+aiosqlite:///{tmp}/bench.db", args.runs, args.warmup, args.sizes, practice
        )
        report(results["backends"]["sqlite"], "sqlite")
    if not args.skip_postgres:
        url, cluster = postgres_url()
        try:
            import asyncpg
            from sqlalchemy.engine import make_url

            from tests.support.pgcluster import asyncpg_kwargs

            admin = await asyncpg.connect(**asyncpg_kwargs(url))
            version = admin.get_server_version()
            results["machine"]["postgresql"] = f"{version.major}.{version.micro}"
            await admin.execute("DROP DATABASE IF EXISTS receptionist_bench_web")
            await admin.execute("CREATE DATABASE receptionist_bench_web")
            await admin.close()
            bench_url = make_url(url).set(database="receptionist_bench_web")
            days = args.sizes.days
            print(f"PostgreSQL: building the book ({days} days each way) ...", flush=True)
            results["backends"]["postgresql"] = await measure(
                bench_url.render_as_string(False), args.runs, args.warmup, args.sizes, practice
            )
            report(results["backends"]["postgresql"], "postgresql")
        finally:
            if cluster is not None:
                cluster.stop()
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["all_meet_target"] = all(b["all_meet_target"] for b in results["backends"].values())
    return results


def report(backend: dict, name: str) -> None:
    print(f"{name}: {json.dumps(backend['book'])} loaded in {backend['load_seconds']} s")
    for page, f in backend["pages"].items():
        print(
            f"  {page:34} p50 {f['p50_ms']:7.1f}  p95 {f['p95_ms']:7.1f}  max {f['max_ms']:7.1f} ms"
            f"  cpu {f['cpu_p50_ms']:6.1f}  {f['sql_statements']:3} SQL"
        )


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# Staff web app: server time per page",
        "",
        f"Generated {results['generated_at']} by `uv run python bench/web.py` "
        f"({results['runs']} requests per page after {results['warmup']} warm-up requests, pages "
        "taken in turn).",
        "",
        f"Machine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}"
        + (f", PostgreSQL {machine['postgresql']}" if "postgresql" in machine else "")
        + f". Load average {machine['load_average_at_start']} at the start, "
        f"{machine['load_average_at_end']} at the end.",
        "",
        "**Noise**: whatever else the machine runs meanwhile (the load averages above) can make "
        "a request wait for a core: p50 is the steadier figure, p95 and max carry that noise. "
        "`CPU` (this process's CPU time per request: app, store driver and client, not "
        "PostgreSQL's server) moves least with the load.",
        "",
        f"Target (issue 9): p95 <= {results['target_p95_ms']:.0f} ms on SQLite and PostgreSQL. "
        f"**{'Met on every page.' if results['all_meet_target'] else 'Not met on every page.'}**",
        "",
        "Server time: from the request entering the ASGI app to its last body chunk (session "
        "check, queries, audit writes, template), signed in as an admin, through httpx's ASGI "
        "transport. SQL: statements per request (median, BEGIN not counted).",
    ]
    if results.get("baseline"):
        earlier = results["baseline"]
        loads = (
            (earlier.get("machine") or {}).get("load_average_at_start"),
            (earlier.get("machine") or {}).get("load_average_at_end"),
        )
        lines += [
            "",
            f'"before" columns: the same benchmark on the code before the change, generated '
            f"{earlier.get('generated_at')} (load average {loads[0]} at the start, {loads[1]} at "
            "the end).",
        ]
    for name, backend in results["backends"].items():
        book = backend["book"]
        lines += [
            "",
            f"## {name}",
            "",
            f"Book: {book['appointments']:,} appointments ({book['appointments_booked']:,} booked) "
            f"for 10 providers, {book['calls']:,} calls ({book['calls_transferred']:,} "
            f"transferred), {book['messages']:,} messages ({book['messages_open']:,} open), "
            f"{book['patients']:,} patients, {book['closures']} closures, "
            f"{book['staff_users']} staff accounts, {book['audit_rows']:,} audit rows. Busy day "
            f"{backend['busy_day']}; loaded in {backend['load_seconds']} s.",
            "",
        ]
        before = (results.get("baseline") or {}).get("backends", {}).get(name, {})
        head = "| page | p50 ms | p95 ms | max ms | CPU ms | SQL |"
        rule = "|---|---:|---:|---:|---:|---:|"
        if before:
            head += " p50 before | p95 before | CPU before | SQL before |"
            rule += "---:|---:|---:|---:|"
        lines += [head + " p95 target |", rule + "---|"]
        for page, f in backend["pages"].items():
            row = (
                f"| {page} | {f['p50_ms']} | {f['p95_ms']} | {f['max_ms']} | {f['cpu_p50_ms']} "
                f"| {f['sql_statements']} |"
            )
            if before:
                old = before.get(page)
                row += (
                    f" {old['p50_ms']} | {old['p95_ms']} | {old.get('cpu_p50_ms', 'n/a')} "
                    f"| {old['sql_statements']} |"
                    if old
                    else " n/a | n/a | n/a | n/a |"
                )
            row += f" {'met' if f['meets_target'] else '**missed**'} |"
            lines.append(row)
    if results.get("notes"):
        lines += ["", "## Notes", "", *results["notes"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per page")
    parser.add_argument("--audit", type=int, help=f"audit rows in the book ({Sizes.audit:,})")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier web.json (before a change): shown beside these figures",
    )
    parser.add_argument(
        "--notes", type=Path, help="a Markdown file appended to web.md under 'Notes'"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for web.json and web.md")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few weeks of book, 1 warm-up and 2 requests a page, results to a temporary "
        "folder: checks the benchmark runs, measures nothing",
    )
    parser.add_argument(
        "--render",
        type=Path,
        help="measure nothing: write web.md (and web.json) from this web.json",
    )
    args = parser.parse_args()
    if args.quick:  # QUICK's sizes, unless given on the command line
        parser.set_defaults(runs=2, warmup=1, out=Path(tempfile.mkdtemp(prefix="bench-quick-")))
        args = parser.parse_args()
    args.sizes = QUICK if args.quick else Sizes()
    if args.audit is not None:
        args.sizes = replace(args.sizes, audit=args.audit)
    output = json.loads(args.render.read_text()) if args.render else asyncio.run(main(args))
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    if baseline:
        kept = ("p50_ms", "p95_ms", "max_ms", "cpu_p50_ms", "sql_statements", "meets_target")
        output["baseline"] = {
            "generated_at": baseline.get("generated_at"),
            "machine": baseline.get("machine"),
            "backends": {
                name: {page: {k: f[k] for k in kept if k in f} for page, f in b["pages"].items()}
                for name, b in baseline["backends"].items()
            },
        }
    if args.notes:
        output["notes"] = args.notes.read_text(encoding="utf-8").strip().splitlines()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    (args.out / "web.md").write_text(markdown(output), encoding="utf-8")
    print(f"wrote {args.out / 'web.json'} and web.md")
