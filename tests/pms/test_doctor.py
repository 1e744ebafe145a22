"""`receptionist pms doctor` against the simulator: a practice can be set up from its output."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app
from receptionist.paths import REPO_ROOT
from receptionist.pms.doctor import diagnose
from receptionist.pms.opendental.client import OpenDentalClient
from tests.conversation.book_support import practice_book
from tests.support.opendental import MAPPING, Office, od_practice, opendental_office
from tests.support.opendental_sim import CUSTOMER_KEY, DEV_KEY


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with practice_book(tmp_path) as store, opendental_office(store) as office:
        yield office


def client(office: Office, practice=None, customer_key: str = CUSTOMER_KEY) -> OpenDentalClient:
    practice = practice or office.practice
    return OpenDentalClient(
        practice.book.opendental, developer_key=DEV_KEY, customer_key=customer_key
    )


async def test_a_mapped_office_is_ready_and_the_unmapped_are_listed(office):
    c = client(office)
    found = await diagnose(office.practice, c)
    await c.aclose()
    text = "\n".join(found.lines)
    assert found.ok, found.problems
    assert "3 HYG1 Maria Santos, hygienist: -> maria-santos" in text
    assert "4 HYG2 Priya Shah, hygienist: not mapped" in text
    assert "Prophy" in text and "visit type checkup: Prophy, pattern /XXXXXXXXXX/" in text


async def test_a_refused_key_and_wrong_mapping_each_name_the_fix(office):
    c = client(office, customer_key="wrong")
    refused = await diagnose(office.practice, c)
    await c.aclose()
    assert "refused the keys (401)" in refused.problems[0]
    assert "OPENDENTAL_CUSTOMER_KEY" in refused.problems[0]
    wrong = od_practice(
        office.sim.base_url,
        providers={**MAPPING["providers"], "dr-lindqvist": 5},  # a hidden (retired) provider
        operatories=[3, 9],
        visit_types={**MAPPING["visit_types"], "filling": {"appointment_type": 42}},
    )
    c = client(office, wrong)
    found = await diagnose(wrong, c)
    await c.aclose()
    problems = "\n".join(found.problems)
    assert "providers.dr-lindqvist = 5: Retired Doc is hidden" in problems
    assert "operatories: 9 is not a visible operatory" in problems
    assert "visit_types.filling.appointment_type = 42" in problems


def _profile_on(tmp_path: Path, base_url: str) -> Path:
    """practice.toml's example with the Open Dental table a practice would add."""
    example = (REPO_ROOT / "practice.toml").read_text(encoding="utf-8")
    path = tmp_path / "practice.toml"
    path.write_text(
        example
        + f"""
[practice.book]
kind = "opendental"
[practice.book.opendental]
door = "local"
base_url = "{base_url}"
providers = {{ dr-okafor = 1, dr-lindqvist = 2, maria-santos = 3 }}
[practice.book.opendental.visit_types]
checkup = {{ appointment_type = 1, pattern = "/XXXXXXXXXX/" }}
""",
        encoding="utf-8",
    )
    return path


async def test_the_command_reads_only_what_a_practice_sets(office, monkeypatch, tmp_path):
    monkeypatch.setenv("PRACTICE_FILE", str(_profile_on(tmp_path, office.sim.base_url)))
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.delenv("OPENDENTAL_CUSTOMER_KEY", raising=False)
    monkeypatch.setenv("OPENDENTAL_DEVELOPER_KEY", DEV_KEY)
    missing = await asyncio.to_thread(CliRunner().invoke, app, ["pms", "doctor"])
    assert missing.exit_code == 1 and "OPENDENTAL_CUSTOMER_KEY is not set" in missing.output
    monkeypatch.setenv("OPENDENTAL_CUSTOMER_KEY", CUSTOMER_KEY)
    ready = await asyncio.to_thread(CliRunner().invoke, app, ["pms", "doctor"])
    assert ready.exit_code == 0, ready.output
    assert "lakeside: ready" in ready.output and "Priya Shah, hygienist: not mapped" in ready.output
