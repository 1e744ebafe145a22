"""`[practice.texts]`: off by default, the practice's number as sender, minimum health information
by default, quiet hours past midnight, and every mistake named with its key and fix."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from receptionist.domain.practice import PracticeError, parse_practice
from receptionist.domain.texts import QuietHours, TextProvider
from receptionist.paths import REPO_ROOT


def _example(texts: dict[str, Any] | None, **practice: Any) -> dict[str, Any]:
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    data["practice"].update(practice)
    if texts is not None:
        data["practice"]["texts"] = texts
    return data


def _problems(texts: dict[str, Any], **practice: Any) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice(_example(texts, **practice))
    return str(caught.value)


def test_texts_are_off_by_default_and_on_with_the_practices_number_as_sender():
    assert parse_practice(_example(None)).texts.enabled is False
    texts = parse_practice(_example({"enabled": True, "provider": "Telnyx"})).texts
    assert texts.provider is TextProvider.TELNYX
    assert texts.sender == "+14145550100"  # practice.toml's phone, in E.164
    assert texts.confirmations and not texts.details and texts.stop_ends_reminder_calls
    assert "{visit}" not in texts.templates.booked  # no procedure names unless opted in
    other = parse_practice(_example({"enabled": True, "sender": "(414) 555-0177"})).texts
    assert other.sender == "+14145550177"


@pytest.mark.parametrize(
    ("texts", "says"),
    [
        ({"provider": "sinch"}, "texts.provider: 'sinch' is not a text provider: write \"twilio\""),
        ({"enabled": True, "sender": "555-01"}, "texts.sender: '555-01' is not a complete"),
        ({"quiet_hours": ["21:00"]}, "texts.quiet_hours: Value error, ['21:00'] is not a range"),
        ({"quiet_hours": ["25:00", "08:00"]}, "is not a time"),
        ({"templates": {"booked": "See you {when} for your {procedure}"}}, "uses {procedure}"),
        ({"templates": {"help": "Call {phone"}}, "texts.templates.help: is not a template"),
        ({"templates": {"help": "  "}}, "texts.templates.help: is empty"),
        ({"per_number_per_hour": 0}, "texts.per_number_per_hour"),
        ({"enable": True}, "texts.enable: is not a known field"),
    ],
)
def test_each_mistake_names_the_key_and_the_fix(texts: dict[str, Any], says: str):
    assert says.replace("Value error, ", "") in _problems(texts)


def test_texts_without_any_number_say_where_to_set_one():
    assert "set `phone` or `sender" in _problems({"enabled": True}, phone="")


def test_quiet_hours_run_past_midnight_in_the_practices_zone():
    quiet = QuietHours.model_validate(["21:00", "08:00"])
    zone = ZoneInfo("America/Chicago")
    assert quiet.quiet(time(22)) and quiet.quiet(time(7, 59)) and not quiet.quiet(time(8))
    evening = datetime(2027, 3, 1, 22, 30, tzinfo=zone)
    assert quiet.next_allowed(evening, zone) == datetime(2027, 3, 2, 8, 0, tzinfo=zone)
    early = datetime(2027, 3, 2, 6, 0, tzinfo=zone)
    assert quiet.next_allowed(early, zone) == datetime(2027, 3, 2, 8, 0, tzinfo=zone)
    noon = datetime(2027, 3, 2, 18, 0, tzinfo=UTC)  # 12:00 in Chicago
    assert quiet.next_allowed(noon, zone) == noon
