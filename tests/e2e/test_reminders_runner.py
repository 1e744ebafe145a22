"""`receptionist reminders run` against a real livekit-server: each due reminder becomes one agent
dispatch (CreateAgentDispatch, metadata naming the reminder) to the agent that answers inbound
calls; two runners started together dispatch each patient once; a second pass adds nothing while
the calls are in flight; on a closure nobody is called.

The stack here is this module's own (namespace `rcp-rem`, 10.79.0.1), so it never disturbs the
session stack the other e2e tests share. No worker runs: the dispatches wait on the server, where
the test reads them back (ListDispatch), exactly as a worker would receive them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from receptionist.ops.stack import LocalStack, StackConfig
from receptionist.paths import REPO_ROOT
from receptionist.reminders.rules import ReminderJob
from receptionist.store import Outbox, Store, upgrade
from receptionist.store.models import ReminderStatus
from tests.support.profiles import ONE_DENTIST_TOML, REMINDERS_ALL_DAY_TOML, lakeside_all_day_toml
from tests.support.stack_programs import python_in_stack

STACK = StackConfig(name="rcp-rem", address="10.79.0.1", run_dir=REPO_ROOT / ".stack")
AGENT = "receptionist"
PRACTICE_NUMBER = "+14145550100"
PROFILE = lakeside_all_day_toml(
    "Lakeside Reminder Dental",
    PRACTICE_NUMBER,
    ONE_DENTIST_TOML,
    REMINDERS_ALL_DAY_TOML,
    "max_in_flight = 4\n",
)

OUTBOUND_TRUNK = """
import asyncio, json, sys
from livekit import api
async def main():
    async with api.LiveKitAPI() as lk:
        t = await lk.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(
            trunk=api.SIPOutboundTrunkInfo(name="reminders", address="10.79.0.1:5099",
                                           numbers=[sys.argv[1]])))
        print(json.dumps({"trunk_id": t.sip_trunk_id}))
asyncio.run(main())
"""

DISPATCHES = """
import asyncio, json, sys
from livekit import api
async def main():
    async with api.LiveKitAPI() as lk:
        out = {}
        for room in sys.argv[1:]:
            found = await lk.agent_dispatch.list_dispatch(room)
            out[room] = [{"id": d.id, "agent_name": d.agent_name, "metadata": d.metadata}
                         for d in found]
        print(json.dumps(out))
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def stack(e2e_ready: None) -> Iterator[LocalStack]:
    with LocalStack(STACK) as running:
        yield running


@pytest.fixture
def book(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'book.db'}"
    asyncio.run(upgrade(url))
    return url


def _env(stack: LocalStack, book: str, tmp_path: Path) -> dict[str, str]:
    practice = tmp_path / "practice.toml"
    practice.write_text(PROFILE)
    return {
        **os.environ,
        **stack.env(),
        "AGENT_NAME": AGENT,
        "PRACTICE_FILE": str(practice),
        "DATABASE_URL": book,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "LOG_LEVEL": "WARN",
    }


