"""Fixtures for the notification tests: the store on SQLite and PostgreSQL (the store tests' own
fixtures), a test CA, a real SMTP server, a real webhook receiver, and settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.settings import Settings
from tests.notify.rigs import SmtpRig, WebhookReceiver
from tests.notify.support import SECRET, make_settings, practice_with
from tests.support.store_fixtures import (  # noqa: F401  (fixtures: pytest finds them by name)
    db_url,
    outbox,
    pg_server,
    sqlite_template,
    store,
)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[SmtpRig]:
    rig = SmtpRig(ca)
    rig.start()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    rig = WebhookReceiver(SECRET)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


@pytest.fixture
def settings(smtp: SmtpRig, ca_file: Path) -> Settings:
    return make_settings(smtp, ca_file)


@pytest.fixture
def practice(receiver: WebhookReceiver) -> Practice:
    return practice_with(receiver)


@pytest.fixture
def directory(practice: Practice) -> PracticeDirectory:
    return PracticeDirectory([practice])
