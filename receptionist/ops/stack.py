"""A local LiveKit telephony stack: Redis, livekit-server and livekit-sip, started and torn down.

Used by the end-to-end tests, the call benchmark and developers who want real phone calls on their
machine. WebRTC stacks (libwebrtc in the agent, pion in the bridge) ignore loopback interfaces, so
as root the stack lives in a network namespace of its own with a veth address that every process
(server, bridge, agent worker, sipp) uses; traffic never leaves that namespace. Without root it
runs on the host and advertises an address you give it (your LAN address on a laptop).

    sudo uv run python -m receptionist.ops.stack            # netns mode, Ctrl-C to stop
    uv run python -m receptionist.ops.stack --host 192.168.1.20

The configuration files live in `stack/` (templates); each run renders them into `.stack/<name>/`
with a fresh API secret, so no credential is kept in the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from receptionist.paths import REPO_ROOT

TEMPLATES = REPO_ROOT / "stack"
BINARIES = ("redis-server", "livekit-server", "livekit-sip")
# livekit-server goes by two names: `server` is what scripts/install-stack.sh builds (`go install
# .../cmd/server`, pinned to the version the bridge needs, so it is preferred), `livekit-server`
# what LiveKit's install script and Homebrew install.
SERVER_NAMES = ("server", "livekit-server")
# livekit-sip's health port answers 429 Too Many Requests while the host CPU is above its
# max_cpu_utilization (it then turns new calls away for the moment): the bridge is up all the same.
SIP_HEALTHY_STATUSES = (200, 429)


def _default_bin_dirs() -> tuple[Path, ...]:
    """Where scripts/install-stack.sh puts the Go binaries ($GOBIN, else ~/go/bin)."""
    gobin = os.environ.get("GOBIN")
    return (
        *([Path(gobin)] if gobin else []),
        Path.home() / "go" / "bin",
        Path("/usr/local/bin"),
    )


class StackError(RuntimeError):
    """The stack could not start; the message says which part and where its log is."""


@dataclass
class StackConfig:
    """Where the stack runs and on which ports (defaults fit one namespace per test run)."""

    name: str = "rcp-stack"
    netns: bool = True
    address: str = "10.77.0.1"
    prefix_len: int = 24
    redis_port: int = 6379
    http_port: int = 7880
    rtc_tcp_port: int = 7881
    rtc_udp_port: int = 7882
    sip_port: int = 5060
    sip_health_port: int = 8090
    rtp_port_start: int = 20000
    rtp_port_end: int = 20400
    api_key: str = "APIlocalstack"
    api_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    run_dir: Path = REPO_ROOT / ".stack"
    bin_dirs: tuple[Path, ...] = field(default_factory=_default_bin_dirs)

    @property
    def livekit_url(self) -> str:
        return f"ws://{self.address}:{self.http_port}"

    @property
    def sip_uri_host(self) -> str:
        return f"{self.address}:{self.sip_port}"

    def template_values(self, run_dir: Path) -> dict[str, str]:
        values = {k: str(v) for k, v in self.__dict__.items() if isinstance(v, str | int)}
        values["run_dir"] = str(run_dir)
        return values


def find_binary(name: str, bin_dirs: Sequence[Path] | None = None) -> str | None:
    """Finds a stack binary in the Go bin folder where install-stack.sh puts it, or on PATH."""
    for folder in _default_bin_dirs() if bin_dirs is None else bin_dirs:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def find_stack_binary(name: str, bin_dirs: Sequence[Path] | None = None) -> str | None:
    """Like `find_binary`, with livekit-server found under either of its names."""
    if name != "livekit-server":
        return find_binary(name, bin_dirs)
    for folder in _default_bin_dirs() if bin_dirs is None else bin_dirs:
        for server in SERVER_NAMES:
            candidate = folder / server
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    # On PATH the unambiguous name first: a program called just `server` may be anything.
    return shutil.which("livekit-server") or shutil.which("server")


def missing_binaries(bin_dirs: Sequence[Path] | None = None) -> list[str]:
    """Names the programs the stack (and the e2e caller) needs that are not installed."""
    wanted = (*BINARIES, "sipp", "tshark", "espeak-ng", "sox", "ip", "curl")
    return [name for name in wanted if not find_stack_binary(name, bin_dirs)]


def missing_message(missing: Sequence[str]) -> str:
    """What to do about missing stack programs, in the words of the tools that install them."""
    text = f"missing {', '.join(missing)}: run `bash scripts/install-stack.sh`"
    if "livekit-server" in missing:
        text += (
            " (livekit-server is found as `server`, what that script builds, or "
            "`livekit-server`, what `brew install livekit` and LiveKit's install script "
            "`curl -sSL https://get.livekit.io | bash` install)"
        )
    return text


class LocalStack:
    """Starts Redis, livekit-server and livekit-sip; `close()` (or leaving `with`) stops all."""

    def __init__(self, config: StackConfig | None = None):
        self.config = config or StackConfig()
        self.run_dir = self.config.run_dir / self.config.name
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._netns_created = False

    # -- public ------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout: float = 60.0) -> None:
        """Starts each part in order and waits until it answers; tears down on any failure."""
        try:
            self._prepare()
            self._start_redis(timeout)
            self._start_server(timeout)
            self._start_sip(timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stops every process this stack started (newest first) and removes its namespace."""
        for name, proc in reversed(self._procs):
            _stop(proc, name)
        self._procs.clear()
        if self._netns_created:
            self._kill_namespace_leftovers()
            subprocess.run(["ip", "netns", "del", self.config.name], check=False)
            self._netns_created = False
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "pids").unlink()

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The command line that runs `argv` where the stack's address is reachable."""
        if self.config.netns:
            return ["ip", "netns", "exec", self.config.name, *argv]
        return list(argv)

    def env(self) -> dict[str, str]:
        """Environment for a worker or CLI that talks to this stack's server."""
        return {
            "LIVEKIT_URL": self.config.livekit_url,
            "LIVEKIT_API_KEY": self.config.api_key,
            "LIVEKIT_API_SECRET": self.config.api_secret,
        }

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Starts a helper process (e.g. the agent worker) next to the stack, logging to a file.

        The process is stopped by `close()` like the stack's own parts.
        """
        log = open(self.run_dir / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            self.wrap(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            cwd=cwd,
        )
        log.close()
        self._procs.append((name, proc))
        self._write_pids()
        return proc

    def stop_process(self, proc: subprocess.Popen[bytes]) -> None:
        """Stops one helper started with `spawn` (the stack keeps running)."""
        for entry in list(self._procs):
            if entry[1] is proc:
                _stop(proc, entry[0])
                self._procs.remove(entry)
        self._write_pids()

    def log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def http_get(self, url: str, timeout: float = 2.0) -> tuple[int, str]:
        """GETs a URL from inside the stack's network (curl in the namespace)."""
        result = subprocess.run(
            self.wrap(["curl", "-s", "-m", str(timeout), "-w", "\n%{http_code}", url]),
            capture_output=True,
            text=True,
            check=False,
        )
        body, _, code = result.stdout.rpartition("\n")
        return (int(code) if code.isdigit() else 0), body

    # -- steps -------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Creates the run folder and, in netns mode, a fresh namespace with a veth address."""
        missing = [b for b in BINARIES if not find_stack_binary(b, self.config.bin_dirs)]
        if missing:
            raise StackError(missing_message(missing))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._kill_recorded_pids()
        for template in ("redis.conf", "livekit.yaml", "sip.yaml"):
            text = Template((TEMPLATES / template).read_text())
            out = self.run_dir / template
            out.write_text(text.substitute(self.config.template_values(self.run_dir)))
            out.chmod(0o600)
        if self.config.netns:
            self._create_namespace()

    def _create_namespace(self) -> None:
        """One namespace, loopback up plus a veth pair, so WebRTC has a non-loopback interface."""
        if os.geteuid() != 0:
            raise StackError("netns mode needs root; use --host ADDRESS to run on the host")
        name, ns = self.config.name, ["ip", "-n", self.config.name]
        if subprocess.run(["ip", "netns", "pids", name], capture_output=True).returncode == 0:
            self._netns_created = True
            self._kill_namespace_leftovers()
            subprocess.run(["ip", "netns", "del", name], check=False)
        _run(["ip", "netns", "add", name])
        self._netns_created = True
        _run([*ns, "link", "set", "lo", "up"])
        _run([*ns, "link", "add", "rcp0", "type", "veth", "peer", "name", "rcp1"])
        _run([*ns, "addr", "add", f"{self.config.address}/{self.config.prefix_len}", "dev", "rcp0"])
        _run([*ns, "link", "set", "rcp0", "up"])
        _run([*ns, "link", "set", "rcp1", "up"])

    def _start_redis(self, timeout: float) -> None:
        binary = find_binary("redis-server", self.config.bin_dirs)
        self.spawn("redis", [str(binary), str(self.run_dir / "redis.conf")])
        cli = shutil.which("redis-cli") or "redis-cli"
        ping = [cli, "-h", self.config.address, "-p", str(self.config.redis_port), "ping"]
        self._wait("redis", timeout, lambda: _output(self.wrap(ping)).strip() == "PONG")

    def _start_server(self, timeout: float) -> None:
        binary = find_stack_binary("livekit-server", self.config.bin_dirs)
        self.spawn("livekit-server", [str(binary), "--config", str(self.run_dir / "livekit.yaml")])
        url = f"http://{self.config.address}:{self.config.http_port}/"
        self._wait("livekit-server", timeout, lambda: self.http_get(url)[0] == 200)

    def _start_sip(self, timeout: float) -> None:
        binary = find_binary("livekit-sip", self.config.bin_dirs)
        self.spawn("livekit-sip", [str(binary), "--config", str(self.run_dir / "sip.yaml")])
        url = f"http://{self.config.address}:{self.config.sip_health_port}/"
        self._wait("livekit-sip", timeout, lambda: self.http_get(url)[0] in SIP_HEALTHY_STATUSES)

    def _wait(self, name: str, timeout: float, ready: object) -> None:
        """Polls `ready()` until true; fails fast with the log's tail if the process died."""
        proc = next(p for n, p in reversed(self._procs) if n == name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"{name} exited ({proc.returncode}):\n{self._tail(name)}")
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise StackError(f"{name} not ready after {timeout:.0f}s:\n{self._tail(name)}")

    def _tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- leftovers from a run that was killed before it could clean up ------------------------

    def _write_pids(self) -> None:
        """Records `<pid> <start time>` per live process, after a `boot <id>` line.

        A pid alone is not an identity: once the process is gone the kernel hands the number
        to another one. The start time (clock ticks since boot) and the boot id pin it down.
        """
        lines = [f"boot {_boot_id()}"]
        for _, proc in self._procs:
            started = _start_time(proc.pid) if proc.poll() is None else None
            if started is not None:
                lines.append(f"{proc.pid} {started}")
        (self.run_dir / "pids").write_text("\n".join(lines) + "\n")

    def _kill_recorded_pids(self) -> None:
        """Stops the process groups an earlier, killed run of this stack recorded, and only
        those: a pid is killed only while the process holding it is the one recorded (same
        boot, same start time). Lines without a start time (older files) are ignored."""
        path = self.run_dir / "pids"
        if not path.exists():
            return
        lines = [line.split() for line in path.read_text().splitlines()]
        path.unlink()
        if not lines or lines[0] != ["boot", _boot_id()]:
            return
        for fields in lines[1:]:
            if len(fields) != 2 or not all(f.isdigit() for f in fields):
                continue
            pid, started = int(fields[0]), int(fields[1])
            if pid <= 1 or _start_time(pid) != started:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def _kill_namespace_leftovers(self) -> None:
        """Stops processes still inside this stack's own namespace (started by its users)."""
        pids = _output(["ip", "netns", "pids", self.config.name]).split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def _start_time(pid: int) -> int | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _run(argv: Sequence[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _output(argv: Sequence[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _stop(proc: subprocess.Popen[bytes], name: str, grace: float = 5.0) -> None:
    """SIGTERM to the process group, then SIGKILL after a grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def _detect_host_address() -> str:
    """The first non-loopback IPv4 address (what `livekit-server --dev` would advertise)."""
    out = _output(["ip", "-4", "-o", "addr", "show", "scope", "global"])
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    raise StackError("no non-loopback IPv4 address found: pass --host ADDRESS")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m receptionist.ops.stack",
        description="Run Redis, livekit-server and livekit-sip locally until Ctrl-C.",
    )
    parser.add_argument("--name", default="rcp-stack", help="namespace / run folder name")
    parser.add_argument("--address", default="10.77.0.1", help="address inside the namespace")
    parser.add_argument(
        "--host",
        nargs="?",
        const="auto",
        help="run on the host (no namespace, no root), advertising this address",
    )
    return parser.parse_args(argv)


def _config_from_args(args: argparse.Namespace) -> StackConfig:
    if args.host:
        address = _detect_host_address() if args.host == "auto" else args.host
        return StackConfig(name=args.name, netns=False, address=address)
    return StackConfig(name=args.name, address=args.address)


# A worker started from the env file counts its load in calls, not CPU. LiveKit's default load
# is the host's CPU use, and a 2-core laptop running the server, the bridge, the worker and an
# IDE sits at 0.74-0.80, over LOAD_THRESHOLD's 0.7: the server then dispatches nothing and the
# first call rings unanswered. Two calls at once is what a developer's machine is for.
DEVELOPER_MAX_CALLS = 2


def developer_env(stack: LocalStack) -> dict[str, str]:
    """What a developer's shell needs for this stack: its LIVEKIT_* settings, and MAX_CALLS
    so a busy machine still answers its first call (DEVELOPER_MAX_CALLS)."""
    return {**stack.env(), "MAX_CALLS": str(DEVELOPER_MAX_CALLS)}


def _write_env_file(stack: LocalStack) -> Path:
    """Writes developer_env to a private file developers can `source`."""
    path = stack.run_dir / "env"
    text = "".join(f"export {k}={v}\n" for k, v in developer_env(stack).items())
    # Created private (it holds the API secret), never readable by others even for a moment.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    path.chmod(0o600)  # a file left by an older run keeps its old mode through O_TRUNC
    return path


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turns SIGTERM into KeyboardInterrupt so `kill` tears the stack down like Ctrl-C."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the stack in the foreground until interrupted; always tears it down."""
    config = _config_from_args(_parse_args(argv))
    stack = LocalStack(config)
    with signals_raise():
        try:
            stack.start()
            env_file = _write_env_file(stack)
            where = f"ip netns exec {config.name} " if config.netns else ""
            print(f"stack up: LiveKit {config.livekit_url}, SIP {config.sip_uri_host}")
            print(f"settings: source {env_file}")
            print(f"run the agent: source {env_file} && {where}uv run agent.py start")
            print("Ctrl-C to stop.")
            while all(p.poll() is None for _, p in stack._procs):
                time.sleep(1)
            print("a stack process exited; see", stack.run_dir, file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        except StackError as exc:
            print(f"stack failed: {exc}", file=sys.stderr)
            return 1
        finally:
            stack.close()


if __name__ == "__main__":
    sys.exit(main())
