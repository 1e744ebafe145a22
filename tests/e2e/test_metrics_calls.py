"""What an operator watches, during a real call that books: the worker's Prometheus endpoint and
its OTLP traces, with no caller's number, patient's name or birth date in either.

sipp dials the practice from 414-555-0123; the real agent.py worker (PROMETHEUS_PORT on,
OTEL_EXPORTER_OTLP_ENDPOINT at a real OTLP/HTTP receiver inside the stack's namespace,
tests/support/otlp.py) registers the caller as a new patient, Carla Diaz born 1992-07-14, and books
the new-patient exam (the scripted model, tests/support/e2e_providers.py `build_booking`); the
caller hangs up a while later. /metrics is scraped before, while the caller is still on the line
and after: the call ran in a job process of its own, so what it counted reaches the scrape only
through the multiprocess folder (receptionist/telemetry/multiprocess.py). The spans arrive once
the job process has ended (its last, the job's own, after the call).

This module runs its own stack (namespace `rcp-metrics`, 10.82.0.1) and worker.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from receptionist.ops.stack import LocalStack, StackConfig
from receptionist.paths import REPO_ROOT
from receptionist.store import Outbox, Store, upgrade
from tests.e2e.rig import E2E_DIR, PRACTICE_NUMBER, Worker, start_worker, worker_env
from tests.support.otlp import ReceivedSpan, spans_in
from tests.support.sipcall import Caller, SippResult, write_speech_ulaw

pytestmark = pytest.mark.e2e

STACK = StackConfig(name="rcp-metrics", address="10.82.0.1", run_dir=REPO_ROOT / ".stack")
AGENT = "receptionist"
PROMETHEUS_PORT = 9300
OTLP_PORT = 4318
CALLER_AS_SENT = "4145550123"
CALLER_E164 = "+14145550123"
CARLA = ("Carla Diaz", date(1992, 7, 14))
# The caller's number (as sent, and its local seven digits), the patient's name and birth date in
# the forms the call writes or says them.
PATIENT_DATA = (
    CALLER_AS_SENT,
    "5550123",
    "Carla",
    "Diaz",
    "1992-07-14",
    "07/14/1992",
    "July 14",
    "July fourteenth",
)
LISTEN_MS = 30_000  # the caller hangs up 30 s after the answer, long after the booking


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: Samples

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def matching(self, name: str) -> list[float]:
        return [v for (n, _), v in self.samples.items() if n == name]

    def texts(self) -> list[str]:
        """What a scrape says besides figures: names, help, label names and values."""
        found = []
        for family in text_string_to_metric_families(self.text):
            found += [family.name, family.documentation]
            for s in family.samples:
                found += [s.name, *s.labels.keys(), *s.labels.values()]
        return found


@dataclass
class Rig:
    stack: LocalStack
    book: str
    worker: Worker
    workdir: Path
    spans: Path

    def scrape(self) -> Scrape:
        code, body = self.stack.http_get(f"http://{STACK.address}:{PROMETHEUS_PORT}/metrics")
        assert code == 200, f"/metrics answered {code}: {body[:500]}"
        samples: Samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        return Scrape(body, samples)


def _wait_for_line(path: Path, line: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"{path.name} never said {line!r}")


@pytest.fixture(scope="module")
def rig(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp("metrics")
    book = f"sqlite+aiosqlite:///{workdir / 'book.db'}"
    asyncio.run(upgrade(book))
    with LocalStack(STACK) as stack:
        own = {
            **stack.env(),
            "AGENT_NAME": AGENT,
            "PRACTICE_FILE": str(E2E_DIR / "practice.toml"),
            "DATABASE_URL": book,
            "OUTBOX_DIR": str(workdir / "outbox"),
            "NOISE_CANCELLATION": "auto",
            "SIP_ALLOWED_ADDRESSES": "10.82.0.0/24",
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
        spans = workdir / "spans"
        receiver = [sys.executable, "-m", "tests.support.otlp", STACK.address, str(OTLP_PORT)]
        stack.spawn("otlp", [*receiver, str(spans)], env={"PYTHONPATH": str(REPO_ROOT)})
        _wait_for_line(stack.log_path("otlp"), "ready")
        env = worker_env(
            own,
            PROVIDER_FACTORY="tests.support.e2e_providers:build_booking",
            PROMETHEUS_PORT=str(PROMETHEUS_PORT),
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{STACK.address}:{OTLP_PORT}",
            SILENCE_TIMEOUT="40",  # the caller is quiet after booking, then hangs up
        )
        worker = start_worker(stack, env)
        try:
            yield Rig(stack, book, worker, workdir, spans)
        finally:
            stack.stop_process(worker.proc)


@dataclass
class BookingCall:
    result: SippResult
    before: Scrape
    during: Scrape
    on_the_line: bool  # the caller had not hung up when `during` was scraped
    after: Scrape
    spans: list[ReceivedSpan]


def _poll(rig: Rig, done, timeout: float) -> Scrape:  # noqa: ANN001 - a predicate on a Scrape
    deadline = time.monotonic() + timeout
    scrape = rig.scrape()
    while not done(scrape) and time.monotonic() < deadline:
        time.sleep(0.5)
        scrape = rig.scrape()
    return scrape


def _spans(rig: Rig, timeout: float = 60.0) -> list[ReceivedSpan]:
    """The spans received, once the job's own (it ends last, after the call) has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = spans_in(rig.spans)
        if any(s.name == "job_entrypoint" for s in found):
            return found
        time.sleep(0.5)
    pytest.fail(f"no job span arrived: {sorted({s.name for s in spans_in(rig.spans)})}")


