"""Benchmark: real phone calls on the local stack (sipp -> livekit-sip -> server -> agent.py).

    sudo uv run python bench/calls.py                       # 10 sequential calls; 1,5,10,20 at once
    sudo uv run python bench/calls.py --repeat 5 --levels 1,5

Part 1, latency over repeated calls (one at a time, p50/p95): INVITE -> 200 OK, INVITE -> first
audible agent audio at the caller (decoded PCMU RTP), caller's DTMF `0` -> REFER received.
Part 2, simultaneous calls on one worker: calls answered, p95 INVITE -> first agent audio, and
memory per call (PSS of the worker's process tree at the peak, minus its idle baseline).

Everything runs in a network namespace the benchmark creates (root needed, as for the e2e tests);
only the cloud STT/LLM/TTS are test doubles (espeak-ng speaks). Writes bench/results/calls.json and
bench/results/calls.md. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from receptionist.ops.stack import LocalStack, StackConfig, signals_raise  # noqa: E402
from tests.e2e.sipcall import (  # noqa: E402
    Caller,
    SippResult,
    capture_rtp,
    read_pcap,
    voiced_frames,
    write_silence_ulaw,
)

RESULTS = REPO_ROOT / "bench" / "results"
PRACTICE_FILE = REPO_ROOT / "tests" / "e2e" / "practice.toml"
PRACTICE_NUMBER = "+14145550100"
CALLER = "4145550123"
CONFIG = StackConfig(name="rcp-bench", address="10.79.0.1")
WORKER_PORT = 8081


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


# --- the stack, provisioning and the worker ------------------------------------------------------


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


def start_worker(stack: LocalStack, env: dict[str, str], idle: int) -> subprocess.Popen[bytes]:
    """The real agent.py in start mode with the provider doubles; waits for registration."""
    script = os.environ.get("E2E_AGENT_SCRIPT", str(REPO_ROOT / "agent.py"))
    worker_env = {
        **env,
        "PROVIDER_FACTORY": "tests.support.e2e_providers:build",
        "PYTHONPATH": str(REPO_ROOT),
        "LOAD_THRESHOLD": "1.0",
        "MAX_CALLS": "25",
        "IDLE_PROCESSES": str(idle),
    }
    proc = stack.spawn("agent-worker", [sys.executable, script, "start"], env=worker_env,
                       cwd=REPO_ROOT)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"agent.py exited; see {stack.log_path('agent-worker')}")
        if "registered worker" in stack.log_path("agent-worker").read_text(errors="replace"):
            return proc
        time.sleep(0.5)
    raise SystemExit("agent.py did not register within 180 s")


def worker_info(stack: LocalStack) -> dict:
    """The worker's /worker endpoint (proto3 JSON: zero-valued fields are left out)."""
    code, body = stack.http_get(f"http://{CONFIG.address}:{WORKER_PORT}/worker")
    return json.loads(body) if code == 200 else {}


def wait_idle(stack: LocalStack, timeout: float = 120.0) -> None:
    """No job running and load low, so each measurement starts from the same state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = worker_info(stack)
        if info and int(info.get("active_jobs", 0)) == 0 and info.get("worker_load", 0.0) < 0.5:
            return
        time.sleep(1)
    print("warning: worker did not go idle", file=sys.stderr)


# --- memory --------------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (the worker and its job processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_mib(pids: Sequence[int]) -> float:
    """Proportional set size (shared pages split between processes) in MiB."""
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


class MemorySampler:
    """Samples the worker tree's PSS twice a second; keeps the peak."""

    def __init__(self, root: int) -> None:
        self.root, self.peak, self.peak_processes = root, 0.0, 0
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
            pids = process_tree(self.root)
            value = pss_mib(pids)
            if value > self.peak:
                self.peak, self.peak_processes = value, len(pids)
            self._stop.wait(0.5)


# --- the two parts -------------------------------------------------------------------------------


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
        print(f"call {i + 1}/{repeat}: " + ", ".join(
            f"{name} {v * 1000:.0f} ms" if v is not None else f"{name} -"
            for name, v in zip(("answer", "first audio", "dtmf->refer"), figures, strict=True)
        ))  # fmt: skip
    return {
        "calls": repeat,
        "failed": failures,
        "invite_to_200ok": summary(answers),
        "invite_to_first_audio": summary(audio),
        "dtmf_to_refer": summary(refers),
    }


