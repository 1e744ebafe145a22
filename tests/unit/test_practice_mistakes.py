"""Every practice.toml mistake a newcomer made names the field as they wrote it, what was
expected and an example, and what people write naturally is simply accepted."""

from __future__ import annotations

from datetime import time

import pytest

from receptionist.domain.practice import PracticeError, parse_practice
from tests.support.profiles import BASE


def _problems(**changes) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice({**BASE, **changes})
    return str(caught.value)


def test_times_written_without_a_leading_zero_are_accepted():
    practice = parse_practice({**BASE, "hours": {"monday": [["8:00", "17:00"]]}})
    assert practice.hours.monday[0].start == time(8)


def test_a_time_that_is_not_a_time_says_how_to_write_one():
    text = _problems(hours={"monday": [["8am", "17:00"]]})
    assert "practice.hours.monday[0]" in text and '"HH:MM"' in text and '"17:30"' in text


def test_a_single_interval_for_a_day_is_one_interval():
    practice = parse_practice({**BASE, "hours": {"monday": ["08:00", "17:00"]}})
    assert [(s.start, s.end) for s in practice.hours.monday] == [(time(8), time(17))]


def test_a_closure_date_in_the_wrong_format_names_the_key_the_user_wrote():
    text = _problems(closures=[{"date": "26/11/2026", "reason": "Thanksgiving"}])
    assert "practice.closures[0]" in text and "date = '26/11/2026'" in text
    assert "YYYY-MM-DD" in text and "2026-11-26" in text
    assert "start" not in text


def test_a_short_phone_number_names_the_field_and_shows_an_example():
    text = _problems(phone="555-0100")
    assert "phone: '555-0100' is not a complete phone number for region US" in text
    assert "+14145550100" in text


def test_a_staff_number_written_locally_is_accepted_as_e164():
    practice = parse_practice({**BASE, "transfers": {"staff": "(414) 555-0101"}})
    assert practice.transfers.staff == "tel:+14145550101"


def test_an_invalid_tel_number_is_called_invalid_not_badly_formatted():
    text = _problems(transfers={"staff": "tel:+15550000000"})
    assert "is not a valid phone number" in text and "must be tel:" not in text


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://hooks.example.com/dental", "hooks.example.com"),
        ("http://192.168.1.20:8080/hook", "192.168.1.20"),
        ("http://127.0.0.1@hooks.example.com/", "hooks.example.com"),  # the host is after the @
        ("http://localhost.example.com/", "localhost.example.com"),
    ],
)
def test_a_plain_http_webhook_to_another_host_is_refused_with_the_fix(url, host):
    """With details = true a notification carries the caller's name and number: plain http may
    only stay on this machine."""
    text = _problems(notifications={"webhook": url, "details": True})
    assert f"practice.notifications.webhook: is http:// to {host}" in text
    assert "unencrypted" in text and "use https://" in text


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/dental",
        "http://localhost:8080/hook",
        "http://127.0.0.1:9000/",
        "http://127.8.0.1/",
        "http://[::1]:8080/hook",
    ],
)
def test_https_and_plain_http_to_this_machine_are_accepted(url):
    practice = parse_practice({**BASE, "notifications": {"webhook": url}})
    assert practice.notifications.webhook == url


@pytest.mark.parametrize(
    ("url", "why"),
    [("ftp://hooks.example.com/", "must be an https:// URL"), ("https://", "names no host")],
)
def test_a_webhook_that_is_not_an_https_url_with_a_host_is_refused(url, why):
    assert f"practice.notifications.webhook: {why}" in _problems(notifications={"webhook": url})
