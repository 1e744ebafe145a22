"""Test rigs for test_scaling: worker hosts, the fleet's own line, watchers, calls placed together.

Each worker of the fleet runs on a "host" of its own: a network namespace this run creates,
joined to the stack's namespace by a veth pair with a /24 of its own and a default route through
it. That is what two machines would be (each worker has its own port 8081 and its own address
for WebRTC), and traffic still never leaves the namespaces the run created.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.ops.stack import LocalStack
from receptionist.paths import REPO_ROOT
from tests.e2e.rig import Worker, start_worker, worker_env
from tests.support.sipcall import Caller, SippResult, capture_rtp, parse_messages, read_pcap

E2E_DIR = Path(__file__).parent
FLEET_NUMBER = "+14145550150"
FLEET_AGENT = "receptionist-fleet"
FLEET_ROOM_PREFIX = "fleet-"
DISPATCHED = "orphaned call: agent dispatched again"


@dataclass
class Host:
    """A network namespace joined to the stack's by a veth pair: one more machine on the LAN."""

    stack: LocalStack
    index: int

    @property
    def name(self) -> str:
        return f"{self.stack.config.name}-h{self.index}"

    @property
    def address(self) -> str:
        return f"10.78.{self.index}.2"

    @property
    def gateway(self) -> str:
        return f"10.78.{self.index}.1"

    def create(self) -> None:
        self.delete()  # what a killed run left behind
        outer, inner = f"rcph{self.index}a", f"rcph{self.index}b"
        ns, peer = ["ip", "-n", self.stack.config.name], ["ip", "-n", self.name]
        for argv in (
            ["ip", "netns", "add", self.name],
            [*ns, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", self.name],
            [*ns, "addr", "add", f"{self.gateway}/24", "dev", outer],
            [*ns, "link", "set", outer, "up"],
            [*peer, "link", "set", "lo", "up"],
            [*peer, "addr", "add", f"{self.address}/24", "dev", inner],
            [*peer, "link", "set", inner, "up"],
            [*peer, "route", "add", "default", "via", self.gateway],
        ):
            subprocess.run(argv, check=True, capture_output=True, text=True)

    def delete(self) -> None:
        """Stops what still runs in the namespace, then removes it (and so its veth pair)."""
        pids = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        )
        if pids.returncode != 0:
            return
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)


@dataclass
class FleetLine:
    trunk_id: str
    rule_id: str


