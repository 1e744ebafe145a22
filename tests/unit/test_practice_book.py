"""`[practice.book]`: the built-in book by default, Open Dental with an explicit mapping, and
every mistake named with its fix (at load and in the start-up checks)."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from receptionist.domain.books import BookKind
from receptionist.domain.practice import PracticeError, parse_practice
from receptionist.paths import REPO_ROOT
from receptionist.pms.books import key_problems
from receptionist.settings import load_settings
from tests.support.opendental import MAPPING


def _example(book: dict[str, Any] | None) -> dict[str, Any]:
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    if book is not None:
        data["practice"]["book"] = book
    return data


def _od(**changes: Any) -> dict[str, Any]:
    return {"kind": "opendental", "opendental": {**MAPPING, **changes}}


def _problems(book: dict[str, Any]) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice(_example(book))
    return str(caught.value)


def test_the_builtin_book_is_the_default_and_needs_nothing():
    practice = parse_practice(_example(None))
    assert practice.book.kind is BookKind.BUILTIN and practice.book.opendental is None
    assert key_problems(load_settings(_env_file=None), [practice]) == []


def test_open_dental_remote_is_https_to_api_opendental_com():
    practice = parse_practice(_example(_od()))
    assert practice.book.opendental.url == "https://api.opendental.com/api/v1"


@pytest.mark.parametrize(
    ("book", "says"),
    [
        ({"kind": "dentrix"}, '"builtin"'),
        ({"kind": "opendental"}, "[practice.book.opendental]"),
        (_od(door="service"), "API Service's address"),
        (_od(base_url="http://od-server.lan:30223/api/v1"), "unencrypted"),
        (_od(providers={"dr-okafor": 1, "dr-lindqvist": 2}), "maria-santos has no ProvNum"),
        (_od(providers={**MAPPING["providers"], "dr-who": 9}), "no provider has this id"),
        (_od(visit_types={"checkup": {"pattern": "XXXX"}}), "lasts 20 minutes"),
        (_od(visit_types={"checkup": {"pattern": "xx--"}}), "not an Open Dental pattern"),
        (_od(visit_types={"whitening": {}}), "no visit type has this id"),
    ],
)
def test_each_mistake_names_the_field_and_the_fix(book, says):
    assert says in _problems(book)


def test_keys_never_in_the_file_and_a_missing_one_is_named_at_start_up():
    # Not a known field: keys live in the environment only.
    assert "opendental.customer_key: is not a known field" in _problems(_od(customer_key="abc"))
    practice = parse_practice(_example(_od()))
    problems = key_problems(load_settings(_env_file=None, opendental_developer_key="d"), [practice])
    assert len(problems) == 1 and "OPENDENTAL_CUSTOMER_KEY is not set" in problems[0]
    assert "lakeside" in problems[0] and "Advanced Setup > API" in problems[0]
