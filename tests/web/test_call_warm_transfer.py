"""A warm transfer on the staff app's call page: its steps in one row (held, briefed, connected
or why not), next to the headline transfer summary."""

from __future__ import annotations

from tests.web.test_calls import call

AT = "2030-03-04T13:00:15+00:00"
CONNECTED = [
    {"at": "2030-03-04T13:00:05+00:00", "kind": "warm_transfer", "detail": "dialling the team"},
    {"at": "2030-03-04T13:00:07+00:00", "kind": "warm_transfer", "detail": "staff answered"},
    {"at": "2030-03-04T13:00:07+00:00", "kind": "warm_transfer", "detail": "staff briefed"},
    {"at": "2030-03-04T13:00:15+00:00", "kind": "warm_transfer", "detail": "staff agreed"},
    {"at": "2030-03-04T13:00:15+00:00", "kind": "transferred", "detail": ""},
    {"at": AT, "kind": "warm_transfer", "detail": "connected after 14 s on hold"},
]  # fmt: skip
DECLINED = [
    {"at": "2030-03-04T13:00:05+00:00", "kind": "warm_transfer", "detail": "dialling the team"},
    {"at": "2030-03-04T13:00:20+00:00", "kind": "warm_transfer", "detail": "declined by staff"},
    {"at": AT, "kind": "transfer_failed", "detail": "warm: declined by staff"},
    {"at": AT, "detail": "an event without a kind"},
]  # fmt: skip


async def test_a_connected_warm_transfer_shows_its_steps(staff_client, rig):
    client, _ = staff_client
    await call(rig, "warm", 5, outcome="transferred", outcomes=["transferred"], events=CONNECTED)
    html = (await client.get("/calls/warm")).text
    assert "<dt>Warm transfer</dt>" in html
    assert "staff briefed; staff agreed; connected after 14 s on hold" in html
    assert "put through" in html


async def test_a_declined_warm_transfer_says_so(staff_client, rig):
    client, _ = staff_client
    await call(rig, "no", 5, events=DECLINED)
    page = await client.get("/calls/no")
    assert page.status_code == 200
    assert "dialling the team; declined by staff" in page.text
    assert "failed: warm: declined by staff" in page.text


async def test_a_call_without_a_warm_transfer_has_no_such_row(staff_client, rig):
    client, _ = staff_client
    await call(rig, "cold", 5)
    assert "Warm transfer" not in (await client.get("/calls/cold")).text
