"""Fixtures for real phone calls: the local stack, provisioning through the CLI, the real worker.

One stack (Redis + livekit-server + livekit-sip) per test session, in a network namespace this run
creates (`rcp-e2e`, 10.78.0.1); the agent worker (`agent.py start`) and sipp run inside it too.
test_scaling adds worker "hosts" of its own, namespaces joined to this one (tests/e2e/fleet.py).
Nothing leaves the namespaces the run creates. Without root or the binaries the tests skip
locally with the reason, but under CI=true any missing piece (livekit-sip included) fails the run
with that reason: the end-to-end tests must really place calls in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

from receptionist.ops.stack import LocalStack
from receptionist.paths import REPO_ROOT
from tests.e2e.rig import (
    AGENT_NAME,
    ALLOWED,
    E2E_DIR,
    PRACTICE_FILE,
    PRACTICE_NUMBER,
    STACK,
    CliRun,
    Provisioning,
    Worker,
    e2e_unavailable,
    start_worker,
    under_ci,
    worker_env,
)
from tests.support.sipcall import Caller


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    """Skips the calls locally when a piece is missing; under CI=true fails them instead."""
    reason = e2e_unavailable()
    if reason is None:
        return
    if under_ci():
        pytest.fail(f"CI=true: end-to-end calls must run, but cannot: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def stack(e2e_ready: None) -> Iterator[LocalStack]:
    with LocalStack(STACK) as running:
        yield running


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite call log for the worker (the store's own tests cover PostgreSQL)."""
    from receptionist.store import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e-db') / 'calls.db'}"
    asyncio.run(upgrade(url))
    return url


@pytest.fixture(scope="session")
def base_env(stack: LocalStack, database_url: str, tmp_path_factory) -> dict[str, str]:
    """Settings shared by the CLI and the worker; nothing from a developer's .env leaks in."""
    return {
        **stack.env(),
        "AGENT_NAME": AGENT_NAME,
        "PRACTICE_FILE": str(PRACTICE_FILE),
        "DATABASE_URL": database_url,
        "SIP_ALLOWED_ADDRESSES": ALLOWED,
        "SIP_INBOUND_NUMBERS": "",
        "SIP_AUTH_USERNAME": "",
        "SIP_AUTH_PASSWORD": "",
        "SIP_OUTBOUND_ADDRESS": "",
        "NOISE_CANCELLATION": "auto",
        "OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
    }


@pytest.fixture(scope="session")
def sip_cli(stack: LocalStack, base_env: dict[str, str]) -> Callable[..., CliRun]:
    """Runs `receptionist sip ...` inside the stack's namespace, as a user would."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliRun:
        argv = [sys.executable, "-m", "receptionist.ops.cli", "sip", *args]
        if os.environ.get("E2E_SIP_CLI") == "direct":  # debugging: the sub-app alone
            argv = [sys.executable, "-m", "receptionist.ops.sip.cli", *args]
        result = subprocess.run(
            stack.wrap(argv),
            cwd=REPO_ROOT,
            env={**os.environ, **base_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        return CliRun(result.returncode, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session")
def provisioning(
    stack: LocalStack, base_env: dict[str, str], sip_cli: Callable[..., CliRun]
) -> Provisioning:
    """Starts from a rule made without room_config (as old scripts did), then runs the CLI."""
    legacy = subprocess.run(
        stack.wrap([sys.executable, str(E2E_DIR / "legacy_rule.py"), PRACTICE_NUMBER, ALLOWED]),
        cwd=REPO_ROOT,
        env={**os.environ, **base_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before = sip_cli("doctor", "--json")
    setup = sip_cli("setup", "--json")
    assert setup.returncode == 0, f"sip setup failed:\n{setup.stdout}\n{setup.stderr}"
    after = sip_cli("doctor", "--json")
    return Provisioning(json.loads(legacy.stdout), before, setup, after)


@pytest.fixture(scope="session")
def worker(
    stack: LocalStack, base_env: dict[str, str], provisioning: Provisioning
) -> Iterator[Worker]:
    """The real agent.py in `start` mode, with test doubles for the cloud AI providers only."""
    started = start_worker(stack, worker_env(base_env))
    yield started
    stack.stop_process(started.proc)


_ports = count()


@pytest.fixture
def caller(stack: LocalStack, tmp_path: Path) -> Caller:
    """A sipp caller with its own ports and working folder."""
    n = next(_ports)
    return Caller(stack, tmp_path / "caller", sip_port=5070 + n, media_port=16000 + 4 * n)