def _runner(stack: LocalStack, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "receptionist.ops.cli", "reminders", "run", *args]
    return subprocess.Popen(
        stack.wrap(argv),
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


async def _visits(book: str, tmp_path: Path, count: int) -> list[str]:
    store = Store(book, outbox=Outbox(tmp_path / "outbox"))
    ids = []
    try:
        now = datetime.now(UTC)
        for i in range(count):
            patient, _ = await store.appointments.register_patient(
                "lakeside", f"Patient {i}", date(1980, 1, 1 + i), f"+1414555{i:04d}"
            )
            start = now + timedelta(hours=20, minutes=30 * i)
            visit = await store.appointments.book(
                practice_id="lakeside",
                provider_id="dr-a",
                patient_id=patient.id,
                visit_type="exam",
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
            )
            ids.append(visit.id)
        # One patient with no usable number: skipped with the reason, never dispatched.
        nobody, _ = await store.appointments.register_patient(
            "lakeside", "No Number", date(1970, 1, 1), ""
        )
        start = now + timedelta(hours=30)
        await store.appointments.book(
            practice_id="lakeside",
            provider_id="dr-a",
            patient_id=nobody.id,
            visit_type="exam",
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
    finally:
        await store.close()
    return ids


async def _reminders(book: str, tmp_path: Path, appointment_ids: list[str]):
    store = Store(book, outbox=Outbox(tmp_path / "outbox"))
    try:
        return await store.reminders.reminders_for(appointment_ids)
    finally:
        await store.close()


def test_two_runners_dispatch_each_due_reminder_once_to_the_agent(stack, book, tmp_path):
    env = _env(stack, book, tmp_path)
    trunk = json.loads(python_in_stack(stack, env, OUTBOUND_TRUNK, PRACTICE_NUMBER))["trunk_id"]
    visits = asyncio.run(_visits(book, tmp_path, 3))

    first, second = _runner(stack, env), _runner(stack, env)
    results = [_finish(first), _finish(second)]
    assert all(code == 0 for code, _ in results), results
    # Whoever wins each claim, the two runners call three patients between them.
    called = [int(re.search(r"lakeside: (\d+) called", text)[1]) for _, text in results]
    assert sum(called) == 3, results
    assert all("1 not called: no usable phone number" in text for _, text in results)

    reminders = asyncio.run(_reminders(book, tmp_path, visits))
    assert sorted(reminders) == sorted(visits)
    assert {(r.status, r.attempts) for r in reminders.values()} == {(ReminderStatus.CALLING, 1)}
    rooms = [f"reminder-{r.id}-1" for r in reminders.values()]
    seen = json.loads(python_in_stack(stack, env, DISPATCHES, *rooms))
    for reminder in reminders.values():
        # Exactly one dispatch of our agent per patient (a new room also gets the server's
        # default dispatch, for unnamed agents: ours registers with a name and never takes it).
        ours = [d for d in seen[f"reminder-{reminder.id}-1"] if d["agent_name"] == AGENT]
        [dispatch] = ours
        assert dispatch["id"] == reminder.dispatch_id
        job = ReminderJob.from_metadata(dispatch["metadata"])
        assert job == ReminderJob(reminder.id, 1, "lakeside", trunk, 30)
        assert "+1414" not in dispatch["metadata"]  # ids only, never a number

    # Idempotent: the calls are in flight, so another pass dispatches nothing.
    code, text = _finish(_runner(stack, env))
    assert code == 0 and "lakeside: 0 called" in text, text
    again = asyncio.run(_reminders(book, tmp_path, visits))
    assert {r.id: (r.attempts, r.dispatch_id) for r in again.values()} == {
        r.id: (1, r.dispatch_id) for r in reminders.values()
    }


def test_on_a_closure_nobody_is_called(stack, book, tmp_path):
    env = _env(stack, book, tmp_path)
    visits = asyncio.run(_visits(book, tmp_path, 2))

    async def close_today() -> None:
        store = Store(book, outbox=Outbox(tmp_path / "outbox"))
        try:
            today = datetime.now(UTC).astimezone(ZoneInfo("America/Chicago")).date()
            await store.closures.add_closure("lakeside", start=today, end=None, reason="burst pipe")
        finally:
            await store.close()

    asyncio.run(close_today())
    code, text = _finish(_runner(stack, env))
    assert code == 0 and "lakeside: nobody called (the practice is closed today)" in text, text
    assert asyncio.run(_reminders(book, tmp_path, visits)) == {}


def test_a_dry_run_names_who_is_due_and_claims_nothing(stack, book, tmp_path):
    env = _env(stack, book, tmp_path)
    visits = asyncio.run(_visits(book, tmp_path, 2))
    code, text = _finish(_runner(stack, env, "--dry-run"))
    assert code == 0 and "lakeside: 2 due now; 1 not called: no usable phone number" in text, text
    assert asyncio.run(_reminders(book, tmp_path, visits)) == {}
