"""Benchmark: real phone calls on the local stack (sipp -> livekit-sip -> server -> agent worker).

    sudo uv run python bench/calls.py --levels 1,5,10,20 --repeat 5      # the full run
    sudo uv run python bench/calls.py --levels 1,5 --repeat 2            # a quick look
    sudo uv run python bench/calls.py --quick       # a call to each worker, one pressing 0

What it measures, for two workers answering the same calls in the same run (one after the other,
never at once): the receptionist (`agent.py start`) and a bare baseline (`bench/baseline_agent.py`:
VAD, the same turn handling and test doubles, no tools, no database). Results are given as figures
and as ratios receptionist / baseline, which move far less with the machine than absolute times.

- Bursts: N callers (`--levels`) dial within one second, each talking for `--listen` seconds.
  "cold": placed the moment a freshly started worker has registered (LiveKit registers a worker
  once its first warm processes are up, so: a new forkserver and processes no call has used);
  "warm": placed on the same worker after it sat idle for `--warm-wait` seconds, the Monday
  morning case (a worker idle over the weekend). Calls beyond the warm processes wait for new
  ones in both.
  Each (worker, level) is repeated `--repeat` times, a fresh worker each time.
  Per burst: answered / rejected (a SIP error) / unanswered (still ringing when sipp gave up,
  45 s), INVITE -> 200 OK, INVITE -> first audible agent audio at the caller.
- Turn gap, on every turn: the caller (espeak-ng speech in its RTP, "That works for me.", then
  silence; three turns a call, the first after the greeting) stops speaking -> the first audible
  agent audio that follows, both read off the RTP captured at the caller. Turns where the agent
  was still talking when the caller stopped are counted apart (`overlapped`), not measured. The
  doubles answer at once, so the gap is the pipeline's own share: VAD, endpointing (the
  configured minimum delay, ENDPOINTING_MIN_DELAY, 0.6 s), the production end-of-turn model,
  TTS playout, the bridge. For the receptionist each turn is also split in three with the
  reply times it stores with its call record (`usage.replies`, the agent's own clock): the
  caller stops -> the agent hears it stop, the agent's own wait, its first audio -> the caller.
  Turn detection is the production one: the local `v1-mini` model
  (`E2E_TURN_DETECTION=model`; it runs offline, bundled in livekit-local-inference). Turns it
  judges unfinished wait the maximum delay (ENDPOINTING_MAX_DELAY, 4 s) by design: they are
  counted as "held" and the gap figures are over the turns it let go.
- Agent CPU: CPU seconds of the worker's process tree only (the worker, its forkserver, job
  processes, living or reaped: utime+stime+cutime+cstime from /proc/<pid>/stat) over the burst,
  until the worker is idle again, divided by the call-minutes answered (200 OK -> caller's BYE).
  livekit-server, livekit-sip and Redis are reported apart; sipp and tshark are not counted.
- Memory: PSS of the worker's process tree (/proc/<pid>/smaps_rollup) sampled twice a second;
  per call = (peak during the burst - idle before it) / calls answered, and the mean PSS of one
  job process at the peak.
- From the worker's log: process initialisation times, initialisations that timed out, jobs that
  found no warm process, "VAD inference is slower than realtime" warnings.
- `--sequential N` (receptionist only): N single calls that press 0: INVITE -> 200 OK, -> first
  audio, DTMF 0 -> REFER.

The full run (`--levels 1,5,10,20 --repeat 5`, defaults otherwise) takes about an hour and a half
on 2 vCPUs (40 fresh workers, 80 bursts of 45-60 s, the idle waits between them; a run of levels
1 and 5, one repeat, three workers took 12 minutes). The machine must be
otherwise quiet: the figures are only as good as that. `--note` records what was special about a
run; `--worker-env KEY=VALUE` (repeatable) sets worker settings for both workers, e.g.
`--worker-env IDLE_PROCESSES=10`; `--agents receptionist` skips the baseline, and
`--agents receptionist,receptionist-before,baseline` adds agent.py with the job-process settings
it had before issue 10's burst work (PRELOAD_APP=false, INITIALIZE_PROCESS_TIMEOUT=10), run
interleaved with the others, for a before/after on the same machine state.

Everything runs in a network namespace the benchmark creates ("rcp-bench"; root needed, as for the
e2e tests); only the cloud STT/LLM/TTS are test doubles (tests/support/e2e_providers.py: espeak-ng
speech rendered once per sentence and reused). Writes bench/results/calls.json and calls.md
(`--out`). A benchmark, not a test: nothing here asserts a time.

`--quick` (`QUICK`: one cold burst of one short call to each worker, one sequential call; about
a minute and a half) writes to a temporary folder and measures nothing worth keeping: it is how
CI checks the benchmark still runs (bench/quick.sh), so it fails when a call it placed was not
answered or heard.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from receptionist.ops.stack import LocalStack, StackConfig, signals_raise  # noqa: E402
from tests.support.sipcall import (  # noqa: E402
    SCENARIOS,
    ULAW_SILENCE,
    Caller,
    RtpPacket,
    SippResult,
    capture_rtp,
    decode_pcmu,
    read_pcap,
    rms,
    voiced_frames,
    write_silence_ulaw,
)

RESULTS = REPO_ROOT / "bench" / "results"
PRACTICE_FILE = REPO_ROOT / "tests" / "e2e" / "practice.toml"
PRACTICE_NUMBER = "+14145550100"
CALLER = "4145550123"
CONFIG = StackConfig(name="rcp-bench", address="10.79.0.1")
WORKER_PORT = 8081
# The workers the benchmark can run: script and settings of its own. "receptionist-before" is
# agent.py with the job-process settings it had before the burst work of issue 10 (each job
# process imports agent.py itself; LiveKit's 10 s initialisation timeout), for before/after runs.
AGENTS: dict[str, tuple[Path, dict[str, str]]] = {
    "receptionist": (REPO_ROOT / "agent.py", {}),
    "baseline": (REPO_ROOT / "bench" / "baseline_agent.py", {}),
    "receptionist-before": (
        REPO_ROOT / "agent.py",
        {"PRELOAD_APP": "false", "INITIALIZE_PROCESS_TIMEOUT": "10"},
    ),
}

# What the caller says on each turn (espeak-ng speech in its RTP) and what the STT double "hears".
# On synthetic speech the local end-of-turn model hovers near its English threshold (0.36) once
# the VAD's ~0.55 s of silence is in its window, so most sentences tried were held to the maximum
# endpointing delay at random. This voice and sentence score 0.44-0.57 through 8 kHz mu-law at
# every silence length tried (0.5-0.7 s); each turn is still classed by the delay it got.
CALLER_LINE = "That works for me."
CALLER_VOICE = ("en-us+f3", "150")  # espeak-ng voice and words per minute
CALLER_HEARD = "That works for me."
FIRST_TURN_AFTER_S = 8.0  # the greeting plays first
TURN_PERIOD_S = 8.0  # speech (~2.5 s) then silence, the agent's answer comes in the silence
TURNS_PER_CALL = 3
VOICED_RMS = 300.0  # decoded PCMU level that counts as speech (silence decodes to 0)
SPEECH_GAP_S = 0.5  # shorter pauses belong to the same utterance (Silero ends speech at 0.55 s)
MIN_SPEECH_S = 0.5
MIN_DELAY_S = float(os.environ.get("ENDPOINTING_MIN_DELAY", "0.6"))
MAX_DELAY_S = float(os.environ.get("ENDPOINTING_MAX_DELAY", "4.0"))
HELD_SPLIT_S = (MIN_DELAY_S + MAX_DELAY_S) / 2
# --quick: one call per worker, long enough for the greeting and one turn, and one call pressing 0
QUICK = {"levels": "1", "repeat": 1, "modes": "cold", "listen": 14, "sequential": 1}

LOG_PATTERNS = {
    "no_warm_process": "no warmed process available",
    "init_timed_out": "process initialization timed out",
    "init_failed": "error initializing process",
    "vad_slower_than_realtime": "VAD inference is slower than realtime",
    "killed_processes": "killing process",
}
INIT_ELAPSED = re.compile(r'"process initialized".*?"elapsed_time":\s*([0-9.]+)')


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, max in milliseconds."""
    ms = [v * 1000 for v in values]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    return {
        "n": len(ms),
        "p50_ms": round(p50, 1) if p50 is not None else None,
        "p95_ms": round(p95, 1) if p95 is not None else None,
        "max_ms": round(max(ms), 1) if ms else None,
    }


