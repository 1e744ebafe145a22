"""`sip explain`: every code the issue names has causes and fixes; lookups are forgiving."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from receptionist.ops.sip.cli import app
from receptionist.ops.sip.explain import explain, known_codes

REQUIRED = ["403", "404", "407", "408", "480", "486", "488", "503", "603", "no_rule_matched",
            "object cannot be found", "media timeout"]  # fmt: skip


@pytest.mark.parametrize("code", REQUIRED)
def test_every_required_code_has_causes_and_fixes(code):
    entry = explain(code)
    assert entry is not None and entry.code == code
    assert entry.causes and entry.fixes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SIP 486 Busy Here", "486"),
        ("sip status: 603 (Decline)", "603"),
        ("twirp error unknown: object cannot be found", "object cannot be found"),
        ("no rule matched", "no_rule_matched"),
        ("  No_Rule_Matched ", "no_rule_matched"),
        ("media-timeout", "media timeout"),
        ("call dropped: RTP timeout", "media timeout"),
    ],
)
def test_codes_are_found_inside_error_lines(text, code):
    entry = explain(text)
    assert entry is not None and entry.code == code


def test_unknown_codes_return_none():
    assert explain("299") is None
    assert explain("something else") is None


def test_603_points_at_refer_being_disabled():
    assert any("REFER" in cause for cause in explain("603").causes)


def test_cli_prints_causes_and_fixes_and_fails_on_unknown():
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "404"])
    assert result.exit_code == 0
    assert "likely causes" in result.output and "E.164" in result.output
    unknown = runner.invoke(app, ["explain", "999"])
    assert unknown.exit_code == 2
    assert known_codes()[0] in unknown.output


def test_486_on_an_inbound_call_points_at_the_agent_not_joining():
    entry = explain("486")
    assert any("no agent joined" in cause for cause in entry.inbound)
    assert any("AGENT_NAME" in cause for cause in entry.inbound)
    result = CliRunner().invoke(app, ["explain", "486", "--direction", "inbound"])
    assert result.exit_code == 0 and "on an inbound call" in result.output
    assert "on a transfer call" not in result.output


@pytest.mark.parametrize("code", ["480", "486", "603"])
def test_common_codes_say_what_they_mean_in_each_direction(code):
    assert set(explain(code).by_direction()) == {"inbound", "outbound", "transfer"}