def run_in_stack(stack: LocalStack, env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        stack.wrap([sys.executable, str(E2E_DIR / "fleet_line.py"), *args]),
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@dataclass
class Fleet:
    """Workers under FLEET_AGENT, one per host; `start`ed again after a test stops one."""

    stack: LocalStack
    env: dict[str, str]
    hosts: list[Host]
    workers: dict[int, Worker] = field(default_factory=dict)  # host index -> its worker
    starts: int = 0

    def start(self, host: Host) -> Worker:
        self.starts += 1
        worker = start_worker(
            self.stack,
            self.env,
            name=f"fleet-worker-{self.starts}",
            netns=host.name,
            address=host.address,
        )
        self.workers[host.index] = worker
        return worker

    def ensure_running(self) -> list[Worker]:
        for host in self.hosts:
            current = self.workers.get(host.index)
            if current is None or current.proc.poll() is not None:
                self.start(host)
        for worker in self.workers.values():
            worker.wait_ready_for_call()
            wait_for(
                "the worker tells the server it is free", lambda w=worker: marked_available(w), 30
            )
        return list(self.workers.values())

    def stop(self) -> None:
        for worker in self.workers.values():
            self.stack.stop_process(worker.proc)


def fleet_practice(folder: Path) -> Path:
    """The e2e practice, also reached on the fleet's number (a tracking line, as it were)."""
    text = (E2E_DIR / "practice.toml").read_text()
    listed = text.replace("dialled_numbers = []", f'dialled_numbers = ["{FLEET_NUMBER}"]', 1)
    assert listed != text, "tests/e2e/practice.toml no longer has an empty dialled_numbers"
    path = folder / "practice.toml"
    path.write_text(listed)
    return path


def fleet_env(base_env: dict[str, str], practice: Path) -> dict[str, str]:
    """Two calls per worker: a third call finds it full and goes to the other worker."""
    return worker_env(
        base_env,
        AGENT_NAME=FLEET_AGENT,
        PRACTICE_FILE=str(practice),
        MAX_CALLS="2",
        IDLE_PROCESSES="2",
    )


@dataclass
class Watchers:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def lines(self, message: str) -> list[dict]:
        """Every JSON log line of every watcher whose message is `message`."""
        found = []
        for path in self.logs:
            for line in path.read_text(errors="replace").splitlines():
                with contextlib.suppress(json.JSONDecodeError):
                    entry = json.loads(line[line.find("{") :])
                    if entry.get("message") == message:
                        found.append(entry)
        return found

    def dispatches(self) -> list[dict]:
        return self.lines(DISPATCHED)


def start_watchers(stack: LocalStack, env: dict[str, str], count: int) -> Watchers:
    procs, logs = [], []
    for n in range(1, count + 1):
        name = f"watcher-{n}"
        argv = [sys.executable, "-m", "receptionist.ops.cli", "watch"]
        procs.append(stack.spawn(name, argv, env=env, cwd=REPO_ROOT))
        logs.append(stack.log_path(name))
    deadline = time.monotonic() + 60
    for proc, log in zip(procs, logs, strict=True):
        while "watching for orphaned calls" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "watcher did not start"
            time.sleep(0.2)
    return Watchers(procs, logs)


# --- calls ---------------------------------------------------------------------------------------


@dataclass
class PlacedCall:
    caller: Caller
    proc: subprocess.Popen[bytes]
    result: SippResult | None = None


@contextlib.contextmanager
def calls_together(stack: LocalStack, folder: Path, first_port: int) -> Iterator[CallBatch]:
    """Callers placed inside the block share one RTP capture; results come with their RTP."""
    batch = CallBatch(stack, folder, first_port)
    pcap = folder / "batch-rtp.pcap"
    folder.mkdir(parents=True, exist_ok=True)
    ports = f"udp portrange {16400 + 4 * first_port}-{16400 + 4 * first_port + 63}"
    with capture_rtp(stack, ports, pcap):
        try:
            yield batch
        except BaseException:
            batch.hang_up_all()  # a failed test leaves no caller behind
            raise
        batch.finish_all()
    packets = read_pcap(pcap)
    for placed in batch.calls:
        assert placed.result is not None
        placed.caller.attach_rtp(placed.result, packets)


@dataclass
class CallBatch:
    stack: LocalStack
    folder: Path
    first_port: int
    calls: list[PlacedCall] = field(default_factory=list)

    def place(self, scenario: str, audio: bytes, timeout_s: int = 90, **keys: str) -> PlacedCall:
        n = self.first_port + len(self.calls)
        caller = Caller(
            self.stack,
            self.folder / f"call-{len(self.calls)}",
            sip_port=5110 + n,
            media_port=16400 + 4 * n,
        )
        caller.workdir.mkdir(parents=True, exist_ok=True)
        (caller.workdir / "caller.ulaw").write_bytes(audio)
        placed = PlacedCall(
            caller, caller.start(scenario, FLEET_NUMBER, "4145550123", timeout_s, **keys)
        )
        self.calls.append(placed)
        return placed

    def finish_all(self, timeout_s: float = 150) -> None:
        for placed in self.calls:
            if placed.result is None:
                placed.result = placed.caller.finish(placed.proc, timeout_s)

    def hang_up_all(self) -> None:
        for placed in self.calls:
            if placed.proc.poll() is None:
                placed.proc.kill()
                placed.proc.wait()


def wait_for(what: str, check: Callable[[], object], timeout: float, every: float = 0.2) -> object:
    """Polls `check` until it returns something truthy (generous timeouts: the machine is busy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")


def answered_at(placed: PlacedCall) -> float | None:
    """When sipp received the call's 200 OK (epoch seconds), read from its live message trace."""
    trace = placed.caller.workdir / "messages.log"
    if not trace.exists():
        return None
    for message in parse_messages(trace.read_text(errors="replace")):
        if not message.sent and message.status == 200 and message.header("cseq").endswith("INVITE"):
            return message.epoch
    return None


def marked_available(worker: Worker) -> bool:
    """The worker's last word to the server on its capacity was "available" (or it never said it
    was full). Its local load drops the moment a call ends, but the server skips it until the
    worker's status loop sends that word: a call placed in between finds no worker."""
    log = worker.log()
    full = log.rfind("worker is at full capacity")
    return full < 0 or log.rfind("worker is below capacity") > full


def rooms_taken(worker: Worker) -> list[str]:
    """The (redacted) rooms of the job requests a worker received, in order."""
    return [str(job.get("room", "")) for job in worker.job_requests()]
