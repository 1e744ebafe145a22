"""`receptionist staff`: accounts for the staff web app, from the command line.

The first admin is created here (nobody can sign in to create them); after that admins manage
accounts in the app. A password is never a command-line argument (it would sit in the shell's
history and in `ps`): it is typed twice at a hidden prompt, or read from standard input with
`--password-stdin` for scripts.

    uv run receptionist staff add maria --name "Maria Santos" --role admin
    uv run receptionist staff add desk --name "Front desk" --password-stdin < password.txt
    uv run receptionist staff list
    uv run receptionist staff set-password maria       # also unlocks and re-activates
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from receptionist.domain.practice import PracticeDirectory
from receptionist.domain.text import clean_free_text
from receptionist.ops.staff import console, fail, literal, say, with_store
from receptionist.store import Store
from receptionist.store.models import NAME_LENGTH
from receptionist.store.staff import StaffUserExists
from receptionist.web.auth import AccountError, clean_username, hash_password, password_problem

app = typer.Typer(
    help="Staff web app accounts: add one (the first admin), list them, set a password.",
    no_args_is_help=True,
)


class Role(StrEnum):
    STAFF = "staff"
    ADMIN = "admin"


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at a hidden prompt; checked."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        repeated = None
    else:
        password = typer.prompt("Password (at least 12 characters)", hide_input=True)
        repeated = typer.prompt("The same password again", hide_input=True)
    if problem := password_problem(password, repeated):
        fail(problem)
    return password


def _username(raw: str) -> str:
    try:
        return clean_username(raw)
    except AccountError as exc:
        fail(str(exc))


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="What they type to sign in, e.g. maria.s")],
    name: Annotated[str, typer.Option("--name", help="Their full name, as staff know them.")],
    role: Annotated[
        Role, typer.Option(help="admin: also manages accounts and reads the audit log.")
    ] = Role.STAFF,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a staff account (the first one should be an admin)."""
    login = _username(username)
    full_name = clean_free_text(name, limit=NAME_LENGTH)
    if len(full_name) < 2:
        fail("--name is empty: give the person's full name.")
    password_hash = hash_password(read_password(password_stdin))

    async def create(store: Store, _: PracticeDirectory) -> str:
        now = datetime.now(UTC)
        try:
            user = await store.staff.add_staff_user(
                username=login,
                full_name=full_name,
                role=role.value,
                password_hash=password_hash,
                at=now,
            )
        except StaffUserExists:
            fail(f"There is already an account named {login}: choose another username.")
        await store.staff.audit(
            at=now,
            user_id=None,
            action="account_added",
            subject=f"user {user.id}",
            detail=f"role {role.value}, from the command line",
        )
        return user.id

    with_store(create)
    say(f"Account {login} ({role.value}) created: they can sign in to the staff app now.", "green")


@app.command("list")
def list_accounts() -> None:
    """The accounts, their roles and whether they can sign in."""

    async def load(store: Store, _: PracticeDirectory) -> list:
        return await store.staff.staff_users()

    users = with_store(load)
    if not users:
        say("No accounts yet: create the first admin with `receptionist staff add NAME "
            '--name "Full Name" --role admin`.')  # fmt: skip
        return
    now = datetime.now(UTC)
    table = Table("username", "name", "role", "status")
    for user in users:
        locked = user.locked_until is not None and user.locked_until > now
        status = "deactivated" if not user.active else ("locked" if locked else "active")
        table.add_row(literal(user.username), literal(user.full_name), literal(user.role),
                      literal(status))  # fmt: skip
    console.print(table)


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="The account's username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a new password; also lifts a lock-out, re-activates the account and signs it out
    everywhere (the way back in when the only admin is locked out or forgot theirs)."""
    login = _username(username)
    password_hash = hash_password(read_password(password_stdin))

    async def change(store: Store, _: PracticeDirectory) -> None:
        user = await store.staff.staff_user_named(login)
        if user is None:
            fail(f"There is no account named {login} (see `receptionist staff list`).")
        await store.staff.update_staff_user(user.id, password_hash=password_hash, active=True)
        await store.staff.close_user_sessions(user.id)
        await store.staff.audit(
            at=datetime.now(UTC),
            user_id=None,
            action="password_reset",
            subject=f"user {user.id}",
            detail="from the command line",
        )

    with_store(change)
    say(f"Password of {login} set; the account is active and unlocked.", "green")
