"""The built worker image, from the test's side: build it, run commands and the worker in it.

scripts/image.sh builds the image from the Dockerfile as it ships (buildah; a stand-in base where
no registry is reachable). Here: whether it is there (`missing`), build or refresh it (`build`),
a working container made from it (`Container`: `buildah from`, `buildah run`, `buildah rm`), and
the `SpeechServer` the container's voice double asks for speech (tests/support/image_providers.py).

Containers run with `buildah run --isolation chroot --network host` (what works on our machines,
docs/deploy.md "The image"): the container shares the network namespace it is started in, so a
worker started in a test "host" namespace (tests/e2e/fleet.py's Host) is one more machine on the
stack's LAN.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socketserver
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.paths import REPO_ROOT
from tests.support.e2e_providers import speak

BUILDAH = ["buildah", "--storage-driver", "vfs"]
IMAGE_SCRIPT = REPO_ROOT / "scripts" / "image.sh"
BUILD_FIX = "bash scripts/image.sh"


def image_name() -> str:
    """The tag scripts/image.sh builds (IMAGE, else its default): the script is the one place."""
    result = subprocess.run(
        ["bash", str(IMAGE_SCRIPT), "--name"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def missing(name: str) -> str | None:
    """Why the image cannot be used here, or None when it is in buildah's storage."""
    if shutil.which("buildah") is None:
        return f"buildah is not installed: run `{BUILD_FIX}` (it installs buildah, then builds)"
    found = subprocess.run([*BUILDAH, "inspect", "--type", "image", name], capture_output=True)
    if found.returncode != 0:
        return f"the worker image {name} is not built: run `{BUILD_FIX}`"
    return None


def build(log: Path) -> subprocess.CompletedProcess[str]:
    """Runs scripts/image.sh (a no-op in a second when the image is up to date); output in `log`."""
    with open(log, "w") as out:
        result = subprocess.run(
            ["bash", str(IMAGE_SCRIPT)], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            text=True, check=False,
        )  # fmt: skip
    return result


def image_config(name: str) -> dict:
    """The image's OCI config (Cmd, User, Env, Labels, ...)."""
    out = subprocess.run(
        [*BUILDAH, "inspect", "--type", "image", name], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)["OCIv1"]["config"]


@dataclass(frozen=True)
class Mount:
    host: Path
    inside: str
    read_only: bool = False

    def option(self) -> str:
        return f"{self.host}:{self.inside}" + (":ro" if self.read_only else "")


@dataclass
class Container:
    """A working container made from the image; `remove()` (or leaving `with`) deletes it."""

    id: str
    mounts: list[Mount] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def of(cls, image: str) -> Iterator[Container]:
        made = subprocess.run(
            [*BUILDAH, "from", "--pull-never", image], capture_output=True, text=True, check=True
        )
        container = cls(made.stdout.strip().splitlines()[-1])
        try:
            yield container
        finally:
            container.remove()

    def set_env(self, env: dict[str, str]) -> None:
        """The container's environment: the image's, plus these (nothing of the test's own)."""
        argv = [*BUILDAH, "config"]
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        subprocess.run([*argv, self.id], check=True, capture_output=True)

    def run_argv(self, command: Sequence[str]) -> list[str]:
        """The command line that runs `command` in the container, as the image's user, in its
        working directory, on the network namespace it is started in."""
        argv = [*BUILDAH, "run", "--isolation", "chroot", "--network", "host"]
        for mount in self.mounts:
            argv += ["--volume", mount.option()]
        return [*argv, self.id, "--", *command]

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.run_argv(command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def remove(self) -> None:
        subprocess.run([*BUILDAH, "rm", self.id], capture_output=True, check=False)


class _SpeechHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = json.loads(self.rfile.readline())
        pcm, rate = asyncio.run(speak(request["text"]))
        self.wfile.write(f"{rate}\n".encode() + pcm)


class SpeechServer:
    """Speaks sentences with espeak-ng for the voice double in the container, over a Unix socket
    in `folder` (mount `folder` into the container; `path` is the socket)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        self.path = folder / "speech.sock"
        self.path.unlink(missing_ok=True)
        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), _SpeechHandler)
        os.chmod(self.path, 0o777)  # the container's unprivileged user connects to it
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SpeechServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)
