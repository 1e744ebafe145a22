"""The local outbox: messages and call records kept on disk while the database is down.

One JSON file per record, written atomically (temp file + rename), so concurrent worker processes
never interleave writes and a crash never leaves half a record. Each record carries the UUID it was
given during the call; flushing inserts with "on conflict do nothing" and deletes the file only
after the commit, so a record is never lost and never written twice, even if a flush is
interrupted between the commit and the delete.
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

    def put(self, kind: str, values: dict[str, Any]) -> Path:
        """Keeps a record on disk; its `id` must already be set (it is the idempotency key)."""
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, not {kind!r}")
        if not values.get("id"):
            raise ValueError("outbox records need a client-generated `id`")
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{kind}-{values['id']}.json"
        payload = json.dumps({"kind": kind, "values": values}, default=_default)
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
        log.warning("database unavailable: %s %s kept in the local outbox", kind, values["id"])
        return final

    def pending(self) -> list[Pending]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            if path.name.startswith(".tmp-"):
                continue
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
        failed.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process dealt with it meanwhile
            os.replace(path, failed / path.name)

    def __len__(self) -> int:
        return len(self.pending())

    def __bool__(self) -> bool:  # an empty outbox is still an outbox
        return True
