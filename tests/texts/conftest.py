"""Fixtures for the text tests: the store on SQLite and PostgreSQL, both providers' simulators on
loopback, and settings pointing at them as a practice's would point at the real services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from receptionist.settings import Settings, load_settings
from tests.support.store_fixtures import (  # noqa: F401  (fixtures: pytest finds them by name)
    db_url,
    outbox,
    pg_server,
    sqlite_template,
    store,
)
from tests.support.telnyx_sim import TelnyxSim
from tests.support.twilio_sim import TwilioSim
from tests.texts.support import PRACTICE_NUMBER


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioSim]:
    sim = TwilioSim(numbers={PRACTICE_NUMBER})
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def telnyx() -> AsyncIterator[TelnyxSim]:
    sim = TelnyxSim(numbers={PRACTICE_NUMBER})
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def settings(twilio: TwilioSim, telnyx: TelnyxSim) -> Settings:
    return load_settings(
        _env_file=None,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_api_url=twilio.base_url,
        telnyx_api_key=telnyx.api_key,
        telnyx_public_key=telnyx.public_key,
        telnyx_api_url=telnyx.base_url,
        staff_app_url="https://staff.example-dental.test",
    )
