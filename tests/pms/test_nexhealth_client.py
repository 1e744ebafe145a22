"""The NexHealth client against the strict simulator: the token exchange and its renewal, the
version header, the envelope, paging, and 429s honoured with their Retry-After."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from receptionist import logs
from receptionist.pms.books import nexhealth_client
from receptionist.pms.nexhealth.client import (
    TOKEN_MARGIN,
    NexHealthClient,
    RateLimited,
    Refused,
    ServerError,
    Unauthorized,
)
from tests.conversation.book_support import practice_book
from tests.support.nexhealth import Location, nexhealth_location, nh_settings
from tests.support.nexhealth_sim import API_KEY, LOCATION_ID


@pytest.fixture
async def location(tmp_path: Path) -> AsyncIterator[Location]:
    async with practice_book(tmp_path) as store, nexhealth_location(store) as location:
        yield location


class Clock:
    """The client's wall clock, moved by the test (token lifetimes are an hour)."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_the_key_is_exchanged_once_for_a_token_every_request_then_shares(location):
    client = location.book.client
    first = await client.get_all("providers", location_id=LOCATION_ID)
    await client.get_all("operatories", location_id=LOCATION_ID)
    assert [p["id"] for p in first] == [201, 202, 203, 204, 205]
    assert location.sim.authentications == 1 == client.authentications
    assert not location.sim.unknown_params


async def test_a_token_near_its_expiry_is_renewed_before_the_request(location):
    clock = Clock()
    client = NexHealthClient(
        location.practice.book.nexhealth,
        api_key=API_KEY,
        base_url=location.sim.base_url,
        clock=clock,
    )
    try:
        await client.get("locations/101")
        clock.now += location.sim.token_seconds - TOKEN_MARGIN + 1  # the JWT's exp is near
        await client.get("locations/101")
        assert location.sim.authentications == 2
        assert [m for m, p, s in location.sim.log if s == 401] == []  # never sent a stale one
    finally:
        await client.aclose()


async def test_a_token_refused_early_is_renewed_and_the_request_repeated_once(location):
    client = location.book.client
    await client.get("locations/101")
    location.sim.expire_tokens()  # revoked (or an hour passed) before its exp said
    data = await client.get("locations/101")
    assert data["id"] == LOCATION_ID and location.sim.authentications == 2
    statuses = [s for m, p, s in location.sim.log if p.startswith("/locations")]
    assert statuses == [200, 401, 200]


async def test_a_wrong_key_is_unauthorized_not_retried_forever(location):
    client = nexhealth_client(nh_settings(location.sim.base_url, "revoked"), location.practice)
    try:
        with pytest.raises(Unauthorized):
            await client.get("locations/101")
        assert [p for m, p, s in location.sim.log] == ["/authenticates"]
    finally:
        await client.aclose()


async def test_the_version_header_is_sent_and_the_simulator_insists_on_it(location):
    import httpx

    async with httpx.AsyncClient(base_url=location.sim.base_url) as raw:
        answer = await raw.post("/authenticates", headers={"Authorization": API_KEY})
    assert answer.status_code == 400 and answer.json()["code"] is False
    assert "Nex-Api-Version" in answer.json()["error"][0]
    await location.book.client.get("locations/101")  # ours passes


async def test_a_429_waits_its_retry_after_and_is_sent_again(location):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = NexHealthClient(
        location.practice.book.nexhealth,
        api_key=API_KEY,
        base_url=location.sim.base_url,
        sleep=sleep,
    )
    try:
        location.sim.fault("GET", "/providers", status=429, retry_after="0.25", times=2)
        rows = await client.get_all("providers", location_id=LOCATION_ID)
        assert len(rows) == 5 and waits == [0.25, 0.25]
        # A wait longer than a call can spend (rate_limit_wait_seconds = 0.5) is not waited.
        location.sim.fault("GET", "/providers", status=429, retry_after="30")
        with pytest.raises(RateLimited) as limited:
            await client.get_all("providers", location_id=LOCATION_ID)
        assert limited.value.retry_after == 30 and waits == [0.25, 0.25]
    finally:
        await client.aclose()


async def test_lists_are_read_page_by_page_until_the_count(location):
    for i in range(60):
        location.sim.add_patient(f"Many{i}", "Pages", "1990-01-01")
    rows = await location.book.client.get_all("patients", location_id=LOCATION_ID, name="Pages")
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60
    pages = [p for m, p, s in location.sim.log if p.startswith("/patients")]
    assert ["page=1" in pages[0], "page=2" in pages[1], len(pages)] == [True, True, 2]


async def test_a_refusal_carries_nexhealths_reasons(location):
    with pytest.raises(Refused) as refused:
        await location.book.client.request(
            "POST", "appointments", params={"location_id": LOCATION_ID}, json={"appt": {}}
        )
    assert refused.value.status == 400
    assert "appt.patient_id is required" in refused.value.detail


async def test_neither_the_key_nor_the_token_nor_patient_details_reach_the_logs(location, caplog):
    logs.install("INFO")
    caplog.set_level(logging.DEBUG)
    client = location.book.client
    await client.get_all("patients", location_id=LOCATION_ID, name="Ann Lee")
    location.sim.expire_tokens()
    location.sim.fault("GET", "/patients", status=503)
    with pytest.raises(ServerError):
        await client.get_all("patients", location_id=LOCATION_ID, name="Ann Lee")
    bad = nexhealth_client(nh_settings(location.sim.base_url, "revoked"), location.practice)
    with pytest.raises(Unauthorized):
        await bad.get("locations/101")
    await bad.aclose()
    text = caplog.text
    assert "nexhealth refused the API key (401)" in text and "HTTP 503" in text
    for secret in (API_KEY, client._token, "Bearer", "Ann", "Lee", "name="):
        assert secret not in text, secret