def booked(scrape: Scrape) -> float:
    return scrape.value("receptionist_bookings_total", practice="lakeside", change="booked")


def calls_booked(scrape: Scrape) -> float:
    return scrape.value("receptionist_calls_total", practice="lakeside", outcome="booked")


@pytest.fixture(scope="module")
def booking_call(rig: Rig) -> BookingCall:
    workdir = rig.workdir / "caller"
    workdir.mkdir()
    speech = write_speech_ulaw("I am a new patient and I would like to book.", workdir / "s.ulaw")
    silence = bytes([0xFF]) * 8000
    # The greeting plays over six seconds of silence, then the caller speaks once (the audio
    # loops: it is longer than the call).
    (workdir / "caller.ulaw").write_bytes(silence * 6 + speech.read_bytes() + silence * 60)
    caller = Caller(rig.stack, workdir, sip_port=5090, media_port=16200)
    rig.worker.wait_ready_for_call()
    before = rig.scrape()
    proc = caller.start(
        "listen_then_hang_up.xml",
        PRACTICE_NUMBER,
        CALLER_AS_SENT,
        timeout_s=90,
        listen_ms=str(LISTEN_MS),
    )
    during = _poll(rig, lambda s: booked(s) > booked(before) or proc.poll() is not None, 60)
    on_the_line = proc.poll() is None
    result = caller.finish(proc)
    after = _poll(rig, lambda s: calls_booked(s) > calls_booked(before), 60)
    return BookingCall(result, before, during, on_the_line, after, _spans(rig))


def test_the_call_books_the_new_patient(booking_call: BookingCall, rig: Rig):
    assert booking_call.result.returncode == 0, booking_call.result.log
    assert booking_call.result.sent("BYE"), "the caller hangs up"

    async def visit():
        store = Store(rig.book, outbox=Outbox(rig.workdir / "outbox"))
        try:
            patient = await store.appointments.find_patient("lakeside", *CARLA)
            visits = await store.appointments.upcoming_for_patient(
                patient.id, after=datetime(2000, 1, 1, tzinfo=UTC)
            )
            return patient, visits
        finally:
            await store.close()

    patient, visits = asyncio.run(visit())
    assert patient.phone == CALLER_E164
    assert [v.visit_type for v in visits] == ["new-patient"]


def test_the_booking_is_counted_while_the_caller_is_on_the_line(booking_call: BookingCall):
    during, before = booking_call.during, booking_call.before
    assert booking_call.on_the_line, "the booking was not counted before the caller hung up"
    assert booked(during) == booked(before) + 1
    # LiveKit's own metrics come from the worker's main process: they reach the scrape too.
    assert max(during.matching("lk_agents_active_job_count"), default=0) >= 1
    assert calls_booked(during) == calls_booked(before)  # a call is counted when it ends


def test_the_ended_call_is_counted_with_its_replies_and_model_usage(booking_call: BookingCall):
    after, before = booking_call.after, booking_call.before
    assert calls_booked(after) == calls_booked(before) + 1
    assert after.value("receptionist_reply_seconds_count", practice="lakeside") >= 1
    double = {"practice": "lakeside", "provider": "test-double"}
    assert after.value("receptionist_llm_tokens_total", **double, model="scripted", kind="input")
    assert after.value("receptionist_tts_characters_total", **double, model="espeak-ng") > 0
    assert after.value("receptionist_stt_audio_seconds_total", **double, model="heard-sentence")
    assert after.matching("lk_agents_proc_initialize_duration_seconds_count")
    assert after.value("receptionist_store_up", dialect="sqlite") == 1
    assert after.value("receptionist_outbox_records", kind="call") == 0


def test_no_scrape_carries_the_callers_number_name_or_birth_date(booking_call: BookingCall):
    for scrape in (booking_call.during, booking_call.after):
        texts = scrape.texts()
        assert any(t == "receptionist_bookings_total" for t in texts)
        leaks = sorted({p for p in PATIENT_DATA for t in texts if p.lower() in t.lower()})
        assert leaks == []


def test_the_calls_spans_arrive_without_the_callers_number_name_or_birth_date(
    booking_call: BookingCall,
):
    spans = booking_call.spans
    names = {s.name for s in spans}
    assert {"job_entrypoint", "agent_session", "function_tool"} <= names, names
    tools = {s.attributes.get("lk.function_tool.name") for s in spans}
    assert {"register_patient", "find_open_times", "book_appointment"} <= tools
    [session] = [s for s in spans if s.name == "agent_session"]
    assert session.attributes.get("lk.sip.trunkID", "").startswith("ST_")  # ids still go
    texts = [t for s in spans for t in s.texts()]
    leaks = sorted({p for p in PATIENT_DATA for t in texts if p.lower() in t.lower()})
    assert leaks == []
    assert not [t for t in texts if ".pii." in t or t.startswith("gen_ai.input")]
