"""Benchmark: how many reminder calls per minute one worker host places and completes.

    sudo uv run python bench/reminders.py --patients 40 --cap 4,8            # the real run
    sudo uv run python bench/reminders.py --patients 6 --cap 2               # a quick look
    sudo uv run python bench/reminders.py --quick     # one patient: does it still run?
    sudo uv run python bench/reminders.py --patients 40 --cap 8 \\
        --mix confirm=8,voicemail=1,busy=1                                  # with a mix

The real stack, as the reminder e2e tests run it (tests/e2e/test_reminders_calls.py): Redis,
livekit-server and livekit-sip in a network namespace of the benchmark's own ("rcp-rembench"),
one receptionist worker (`agent.py start`, the production pool settings of bench/calls.py, only
STT/LLM/TTS test doubles: tests.support.reminder_phone:providers, the e2e doubles plus a model
answering LiveKit's answering-machine detection) and one sipp UAS playing every patient's phone
on the practice's outbound trunk. Each level (every `--patients` x `--cap` x `--interval`) gets
a fresh SQLite book, a fresh worker and N booked visits due for a reminder (first name "Ann" for
everybody, so the espeak double renders the opening once; the visit line names each visit's own
time). The patients' phones, by number (`--mix`, default: all confirm):

- confirm: rings `--ring-ms`, answers, says nothing (AMD hears no speech), presses 1 ("it is
  me") `--press-after` seconds after the answer, then 1 again (confirm), as the e2e test does;
  the agent says goodbye and hangs up (BYE);
- voicemail: rings, answers with a mailbox greeting and beep; the agent leaves its message;
- busy: answers 486 Busy Here; the reminder is tried again `--retry-minutes` later (at least 5,
  the practice setting's floor), up to `--attempts` calls, then given up.

The runner is run the way an operator schedules it: `receptionist reminders run` (the same
command cron starts, as `python -m receptionist.ops.cli`) every `--interval` seconds from the
first pass, whether or not the previous pass has ended, with `max_in_flight = --cap` in
practice.toml, until every reminder of the level is finished (confirmed, message left, given up,
...) or `--max-minutes` have passed.

Figures, per level (times from the book, sipp's message trace and the worker's /proc; the clock
is the same machine's):

- placed per minute: INVITEs the patients' phones received / the level's window (the first pass
  -> the last attempt recorded in the book); dispatched per minute: attempts the runners
  claimed and dispatched, over the same window; completed per minute: reminders confirmed in the
  book (`reminders.confirmed_at`) over the same window; finished per minute: reminders that
  reached any final status. "slot bound": cap x 60 / (interval x ceil(slot time / interval)),
  what the schedule allows when each call holds its slot for the median slot time (a freed slot
  is only refilled at the next pass). Peak calls at once: INVITE -> BYE at the phones; peak slots
  held: dispatched -> slot freed (at most the cap).
- dispatch -> INVITE: the runner's "reminder call dispatched" log line for the attempt (written
  once CreateAgentDispatch returned) -> the INVITE at the patient's phone: the server assigning
  the job, a job process taking it, the session and AMD starting, CreateSIPParticipant, the
  bridge dialling (and asking again when it refused: "cpu exhausted").
- pass start -> dispatched: the attempt's `started_at` (the pass's clock, read as it starts
  deciding who is due, after its own start-up) -> its dispatch log line: the runner's share (the
  book's reads, the claim, the dispatches one after another). Runner pass: its process's start
  -> exit, Python start-up included.
- INVITE -> answer: INVITE received -> 200 OK sent (the phone's ring, `--ring-ms`);
  200 OK -> ACK: the bridge taking the answer.
- answer -> confirmed: 200 OK -> `confirmed_at` in the book. It includes the patient's scripted
  pauses (`--press-after`); "after the last key" is the same less the pauses (measured from the
  ACK, when sipp's pauses start): the agent's own share, approximate.
- call duration: 200 OK -> the BYE at the phone. Slot time: dispatched -> the slot freed (the
  claim comes just before the dispatch).
  `max_in_flight` counts reminders still `calling`, and a reminder leaves `calling` as soon as the
  patient's choice is stored (`confirmed_at`), not when the call ends: the goodbye line and the
  hang-up no longer hold a slot, so the next pass may dial while those calls finish (calls at
  once can exceed the cap). Otherwise (no choice, a message left) the slot is freed when the
  attempt is recorded. Attempt time: dispatched -> the attempt recorded (`finished_at`, after
  the hang-up). Recorded after confirmed: `confirmed_at` -> `finished_at` (goodbye line, hang-up,
  the attempt row).
- failures and retries: attempts beyond the first of a reminder (retries), attempts whose line
  was not answered (busy, no answer, failed) or whose answered call chose nothing, attempts whose
  phone got no INVITE, confirm phones whose reminder did not end confirmed, runner passes that
  exited non-zero or whose dispatches failed, the bridge refusing to dial ("SIP bridge is busy;
  dialling again" in the worker's log, asked again within the attempt), jobs that found their
  reminder no longer held, reminders unfinished at `--max-minutes`.
- worker CPU: CPU seconds of the worker's process tree (worker, forkserver, job processes living
  or reaped, espeak-ng renders: bench/calls.py's measurement) from the first pass until the worker
  is idle again after the last call; per call placed (INVITEs) and per answered call-minute; net:
  less the idle worker's own rate (measured `--idle-wait` seconds before the level) over the same
  time. Stack CPU: livekit-server + livekit-sip + Redis; runner CPU: the passes' own processes
  (rusage of each), per pass. sipp is not counted.
- memory: PSS of the worker's process tree sampled twice a second: idle before the level, peak,
  (peak - idle) / the most calls in flight at once, and the mean PSS of one job process at the peak.
- log counts from the worker (bench/calls.py's, plus the reminder call's own lines).

Machine (CPUs, model, memory), versions and load average before and after the run and each level
are recorded with the command line. Needs root (network namespace, raw sockets for sipp's DTMF).
Run it alone on the machine: the figures are only as good as that. Writes
bench/results/reminders.json and reminders.md (`--out`). A benchmark, not a test: nothing here
asserts a time.

`--quick` (`QUICK`: one patient who confirms, one worker, about a minute and a half) writes to a
temporary folder and measures nothing worth keeping: it is how CI checks the benchmark still
runs (bench/quick.sh), so it fails when no call reached the phone or the reminder did not end
confirmed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.calls import (  # noqa: E402
    CLOCK_TICKS,
    MemorySampler,
    Worker,
    cpu_seconds,
    log_counts,
    percentile,
    process_tree,
    start_worker,
    summary,
    tree_pss,
    versions,
    wait_idle,
    worker_settings,
)
from receptionist.ops.stack import LocalStack, StackConfig, find_binary, signals_raise  # noqa: E402
from tests.support import reminder_phone as phone  # noqa: E402
from tests.support.sipcall import SipMessage, parse_messages, write_silence_ulaw  # noqa: E402
from tests.support.stack_programs import python_in_stack  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results"
CONFIG = StackConfig(name="rcp-rembench", address="10.79.0.1")
PRACTICE_ID = "lakeside"
PRACTICE_NUMBER = phone.PRACTICE_NUMBER
PROVIDERS = "tests.support.reminder_phone:providers"
FIRST_NAME = "Ann"
# Visits booked from VISITS_FROM on, one every VISIT_STEP (one dentist, 30-minute visits); the
# e2e profile reminds between 1 and 48 hours before, so at most MAX_PATIENTS fit in the window.
VISITS_FROM = timedelta(hours=2)
VISIT_STEP = timedelta(minutes=30)
MAX_PATIENTS = 90
KINDS = ("confirm", "busy", "voicemail")
# The patient's number says what the phone does: +1414555 <kind digit> <3 digits>.
KIND_DIGIT = {"confirm": "1", "busy": "2", "voicemail": "3"}
FINAL_WAIT = ("pending", "calling")  # any other status: the reminder is finished
# --quick: one patient who confirms; a pass every 15 s (the runner's start-up is CPU); the idle
# worker measured briefly; a retry (5 minutes at least) would outlast it, so give up at 3
QUICK = {"patients": "1", "cap": "1", "interval": "15", "idle_wait": 2, "max_minutes": 3.0}

LOG_LINES = {
    "jobs": '"received job request"',
    "bridge_busy_redials": "the SIP bridge is busy; dialling again",
    "not_answered": "reminder call not answered",
    "could_not_place": "reminder call could not be placed",
    "reminder_not_held": "this job no longer holds its reminder",
    "amd_no_verdict": "answering-machine detection gave no verdict",
    "attempts_recorded": "reminder attempt recorded",
}


# --- the patients' phones (one sipp UAS) ---------------------------------------------------------


def _swap(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced; fails loudly if the e2e snippet no longer holds it."""
    if old not in text:
        raise SystemExit(f"the e2e sipp snippet changed: {old!r} not found")
    return text.replace(old, new)


