"""Staff accounts and signing in: Argon2 passwords, lock-out, per-client throttling, sessions.

This app shows health data, so signing in is deliberately strict:
- passwords are Argon2id hashes (argon2-cffi's defaults, re-hashed when those change);
- an unknown username, a wrong password, a locked and a deactivated account get the same answer
  after the same work (a password check against a dummy hash), so the form reveals nothing;
- `MAX_FAILURES` wrong passwords lock the account for `LOCK_FOR` (per account, in the database,
  so every app process agrees), and one client address gets `ClientThrottle.limit` failures per
  window whichever usernames it tries (in memory: a guessing script is slowed, not recorded).
  Both count an attempt before its password is checked, so guesses sent in parallel get no
  more checks than guesses sent one after another;
- a session is a random token in a cookie; the book stores only its SHA-256, so a copy of the
  database signs nobody in. It ends at sign-out, after `WEB_IDLE_MINUTES` without activity, or
  `SESSION_MAX_AGE` after sign-in, whichever comes first.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from receptionist.store import Store
from receptionist.store.models import ADMIN, STAFF_ROLES, StaffSession, StaffUser

MAX_FAILURES = 5  # wrong passwords in a row before the account is locked
LOCK_FOR = timedelta(minutes=15)
SESSION_MAX_AGE = timedelta(hours=12)  # a working day: sign in again the next morning
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # Argon2 takes any length; a megabyte "password" is a denial of service
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
SIGN_IN_REFUSED = (
    "That username and password did not work. After 5 wrong passwords an account is locked for "
    "15 minutes; an admin can reset it."
)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A username, name, role or password the rules refuse; the message says what to change."""


def clean_username(raw: str) -> str:
    """Usernames are matched case-insensitively: stored lower-case."""
    username = (raw or "").strip().casefold()
    if not USERNAME.match(username):
        raise AccountError(
            "A username is 2 to 60 lower-case letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit (e.g. maria.s)."
        )
    return username


def check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise AccountError(f"The role must be one of: {', '.join(STAFF_ROLES)}.")
    return role


def password_problem(password: str, repeated: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length is what makes a password strong; no
    composition rules (they make passwords worse, NIST SP 800-63B)."""
    if repeated is not None and password != repeated:
        return "The two passwords differ: type the same password twice."
    if len(password) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters (a few words work well)."
    if len(password) > MAX_PASSWORD:
        return f"A password can have at most {MAX_PASSWORD} characters."
    if not password.strip():
        return "A password cannot be only spaces."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def hash_password_async(password: str) -> str:
    """Hashing takes tens of milliseconds of CPU: off the event loop, so pages keep serving."""
    return await asyncio.to_thread(hash_password, password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> tuple[bool, str | None]:
    """(matches, a fresh hash if the stored one uses outdated parameters)."""
    try:
        _hasher.verify(password_hash, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


@dataclass(frozen=True)
class SignInResult:
    """The account if the sign-in worked, and why not for the audit log (never shown)."""

    user: StaffUser | None
    why: str
    account_id: str | None = None


async def check_credentials(
    store: Store, username: str, password: str, *, now: datetime
) -> SignInResult:
    """Checks a sign-in against the account's lock-out, which is decided BEFORE the password.

    The store admits the attempt (counting it as a failure until the password proves right)
    or refuses it, atomically, so parallel guesses get `MAX_FAILURES` password checks in all,
    never one each, and a right password sent after the account locked does not sign in.
    The password is checked in every case (against a dummy hash when the attempt was refused
    or the username is unknown), so the time taken does not tell an unknown username from a
    wrong password or a locked or deactivated account."""
    try:
        name = clean_username(username)
    except AccountError:
        name = ""  # matches no account: the same work as an unknown username
    attempt = await store.staff.begin_sign_in(
        name, now=now, max_failures=MAX_FAILURES, lock_until=now + LOCK_FOR
    )
    user = attempt.user
    stored = user.password_hash if attempt.admitted and user is not None else _dummy_hash()
    ok, rehash = await asyncio.to_thread(_verify, stored, password or "")
    account_id = user.id if user is not None else None
    if user is None or attempt.refused:
        return SignInResult(None, attempt.refused or "unknown username", account_id)
    if not ok:
        why = "wrong password, account locked" if attempt.locks else "wrong password"
        return SignInResult(None, why, user.id)
    await store.staff.login_succeeded(user.id, password_hash=rehash)
    return SignInResult(user, "signed in", user.id)


class ClientThrottle:
    """Failed sign-ins per client address within a sliding window, in memory.

    Generous enough for an office behind one address (`limit` failures per `window`), tight
    enough to stop a script guessing across many usernames, which the per-account lock-out
    alone would not notice. At most `max_clients` addresses are remembered (oldest dropped).

    An attempt takes its slot (`reserve`) before its password is checked, counted as a failure
    until it proves right (`release`): checking and counting happen in one step on the event
    loop, so requests sent at once cannot all pass the check before any of them is counted."""

    def __init__(
        self,
        limit: int = 20,
        window: timedelta = timedelta(minutes=15),
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(client, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def blocked(self, client: str, now: datetime) -> bool:
        return len(self._recent(client, now)) >= self.limit

    def retry_after(self, client: str, now: datetime) -> timedelta:
        times = self._recent(client, now)
        return (times[0] + self.window - now) if times else timedelta(0)

    def reserve(self, client: str, now: datetime) -> datetime | None:
        """Takes a slot for one attempt (it counts as a failure from now on), or None when the
        address has used them all. Synchronous on purpose: no other request runs in between."""
        times = self._recent(client, now)
        if len(times) >= self.limit:
            return None
        times.append(now)
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        return now

    def release(self, client: str, slot: datetime) -> None:
        """Gives back a reserved slot: the attempt signed in (or never reached the check)."""
        times = self._failures.get(client)
        if times is not None and slot in times:
            times.remove(slot)


# --- sessions -----------------------------------------------------------------------------------


def new_token() -> str:
    """The cookie's value: 256 random bits."""
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    """What the book stores for a cookie token (its SHA-256): the token itself never leaves the
    browser and this process."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """The person signed in for this request."""

    user: StaffUser
    session: StaffSession

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.role == ADMIN

    @property
    def name(self) -> str:
        return self.user.full_name or self.user.username

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


def session_state(
    session: StaffSession, user: StaffUser, *, now: datetime, idle: timedelta
) -> str | None:
    """Why a stored session no longer signs anyone in ("idle", "expired", "inactive"), or None."""
    if not user.active:
        return "inactive"
    if now - session.last_seen_at >= idle:
        return "idle"
    if now - session.created_at >= SESSION_MAX_AGE:
        return "expired"
    return None
