"""The end-to-end rig: the session stack's addresses and numbers, why calls cannot run here, the
CLI's runs, provisioning's record and the real agent.py worker. tests/e2e/conftest.py builds its
fixtures from these; test modules and fleet.py import them from here (never from the conftest).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from receptionist.ops.stack import LocalStack, StackConfig, missing_binaries
from receptionist.paths import REPO_ROOT
from tests.support.sipcall import DTMF_PCAP_DIR

E2E_DIR = Path(__file__).parent
PRACTICE_FILE = E2E_DIR / "practice.toml"
PRACTICE_NUMBER = "+14145550100"
STAFF_DESTINATION = "tel:+14145550101"
AGENT_NAME = "receptionist"
STACK = StackConfig(name="rcp-e2e", address="10.78.0.1", run_dir=REPO_ROOT / ".stack")
ALLOWED = "10.78.0.0/24"


def under_ci() -> bool:
    """CI=true (what `.ci/run` runs under): every end-to-end test must place its calls."""
    return os.environ.get("CI") == "true"


def e2e_unavailable() -> str | None:
    """Why real calls cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets for DTMF)"
    missing = missing_binaries()
    if missing:
        reason = f"missing {', '.join(missing)}: run `bash scripts/install-stack.sh`"
        if "livekit-sip" in missing:
            # The Go module proxy refuses github.com/livekit/sip on some networks.
            reason += (
                "; where `go install` cannot fetch livekit-sip, give the script a prebuilt "
                "bridge: LIVEKIT_SIP_BINARY=/path/to/livekit-sip[.xz] (see docs/telephony.md)"
            )
        return reason
    if not (DTMF_PCAP_DIR / "dtmf_2833_0.pcap").exists():
        return f"no DTMF pcaps in {DTMF_PCAP_DIR} (Debian package sip-tester)"
    return None


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@dataclass
class Provisioning:
    """What happened while provisioning: legacy rule -> doctor -> setup -> doctor."""

    legacy: dict[str, str]
    doctor_before: CliRun
    setup: CliRun
    doctor_after: CliRun

    @property
    def rule_id(self) -> str:
        steps = self.setup.json()["plan"]["steps"]
        return next(s["object_id"] for s in steps if s["kind"] == "dispatch rule")


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log_path: Path
    stack: LocalStack
    # Where its /worker endpoint answers: the stack's address, or its own host's (test_scaling
    # runs workers in namespaces of their own, as separate hosts would be).
    address: str = ""

    def load(self) -> float | None:
        """The load the worker reports to the server (its /worker endpoint), or None."""
        address = self.address or self.stack.config.address
        code, body = self.stack.http_get(f"http://{address}:8081/worker")
        if code != 200:
            return None
        return float(json.loads(body).get("worker_load", 0.0))

    def wait_ready_for_call(self, max_load: float = 0.7, timeout: float = 60.0) -> None:
        """In `start` mode a worker above its load threshold is skipped by the server, and
        2 cores are busy after start-up or a call: wait until it would accept the job."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"agent.py exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            load = self.load()
            if load is not None and load < max_load:
                return
            time.sleep(0.5)
        pytest.fail(f"worker load stayed above {max_load} for {timeout:.0f}s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def job_requests(self) -> list[dict]:
        """The worker's "received job request" log lines (room, agent name, ...)."""
        found = []
        for line in self.log().splitlines():
            if '"received job request"' in line:
                with_json = line[line.find("{") :]
                try:
                    found.append(json.loads(with_json))
                except json.JSONDecodeError:
                    continue
        return found


def worker_env(base_env: dict[str, str], **overrides: str) -> dict[str, str]:
    """The environment of a real agent.py worker, with test doubles for the cloud AI providers."""
    return {
        **base_env,
        "PROVIDER_FACTORY": "tests.support.e2e_providers:build",
        "PYTHONPATH": str(REPO_ROOT),
        # Two cores run the server, the bridge, the worker and sipp: refuse jobs only when
        # saturated (and count calls instead of CPU where agent.py supports MAX_CALLS).
        "LOAD_THRESHOLD": "1.0",
        "MAX_CALLS": "25",
        "IDLE_PROCESSES": "2",
        "LOG_LEVEL": "INFO",
        **overrides,
    }


def start_worker(
    stack: LocalStack,
    env: dict[str, str],
    *,
    name: str = "agent-worker",
    netns: str = "",
    address: str = "",
    command: Sequence[str] = (),
) -> Worker:
    """Starts `agent.py start` (inside `netns` when given, a namespace the test made) and waits
    until it has registered and would accept a call. `command` replaces this checkout's
    `agent.py start` (test_image: the worker inside the built image, started by buildah)."""
    script = os.environ.get("E2E_AGENT_SCRIPT", str(REPO_ROOT / "agent.py"))
    argv = list(command) or [sys.executable, script, "start"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    proc = stack.spawn(name, argv, env=env, cwd=REPO_ROOT)
    started = Worker(proc, stack.log_path(name), stack, address)
    _wait_registered(started, timeout=120)
    started.wait_ready_for_call()
    return started


def _wait_registered(worker: Worker, timeout: float) -> None:
    """Calls placed before the worker registered, or while its job processes cannot start,
    would ring out with nobody to answer: wait for both, and fail with the worker's reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            pytest.fail(f"agent.py exited ({worker.proc.returncode}):\n{worker.log()[-4000:]}")
        log = worker.log()
        if "error initializing process" in log:
            pytest.fail("agent.py's job processes fail to start:\n" + _error_excerpt(log))
        if "registered worker" in log and '"process initialized"' in log:
            return
        time.sleep(0.5)
    pytest.fail(f"agent.py did not get ready within {timeout:.0f}s:\n{worker.log()[-4000:]}")


def _error_excerpt(log: str) -> str:
    """The first failing log line, with its traceback unescaped."""
    line = next(line for line in log.splitlines() if "error initializing process" in line)
    return line.replace("\\n", "\n")[-3000:]


def sip_log_fields(stack: LocalStack, sip_call_id: str) -> dict[str, str]:
    """The bridge's view of one call (trunk, rule, room), read from its log by SIP Call-ID."""
    fields: dict[str, str] = {}
    for line in stack.log_path("livekit-sip").read_text(errors="replace").splitlines():
        if f'"sipCallID": "{sip_call_id}"' not in line:
            continue
        for key in ("sipTrunk", "sipRule", "room", "callID"):
            match = re.search(rf'"{key}": "([^"]*)"', line)
            if match:
                fields[key] = match.group(1)
    return fields
