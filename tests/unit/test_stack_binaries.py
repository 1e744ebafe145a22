"""The local stack finds livekit-server under either name it is installed as, and the install
script says what to do on systems without apt instead of failing on the first apt command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from receptionist.ops import stack as stack_mod
from receptionist.ops.stack import (
    LocalStack,
    StackConfig,
    StackError,
    find_stack_binary,
    missing_binaries,
)
from receptionist.paths import REPO_ROOT


def program(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def empty_path(monkeypatch, tmp_path):
    """Nothing on PATH: only the folders a test names."""
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))


def test_livekit_servers_installer_name_is_found(tmp_path, empty_path):
    bin_dir = tmp_path / "bin"
    installed = program(bin_dir, "livekit-server")  # get.livekit.io and `brew install livekit`
    assert find_stack_binary("livekit-server", [bin_dir]) == str(installed)


def test_the_pinned_build_from_install_stack_is_preferred(tmp_path, empty_path):
    go_bin, brew = tmp_path / "go" / "bin", tmp_path / "brew"
    pinned = program(go_bin, "server")  # scripts/install-stack.sh: go install .../cmd/server
    program(brew, "livekit-server")
    assert find_stack_binary("livekit-server", [go_bin, brew]) == str(pinned)


def test_on_path_the_unambiguous_name_wins(tmp_path, monkeypatch):
    on_path = tmp_path / "path"
    program(on_path, "server")  # some other program called `server`
    real = program(on_path, "livekit-server")
    monkeypatch.setenv("PATH", str(on_path))
    assert find_stack_binary("livekit-server", []) == str(real)


def test_missing_server_is_named_with_both_names_and_where_they_come_from(tmp_path, empty_path):
    bin_dir = tmp_path / "bin"
    program(bin_dir, "redis-server")
    program(bin_dir, "livekit-sip")
    assert "livekit-server" in missing_binaries([bin_dir])
    stack = LocalStack(
        StackConfig(name="names", netns=False, run_dir=tmp_path, bin_dirs=(bin_dir,))
    )
    with pytest.raises(StackError) as refused:
        stack._prepare()
    message = str(refused.value)
    assert "missing livekit-server" in message
    assert "`server`" in message and "brew install livekit" in message
    program(bin_dir, "livekit-server")
    assert "livekit-server" not in missing_binaries([bin_dir])


def test_the_server_is_started_from_whichever_name_was_found(tmp_path, empty_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    installed = program(bin_dir, "livekit-server")
    stack = LocalStack(
        StackConfig(name="start", netns=False, run_dir=tmp_path, bin_dirs=(bin_dir,))
    )
    started: list[list[str]] = []
    monkeypatch.setattr(stack, "spawn", lambda name, argv, **kw: started.append(list(argv)))
    monkeypatch.setattr(stack, "_wait", lambda *args: None)
    stack._start_server(timeout=1.0)
    assert started[0][0] == str(installed)
    assert stack_mod.SERVER_NAMES == ("server", "livekit-server")


def test_install_script_off_debian_says_what_to_install(tmp_path):
    """A system without apt-get/dpkg (macOS, Fedora, Arch): the alternatives, exit 1."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "uname", "cat"):
        (tools / name).symlink_to(shutil.which(name))
    result = subprocess.run(
        [str(tools / "bash"), str(REPO_ROOT / "scripts" / "install-stack.sh")],
        capture_output=True,
        text=True,
        env={"PATH": str(tools), "HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 1
    assert "get.livekit.io" in result.stderr and "brew install livekit" in result.stderr
    assert "livekit-sip" in result.stderr and "agent.py try" in result.stderr