_BRANCHES = """<recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="4145552[0-9][0-9][0-9]" search_in="hdr" header="To:" assign_to="busy"/>
      <ereg regexp="4145553[0-9][0-9][0-9]" search_in="hdr" header="To:" assign_to="mailbox"/>
    </action>
  </recv>
  <nop next="busy" test="busy"/>
  <nop next="mailbox" test="mailbox"/>"""
_TO_END = '  <nop next="end"/>\n'


def phones_scenario(folder: Path, ring_ms: int, press_after: Sequence[float]) -> str:
    """One sipp scenario for every patient, branching on the dialled number: the e2e test's
    confirm (1 then 1), voicemail and busy phones, built from its own snippets."""
    head = _swap(phone.HEAD, '<recv request="INVITE" crlf="true"/>', _BRANCHES)
    ringing = phone.RESPONSE.format(status="180 Ringing")
    pause = f'<pause milliseconds="{ring_ms}"/>'
    answer = _swap(phone.ANSWER, '<pause milliseconds="300"/>', pause)
    presses = "".join(
        phone.PRESS.format(wait=int(after * 1000), pcap=phone.keypress("1", i, folder))
        for i, after in enumerate(press_after)
    )
    bye = _swap(phone.BYE, "</scenario>\n", "")
    mailbox = _swap(answer, "silence.ulaw,-1,0", "voicemail.ulaw,1,0")
    busy = phone.RESPONSE.format(status="486 Busy Here") + _swap(phone.BUSY, "</scenario>\n", "")
    return (
        head
        + ringing
        + answer
        + presses
        + bye
        + _TO_END
        + '  <label id="mailbox"/>\n'
        + ringing
        + mailbox
        + bye
        + _TO_END
        + '  <label id="busy"/>\n'
        + busy
        + '  <label id="end"/>\n</scenario>\n'
    )


