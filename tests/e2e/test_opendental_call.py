"""One real phone call that books into the practice's Open Dental (issue 19), end to end.

sipp dials the practice through livekit-sip; the real agent.py worker answers for a practice whose
`[practice.book]` is Open Dental's Local API, reached through the settings a practice sets (the
base URL in practice.toml, OPENDENTAL_DEVELOPER_KEY and OPENDENTAL_CUSTOMER_KEY). Behind that URL
is the strict simulator (tests/support/opendental_sim.py), run as a process of its own inside the
stack's namespace (tests/support/opendental_serve.py), seeded with an office around today. The
scripted model (tests/support/e2e_providers.py `build_booking`) registers a new patient, Carla
Diaz born 1992-07-14, and books the first new-patient exam; the caller hangs up a while later.

The office's own records must then hold the new patient and exactly one scheduled new-patient
exam with a mapped provider; the receptionist's own database holds the call and no appointment.

This module runs its own stack (namespace `rcp-od`, 10.84.0.1) and worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from receptionist.ops.stack import LocalStack, StackConfig
from receptionist.paths import REPO_ROOT
from receptionist.store import upgrade
from tests.e2e.rig import E2E_DIR, PRACTICE_NUMBER, Worker, start_worker, worker_env
from tests.support.e2e_providers import NEW_PATIENT
from tests.support.opendental import MAPPING
from tests.support.opendental_sim import CUSTOMER_KEY, DEV_KEY
from tests.support.sipcall import Caller, SippResult, write_speech_ulaw

pytestmark = pytest.mark.e2e

STACK = StackConfig(name="rcp-od", address="10.84.0.1", run_dir=REPO_ROOT / ".stack")
CALLER_AS_SENT = "4145550123"
LISTEN_MS = 30_000  # the caller hangs up 30 s after the answer, long after the booking
NEW_PATIENT_EXAM = MAPPING["visit_types"]["new-patient"]["appointment_type"]
FIRST, LAST = NEW_PATIENT["full_name"].split()


@dataclass
class Rig:
    stack: LocalStack
    book: Path  # the receptionist's own SQLite file
    state: Path  # the office's records, kept by the simulator process
    worker: Worker
    workdir: Path

    def office(self) -> dict[str, list[dict[str, Any]]]:
        return json.loads(self.state.read_text())


def opendental_profile(base_url: str) -> str:
    """tests/e2e/practice.toml with its book in Open Dental at `base_url` (the Local API)."""
    providers = ", ".join(f'"{k}" = {v}' for k, v in MAPPING["providers"].items())
    visits = "\n".join(
        f'"{visit}" = {{ {", ".join(f"{k} = {json.dumps(v)}" for k, v in spec.items())} }}'
        for visit, spec in MAPPING["visit_types"].items()
    )
    return (E2E_DIR / "practice.toml").read_text() + (
        "\n[practice.book]\n"
        'kind = "opendental"\n\n'
        "[practice.book.opendental]\n"
        'door = "local"\n'
        f'base_url = "{base_url}"\n'
        f"providers = {{ {providers} }}\n"
        "refresh_seconds = 0\n"
        "schedules_refresh_seconds = 0\n"
        "timeout_seconds = 5\n\n"
        "[practice.book.opendental.visit_types]\n"
        f"{visits}\n"
    )


def _wait_for_line(path: Path, start: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith(start):
                    return line
        time.sleep(0.2)
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    pytest.fail(f"{path.name} never said {start!r}:\n{text[-2000:]}")


@pytest.fixture(scope="module")
def rig(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp("opendental-call")
    book = workdir / "book.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{book}"))
    state = workdir / "office.json"
    with LocalStack(STACK) as stack:
        office = [sys.executable, "-m", "tests.support.opendental_serve", str(state)]
        stack.spawn("opendental", office, env={"PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
        base_url = _wait_for_line(stack.log_path("opendental"), "ready").split()[1]
        practice = workdir / "practice.toml"
        practice.write_text(opendental_profile(base_url))
        own = {
            **stack.env(),
            "PRACTICE_FILE": str(practice),
            "DATABASE_URL": f"sqlite+aiosqlite:///{book}",
            "OUTBOX_DIR": str(workdir / "outbox"),
            "OPENDENTAL_DEVELOPER_KEY": DEV_KEY,
            "OPENDENTAL_CUSTOMER_KEY": CUSTOMER_KEY,
            "SIP_ALLOWED_ADDRESSES": "10.84.0.0/24",
            "SIP_INBOUND_NUMBERS": "",
            "SIP_AUTH_USERNAME": "",
            "SIP_AUTH_PASSWORD": "",
            "SIP_OUTBOUND_ADDRESS": "",
        }
        setup = subprocess.run(
            stack.wrap([sys.executable, "-m", "receptionist.ops.cli", "sip", "setup", "--json"]),
            cwd=REPO_ROOT,
            env={**os.environ, **own},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        env = worker_env(
            own,
            PROVIDER_FACTORY="tests.support.e2e_providers:build_booking",
            SILENCE_TIMEOUT="40",  # the caller is quiet after booking, then hangs up
        )
        worker = start_worker(stack, env)
        try:
            yield Rig(stack, book, state, worker, workdir)
        finally:
            stack.stop_process(worker.proc)


def carlas_visits(office: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    patients = [p for p in office["patients"] if (p["FName"], p["LName"]) == (FIRST, LAST)]
    numbers = {p["PatNum"] for p in patients}
    return [a for a in office["appointments"] if a["PatNum"] in numbers]


@pytest.fixture(scope="module")
def booking_call(rig: Rig) -> SippResult:
    workdir = rig.workdir / "caller"
    workdir.mkdir()
    speech = write_speech_ulaw("I am a new patient and I would like to book.", workdir / "s.ulaw")
    silence = bytes([0xFF]) * 8000
    (workdir / "caller.ulaw").write_bytes(silence * 6 + speech.read_bytes() + silence * 60)
    caller = Caller(rig.stack, workdir, sip_port=5090, media_port=16200)
    rig.worker.wait_ready_for_call()
    proc = caller.start(
        "listen_then_hang_up.xml",
        PRACTICE_NUMBER,
        CALLER_AS_SENT,
        timeout_s=90,
        listen_ms=str(LISTEN_MS),
    )
    result = caller.finish(proc)
    deadline = time.monotonic() + 60  # the call record is written once the job has ended
    while time.monotonic() < deadline and not _call_rows(rig.book):
        time.sleep(0.5)
    return result


def _call_rows(book: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(book) as db:
        return db.execute("SELECT outcome, outcomes FROM calls").fetchall()


def test_the_call_books_the_new_patient_into_open_dental(booking_call: SippResult, rig: Rig):
    assert booking_call.returncode == 0, booking_call.log
    assert booking_call.sent("BYE"), "the caller hangs up"
    office = rig.office()
    [patient] = [p for p in office["patients"] if (p["FName"], p["LName"]) == (FIRST, LAST)]
    assert patient["Birthdate"] == NEW_PATIENT["date_of_birth"]
    [visit] = carlas_visits(office)  # exactly one: never written twice
    assert visit["AptStatus"] == "Scheduled"
    assert visit["AppointmentTypeNum"] == NEW_PATIENT_EXAM
    assert visit["ProvNum"] in set(MAPPING["providers"].values())
    assert datetime.fromisoformat(visit["AptDateTime"]) > datetime.now()


def test_the_receptionist_keeps_the_call_but_no_appointment_of_its_own(
    booking_call: SippResult, rig: Rig
):
    [(outcome, _)] = _call_rows(rig.book)
    assert outcome == "booked"
    with sqlite3.connect(rig.book) as db:
        [(own,)] = db.execute("SELECT count(*) FROM appointments").fetchall()
    assert own == 0, "the office's Open Dental is the book, not the receptionist's database"
