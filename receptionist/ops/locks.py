"""`receptionist locks`: the identity lock-outs staff can see and clear.

A name or caller number is locked when failed name-and-date-of-birth checks reach the practice's
`[identity]` limit within its window (see `receptionist.domain.verification`). Staff list the locks,
call the patient back to confirm who they are, then clear the lock.

    uv run receptionist locks list
    uv run receptionist locks clear --name "Ann Lee"
    uv run receptionist locks clear --number "+1 414 555 0123"
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from receptionist.domain.phone import UNKNOWN, mask, normalize
from receptionist.domain.practice import PracticeDirectory
from receptionist.ops.staff import console, fail, literal, say, with_store
from receptionist.store import Lock, Store, name_key

app = typer.Typer(help="Identity lock-outs: list them, clear one after calling the patient back.")


def _shown(lock: Lock) -> str:
    """A lock as staff read it: a name's match key, or a number masked to its last digits."""
    return lock.key if lock.what == "name" else mask(lock.key)


@app.command("list")
def list_locks() -> None:
    """Names and numbers locked now (failed identity checks within each practice's window)."""

    async def work(store: Store, directory: PracticeDirectory) -> list[tuple[Lock, int]]:
        found: list[tuple[Lock, int]] = []
        now = datetime.now(UTC)
        for practice in directory:
            policy = practice.identity
            locks = await store.identity.identity_locks(
                since=now - policy.window, limit=policy.max_failures, practice_id=practice.id
            )
            found += [(lock, policy.max_failures) for lock in locks]
        return found

    found = with_store(work)
    if not found:
        say("No identity locks.")
        return
    table = Table("practice", "locked", "failed checks", "last attempt (UTC)")
    for lock, limit in found:
        table.add_row(
            literal(lock.practice_id),
            literal(f"{lock.what} {_shown(lock)}"),
            literal(f"{lock.failures} (limit {limit})"),
            literal(f"{lock.last_at:%Y-%m-%d %H:%M}"),
        )
    console.print(table)


@app.command("clear")
def clear(
    name: Annotated[str, typer.Option(help="The patient's name as they gave it.")] = "",
    number: Annotated[str, typer.Option(help="The caller's number (any usual spelling).")] = "",
    practice_id: Annotated[str, typer.Option("--practice", help="Practice id; default: all.")] = "",
) -> None:
    """Forget the failed checks of a name and/or from a number, lifting the lock."""
    if not name.strip() and not number.strip():
        fail("Give --name and/or --number: which lock to clear.")

    async def work(store: Store, directory: PracticeDirectory) -> int:
        cleared = 0
        for practice in directory:
            if practice_id and practice.id != practice_id:
                continue
            caller = normalize(number, practice.region) if number.strip() else ""
            if number.strip() and caller == UNKNOWN:
                raise typer.BadParameter(f"{number!r} is not a phone number: write +14145550123")
            cleared += await store.identity.clear_identity_failures(
                practice.id, name_key=name_key(name) if name.strip() else "", caller=caller
            )
        return cleared

    cleared = with_store(work)
    say(f"Cleared {cleared} failed identity checks.")