def start_phones(
    stack: LocalStack, folder: Path, ring_ms: int, press_after: Sequence[float], tag: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """The patients' phones: one sipp UAS on the outbound trunk's address, every call at once."""
    folder.mkdir(parents=True, exist_ok=True)
    write_silence_ulaw(folder / "silence.ulaw")
    phone.write_voicemail_ulaw(folder)
    (folder / "patients.xml").write_text(phones_scenario(folder, ring_ms, press_after))
    trace = folder / "messages.log"
    argv = [
        find_binary("sipp") or "sipp",
        "-sf", str(folder / "patients.xml"),
        "-i", CONFIG.address, "-p", str(phone.PATIENT_PORT),
        "-mi", CONFIG.address, "-mp", str(phone.PATIENT_MEDIA),
        "-nostdin",
        "-trace_msg", "-message_file", str(trace),
        "-trace_err", "-error_file", str(folder / "errors.log"),
    ]  # fmt: skip
    proc = stack.spawn(f"phones-{tag}", argv, cwd=folder)
    time.sleep(1.0)
    if proc.poll() is not None:
        raise SystemExit(
            f"sipp (the patients' phones) exited; see {stack.log_path(f'phones-{tag}')}"
        )
    return proc, trace


@dataclass
class PhoneCall:
    """One call as the patient's phone saw it (sipp's trace, one SIP Call-ID)."""

    number: str
    invite: float
    status: int = 0  # the phone's final answer: 200 or 486
    answered: float | None = None  # 200 OK sent
    ack: float | None = None
    bye: float | None = None  # BYE received (the agent hung up) or sent
    cancel: float | None = None


def phone_calls(trace: Path) -> list[PhoneCall]:
    text = trace.read_text(errors="replace") if trace.exists() else ""
    by_id: dict[str, list[SipMessage]] = {}
    for m in parse_messages(text):
        by_id.setdefault(m.header("call-id"), []).append(m)
    calls = []
    for messages in by_id.values():
        invite = next((m for m in messages if not m.sent and m.method == "INVITE"), None)
        if invite is None:
            continue
        digits = re.search(r"\+?(\d{10,15})@", invite.header("to"))
        call = PhoneCall(number="+" + digits[1] if digits else "", invite=invite.epoch)
        for m in messages:
            if m.sent and m.status >= 200 and "INVITE" in m.header("cseq") and not call.status:
                call.status = m.status
                call.answered = m.epoch if m.status == 200 else None
            elif not m.sent and m.method == "ACK" and call.ack is None and call.answered:
                call.ack = m.epoch
            elif m.method == "BYE" and call.bye is None:
                call.bye = m.epoch
            elif not m.sent and m.method == "CANCEL" and call.cancel is None:
                call.cancel = m.epoch
        calls.append(call)
    return sorted(calls, key=lambda c: c.invite)


# --- the book ------------------------------------------------------------------------------------


def profile(trunk: str, args: argparse.Namespace, cap: int) -> str:
    """The e2e practice (open and calling all day, one dentist), with this level's cap."""
    text = phone.reminder_profile(trunk)
    text = _swap(text, "attempts = 3\n", f"attempts = {args.attempts}\n")
    text = _swap(text, "retry_minutes = 60\n", f"retry_minutes = {args.retry_minutes}\n")
    text = _swap(text, "ringing_seconds = 8\n", f"ringing_seconds = {args.ringing_seconds}\n")
    return text + f"max_in_flight = {cap}\n"


def parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for item in text.split(","):
        name, _, weight = item.strip().partition("=")
        if name not in KINDS:
            raise SystemExit(f"--mix: {name!r} is not one of {', '.join(KINDS)}")
        mix[name] = float(weight or 1)
    return mix


def assign_kinds(n: int, mix: dict[str, float]) -> list[str]:
    """n phones in the mix's proportions (largest remainder), spread evenly over the list."""
    total = sum(mix.values())
    exact = {k: n * w / total for k, w in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[
        : n - sum(counts.values())
    ]:
        counts[k] += 1
    slots = [((j + 0.5) / c, k) for k, c in counts.items() for j in range(c)]
    return [k for _, k in sorted(slots, key=lambda s: (s[0], KINDS.index(s[1])))]


@dataclass
class Seeded:
    appointment_ids: list[str]
    kind_by_phone: dict[str, str]
    phone_by_appointment: dict[str, str]


class Book:
    """The level's book, read and written from the benchmark through the store (one loop)."""

    def __init__(self, url: str, outbox: Path) -> None:
        from receptionist.store import Outbox, Store

        self._runner = asyncio.Runner()
        self.store = Store(url, outbox=Outbox(outbox))

    def close(self) -> None:
        self._runner.run(self.store.close())
        self._runner.close()

    def seed(self, kinds: list[str]) -> Seeded:
        async def go() -> Seeded:
            ids, phones, numbers = [], {}, {}
            start = datetime.now(UTC).replace(second=0, microsecond=0) + VISITS_FROM
            for i, kind in enumerate(kinds):
                phone = f"+1414555{KIND_DIGIT[kind]}{i:03d}"
                patient, _ = await self.store.appointments.register_patient(
                    PRACTICE_ID, f"{FIRST_NAME} Patient{i}", date(1970, 1, 1) + timedelta(i), phone
                )
                visit = await self.store.appointments.book(
                    practice_id=PRACTICE_ID,
                    provider_id="dr-a",
                    patient_id=patient.id,
                    visit_type="exam",
                    starts_at=start + VISIT_STEP * i,
                    ends_at=start + VISIT_STEP * i + timedelta(minutes=30),
                )
                ids.append(visit.id)
                phones[phone] = kind
                numbers[visit.id] = phone
            return Seeded(ids, phones, numbers)

        return self._runner.run(go())

    def reminders(self, appointment_ids: list[str]) -> dict:
        return self._runner.run(self.store.reminders.reminders_for(appointment_ids))

    def attempts(self, since: datetime) -> list:
        return self._runner.run(
            self.store.reminders.reminder_results(
                PRACTICE_ID,
                start=since - timedelta(minutes=1),
                end=datetime.now(UTC) + timedelta(hours=1),
            )
        )


# --- the runner, as cron runs it -----------------------------------------------------------------


@dataclass
class Pass:
    """One `receptionist reminders run`."""

    started: float  # wall clock
    proc: subprocess.Popen[bytes]
    out: Path
    ended: float | None = None
    code: int | None = None
    cpu_s: float = 0.0

    def reap(self) -> bool:
        """True once the pass has exited (its own CPU taken from wait4's rusage)."""
        if self.ended is not None:
            return True
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.ended = time.time()
        self.code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.code
        self.cpu_s = usage.ru_utime + usage.ru_stime
        return True

    def row(self, t0: float) -> dict:
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        called = re.search(r"(\d+) called", text)
        failed = re.search(r"(\d+) dispatches failed", text)
        return {
            "dispatched": dispatch_lines(text),
            "at_s": round(self.started - t0, 1),
            "duration_s": round((self.ended or time.time()) - self.started, 2),
            "exit": self.code,
            "called": int(called[1]) if called else None,
            "dispatch_failed": int(failed[1]) if failed else 0,
            "cpu_s": round(self.cpu_s, 2),
            **({"output": text[-500:]} if self.code else {}),
        }


def dispatch_lines(text: str) -> list[list]:
    """The runner's "reminder call dispatched" log lines: [reminder id, attempt, epoch], logged
    once CreateAgentDispatch has returned. The log's redaction masks digit runs of some ids as
    if they were phone numbers (`059314f***3145bc-...`): `dispatched_at` matches the rest."""
    found = []
    for line in text.splitlines():
        if '"reminder call dispatched"' not in line:
            continue
        try:
            entry = json.loads(line)
            stamp = datetime.fromisoformat(entry["timestamp"]).timestamp()
            found.append([str(entry["reminder"]), int(entry["attempt"]), stamp])
        except (ValueError, KeyError, TypeError):
            continue
    return found


def start_pass(stack: LocalStack, env: dict[str, str], out: Path) -> Pass:
    argv = [sys.executable, "-m", "receptionist.ops.cli", "reminders", "run"]
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            stack.wrap(argv), env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    return Pass(time.time(), proc, out)


def bridge_takes_calls(stack: LocalStack, timeout: float = 90.0) -> float:
    """livekit-sip answers 429 on its health port while the host's CPU is saturated (it then
    refuses calls): wait until it takes them. Returns the seconds waited."""
    url = f"http://{CONFIG.address}:{CONFIG.sip_health_port}/"
    began = time.monotonic()
    while stack.http_get(url)[0] != 200 and time.monotonic() - began < timeout:
        time.sleep(0.5)
    return round(time.monotonic() - began, 1)


# --- a level -------------------------------------------------------------------------------------


@dataclass
class Level:
    patients: int
    cap: int
    interval: int

    @property
    def tag(self) -> str:
        return f"n{self.patients}-cap{self.cap}-every{self.interval}s"


@dataclass
class Run:
    """What one level left behind, for the figures."""

    level: Level
    t0: float
    window_end: float = 0.0
    timed_out: bool = False
    passes: list[dict] = field(default_factory=list)
    reminders: dict = field(default_factory=dict)
    attempts: list = field(default_factory=list)
    phones: list[PhoneCall] = field(default_factory=list)
    kind_by_phone: dict[str, str] = field(default_factory=dict)
    phone_by_appointment: dict[str, str] = field(default_factory=dict)
    measures: dict = field(default_factory=dict)


def run_level(
    stack: LocalStack,
    base: dict[str, str],
    settings: dict[str, str],
    trunk: str,
    work: Path,
    level: Level,
    args: argparse.Namespace,
    stack_pids: list[int],
) -> dict:
    folder = work / level.tag
    folder.mkdir(parents=True, exist_ok=True)
    from receptionist.store import upgrade

    url = f"sqlite+aiosqlite:///{folder / 'book.db'}"
    asyncio.run(upgrade(url))
    practice = folder / "practice.toml"
    practice.write_text(profile(trunk, args, level.cap))
    env = {**base, "DATABASE_URL": url, "PRACTICE_FILE": str(practice)}
    book = Book(url, folder / "outbox")
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        seeded = book.seed(assign_kinds(level.patients, parse_mix(args.mix)))
        wenv = {
            **env,
            "PROVIDER_FACTORY": PROVIDERS,
            "PYTHONPATH": str(REPO_ROOT),
            "E2E_TTS_CACHE": str(work / "tts-cache"),
            **settings,
        }
        worker = start_worker(stack, wenv, "receptionist", f"worker-{level.tag}")
        print(
            f"[{level.tag}] worker registered in {worker.registered - worker.started:.1f} s",
            flush=True,
        )
        try:
            run = drive(stack, env, worker, book, seeded, folder, level, args, stack_pids)
        finally:
            stack.stop_process(worker.proc)
    finally:
        book.close()
    run.measures["loadavg_before"] = load_before
    run.measures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    run.measures["worker_log"] = worker_log_counts(worker)
    row = figures(run, args)
    print(headline(row), flush=True)
    return row


def drive(
    stack: LocalStack,
    env: dict[str, str],
    worker: Worker,
    book: Book,
    seeded: Seeded,
    folder: Path,
    level: Level,
    args: argparse.Namespace,
    stack_pids: list[int],
) -> Run:
    """Runs the runner every `interval` seconds until every reminder is finished."""
    wait_idle(stack)
    root = worker.proc.pid
    idle_cpu0, idle_t0 = cpu_seconds(process_tree(root)), time.monotonic()
    time.sleep(args.idle_wait)
    idle_rate = (cpu_seconds(process_tree(root)) - idle_cpu0) / (time.monotonic() - idle_t0)
    idle_pss, idle_jobs = tree_pss(root)
    bridge_wait = bridge_takes_calls(stack)
    phones, trace = start_phones(
        stack, folder / "phones", args.ring_ms, args.press_after, level.tag
    )
    run = Run(
        level,
        t0=time.time(),
        kind_by_phone=seeded.kind_by_phone,
        phone_by_appointment=seeded.phone_by_appointment,
    )
    cpu0 = cpu_seconds(process_tree(root))
    stack_cpu0 = sum(cpu_seconds(process_tree(p)) for p in stack_pids)
    began = time.monotonic()
    passes: list[Pass] = []
    next_pass, last_poll, done = began, 0.0, False
    try:
        with MemorySampler(root) as mem:
            while True:
                now = time.monotonic()
                if not done and now >= next_pass:
                    passes.append(start_pass(stack, env, folder / f"pass-{len(passes):03d}.out"))
                    next_pass += level.interval
                running = [p for p in passes if not p.reap()]
                if now - last_poll >= 1.0:
                    last_poll = now
                    found = book.reminders(seeded.appointment_ids)
                    done = len(found) == level.patients and all(
                        r.status not in FINAL_WAIT for r in found.values()
                    )
                if done and not running:
                    break
                if now - began > args.max_minutes * 60:
                    run.timed_out = True
                    print(f"[{level.tag}] not finished after {args.max_minutes} min", flush=True)
                    break
                time.sleep(0.2)
            deadline = time.monotonic() + 60  # a pass still running at a time-out: let it end
            while not all(p.reap() for p in passes) and time.monotonic() < deadline:
                time.sleep(0.2)
            wait_idle(stack)  # the last jobs shut down: part of what the calls cost
            elapsed = time.monotonic() - began
            cpu = cpu_seconds(process_tree(root)) - cpu0
            stack_cpu = sum(cpu_seconds(process_tree(p)) for p in stack_pids) - stack_cpu0
    finally:
        stack.stop_process(phones)
    run.passes = [p.row(run.t0) for p in passes]
    run.reminders = book.reminders(seeded.appointment_ids)
    run.attempts = book.attempts(datetime.fromtimestamp(run.t0, UTC))
    run.phones = phone_calls(trace)
    run.measures.update(
        {
            "bridge_wait_s": bridge_wait,
            "idle_cpu_per_s": round(idle_rate, 3),
            "worker_cpu_s": round(cpu, 2),
            "measured_s": round(elapsed, 1),
            "stack_cpu_s": round(stack_cpu, 2),
            "pss_idle_mib": round(idle_pss, 1),
            "idle_job_processes": len(idle_jobs),
            "pss_peak_mib": round(mem.peak, 1),
            "job_processes_at_peak": len(mem.peak_jobs),
            "job_process_pss_mib": round(statistics.mean(mem.peak_jobs), 1)
            if mem.peak_jobs
            else None,
        }
    )
    return run


def worker_log_counts(worker: Worker) -> dict:
    text = worker.log.read_text(errors="replace")
    counts = log_counts(text)
    counts.update({key: text.count(line) for key, line in LOG_LINES.items()})
    return counts


# --- figures -------------------------------------------------------------------------------------


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _gaps(pairs: Sequence[tuple[float | None, float | None]]) -> list[float]:
    return [b - a for a, b in pairs if a is not None and b is not None]


def _per_min(count: int, seconds: float) -> float | None:
    return round(count / (seconds / 60), 2) if seconds > 0 else None


def peak_overlap(spans: Sequence[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    peak = live = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def dispatched_at(result: object, passes: list[dict]) -> float | None:
    """When the runner dispatched this attempt (its own log line), or None if not logged."""
    a, rid = result.attempt, result.reminder.id  # type: ignore[attr-defined]
    for p in passes:
        for logged, attempt, stamp in p.get("dispatched", []):
            if attempt != a.attempt:
                continue
            masked = logged.replace("-", "").split("***")  # the mask drops a run's dashes
            if re.fullmatch(".*".join(map(re.escape, masked)), rid.replace("-", "")):
                return stamp
    return None


def freed(result: object) -> float | None:
    """When the attempt gave its slot of the cap back: the reminder leaves `calling` when the
    patient's choice is stored (confirmed: `confirmed_at`), else when the attempt is recorded."""
    a, reminder = result.attempt, result.reminder  # type: ignore[attr-defined]
    if a.choice == "confirmed" and reminder.confirmed_at is not None:
        return reminder.confirmed_at.timestamp()
    return _ts(a.finished_at)


def match_calls(run: Run) -> list[tuple[object, PhoneCall | None]]:
    """Each attempt with the call its patient's phone got: the first INVITE to that number at
    or after the claim (and before the attempt was recorded)."""
    unused = list(run.phones)
    matched = []
    for result in sorted(run.attempts, key=lambda r: r.attempt.started_at):
        a, phone = result.attempt, result.patient.phone if result.patient else ""
        start, end = a.started_at.timestamp() - 1, _ts(a.finished_at) or float("inf")
        call = next((c for c in unused if c.number == phone and start <= c.invite <= end), None)
        if call is not None:
            unused.remove(call)
        matched.append((result, call))
    return matched


def figures(run: Run, args: argparse.Namespace) -> dict:
    level, m = run.level, run.measures
    matched = match_calls(run)
    reminders = list(run.reminders.values())
    finished_at = [_ts(r.attempt.finished_at) for r, _ in matched if r.attempt.finished_at]
    run.window_end = max(finished_at, default=time.time())
    window = run.window_end - run.t0
    answered = [c for c in run.phones if c.answered]
    confirmed = [r for r in reminders if r.status == "confirmed" and r.confirmed_at]
    statuses = Counter(r.status for r in reminders)
    statuses.update({"never claimed": level.patients - len(reminders)})
    kinds = Counter(run.kind_by_phone.values())

    confirm_rows = [(r, c) for r, c in matched if r.attempt.choice == "confirmed" and c]
    sent = {id(r): dispatched_at(r, run.passes) for r, _ in matched}
    runner_lag = _gaps([(r.attempt.started_at.timestamp(), sent[id(r)]) for r, _ in matched])
    dispatch_invite = _gaps([(sent[id(r)], c.invite) for r, c in matched if c])
    invite_answer = _gaps([(c.invite, c.answered) for c in answered])
    answer_ack = _gaps([(c.answered, c.ack) for c in answered])
    confirmed_at = {r.id: r.confirmed_at.timestamp() for r in confirmed}
    answer_confirmed = _gaps(
        [(c.answered, confirmed_at.get(r.reminder.id)) for r, c in confirm_rows]
    )
    pauses = sum(args.press_after)
    after_keys = _gaps([(c.ack, confirmed_at.get(r.reminder.id)) for r, c in confirm_rows])
    after_keys = [g - pauses for g in after_keys]
    durations = _gaps([(c.answered, c.bye) for c in answered])
    slot = _gaps([(sent[id(r)], freed(r)) for r, _ in matched])
    attempt_time = _gaps([(sent[id(r)], _ts(r.attempt.finished_at)) for r, _ in matched])
    recorded = _gaps(
        [(confirmed_at.get(r.reminder.id), _ts(r.attempt.finished_at)) for r, _ in confirm_rows]
    )

    lines = Counter(r.attempt.line or "unrecorded" for r, _ in matched)
    choices = Counter(r.attempt.choice or "none" for r, _ in matched)
    answered_by = Counter(r.attempt.answered_by or "-" for r, _ in matched)
    retries = sum(1 for r, _ in matched if r.attempt.attempt > 1)
    no_invite = sum(1 for _, c in matched if c is None)
    answered_no_choice = sum(
        1
        for r, _ in matched
        if r.attempt.line == "answered" and r.attempt.choice in ("", "pending")
    )
    wrong_outcome = sum(
        1
        for r in reminders
        if run.kind_by_phone.get(run.phone_by_appointment.get(r.appointment_id, "")) == "confirm"
        and r.status != "confirmed"
    )
    call_minutes = sum(durations) / 60
    cpu, idle_rate = m["worker_cpu_s"], m["idle_cpu_per_s"]
    net = cpu - idle_rate * m["measured_s"]
    in_flight = peak_overlap([(c.invite, c.bye or c.invite) for c in run.phones])
    slots_held = peak_overlap(
        [(sent[id(r)] or 0.0, freed(r) or run.window_end) for r, _ in matched if sent[id(r)]]
    )
    slot_p50 = percentile(slot, 50)
    slot_bound = (
        round(level.cap * 60 / (level.interval * math.ceil(slot_p50 / level.interval)), 2)
        if slot_p50
        else None
    )
    passes = run.passes
    log = m["worker_log"]
    return {
        "patients": level.patients,
        "cap": level.cap,
        "interval_s": level.interval,
        "mix": dict(kinds),
        "timed_out": run.timed_out,
        "window_s": round(window, 1),
        "placed": len(run.phones),
        "dispatched": len(matched),
        "answered": len(answered),
        "confirmed": len(confirmed),
        "finished": sum(1 for r in reminders if r.status not in FINAL_WAIT),
        "placed_per_min": _per_min(len(run.phones), window),
        "dispatched_per_min": _per_min(len(matched), window),
        "completed_per_min": _per_min(len(confirmed), window),
        "finished_per_min": _per_min(
            sum(1 for r in reminders if r.status not in FINAL_WAIT), window
        ),
        "slot_bound_per_min": slot_bound,
        "peak_in_flight": in_flight,
        "peak_slots_held": slots_held,
        "pass_start_to_dispatched": summary(runner_lag),
        "dispatch_to_invite": summary(dispatch_invite),
        "dispatch_times_from_log": sum(1 for v in sent.values() if v is not None),
        "invite_to_answer": summary(invite_answer),
        "answer_to_ack": summary(answer_ack),
        "answer_to_confirmed": summary(answer_confirmed),
        "confirmed_after_last_key_approx": summary(after_keys),
        "call_duration": summary(durations),
        "slot_time": summary(slot),
        "attempt_time": summary(attempt_time),
        "confirmed_to_recorded": summary(recorded),
        "statuses": dict(statuses),
        "lines": dict(lines),
        "choices": dict(choices),
        "answered_by": dict(answered_by),
        "retries": retries,
        "reminders_retried": sum(1 for r in reminders if r.attempts > 1),
        "failures": {
            "unanswered_attempts": sum(v for k, v in lines.items() if k != "answered"),
            "answered_no_choice": answered_no_choice,
            "no_invite": no_invite,
            "confirm_phones_not_confirmed": wrong_outcome,
            "passes_failed": sum(1 for p in passes if p["exit"] not in (0, None)),
            "dispatches_failed": sum(p["dispatch_failed"] for p in passes),
            "bridge_busy_redials": log["bridge_busy_redials"],
            "reminder_not_held": log["reminder_not_held"],
            "unfinished": level.patients - sum(1 for r in reminders if r.status not in FINAL_WAIT),
        },
        "worker_cpu_s": cpu,
        "worker_cpu_net_s": round(net, 2),
        "idle_cpu_per_s": idle_rate,
        "cpu_s_per_call": round(cpu / len(run.phones), 2) if run.phones else None,
        "cpu_s_per_call_net": round(net / len(run.phones), 2) if run.phones else None,
        "cpu_s_per_call_minute": round(cpu / call_minutes, 2) if call_minutes else None,
        "stack_cpu_s_per_call": round(m["stack_cpu_s"] / len(run.phones), 2)
        if run.phones
        else None,
        "runner_cpu_s_per_pass": round(statistics.mean(p["cpu_s"] for p in passes), 2)
        if passes
        else None,
        "pss_idle_mib": m["pss_idle_mib"],
        "pss_peak_mib": m["pss_peak_mib"],
        "pss_per_call_in_flight_mib": round((m["pss_peak_mib"] - m["pss_idle_mib"]) / in_flight, 1)
        if in_flight
        else None,
        "job_processes_at_peak": m["job_processes_at_peak"],
        "job_process_pss_mib": m["job_process_pss_mib"],
        "passes": len(passes),
        "pass_duration": summary([p["duration_s"] for p in passes]),
        "called_per_pass": [p["called"] for p in passes],
        "timeline_per_min": timeline(run, confirmed),
        "measures": m,
        "pass_log": passes,
        "attempt_log": [attempt_row(run, r, c) for r, c in matched],
    }


def timeline(run: Run, confirmed: list) -> list[dict]:
    """INVITEs and confirmations in each minute from the first pass."""
    minutes = max(1, math.ceil((run.window_end - run.t0) / 60))
    rows = [{"minute": i + 1, "invites": 0, "confirmed": 0} for i in range(minutes)]
    for c in run.phones:
        rows[min(int((c.invite - run.t0) // 60), minutes - 1)]["invites"] += 1
    for r in confirmed:
        rows[min(int((r.confirmed_at.timestamp() - run.t0) // 60), minutes - 1)]["confirmed"] += 1
    return rows


def attempt_row(run: Run, result: object, call: PhoneCall | None) -> dict:
    a = result.attempt  # type: ignore[attr-defined]
    phone = result.patient.phone if result.patient else ""  # type: ignore[attr-defined]

    def rel(value: float | None) -> float | None:
        return round(value - run.t0, 2) if value is not None else None

    return {
        "kind": run.kind_by_phone.get(phone, "?"),
        "attempt": a.attempt,
        "claimed_s": rel(a.started_at.timestamp()),
        "invite_s": rel(call.invite) if call else None,
        "answered_s": rel(call.answered) if call else None,
        "bye_s": rel(call.bye) if call else None,
        "recorded_s": rel(_ts(a.finished_at)),
        "line": a.line,
        "sip_status": a.sip_status,
        "answered_by": a.answered_by,
        "choice": a.choice,
    }


# --- results -------------------------------------------------------------------------------------


def machine() -> dict:
    model, mem = "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": mem,
        "platform": platform.platform(),
        "clock_ticks": CLOCK_TICKS,
    }


def _ms(s: dict, key: str = "p50_ms") -> str:
    """A summary's figure in seconds (two decimals: some of these are tens of milliseconds)."""
    value = s.get(key)
    return "-" if value is None else f"{value / 1000:.2f}"


def headline(r: dict) -> str:
    return (
        f"  n={r['patients']} cap={r['cap']} every {r['interval_s']}s: {r['placed']} placed, "
        f"{r['confirmed']} confirmed in {r['window_s'] / 60:.1f} min -> placed "
        f"{r['placed_per_min']}/min, completed {r['completed_per_min']}/min (slot bound "
        f"{r['slot_bound_per_min']}); dispatch->INVITE p50 {_ms(r['dispatch_to_invite'])} s, "
        f"call p50 {_ms(r['call_duration'])} s; CPU {r['cpu_s_per_call']} s/call, PSS "
        f"{r['pss_idle_mib']:.0f} -> {r['pss_peak_mib']:.0f} MiB; failures {r['failures']}"
    )


def markdown(data: dict) -> str:
    mach, rows = data["machine"], data["levels"]
    lines = [
        "# Reminder call benchmark",
        "",
        f"{mach['cpus']} CPUs ({mach['cpu_model']}, {mach['memory_mib']} MiB), {data['created']}, "
        f"{data['duration_min']} min. Real livekit-server + livekit-sip; one receptionist worker "
        "(`agent.py start`) places the calls `receptionist reminders run` dispatches, run every "
        "interval as cron would; one sipp UAS is every patient's phone. STT/LLM/TTS are test "
        "doubles (espeak-ng speech, a scripted model that also answers the answering-machine "
        "detection).",
        "",
        f"Command: `{data['command']}`. The phones: ring {data['phones']['ring_ms']} ms, answer, "
        f"press 1 after {data['phones']['press_after_s'][0]} s and 1 again "
        f"{data['phones']['press_after_s'][1] if len(data['phones']['press_after_s']) > 1 else '-'}"
        f" s later (confirm); mix {data['phones']['mix']}. Practice: attempts "
        f"{data['practice']['attempts']}, retry after {data['practice']['retry_minutes']} min, "
        f"ringing {data['practice']['ringing_seconds']} s. Worker settings: "
        + ", ".join(f"`{k}={v}`" for k, v in data["worker_settings"].items())
        + f". Load average before the run: {data['loadavg_before']}, after: "
        f"{data['loadavg_after']}.",
        *(["", f"Note: {data['note']}"] if data.get("note") else []),
        "",
        "## Throughput",
        "",
        "Per minute over the level's window (the first runner pass -> the last attempt recorded). "
        "Placed: INVITEs at the phones; completed: reminders confirmed in the book; slot bound: "
        "what the cap and the interval allow at the median slot time (dispatched -> slot freed: "
        "the choice stored). Calls at once (INVITE -> BYE) can exceed the cap: a confirmed "
        "reminder frees its slot before the goodbye and the hang-up; slots held (dispatched -> "
        "freed) cannot.",
        "",
        "| patients | cap | every | window min | placed/min | completed/min | finished/min "
        "| slot bound/min | calls at once / slots held | worker CPU s/call (net) | s/call-min "
        "| stack s/call | PSS idle -> peak MiB | per call in flight | job proc "
        "| load before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["measures"]
        lines.append(
            f"| {r['patients']} | {r['cap']} | {r['interval_s']} s | {r['window_s'] / 60:.1f} "
            f"| {r['placed_per_min']} | {r['completed_per_min']} | {r['finished_per_min']} "
            f"| {r['slot_bound_per_min']} | {r['peak_in_flight']} / {r['peak_slots_held']} "
            f"| {r['cpu_s_per_call']} ({r['cpu_s_per_call_net']}) | {r['cpu_s_per_call_minute']} "
            f"| {r['stack_cpu_s_per_call']} | {r['pss_idle_mib']:.0f} -> {r['pss_peak_mib']:.0f} "
            f"| {r['pss_per_call_in_flight_mib']} | {r['job_process_pss_mib']} "
            f"| {m['loadavg_before'][0]} -> {m['loadavg_after'][0]} |"
        )
    lines += [
        "",
        "## Times (seconds, p50 / p95 / max)",
        "",
        "| patients | cap | every | pass start -> dispatched | dispatch -> INVITE "
        "| INVITE -> 200 OK | 200 OK -> ACK "
        "| answer -> confirmed | after the last key (approx.) | call duration | slot time "
        "| attempt time | confirmed -> recorded | runner pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{_ms(s)} / {_ms(s, 'p95_ms')} / {_ms(s, 'max_ms')}"
            for s in (
                r["pass_start_to_dispatched"],
                r["dispatch_to_invite"],
                r["invite_to_answer"],
                r["answer_to_ack"],
                r["answer_to_confirmed"],
                r["confirmed_after_last_key_approx"],
                r["call_duration"],
                r["slot_time"],
                r["attempt_time"],
                r["confirmed_to_recorded"],
                r["pass_duration"],
            )
        ]
        lines.append(
            f"| {r['patients']} | {r['cap']} | {r['interval_s']} s | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "## Outcomes, failures and retries",
        "",
        "| patients | cap | every | placed / dispatched / answered | reminders | attempts: line "
        "| choice | retries | failures | passes (called each) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        failures = ", ".join(f"{k} {v}" for k, v in r["failures"].items() if v) or "none"
        called = ", ".join("-" if c is None else str(c) for c in r["called_per_pass"])
        lines.append(
            f"| {r['patients']} | {r['cap']} | {r['interval_s']} s "
            f"| {r['placed']} / {r['dispatched']} / {r['answered']} "
            f"| {_counts(r['statuses'])} | {_counts(r['lines'])} | {_counts(r['choices'])} "
            f"| {r['retries']} ({r['reminders_retried']} reminders) | {failures} "
            f"| {r['passes']} ({called}) |"
        )
    lines += [
        "",
        "Confirmed in each minute from the first pass: "
        + "; ".join(
            f"n={r['patients']} cap={r['cap']}: "
            + ", ".join(str(t["confirmed"]) for t in r["timeline_per_min"])
            for r in rows
        )
        + ".",
        "",
        "Worker log per level: "
        + "; ".join(
            f"n={r['patients']} cap={r['cap']}: "
            + ", ".join(f"{k} {v}" for k, v in r["measures"]["worker_log"].items() if v)
            for r in rows
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _counts(counter: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()) if v) or "-"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", default="40", help="visits due per level, comma-separated")
    parser.add_argument("--cap", default="4,8", help="max_in_flight levels, comma-separated")
    parser.add_argument(
        "--interval", default="15", help="seconds between runner passes, comma-separated"
    )
    parser.add_argument(
        "--mix", default="confirm", help="what the phones do, e.g. confirm=8,busy=1,voicemail=1"
    )
    parser.add_argument(
        "--ring-ms", type=int, default=2000, help="ringing before the phone answers"
    )
    parser.add_argument(
        "--press-after",
        default="13,9",
        help="seconds from the answer to the first 1, then to the second (the e2e test's)",
    )
    parser.add_argument("--attempts", type=int, default=3, help="[practice.reminders] attempts")
    parser.add_argument("--retry-minutes", type=int, default=5, help="retry_minutes (5 at least)")
    parser.add_argument("--ringing-seconds", type=int, default=30, help="ringing_seconds")
    parser.add_argument(
        "--idle-wait", type=int, default=10, help="seconds to measure the idle worker"
    )
    parser.add_argument("--max-minutes", type=float, default=15, help="give a level up after this")
    parser.add_argument("--idle-processes", type=int, help="IDLE_PROCESSES for the worker")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="KEY=VALUE", help="a worker setting"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "reminders.json")
    parser.add_argument("--keep", type=Path, help="keep books, traces and logs in this folder")
    parser.add_argument("--note", default="", help="what was special about this run")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one patient, results to a temporary folder: checks the benchmark runs (fails if "
        "the call did not reach the phone or confirm), measures nothing",
    )
    args = parser.parse_args(argv)
    if args.quick:  # QUICK's sizes, unless given on the command line
        out = Path(tempfile.mkdtemp(prefix="bench-quick-")) / "reminders.json"
        parser.set_defaults(**QUICK, out=out)
        args = parser.parse_args(argv)
    args.press_after = [float(s) for s in args.press_after.split(",") if s.strip()]
    parse_mix(args.mix)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespace, raw sockets for DTMF)", file=sys.stderr)
        return 2
    ints = lambda text: [int(n) for n in text.split(",") if n.strip()]  # noqa: E731
    levels = [
        Level(n, cap, every)
        for n in ints(args.patients)
        for every in ints(args.interval)
        for cap in ints(args.cap)
    ]
    if any(level.patients > MAX_PATIENTS for level in levels):
        print(f"--patients: at most {MAX_PATIENTS} visits fit the reminder window", file=sys.stderr)
        return 2
    settings = worker_settings(args)
    began, load_before = time.monotonic(), os.getloadavg()
    rows = []
    with signals_raise(), tempfile.TemporaryDirectory() as tmp, LocalStack(CONFIG) as stack:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        stack_pids = [p.pid for _, p in stack._procs]
        base = {
            **os.environ,
            **stack.env(),
            "AGENT_NAME": "receptionist",
            "OUTBOX_DIR": str(work / "outbox"),
            "NOISE_CANCELLATION": "auto",
            "SIP_ALLOWED_ADDRESSES": f"{CONFIG.address.rsplit('.', 1)[0]}.0/24",
            "SIP_INBOUND_NUMBERS": "",
            "SIP_OUTBOUND_ADDRESS": "",
            "LOG_LEVEL": "INFO",
        }
        patients = f"{CONFIG.address}:{phone.PATIENT_PORT}"
        trunk_json = python_in_stack(stack, base, phone.OUTBOUND_TRUNK, patients, PRACTICE_NUMBER)
        trunk = json.loads(trunk_json)["trunk_id"]
        for level in levels:
            rows.append(run_level(stack, base, settings, trunk, work, level, args, stack_pids))
    data = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_min": round((time.monotonic() - began) / 60, 1),
        "command": "sudo uv run python bench/reminders.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "versions": versions(),
        "worker_settings": settings,
        "provider_factory": PROVIDERS,
        "phones": {"ring_ms": args.ring_ms, "press_after_s": args.press_after, "mix": args.mix},
        "practice": {
            "attempts": args.attempts,
            "retry_minutes": args.retry_minutes,
            "ringing_seconds": args.ringing_seconds,
        },
        "note": args.note,
        "levels": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    print(f"wrote {args.out} and {args.out.with_suffix('.md').name}")
    failed = quick_failures(rows) if args.quick else []
    for line in failed:
        print(f"quick run failed: {line}", file=sys.stderr)
    return 1 if failed else 0


def quick_failures(rows: Sequence[dict]) -> list[str]:
    """What a --quick run did not do: place its calls, and have the confirm phones' reminders
    end confirmed. Not a figure: a benchmark whose calls fail no longer measures anything."""
    failed = []
    for r in rows:
        f = r["failures"]
        if not r["placed"] or f["unfinished"] or f["confirm_phones_not_confirmed"]:
            failed.append(
                f"n={r['patients']} cap={r['cap']}: {r['placed']} placed, {r['confirmed']} "
                f"confirmed, {f['unfinished']} unfinished"
            )
    return failed


if __name__ == "__main__":
    sys.exit(main())
