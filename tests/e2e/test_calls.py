"""Real phone calls: sipp -> livekit-sip -> livekit-server -> the real agent.py worker.

Each call is a real SIP dialogue with real RTP; only the cloud STT/LLM/TTS are test doubles
(tests/support/e2e_providers.py: the TTS double speaks with espeak-ng). Provisioning is done by
`receptionist sip setup`, starting from a dispatch rule that an old script made without
`room_config`, which `receptionist sip doctor` must flag.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from receptionist.logs import redact
from receptionist.paths import REPO_ROOT
from tests.e2e.records import call_record
from tests.e2e.rig import (
    AGENT_NAME,
    E2E_DIR,
    PRACTICE_NUMBER,
    STAFF_DESTINATION,
    Provisioning,
    Worker,
    sip_log_fields,
)
from tests.support.sipcall import (
    Caller,
    SippResult,
    voiced_frames,
    write_silence_ulaw,
    write_speech_ulaw,
)

pytestmark = pytest.mark.e2e

# How the provider delivers the caller's number: national digits, no "+" and no country code.
CALLER_AS_SENT = "4145550123"
CALLER_E164 = "+14145550123"
# 20 ms PCMU frames: at least a second of audible agent speech must reach the caller.
MIN_VOICED_FRAMES = 50


# --- provisioning and diagnosis ------------------------------------------------------------------


def test_doctor_flags_rule_without_room_config_and_setup_repairs_it(provisioning: Provisioning):
    before = provisioning.doctor_before
    assert before.returncode == 1, before.stdout + before.stderr
    findings = before.json()["findings"]
    flagged = [f for f in findings if f["code"] == "rule-no-agent"]
    assert flagged and provisioning.legacy["rule_id"] in flagged[0]["subject"]
    assert all(f["severity"] == "error" for f in flagged)

    # The legacy objects carry names of their own: setup adopts them by what they do.
    legacy = provisioning.legacy
    setup_plan = provisioning.setup.json()["plan"]
    steps = {s["kind"]: s for s in setup_plan["steps"]}
    rule = steps["dispatch rule"]
    assert rule["action"] == "update", "setup must repair the rule in place, not recreate it"
    assert rule["object_id"] == legacy["rule_id"]
    assert rule["adopted"] == f"{legacy['rule_name']!r} [{legacy['rule_id']}]"
    assert rule["name"] != legacy["rule_name"]
    trunk = steps["inbound trunk"]
    assert trunk["object_id"] == legacy["trunk_id"]
    assert trunk["adopted"] == f"{legacy['trunk_name']!r} [{legacy['trunk_id']}]"
    notes = " ".join(setup_plan["notes"])
    assert f"adopted existing dispatch rule {rule['adopted']}" in notes
    assert f"adopted existing inbound trunk {trunk['adopted']}" in notes
    assert provisioning.setup.json()["problems"] == []

    after = provisioning.doctor_after
    assert after.returncode == 0, after.stdout + after.stderr
    assert after.json()["findings"] == []


def test_setup_is_idempotent(provisioning: Provisioning, sip_cli):
    dry = sip_cli("setup", "--dry-run", "--json")
    again = sip_cli("setup", "--json")
    assert dry.returncode == 0 and again.returncode == 0, again.stderr
    for run in (dry, again):
        steps = run.json()["plan"]["steps"]
        assert [s["action"] for s in steps] == ["unchanged", "unchanged"]
    ids = [s["object_id"] for s in again.json()["plan"]["steps"]]
    assert ids == [provisioning.legacy["trunk_id"], provisioning.legacy["rule_id"]]
    # Adopted once, then setup's own (renamed) objects: found by name, nothing adopted again.
    assert [s["adopted"] for s in again.json()["plan"]["steps"]] == ["", ""]
    assert again.json()["plan"]["notes"] == []


# --- calls ---------------------------------------------------------------------------------------


def say_goodbye(worker: Worker, caller: Caller) -> SippResult:
    """A call where the agent greets, the caller says goodbye and the agent ends the call."""
    workdir = caller.workdir
    speech = write_speech_ulaw("That is all I needed, thank you. Goodbye.", workdir / "s.ulaw")
    # Six seconds of silence let the greeting play uninterrupted, then the caller speaks.
    silence = bytes([0xFF]) * 8000
    (workdir / "caller.ulaw").write_bytes(silence * 6 + speech.read_bytes() + silence * 10)
    worker.wait_ready_for_call()
    return caller.call("agent_hangs_up.xml", PRACTICE_NUMBER, CALLER_AS_SENT, timeout_s=75)


@pytest.fixture(scope="module")
def goodbye_call(worker: Worker, stack, tmp_path_factory) -> SippResult:
    """One call: the agent greets, the caller says goodbye, the agent ends the call."""
    workdir: Path = tmp_path_factory.mktemp("goodbye-call")
    return say_goodbye(worker, Caller(stack, workdir, sip_port=5080, media_port=16100))


def test_call_is_answered_through_the_named_agent_rule(
    goodbye_call: SippResult, provisioning: Provisioning, worker: Worker, stack
):
    assert goodbye_call.received(200), f"never answered:\n{goodbye_call.log}"
    bridge = sip_log_fields(stack, goodbye_call.call_id)
    assert bridge.get("sipRule") == provisioning.rule_id, bridge
    room = bridge.get("room", "")
    assert room.startswith("call-"), bridge
    # The room is named after the caller's number; the worker's log masks it (`call-_***0123_x`).
    jobs = [j for j in worker.job_requests() if j.get("room") == redact(room)]
    assert jobs and jobs[0].get("agent_name") == AGENT_NAME, worker.job_requests()
    assert all(CALLER_AS_SENT not in json.dumps(j) for j in worker.job_requests())


def test_caller_hears_the_agent(goodbye_call: SippResult):
    voiced = voiced_frames(goodbye_call.rtp)
    assert len(goodbye_call.rtp) > 0, "no RTP reached the caller"
    assert len(voiced) >= MIN_VOICED_FRAMES, (
        f"only {len(voiced)} of {len(goodbye_call.rtp)} RTP frames at the caller carry sound"
    )


def test_agent_goodbye_hangs_up_the_caller(goodbye_call: SippResult):
    assert goodbye_call.returncode == 0, goodbye_call.log
    byes = goodbye_call.received("BYE")
    assert len(byes) == 1, "the agent's end-call must send exactly one BYE to the caller"
    assert not goodbye_call.sent("BYE"), "the caller must not be the one hanging up"
    answered = goodbye_call.received(200)[0].time
    assert (byes[0].time - answered).total_seconds() > 6, "hung up before the caller spoke"


def test_caller_number_is_recorded_as_e164(goodbye_call: SippResult, database_url: str):
    record = call_record(database_url, goodbye_call.call_id)
    assert record.caller == CALLER_E164
    assert record.dialled == PRACTICE_NUMBER


def test_the_call_record_keeps_how_long_the_caller_waited(
    goodbye_call: SippResult, database_url: str
):
    """The reply time stored with the record belongs to the goodbye the caller heard: the agent
    heard the caller stop after they stopped, and began its reply before the caller heard it."""
    record = call_record(database_url, goodbye_call.call_id)
    replies = (record.usage or {}).get("replies")
    assert replies, f"no reply times stored: {record.usage}"
    caller_stopped = max(p.time for p in voiced_frames(goodbye_call.sent_rtp)) + 0.02
    heard = min(p.time for p in voiced_frames(goodbye_call.rtp) if p.time > caller_stopped)
    goodbye = replies[-1]
    agent_heard_stop = goodbye["at"] - goodbye["wait_s"]
    assert caller_stopped <= agent_heard_stop < goodbye["at"] < heard, (
        caller_stopped,
        goodbye,
        heard,
    )
    assert all(isinstance(goodbye[k], float | None) for k in ("model_s", "voice_s"))


def test_a_phone_call_sends_no_session_events_into_the_room(worker: Worker, stack, tmp_path):
    """LiveKit's session host (a remote console's feed: every state change, transcript and usage
    update, broadcast on the room's data channel) is off for phone calls: nobody on a phone can
    read it, and it cost 7% of a call's CPU. The listener's proof that it hears the agent's data
    at all: the transcription stream, which stays on."""
    listener = subprocess.Popen(
        stack.wrap([sys.executable, str(E2E_DIR / "room_listener.py"), "call-", "60"]),
        cwd=REPO_ROOT,
        env={**os.environ, **stack.env()},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        call = say_goodbye(worker, Caller(stack, tmp_path, sip_port=5082, media_port=16140))
        heard = json.loads(listener.stdout.readline() or "{}")
    finally:
        listener.kill()
        listener.wait()
    assert call.received("BYE"), call.log
    assert heard.get("topics", {}).get("lk.transcription", 0) > 0, heard
    assert "lk.agent.session" not in heard["topics"], heard


def test_pressing_0_transfers_to_staff(worker: Worker, caller: Caller, database_url: str):
    caller.workdir.mkdir(parents=True, exist_ok=True)
    write_silence_ulaw(caller.workdir / "caller.ulaw")  # RTP keeps flowing; no speech, no turn
    worker.wait_ready_for_call()
    result = caller.call("press_0_transfer.xml", PRACTICE_NUMBER, CALLER_AS_SENT, timeout_s=60)
    assert result.returncode == 0, result.log

    refers = result.received("REFER")
    assert len(refers) == 1, [m.start_line for m in result.messages]
    assert refers[0].header("refer-to").strip("<>") == STAFF_DESTINATION
    assert [m.status for m in result.messages if m.sent and m.status] == [202, 200]
    assert result.received(200)[-1].header("cseq").endswith("NOTIFY")
    assert result.received("BYE"), "the bridge must end the caller's leg after the transfer"
    assert len(voiced_frames(result.rtp)) >= MIN_VOICED_FRAMES

    record = call_record(database_url, result.call_id)
    assert record.outcome == "transferred"