def concurrent(stack: LocalStack, worker: subprocess.Popen[bytes], work: Path, n: int,
               listen_s: int) -> dict:  # fmt: skip
    """`n` calls placed at once that each listen `listen_s` seconds after the answer."""
    wait_idle(stack)
    baseline = pss_mib(process_tree(worker.pid))
    callers = [
        Caller(stack, work / f"c{n}-{i}", sip_port=5100 + i, media_port=17000 + 4 * i)
        for i in range(n)
    ]
    for c in callers:
        c.workdir.mkdir(parents=True, exist_ok=True)
        write_silence_ulaw(c.workdir / "caller.ulaw")
    pcap = work / f"c{n}.pcap"
    with capture_rtp(stack, "udp portrange 17000-17399", pcap), MemorySampler(worker.pid) as mem:
        procs = [
            c.start("listen_then_hang_up.xml", PRACTICE_NUMBER, CALLER, timeout_s=listen_s + 60,
                    listen_ms=str(listen_s * 1000))
            for c in callers
        ]  # fmt: skip
        results = [c.finish(p, listen_s + 90) for c, p in zip(callers, procs, strict=True)]
    packets = read_pcap(pcap)
    for c, r in zip(callers, results, strict=True):
        c.attach_rtp(r, packets)
    answered = [r for r in results if r.received(200)]
    audio = [d for d in (first_audio_delay(r) for r in answered) if d is not None]
    per_call = (mem.peak - baseline) / len(answered) if answered else None
    row = {
        "simultaneous": n,
        "answered": len(answered),
        "heard_agent": len(audio),
        "invite_to_first_audio": summary(audio),
        "worker_pss_idle_mib": round(baseline, 1),
        "worker_pss_peak_mib": round(mem.peak, 1),
        "worker_processes_at_peak": mem.peak_processes,
        "memory_per_call_mib": round(per_call, 1) if per_call is not None else None,
    }
    print(f"{n} at once: {row}")
    return row


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


def markdown(data: dict) -> str:
    seq = data["sequential"]
    lines = [
        "# Call benchmark",
        "",
        f"{data['machine']['cpus']} CPUs, {data['created']}. Real livekit-server + livekit-sip + "
        "agent.py (start mode); STT/LLM/TTS are test doubles (espeak-ng speech).",
        *(["", f"Note: {data['note']}"] if data.get("note") else []),
        "",
        f"## {seq['calls']} sequential calls ({seq['failed']} failed)",
        "",
        "| measure | n | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("invite_to_200ok", "INVITE -> 200 OK"),
                       ("invite_to_first_audio", "INVITE -> first agent audio"),
                       ("dtmf_to_refer", "DTMF 0 -> REFER")):  # fmt: skip
        s = seq[key]
        lines.append(f"| {label} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} |")
    lines += [
        "",
        "## Simultaneous calls on one worker",
        "",
        "| calls | answered | heard agent | first audio p50 ms | p95 ms | PSS idle MiB "
        "| PSS peak MiB | MiB per call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in data["concurrency"]:
        audio = row["invite_to_first_audio"]
        lines.append(
            f"| {row['simultaneous']} | {row['answered']} | {row['heard_agent']} "
            f"| {audio['p50_ms']} | {audio['p95_ms']} | {row['worker_pss_idle_mib']} "
            f"| {row['worker_pss_peak_mib']} | {row['memory_per_call_mib']} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="sequential calls")
    parser.add_argument("--levels", default="1,5,10,20", help="simultaneous call counts")
    parser.add_argument("--listen", type=int, default=15, help="seconds each concurrent call lasts")
    parser.add_argument("--idle-processes", type=int, default=3, help="worker's warm processes")
    parser.add_argument("--out", type=Path, default=RESULTS / "calls.json")
    parser.add_argument("--keep", type=Path, help="keep sipp traces and captures in this folder")
    parser.add_argument("--note", default="", help="what was special about this run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespace, raw sockets for DTMF)", file=sys.stderr)
        return 2
    from receptionist.store import upgrade

    with signals_raise(), tempfile.TemporaryDirectory() as tmp, LocalStack(CONFIG) as stack:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{work / 'calls.db'}"
        asyncio.run(upgrade(database_url))
        env = base_env(stack, database_url, work / "outbox")
        provision(stack, env)
        worker = start_worker(stack, env, args.idle_processes)
        seq = sequential(stack, work, args.repeat)
        levels = [int(n) for n in args.levels.split(",") if n.strip()]
        rows = [concurrent(stack, worker, work, n, args.listen) for n in levels]
        stack.stop_process(worker)
    data = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "worker": {"mode": "start", "idle_processes": args.idle_processes,
                   "load_threshold": 1.0, "max_calls_env": "25",
                   "agent_script": os.environ.get("E2E_AGENT_SCRIPT", "agent.py"),
                   "providers": "test doubles (espeak-ng TTS)"},
        "note": args.note,
        "sequential": seq,
        "concurrency": rows,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
