"""docs/try-it.md's first phone call is answered while the machine is busy.

A newcomer's worker runs with what the local stack's env file gives it (`source
.stack/<stack>/env`: receptionist.ops.stack.developer_env) and otherwise the product's defaults,
notably LOAD_THRESHOLD 0.7. LiveKit's default load is the host's CPU use; on a 2-core laptop that
also runs the server, the bridge and an editor it sits above 0.7, the server dispatches nothing and
the caller hears ringing until they give up. Here both cores are kept busy (by processes at the
lowest priority, so the call itself still gets the CPU it needs) and the call must be answered.

The worker runs on a test "host" of its own, under an agent name and line of its own, so the
session's worker (which counts calls with MAX_CALLS=25) never takes this call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.ops.stack import LocalStack, developer_env
from receptionist.settings import Settings
from tests.e2e.fleet import FleetLine, Host, run_in_stack
from tests.e2e.rig import ALLOWED, E2E_DIR, Worker, start_worker, worker_env
from tests.support.sipcall import Caller, voiced_frames

pytestmark = pytest.mark.e2e

TRYIT_NUMBER = "+14145550170"
TRYIT_AGENT = "receptionist-tryit"
TRYIT_ROOM_PREFIX = "tryit-"
TRYIT_HOST = 7  # fleet.Host index: test_scaling uses 1 and 2, test_image 9
SECOND = bytes([0xFF]) * 8000  # one second of mu-law silence: RTP keeps flowing, no turn
MIN_VOICED_FRAMES = 50  # 20 ms frames: a second of audible greeting
BUSY_LOAD = 0.9  # the host's CPU use the burners must reach before the call is placed
BURNER = "while True: pass"


@pytest.fixture(scope="module")
def tryit_line(stack: LocalStack, base_env: dict[str, str]) -> Iterator[FleetLine]:
    ids = run_in_stack(
        stack, base_env, "create", TRYIT_NUMBER, TRYIT_AGENT, ALLOWED, TRYIT_ROOM_PREFIX
    )
    yield FleetLine(ids["trunk_id"], ids["rule_id"])
    run_in_stack(stack, base_env, "delete", ids["trunk_id"], ids["rule_id"])


@pytest.fixture(scope="module")
def tryit_host(stack: LocalStack) -> Iterator[Host]:
    host = Host(stack, TRYIT_HOST)
    try:
        host.create()
        yield host
    finally:
        host.delete()


@pytest.fixture(scope="module")
def tryit_worker(
    stack: LocalStack,
    base_env: dict[str, str],
    tryit_line: FleetLine,
    tryit_host: Host,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    """`source .stack/<stack>/env && agent.py start`: the stack's developer settings, and the
    product's own LOAD_THRESHOLD (the rig's workers raise it; a newcomer's does not)."""
    text = (E2E_DIR / "practice.toml").read_text()
    listed = text.replace("dialled_numbers = []", f'dialled_numbers = ["{TRYIT_NUMBER}"]', 1)
    assert listed != text, "tests/e2e/practice.toml no longer has an empty dialled_numbers"
    practice = tmp_path_factory.mktemp("tryit-practice") / "practice.toml"
    practice.write_text(listed)
    env = worker_env(
        base_env,
        AGENT_NAME=TRYIT_AGENT,
        PRACTICE_FILE=str(practice),
        LOAD_THRESHOLD=str(Settings.model_fields["load_threshold"].default),
    )
    del env["MAX_CALLS"]  # the rig's own: a newcomer has only what the env file gives
    env.update(developer_env(stack))
    started = start_worker(
        stack, env, name="tryit-worker", netns=tryit_host.name, address=tryit_host.address
    )
    yield started
    stack.stop_process(started.proc)


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """Every core kept busy at the lowest priority, until the host's CPU use shows it."""
    burners = [
        subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", BURNER])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        _wait_busy()
        yield
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


def _wait_busy(timeout: float = 30.0) -> None:
    """Waits until /proc/stat shows the CPU at least BUSY_LOAD busy over a second (LiveKit
    averages its CPU load over a few seconds, so it is held a little longer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _cpu_busy_over(1.0) >= BUSY_LOAD:
            time.sleep(3.0)
            return
    pytest.fail(f"the burners did not bring the CPU to {BUSY_LOAD:.0%} busy")


def _cpu_busy_over(seconds: float) -> float:
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def test_the_try_it_call_is_answered_while_the_cpu_is_busy(
    tryit_worker: Worker, busy_cpu: None, caller: Caller
):
    (caller.workdir).mkdir(parents=True, exist_ok=True)
    (caller.workdir / "caller.ulaw").write_bytes(SECOND * 2)
    result = caller.call(
        "listen_then_hang_up.xml", TRYIT_NUMBER, "4145550123", timeout_s=60, listen_ms="6000"
    )
    assert result.received(200), f"the call was not answered:\n{result.log}"
    assert len(voiced_frames(result.rtp)) >= MIN_VOICED_FRAMES, "answered, but no greeting heard"
    rooms = [job.get("room", "") for job in tryit_worker.job_requests()]
    assert any(room.startswith(TRYIT_ROOM_PREFIX) for room in rooms), rooms