def ratio(ours: float | None, base: float | None) -> float | None:
    return round(ours / base, 2) if ours is not None and base else None


# --- per-call figures ----------------------------------------------------------------------------


def invite_time(result: SippResult) -> float | None:
    invites = result.sent("INVITE")
    return invites[0].epoch if invites else None


def answer_delay(result: SippResult) -> float | None:
    """INVITE sent -> 200 OK received."""
    start, answers = invite_time(result), result.received(200)
    return answers[0].epoch - start if start is not None and answers else None


def first_audio_delay(result: SippResult) -> float | None:
    """INVITE sent -> first RTP frame with audible agent speech at the caller."""
    start, voiced = invite_time(result), voiced_frames(result.rtp)
    return voiced[0].time - start if start is not None and voiced else None


def dtmf_to_refer(result: SippResult) -> float | None:
    """Caller's first telephone-event packet (payload 101) -> REFER received."""
    dtmf = [p for p in result.sent_rtp if p.payload_type == 101]
    refers = result.received("REFER")
    return refers[0].epoch - dtmf[0].time if dtmf and refers else None


def outcome(result: SippResult) -> str:
    """answered (200 OK), rejected (a final SIP error) or unanswered (rang until sipp gave up)."""
    if result.received(200):
        return "answered"
    if any(m.status >= 300 for m in result.messages if not m.sent):
        return "rejected"
    return "unanswered"


def call_seconds(result: SippResult) -> float:
    """200 OK -> the caller's BYE (or its last message): how long the call was connected."""
    answers = result.received(200)
    if not answers:
        return 0.0
    byes = result.sent("BYE")
    end = byes[0].epoch if byes else max(m.epoch for m in result.messages)
    return max(end - answers[0].epoch, 0.0)


def speech_segments(packets: Sequence[RtpPacket]) -> list[tuple[float, float]]:
    """(start, end) of each stretch of audible PCMU audio, pauses under SPEECH_GAP_S joined."""
    times = sorted(
        p.time for p in packets if p.payload_type == 0 and rms(decode_pcmu(p.payload)) > VOICED_RMS
    )
    segments: list[tuple[float, float]] = []
    for t in times:
        if segments and t - segments[-1][1] <= SPEECH_GAP_S:
            segments[-1] = (segments[-1][0], t + 0.02)
        else:
            segments.append((t, t + 0.02))
    return segments


@dataclass
class Turns:
    gaps: list[float] = field(default_factory=list)
    heard_at: list[float] = field(default_factory=list)  # when each gap's reply reached the caller
    overlapped: int = 0  # the agent was talking when the caller stopped
    unanswered: int = 0  # no agent audio before the caller spoke again or hung up


