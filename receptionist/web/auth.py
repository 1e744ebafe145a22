"""Staff accounts and signing in: Argon2 passwords, lock-out, per-client throttling, sessions.

This app shows health data, so signing in is deliberately strict:
- passwords are Argon2id hashes (argon2-cffi's defaults, re-hashed when those change);
- an unknown username, a wrong password, a locked and a deactivated account get the same answer
  after the same work (a password check against a dummy hash), so the form reveals nothing;
- `MAX_FAILURES` wrong passwords lock the account for `LOCK_FOR` (per account, in the database,
  so every app process agrees), and one client address gets `ClientThrottle.limit` failures per
  window whichever usernames it tries (in memory: a guessing script is slowed, not recorded);
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
    """Checks a sign-in, counting failures and locking the account at `MAX_FAILURES`.

    The password is checked in every case (a dummy hash for unknown usernames), so the time
    taken does not tell an unknown username from a wrong password or a locked account."""
    try:
        name = clean_username(username)
    except AccountError:
        name = ""
    user = await store.staff_user_named(name) if name else None
    stored = user.password_hash if user is not None else _dummy_hash()
    ok, rehash = await asyncio.to_thread(_verify, stored, password or "")
    if user is None:
        return SignInResult(None, "unknown username")
    if not user.active:
        return SignInResult(None, "deactivated account", user.id)
    if user.locked_until is not None and user.locked_until > now:
        return SignInResult(None, "account locked", user.id)
    if not ok:
        locked = await store.login_failed(
            user.id, now=now, max_failures=MAX_FAILURES, lock_until=now + LOCK_FOR
        )
        why = "wrong password, account locked" if locked else "wrong password"
        return SignInResult(None, why, user.id)
    await store.login_succeeded(user.id, password_hash=rehash)
    return SignInResult(user, "signed in", user.id)


class ClientThrottle:
    """Failed sign-ins per client address within a sliding window, in memory.

    Generous enough for an office behind one address (`limit` failures per `window`), tight
    enough to stop a script guessing across many usernames, which the per-account lock-out
    alone would not notice. At most `max_clients` addresses are remembered (oldest dropped)."""

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

    def failed(self, client: str, now: datetime) -> None:
        times = self._recent(client, now)
        times.append(now)
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)


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
