"""Sign-in guesses sent in parallel, through the real app: they get no more password checks than
guesses sent one after another (the account's lock-out and the address's throttle count each
attempt before its password is checked), and the right password sent behind them does not
sign in.

Most tests hold every password check at a gate until all the requests are in flight, so the
race the attack used (all checks running at once, none counted yet) happens every time rather
than when the machine's timing allows. The gate wraps the real Argon2 check, which still runs.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from receptionist.store.models import AuditEntry, StaffSession
from receptionist.web import auth
from receptionist.web.auth import LOCK_FOR, MAX_FAILURES
from tests.support.web import PASSWORD, Rig, add_user

WRONG = 25
WAIT_S = 60.0  # how long a stuck test waits before failing (never reached when it works)


class Gate:
    """Wraps `auth._verify` (the Argon2 check, run in a thread): counts the checks, notes which
    hash each was against, and holds them all until `open()`."""

    def __init__(self, verify: Callable[[str, str], tuple[bool, str | None]]) -> None:
        self._verify = verify
        self._lock = threading.Lock()
        self._open = threading.Event()
        self.hashes: list[str] = []

    def __call__(self, stored: str, password: str) -> tuple[bool, str | None]:
        with self._lock:
            self.hashes.append(stored)
        if not self._open.wait(WAIT_S):
            raise TimeoutError("the gate was never opened")
        return self._verify(stored, password)

    @property
    def arrived(self) -> int:
        with self._lock:
            return len(self.hashes)

    def open(self) -> None:
        self._open.set()


@pytest.fixture
async def gate(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gate]:
    gate = Gate(auth._verify)
    monkeypatch.setattr(auth, "_verify", gate)
    # Every held check occupies a thread: more than the default executor's few.
    pool = ThreadPoolExecutor(max_workers=WRONG + 8, thread_name_prefix="argon2")
    asyncio.get_running_loop().set_default_executor(pool)
    try:
        yield gate
    finally:
        gate.open()
        pool.shutdown(wait=True)


async def until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not done():
            await asyncio.sleep(0.01)


async def form_token(client: httpx.AsyncClient) -> str:
    """The sign-in form's token (and its cookie, kept by the client): one per browser, reused
    by every attempt, as a script reusing one form would."""
    page = await client.get("/login")
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def attempt(client: httpx.AsyncClient, token: str, password: str) -> asyncio.Task:
    form = {"login_token": token, "username": "maria", "password": password}
    return asyncio.ensure_future(client.post("/login", data=form))


async def sessions(rig: Rig) -> list[StaffSession]:
    async with rig.store.sessions.session(write=False) as s:
        return list(await s.scalars(select(StaffSession)))


async def failures_audited(rig: Rig) -> list[str]:
    async with rig.store.sessions.session(write=False) as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_failed"))
        return sorted(e.detail for e in rows)


async def assert_locked_after_five_checks(rig: Rig, gate: Gate, password_hash: str) -> None:
    user = await rig.store.staff.staff_user_named("maria")
    assert user is not None
    assert user.locked_until == rig.clock.now + LOCK_FOR
    assert gate.hashes.count(password_hash) == MAX_FAILURES  # the others: the dummy hash
    assert await sessions(rig) == []


async def test_parallel_guesses_from_many_addresses_stop_at_the_lock_out(rig, gate):
    """The account's lock-out alone (each guess from its own address, so no throttle): the
    right password arrives while 25 wrong ones are being checked."""
    user = await add_user(rig.store)
    clients = [rig.client_for(f"10.0.0.{i}") for i in range(WRONG + 1)]
    try:
        tokens = [await form_token(c) for c in clients]
        wrong = [attempt(c, t, f"wrong guess number {i}") for i, (c, t) in
                 enumerate(zip(clients[:-1], tokens[:-1], strict=True))]  # fmt: skip
        await until(lambda: gate.arrived == WRONG)  # all 25 in flight, none checked yet
        right = attempt(clients[-1], tokens[-1], PASSWORD)
        await until(lambda: gate.arrived == WRONG + 1)
        gate.open()
        answers = await asyncio.gather(*wrong, right)
    finally:
        for c in clients:
            await c.aclose()

    assert [r.status_code for r in answers] == [401] * (WRONG + 1)  # nothing signed in
    await assert_locked_after_five_checks(rig, gate, user.password_hash)
    assert await failures_audited(rig) == sorted(
        ["wrong password"] * (MAX_FAILURES - 1)
        + ["wrong password, account locked"]
        + ["account locked"] * (WRONG + 1 - MAX_FAILURES)
    )


async def test_parallel_guesses_from_one_address_are_throttled_and_lock_the_account(rig, gate):
    """One address: its 20 attempts are taken before any password is checked, the rest
    (the right password among them) are throttled."""
    user = await add_user(rig.store)
    limit = rig.web.throttle.limit
    token = await form_token(rig.client)
    wrong = [attempt(rig.client, token, f"wrong guess number {i}") for i in range(WRONG)]
    await until(lambda: gate.arrived + sum(t.done() for t in wrong) == WRONG)
    right = attempt(rig.client, token, PASSWORD)
    await until(lambda: gate.arrived + sum(t.done() for t in [*wrong, right]) == WRONG + 1)
    gate.open()
    answers = [r.status_code for r in await asyncio.gather(*wrong, right)]

    assert answers == [401] * limit + [429] * (WRONG - limit) + [429]
    assert gate.arrived == limit  # throttled attempts check no password at all
    await assert_locked_after_five_checks(rig, gate, user.password_hash)


async def test_all_at_once_from_one_address_nothing_signs_in(rig, monkeypatch):
    """The attack as it was sent: 25 wrong passwords and then the right one in one burst, the
    real Argon2 checks running as they come (no gate)."""
    user = await add_user(rig.store)
    checked: list[str] = []
    verify = auth._verify

    def counting(stored: str, password: str) -> tuple[bool, str | None]:
        checked.append(stored)
        return verify(stored, password)

    monkeypatch.setattr(auth, "_verify", counting)
    token = await form_token(rig.client)
    passwords = [f"wrong guess number {i}" for i in range(WRONG)] + [PASSWORD]
    answers = await asyncio.gather(*(attempt(rig.client, token, p) for p in passwords))

    assert 303 not in {r.status_code for r in answers}
    assert await sessions(rig) == []
    locked = await rig.store.staff.staff_user_named("maria")
    assert locked is not None and locked.locked_until == rig.clock.now + LOCK_FOR
    assert checked.count(user.password_hash) <= MAX_FAILURES
    assert len(checked) <= rig.web.throttle.limit


async def test_a_signed_in_attempt_gives_its_throttle_slot_back(rig):
    """Reserving before the check must not make successful sign-ins count as failures."""
    await add_user(rig.store)
    rig.web.throttle.limit = 2
    for _ in range(5):  # five browsers at one front desk (one address) sign in
        async with rig.client_for() as desk:
            assert (await attempt(desk, await form_token(desk), PASSWORD)).status_code == 303
    token = await form_token(rig.client)
    assert (await attempt(rig.client, token, "wrong wrong wrong")).status_code == 401
    assert (await attempt(rig.client, token, PASSWORD)).status_code == 303
