"""Real reminder calls: `receptionist reminders run` -> agent dispatch -> the real agent.py places
the call through livekit-sip -> sipp plays the patient's phone (a UAS answering the INVITE).

- answers and presses 1 (it is me) then 1 (confirm): the reminder is confirmed in the book, the
  attempt stored as answered by a person, and the call ends with the bridge's BYE;
- answers and presses 1 then 2: the appointment is cancelled;
- answers 486 Busy, or rings out unanswered: the attempt is stored as busy / no answer and the
  reminder waits for the next slot, not before.

This module runs its own stack (namespace `rcp-rem`, 10.79.0.1) and its own worker, so it never
disturbs the session stack other e2e tests share; only STT/LLM/TTS are test doubles.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from receptionist.ops.stack import LocalStack, StackConfig, find_binary
from receptionist.paths import REPO_ROOT
from receptionist.store import Outbox, Store, upgrade
from tests.e2e.rig import Worker, start_worker, worker_env
from tests.support.reminder_phone import (
    OUTBOUND_TRUNK,
    PATIENT_MEDIA,
    PATIENT_PORT,
    PRACTICE_NUMBER,
    answering_scenario,
    busy_scenario,
    reminder_profile,
    ringing_out_scenario,
    voicemail_scenario,
    write_voicemail_ulaw,
)
from tests.support.sipcall import (
    capture_rtp,
    parse_messages,
    read_pcap,
    voiced_frames,
    write_silence_ulaw,
)
from tests.support.stack_programs import python_in_stack

pytestmark = pytest.mark.e2e

STACK = StackConfig(name="rcp-rem", address="10.79.0.1", run_dir=REPO_ROOT / ".stack")
AGENT = "receptionist"


@dataclass
class Rig:
    stack: LocalStack
    env: dict[str, str]
    book: str
    worker: Worker
    workdir: Path


@pytest.fixture(scope="module")
def rig(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp("reminders")
    book = f"sqlite+aiosqlite:///{workdir / 'book.db'}"
    asyncio.run(upgrade(book))
    with LocalStack(STACK) as stack:
        env = {
            **os.environ,
            **stack.env(),
            "AGENT_NAME": AGENT,
            "DATABASE_URL": book,
            "OUTBOX_DIR": str(workdir / "outbox"),
            "NOISE_CANCELLATION": "auto",
            "SIP_ALLOWED_ADDRESSES": "10.79.0.0/24",
            "SIP_INBOUND_NUMBERS": "",
            "SIP_OUTBOUND_ADDRESS": "",
        }
        trunk = python_in_stack(
            stack, env, OUTBOUND_TRUNK, f"{STACK.address}:{PATIENT_PORT}", PRACTICE_NUMBER
        )
        practice = workdir / "practice.toml"
        practice.write_text(reminder_profile(json.loads(trunk)["trunk_id"]))
        env["PRACTICE_FILE"] = str(practice)
        own = {k: env[k] for k in env if k not in os.environ}
        factory = "tests.support.reminder_phone:providers"
        worker = start_worker(stack, worker_env(own, PROVIDER_FACTORY=factory))
        try:
            yield Rig(stack, env, book, worker, workdir)
        finally:
            stack.stop_process(worker.proc)


async def _visit(rig: Rig, name: str, phone: str, hours: int) -> str:
    store = Store(rig.book, outbox=Outbox(rig.workdir / "outbox"))
    try:
        patient, _ = await store.appointments.register_patient(
            "lakeside", name, date(1980, 5, 17), phone
        )
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
        visit = await store.appointments.book(
            practice_id="lakeside",
            provider_id="dr-a",
            patient_id=patient.id,
            visit_type="exam",
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
        return visit.id
    finally:
        await store.close()


async def _state(rig: Rig, appointment_id: str):
    store = Store(rig.book, outbox=Outbox(rig.workdir / "outbox"))
    try:
        reminder = (await store.reminders.reminders_for([appointment_id]))[appointment_id]
        attempts = [
            r
            for r in await store.reminders.reminder_results(
                "lakeside",
                start=datetime.now(UTC) - timedelta(hours=1),
                end=datetime.now(UTC) + timedelta(hours=1),
            )
            if r.reminder.id == reminder.id
        ]
        appointment = await store.appointments.get_appointment(appointment_id)
        return reminder, [a.attempt for a in attempts], appointment
    finally:
        await store.close()


def _patient_phone(rig: Rig, name: str, scenario: str) -> subprocess.Popen[bytes]:
    folder = rig.workdir / name
    folder.mkdir(exist_ok=True)
    write_silence_ulaw(folder / "silence.ulaw")
    (folder / "patient.xml").write_text(scenario)
    argv = [
        find_binary("sipp") or "sipp",
        "-sf", str(folder / "patient.xml"),
        "-i", STACK.address, "-p", str(PATIENT_PORT),
        "-mi", STACK.address, "-mp", str(PATIENT_MEDIA),
        "-m", "1", "-nostdin",
        "-timeout", "120s", "-timeout_error",
        "-trace_msg", "-message_file", str(folder / "messages.log"),
        "-trace_err", "-error_file", str(folder / "errors.log"),
    ]  # fmt: skip
    log = open(folder / "sipp.out", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(rig.stack.wrap(argv), cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc


def _run_reminders(rig: Rig) -> str:
    result = subprocess.run(
        rig.stack.wrap([sys.executable, "-m", "receptionist.ops.cli", "reminders", "run"]),
        env=rig.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _bridge_takes_calls(rig: Rig, timeout: float = 90.0) -> None:
    """livekit-sip refuses new calls ("cpu exhausted", 429 on its health port) while the host's
    CPU is saturated, as it is right after a worker starts on 2 cores: wait until it takes them
    (a refused reminder call would only be retried after the spacing)."""
    url = f"http://{STACK.address}:{STACK.sip_health_port}/"
    deadline = time.monotonic() + timeout
    while rig.stack.http_get(url)[0] != 200:
        if time.monotonic() > deadline:
            pytest.fail(f"livekit-sip kept refusing calls for {timeout:.0f}s (host CPU saturated)")
        time.sleep(0.5)


def _call(rig: Rig, name: str, scenario: str) -> list:
    rig.worker.wait_ready_for_call()
    _bridge_takes_calls(rig)
    phone = _patient_phone(rig, name, scenario)
    try:
        said = _run_reminders(rig)
        assert "lakeside: 1 called" in said, said
        code = phone.wait(150)
    except subprocess.TimeoutExpired:
        phone.kill()
        code = phone.wait()
    folder = rig.workdir / name
    trace = folder / "messages.log"
    messages = parse_messages(trace.read_text(errors="replace") if trace.exists() else "")
    details = (folder / "sipp.out").read_text(errors="replace")[-2000:]
    assert code == 0, f"sipp exited {code}:\n{details}\n{rig.worker.log()[-3000:]}"
    return messages


async def _wait_recorded(rig: Rig, appointment_id: str, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reminder, attempts, appointment = await _state(rig, appointment_id)
        if attempts and attempts[0].finished_at is not None:
            return reminder, attempts, appointment
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"attempt never recorded: {reminder.status}")
        await asyncio.sleep(0.5)


def test_press_1_then_1_confirms_and_the_call_ends_with_bye(rig: Rig):
    visit = asyncio.run(_visit(rig, "Ann Confirm", "+14145550123", 20))
    messages = _call(rig, "confirm", answering_scenario(rig.workdir, "1", "1"))
    invite = next(m for m in messages if not m.sent and m.method == "INVITE")
    assert "+14145550100" in invite.header("from")  # the practice's number as caller id
    assert any(not m.sent and m.method == "BYE" for m in messages)  # the agent hung up
    reminder, [attempt], appointment = asyncio.run(_wait_recorded(rig, visit))
    assert reminder.status == "confirmed" and reminder.confirmed_at is not None
    assert appointment.status == "booked"
    assert (attempt.line, attempt.sip_status, attempt.answered_by, attempt.choice) == (
        "answered",
        200,
        "person",
        "confirmed",
    )


def test_press_1_then_2_cancels(rig: Rig):
    visit = asyncio.run(_visit(rig, "Bo Cancel", "+14145550124", 22))
    _call(rig, "cancel", answering_scenario(rig.workdir, "1", "2"))
    reminder, [attempt], appointment = asyncio.run(_wait_recorded(rig, visit))
    assert appointment.status == "cancelled" and reminder.status == "cancelled"
    assert attempt.choice == "cancelled"


def test_busy_is_stored_and_retried_at_the_next_slot_not_before(rig: Rig):
    visit = asyncio.run(_visit(rig, "Cy Busy", "+14145550125", 24))
    _call(rig, "busy", busy_scenario())
    reminder, [attempt], _ = asyncio.run(_wait_recorded(rig, visit))
    assert (attempt.line, attempt.sip_status) == ("busy", 486)
    assert reminder.status == "pending" and reminder.attempts == 1
    assert reminder.next_attempt_at >= attempt.started_at + timedelta(minutes=60)
    # Not before the spacing: another pass now calls nobody.
    assert "lakeside: 0 called" in _run_reminders(rig)


def test_ringing_out_with_no_answer_is_retried_at_the_next_slot(rig: Rig):
    visit = asyncio.run(_visit(rig, "Di Away", "+14145550126", 26))
    messages = _call(rig, "no-answer", ringing_out_scenario())
    assert any(not m.sent and m.method == "CANCEL" for m in messages)  # rang out, then gave up
    reminder, [attempt], _ = asyncio.run(_wait_recorded(rig, visit))
    assert attempt.line == "no_answer", (attempt.line, attempt.sip_status)
    assert reminder.status == "pending" and reminder.attempts == 1
    assert reminder.next_attempt_at >= attempt.started_at + timedelta(minutes=60)


def _sent_at(packets: list, seconds: float) -> float:
    """Capture time of the packet carrying the audio at `seconds` (8 kHz u-law: a byte a sample)."""
    total = 0
    for packet in packets:
        total += len(packet.payload)
        if total >= seconds * 8000:
            return packet.time
    raise AssertionError(f"the phone sent only {total / 8000:.2f} s of audio")


def test_a_voicemail_gets_a_message_after_the_beep_and_is_stored_as_machine(rig: Rig):
    visit = asyncio.run(_visit(rig, "Ann Mailbox", "+14145550127", 28))
    folder = rig.workdir / "voicemail"
    folder.mkdir(exist_ok=True)
    beep_ends = write_voicemail_ulaw(folder)
    pcap = folder / "rtp.pcap"
    with capture_rtp(rig.stack, f"udp port {PATIENT_MEDIA}", pcap):
        messages = _call(rig, "voicemail", voicemail_scenario())
    assert any(not m.sent and m.method == "BYE" for m in messages)  # message left, hung up
    packets = read_pcap(pcap)
    played = [p for p in packets if p.src_port == PATIENT_MEDIA]
    heard = voiced_frames([p for p in packets if p.dst_port == PATIENT_MEDIA])
    assert played and len(heard) >= 50, "the agent's message never reached the mailbox"
    # Nothing spoken into the greeting: the message starts after the packet that carried the
    # beep's end left the phone (not first packet + beep length: sipp's pacing jitters on a busy
    # host, and a late start catches up in a burst).
    beep_sent = _sent_at(played, beep_ends)
    assert heard[0].time >= beep_sent, heard[0].time - beep_sent
    reminder, [attempt], _ = asyncio.run(_wait_recorded(rig, visit))
    assert reminder.status == "left_message" and attempt.choice == "left_message"
    assert (attempt.line, attempt.answered_by) == ("answered", "machine")
