"""The stack's pid file: a stale file must never make it kill a process it did not start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from receptionist.ops import stack as stack_mod
from receptionist.ops.stack import LocalStack, StackConfig


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def killed(monkeypatch) -> list[int]:
    """Records process groups the stack would SIGKILL instead of killing them."""
    calls: list[int] = []
    monkeypatch.setattr(stack_mod.os, "killpg", lambda pid, sig: calls.append(pid))
    return calls


def _started(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])


def _boot() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def _stack(tmp_path: Path) -> LocalStack:
    stack = LocalStack(StackConfig(name="pids-test", netns=False, run_dir=tmp_path))
    stack.run_dir.mkdir(parents=True)
    return stack


def test_a_recorded_process_that_is_still_the_same_one_is_stopped(tmp_path, sleeper, killed):
    earlier = _stack(tmp_path)
    earlier._procs.append(("helper", sleeper))
    earlier._write_pids()
    LocalStack(earlier.config)._kill_recorded_pids()  # the next run starts
    assert killed == [sleeper.pid]
    assert not (earlier.run_dir / "pids").exists()


def test_a_reused_pid_is_left_alone(tmp_path, sleeper, killed):
    """The pid now belongs to another process (other start time): it must not be killed."""
    stack = _stack(tmp_path)
    started = _started(sleeper.pid)
    (stack.run_dir / "pids").write_text(f"boot {_boot()}\n{sleeper.pid} {started + 1}\n")
    stack._kill_recorded_pids()
    assert sleeper.pid not in killed
    assert sleeper.poll() is None


def test_bare_pids_and_other_boots_are_ignored(tmp_path, sleeper, killed):
    stack = _stack(tmp_path)
    (stack.run_dir / "pids").write_text(f"{sleeper.pid}\n")
    stack._kill_recorded_pids()
    started = _started(sleeper.pid)
    (stack.run_dir / "pids").write_text(f"boot another-boot\n{sleeper.pid} {started}\n")
    stack._kill_recorded_pids()
    assert killed == []


def test_start_time_reads_field_22_even_with_spaces_in_the_name(tmp_path, monkeypatch):
    stat = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 " + " ".join(["0"] * 12) + " 987654 0"
    real = Path.read_text
    monkeypatch.setattr(
        Path,
        "read_text",
        lambda self, *a, **k: stat if str(self) == "/proc/4242/stat" else real(self, *a, **k),
    )
    assert stack_mod._start_time(4242) == 987654
