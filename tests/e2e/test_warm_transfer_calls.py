"""Real warm transfers: two sipp phones on the local stack, the caller and the staff member, with
the RTP arriving at both captured and analysed for what each phone heard in each phase.

The caller dials the practice (warm mode) and presses 0; the agent puts them on hold (a 3 kHz
clip, the practice's own hold audio) and dials the staff phone over the outbound trunk into the
same room. Each phone plays a tone of its own (caller 1400 Hz from 6 s on, staff 2200 Hz), so a
20 ms frame that carries one phone's tone at the other phone is audio that crossed over:

- during the briefing the caller hears the hold clip and nothing of the staff; the staff hears the
  briefing and nothing of the caller (no frame of the other's tone: leak 0 ms);
- after the staff presses 1 (or says yes) each hears the other and nothing of the agent;
- staff presses 2 -> the caller is back with the agent and offered a message;
- the staff phone never answers -> the same, within the ringing limit;
- the caller hangs up while holding -> the staff leg is ended;
- the staff hangs up after connecting -> the caller's leg is ended and the room closed.

The agent's decision times come from the call record's timeline (`warm_transfer` events); the
hold-to-connect time measured here is printed (`-s`) for the issue's closing note. This module
runs its own stack (namespace `rcp-warm`, 10.81.0.1) and worker; only STT/LLM/TTS are doubles.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from receptionist.ops.stack import LocalStack, StackConfig, find_binary
from receptionist.paths import REPO_ROOT
from receptionist.store import upgrade
from tests.e2e.records import call_record
from tests.e2e.rig import Worker, start_worker, worker_env
from tests.support.e2e_providers import HeardSTT
from tests.support.profiles import lakeside_all_day_toml
from tests.support.sipcall import (
    DTMF_PCAP_DIR,
    ULAW_SILENCE,
    RtpPacket,
    capture_rtp,
    decode_pcmu,
    parse_messages,
    read_pcap,
    rms,
    write_speech_ulaw,
)

pytestmark = pytest.mark.e2e

STACK = StackConfig(name="rcp-warm", address="10.81.0.1", run_dir=REPO_ROOT / ".stack")
AGENT = "receptionist"
PRACTICE_NUMBER = "+14145550100"
STAFF_NUMBER = "+14145550101"
CALLER_AS_SENT = "4145550123"
CALLER_PORT, CALLER_MEDIA = 5070, 16800
STAFF_PORT, STAFF_MEDIA = 5098, 16900
RINGING_SECONDS = 8

# Frequencies where the espeak-ng voice of the TTS double never carries a strong, narrow tone.
HOLD_HZ, CALLER_HZ, STAFF_HZ = 3000, 1400, 2200
TONE_VOLUME = 0.3
CALLER_QUIET_SECONDS = 6  # the caller's tone starts after the greeting and the 0
STAFF_SAYS = "Yes, put them through."


def warm_profile(staff: str, hold: str) -> str:
    """Lakeside open all day, transferring warm to `staff` with `hold` as the hold music."""
    transfers = (
        f'[practice.transfers]\nstaff = "tel:{staff}"\nmode = "warm"\n'
        f'hold_limit_seconds = 90\nhold_audio = "{hold}"\n'
    )
    return lakeside_all_day_toml("Lakeside Warm Dental", PRACTICE_NUMBER, transfers)


# --- the stand-ins for the cloud providers -------------------------------------------------------


class ToneDeafSTT(HeardSTT):
    """Hears `transcript` in a speech segment, and nothing in a tone (the phones' test tones are
    not words): a segment whose strongest frequency holds most of its energy is a tone."""

    async def _recognize_impl(self, buffer, *, language=None, conn_options=None):  # noqa: ANN001, ANN202
        event = await super()._recognize_impl(buffer, language=language, conn_options=conn_options)
        frames = buffer if isinstance(buffer, list) else [buffer]
        samples = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames] or [[]])
        if samples.size and _peak_share(samples.astype(np.float64)) > 0.5:
            event.alternatives[0].text = ""
        return event


def _peak_share(samples: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    total = float(power[1:].sum())
    if total == 0:
        return 0.0
    peak = int(np.argmax(power[1:])) + 1
    return float(power[max(1, peak - 2) : peak + 3].sum()) / total


def providers(settings):  # noqa: ANN001, ANN201 - PROVIDER_FACTORY for this module's worker
    from receptionist.call.providers import Providers
    from tests.support.e2e_providers import EspeakTTS, respond
    from tests.support.scripted_llm import ScriptedLLM

    return Providers(
        stt=ToneDeafSTT(STAFF_SAYS),
        llm=ScriptedLLM(then=respond),
        tts=EspeakTTS(),
        turn_detection="vad",
    )


# --- audio: tones, and what each 20 ms frame carries ---------------------------------------------


def tone_ulaw(path: Path, hz: int, seconds: float) -> bytes:
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(path)]
        + ["synth", str(seconds), "sine", str(hz), "vol", str(TONE_VOLUME)],
        check=True,
    )
    return path.read_bytes()


def hold_clip(path: Path) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path)]
        + ["synth", "10", "sine", str(HOLD_HZ), "vol", str(TONE_VOLUME)],
        check=True,
    )
    return path


def tone_share(samples: list[int], hz: int) -> tuple[float, float]:
    """(amplitude of `hz` in the frame, share of the frame's power it holds)."""
    x = np.asarray(samples, dtype=np.float64)
    if not x.size:
        return 0.0, 0.0
    t = np.arange(x.size) / 8000.0
    amplitude = 2 * abs(np.dot(x, np.exp(-2j * np.pi * hz * t))) / x.size
    power = float(np.mean(x * x))
    return amplitude, (amplitude * amplitude / 2) / power if power else 0.0


def carries(packet: RtpPacket, hz: int) -> bool:
    """Whether a frame carries the tone `hz` at a level no speech reaches in that band: the
    tones arrive at about 9,800 (of 32,767) with all of a frame's power; the espeak-ng voice
    reaches at most about 2,200 at these frequencies, with under 15 % of a frame's power."""
    amplitude, share = tone_share(decode_pcmu(packet.payload), hz)
    return amplitude > 3000 and share > 0.15


@dataclass
class Heard:
    """The audio frames one phone received, by arrival time."""

    frames: list[RtpPacket]

    def between(self, start: float, end: float) -> list[RtpPacket]:
        return [p for p in self.frames if start <= p.time < end and p.payload_type == 0]

    def with_tone(self, hz: int, start: float, end: float) -> list[RtpPacket]:
        return [p for p in self.between(start, end) if carries(p, hz)]

    def first(self, hz: int, after: float) -> float | None:
        found = self.with_tone(hz, after, float("inf"))
        return found[0].time if found else None

    def voiced(self, start: float, end: float) -> list[RtpPacket]:
        return [p for p in self.between(start, end) if rms(decode_pcmu(p.payload)) > 300]

    def longest_silence(self, start: float, end: float) -> float:
        """The longest stretch without audible audio (seconds) in [start, end)."""
        last, gap = start, 0.0
        for packet in self.voiced(start, end):
            gap, last = max(gap, packet.time - last), packet.time
        return max(gap, end - last)

    def purity(self, hz: int, start: float, end: float) -> float:
        """The median share of each frame's power in `hz`: 1.0 when nothing else is heard."""
        shares = [tone_share(decode_pcmu(p.payload), hz)[1] for p in self.between(start, end)]
        return float(np.median(shares)) if shares else 0.0


# --- the phones ----------------------------------------------------------------------------------

_SDP = """      v=0
      o={user} 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv"""

CALLER_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="warm-caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

{sdp}
    ]]>
  </send>
  <label id="ringing"/>
  <recv response="100" optional="true" next="ringing"/>
  <recv response="180" optional="true" next="ringing"/>
  <recv response="183" optional="true" next="ringing"/>
  <recv response="200" rrs="true" rtd="true" timeout="45000"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec rtp_stream="caller.ulaw,-1,0"/></action></nop>
  <pause milliseconds="4000"/>
  <nop><action><exec play_pcap_audio="{dtmf0}"/></action></nop>
  <!-- Wait for the far end to hang up; after {stay_ms} ms hang up ourselves. -->
  <recv request="BYE" timeout="{stay_ms}" ontimeout="hangup"/>
  <send next="end">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <label id="hangup"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" timeout="10000"/>
  <label id="end"/>
