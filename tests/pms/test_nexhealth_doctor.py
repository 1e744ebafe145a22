"""`receptionist pms doctor` on a NexHealth location: the key, the location, what NexHealth has,
the mapping and everything unmapped, each problem with its fix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from receptionist.ops.cli import app
from receptionist.paths import REPO_ROOT
from receptionist.pms.books import nexhealth_client
from receptionist.pms.doctor import diagnose_nexhealth
from tests.conversation.book_support import practice_book
from tests.support.nexhealth import MAPPING, Location, nexhealth_location, nh_practice, nh_settings
from tests.support.nexhealth_sim import API_KEY


@pytest.fixture
async def location(tmp_path: Path) -> AsyncIterator[Location]:
    async with practice_book(tmp_path) as store, nexhealth_location(store) as location:
        yield location


async def _diagnose(location: Location, practice=None, key: str = API_KEY):
    practice = practice or location.practice
    client = nexhealth_client(nh_settings(location.sim.base_url, key), practice)
    try:
        return await diagnose_nexhealth(practice, client)
    finally:
        await client.aclose()


async def test_a_mapped_location_is_ready_and_the_unmapped_are_listed(location):
    found = await _diagnose(location)
    text = "\n".join(found.lines)
    assert found.ok, found.problems
    assert "subdomain lakeside-dental, location 101" in text
    assert "203 Maria Santos: -> maria-santos" in text
    assert "204 Priya Shah: not mapped" in text and "205 Retired Doc (inactive)" in text
    assert "305 Storage (inactive)" in text
    assert "visit type filling: Restorative" in text and "Prophy (60 min)" in text


async def test_a_refused_key_a_wrong_location_and_a_wrong_mapping_each_name_the_fix(location):
    refused = await _diagnose(location, key="rotated")
    assert "NexHealth refused the API key (401)" in refused.problems[0]
    assert "NEXHEALTH_API_KEY" in refused.problems[0]
    elsewhere = await _diagnose(location, nh_practice(location_id=999))
    assert (
        "book.nexhealth.location_id = 999: not a location of lakeside-dental"
        in (elsewhere.problems[0])
    )
    other = await _diagnose(location, nh_practice(subdomain="someone-else"))
    assert "subdomain 'someone-else' (403)" in other.problems[0]
    wrong = nh_practice(
        providers={**MAPPING["providers"], "dr-lindqvist": 205},
        operatories=[303, 305, 999],
        visit_types={**MAPPING["visit_types"], "filling": 42},
    )
    problems = "\n".join((await _diagnose(location, wrong)).problems)
    assert "providers.dr-lindqvist = 205: Retired Doc is inactive" in problems
    assert "operatories: 305 is not an active operatory" in problems
    assert "operatories: 999 is not an active operatory" in problems
    assert "visit_types.filling = 42: NexHealth has no such appointment type" in problems


def _profile(tmp_path: Path) -> Path:
    """practice.toml's example with the NexHealth table a practice would add."""
    path = tmp_path / "practice.toml"
    path.write_text(
        (REPO_ROOT / "practice.toml").read_text(encoding="utf-8")
        + """
[practice.book]
kind = "nexhealth"
[practice.book.nexhealth]
subdomain = "lakeside-dental"
location_id = 101
providers = { dr-okafor = 201, dr-lindqvist = 202, maria-santos = 203 }
visit_types = { checkup = 401 }
""",
        encoding="utf-8",
    )
    return path


async def test_the_command_reads_only_what_a_practice_sets(location, monkeypatch, tmp_path):
    monkeypatch.setenv("PRACTICE_FILE", str(_profile(tmp_path)))
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("NEXHEALTH_BASE_URL", location.sim.base_url)
    monkeypatch.delenv("NEXHEALTH_API_KEY", raising=False)
    missing = await asyncio.to_thread(CliRunner().invoke, app, ["pms", "doctor"])
    assert missing.exit_code == 1 and "NEXHEALTH_API_KEY is not set" in missing.output
    monkeypatch.setenv("NEXHEALTH_API_KEY", API_KEY)
    ready = await asyncio.to_thread(CliRunner().invoke, app, ["pms", "doctor"])
    assert ready.exit_code == 0, ready.output
    assert "lakeside: ready" in ready.output and "Priya Shah: not mapped" in ready.output