def turn_gaps(result: SippResult) -> Turns:
    """Caller stops speaking -> first audible agent audio, for each of the caller's utterances."""
    turns = Turns()
    caller = [s for s in speech_segments(result.sent_rtp) if s[1] - s[0] >= MIN_SPEECH_S]
    agent = sorted(p.time for p in voiced_frames(result.rtp, VOICED_RMS))
    for i, (_, end) in enumerate(caller):
        if any(end - 0.3 <= t <= end for t in agent):
            turns.overlapped += 1
            continue
        limit = caller[i + 1][0] if i + 1 < len(caller) else float("inf")
        reply = next((t for t in agent if t > end), None)
        if reply is None or reply >= limit:
            turns.unanswered += 1
        else:
            turns.gaps.append(reply - end)
            turns.heard_at.append(reply)
    return turns


def stored_replies(database: Path) -> dict[str, list[dict]]:
    """Reply times the receptionist stored with its call records (receptionist.domain.replies),
    by the call's SIP Call-ID; the baseline stores none."""
    if not database.exists():
        return {}
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT sip_call_id, usage FROM calls WHERE usage IS NOT NULL").fetchall()
    return {
        call_id: [r for r in json.loads(usage).get("replies") or [] if isinstance(r, dict)]
        for call_id, usage in rows
    }


def split_turns(turns: Turns, replies: Sequence[dict]) -> list[dict]:
    """Each of a call's turn gaps in three: the caller stops -> the agent hears it stop
    ("before": the bridge, the server, the agent's audio input, VAD), the agent's own wait as it
    measured it (end of turn, model, voice), the agent's first audio -> the caller hears it
    ("after"). A turn is matched to the call's reply that began within a second before the
    caller heard it."""
    split = []
    for gap, heard in zip(turns.gaps, turns.heard_at, strict=True):
        began = [r for r in replies if heard - 1.0 <= r["at"] <= heard]
        if not began:
            continue
        reply = max(began, key=lambda r: r["at"])
        after = heard - reply["at"]
        split.append(
            {
                "gap": round(gap, 3),
                "before": round(gap - reply["wait_s"] - after, 3),
                "agent": reply["wait_s"],
                "after": round(after, 3),
            }
        )
    return split


def write_turns_ulaw(path: Path, work: Path) -> Path:
    """The caller's audio: silence through the greeting, then TURNS_PER_CALL times the caller's
    sentence followed by silence (headerless 8 kHz mu-law, as sipp's rtp_stream wants)."""
    wav, raw = work / "caller-line.wav", work / "caller-line.ulaw"
    if not raw.exists():
        voice, wpm = CALLER_VOICE
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", wpm, "-w", str(wav), CALLER_LINE], check=True
        )
        subprocess.run(
            ["sox", str(wav), "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(raw)],
            check=True,
        )
    speech = raw.read_bytes()
    silence = bytes([ULAW_SILENCE])
    pause = max(int(TURN_PERIOD_S * 8000) - len(speech), 8000)
    audio = silence * int(FIRST_TURN_AFTER_S * 8000) + (speech + silence * pause) * TURNS_PER_CALL
    path.write_bytes(audio)
    return path


# --- processes: CPU and memory -------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """`root` and all its descendants (the worker, its forkserver and its job processes)."""
    children = _children_map() if children is None else children
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime + cutime + cstime: the processes' own CPU plus that of their reaped children
    (a job process that exits is reaped by the forkserver, so its CPU stays in the tree)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(f) for f in fields[11:15])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLOCK_TICKS


def pss_mib(pid: int) -> float:
    """Proportional set size (shared pages split between processes) in MiB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def tree_pss(root: int) -> tuple[float, list[float]]:
    """The tree's PSS and the PSS of each job process (a child of the forkserver)."""
    children = _children_map()
    pids = process_tree(root, children)
    total = sum(pss_mib(p) for p in pids)
    jobs: list[float] = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in cmdline:
            jobs += [pss_mib(c) for c in process_tree(pid, children) if c != pid]
    return total, jobs


