"""A throwaway PostgreSQL cluster for tests and benchmarks (initdb + pg_ctl in a temp dir).

Listens only on a unix socket inside its own directory, trusts local connections and is removed on
stop. Running as root, the server runs as the `postgres` system user (PostgreSQL refuses root).
Nothing here is used by the receptionist at run time.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PORT = 5432  # only names the socket file; nothing listens on TCP


class ClusterUnavailable(RuntimeError):
    """PostgreSQL binaries are missing or the cluster would not start; says how to fix it."""


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class TempCluster:
    def __init__(self) -> None:
        self.initdb = find_bin("initdb")
        self.pg_ctl = find_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise ClusterUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
                "(Debian: apt-get install postgresql) or set TEST_POSTGRES_URL to a server"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="receptionist-pg-"))
        self.data = self.directory / "data"
        self.user = "postgres"
        self._runas: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable(
                    "running as root needs a `postgres` system user to run the server"
                ) from None
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            runuser = shutil.which("runuser")
            self._runas = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._runas and self._runas[0] == "su":
            command = [*self._runas, " ".join(command)]
        elif self._runas:
            command = [*self._runas, *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> str:
        """Starts the cluster; returns an asyncpg URL for the `postgres` database."""
        result = self._run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if result.returncode:
            raise ClusterUnavailable(f"initdb failed: {result.stderr.strip()[-400:]}")
        options = (
            f"-k {self.directory} -c listen_addresses='' -p {PORT} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        result = self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode:
            log = (
                (self.directory / "log").read_text(errors="replace")[-600:]
                if (self.directory / "log").exists()
                else result.stderr
            )
            raise ClusterUnavailable(f"pg_ctl start failed: {log.strip()}")
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@/{database}?host={self.directory}&port={PORT}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def asyncpg_kwargs(url: str) -> dict:
    """asyncpg.connect() arguments for a SQLAlchemy URL (unix-socket `?host=` included)."""
    from receptionist.store.engine import normalize_url

    parsed = normalize_url(url)
    kwargs: dict = {
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }
    kwargs["host"] = parsed.query.get("host") or parsed.host
    port = parsed.query.get("port") or parsed.port
    if port:
        kwargs["port"] = int(port)
    return {k: v for k, v in kwargs.items() if v is not None}
