"""Accounts and audit (admins): add, reset, deactivate, roles, the last admin kept; the audit log
of who viewed or changed which patient's data. And `receptionist staff add` making a working
account."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from typer.testing import CliRunner

from receptionist.ops.cli import app as cli
from tests.support.web import PASSWORD, Rig, add_user, post_login, sign_in

NEW_PASSWORD = "a brand new passphrase"


async def post(client, path: str, csrf: str, **fields: str):
    return await client.post(path, data={"csrf_token": csrf, **fields})


async def user_id(rig: Rig, username: str) -> str:
    user = await rig.store.staff.staff_user_named(username)
    assert user is not None
    return user.id


async def test_an_admin_adds_an_account_that_can_sign_in(admin_client, rig):
    client, csrf = admin_client
    added = await post(
        client, "/accounts", csrf, username="Desk.1", full_name="Front Desk", role="staff",
        password=PASSWORD, password2=PASSWORD,
    )  # fmt: skip
    assert (
        added.status_code == 303 and added.headers["location"] == "/accounts?notice=account_added"
    )
    page = await client.get("/accounts")
    assert "desk.1" in page.text and "Front Desk" in page.text
    async with rig.client_for() as desk:
        assert (await post_login(desk, "desk.1", PASSWORD)).status_code == 303
    refused = {
        "differ": {"password2": "something else entirely"},
        "at least 12 characters": {"password": "short", "password2": "short"},
        "username is 2 to 60": {"username": "bad name!"},
        "role must be one of": {"role": "owner"},
    }
    for expected, change in refused.items():
        fields = {"username": "other", "full_name": "Other Person", "role": "staff",
                  "password": PASSWORD, "password2": PASSWORD, **change}  # fmt: skip
        response = await post(client, "/accounts", csrf, **fields)
        assert response.status_code == 400 and expected in response.text, expected
    taken = await post(
        client, "/accounts", csrf, username="desk.1", full_name="Again", role="staff",
        password=PASSWORD, password2=PASSWORD,
    )  # fmt: skip
    assert taken.status_code == 409 and "taken" in taken.text


async def test_reset_deactivate_and_role_changes_take_effect_at_once(admin_client, rig):
    client, csrf = admin_client
    await add_user(rig.store)
    maria = await user_id(rig, "maria")
    async with rig.client_for() as browser:
        await sign_in(browser)
        async with rig.client_for("10.1.1.1") as elsewhere:  # maria locks herself out
            for _ in range(5):
                await post_login(elsewhere, "maria", "wrong wrong wrong")
        assert (await rig.store.staff.staff_user(maria)).locked_until is not None
        reset = await post(
            client, f"/accounts/{maria}/password", csrf, password=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )  # fmt: skip
        assert reset.headers["location"] == "/accounts?notice=password_reset"
        assert (await browser.get("/today")).status_code == 303  # signed out everywhere
        assert (await post_login(browser, "maria", PASSWORD)).status_code == 401
        assert (await post_login(browser, "maria", NEW_PASSWORD)).status_code == 303  # unlocked
        promoted = await post(client, f"/accounts/{maria}/role", csrf, role="admin")
        assert promoted.status_code == 303
        assert (await browser.get("/accounts")).status_code == 200
        deactivated = await post(client, f"/accounts/{maria}/active", csrf, active="no")
        assert deactivated.headers["location"] == "/accounts?notice=account_deactivated"
        assert (await browser.get("/today")).status_code == 303
        assert (await post_login(browser, "maria", NEW_PASSWORD)).status_code == 401
        await post(client, f"/accounts/{maria}/active", csrf, active="yes")
        assert (await post_login(browser, "maria", NEW_PASSWORD)).status_code == 303


async def test_the_practice_always_keeps_an_admin(admin_client, rig):
    client, csrf = admin_client
    boss = await user_id(rig, "boss")
    for path, fields in ((f"/accounts/{boss}/active", {"active": "no"}),
                         (f"/accounts/{boss}/role", {"role": "staff"})):  # fmt: skip
        refused = await post(client, path, csrf, **fields)
        assert refused.status_code == 400 and "your own account" in refused.text
    await add_user(rig.store, "second", role="admin", full_name="Second Admin")
    second = await user_id(rig, "second")
    assert (await post(client, f"/accounts/{second}/role", csrf, role="staff")).status_code == 303
    user = await rig.store.staff.staff_user(boss)
    assert user.active and user.role == "admin"


async def test_the_audit_log_says_who_saw_or_changed_which_patient(admin_client, rig):
    client, csrf = admin_client
    ann, _ = await rig.store.appointments.register_patient(
        "lakeside", "Ann Lee", date(1980, 2, 29), "unknown"
    )
    bob, _ = await rig.store.appointments.register_patient(
        "lakeside", "Bob Stone", date(1975, 6, 1), "unknown"
    )
    await rig.store.records.add_message(
        practice_id="lakeside", caller_name="Ann Lee", callback_number="+14145550123",
        reason="call me", patient_id=ann.id,
    )  # fmt: skip
    await client.get("/messages")
    await client.get("/book", params={"patient": bob.id})
    page = await client.get("/audit")
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)[1:]
    assert any("viewed messages" in r and "Ann Lee" in r and "boss" in r for r in rows)
    assert any("viewed patient" in r and "Bob Stone" in r for r in rows)
    assert any("signed in" in r for r in rows)
    about_ann = await client.get("/audit", params={"patient": ann.id})
    assert "Only entries about <strong>Ann Lee</strong>" in about_ann.text
    assert "Bob Stone" not in about_ann.text.split("Only entries about")[1]


async def test_receptionist_staff_add_creates_a_working_account(rig, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    runner = CliRunner()

    def run(*args: str, input: str):
        return runner.invoke(cli, list(args), input=input)

    made = await asyncio.to_thread(
        run, "staff", "add", "Owner", "--name", "Dr. Owner", "--role", "admin",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Account owner (admin) created" in made.output and PASSWORD not in made.output
    user = await rig.store.staff.staff_user_named("owner")
    assert user.role == "admin" and user.password_hash.startswith("$argon2id$")
    assert (await post_login(rig.client, "owner", PASSWORD)).status_code == 303
    assert (await rig.client.get("/accounts")).status_code == 200

    mismatch = await asyncio.to_thread(
        run, "staff", "add", "desk", "--name", "Desk", input=f"{PASSWORD}\nsomething else\n"
    )
    assert mismatch.exit_code == 1 and "differ" in mismatch.output
    piped = await asyncio.to_thread(
        run, "staff", "add", "desk", "--name", "Desk", "--password-stdin", input=f"{PASSWORD}\n"
    )
    assert piped.exit_code == 0 and (await rig.store.staff.staff_user_named("desk")).role == "staff"
    again = await asyncio.to_thread(
        run, "staff", "add", "desk", "--name", "Desk", "--password-stdin", input=f"{PASSWORD}\n"
    )
    assert again.exit_code == 1 and "already an account named desk" in again.output
    assert (
        "--password "
        not in (await asyncio.to_thread(run, "staff", "add", "--help", input="")).output
    )
    listed = await asyncio.to_thread(run, "staff", "list", input="")
    assert "owner" in listed.output and "admin" in listed.output
    reset = await asyncio.to_thread(
        run, "staff", "set-password", "desk", "--password-stdin", input=f"{NEW_PASSWORD}\n"
    )
    assert reset.exit_code == 0
    async with rig.client_for() as desk:
        assert (await post_login(desk, "desk", NEW_PASSWORD)).status_code == 303


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(rig, monkeypatch):
    """Both pages have decided to make their change before either writes it (the two requests
    meet at a barrier in front of the store), as happens when two admins click together."""
    await add_user(rig.store, "boss", role="admin", full_name="Dr. Boss")
    await add_user(rig.store, "second", role="admin", full_name="Second Admin")
    boss, second = await user_id(rig, "boss"), await user_id(rig, "second")
    together = asyncio.Barrier(2)
    update = rig.store.staff.update_staff_user

    async def update_together(user_id: str, **values: object) -> bool:
        async with asyncio.timeout(30):
            await together.wait()
        return await update(user_id, **values)

    async with rig.client_for() as one, rig.client_for() as two:
        csrf_one, csrf_two = await sign_in(one, "boss"), await sign_in(two, "second")
        monkeypatch.setattr(rig.store.staff, "update_staff_user", update_together)
        answers = await asyncio.gather(
            post(one, f"/accounts/{second}/role", csrf_one, role="staff"),
            post(two, f"/accounts/{boss}/role", csrf_two, role="staff"),
        )
    assert sorted(r.status_code for r in answers) == [303, 400]
    [refused] = [r for r in answers if r.status_code == 400]
    assert "This is the last active admin: make another admin first." in refused.text
    admins = [u for u in await rig.store.staff.staff_users() if u.role == "admin" and u.active]
    assert len(admins) == 1
