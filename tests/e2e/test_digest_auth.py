"""A trunk with digest credentials: `sip setup` switches the trunk in place, the bridge challenges
an INVITE without (or with wrong) credentials and the call with the right ones reaches the agent."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.rig import PRACTICE_NUMBER, Provisioning, Worker
from tests.support.sipcall import Caller, voiced_frames, write_silence_ulaw

pytestmark = pytest.mark.e2e

USER = "lakeside-trunk"
PASSWORD = secrets.token_urlsafe(18)
CHALLENGES = (401, 407)


@pytest.fixture
def digest_trunk(provisioning: Provisioning, sip_cli) -> Iterator[None]:
    """Credentials instead of the address allow-list, then back (other tests share the trunk)."""
    env = {"SIP_AUTH_USERNAME": USER, "SIP_AUTH_PASSWORD": PASSWORD, "SIP_ALLOWED_ADDRESSES": ""}
    switched = sip_cli("setup", "--json", env=env)
    try:
        assert switched.returncode == 0, switched.stdout + switched.stderr
        assert PASSWORD not in switched.stdout + switched.stderr, "setup printed the password"
        trunk = switched.json()["plan"]["steps"][0]
        assert (trunk["action"], trunk["object_id"]) == ("update", provisioning.legacy["trunk_id"])
        changed = {c["name"]: c for c in trunk["changes"]}
        assert changed["auth_password"]["after"] == "(changed)"
        yield
    finally:
        restored = sip_cli("setup", "--json")
        assert restored.returncode == 0, restored.stdout + restored.stderr


def _caller(stack, folder: Path, n: int, auth: tuple[str, str] | None) -> Caller:
    caller = Caller(stack, folder, sip_port=5090 + n, media_port=16200 + 4 * n, auth=auth)
    folder.mkdir(parents=True, exist_ok=True)
    write_silence_ulaw(folder / "caller.ulaw")
    return caller


def test_credentials_are_required_and_accepted(
    digest_trunk: None, worker: Worker, stack, tmp_path: Path
):
    anonymous = _caller(stack, tmp_path / "anonymous", 0, None)
    result = anonymous.call("listen_then_hang_up.xml", PRACTICE_NUMBER, "4145550123",
                            timeout_s=15, listen_ms="1000")  # fmt: skip
    assert any(result.received(code) for code in CHALLENGES), result.log
    assert not result.received(200)

    wrong = _caller(stack, tmp_path / "wrong", 1, (USER, PASSWORD + "x"))
    result = wrong.call("authenticated_call.xml", PRACTICE_NUMBER, "4145550123",
                        timeout_s=15, listen_ms="1000")  # fmt: skip
    assert len(result.sent("INVITE")) == 2, result.log
    assert not result.received(200), "a wrong password must not get through"

    worker.wait_ready_for_call()
    right = _caller(stack, tmp_path / "right", 2, (USER, PASSWORD))
    result = right.call("authenticated_call.xml", PRACTICE_NUMBER, "4145550123",
                        timeout_s=60, listen_ms="4000")  # fmt: skip
    assert result.returncode == 0, result.log
    assert result.received(200) and voiced_frames(result.rtp), "agent did not answer"
