"""`[practice.book] kind = "nexhealth"`: the location, the explicit mapping, the key and address
from the settings, and every mistake named with its fix."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from receptionist.domain.books import BookKind
from receptionist.domain.practice import PracticeError, parse_practice
from receptionist.paths import REPO_ROOT
from receptionist.pms.books import key_problems
from receptionist.settings import SettingsError, load_settings
from tests.support.nexhealth import MAPPING


def _example(book: dict[str, Any]) -> dict[str, Any]:
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    data["practice"]["book"] = book
    return data


def _nh(**changes: Any) -> dict[str, Any]:
    table = {**MAPPING, **changes}
    return {"kind": "nexhealth", "nexhealth": {k: v for k, v in table.items() if v is not None}}


def _problems(book: dict[str, Any]) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice(_example(book))
    return str(caught.value)


def test_a_mapped_location_loads():
    practice = parse_practice(_example(_nh()))
    assert practice.book.kind is BookKind.NEXHEALTH
    config = practice.book.nexhealth
    assert config is not None and config.subdomain == "lakeside-dental"
    assert config.location_id == 101 and config.providers["maria-santos"] == 203


@pytest.mark.parametrize(
    ("book", "named", "fix"),
    [
        ({"kind": "nexhealth"}, "[practice.book.nexhealth]", "subdomain, location_id"),
        ({"kind": "dentrix"}, "'dentrix' is not a kind of book", '"nexhealth"'),
        (_nh(subdomain="Lakeside Dental!"), "subdomain", "letters, digits, hyphens"),
        (_nh(location_id=None), "practice.book.nexhealth.location_id", "is required"),
        (_nh(location_id=0), "location_id", "greater than 0"),
        (
            _nh(providers={"dr-okafor": 201, "dr-lindqvist": 202}),
            "book.nexhealth.providers: maria-santos has no NexHealth provider id",
            "pms doctor",
        ),
        (
            _nh(providers={**MAPPING["providers"], "dr-who": 9}),
            "book.nexhealth.providers.dr-who: no provider has this id",
            "use one of dr-lindqvist, dr-okafor, maria-santos",
        ),
        (_nh(visit_types={"scale": 401}), "book.nexhealth.visit_types.scale", "use one of"),
        (_nh(providers={**MAPPING["providers"], "dr-okafor": -1}), "dr-okafor", "1 or more"),
        # A key never lives in the file.
        (_nh(api_key="x"), "nexhealth.api_key", "not a known field"),
    ],
)
def test_a_broken_table_names_the_key_and_the_fix(book, named, fix):
    text = _problems(book)
    assert named in text and fix in text, text


def test_the_api_key_comes_from_the_environment_and_its_absence_is_named():
    practice = parse_practice(_example(_nh()))
    [problem] = key_problems(load_settings(_env_file=None), [practice])
    assert "NEXHEALTH_API_KEY is not set" in problem and "lakeside" in problem
    assert "developer portal" in problem and ".env" in problem
    ready = load_settings(_env_file=None, nexhealth_api_key="k")
    assert key_problems(ready, [practice]) == []


def test_the_base_url_is_https_except_to_this_machine():
    assert load_settings(_env_file=None).nexhealth_base_url == "https://nexhealth.info"
    assert (
        load_settings(_env_file=None, nexhealth_base_url="http://127.0.0.1:9/").nexhealth_base_url
        == "http://127.0.0.1:9"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, nexhealth_base_url="http://nexhealth.info")
    assert "NEXHEALTH_BASE_URL" in str(caught.value) and "use https://" in str(caught.value)
