"""Short programs run inside the local telephony stack's network (its namespace), where the
LiveKit server's address is reachable: the e2e tests and the benchmarks create trunks this way."""

from __future__ import annotations

import subprocess
import sys

from receptionist.ops.stack import LocalStack
from receptionist.paths import REPO_ROOT


def python_in_stack(stack: LocalStack, env: dict[str, str], code: str, *args: str) -> str:
    """Runs a short Python program (`python -c`) where the stack's address is reachable; its
    standard output (it failing fails the test, with its error output)."""
    result = subprocess.run(
        stack.wrap([sys.executable, "-c", code, *args]),
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