</scenario>
"""

STAFF_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="staff-phone">
  <recv request="INVITE" crlf="true" rrs="true">{remember}</recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:staff@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
"""
# The dialog's From and To, for a BYE of our own (sipp refuses variables it never uses).
REMEMBER = """
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="bridge"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="me"/>
    </action>
  """
STAFF_ANSWERS = """  <pause milliseconds="1000"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:staff@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

{sdp}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec rtp_stream="staff.ulaw,-1,0"/></action></nop>
"""
STAFF_PRESSES = """  <pause milliseconds="{wait_ms}"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
"""
STAFF_WAITS_FOR_BYE = """  <recv request="BYE" timeout="90000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""
STAFF_HANGS_UP = """  <pause milliseconds="{talk_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$me];tag=[pid]SIPpTag01[call_number]
      To: [$bridge]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Contact: <sip:staff@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" timeout="10000"/>
</scenario>
"""
STAFF_NEVER_ANSWERS = """  <recv request="CANCEL" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""


def dtmf(digit: str) -> str:
    return str(DTMF_PCAP_DIR / f"dtmf_2833_{digit}.pcap")


def caller_scenario(stay_ms: int) -> str:
    return CALLER_XML.format(sdp=_SDP.format(user="caller"), dtmf0=dtmf("0"), stay_ms=stay_ms)