def job_thread_cpu(root: int) -> dict[str, float]:
    """CPU seconds so far of the job processes' threads, summed by thread name (Python's main
    thread shows as "python"; ONNX Runtime, the livekit-rtc runtime and the rest by their own
    names): where a call's CPU goes."""
    children = _children_map()
    totals: dict[str, float] = {}
    for pid in process_tree(root, children):
        try:
            if b"forkserver" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
        except OSError:
            continue
        for job in process_tree(pid, children)[1:]:
            for task in Path(f"/proc/{job}/task").glob("*"):
                try:
                    name = (task / "comm").read_text().strip()
                    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                name = re.sub(r"[-_.:]?\d+$", "", name) or name
                totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12]))
    return {k: round(v / CLOCK_TICKS, 2) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


class MemorySampler:
    """Samples the worker tree's PSS twice a second; keeps the peak."""

    def __init__(self, root: int) -> None:
        self.root, self.peak, self.peak_jobs = root, 0.0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total, jobs = tree_pss(self.root)
            if total > self.peak:
                self.peak, self.peak_jobs = total, jobs
            self._stop.wait(0.5)


# --- the stack, provisioning and the workers -----------------------------------------------------


def base_env(stack: LocalStack, database_url: str, outbox: Path) -> dict[str, str]:
    return {
        **os.environ,
        **stack.env(),
        "AGENT_NAME": "receptionist",
        "PRACTICE_FILE": str(PRACTICE_FILE),
        "DATABASE_URL": database_url,
        "SIP_ALLOWED_ADDRESSES": f"{CONFIG.address.rsplit('.', 1)[0]}.0/24",
        "SIP_INBOUND_NUMBERS": "",
        "OUTBOX_DIR": str(outbox),
    }


def provision(stack: LocalStack, env: dict[str, str]) -> None:
    """`receptionist sip setup`, as a user runs it."""
    argv = [sys.executable, "-m", "receptionist.ops.cli", "sip", "setup"]
    subprocess.run(stack.wrap(argv), cwd=REPO_ROOT, env=env, check=True, capture_output=True)


def greeting_text() -> str:
    """What the receptionist says first right now, so the baseline says the same."""
    from receptionist.call.prompts import greeting
    from receptionist.domain.practice import load_directory

    practice = load_directory(PRACTICE_FILE).for_dialled(PRACTICE_NUMBER)
    return greeting(practice, practice.is_open(datetime.now(UTC)))


def worker_settings(args: argparse.Namespace) -> dict[str, str]:
    """The pool settings both workers get: the benchmark's fixed ones, then --worker-env."""
    settings = {"LOAD_THRESHOLD": "1.0", "MAX_CALLS": "25", "LOG_LEVEL": "INFO"}
    if args.idle_processes is not None:
        settings["IDLE_PROCESSES"] = str(args.idle_processes)
    for item in args.worker_env:
        key, _, value = item.partition("=")
        settings[key.strip()] = value
    return settings


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    started: float
    registered: float


def start_worker(stack: LocalStack, env: dict[str, str], agent: str, log_name: str) -> Worker:
    """A fresh worker in start mode with the provider doubles; returns once it has registered."""
    started = time.monotonic()
    script, overrides = AGENTS[agent]
    proc = stack.spawn(
        log_name, [sys.executable, str(script), "start"], env={**env, **overrides}, cwd=REPO_ROOT
    )
    log = stack.log_path(log_name)
    deadline = started + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{agent} worker exited; see {log}")
        if "registered worker" in log.read_text(errors="replace"):
            return Worker(agent, proc, log, started, time.monotonic())
        time.sleep(0.2)
    raise SystemExit(f"{agent} worker did not register within 180 s; see {log}")


def worker_info(stack: LocalStack) -> dict:
    """The worker's /worker endpoint (proto3 JSON: zero-valued fields are left out)."""
    code, body = stack.http_get(f"http://{stack.config.address}:{WORKER_PORT}/worker")
    try:
        return json.loads(body) if code == 200 else {}
    except json.JSONDecodeError:
        return {}


def wait_idle(stack: LocalStack, timeout: float = 180.0) -> bool:
    """No job running and load low, so each measurement starts from the same state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = worker_info(stack)
        if info and int(info.get("active_jobs", 0)) == 0 and info.get("worker_load", 0.0) < 0.5:
            return True
        time.sleep(1)
    print("warning: worker did not go idle", file=sys.stderr)
    return False


def log_counts(text: str) -> dict:
    counts: dict = {key: text.count(pattern) for key, pattern in LOG_PATTERNS.items()}
    inits = [float(m) for m in INIT_ELAPSED.findall(text)]
    counts["process_inits"] = len(inits)
    counts["process_init_p50_s"] = round(statistics.median(inits), 2) if inits else None
    counts["process_init_max_s"] = round(max(inits), 2) if inits else None
    return counts


# --- a burst and the sequential part -------------------------------------------------------------


def burst(
    stack: LocalStack, worker: Worker, work: Path, n: int, mode: str, listen_s: int, tag: str
) -> dict:
    """`n` calls placed within a second; each talks TURNS_PER_CALL turns, then hangs up."""
    callers = [
        Caller(stack, work / tag / f"{i}", sip_port=5100 + i, media_port=17000 + 4 * i)
        for i in range(n)
    ]
    for c in callers:
        c.workdir.mkdir(parents=True, exist_ok=True)
        write_turns_ulaw(c.workdir / "caller.ulaw", work)
    stack_pids = [p.pid for _, p in stack._procs if p is not worker.proc]
    idle_pss, idle_jobs = tree_pss(worker.proc.pid)
    log_offset = worker.log.stat().st_size
    pcap = work / tag / "rtp.pcap"
    cpu0 = cpu_seconds(process_tree(worker.proc.pid))
    stack_cpu0 = sum(cpu_seconds(process_tree(p)) for p in stack_pids)
    t0 = time.monotonic()
    with (
        capture_rtp(stack, "udp portrange 17000-17399", pcap),
        MemorySampler(worker.proc.pid) as mem,
    ):
        procs = [
            c.start(
                "listen_then_hang_up.xml",
                PRACTICE_NUMBER,
                CALLER,
                timeout_s=listen_s + 60,
                listen_ms=str(listen_s * 1000),
            )
            for c in callers
        ]
        # just before the callers hang up: the job processes' CPU so far, by thread
        time.sleep(max(listen_s - 3 - (time.monotonic() - t0), 0))
        threads = job_thread_cpu(worker.proc.pid)
        results = [c.finish(p, listen_s + 120) for c, p in zip(callers, procs, strict=True)]
        wait_idle(stack)  # jobs shut down and the pool refilled: part of what a call costs
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(process_tree(worker.proc.pid)) - cpu0
    stack_cpu = sum(cpu_seconds(process_tree(p)) for p in stack_pids) - stack_cpu0
    with open(worker.log, "rb") as f:
        f.seek(log_offset)
        logged = log_counts(f.read().decode(errors="replace"))
    packets = read_pcap(pcap)
    for c, r in zip(callers, results, strict=True):
        c.attach_rtp(r, packets)
    outcomes = [outcome(r) for r in results]
    answered = [r for r, o in zip(results, outcomes, strict=True) if o == "answered"]
    turns = [turn_gaps(r) for r in answered]
    replies = stored_replies(work / "calls.db")
    call_minutes = sum(call_seconds(r) for r in answered) / 60
    row = {
        "agent": worker.name,
        "mode": mode,
        "simultaneous": n,
        "answered": len(answered),
        "rejected": outcomes.count("rejected"),
        "unanswered": outcomes.count("unanswered"),
        "heard_agent": sum(first_audio_delay(r) is not None for r in answered),
        "invite_to_200ok_s": [d for d in map(answer_delay, answered) if d is not None],
        "invite_to_first_audio_s": [d for d in map(first_audio_delay, answered) if d is not None],
        "turn_gaps_s": [g for t in turns for g in t.gaps],
        "turns_overlapped": sum(t.overlapped for t in turns),
        "turns_unanswered": sum(t.unanswered for t in turns),
        "turn_split_s": [
            part
            for r, t in zip(answered, turns, strict=True)
            for part in split_turns(t, replies.get(r.call_id, []))
        ],
        "call_minutes": round(call_minutes, 3),
        "worker_cpu_s": round(cpu, 2),
        "stack_cpu_s": round(stack_cpu, 2),
        "window_s": round(elapsed, 1),
        "worker_pss_idle_mib": round(idle_pss, 1),
        "idle_job_processes": len(idle_jobs),
        "worker_pss_peak_mib": round(mem.peak, 1),
        "job_processes_at_peak": len(mem.peak_jobs),
        "job_process_pss_mean_mib": (
            round(statistics.mean(mem.peak_jobs), 1) if mem.peak_jobs else None
        ),
        "log": logged,
        "job_thread_cpu_s": threads,
    }
    audio = summary(row["invite_to_first_audio_s"])
    gaps = summary(row["turn_gaps_s"])
    print(
        f"  {worker.name} {mode} x{n}: answered {len(answered)}/{n}, first audio p95 "
        f"{audio['p95_ms']} ms, turn gap p50/p95 {gaps['p50_ms']}/{gaps['p95_ms']} ms "
        f"(n={gaps['n']}), cpu {cpu:.1f} s / {call_minutes:.2f} call-min, "
        f"PSS {idle_pss:.0f} -> {mem.peak:.0f} MiB, inits {logged['process_inits']} "
        f"(timed out {logged['init_timed_out']})",
        flush=True,
    )
    return row


def sequential(stack: LocalStack, work: Path, repeat: int) -> dict:
    """Repeated single calls that press 0: answer, first audio, DTMF -> REFER."""
    answers, audio, refers, failures = [], [], [], 0
    for i in range(repeat):
        wait_idle(stack)
        caller = Caller(stack, work / f"seq-{i}", sip_port=5070, media_port=16000)
        caller.workdir.mkdir(parents=True, exist_ok=True)
        write_silence_ulaw(caller.workdir / "caller.ulaw")
        result = caller.call("press_0_transfer.xml", PRACTICE_NUMBER, CALLER, timeout_s=60)
        figures = (answer_delay(result), first_audio_delay(result), dtmf_to_refer(result))
        failures += result.returncode != 0 or None in figures
        for bucket, value in zip((answers, audio, refers), figures, strict=True):
            if value is not None:
                bucket.append(value)
    return {
        "calls": repeat,
        "failed": failures,
        "invite_to_200ok": summary(answers),
        "invite_to_first_audio": summary(audio),
        "dtmf_to_refer": summary(refers),
    }


# --- aggregation ---------------------------------------------------------------------------------


def aggregate(rows: list[dict]) -> dict:
    """One (agent, mode, level): every call of every repeat pooled."""

    def pool(key: str) -> list[float]:
        return [v for r in rows for v in r[key]]

    minutes = sum(r["call_minutes"] for r in rows)
    answered = sum(r["answered"] for r in rows)
    per_call = [
        (r["worker_pss_peak_mib"] - r["worker_pss_idle_mib"]) / r["answered"]
        for r in rows
        if r["answered"]
    ]
    job_pss = [r["job_process_pss_mean_mib"] for r in rows if r["job_process_pss_mean_mib"]]
    inits = [r["log"]["process_init_p50_s"] for r in rows if r["log"]["process_init_p50_s"]]
    quick_split = [t for r in rows for t in r.get("turn_split_s", []) if t["gap"] < HELD_SPLIT_S]
    return {
        "bursts": len(rows),
        "placed": sum(r["simultaneous"] for r in rows),
        "answered": answered,
        "rejected": sum(r["rejected"] for r in rows),
        "unanswered": sum(r["unanswered"] for r in rows),
        "heard_agent": sum(r["heard_agent"] for r in rows),
        "invite_to_200ok": summary(pool("invite_to_200ok_s")),
        "invite_to_first_audio": summary(pool("invite_to_first_audio_s")),
        "turn_gap": summary(pool("turn_gaps_s")),
        # turns the end-of-turn model let go at the minimum delay (gaps below the midpoint of
        # the min and max endpointing delays) and turns it held to the maximum
        "turn_gap_quick": summary([g for g in pool("turn_gaps_s") if g < HELD_SPLIT_S]),
        "turns_held": sum(g >= HELD_SPLIT_S for g in pool("turn_gaps_s")),
        # the quick turns' gaps in three (split_turns): before the agent, the agent, after it
        "turn_split": {
            part: summary([t[part] for t in quick_split]) for part in ("before", "agent", "after")
        },
        "turns_overlapped": sum(r["turns_overlapped"] for r in rows),
        "turns_unanswered": sum(r["turns_unanswered"] for r in rows),
        "cpu_s_per_call_minute": (
            round(sum(r["worker_cpu_s"] for r in rows) / minutes, 2) if minutes else None
        ),
        # the same less what the idle worker burns anyway (its rate while it waited for a warm
        # burst, times the burst's window): the part that comes with the calls
        "idle_cpu_per_s": (
            round(statistics.median(idle), 3)
            if (idle := [r["idle_cpu_per_s"] for r in rows if "idle_cpu_per_s" in r])
            else None
        ),
        "cpu_s_per_call_minute_net": (
            round(
                sum(
                    r["worker_cpu_s"] - r["idle_cpu_per_s"] * r["window_s"]
                    for r in rows
                    if "idle_cpu_per_s" in r
                )
                / minutes,
                2,
            )
            if minutes and all("idle_cpu_per_s" in r for r in rows)
            else None
        ),
        "stack_cpu_s_per_call_minute": (
            round(sum(r["stack_cpu_s"] for r in rows) / minutes, 2) if minutes else None
        ),
        "pss_idle_mib": round(statistics.median(r["worker_pss_idle_mib"] for r in rows), 1),
        "pss_peak_mib": round(max(r["worker_pss_peak_mib"] for r in rows), 1),
        "pss_per_call_mib": round(statistics.median(per_call), 1) if per_call else None,
        "job_process_pss_mib": round(statistics.median(job_pss), 1) if job_pss else None,
        "process_init_p50_s": round(statistics.median(inits), 2) if inits else None,
        "process_inits_timed_out": sum(r["log"]["init_timed_out"] for r in rows),
        "no_warm_process": sum(r["log"]["no_warm_process"] for r in rows),
        "vad_slower_than_realtime": sum(r["log"]["vad_slower_than_realtime"] for r in rows),
    }


def summarise(bursts: list[dict]) -> list[dict]:
    keys = sorted(
        {(b["agent"], b["mode"], b["simultaneous"]) for b in bursts},
        key=lambda k: (k[0] != "receptionist", k[1] != "cold", k[2]),
    )
    return [
        {
            "agent": a,
            "mode": m,
            "simultaneous": n,
            **aggregate(
                [b for b in bursts if (b["agent"], b["mode"], b["simultaneous"]) == (a, m, n)]
            ),
        }
        for a, m, n in keys
    ]


def ratios(summary_rows: list[dict]) -> list[dict]:
    """Receptionist / baseline, per mode and level."""
    index = {(r["agent"], r["mode"], r["simultaneous"]): r for r in summary_rows}
    out = []
    for (agent, mode, n), ours in index.items():
        base = index.get(("baseline", mode, n))
        if agent != "receptionist" or base is None:
            continue
        out.append(
            {
                "mode": mode,
                "simultaneous": n,
                "cpu_per_call_minute": ratio(
                    ours["cpu_s_per_call_minute"], base["cpu_s_per_call_minute"]
                ),
                "cpu_per_call_minute_net": ratio(
                    ours["cpu_s_per_call_minute_net"], base["cpu_s_per_call_minute_net"]
                ),
                "pss_per_call": ratio(ours["pss_per_call_mib"], base["pss_per_call_mib"]),
                "job_process_pss": ratio(ours["job_process_pss_mib"], base["job_process_pss_mib"]),
                "pss_idle": ratio(ours["pss_idle_mib"], base["pss_idle_mib"]),
                "first_audio_p95": ratio(
                    ours["invite_to_first_audio"]["p95_ms"], base["invite_to_first_audio"]["p95_ms"]
                ),
                "turn_gap_p95": ratio(
                    ours["turn_gap_quick"]["p95_ms"], base["turn_gap_quick"]["p95_ms"]
                ),
                "answered": f"{ours['answered']}/{ours['placed']} vs "
                f"{base['answered']}/{base['placed']}",
            }
        )
    return out


def targets(summary_rows: list[dict], min_delay_s: float) -> list[dict]:
    """The targets of issue 10, checked against the receptionist's warm bursts (the Monday
    morning case: a worker that sat idle over the weekend); cold bursts shown beside them."""
    index = {(r["agent"], r["mode"], r["simultaneous"]): r for r in summary_rows}
    found = []

    def get(mode: str, n: int, agent: str = "receptionist") -> dict | None:
        return index.get((agent, mode, n))

    for n, limit_s in ((10, 1.5), (20, 3.0)):
        for mode in ("warm", "cold"):
            row = get(mode, n)
            if row:
                p95 = row["invite_to_first_audio"]["p95_ms"]
                all_answered = row["answered"] == row["placed"]
                found.append(
                    {
                        "target": f"{n} at once ({mode}): all answered, "
                        f"first audio p95 <= {limit_s} s",
                        "measured": f"{row['answered']}/{row['placed']} answered, p95 {p95} ms",
                        "met": bool(all_answered and p95 is not None and p95 <= limit_s * 1000),
                    }
                )
    for n, slack in ((1, 0.25), (10, 0.5)):
        row = get("warm", n)
        if row:
            p95 = row["turn_gap_quick"]["p95_ms"]
            limit = (min_delay_s + slack) * 1000
            found.append(
                {
                    "target": f"turn gap p95 at {n} call(s) <= min endpointing delay + "
                    f"{int(slack * 1000)} ms ({limit:.0f} ms)",
                    "measured": f"p95 {p95} ms over the {row['turn_gap_quick']['n']} turns the "
                    f"end-of-turn model let go ({row['turns_held']} more held to the maximum "
                    "delay; "
                    f"all turns: p95 {row['turn_gap']['p95_ms']} ms)",
                    "met": p95 is not None and p95 <= limit,
                }
            )
            own = row.get("turn_split", {}).get("agent", {})
            if own.get("n"):
                found.append(
                    {
                        "target": f"the same, the agent's own share ({n} call(s), the reply "
                        f"times it stores) <= {limit:.0f} ms",
                        "measured": f"p95 {own['p95_ms']} ms over {own['n']} turns (before "
                        f"it, bridge, server, audio input and VAD: "
                        f"{row['turn_split']['before']['p95_ms']} ms; after it, server and "
                        f"bridge: {row['turn_split']['after']['p95_ms']} ms)",
                        "met": own["p95_ms"] <= limit,
                    }
                )
    warm = [r for r in summary_rows if r["agent"] == "receptionist" and r["mode"] == "warm"]
    if warm:
        top = max(warm, key=lambda r: r["simultaneous"])
        found.append(
            {
                "target": "worker memory <= 120 MiB PSS per call",
                "measured": f"{top['pss_per_call_mib']} MiB per call at {top['simultaneous']} "
                f"(one job process: {top['job_process_pss_mib']} MiB)",
                "met": top["pss_per_call_mib"] is not None and top["pss_per_call_mib"] <= 120,
            }
        )
    for r in ratios(summary_rows):
        if r["mode"] == "warm" and r["cpu_per_call_minute"] is not None:
            found.append(
                {
                    "target": "agent CPU per call <= 1.2x baseline "
                    f"({r['simultaneous']} at once, warm)",
                    "measured": f"{r['cpu_per_call_minute']}x",
                    "met": r["cpu_per_call_minute"] <= 1.2,
                }
            )
    return found


# --- results -------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    def run(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    stamps = Path.home() / "go" / "bin" / ".receptionist-stack"
    sip = (stamps / "livekit-sip").read_text().strip() if (stamps / "livekit-sip").exists() else ""
    return {
        "livekit-server": run([str(Path.home() / "go/bin/server"), "--version"]),
        "livekit-sip": sip or "unknown",
        "sipp": run(["sipp", "-v"]),
        "python": platform.python_version(),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def markdown(data: dict) -> str:
    lines = [
        "# Call benchmark",
        "",
        f"{data['machine']['cpus']} CPUs, {data['created']}, {data['duration_min']} min. Real "
        "livekit-server + livekit-sip + sipp callers; the receptionist (`agent.py start`) and the "
        "bare baseline (`bench/baseline_agent.py`) answer the same calls, one worker at a time. "
        "STT/LLM/TTS are test doubles (espeak-ng speech rendered once per sentence); turn "
        "detection is the production local `v1-mini` model.",
        "",
        f"Command: `{data['command']}`. Worker settings (both workers): "
        + ", ".join(f"`{k}={v}`" for k, v in data["worker_settings"].items())
        + f". Machine load average before the run: {data['loadavg_before']}, after: "
        f"{data['loadavg_after']}.",
        *(["", f"Note: {data['note']}"] if data.get("note") else []),
        "",
        "## Targets (issue 10)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for t in data["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'no'} |")
    lines += [
        "",
        "## Receptionist / baseline",
        "",
        "| mode | calls | CPU per call-minute (net of idle) | PSS per call | one job process "
        "| idle worker | first audio p95 | turn gap p95 | answered (ours vs baseline) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["ratios"]:
        lines.append(
            f"| {r['mode']} | {r['simultaneous']} | {r['cpu_per_call_minute']} "
            f"({r['cpu_per_call_minute_net']}) "
            f"| {r['pss_per_call']} | {r['job_process_pss']} | {r['pss_idle']} "
            f"| {r['first_audio_p95']} | {r['turn_gap_p95']} | {r['answered']} |"
        )
    lines += [
        "",
        "## Bursts (every call of every repeat pooled)",
        "",
        "Answered / rejected / unanswered of placed. Times in ms. CPU: the worker's process tree, "
        "CPU seconds per call-minute; net: less what the idle worker burns in the same time "
        "(warm bursts); stack: LiveKit server + bridge + Redis beside it. PSS in MiB: "
        "idle before the burst, peak, per call ((peak - idle) / answered, median of the "
        "bursts), one job process at the peak. Init: job-process initialisation p50 (s) and "
        "timed-out initialisations, from the worker's log. Turn gap: over the turns the "
        'end-of-turn model let go at the minimum endpointing delay; "held" turns are those it '
        "judged unfinished, answered after the maximum delay (the model's call on synthetic "
        "speech, the same for both workers).",
        "",
        "| agent | mode | calls | ans/rej/unans | first audio p50 | p95 | turn gap p50 | p95 "
        "| turns: let go, held (overlapped, no reply) | CPU s/call-min (net) | stack | PSS idle "
        "| peak | per call | job proc | init p50 / timed out | no warm proc |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["summary"]:
        a, g = r["invite_to_first_audio"], r["turn_gap_quick"]
        lines.append(
            f"| {r['agent']} | {r['mode']} | {r['simultaneous']} "
            f"| {r['answered']}/{r['rejected']}/{r['unanswered']} of {r['placed']} "
            f"| {_ms(a['p50_ms'])} | {_ms(a['p95_ms'])} | {_ms(g['p50_ms'])} | {_ms(g['p95_ms'])} "
            f"| {g['n']}, {r['turns_held']} ({r['turns_overlapped']}, {r['turns_unanswered']}) "
            f"| {r['cpu_s_per_call_minute']} ({r['cpu_s_per_call_minute_net']}) "
            f"| {r['stack_cpu_s_per_call_minute']} "
            f"| {r['pss_idle_mib']:.0f} | {r['pss_peak_mib']:.0f} | {r['pss_per_call_mib']} "
            f"| {r['job_process_pss_mib']} | {r['process_init_p50_s']} / "
            f"{r['process_inits_timed_out']} | {r['no_warm_process']} |"
        )
    split = [r for r in data["summary"] if r.get("turn_split", {}).get("agent", {}).get("n")]
    if split:
        lines += [
            "",
            "## Turn gap in three (the receptionist's quick turns)",
            "",
            "Each turn matched to the reply times the receptionist stored with its call record "
            "(`usage.replies`: the caller stopped -> the reply's first audio, on the agent's "
            "clock). Before: the caller stops -> the agent hears the speech end (bridge, server, "
            "the agent's audio input, VAD); agent: its own wait (the end-of-turn wait, at least "
            "the minimum endpointing delay, then model and voice); after: the agent's first "
            "audio -> the caller hears it (server, bridge). p50 / p95 in ms.",
            "",
            "| mode | calls | turns | before | agent | after |",
            "|---|---|---|---|---|---|",
        ]
        for r in split:
            b, a, f = (r["turn_split"][k] for k in ("before", "agent", "after"))
            lines.append(
                f"| {r['mode']} | {r['simultaneous']} | {a['n']} "
                f"| {_ms(b['p50_ms'])} / {_ms(b['p95_ms'])} | {_ms(a['p50_ms'])} / "
                f"{_ms(a['p95_ms'])} | {_ms(f['p50_ms'])} / {_ms(f['p95_ms'])} |"
            )
    seq = data.get("sequential")
    if seq:
        lines += [
            "",
            f"## {seq['calls']} sequential calls to the receptionist ({seq['failed']} failed)",
            "",
            "| measure | n | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|",
        ]
        for key, label in (
            ("invite_to_200ok", "INVITE -> 200 OK"),
            ("invite_to_first_audio", "INVITE -> first agent audio"),
            ("dtmf_to_refer", "DTMF 0 -> REFER"),
        ):
            s = seq[key]
            lines.append(f"| {label} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,5,10,20", help="callers per burst, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="bursts per level, worker and mode")
    parser.add_argument("--modes", default="cold,warm", help="cold, warm or both")
    parser.add_argument("--agents", default="receptionist,baseline", help="workers to measure")
    parser.add_argument("--listen", type=int, default=32, help="seconds each call lasts")
    parser.add_argument(
        "--warm-wait", type=int, default=20, help="seconds the worker idles before a warm burst"
    )
    parser.add_argument(
        "--sequential",
        type=int,
        default=3,
        help="single calls pressing 0 (receptionist); 0 to skip",
    )
    parser.add_argument(
        "--idle-processes",
        type=int,
        help="IDLE_PROCESSES for both workers (default: the worker's own)",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a worker setting for both workers (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "calls.json")
    parser.add_argument("--keep", type=Path, help="keep sipp traces and captures in this folder")
    parser.add_argument("--note", default="", help="what was special about this run")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short call to each worker and one pressing 0, results to a temporary folder: "
        "checks the benchmark runs (fails if a call went unanswered), measures nothing",
    )
    args = parser.parse_args(argv)
    if args.quick:  # QUICK's sizes, unless given on the command line
        parser.set_defaults(
            **QUICK, out=Path(tempfile.mkdtemp(prefix="bench-quick-")) / "calls.json"
        )
        args = parser.parse_args(argv)
    return args


def quick_failures(bursts: Sequence[dict], seq: dict | None) -> list[str]:
    """What a --quick run did not do: a call unanswered or never heard, a sequential call that
    failed. Not a figure: a benchmark whose calls fail no longer measures anything."""
    failed = [
        f"{b['agent']} {b['mode']}: {b['answered']} of {b['simultaneous']} answered, "
        f"{b['heard_agent']} heard the agent"
        for b in bursts
        if b["answered"] < b["simultaneous"] or b["heard_agent"] < b["answered"]
    ]
    if seq and seq["failed"]:
        failed.append(f"sequential: {seq['failed']} of {seq['calls']} calls failed")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespace, raw sockets for DTMF)", file=sys.stderr)
        return 2
    from receptionist.store import upgrade

    assert (SCENARIOS / "listen_then_hang_up.xml").exists()
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    settings = worker_settings(args)
    began, load_before = time.monotonic(), os.getloadavg()
    bursts: list[dict] = []
    seq: dict | None = None
    with signals_raise(), tempfile.TemporaryDirectory() as tmp, LocalStack(CONFIG) as stack:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{work / 'calls.db'}"
        asyncio.run(upgrade(database_url))
        env = {
            **base_env(stack, database_url, work / "outbox"),
            "PROVIDER_FACTORY": "tests.support.e2e_providers:build",
            "PYTHONPATH": str(REPO_ROOT),
            "E2E_TURN_DETECTION": "model",
            "E2E_CALLER_SAYS": CALLER_HEARD,
            "E2E_TTS_CACHE": str(work / "tts-cache"),
            "BENCH_GREETING": greeting_text(),
            **settings,
        }
        provision(stack, env)
        if args.sequential and "receptionist" in agents:
            worker = start_worker(stack, env, "receptionist", "receptionist-seq")
            seq = sequential(stack, work, args.sequential)
            stack.stop_process(worker.proc)
            print(f"sequential: {seq}", flush=True)
        count = 0
        for n in levels:
            for r in range(args.repeat):
                for agent in agents:
                    count += 1
                    name = f"{agent}-{n}-{r}"
                    worker = start_worker(stack, env, agent, name)
                    print(
                        f"[{count}] {name}: registered {worker.registered - worker.started:.1f} s"
                        " after start",
                        flush=True,
                    )
                    if "cold" in modes:
                        bursts.append(
                            burst(stack, worker, work, n, "cold", args.listen, f"{name}-cold")
                        )
                    if "warm" in modes:
                        wait_idle(stack)
                        idle_cpu = cpu_seconds(process_tree(worker.proc.pid))
                        time.sleep(args.warm_wait)
                        idle_cpu = cpu_seconds(process_tree(worker.proc.pid)) - idle_cpu
                        row = burst(stack, worker, work, n, "warm", args.listen, f"{name}-warm")
                        row["idle_cpu_per_s"] = round(idle_cpu / max(args.warm_wait, 1), 3)
                        bursts.append(row)
                    stack.stop_process(worker.proc)
    summary_rows = summarise(bursts)
    min_delay = MIN_DELAY_S
    data = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_min": round((time.monotonic() - began) / 60, 1),
        "command": "sudo uv run python bench/calls.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "versions": versions(),
        "worker_settings": settings,
        "endpointing_min_delay_s": min_delay,
        "note": args.note,
        "targets": targets(summary_rows, min_delay),
        "ratios": ratios(summary_rows),
        "summary": summary_rows,
        "sequential": seq,
        "bursts": bursts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    print(f"wrote {args.out} and {args.out.with_suffix('.md').name}")
    failed = quick_failures(bursts, seq) if args.quick else []
    for line in failed:
        print(f"quick run failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
