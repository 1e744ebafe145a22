"""The local outbox: messages and call records kept on disk while the database is down.

One JSON file per record, written atomically (temp file + rename), so concurrent worker processes
never interleave writes and a crash never leaves half a record. Each record carries the UUID it was
given during the call; flushing inserts with "on conflict do nothing" and deletes the file only
after the commit, so a record is never lost and never written twice, even if a flush is
interrupted between the commit and the delete.

The folder is created owner-only (0700) and each file is 0600: records hold callers' names, numbers
and what they said. A folder that cannot keep records (OUTBOX_DIR naming a file, a folder this user
cannot write, a full disk) raises `OutboxError` naming the folder and the fix; start-up runs
`Outbox.check` so that is found before a call needs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("message", "call")
FOLDER_MODE = 0o700
FIX = "set OUTBOX_DIR to a folder this user can write (default: outbox/ in the repository)"


class OutboxError(RuntimeError):
    """The outbox folder cannot keep records; the message names the folder and the fix."""


@dataclass(frozen=True)
class Pending:
    path: Path
    kind: str
    values: dict[str, Any]


def _default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the outbox")


class Outbox:
    def __init__(self, directory: Path) -> None:
        """`directory`: the `OUTBOX_DIR` setting (default `outbox/` in the repository)."""
        self.directory = Path(directory)

    def check(self) -> None:
        """Makes sure the folder can keep records: creates it (0700) if missing, then writes and
        removes a probe file. Raises `OutboxError` naming the folder and the fix."""
        self._ensure_folder()
        try:
            fd, probe = tempfile.mkstemp(dir=self.directory, prefix=".probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise self._error("cannot be written to", exc) from exc

    def put(self, kind: str, values: dict[str, Any]) -> Path:
        """Keeps a record on disk; its `id` must already be set (it is the idempotency key).
        Raises `OutboxError` when the folder cannot keep it."""
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, not {kind!r}")
        if not values.get("id"):
            raise ValueError("outbox records need a client-generated `id`")
        payload = json.dumps({"kind": kind, "values": values}, default=_default)
        self._ensure_folder()
        final = self.directory / f"{kind}-{values['id']}.json"
        try:
            self._write(final, payload)
        except OSError as exc:
            raise self._error(f"could not keep a {kind} record", exc) from exc
        log.warning("database unavailable: %s %s kept in the local outbox", kind, values["id"])
        return final

    def _write(self, final: Path, payload: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _ensure_folder(self) -> None:
        if self.directory.exists() and not self.directory.is_dir():
            raise OutboxError(
                f"the outbox folder {self.directory} (OUTBOX_DIR) is a file, not a folder: move "
                f"that file away, or {FIX}"
            )
        try:
            self.directory.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error("cannot be created", exc) from exc

    def _error(self, what: str, exc: OSError) -> OutboxError:
        reason = exc.strerror or type(exc).__name__
        return OutboxError(
            f"the outbox folder {self.directory} (OUTBOX_DIR) {what} ({reason}): give this user "
            f"the right to write there, or {FIX}"
        )

    def _files(self) -> list[Path]:
        """The record files waiting, oldest name first (none if the folder was never made)."""
        if not self.directory.exists():
            return []
        if not self.directory.is_dir():
            self._ensure_folder()  # raises: a file where the folder should be
        try:
            names = sorted(os.listdir(self.directory))
        except OSError as exc:
            raise self._error("cannot be read", exc) from exc
        return [self.directory / n for n in names if n.endswith(".json") and n[0] != "."]

    def counts(self) -> dict[str, int]:
        """How many records of each kind wait, from the file names alone (cheap enough for a
        metrics scrape: nothing is read or parsed); every kind is present."""
        found = dict.fromkeys(KINDS, 0)
        for path in self._files():
            kind = path.name.partition("-")[0]
            if kind in found:
                found[kind] += 1
        return found

    def pending(self) -> list[Pending]:
        """Every record waiting; raises `OutboxError` if the folder cannot be read."""
        found = []
        for path in self._files():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append(Pending(path, data["kind"], data["values"]))
            except FileNotFoundError:
                continue  # another process flushed it meanwhile
            except (OSError, ValueError, KeyError, TypeError):
                log.error("unreadable outbox file %s: moved to failed/", path.name)
                self.quarantine(path)
        return found

    def quarantine(self, path: Path) -> None:
        """Moves a record the database will never take aside (staff can inspect `failed/`)."""
        failed = self.directory / "failed"
        failed.mkdir(mode=FOLDER_MODE, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process dealt with it meanwhile
            os.replace(path, failed / path.name)

    def __len__(self) -> int:
        return len(self.pending())

    def __bool__(self) -> bool:  # an empty outbox is still an outbox
        return True