def staff_scenario(*, press: str = "", press_after_ms: int = 8000, then: str = "bye") -> str:
    """The staff phone: rings 1 s, answers, presses `press` after `press_after_ms`, then waits
    for the bridge's BYE (then="bye") or hangs up after 6 s of talking (then="hang up")."""
    head = STAFF_HEAD.format(remember=REMEMBER if then == "hang up" else "")
    parts = [head, STAFF_ANSWERS.format(sdp=_SDP.format(user="staff"))]
    if press:
        parts.append(STAFF_PRESSES.format(wait_ms=press_after_ms, pcap=dtmf(press)))
    parts.append(STAFF_HANGS_UP.format(talk_ms=6000) if then == "hang up" else STAFF_WAITS_FOR_BYE)
    return "".join(parts)


# --- the rig -------------------------------------------------------------------------------------


@dataclass
class Rig:
    stack: LocalStack
    env: dict[str, str]
    book: str
    worker: Worker
    workdir: Path


@pytest.fixture(scope="module")
def rig(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp("warm")
    book = f"sqlite+aiosqlite:///{workdir / 'book.db'}"
    asyncio.run(upgrade(book))
    practice = workdir / "practice.toml"
    practice.write_text(warm_profile(STAFF_NUMBER, hold_clip(workdir / "hold.wav")))
    with LocalStack(STACK) as stack:
        own = {
            **stack.env(),
            "AGENT_NAME": AGENT,
            "PRACTICE_FILE": str(practice),
            "DATABASE_URL": book,
            "OUTBOX_DIR": str(workdir / "outbox"),
            "NOISE_CANCELLATION": "auto",
            "SIP_ALLOWED_ADDRESSES": "10.81.0.0/24",
            "SIP_INBOUND_NUMBERS": "",
            "SIP_AUTH_USERNAME": "",
            "SIP_AUTH_PASSWORD": "",
            "SIP_OUTBOUND_ADDRESS": f"{STACK.address}:{STAFF_PORT}",
            "SIP_OUTBOUND_NUMBERS": PRACTICE_NUMBER,
            "TRANSFER_RINGING_TIMEOUT": str(RINGING_SECONDS),
        }
        env = {**os.environ, **own}
        setup = subprocess.run(
            stack.wrap([sys.executable, "-m", "receptionist.ops.cli", "sip", "setup", "--json"]),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        factory = "tests.e2e.test_warm_transfer_calls:providers"
        worker = start_worker(stack, worker_env(own, PROVIDER_FACTORY=factory))
        try:
            yield Rig(stack, env, book, worker, workdir)
        finally:
            stack.stop_process(worker.proc)


def _sipp(rig: Rig, folder: Path, argv: list[str]) -> subprocess.Popen[bytes]:
    log = open(folder / "sipp.out", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(rig.stack.wrap(argv), cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc


def _common(folder: Path, port: int, media: int) -> list[str]:
    return [
        "-i", STACK.address, "-p", str(port), "-mi", STACK.address, "-mp", str(media),
        "-m", "1", "-nostdin", "-timeout", "150s", "-timeout_error",
        "-trace_msg", "-message_file", str(folder / "messages.log"),
        "-trace_err", "-error_file", str(folder / "errors.log"),
    ]  # fmt: skip


@dataclass
class WarmCall:
    caller: Heard
    staff: Heard
    caller_sent: list[RtpPacket]
    staff_sent: list[RtpPacket]
    caller_messages: list
    staff_messages: list
    record: object
    events: dict[str, float]  # warm_transfer detail (its first words) -> epoch time

    def at(self, prefix: str) -> float:
        return next(t for detail, t in self.events.items() if detail.startswith(prefix))

    def received(self, messages: list, method: str) -> list:
        return [m for m in messages if not m.sent and m.method == method]

    def first_received(self, messages: list, method: str):  # noqa: ANN201 - a SipMessage
        """The first `method` a phone received (a BYE may come again as a retransmission)."""
        found = self.received(messages, method)
        assert found, f"the phone never received {method}"
        return found[0]


def place_call(
    rig: Rig, name: str, staff_xml: str, *, stay_ms: int = 90000, staff_says: bool = False
) -> WarmCall:
    """One warm-transfer call: the staff phone waits, the caller dials and presses 0."""
    rig.worker.wait_ready_for_call()
    _bridge_takes_calls(rig)
    folder = rig.workdir / name
    caller_dir, staff_dir = folder / "caller", folder / "staff"
    for d in (caller_dir, staff_dir):
        d.mkdir(parents=True, exist_ok=True)
    quiet = bytes([ULAW_SILENCE]) * 8000 * CALLER_QUIET_SECONDS
    (caller_dir / "caller.ulaw").write_bytes(quiet + tone_ulaw(folder / "c.raw", CALLER_HZ, 150))
    staff_tone = tone_ulaw(folder / "s.raw", STAFF_HZ, 150)
    if staff_says:  # the tone, then "yes" while the briefing plays, then the tone again
        words = write_speech_ulaw(STAFF_SAYS, folder / "yes.ulaw").read_bytes()
        staff_tone = staff_tone[: 8000 * 7] + words + staff_tone
    (staff_dir / "staff.ulaw").write_bytes(staff_tone)
    (staff_dir / "staff.xml").write_text(staff_xml)
    (caller_dir / "caller.xml").write_text(caller_scenario(stay_ms))
    sipp = find_binary("sipp") or "sipp"
    pcap = folder / "rtp.pcap"
    with capture_rtp(rig.stack, f"udp port {CALLER_MEDIA} or udp port {STAFF_MEDIA}", pcap):
        staff = _sipp(rig, staff_dir, [sipp, "-sf", str(staff_dir / "staff.xml")]
                      + _common(staff_dir, STAFF_PORT, STAFF_MEDIA))  # fmt: skip
        time.sleep(0.5)
        caller = _sipp(
            rig,
            caller_dir,
            [sipp, STACK.sip_uri_host, "-sf", str(caller_dir / "caller.xml"), "-s",
             PRACTICE_NUMBER, "-key", "caller", CALLER_AS_SENT]
            + _common(caller_dir, CALLER_PORT, CALLER_MEDIA),
        )  # fmt: skip
        codes = [_wait(caller, 170), _wait(staff, 60)]
    packets = read_pcap(pcap)
    messages = [_messages(caller_dir), _messages(staff_dir)]
    details = "\n".join(
        (d / "sipp.out").read_text(errors="replace")[-1500:] for d in (caller_dir, staff_dir)
    )
    assert codes == [0, 0], f"sipp exited {codes}:\n{details}\n{rig.worker.log()[-3000:]}"
    call_id = next(m for m in messages[0] if m.sent and m.method == "INVITE").header("call-id")
    record = call_record(rig.book, call_id)
    events = {}
    for event in record.events or []:
        if event.get("kind") == "warm_transfer":
            events.setdefault(event["detail"], datetime.fromisoformat(event["at"]).timestamp())
    return WarmCall(
        caller=Heard([p for p in packets if p.dst_port == CALLER_MEDIA]),
        staff=Heard([p for p in packets if p.dst_port == STAFF_MEDIA]),
        caller_sent=[p for p in packets if p.src_port == CALLER_MEDIA],
        staff_sent=[p for p in packets if p.src_port == STAFF_MEDIA],
        caller_messages=messages[0],
        staff_messages=messages[1],
        record=record,
        events=events,
    )


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _messages(folder: Path) -> list:
    trace = folder / "messages.log"
    return parse_messages(trace.read_text(errors="replace") if trace.exists() else "")


def _bridge_takes_calls(rig: Rig, timeout: float = 90.0) -> None:
    """livekit-sip refuses calls while the host's CPU is saturated (429 on its health port)."""
    url = f"http://{STACK.address}:{STACK.sip_health_port}/"
    deadline = time.monotonic() + timeout
    while rig.stack.http_get(url)[0] != 200:
        if time.monotonic() > deadline:
            pytest.fail(f"livekit-sip kept refusing calls for {timeout:.0f}s (host CPU saturated)")
        time.sleep(0.5)


def _rooms(rig: Rig) -> list[str]:
    code = (
        "import asyncio, json\nfrom livekit import api\n"
        "async def main():\n"
        "    async with api.LiveKitAPI() as lk:\n"
        "        rooms = await lk.room.list_rooms(api.ListRoomsRequest())\n"
        "        print(json.dumps([r.name for r in rooms.rooms]))\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        rig.stack.wrap([sys.executable, "-c", code]),
        env=rig.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _pressed_0(call: WarmCall) -> float:
    """When the caller pressed 0 (their first RFC 4733 packet)."""
    return next(p.time for p in call.caller_sent if p.payload_type == 101)


def _hold_starts(call: WarmCall) -> float:
    started = call.caller.first(HOLD_HZ, after=0)
    assert started is not None, "the caller never heard the hold audio"
    return started


def _report(name: str, values: dict[str, float]) -> None:
    """Measurements for the issue's closing note (pytest -s shows them)."""
    print(f"\n[warm transfer {name}] " + ", ".join(f"{k}={v:.3f}" for k, v in values.items()))


# --- the calls -----------------------------------------------------------------------------------


def test_staff_presses_1_they_talk_then_the_staff_hangs_up_and_the_call_ends(rig: Rig):
    call = place_call(rig, "connect", staff_scenario(press="1", then="hang up"))
    hold, agreed = _hold_starts(call), call.at("staff agreed")
    answered = call.staff.between(0, float("inf"))[0].time  # the staff's first audio
    # Briefing: the caller hears hold and nothing of the staff; the staff hears the agent only.
    assert call.caller.with_tone(STAFF_HZ, 0, agreed) == [], "the caller heard the staff early"
    assert call.staff.with_tone(CALLER_HZ, 0, agreed) == [], "the staff heard the caller early"
    assert call.staff.with_tone(HOLD_HZ, 0, float("inf")) == [], "the staff heard the hold"
    assert len(call.staff.voiced(answered, agreed)) >= 100, "the staff heard no briefing"
    assert len(call.caller.with_tone(HOLD_HZ, hold, agreed)) >= 0.8 * (agreed - hold) * 50
    assert call.caller.longest_silence(_pressed_0(call) + 1.0, agreed) < 1.0, "silence on hold"
    # Connected: each hears the other, and nothing else (no hold, no agent).
    staff_bye = next(m for m in call.staff_messages if m.sent and m.method == "BYE").epoch
    heard_staff, heard_caller = (
        call.caller.first(STAFF_HZ, agreed),
        call.staff.first(CALLER_HZ, agreed),
    )
    assert heard_staff is not None and heard_caller is not None, "the legs were never joined"
    assert call.caller.purity(STAFF_HZ, agreed + 1.5, staff_bye) > 0.8
    assert call.staff.purity(CALLER_HZ, agreed + 1.5, staff_bye) > 0.8
    assert call.caller.with_tone(HOLD_HZ, agreed + 1.0, float("inf")) == [], "hold went on"
    # The staff hangs up: the caller's leg is ended by the bridge and the room is closed.
    bye = call.first_received(call.caller_messages, "BYE")
    assert 0 <= bye.epoch - staff_bye < 5
    assert _rooms(rig) == []
    assert call.record.outcome == "transferred"
    assert any(d.startswith("staff hung up after") for d in call.events)
    _report(
        "press 1",
        {
            "hold_to_connect_s": max(heard_staff, heard_caller) - agreed,
            "caller_to_staff_s": heard_caller - agreed,
            "staff_to_caller_s": heard_staff - agreed,
            "held_s": heard_staff - hold,
            "leak_ms": 0.0,
        },
    )


def test_staff_says_yes_they_talk_then_the_caller_hangs_up_and_the_staff_leg_ends(rig: Rig):
    call = place_call(rig, "say-yes", staff_scenario(then="bye"), stay_ms=38000, staff_says=True)
    agreed = call.at("staff agreed")
    assert call.caller.with_tone(STAFF_HZ, 0, agreed) == []
    assert call.staff.with_tone(CALLER_HZ, 0, agreed) == []
    heard_staff = call.caller.first(STAFF_HZ, agreed)
    heard_caller = call.staff.first(CALLER_HZ, agreed)
    assert heard_staff is not None and heard_caller is not None
    # The caller hangs up: the bridge ends the staff's leg.
    caller_bye = next(m for m in call.caller_messages if m.sent and m.method == "BYE").epoch
    bye = call.first_received(call.staff_messages, "BYE")
    assert 0 <= bye.epoch - caller_bye < 5
    assert call.record.outcome == "transferred"
    # The staff phone plays its words and a second of silence before its tone again, so only the
    # caller -> staff direction measures the switch here.
    _report("say yes", {"caller_to_staff_s": heard_caller - agreed})


def test_staff_presses_2_the_caller_is_back_with_the_agent_and_offered_a_message(rig: Rig):
    call = place_call(rig, "decline", staff_scenario(press="2"), stay_ms=45000)
    declined = call.at("declined by staff")
    assert call.caller.with_tone(STAFF_HZ, 0, float("inf")) == [], "the caller heard the staff"
    assert call.staff.with_tone(CALLER_HZ, 0, float("inf")) == [], "the staff heard the caller"
    bye = call.first_received(call.staff_messages, "BYE")  # the agent ended the staff's leg
    assert bye.epoch - declined < 8
    # Back with the agent: speech, and no hold, after the decline.
    caller_bye = next(m for m in call.caller_messages if m.sent and m.method == "BYE").epoch
    assert len(call.caller.voiced(declined, caller_bye)) >= 100, "the caller heard no offer"
    assert call.caller.with_tone(HOLD_HZ, declined + 2.0, float("inf")) == []
    assert call.caller.longest_silence(_pressed_0(call) + 1.0, declined + 3.0) < 1.0
    assert call.record.outcome != "transferred"
    assert any(
        e.get("kind") == "transfer_failed" and e.get("detail") == "warm: declined by staff"
        for e in call.record.events
    )


def test_staff_never_answers_the_caller_is_back_within_the_ringing_limit(rig: Rig):
    call = place_call(
        rig, "no-answer", STAFF_HEAD.format(remember="") + STAFF_NEVER_ANSWERS, stay_ms=40000
    )
    dialled, unanswered = call.at("dialling the team"), call.at("no answer")
    assert RINGING_SECONDS - 1 <= unanswered - dialled <= RINGING_SECONDS + 6
    assert call.received(call.staff_messages, "CANCEL"), "the bridge never gave up ringing"
    caller_bye = next(m for m in call.caller_messages if m.sent and m.method == "BYE").epoch
    assert len(call.caller.voiced(unanswered, caller_bye)) >= 100, "the caller heard no offer"
    assert call.caller.longest_silence(_pressed_0(call) + 1.0, unanswered + 3.0) < 1.0
    assert call.record.outcome != "transferred"


def test_the_caller_hanging_up_while_holding_ends_the_staff_leg(rig: Rig):
    call = place_call(rig, "caller-leaves", staff_scenario(then="bye"), stay_ms=17000)
    caller_bye = next(m for m in call.caller_messages if m.sent and m.method == "BYE").epoch
    bye = call.first_received(call.staff_messages, "BYE")
    assert 0 <= bye.epoch - caller_bye < 5
    assert call.staff.with_tone(CALLER_HZ, 0, float("inf")) == []
    assert any(d == "caller hung up on hold" for d in call.events)
    assert _rooms(rig) == []
